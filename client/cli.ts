/**
 * A curl-like command line over `request()`:
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write client/cli.ts [options] URL
 * ```
 *
 * Options: `-X METHOD`, `-H "Name: value"` (repeatable), `-d DATA` or
 * `-d @file` (repeatable, joined with "&"; POST by default; a file's bytes
 * are sent as they are, minus CR and LF, as curl does), `-i` (print the
 * response head), `-I` (HEAD, head only), `-v` (exchange trace on stderr),
 * `--trace FILE` (JSON lines, see `trace.ts`), `-o FILE` (progress bar when
 * stderr is a terminal), `-L` / `--max-redirs N`, `--timeout SECONDS`
 * (total), `--connect-timeout SECONDS`, `-f` (fail on HTTP >= 400),
 * `-s` (silent), `--cacert FILE`.
 *
 * Exit codes follow curl's, one per failure class:
 * 0 ok · 1 other error · 2 bad usage · 3 bad URL · 6 host not found ·
 * 7 cannot connect (refused, unreachable) · 8 malformed response ·
 * 18 body cut short · 22 HTTP status >= 400 with `-f` · 23 cannot write
 * output · 26 cannot read `-d @file` · 28 timeout · 47 too many redirects ·
 * 52 empty reply (server closed without answering) · 56 connection reset.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  ConnectionRefusedError,
  ConnectionResetError,
  HostNotFoundError,
  HostUnreachableError,
  TimeoutError,
} from "../net/errors.ts";
import {
  HTTPException,
  IncompleteRead,
  InvalidURL,
  RemoteDisconnected,
  TooManyRedirects,
} from "./errors.ts";
import { Pool } from "./pool.ts";
import { request, responseOf } from "./request.ts";
import { Trace, type TraceRecord } from "./trace.ts";
import type { ByteWriter } from "./_sink.ts";
import type { HTTPResponse } from "./http_response.ts";
import { encodeLatin1 } from "../http1/serializer.ts";

/**
 * Exit codes of the CLI, by failure class (curl's numbers).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXIT_CODES } from "./cli.ts";
 *
 * assert.equal(EXIT_CODES.timeout, 28);
 * ```
 */
export const EXIT_CODES = Object.freeze({
  ok: 0,
  other: 1,
  usage: 2,
  badUrl: 3,
  hostNotFound: 6,
  cannotConnect: 7,
  badResponse: 8,
  partialBody: 18,
  httpError: 22,
  writeError: 23,
  readError: 26,
  timeout: 28,
  tooManyRedirects: 47,
  emptyReply: 52,
  connectionReset: 56,
});

/**
 * The exit code for an error thrown while fetching.
 *
 * @param error What was thrown.
 * @returns One of {@linkcode EXIT_CODES}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXIT_CODES, exitCodeFor } from "./cli.ts";
 * import { IncompleteRead } from "./errors.ts";
 *
 * assert.equal(exitCodeFor(new IncompleteRead(new Uint8Array(1), 2)), EXIT_CODES.partialBody);
 * ```
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof TimeoutError) return EXIT_CODES.timeout;
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return EXIT_CODES.timeout;
  }
  if (error instanceof InvalidURL) return EXIT_CODES.badUrl;
  if (error instanceof HostNotFoundError) return EXIT_CODES.hostNotFound;
  if (
    error instanceof ConnectionRefusedError ||
    error instanceof HostUnreachableError
  ) return EXIT_CODES.cannotConnect;
  if (error instanceof TooManyRedirects) return EXIT_CODES.tooManyRedirects;
  if (error instanceof IncompleteRead) return EXIT_CODES.partialBody;
  if (error instanceof RemoteDisconnected) return EXIT_CODES.emptyReply;
  if (error instanceof ConnectionResetError) return EXIT_CODES.connectionReset;
  if (error instanceof HTTPException) return EXIT_CODES.badResponse;
  return EXIT_CODES.other;
}

/** Where the CLI writes; `Deno.stdout`/`Deno.stderr` by default. */
export interface CliIo {
  /** Body (and head with -i/-I). */
  stdout: ByteWriter;
  /** Messages, -v trace, progress. */
  stderr: ByteWriter & { isTerminal?(): boolean };
}

const USAGE = `Usage: cli.ts [options] URL
  -X, --request METHOD      method (default GET, POST with -d)
  -H, --header "N: v"       add a header (repeatable)
  -d, --data DATA|@FILE     send a body (repeatable, joined with &)
  -i, --include             print the response head
  -I, --head                send HEAD and print the head
  -v, --verbose             print the exchanges on stderr
      --trace FILE          write JSON-lines trace to FILE
  -o, --output FILE         write the body to FILE
  -L, --location            follow redirects (--max-redirs N, default 20)
      --timeout SECONDS     give up after this long in total
      --connect-timeout S   give up connecting after this long
  -f, --fail                exit 22 on HTTP status >= 400
  -s, --silent              no progress or error messages
      --cacert FILE         trust this PEM certificate too
Exit codes: 0 ok, 2 usage, 3 URL, 6 DNS, 7 connect, 8 bad reply, 18 partial,
22 HTTP error (-f), 23 write, 26 read, 28 timeout, 47 redirects, 52 empty
reply, 56 reset, 1 other.`;

const encoder = new TextEncoder();
// Sent unless -H replaces or removes them, as curl's; the version is
// deno.json's (a test keeps the two equal).
const DEFAULT_HEADERS: readonly [string, string][] = [
  ["User-Agent", "h1/0.1.0"],
  ["Accept", "*/*"],
];

// Bytes as text of one character each (how h1 holds field values).
function latin1Text(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return text;
}

async function writeAllTo(
  writer: ByteWriter,
  bytes: Uint8Array,
): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await writer.write(bytes.subarray(at));
}

function verboseLines(record: TraceRecord): string {
  let out = `* ${
    record.reused ? "Reusing" : "Connected to"
  } ${record.origin} (connection #${record.connection}${
    record.retry ? ", retry" : ""
  })\n`;
  for (const line of record.request.head.split("\r\n").slice(0, -1)) {
    out += `> ${line}\n`;
  }
  for (const head of record.response?.heads ?? []) {
    for (const line of head.split("\r\n").slice(0, -1)) out += `< ${line}\n`;
  }
  const t = record.timings;
  out += `* ${record.response?.bodyBytes ?? 0} body bytes; head after ${
    t.headMs ?? "-"
  } ms, done after ${t.endMs ?? "-"} ms\n`;
  if (record.error !== null) out += `* error: ${record.error.message}\n`;
  return out;
}

function progressLine(received: number, total: number | null): string {
  const mb = (n: number) => (n / 1048576).toFixed(1) + " MiB";
  if (total === null || total === 0) return `\r${mb(received)}`;
  const width = 30;
  const done = Math.min(width, Math.floor((received / total) * width));
  const percent = Math.floor((received / total) * 100);
  return `\r[${"#".repeat(done)}${" ".repeat(width - done)}] ${
    String(percent).padStart(3)
  }% ${mb(received)} / ${mb(total)}`;
}

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments (without the program name).
 * @param io Where output goes.
 * @returns The exit code.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./cli.ts";
 *
 * const sink = { write: (p: Uint8Array) => p.length };
 * assert.equal(await main(["--bogus"], { stdout: sink, stderr: sink }), 2);
 * ```
 */
export async function main(
  args: string[],
  io: CliIo = { stdout: Deno.stdout, stderr: Deno.stderr },
): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        request: { type: "string", short: "X" },
        header: { type: "string", short: "H", multiple: true },
        data: { type: "string", short: "d", multiple: true },
        include: { type: "boolean", short: "i" },
        head: { type: "boolean", short: "I" },
        verbose: { type: "boolean", short: "v" },
        trace: { type: "string" },
        output: { type: "string", short: "o" },
        location: { type: "boolean", short: "L" },
        "max-redirs": { type: "string" },
        timeout: { type: "string" },
        "connect-timeout": { type: "string" },
        fail: { type: "boolean", short: "f" },
        silent: { type: "boolean", short: "s" },
        cacert: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    await writeAllTo(
      io.stderr,
      encoder.encode(`${(error as Error).message}\n${USAGE}\n`),
    );
    return EXIT_CODES.usage;
  }
  const say = async (text: string) => {
    if (!values.silent) {
      await writeAllTo(io.stderr, encoder.encode(text + "\n"));
    }
  };
  if (values.help) {
    await writeAllTo(io.stdout, encoder.encode(USAGE + "\n"));
    return EXIT_CODES.ok;
  }
  if (positionals.length !== 1) {
    await say(`Expected exactly one URL\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  const numberOption = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) {
      throw new TypeError(`Cannot use --${name} "${text}": not a number`);
    }
    return n;
  };
  let timeout, connectTimeout, maxRedirs;
  try {
    timeout = numberOption("timeout", values.timeout);
    connectTimeout = numberOption("connect-timeout", values["connect-timeout"]);
    maxRedirs = numberOption("max-redirs", values["max-redirs"]);
  } catch (error) {
    await say((error as Error).message);
    return EXIT_CODES.usage;
  }

  // curl's defaults first, then the caller's fields. "Name:" with nothing
  // after the colon removes a default (as in curl; Host stays, since
  // RFC 9112 §3.2 says an HTTP/1.1 request MUST carry it), and a field of
  // the caller's replaces one.
  const custom: [string, string][] = [];
  const removed = new Set<string>();
  for (const header of values.header ?? []) {
    const colon = header.indexOf(":");
    if (colon <= 0) {
      await say(`Cannot use header "${header}": expected "Name: value"`);
      return EXIT_CODES.usage;
    }
    const name = header.slice(0, colon).trim();
    const value = header.slice(colon + 1).trim();
    if (value === "") removed.add(name.toLowerCase());
    // The argument's text goes out as its UTF-8 bytes, as curl sends argv.
    else custom.push([name, latin1Text(encoder.encode(value))]);
  }
  const given = new Set(custom.map(([name]) => name.toLowerCase()));
  const wanted = (name: string) =>
    !removed.has(name.toLowerCase()) && !given.has(name.toLowerCase());
  const headers: [string, string][] = [
    ...DEFAULT_HEADERS.filter(([name]) => wanted(name)),
    ...custom,
  ];
  let body: Uint8Array | null = null;
  if (values.data !== undefined) {
    const parts: Uint8Array[] = [];
    for (const item of values.data) {
      if (item.startsWith("@")) {
        try {
          // As curl: the file's bytes as they are, minus CR and LF.
          const bytes = await Deno.readFile(item.slice(1));
          parts.push(bytes.filter((b) => b !== 0x0d && b !== 0x0a));
        } catch (error) {
          await say(
            `Cannot read data file "${item.slice(1)}": ${
              (error as Error).message
            }`,
          );
          return EXIT_CODES.readError;
        }
      } else parts.push(encoder.encode(item));
    }
    body = joinWithAmpersand(parts);
    if (wanted("Content-Type")) {
      headers.push(["Content-Type", "application/x-www-form-urlencoded"]);
    }
  }
  const method = values.request ??
    (values.head ? "HEAD" : body !== null ? "POST" : "GET");

  let caCerts: string[] | undefined;
  if (values.cacert !== undefined) {
    try {
      caCerts = [await Deno.readTextFile(values.cacert)];
    } catch (error) {
      await say(
        `Cannot read --cacert "${values.cacert}": ${(error as Error).message}`,
      );
      return EXIT_CODES.readError;
    }
  }

  let traceFile: Deno.FsFile | null = null;
  const sinks: ((r: TraceRecord) => void)[] = [];
  const verboseOut: string[] = [];
  if (values.verbose) {
    sinks.push((r) => {
      verboseOut.push(verboseLines(r));
    });
  }
  if (values.trace !== undefined) {
    try {
      traceFile = await Deno.open(values.trace, {
        write: true,
        create: true,
        truncate: true,
      });
    } catch (error) {
      await say(
        `Cannot write trace "${values.trace}": ${(error as Error).message}`,
      );
      return EXIT_CODES.writeError;
    }
  }
  const fileTrace = traceFile === null ? null : new Trace(traceFile);
  const trace = sinks.length === 0 && fileTrace === null
    ? null
    : new Trace((record) => {
      for (const sink of sinks) sink(record);
      fileTrace?.emit(record);
    });

  const pool = new Pool({
    ...(trace === null ? {} : { trace }),
    ...(caCerts === undefined ? {} : { caCerts }),
  });
  const flushVerbose = async () => {
    if (verboseOut.length > 0) {
      await writeAllTo(
        io.stderr,
        encoder.encode(verboseOut.splice(0).join("")),
      );
    }
  };
  // Set by openTarget(), which the compiler does not see run.
  let output = null as Deno.FsFile | null;
  // Where the body (and with -i/-I the heads) goes: -o FILE, else stdout
  // (also for "-o -"). The file is made once the transfer succeeds, even
  // for a response with no body, as curl does.
  const toFile = values.output !== undefined && values.output !== "-";
  const openTarget = async (): Promise<ByteWriter> => {
    if (!toFile || output !== null) return output ?? io.stdout;
    output = await Deno.open(values.output!, {
      write: true,
      create: true,
      truncate: true,
    });
    return output;
  };
  // With -i/-I: the heads to print, the redirects' (-L) and their 1xx
  // included, in the order they came.
  let heads = "";
  const addHead = (response: HTTPResponse) => {
    const version = response.version === 10 ? "1.0" : "1.1";
    for (const interim of response.informational) {
      heads += `HTTP/${version} ${interim.status} ${interim.reason}\r\n`;
      for (const [name, value] of interim.headers) {
        heads += `${name}: ${value}\r\n`;
      }
      heads += "\r\n";
    }
    heads += `HTTP/${version} ${response.status} ${response.reason}\r\n`;
    for (const [name, value] of response.getheaders()) {
      heads += `${name}: ${value}\r\n`;
    }
    heads += "\r\n";
  };
  // Field values are Latin-1 text, a character per byte received.
  const printHeads = (target: ByteWriter) =>
    writeAllTo(target, encodeLatin1(heads));
  const include = values.include || values.head;
  try {
    const response = await request(positionals[0]!, {
      method,
      headers,
      body,
      pool,
      redirect: values.location ? "follow" : "manual",
      ...(maxRedirs === undefined ? {} : { maxRedirects: maxRedirs }),
      // As curl's -m 0, a time limit of 0 is none.
      ...(timeout === undefined || timeout === 0
        ? {}
        : { signal: AbortSignal.timeout(timeout * 1000) }),
      ...(connectTimeout === undefined
        ? {}
        : { connectTimeoutMs: connectTimeout * 1000 }),
      // -i -L prints every hop's head, as curl does.
      ...(include ? { onRedirect: addHead } : {}),
    });
    if (values.fail && response.status >= 400) {
      if (include) {
        addHead(responseOf(response)!);
        await printHeads(io.stdout);
      }
      await response.body?.cancel();
      await flushVerbose();
      await say(`The requested URL returned error: ${response.status}`);
      return EXIT_CODES.httpError;
    }
    let target: ByteWriter;
    try {
      target = await openTarget();
    } catch (error) {
      await response.body?.cancel();
      await say(
        `Cannot write "${values.output}": ${(error as Error).message}`,
      );
      return EXIT_CODES.writeError;
    }
    if (include) {
      addHead(responseOf(response)!);
      await printHeads(target);
    }
    if (response.body !== null && !values.head) {
      const total = response.headers.get("content-length");
      const showProgress = output !== null && !values.silent &&
        io.stderr.isTerminal?.() === true;
      let received = 0;
      let lastDraw = 0;
      for await (const chunk of response.body) {
        try {
          await writeAllTo(target, chunk);
        } catch (error) {
          await response.body.cancel().catch(() => {});
          await say(`Cannot write output: ${(error as Error).message}`);
          return EXIT_CODES.writeError;
        }
        received += chunk.length;
        if (showProgress && performance.now() - lastDraw > 100) {
          lastDraw = performance.now();
          await writeAllTo(
            io.stderr,
            encoder.encode(
              progressLine(received, total === null ? null : Number(total)),
            ),
          );
        }
      }
      if (showProgress) {
        await writeAllTo(
          io.stderr,
          encoder.encode(
            progressLine(received, total === null ? null : Number(total)) +
              "\n",
          ),
        );
      }
    } else {
      await response.body?.cancel();
    }
    await flushVerbose();
    return EXIT_CODES.ok;
  } catch (error) {
    await flushVerbose();
    const cause = error instanceof Error && error.cause instanceof Error
      ? error.cause
      : null;
    await say(
      `h1: ${(error as Error)?.message ?? String(error)}${
        cause && !(error as Error).message.includes(cause.message)
          ? ` (${cause.message})`
          : ""
      }`,
    );
    return exitCodeFor(error);
  } finally {
    pool.close();
    output?.close();
    await fileTrace?.flush();
    traceFile?.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

// curl's -d pieces, in order, joined with "&".
function joinWithAmpersand(parts: Uint8Array[]): Uint8Array {
  let length = Math.max(0, parts.length - 1);
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  parts.forEach((part, i) => {
    if (i > 0) out[at++] = 0x26;
    out.set(part, at);
    at += part.length;
  });
  return out;
}

// deno-lint-ignore-file no-console
/**
 * Replays a trace's requests, byte for byte, against a server, to reproduce
 * a bug report: `deno run --allow-net --allow-read client/replay.ts
 * trace.jsonl --host 127.0.0.1 --port 8080`. Requests that shared a
 * connection in the trace share one again. Exits 0 when every status
 * matches the recorded one, 1 when one differs or fails, 2 on bad usage.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { encodeChunk, encodeLastChunk } from "../http1/chunked.ts";
import { connectTcp } from "../net/tcp.ts";
import { Transport } from "./_transport.ts";
import { HTTPResponse } from "./http_response.ts";
import { Trace, type TraceRecord } from "./trace.ts";

/** Where to replay. */
export interface ReplayOptions {
  /** The server's host. */
  hostname: string;
  /** The server's port. */
  port: number;
  /** Per-read timeout (default 10 000 ms). */
  timeoutMs?: number;
}

/** What happened to one replayed exchange. */
export interface ReplayResult {
  /** Position in the trace, from 0. */
  index: number;
  /** The request method. */
  method: string;
  /** The request-target. */
  target: string;
  /** The status recorded in the trace, if any. */
  recordedStatus: number | null;
  /** The status received now, or null on error. */
  status: number | null;
  /** Body bytes recorded in the trace. */
  recordedBodyBytes: number | null;
  /** Body bytes received now. */
  bodyBytes: number | null;
  /** The final response head received now, Latin-1. */
  head: string | null;
  /** Why it failed, or null. */
  error: string | null;
  /** Anything done differently from the trace (e.g. a body not recorded). */
  note: string | null;
}

function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/**
 * Parses JSON lines into trace records, skipping blank lines.
 *
 * @param text The trace file's text.
 * @returns The exchange records.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrace } from "./replay.ts";
 *
 * const records = parseTrace('{"type":"exchange","method":"GET"}\n\n');
 * assert.equal(records.length, 1);
 * ```
 */
export function parseTrace(text: string): TraceRecord[] {
  const records: TraceRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const record = JSON.parse(line) as TraceRecord;
    if (record.type === "exchange") records.push(record);
  }
  return records;
}

/**
 * Sends each recorded request again (its raw head, and its body when the
 * trace holds it) and reads the responses with h1's parser.
 *
 * @param records Trace records, e.g. from {@linkcode parseTrace}.
 * @param options The server to send them to.
 * @returns One result per record, in order.
 *
 * @example Usage
 * ```ts ignore
 * import { parseTrace, replayTrace } from "./replay.ts";
 *
 * const records = parseTrace(await Deno.readTextFile("trace.jsonl"));
 * for (const r of await replayTrace(records, { hostname: "127.0.0.1", port: 8080 })) {
 *   console.log(r.method, r.target, r.recordedStatus, "→", r.status);
 * }
 * ```
 */
export async function replayTrace(
  records: Iterable<TraceRecord>,
  options: ReplayOptions,
): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const timeoutMs = options.timeoutMs ?? 10_000;
  // One socket per connection of the trace, so requests that shared one
  // share one again, even when the trace alternates between connections.
  const transports = new Map<number | null, Transport>();
  let transport: Transport | null = null;
  const sink = new Trace(() => {});
  try {
    let index = 0;
    for (const record of records) {
      const result: ReplayResult = {
        index: index++,
        method: record.method,
        target: record.target,
        recordedStatus: record.response?.status ?? null,
        status: null,
        recordedBodyBytes: record.response?.bodyBytes ?? null,
        bodyBytes: null,
        head: null,
        error: null,
        note: null,
      };
      results.push(result);
      if (record.request.head === "") {
        result.error = "not sent in the trace: nothing to replay";
        continue;
      }
      try {
        transport = transports.get(record.connection) ?? null;
        if (transport === null || transport.closed) {
          const conn = await connectTcp({
            hostname: options.hostname,
            port: options.port,
            timeoutMs,
            noDelay: true,
          });
          transport = new Transport(conn, options, 0, { tap: true });
          transports.set(record.connection, transport);
        }
        const head = bytesOf(record.request.head);
        const chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(
          record.request.head,
        );
        let body: Uint8Array = new Uint8Array(0);
        if (record.request.body !== undefined) {
          // The trace keeps the body as the caller gave it, not as framed.
          body = bytesOf(record.request.body);
          if (chunked) body = chunkFramed(body);
        } else if ((record.request.bodyBytes ?? 0) > 0) {
          body = chunked
            ? encodeLastChunk()
            : new Uint8Array(record.request.bodyBytes!);
          result.note = chunked
            ? "body not in the trace: sent an empty chunked body"
            : `body not in the trace: sent ${record.request.bodyBytes} zero bytes`;
        } else if (chunked) {
          body = encodeLastChunk();
        }
        const out = new Uint8Array(head.length + body.length);
        out.set(head);
        out.set(body, head.length);
        await transport.write(out);
        transport.parser.expectResponseTo(record.method);
        const exchange = sink.start(record.method, record.target, "");
        const current: Transport = transport;
        const response = new HTTPResponse({
          transport: current,
          method: record.method,
          readTimeoutMs: timeoutMs,
          onEnd: (keepAlive) => {
            current.exchanges++;
            if (!keepAlive) current.close();
          },
          onAbandon: () => current.close(),
          trace: exchange,
          debug: null,
        });
        await response.begin();
        result.status = response.status;
        result.bodyBytes = (await response.read()).length;
        result.head = exchange.record.response?.heads.at(-1) ?? null;
      } catch (error) {
        result.error = error instanceof Error ? error.message : String(error);
        transport?.close();
        transport = null;
      }
    }
  } finally {
    for (const open of transports.values()) open.close();
  }
  return results;
}

// A whole body as one chunk and the last chunk (RFC 9112 §7.1).
function chunkFramed(body: Uint8Array): Uint8Array {
  const chunk = encodeChunk(body); // empty for an empty body
  const last = encodeLastChunk();
  const out = new Uint8Array(chunk.length + last.length);
  out.set(chunk);
  out.set(last, chunk.length);
  return out;
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help || positionals.length !== 1 || values.port === undefined) {
    console.error(
      "Usage: replay.ts TRACE.jsonl --port N [--host H] [--timeout SECONDS]",
    );
    return 2;
  }
  const records = parseTrace(await Deno.readTextFile(positionals[0]!));
  const results = await replayTrace(records, {
    hostname: values.host,
    port: Number(values.port),
    ...(values.timeout === undefined
      ? {}
      : { timeoutMs: Number(values.timeout) * 1000 }),
  });
  let same = true;
  for (const r of results) {
    const now = r.error ?? `${r.status} (${r.bodyBytes} B)`;
    const was = r.recordedStatus === null
      ? "no response"
      : `${r.recordedStatus} (${r.recordedBodyBytes} B)`;
    if (r.error !== null || r.status !== r.recordedStatus) same = false;
    console.log(
      `#${r.index} ${r.method} ${r.target}  recorded ${was}  now ${now}${
        r.note ? `  [${r.note}]` : ""
      }`,
    );
  }
  return same ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

// deno-lint-ignore-file no-console
// README review: every claim a user reads in README.md, checked against the
// code. Code blocks are extracted at test time and type-checked or run;
// the documented commands run with exactly the permissions printed (ports
// swapped for free ones); the tables of options, defaults, limits, exit codes
// and error names are parsed from the README and compared with the values the
// code exports; the "deliberate differences" lists are checked to still be
// differences. A README edit or a code change that makes them disagree fails
// here. Tests needing python3 or a cached npm:hono skip with a message.

import assert from "node:assert/strict";
import {
  BadRequestError,
  BadStatusLine,
  BaseHTTPRequestHandler,
  bytes as readBytes,
  CannotSendHeader,
  CannotSendRequest,
  ConnectionRefusedError,
  ConnectTimeout,
  DEFAULT_FORM_DATA_LIMITS,
  DEFAULT_LIMITS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_SERVER_LIMITS,
  formData,
  HTTPConnection,
  HTTPException,
  HTTPServer,
  ImproperConnectionState,
  IncompleteRead,
  LineTooLong,
  listenTcp,
  NetError,
  NotConnected,
  PayloadTooLargeError,
  Pool,
  ProtocolError,
  ReadTimeout,
  RemoteDisconnected,
  request,
  RequestParser,
  ResponseNotReady,
  ResponseParser,
  ReusePortUnavailableError,
  serve,
  serveDir,
  SimpleHTTPRequestHandler,
  STATUS_DESCRIPTION,
  STATUS_TEXT,
  text as readText,
  TimeoutError,
  TooManyRedirects,
  UnknownProtocol,
} from "../mod.ts";
import * as h1mod from "../mod.ts";
import { connectTcp } from "../net/tcp.ts";
import { reusePortAvailable } from "../net/errors.ts";
import { fromProtocolError } from "../client/errors.ts";
import { EXIT_CODES, main as clientCli } from "../client/cli.ts";
import {
  fromLatin1,
  hasCommand,
  latin1,
  RawClient,
  startServer,
} from "./server/_raw.ts";

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = ROOT.pathname;
const MOD_URL = new URL("mod.ts", ROOT).href;
const README = Deno.readTextFileSync(new URL("README.md", ROOT));
const DENO_JSON = JSON.parse(
  Deno.readTextFileSync(new URL("deno.json", ROOT)),
) as {
  tasks: Record<string, string>;
  compilerOptions: Record<string, unknown>;
};
const DENO = Deno.execPath();
/** The README with every run of whitespace folded to one space. */
const FLAT = README.replace(/\s+/g, " ");
const HAVE_PYTHON = await hasCommand("python3");

// ── README parsing ──────────────────────────────────────────────────────

/** The text under `heading` up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  assert.notEqual(start, -1, `README has no heading "${heading}"`);
  const level = heading.indexOf(" ");
  const rest = README.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`\\n#{1,${level}} `));
  return next === -1 ? rest : rest.slice(0, next);
}

/** Rows (header row dropped) of the first markdown table in `text`. */
function table(text: string): string[][] {
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  assert.notEqual(first, -1, "no table in section");
  const rows: string[][] = [];
  for (let i = first + 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    rows.push(lines[i]!.slice(1, -1).split("|").map((cell) => cell.trim()));
  }
  return rows;
}

const unquote = (cell: string) => cell.replaceAll("`", "");

/** "30 000", "64 MiB", "8 KiB", "0 (no cap)" → a number. */
function readmeNumber(cell: string): number {
  const match = /^(\d[\d ]*?)\s*(KiB|MiB)?(?:\s*\(.*\))?$/.exec(cell.trim());
  assert.ok(match, `Cannot read a number from README cell "${cell}"`);
  const n = Number(match[1]!.replaceAll(" ", ""));
  return match[2] === "MiB"
    ? n * 1024 * 1024
    : match[2] === "KiB"
    ? n * 1024
    : n;
}

/** The ```lang blocks of the README, in order. */
function codeBlocks(lang: string): string[] {
  const re = new RegExp(
    "^```" + lang + "(?: [^\\n]*)?\\n([\\s\\S]*?)^```",
    "gm",
  );
  return [...README.matchAll(re)].map((m) => m[1]!);
}

/** The one ```ts block containing `needle`. */
function tsBlock(needle: string): string {
  const found = codeBlocks("ts").filter((block) => block.includes(needle));
  assert.equal(found.length, 1, `expected one ts block with ${needle}`);
  return found[0]!;
}

/** Points the README's imports of h1 at this checkout's mod.ts. */
function rewriteImports(block: string): string {
  return block.replaceAll('"./mod.ts"', JSON.stringify(MOD_URL))
    .replaceAll('"https://example.com/h1/mod.ts"', JSON.stringify(MOD_URL));
}

/** Replaces `from` in `source`, failing when the README no longer has it. */
function must(source: string, from: string, to: string): string {
  assert.ok(source.includes(from), `README snippet no longer contains ${from}`);
  return source.replace(from, to);
}

/** Every `npx -y deno@…` command shown in backticks or in a sh block. */
function readmeCommands(): string[] {
  const inline = [...README.matchAll(/`(npx -y deno@[^`]+)`/g)].map((m) =>
    m[1]!
  );
  const blocks = codeBlocks("sh").flatMap((block) =>
    block.split("\n").map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line.startsWith("npx -y deno@"))
  );
  return [...inline, ...blocks];
}

/** The README command that runs `script` (and contains `also`). */
function readmeCommand(script: string, also = ""): string {
  const found = readmeCommands().filter((c) =>
    c.includes(` ${script}`) && c.includes(also)
  );
  assert.ok(found.length >= 1, `README shows no command for ${script} ${also}`);
  return found[0]!;
}

/**
 * A README command as `deno` arguments: `npx -y deno@X` dropped, documented
 * ports swapped for free ones.
 */
function argv(command: string, ports: Record<string, number> = {}): string[] {
  const words = command.split(/\s+/).filter((w) => w !== "");
  assert.deepEqual(words.slice(0, 2), ["npx", "-y"], command);
  assert.match(words[2]!, /^deno@\d+\.\d+\.\d+$/, command);
  return words.slice(3).map((word) => {
    for (const [from, to] of Object.entries(ports)) {
      word = word === from ? String(to) : word
        .replaceAll(new RegExp(`([:=])${from}(?![0-9])`, "g"), `$1${to}`);
    }
    return word;
  });
}

// ── processes and ports ─────────────────────────────────────────────────

/** A port that was free a moment ago (for commands that need a fixed one). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** A child process with its output collected. */
class Proc implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  out = "";
  err = "";
  exited = false;
  readonly #pumped: Promise<unknown>;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(
    args: string[],
    options: { cwd?: string; command?: string } = {},
  ) {
    this.child = new Deno.Command(options.command ?? DENO, {
      args,
      cwd: options.cwd ?? ROOT_PATH,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    }).spawn();
    const pump = async (
      stream: ReadableStream<Uint8Array>,
      add: (s: string) => void,
    ) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        add(chunk);
      }
    };
    this.#pumped = Promise.all([
      pump(this.child.stdout, (s) => (this.out += s)),
      pump(this.child.stderr, (s) => (this.err += s)),
    ]);
    this.status = this.child.status.then((status) => {
      this.exited = true;
      return status;
    });
  }

  /** Waits for stdout to match `pattern`. */
  async waitFor(
    pattern: RegExp,
    timeoutMs = 15_000,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const match = this.out.match(pattern);
      if (match !== null) return match;
      if (this.exited || Date.now() > deadline) {
        await this.#pumped;
        const late = this.out.match(pattern);
        if (late !== null) return late;
        throw new Error(
          `${this.exited ? "exited" : "timed out"} before ${pattern}\n` +
            `stdout: ${this.out}\nstderr: ${this.err}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends `signal`, then SIGKILL after 5 s, and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<Deno.CommandStatus> {
    if (!this.exited) {
      try {
        this.child.kill(signal);
      } catch { /* gone */ }
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    try {
      const status = await this.status;
      await this.#pumped;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for the exit (killing after `timeoutMs`). */
  async done(timeoutMs = 15_000): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    try {
      const status = await this.status;
      await this.#pumped;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/** Runs a command to its end. */
async function run(
  args: string[],
  options: { cwd?: string; command?: string; timeoutMs?: number } = {},
): Promise<{ code: number; out: string; err: string }> {
  const proc = new Proc(args, options);
  const status = await proc.done(options.timeoutMs);
  return { code: status.code, out: proc.out, err: proc.err };
}

/** One HTTP/1.1 request on a fresh connection with `Connection: close`. */
async function get(
  port: number,
  path: string,
  { method = "GET", hostname = "127.0.0.1", extra = "", body = "" } = {},
): Promise<{ status: number; head: string; body: string }> {
  await using client = await RawClient.connect(port, hostname);
  await client.send(
    `${method} ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n${extra}` +
      (body === "" ? "" : `Content-Length: ${body.length}\r\n`) +
      `\r\n${body}`,
  );
  const text = await client.readToEnd(10_000);
  const end = text.indexOf("\r\n\r\n");
  return {
    status: Number(text.slice(9, 12)),
    head: text.slice(0, end + 2),
    body: text.slice(end + 4),
  };
}

async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "h1_readme_" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether npm:hono at the README's version resolves without the network. */
async function honoCached(dir: string, spec: string): Promise<boolean> {
  await Deno.writeTextFile(`${dir}/hono_probe.ts`, `import "${spec}";\n`);
  const { code } = await run(
    ["check", "--quiet", "--no-lock", "--cached-only", `${dir}/hono_probe.ts`],
    { cwd: dir, timeoutMs: 20_000 },
  );
  return code === 0;
}

/**
 * The h1 column of the `socket` and `http.client` tables as a module: each
 * socket row's code in its own function (names the rows share declared
 * outside), the http.client rows in order as one program.
 */
function tableCode(): string {
  const spans = (cell: string) =>
    [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  const socketRows = table(section("### `socket`"));
  const socketCode = socketRows.flatMap(([, h1]) => spans(h1!))
    .filter((code) =>
      !code.includes("...") && !code.startsWith("examples/") && code !== "null"
    )
    .map((code, i) =>
      `async function row${i}() {\n  ${code}${
        code.startsWith("for await") ? " {}" : ";"
      }\n}\nvoid row${i};`
    );
  assert.ok(socketCode.length >= 12, socketCode.join("\n"));
  const clientRows = table(section("## Client"));
  const clientCode = clientRows.map(([, h1]) => spans(h1!)[0]!);
  assert.equal(clientCode.length, 6);
  return `import {
  BufferedReader, connectTcp, HTTPConnection, listenTcp, listenUdp, writeAll,
} from ${JSON.stringify(MOD_URL)};
declare const listener: Deno.TcpListener;
declare const conn: Deno.TcpConn;
declare const buffer: Uint8Array;
declare const data: Uint8Array;
declare const timeoutMs: number;
declare const socket: Awaited<ReturnType<typeof listenUdp>>;
declare const remoteAddr: Deno.NetAddr;
declare function handle(conn: Deno.Conn): Promise<void>;
void [listener, conn, buffer, data, timeoutMs, socket, remoteAddr, handle];
void [BufferedReader, connectTcp, listenTcp, writeAll];
${socketCode.join("\n")}
export async function httpClientExample(): Promise<void> {
  ${clientCode.join("\n  ")}
}
`;
}

// ── 1. code blocks ──────────────────────────────────────────────────────

Deno.test("readme: every ts block type-checks against this mod.ts with deno.json's strict options", async () => {
  const blocks = codeBlocks("ts");
  assert.ok(blocks.length >= 5, `only ${blocks.length} ts blocks found`);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ compilerOptions: DENO_JSON.compilerOptions }),
    );
    const hono = README.match(/npm:hono@[\d.]+/)?.[0] ?? "npm:hono";
    const haveHono = await honoCached(dir, hono);
    const files: string[] = [];
    for (const [i, block] of blocks.entries()) {
      assert.match(
        block,
        /from "(\.\/mod\.ts|https:\/\/example\.com\/h1\/mod\.ts)"/,
        `block ${i} imports h1 from an unexpected place`,
      );
      if (block.includes("npm:hono") && !haveHono) {
        console.log(`skipped block ${i}: ${hono} is not in the Deno cache`);
        continue;
      }
      // Each block is its own module (export {} keeps top-level names apart).
      await Deno.writeTextFile(
        `${dir}/block_${i}.ts`,
        rewriteImports(block) + "\nexport {};\n",
      );
      files.push(`block_${i}.ts`);
    }
    await Deno.writeTextFile(`${dir}/tables.ts`, tableCode());
    files.push("tables.ts");
    const result = await run(
      [
        "check",
        "--quiet",
        "--no-lock",
        "--config",
        `${dir}/deno.json`,
        ...files,
      ],
      { cwd: dir, timeoutMs: 60_000 },
    );
    assert.equal(result.code, 0, result.err);
  });
});

Deno.test("readme: option names in the tables and prose are the code's, and every server option is documented", async () => {
  const serverRows = table(section("### Options, limits and timeouts"));
  const serveNames = serverRows.flatMap(([cell]) =>
    [...cell!.matchAll(/`([A-Za-z.]+)`/g)].map((m) => m[1]!)
  );
  const topLevel = serveNames.filter((n) => !n.startsWith("limits."));
  if (topLevel.length < serveNames.length) topLevel.push("limits");
  const limitNames = serveNames.filter((n) => n.startsWith("limits."))
    .map((n) => n.slice("limits.".length));
  const parserNames = table(section("### Limits")).map(([c]) => unquote(c!));
  const staticNames = table(section("## Static files")).map(([c]) =>
    unquote(c!)
  );
  const poolText = /new Pool\(\{([\s\S]*?)\}\)/.exec(README)![1]!;
  const poolNames = poolText.split(",").map((p) => p.trim().split(":")[0]!);
  const requestText = /`request\(url, \{([\s\S]*?)\}\)`/.exec(README)![1]!;
  const requestNames = requestText.split(/,(?![^"]*"\s*\|)/).map((p) =>
    p.trim().split(":")[0]!.trim()
  ).filter((n) => /^[a-zA-Z]+$/.test(n));
  const connText = /`HTTPConnection\(host, port\?, \{([^}]*)\}\)`/.exec(
    README,
  )![1]!;
  const connNames = connText.split(",").map((p) => p.trim());
  const formNames = [
    ...section("## Router and middleware").matchAll(
      /`(max[A-Za-z]+)` [\d.]+ [KM]iB|`(maxParts)` \d+/g,
    ),
  ].map((m) => m[1] ?? m[2]!);
  assert.deepEqual(formNames, [
    "maxBytes",
    "maxParts",
    "maxFileBytes",
    "maxFieldBytes",
  ]);
  const hooks =
    /`SimpleHTTPRequestHandler` keeps Python's overridable hooks([\s\S]*?)Hooks that do I\/O/
      .exec(README)![1]!;
  const hookNames = [...hooks.matchAll(/`([a-z_]+)(?:\(|`)/g)].map((m) =>
    m[1]!
  );
  assert.ok(hookNames.length >= 7, hookNames.join());
  const list = (names: string[]) => names.map((n) => JSON.stringify(n)).join();
  const idents = (text: string) =>
    [...text.matchAll(/`([a-z_][A-Za-z_0-9]*)[`(]/g)].map((m) => m[1]!);
  const between = (from: string, to: string) => {
    const start = FLAT.indexOf(from);
    assert.notEqual(start, -1, from);
    const end = FLAT.indexOf(to, start);
    assert.notEqual(end, -1, to);
    return FLAT.slice(start + from.length, end);
  };
  const connSurface = idents(
    between("keep Python's surface:", "Connections open lazily"),
  );
  const responseSurface = idents(
    between("`HTTPResponse`:", "No body is awaited"),
  ).filter((n) => n !== "get" && n !== "get_all");
  const readerSurface = idents(between("`BufferedReader` (", "per-call"));
  const serverSurface = idents(
    between("returns a server with", "The handler is"),
  );
  const members = (text: string, object: string) =>
    [...text.matchAll(new RegExp("`" + object + "\\.([a-zA-Z]+)`", "g"))]
      .map((m) => m[1]!);
  const ctxSurface = members(between("onion model", "`router.use"), "ctx");
  const engineInfo = members(between("The handler is", "fetch-style"), "info");
  assert.deepEqual(ctxSurface, [
    "req",
    "url",
    "params",
    "state",
    "info",
    "signal",
  ]);
  assert.deepEqual(engineInfo, ["remoteAddr", "completed"]);
  assert.ok(connSurface.length >= 10, connSurface.join());
  assert.ok(responseSurface.length >= 14, responseSurface.join());
  assert.deepEqual(serverSurface, [
    "addr",
    "finished",
    "shutdown",
    "ref",
    "unref",
  ]);
  const source = `
import type {
  ClientRequestInit, FormDataOptions, HTTPConnectionOptions,
  HTTPSConnectionOptions, Limits, PoolOptions, ServeDirOptions,
  ServeOptions, ServerLimits, SimpleHTTPRequestHandler, HTTPConnection,
  HTTPResponse, BufferedReader, WebServer, Context, ServeHandlerInfo,
  TakenOverConnection, RouterOptions, UpgradeHandler,
} from ${JSON.stringify(MOD_URL)};
const connSurface = [${
    list(connSurface)
  }] as const satisfies readonly (keyof HTTPConnection)[];
const responseSurface = [${
    list(responseSurface)
  }] as const satisfies readonly (keyof HTTPResponse)[];
const headersSurface = ["get", "get_all"] as const satisfies readonly (keyof HTTPResponse["headers"])[];
const readerSurface = [${
    list(readerSurface)
  }] as const satisfies readonly (keyof BufferedReader)[];
const serverSurface = [${
    list(serverSurface)
  }] as const satisfies readonly (keyof WebServer)[];
const ctxSurface = [${
    list(ctxSurface)
  }] as const satisfies readonly (keyof Context)[];
const infoSurface = [${
    list(engineInfo)
  }] as const satisfies readonly (keyof ServeHandlerInfo)[];
const takenOver = ["conn", "buffered"] as const satisfies readonly (keyof TakenOverConnection)[];
const routerOptions = ["trailingSlash", "caseSensitive"] as const satisfies readonly (keyof RouterOptions)[];
const upgrade: UpgradeHandler = (_req, { conn, buffered }, info) => void [conn, buffered, info];
const disposable: WebServer[typeof Symbol.asyncDispose] | undefined = undefined;
const iterable: HTTPResponse[typeof Symbol.asyncIterator] | undefined = undefined;
const hookNames = [${
    list(hookNames)
  }] as const satisfies readonly (keyof SimpleHTTPRequestHandler)[];
const serveNames = [${
    list(topLevel)
  }] as const satisfies readonly (keyof ServeOptions)[];
const limitNames = [${
    list(limitNames)
  }] as const satisfies readonly (keyof ServerLimits)[];
const parserNames = [${
    list(parserNames)
  }] as const satisfies readonly (keyof Limits)[];
const staticNames = [${
    list(staticNames)
  }] as const satisfies readonly (keyof ServeDirOptions)[];
const poolNames = [${
    list(poolNames)
  }] as const satisfies readonly (keyof PoolOptions)[];
const requestNames = [${
    list(requestNames)
  }] as const satisfies readonly (keyof ClientRequestInit)[];
const connNames = [${
    list(connNames)
  }, "source_address", "continueTimeoutMs"] as const satisfies readonly (keyof HTTPConnectionOptions)[];
const httpsNames = ["caCerts", "hostname"] as const satisfies readonly (keyof HTTPSConnectionOptions)[];
const formNames = [${
    list(formNames)
  }] as const satisfies readonly (keyof FormDataOptions)[];
// Every option of serve() and every server limit has a row in the table.
type Missing<T, Documented> = Exclude<keyof T, Documented>;
const allServe: [Missing<ServeOptions, typeof serveNames[number]>] extends [never] ? true : false = true;
const allLimits: [Missing<ServerLimits, typeof limitNames[number]>] extends [never] ? true : false = true;
const allParser: [Missing<Limits, typeof parserNames[number]>] extends [never] ? true : false = true;
export { allLimits, allParser, allServe, connNames, hookNames, connSurface, responseSurface, headersSurface, readerSurface, serverSurface, ctxSurface, infoSurface, takenOver, routerOptions, upgrade, disposable, iterable, formNames, httpsNames, poolNames, requestNames, staticNames };
`;
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/names.ts`, source);
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ compilerOptions: DENO_JSON.compilerOptions }),
    );
    const result = await run(
      [
        "check",
        "--quiet",
        "--no-lock",
        "--config",
        `${dir}/deno.json`,
        "names.ts",
      ],
      { cwd: dir, timeoutMs: 60_000 },
    );
    assert.equal(result.code, 0, `${result.err}\n${source}`);
  });
});

// ── 2. defaults, limits, exit codes ─────────────────────────────────────

Deno.test("readme: the server limits table equals DEFAULT_SERVER_LIMITS", () => {
  const rows = table(section("### Options, limits and timeouts"))
    .filter(([name]) =>
      name!.startsWith("`limits.") && name !== "`limits.parser`"
    );
  const documented: Record<string, number> = {};
  for (const [name, value] of rows) {
    documented[unquote(name!).slice("limits.".length)] = readmeNumber(value!);
  }
  const { parser: _parser, ...code } = DEFAULT_SERVER_LIMITS;
  assert.deepEqual(documented, code);
});

Deno.test("readme: serve() listens on port 8000 and 0.0.0.0 by default, as the table says", () => {
  const row = table(section("### Options, limits and timeouts")).find((
    [name],
  ) => name === "`port` / `hostname`");
  assert.equal(row?.[1], '`8000` / `"0.0.0.0"`');
  const listen = Deno.listen;
  let seen: unknown;
  Deno.listen = ((options: unknown) => {
    seen = options;
    throw new Error("stop here");
  }) as typeof Deno.listen;
  try {
    assert.throws(() => serve(() => new Response("")), /stop here/);
  } finally {
    Deno.listen = listen;
  }
  assert.deepEqual(seen, { port: 8000, hostname: "0.0.0.0", transport: "tcp" });
});

Deno.test("readme: the parser limits table equals DEFAULT_LIMITS, and each limit answers its status", () => {
  const rows = table(section("### Limits"));
  const documented: Record<string, number> = {};
  const status: Record<string, string> = {};
  for (const [name, value, hint] of rows) {
    documented[unquote(name!)] = readmeNumber(value!);
    status[unquote(name!)] = hint!;
  }
  assert.deepEqual(documented, { ...DEFAULT_LIMITS });
  const requestError = (text: string): ProtocolError => {
    const parser = new RequestParser();
    parser.receive(latin1(text));
    try {
      for (let i = 0; i < 100; i++) {
        const event = parser.next();
        if (event.kind === "need-data") break;
      }
    } catch (error) {
      assert.ok(error instanceof ProtocolError);
      return error;
    }
    assert.fail(`no error for ${text.slice(0, 40)}`);
  };
  const L = DEFAULT_LIMITS;
  const target = "/" + "a".repeat(L.maxStartLineBytes);
  const fields = (n: number, size: number) =>
    Array.from({ length: n }, (_, i) => `X-${i}: ${"v".repeat(size)}\r\n`)
      .join("");
  const got = {
    maxStartLineBytes: requestError(`GET ${target} HTTP/1.1\r\n\r\n`)
      .statusHint,
    maxHeadBytes: requestError(
      `GET / HTTP/1.1\r\nHost: a\r\n${fields(20, L.maxHeadBytes / 10)}\r\n`,
    ).statusHint,
    maxHeaderCount: requestError(
      `GET / HTTP/1.1\r\nHost: a\r\n${fields(L.maxHeaderCount, 1)}\r\n`,
    ).statusHint,
    maxChunkLineBytes: requestError(
      `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;${
        "x".repeat(L.maxChunkLineBytes)
      }\r\n`,
    ).statusHint,
    maxTrailerBytes: requestError(
      `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${
        fields(20, L.maxTrailerBytes / 10)
      }\r\n`,
    ).statusHint,
  };
  const response = new ResponseParser();
  response.expectResponseTo("GET");
  response.receive(
    latin1(`HTTP/1.1 200 ${"O".repeat(L.maxStartLineBytes)}\r\n\r\n`),
  );
  let responseHint = 0;
  try {
    response.next();
  } catch (error) {
    responseHint = (error as ProtocolError).statusHint;
  }
  assert.deepEqual(
    {
      ...Object.fromEntries(
        Object.entries(got).map(([k, v]) => [k, String(v)]),
      ),
      maxStartLineBytes:
        `${got.maxStartLineBytes} (request), ${responseHint} (response)`,
    },
    status,
  );
});

Deno.test("readme: body helper defaults (1 MiB; formData 10 MiB, 1000 parts, 10 MiB, 1 MiB) and their errors", async () => {
  const prose = section("## Router and middleware");
  assert.match(prose, /`bodyStream\(\)` \(default 1 MiB\)/);
  assert.equal(DEFAULT_MAX_BODY_BYTES, 1024 * 1024);
  const documented = Object.fromEntries(
    [...prose.matchAll(/`(max[A-Za-z]+)` (\d+(?: [KM]iB)?)/g)].map((m) => [
      m[1]!,
      readmeNumber(m[2]!),
    ]),
  );
  const { maxPartHeadBytes: _undocumented, ...code } = DEFAULT_FORM_DATA_LIMITS;
  assert.deepEqual(documented, code);
  const post = (body: string) =>
    new Request("http://h/", { method: "POST", body });
  assert.equal(
    (await readText(post("x".repeat(DEFAULT_MAX_BODY_BYTES)))).length,
    DEFAULT_MAX_BODY_BYTES,
  );
  const tooLarge = await readBytes(post("x".repeat(DEFAULT_MAX_BODY_BYTES + 1)))
    .catch((e) => e);
  assert.ok(tooLarge instanceof PayloadTooLargeError);
  assert.equal(tooLarge.status, 413);
  const bad = await formData(
    new Request("http://h/", {
      method: "POST",
      body: "--b\r\nnot a part",
      headers: { "content-type": "multipart/form-data; boundary=b" },
    }),
  ).catch((e) => e);
  assert.ok(bad instanceof BadRequestError, String(bad));
  assert.equal(bad.status, 400);
  // "../../etc/passwd arrives as passwd"
  const form = new FormData();
  form.append("f", new File(["x"], "../../etc/passwd"));
  const parsed = await formData(
    new Request("http://h/", { method: "POST", body: form }),
  );
  assert.equal((parsed.get("f") as File).name, "passwd");
});

Deno.test("readme: static options table defaults behave as documented", async () => {
  const rows = Object.fromEntries(
    table(section("## Static files")).map(([n, d]) => [unquote(n!), d!]),
  );
  assert.deepEqual(rows, {
    fsRoot: "(required)",
    urlRoot: '`""`',
    showIndex: "`true`",
    showDirListing: "`true`",
    symlinks: '`"within-root"`',
    etag: "`true`",
    enableCors: "`false`",
    headers: "none",
    contentType: "mime-db",
  });
  await withTempDir(async (outside) => {
    await withTempDir(async (root) => {
      await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
      await Deno.writeTextFile(`${root}/a.txt`, "hello");
      await Deno.mkdir(`${root}/htm`);
      await Deno.writeTextFile(`${root}/htm/index.htm`, "htm index");
      await Deno.mkdir(`${root}/list`);
      await Deno.writeTextFile(`${root}/list/x.txt`, "x");
      await Deno.symlink(`${outside}/secret.txt`, `${root}/escape.txt`);
      await Deno.symlink(`${root}/a.txt`, `${root}/inside.txt`);
      const at = async (path: string) => {
        const res = await serveDir(new Request(`http://h${path}`), {
          fsRoot: root,
        });
        return { res, body: await res.text() };
      };
      const file = await at("/a.txt");
      assert.equal(file.res.status, 200);
      assert.equal(file.body, "hello");
      // etag: strong by default; enableCors: false; mime-db types.
      assert.match(file.res.headers.get("etag") ?? "", /^"/);
      assert.equal(file.res.headers.get("access-control-allow-origin"), null);
      assert.equal(
        file.res.headers.get("content-type"),
        "text/plain; charset=utf-8",
      );
      assert.equal((await at("/htm/")).body, "htm index");
      const listing = await at("/list/");
      assert.match(listing.body, /Directory listing for \/list\//);
      assert.equal((await at("/escape.txt")).res.status, 404);
      assert.equal((await at("/inside.txt")).body, "hello");
    });
  });
});

Deno.test("readme: Pool keeps at most 10 connections per origin by default; request() follows no redirect unless asked, then 20", async () => {
  assert.match(
    README,
    /new Pool\(\{ maxConnectionsPerOrigin: 10, idleTimeoutMs: 4000, pipelining: 1,/,
  );
  // idleTimeoutMs and pipelining defaults, as the code spells them.
  const poolSource = await Deno.readTextFile(new URL("client/pool.ts", ROOT));
  assert.match(poolSource, /options\.idleTimeoutMs \?\? 4000;/);
  assert.match(poolSource, /options\.pipelining \?\? 1;/);
  assert.match(poolSource, /options\.maxConnectionsPerOrigin \?\? 10;/);

  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const seen = new Set<number>();
  let hits = 0;
  await using server = startServer(async (req, info) => {
    seen.add(info.remoteAddr.port);
    if (new URL(req.url).pathname === "/loop") {
      hits++;
      return new Response(null, {
        status: 302,
        headers: { location: "/loop" },
      });
    }
    await released;
    return new Response("ok");
  });
  const pool = new Pool();
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const pending = Array.from(
      { length: 12 },
      () => request(`${base}/hold`, { pool }).then((r) => r.text()),
    );
    for (let i = 0; i < 200 && seen.size < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(pool.stats, { connections: 10, idle: 0, waiting: 2 });
    release();
    assert.deepEqual(await Promise.all(pending), Array(12).fill("ok"));

    const manual = await request(`${base}/loop`, { pool });
    await manual.body?.cancel();
    assert.equal(manual.status, 302);
    hits = 0;
    const error = await request(`${base}/loop`, { pool, redirect: "follow" })
      .catch((e) => e);
    assert.ok(error instanceof TooManyRedirects, String(error));
    assert.equal(hits, 21, "the first request and 20 redirects");
  } finally {
    release();
    pool.close();
  }
});

Deno.test("readme: client CLI exit codes and flags are the code's", async () => {
  const cli = section("### CLI");
  const list = /Exit codes follow curl's: ([^.]*)\./.exec(cli)![1]!;
  const documented = [...list.matchAll(/(\d+) ([^,]+)/g)].map((m) =>
    Number(m[1])
  ).sort((a, b) => a - b);
  assert.deepEqual(
    documented,
    Object.values(EXIT_CODES).sort((a, b) => a - b),
  );
  const flags = /Flags: ([\s\S]*?)\. Exit codes/.exec(cli)![1]!;
  const names = [...flags.matchAll(/`(-{1,2}[A-Za-z-]+)/g)].map((m) => m[1]!);
  assert.deepEqual(names, [
    "-X",
    "-H",
    "-d",
    "-d",
    "-i",
    "-I",
    "-v",
    "--trace",
    "-o",
    "-L",
    "--timeout",
    "-f",
  ]);
  const sink = { write: (p: Uint8Array) => p.length };
  const io = { stdout: sink, stderr: sink };
  const takesValue = new Set(["-X", "-H", "-d", "--trace", "-o", "--timeout"]);
  for (const flag of new Set(names)) {
    // Known flags parse (and -h then prints the help, 0); unknown ones are 2.
    const args = takesValue.has(flag) ? [flag, "1", "-h"] : [flag, "-h"];
    assert.equal(await clientCli(args, io), 0, flag);
  }
  assert.equal(await clientCli(["--bogus", "-h"], io), EXIT_CODES.usage);
  // 23: the -o file cannot be written.
  await using server = startServer(() => new Response("body"));
  const url = `http://127.0.0.1:${server.addr.port}/`;
  await withTempDir(async (dir) => {
    assert.equal(
      await clientCli(["-s", "-o", `${dir}/missing/dir/out`, url], io),
      23,
    );
  });
});

Deno.test("readme: the error names in the client table exist with the documented hierarchy and codes", () => {
  const client = section("## Client");
  const rows = table(client.slice(client.indexOf("| error")));
  const names = rows.flatMap(([cell]) =>
    [...cell!.matchAll(/`([A-Z][A-Za-z]*[a-z][A-Za-z]*)`/g)].map((m) => m[1]!)
  );
  assert.ok(names.length >= 18, names.join());
  const exported = h1mod as unknown as Record<string, unknown>;
  for (const name of names) {
    assert.equal(typeof exported[name], "function", `${name} is exported`);
    assert.equal(
      (exported[name] as { name: string }).name,
      name,
      `${name} has its own name`,
    );
  }
  // ImproperConnectionState is the base of the wrong-state errors.
  for (const E of [CannotSendRequest, CannotSendHeader, ResponseNotReady]) {
    assert.ok(new E("Idle") instanceof ImproperConnectionState, E.name);
  }
  // ConnectTimeout / ReadTimeout are net's TimeoutError, code ETIMEDOUT.
  for (
    const error of [
      new ConnectTimeout(5, { hostname: "127.0.0.1", port: 1 }),
      new ReadTimeout(5, { hostname: "127.0.0.1", port: 1 }),
    ]
  ) {
    assert.ok(error instanceof TimeoutError);
    assert.ok(error instanceof NetError);
    assert.equal(error.code, "ETIMEDOUT");
  }
  assert.ok(new RemoteDisconnected("x") instanceof BadStatusLine);
  assert.ok(new IncompleteRead(new Uint8Array(1), 2) instanceof HTTPException);
  assert.ok(new UnknownProtocol("HTTP/2.0") instanceof HTTPException);
  // The codes the table names are what the parser produces, and the client
  // passes them on; TOO_MANY_INTERIM_RESPONSES is a LineTooLong.
  const codes = /`HTTPException` with a `code` \(([^)]*)\)/.exec(client)![1]!;
  assert.equal(codes, "`CONFLICTING_CONTENT_LENGTH`, `BAD_CHUNK`, ...");
  const parse = (text: string): unknown => {
    const parser = new ResponseParser();
    parser.expectResponseTo("GET");
    parser.receive(latin1(text));
    try {
      for (let i = 0; i < 1000; i++) {
        if (parser.next().kind === "need-data") return null;
      }
    } catch (error) {
      return fromProtocolError(error, "127.0.0.1:1");
    }
    return null;
  };
  const conflicting = parse(
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
  ) as HTTPException;
  assert.ok(conflicting instanceof HTTPException, String(conflicting));
  assert.equal(conflicting.code, "CONFLICTING_CONTENT_LENGTH");
  const badChunk = parse(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  ) as HTTPException;
  assert.ok(badChunk instanceof HTTPException, String(badChunk));
  assert.equal(badChunk.code, "BAD_CHUNK");
  const interim = parse(
    "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n".repeat(
      DEFAULT_LIMITS.maxHeadBytes / 40,
    ),
  );
  assert.ok(interim instanceof LineTooLong, String(interim));
  assert.equal(
    ((interim as LineTooLong).cause as ProtocolError).code,
    "TOO_MANY_INTERIM_RESPONSES",
  );
});

Deno.test("readme: net errors carry the messages the README quotes", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = blocker.addr.port;
  try {
    const inUse = (() => {
      try {
        listenTcp({ hostname: "127.0.0.1", port }).close();
      } catch (error) {
        return error as Error;
      }
      return null;
    })();
    assert.ok(inUse !== null);
    assert.equal(inUse.name, "AddressInUseError");
    const quoted = /`AddressInUseError` \("(Port 7000 on 127\.0\.0\.1[^"]*)"\)/
      .exec(FLAT)![1]!;
    assert.equal(inUse.message, quoted.replace("7000", String(port)));
  } finally {
    blocker.close();
  }
  const refused = await connectTcp({ hostname: "127.0.0.1", port }).catch((
    e,
  ) => e);
  assert.ok(refused instanceof ConnectionRefusedError);
  const quoted = /`ConnectionRefusedError` \("([^"]*)"\)/.exec(FLAT)![1]!;
  assert.equal(refused.message, quoted.replace("7000", String(port)));
  assert.equal(typeof refused.code, "string");
});

Deno.test("readme: reusePort without --unstable-net throws ReusePortUnavailableError", () => {
  if (reusePortAvailable()) {
    console.log("skipped: this test run has --unstable-net");
    return;
  }
  assert.throws(
    () =>
      serve({
        port: 0,
        hostname: "127.0.0.1",
        reusePort: true,
        onListen() {},
      }, () => new Response("")),
    ReusePortUnavailableError,
  );
});

Deno.test("readme: serve() advertises Keep-Alive: timeout=5 and adds Date", async () => {
  await using server = startServer(() => new Response("x"));
  await using client = await RawClient.connect(server.addr.port);
  await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  const response = await client.response();
  assert.equal(
    response.headers.get("keep-alive"),
    `timeout=${DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs / 1000}`,
  );
  assert.match(README, /idle connection\s+times out \(5 s here;/);
  assert.equal(DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs, 5000);
  assert.match(response.headers.get("date") ?? "", /GMT$/);
});

// ── 3. names and peers ──────────────────────────────────────────────────

Deno.test("readme: every name 'kept from Python' exists on the handler, the server and SimpleHTTPRequestHandler", async () => {
  const py = section("### `http.server`");
  const kept = /Kept from Python: ([\s\S]*?)`do_X` may be `async`/.exec(
    py,
  )![1]!;
  const [handlerPart, serverPart] = kept.split("On the server:");
  const handlerNames = [...handlerPart!.matchAll(/`([a-z_0-9]+)/g)]
    .map((m) => m[1]!).filter((n) =>
      !n.startsWith("do_") && n !== "get" &&
      n !== "get_all" && n !== "read" && n !== "readline" && n !== "write" &&
      n !== "flush"
    );
  const serverNames = [...serverPart!.matchAll(/`([a-z_]+)/g)].map((m) =>
    m[1]!
  );
  assert.ok(handlerNames.length >= 30, handlerNames.join());
  let seen: Record<string, boolean> = {};
  class Probe extends BaseHTTPRequestHandler {
    do_GET() {
      seen = Object.fromEntries(
        handlerNames.map((
          n,
        ) => [n, n in this && this[n as keyof this] !== undefined]),
      );
      seen["headers.get"] = typeof this.headers.get === "function";
      seen["headers.get_all"] = typeof this.headers.get_all === "function";
      seen["rfile.read"] = typeof this.rfile.read === "function";
      seen["rfile.readline"] = typeof this.rfile.readline === "function";
      seen["wfile.write"] = typeof this.wfile.write === "function";
      seen["wfile.flush"] = typeof this.wfile.flush === "function";
      seen.protocol_default = this.protocol_version === "HTTP/1.0";
      this.send_response(204);
      this.end_headers();
    }
  }
  const server = new HTTPServer(["127.0.0.1", 0], Probe, {
    logWriter: () => {},
  });
  try {
    for (const name of serverNames) {
      assert.ok(name in server, `HTTPServer.${name}`);
    }
    const serving = server.handle_request();
    const response = await get(server.server_port, "/");
    await serving;
    assert.equal(response.status, 204);
  } finally {
    server.server_close();
  }
  for (const [name, ok] of Object.entries(seen)) assert.ok(ok, name);
  assert.ok(Object.keys(seen).length >= handlerNames.length);

  assert.equal(typeof SimpleHTTPRequestHandler.extensions_map, "object");
});

Deno.test({
  name:
    "readme: STATUS_TEXT and STATUS_DESCRIPTION hold Python's phrases and long texts",
  ignore: !HAVE_PYTHON,
  async fn() {
    const { code, out, err } = await run([
      "-c",
      "import http, json; print(json.dumps({s.value: [s.phrase, s.description] for s in http.HTTPStatus}))",
    ], { command: "python3" });
    assert.equal(code, 0, err);
    const python = JSON.parse(out) as Record<string, [string, string]>;
    const ours: Record<string, [string, string | undefined]> = {};
    for (const [status, phrase] of STATUS_TEXT) {
      ours[status] = [phrase, STATUS_DESCRIPTION.get(status)];
    }
    assert.deepEqual(ours, python);
  },
});

/** Source without block and line comments (JSDoc examples are not imports). */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

Deno.test("readme: library code imports only relative, node: or the pinned npm: packages the README lists, and never Deno.serve, node:http or fetch", async () => {
  const pins = new Map(
    [...README.matchAll(/`npm:([a-z@/.-]+?)@(\d+\.\d+\.\d+)`/g)].map((m) => [
      m[1]!,
      m[2]!,
    ]),
  );
  assert.deepEqual(
    [...pins.keys()].sort(),
    ["fast-check", "hono", "mime-db", "undici"],
  );
  const problems: string[] = [];
  const walk = async (dir: URL, library: boolean) => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) {
        if (entry.name.startsWith(".")) continue;
        await walk(url, library);
        continue;
      }
      if (!entry.name.endsWith(".ts") && !entry.name.endsWith(".mjs")) {
        continue;
      }
      const source = await Deno.readTextFile(url);
      const where = url.pathname.slice(ROOT_PATH.length);
      const code = stripComments(source);
      for (
        const m of (library ? code : source).matchAll(
          /(?:^|\n)\s*(?:import|export)[^"'`;]*?from\s*"([^"]+)"|import\("([^"$]+)"\)/g,
        )
      ) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith("jsr:") || spec.includes("@std/")) {
          problems.push(`${where}: imports ${spec} (README: no @std)`);
        }
        const npm = /^npm:((?:@[^/]+\/)?[^@/]+)@([^/]+)/.exec(spec);
        if (npm !== null) {
          if (pins.get(npm[1]!) !== npm[2]) {
            problems.push(`${where}: ${spec} is not the README's pin`);
          }
          continue;
        }
        if (!library) continue;
        if (
          !spec.startsWith("./") && !spec.startsWith("../") &&
          !spec.startsWith("node:")
        ) problems.push(`${where}: imports ${spec}`);
        if (spec === "node:http") problems.push(`${where}: imports node:http`);
      }
      // "node:util's parseArgs in every command line"
      if (
        /\bDeno\.args\b/.test(code) && !/^(bench|tests)\//.test(where) &&
        !/import \{[^}]*\bparseArgs\b[^}]*\} from "node:util"/.test(code)
      ) problems.push(`${where}: reads Deno.args without parseArgs`);
      if (library) {
        if (/\bDeno\.serve\s*\(/.test(code)) {
          problems.push(`${where}: calls Deno.serve`);
        }
        if (/(?<![.\w])(?<!async )fetch\s*\(|globalThis\.fetch\b/.test(code)) {
          problems.push(`${where}: calls fetch`);
        }
      }
    }
  };
  for (const dir of ["http1/", "server/", "client/", "net/"]) {
    await walk(new URL(dir, ROOT), true);
  }
  for (const dir of ["tests/", "bench/", "examples/"]) {
    await walk(new URL(dir, ROOT), false);
  }
  const mod = stripComments(
    await Deno.readTextFile(new URL("mod.ts", ROOT)),
  );
  for (const m of mod.matchAll(/from "([^"]+)"/g)) {
    if (!m[1]!.startsWith("./")) problems.push(`mod.ts: imports ${m[1]}`);
  }
  assert.deepEqual(problems, []);
});

Deno.test("readme: the tasks and CI the README names exist and run what it says", async () => {
  const tasks = new Set(
    [...README.matchAll(/deno@[\d.]+ task ([a-z:]+)|`deno task ([a-z:]+)`/g)]
      .map((m) => m[1] ?? m[2]!),
  );
  assert.deepEqual(
    [...tasks].sort(),
    [
      "bench:client",
      "bench:idle",
      "bench:parser",
      "bench:router",
      "bench:server",
      "fuzz",
      "serve",
      "test",
    ],
  );
  for (const task of tasks) assert.ok(task in DENO_JSON.tasks, task);
  assert.match(DENO_JSON.tasks.test!, /^deno test .* --doc$/);
  assert.match(
    DENO_JSON.tasks.serve!,
    /^deno run --allow-net=127\.0\.0\.1:8000 --allow-read=\. server\/cli\.ts 8000 --bind 127\.0\.0\.1$/,
  );
  const versions = new Set(
    [...README.matchAll(/npx -y deno@([\d.]+)/g)].map((m) => m[1]),
  );
  assert.equal(versions.size, 1, [...versions].join());
  const ci = await Deno.readTextFile(new URL(".ci/run", ROOT));
  assert.ok(ci.includes(`DENO=(npx -y deno@${[...versions][0]})`));
  for (
    const step of [
      "fmt --check",
      "lint",
      "doc --lint mod.ts",
      "check mod.ts",
      "npx -y deno@" + [...versions][0] + " task test",
    ]
  ) assert.ok(ci.includes(step), step);
  assert.match(ci, /echo "\$\{passed\} passed, \$\{failed\} failed"/);
  const fuzz = await Deno.readTextFile(
    new URL("tests/http1/fuzz_test.ts", ROOT),
  );
  assert.match(fuzz, /FUZZ_RUNS"\) \?\? "1000"/);
  const long = await Deno.readTextFile(
    new URL("tests/http1/fuzz_long.ts", ROOT),
  );
  assert.match(long, /default: "10000000"/);
});

// ── 4. commands, with exactly the permissions printed ───────────────────

Deno.test("readme: `deno task serve` and the -d ./public command serve with exactly their permissions", async () => {
  // The task, as deno.json has it, with its port swapped.
  const port = freePort();
  const task = DENO_JSON.tasks.serve!.split(" ").slice(1).map((w) =>
    w.replaceAll("8000", String(port))
  );
  {
    await using proc = new Proc(task);
    await proc.waitFor(/Serving HTTP/);
    const line =
      `Serving HTTP on 127.0.0.1 port ${port} (http://127.0.0.1:${port}/) ...`;
    assert.equal(proc.out.split("\n")[0], line);
    const readme = await get(port, "/README.md", { method: "HEAD" });
    assert.equal(readme.status, 200);
    assert.match(
      readme.head,
      /\r\nContent-type: text\/markdown; charset=utf-8\r\n/,
    );
    const status = await proc.stop();
    assert.equal(status.code, 0, proc.err);
    assert.match(proc.err, /"HEAD \/README\.md HTTP\/1\.1" 200 -/);
  }
  // `--allow-net=0.0.0.0:9000 --allow-read=./public server/cli.ts 9000 -b
  // 0.0.0.0 -d ./public`, on 127.0.0.1 and a free port, from a directory
  // holding ./public.
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/public`);
    await Deno.writeTextFile(`${dir}/public/a.json`, "{}");
    const p = freePort();
    const args = argv(readmeCommand("server/cli.ts", "-d ./public"), {
      "9000": p,
    }).map((w) => w.replaceAll("0.0.0.0", "127.0.0.1"))
      .map((w) => w === "server/cli.ts" ? `${ROOT_PATH}server/cli.ts` : w);
    await using proc = new Proc(args, { cwd: dir });
    await proc.waitFor(/Serving HTTP/);
    const file = await get(p, "/a.json");
    assert.equal(file.status, 200);
    assert.equal(file.body, "{}");
    // "text, JavaScript and JSON types carry ; charset=utf-8"
    assert.match(
      file.head,
      /\r\nContent-type: application\/json; charset=utf-8\r\n/,
    );
    assert.equal((await proc.stop()).code, 0, proc.err);
  });
});

Deno.test("readme: the server CLI binds 127.0.0.1 by default and exits 1 with one line for a port in use, a missing permission or a missing -d directory", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = blocker.addr.port;
  const cli = `${ROOT_PATH}server/cli.ts`;
  try {
    const [inUse, noRead, noDir, noNet] = await Promise.all([
      run([
        "run",
        `--allow-net=127.0.0.1:${port}`,
        "--allow-read=.",
        cli,
        String(port),
      ]),
      run(["run", `--allow-net=127.0.0.1:${port}`, cli, String(port)]),
      run([
        "run",
        `--allow-net=127.0.0.1:${port}`,
        "--allow-read=.",
        cli,
        String(port),
        "-d",
        "./no-such-directory",
      ]),
      run(["run", "--allow-read=.", cli, String(port + 1)]),
    ]);
    for (
      const [name, result] of Object.entries({ inUse, noRead, noDir, noNet })
    ) {
      assert.equal(result.code, 1, `${name}: ${result.err}`);
      assert.equal(result.err.trimEnd().split("\n").length, 1, result.err);
      assert.equal(result.out, "");
    }
    // The default bind is 127.0.0.1: that is the address found taken.
    assert.match(
      inUse.err,
      new RegExp(`^Port ${port} on 127\\.0\\.0\\.1 is already in use`),
    );
    assert.match(noRead.err, /--allow-read=\./);
    assert.match(noDir.err, /no such directory/);
    assert.match(
      noNet.err,
      new RegExp(`--allow-net=127\\.0\\.0\\.1:${port + 1}$`, "m"),
    );
  } finally {
    blocker.close();
  }
});

Deno.test("readme: the client CLI command works with exactly --allow-net=127.0.0.1:PORT", async () => {
  await using server = startServer(() =>
    new Response("hi", { headers: { "x-a": "1" } })
  );
  const port = server.addr.port;
  const args = argv(readmeCommand("client/cli.ts"), { "8000": port });
  assert.deepEqual(args, [
    "run",
    `--allow-net=127.0.0.1:${port}`,
    "client/cli.ts",
    "-i",
    `http://127.0.0.1:${port}/`,
  ]);
  const result = await run(args);
  assert.equal(result.code, 0, result.err);
  assert.match(result.out, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(result.out, /\r\nx-a: 1\r\n/);
  assert.ok(result.out.endsWith("\r\n\r\nhi"));
});

Deno.test("readme: socket example commands run with exactly their permissions", async () => {
  const tcp = freePort();
  const udp = freePort();
  const chat = freePort();
  const game = freePort();
  await using tcpServer = new Proc(
    argv(readmeCommand("examples/tcp_echo_server.ts"), { "7000": tcp }),
  );
  await using udpServer = new Proc(
    argv(readmeCommand("examples/udp_echo_server.ts"), { "7001": udp }),
  );
  await using chatServer = new Proc(
    argv(readmeCommand("examples/chat_room.ts"), { "7002": chat }),
  );
  await using gameServer = new Proc(
    argv(readmeCommand("examples/guess_game.ts"), { "7003": game }),
  );
  await tcpServer.waitFor(
    new RegExp(`^Listening on tcp://127\\.0\\.0\\.1:${tcp}$`, "m"),
  );
  await udpServer.waitFor(
    new RegExp(`^Listening on udp://127\\.0\\.0\\.1:${udp}$`, "m"),
  );
  await chatServer.waitFor(
    new RegExp(`^Listening on tcp://127\\.0\\.0\\.1:${chat}$`, "m"),
  );
  await gameServer.waitFor(
    new RegExp(`^Listening on tcp://127\\.0\\.0\\.1:${game}$`, "m"),
  );
  const [tcpClient, udpClient] = await Promise.all([
    run(argv(readmeCommand("examples/tcp_echo_client.ts"), { "7000": tcp })),
    run(argv(readmeCommand("examples/udp_echo_client.ts"), { "7001": udp })),
  ]);
  assert.equal(tcpClient.code, 0, tcpClient.err);
  assert.match(tcpClient.out, /Received: hello/);
  assert.equal(udpClient.code, 0, udpClient.err);
  assert.match(udpClient.out, /Received: hello/);
  // "stop cleanly on Ctrl-C"
  for (const proc of [tcpServer, udpServer, chatServer, gameServer]) {
    const status = await proc.stop("SIGINT");
    assert.equal(status.code, 0, proc.err);
  }
  // "Clients exit 1 with a one-line explanation when the connection is refused"
  const refused = await run(
    argv(readmeCommand("examples/tcp_echo_client.ts"), { "7000": tcp }),
  );
  assert.equal(refused.code, 1);
  assert.equal(
    refused.err.trim(),
    `Connection to 127.0.0.1:${tcp} refused: is the server running?`,
  );
  // raw_http_get: example.com:80 swapped for a local server.
  await using server = startServer(() => new Response("raw ok"));
  const port = server.addr.port;
  const raw = argv(readmeCommand("examples/raw_http_get.ts"))
    .map((w) =>
      w.replace("example.com:80", `127.0.0.1:${port}`).replace(
        "--host=example.com",
        "--host=127.0.0.1",
      )
    );
  const rawRun = await run([...raw, `--port=${port}`]);
  assert.equal(rawRun.code, 0, rawRun.err);
  assert.match(rawRun.out, /raw ok/);
});

Deno.test("readme: HTTP example commands (hello server and client, Hono, router, multi-core, monitor) run with exactly their permissions", async () => {
  const hello = freePort();
  const hono = freePort();
  const router = freePort();
  const multi = freePort();
  // The hello server and client default to 8080, which the permission names.
  await using helloServer = new Proc([
    ...argv(readmeCommand("examples/http_hello_server.ts"), { "8080": hello }),
    `--port=${hello}`,
  ]);
  await using honoApp = new Proc(
    argv(readmeCommand("examples/hono_app.ts"), { "8000": hono }),
  );
  await using routerApp = new Proc(
    argv(readmeCommand("examples/router_app.ts"), { "8000": router }),
  );
  await using multiCore = new Proc(
    argv(readmeCommand("examples/multi_core.ts"), { "8000": multi }),
  );
  await helloServer.waitFor(/^Listening on /m);
  const client = await run([
    ...argv(readmeCommand("examples/http_client.ts"), { "8080": hello }),
    `--port=${hello}`,
  ]);
  assert.equal(client.code, 0, client.err);
  assert.match(client.out, /^200 OK\n/);
  await honoApp.waitFor(/^Listening on /m);
  assert.equal((await get(hono, "/")).status, 200);
  await routerApp.waitFor(/^Listening on /m);
  assert.equal((await get(router, "/")).status, 200);
  await multiCore.waitFor(/^Listening on .*\(2 workers\)/m);
  const worker = await get(multi, "/");
  assert.equal(worker.status, 200);
  assert.match(worker.head, /\r\nx-worker: \d\r\n/);
  for (const proc of [honoApp, routerApp, multiCore]) {
    assert.equal((await proc.stop("SIGINT")).code, 0, proc.err);
  }
  // The monitor, watching the hello server (http) and a TCP listener.
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of tcp) conn.close();
  })();
  try {
    await using monitor = new Proc(
      argv(readmeCommand("examples/monitor.ts"), {
        "8000": hello,
        "7000": tcp.addr.port,
      }),
    );
    await monitor.waitFor(/^Round 1: 2 up, 0 down$/m);
    assert.equal((await monitor.stop("SIGINT")).code, 0, monitor.err);
  } finally {
    tcp.close();
    await accepting;
  }
  await helloServer.stop("SIGINT");
});

Deno.test("readme: the file transfer commands upload, download and verify with exactly their permissions", async () => {
  const row = README.split("\n").find((l) =>
    l.includes("examples/file_transfer.ts serve")
  )!;
  const spans = [...row.matchAll(/`((?:npx -y deno@|\.\.\. )[^`]+)`/g)].map((
    m,
  ) => m[1]!);
  assert.equal(spans.length, 3, row);
  const prefix = /^(npx -y deno@\S+ run --allow-net=\S+)/.exec(spans[0]!)![1]!;
  const [serveCmd, upload, download] = spans.map((s) =>
    s.startsWith("... ") ? prefix + s.slice(3) : s
  );
  const port = freePort();
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/files`);
    const data = crypto.getRandomValues(new Uint8Array(65536));
    const big = new Uint8Array(300_000);
    for (let i = 0; i < big.length; i += data.length) {
      big.set(data.subarray(0, Math.min(data.length, big.length - i)), i);
    }
    await Deno.writeFile(`${dir}/big.iso`, big);
    const script = (args: string[]) =>
      args.map((w) =>
        w === "examples/file_transfer.ts"
          ? `${ROOT_PATH}examples/file_transfer.ts`
          : w
      );
    await using server = new Proc(script(argv(serveCmd!, { "8000": port })), {
      cwd: dir,
    });
    await server.waitFor(/^Listening on /m);
    const up = await run(script(argv(upload!, { "8000": port })), { cwd: dir });
    assert.equal(up.code, 0, up.err);
    assert.match(up.out, /Verified/);
    const down = await run(script(argv(download!, { "8000": port })), {
      cwd: dir,
    });
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, /Verified/);
    assert.deepEqual(await Deno.readFile(`${dir}/copy.iso`), big);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(),
      ["big.iso", "copy.iso", "files"],
      "no temporary file left next to copy.iso",
    );
    assert.equal((await server.stop("SIGINT")).code, 0, server.err);
  });
});

Deno.test("readme: pythonHandler routes and exchangeRaw run with no permissions at all", async () => {
  const legacy = /`(const legacy = pythonHandler\(LegacyHandler\))`/.exec(FLAT)
    ?.[1];
  const route =
    /`(router\.all\("\/legacy\/\*", \(ctx\) => legacy\(ctx\.req, ctx\.info\)\))`/
      .exec(FLAT)?.[1];
  const raw =
    /`(exchangeRaw\(handler, "GET \/ HTTP\/1\.1\\r\\nHost: x\\r\\n\\r\\n"\))`/
      .exec(FLAT)?.[1];
  assert.ok(legacy && route && raw, "README snippets not found");
  const source = `
import { BaseHTTPRequestHandler, exchangeRaw, pythonHandler, Router } from ${
    JSON.stringify(MOD_URL)
  };
class LegacyHandler extends BaseHTTPRequestHandler {
  do_GET() {
    const body = new TextEncoder().encode("legacy " + this.path);
    this.send_response(200);
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }
}
const router = new Router();
${legacy};
${route};
const res = await router.request("/legacy/x?y=1");
console.log("route:", res.status, await res.text());
const handler = (req: Request) => new Response("raw " + new URL(req.url).pathname);
const out = await ${raw};
console.log("raw:", JSON.stringify(new TextDecoder().decode(out)));
`;
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/offline.ts`, source);
    const result = await run(
      ["run", "--quiet", "--no-prompt", "--no-lock", "offline.ts"],
      { cwd: dir },
    );
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /^route: 200 legacy \/legacy\/x\?y=1$/m);
    assert.match(
      result.out,
      /^raw: "HTTP\/1\.1 200 OK\\r\\n.*content-length: 5\\r\\n.*\\r\\n\\r\\nraw \/"$/m,
    );
  });
});

Deno.test("readme: every example is smoke-tested (examples/X.ts has tests/examples/X_test.ts)", async () => {
  const examples =
    (await Array.fromAsync(Deno.readDir(new URL("examples/", ROOT))))
      .map((e) => e.name).filter((n) => n.endsWith(".ts")).sort();
  const tests = new Set(
    (await Array.fromAsync(Deno.readDir(new URL("tests/examples/", ROOT))))
      .map((e) => e.name),
  );
  assert.ok(examples.length >= 14);
  assert.deepEqual(
    examples.filter((name) => !tests.has(name.replace(/\.ts$/, "_test.ts"))),
    [],
  );
  // And every example the README runs is one of them.
  const shown = new Set(
    [...README.matchAll(/(?<![\w/])examples\/([a-z_]+\.ts)/g)].map((m) =>
      m[1]!
    ),
  );
  assert.deepEqual([...shown].filter((n) => !examples.includes(n)), []);
});

// ── 5. snippets that serve ──────────────────────────────────────────────

/** Writes `source` to dir/name.ts and starts it with `perms`. */
function startSnippet(
  dir: string,
  name: string,
  source: string,
  perms: string[],
): Proc {
  Deno.writeTextFileSync(`${dir}/${name}.ts`, source);
  return new Proc(["run", "--quiet", "--no-lock", ...perms, `${name}.ts`], {
    cwd: dir,
  });
}

Deno.test("readme: the serving snippets (quick start, serveDir, Router, Hono) answer what the README says", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/public`);
    await Deno.writeTextFile(`${dir}/public/a.txt`, "static file");
    const local = '{ port: 0, hostname: "127.0.0.1" }';
    const quick = startSnippet(
      dir,
      "quick",
      must(
        rewriteImports(tsBlock("Hello ${new URL(req.url).pathname}")),
        "{ port: 8000 }",
        local,
      ),
      ["--allow-net=127.0.0.1"],
    );
    const statics = startSnippet(
      dir,
      "statics",
      must(
        rewriteImports(tsBlock("serveDir(req")),
        "serve((req)",
        `serve(${local}, (req)`,
      ),
      ["--allow-net=127.0.0.1", "--allow-read=./public"],
    );
    const router = startSnippet(
      dir,
      "router",
      must(
        rewriteImports(tsBlock("new Router()")),
        "serve({ port: 8000 }, app.fetch)",
        `serve(${local}, app.fetch)`,
      ) + '\nconsole.log("app.request:", res.status, await res.text());\n',
      ["--allow-net=127.0.0.1"],
    );
    const honoSpec = README.match(/npm:hono@[\d.]+/)![0];
    const hono = await honoCached(dir, honoSpec)
      ? startSnippet(
        dir,
        "hono",
        must(
          rewriteImports(tsBlock("new Hono()")),
          '{ port: 8000, hostname: "127.0.0.1" }',
          local,
        ),
        ["--allow-net=127.0.0.1"],
      )
      : null;
    if (hono === null) {
      console.log(`skipped the Hono snippet: ${honoSpec} is not cached`);
    }
    try {
      const listening = /Listening on http:\/\/127\.0\.0\.1:(\d+)\//;
      const quickPort = Number((await quick.waitFor(listening))[1]);
      assert.equal(
        (await get(quickPort, "/some/where")).body,
        "Hello /some/where",
      );

      const staticPort = Number((await statics.waitFor(listening))[1]);
      assert.equal(
        (await get(staticPort, "/static/a.txt")).body,
        "static file",
      );
      assert.equal((await get(staticPort, "/a.txt")).status, 404);

      const routerPort = Number((await router.waitFor(listening))[1]);
      // "const res = await app.request("/users/42"); // 200 {"id":"42"}"
      assert.match(tsBlock("new Router()"), /\/\/ 200 \{"id":"42"\}/);
      await router.waitFor(/app\.request:/);
      assert.match(router.out, /app\.request: 200 \{"id":"42"\}/);
      const user = await get(routerPort, "/users/42");
      assert.equal(user.body, '{"id":"42"}');
      assert.equal((await get(routerPort, "/users/abc")).status, 404);
      const created = await get(routerPort, "/users", {
        method: "POST",
        body: '{"name":"x"}',
        extra: "Content-Type: application/json\r\n",
      });
      assert.equal(created.status, 201);
      assert.equal(created.body, '{"name":"x"}');
      assert.equal((await get(routerPort, "/files/a/b%20c")).body, "a/b c");
      // 405 with Allow; OPTIONS 204 with Allow; HEAD through the GET route.
      const wrong = await get(routerPort, "/users/1", { method: "DELETE" });
      assert.equal(wrong.status, 405);
      assert.match(wrong.head, /\r\nallow: GET, HEAD, OPTIONS\r\n/);
      const options = await get(routerPort, "/users/1", { method: "OPTIONS" });
      assert.equal(options.status, 204);
      assert.match(options.head, /\r\nallow: GET, HEAD, OPTIONS\r\n/);
      const head = await get(routerPort, "/users/1", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.body, "");

      if (hono !== null) {
        const honoPort = Number((await hono.waitFor(listening))[1]);
        assert.equal((await get(honoPort, "/users/7")).body, '{"id":"7"}');
      }
    } finally {
      await Promise.all(
        [quick, statics, router, hono].map((p) => p?.stop("SIGKILL")),
      );
    }
  });
});

Deno.test({
  name:
    "readme: the http.server snippet answers the bytes its Python twin answers (Server and Date masked)",
  ignore: !HAVE_PYTHON,
  async fn() {
    const python = codeBlocks("python");
    assert.equal(python.length, 1);
    const pySource = must(
      must(python[0]!, "('localhost', 8080)", "('127.0.0.1', 0)"),
      "httpd.serve_forever()",
      "print('PORT', httpd.server_address[1], flush=True)\nhttpd.serve_forever()",
    );
    const tsSource = must(
      must(
        rewriteImports(tsBlock("class MyHandler")),
        '["localhost", 8080]',
        '["127.0.0.1", 0]',
      ),
      "await httpd.serve_forever();",
      'console.log("PORT", httpd.server_address[1]);\nawait httpd.serve_forever();',
    );
    const requests = [
      "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
      "GET /any?q=1 HTTP/1.0\r\n\r\n",
      "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc",
      "GET / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n",
    ];
    const mask = (s: string) =>
      s.replace(/\r\nServer: [^\r\n]*/g, "\r\nServer: *")
        .replace(/\r\nDate: [^\r\n]*/g, "\r\nDate: *");
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/snippet.py`, pySource);
      await using py = new Proc(["-u", "snippet.py"], {
        command: "python3",
        cwd: dir,
      });
      await using ts = startSnippet(dir, "snippet", tsSource, [
        "--allow-net=127.0.0.1",
      ]);
      const pyPort = Number((await py.waitFor(/PORT (\d+)/))[1]);
      const tsPort = Number((await ts.waitFor(/PORT (\d+)/))[1]);
      for (const raw of requests) {
        const answers: string[] = [];
        for (const port of [pyPort, tsPort]) {
          await using client = await RawClient.connect(port);
          await client.send(raw);
          answers.push(mask(await client.readToEnd(5000)));
        }
        assert.equal(answers[1], answers[0], raw);
      }
    });
  },
});

// ── 6. the deliberate differences ───────────────────────────────────────

/** What Deno.serve and h1's serve() send back for one raw request. */
async function sideBySide(
  handler: (req: Request) => Response | Promise<Response>,
  raw: string,
  headOnly = false,
): Promise<{ deno: string; h1: string }> {
  const deno = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    handler,
  );
  const h1 = startServer(handler);
  const read = async (port: number) => {
    await using client = await RawClient.connect(port);
    await client.send(raw);
    if (headOnly) {
      const text = await client.readUntil((t) => t.includes("\r\n\r\n"));
      return text.slice(0, text.indexOf("\r\n"));
    }
    const response = await client.response("GET", 5000);
    return `${response.status} ${response.reason} ${
      response.headers.get("content-type")
    } ${response.text}`;
  };
  try {
    return { deno: await read(deno.addr.port), h1: await read(h1.addr.port) };
  } finally {
    await deno.shutdown();
    await h1.shutdown();
  }
}

const quietErrors = <T>(body: () => Promise<T>): Promise<T> => {
  const write = Deno.stderr.writeSync;
  const error = console.error;
  Deno.stderr.writeSync = (p: Uint8Array) => p.length;
  console.error = () => {};
  return body().finally(() => {
    Deno.stderr.writeSync = write;
    console.error = error;
  });
};

Deno.test("readme: the listed differences from Deno.serve still hold", async () => {
  const list =
    /Differences from `Deno\.serve` a handler can see([\s\S]*?)What the engine does/
      .exec(README)![1]!;
  for (
    const claim of [
      "`Deno.upgradeWebSocket(req)` is not",
      "request\nheaders can be changed",
      "a copy of a request with\na lower-case method says `GET`, not `get`",
      "a `statusText` set on a Response is\nsent in the status line",
      "the default 500 has a `Content-Type`",
    ]
  ) assert.ok(list.includes(claim), claim);
  const GET = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  await quietErrors(async () => {
    const headers = await sideBySide((req) => {
      try {
        req.headers.set("x-new", "1");
        return new Response("mutable");
      } catch {
        return new Response("immutable");
      }
    }, GET);
    assert.deepEqual(headers, {
      deno: "200 OK text/plain;charset=UTF-8 immutable",
      h1: "200 OK text/plain;charset=UTF-8 mutable",
    });
    const reason = await sideBySide(
      () => new Response("x", { statusText: "Fine" }),
      GET,
    );
    assert.deepEqual(reason, {
      deno: "200 OK text/plain;charset=UTF-8 x",
      h1: "200 Fine text/plain;charset=UTF-8 x",
    });
    const failing = await sideBySide(() => {
      throw new Error("boom");
    }, GET);
    assert.deepEqual(failing, {
      deno: "500 Internal Server Error null Internal Server Error",
      h1:
        "500 Internal Server Error text/plain;charset=UTF-8 Internal Server Error",
    });
    const upgrade = await sideBySide(
      (req) => {
        try {
          return Deno.upgradeWebSocket(req).response;
        } catch (error) {
          return new Response(String(error), { status: 400 });
        }
      },
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      true,
    );
    assert.deepEqual(upgrade, {
      deno: "HTTP/1.1 101 Switching Protocols",
      h1: "HTTP/1.1 500 Internal Server Error",
    });
    // A lower-case method that is not GET or HEAD: the copy normalizes.
    const post = await sideBySide(
      (req) => new Response(`${req.method} ${req.clone().method}`),
      "post / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    );
    assert.deepEqual(post, {
      deno: "200 OK text/plain;charset=UTF-8 post post",
      h1: "200 OK text/plain;charset=UTF-8 post POST",
    });
  });
});

// The 101 error "names onUpgrade", as the README says.
Deno.test("readme: a handler's 101 under serve() becomes an error that names onUpgrade", async () => {
  const errors: unknown[] = [];
  await using server = startServer(
    () => new Response(null, { status: 101 }),
    {
      onError: (error) => {
        errors.push(error);
        return new Response("handled", { status: 500 });
      },
    },
  );
  const response = await get(server.addr.port, "/");
  assert.equal(response.status, 500);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /onUpgrade/);
});

// README: "a copy of a request with a lower-case method says `GET`, not
// `get`". Reading such a request (a copy, its body) used to throw a 500:
// the Request was built with a body for the token "get", which new Request()
// upper-cases to GET and then refuses (fixed in 6c4dc4e during this review).
Deno.test({
  name:
    "readme: a copy of a request with a lower-case get says GET (and reading it works)",
  async fn() {
    let seen = "";
    await using server = startServer(async (req) => {
      seen = `${req.method} ${req.clone().method} ${
        new Request(req).method
      } [${await req.text()}]`;
      return new Response("ok");
    });
    const response = await quietErrors(() =>
      get(server.addr.port, "/", { method: "get" })
    );
    assert.equal(response.status, 200);
    assert.equal(seen, "get GET GET []");
  },
});

// Fixed bug: req.url's fast path took numeric hosts (2130706433, 1.2.3, 0x7f.1,
// 127.000.000.001) and ports with leading zeros (a:0080) as already serialized,
// while URL and every copy of the request write them canonically
// (http://127.0.0.1/x), so the README's claim did not hold for them.
Deno.test({
  name: "readme: req.url is serialized as a real Request's is, for any Host",
  async fn() {
    await using server = startServer((req) =>
      new Response(`${req.url} ${new Request(req).url}`)
    );
    for (const host of ["a:0080", "1.2.3", "0x7f.1", "2130706433"]) {
      await using client = await RawClient.connect(server.addr.port);
      await client.send(
        `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      const text = await client.readToEnd();
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      const [url, copy] = body.split(" ");
      assert.equal(url, copy, `Host: ${host}`);
      assert.equal(url, new URL(`http://${host}/x`).href, `Host: ${host}`);
    }
  },
});

// Fixed (docs): the README's list of differences from Deno.serve left out the
// most visible one: Deno.serve hands req.url on as received
// (http://EXAMPLE.com:80/a/../b), h1 serializes it (http://example.com/b).
Deno.test({
  name:
    "readme: the Deno.serve differences list names the req.url normalization",
  async fn() {
    const seen = await sideBySide(
      (req) => new Response(req.url),
      "GET /a/../b HTTP/1.1\r\nHost: EXAMPLE.com:80\r\n\r\n",
    );
    assert.notEqual(seen.deno, seen.h1); // a difference a handler can see...
    const list =
      /Differences from `Deno\.serve` a handler can see([\s\S]*?)What the engine does/
        .exec(README)![1]!;
    assert.match(list, /req\.url/); // ...that the list should name
  },
});

// Fixed (docs, least privilege): the README ran the monitor with --allow-
// net=127.0.0.1 (every port) although it checks two targets; it now grants
// exactly those.
Deno.test({
  name: "readme: the monitor command grants only the hosts it checks",
  fn() {
    const args = argv(readmeCommand("examples/monitor.ts"));
    const grant = args.find((a) => a.startsWith("--allow-net="))!;
    const targets = args.filter((a) => /^(http|tcp):\/\//.test(a))
      .map((a) => new URL(a).host);
    assert.deepEqual(
      grant.slice("--allow-net=".length).split(",").sort(),
      targets.sort(),
    );
  },
});

/** A one-connection server that records what it reads and answers `reply`. */
async function capture(
  reply: string,
  body: (port: number) => Promise<void>,
): Promise<string> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let wire = "";
  const serving = (async () => {
    const conn = await listener.accept();
    const buffer = new Uint8Array(65536);
    try {
      while (!/\r\n\r\n/.test(wire)) {
        const n = await conn.read(buffer);
        if (n === null) break;
        wire += fromLatin1(buffer.subarray(0, n));
      }
      const length = Number(/content-length: (\d+)/i.exec(wire)?.[1] ?? 0);
      while (wire.length - wire.indexOf("\r\n\r\n") - 4 < length) {
        const n = await conn.read(buffer);
        if (n === null) break;
        wire += fromLatin1(buffer.subarray(0, n));
      }
      await conn.write(latin1(reply));
    } finally {
      conn.close();
    }
  })();
  try {
    await body(listener.addr.port);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
  return wire;
}

const OK =
  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

Deno.test("readme: the listed differences from CPython's http.client still hold on h1's side", async () => {
  // Text bodies go out as UTF-8.
  const utf8 = await capture(OK, async (port) => {
    const conn = new HTTPConnection("127.0.0.1", port, { timeout: 2 });
    await conn.request("POST", "/", "caf\u00e9");
    await (await conn.getresponse()).read();
    conn.close();
  });
  assert.match(utf8, /\r\nContent-Length: 5\r\n\r\ncaf\xc3\xa9$/);
  // putheader(name, a, b): one line, comma-joined.
  const joined = await capture(OK, async (port) => {
    const conn = new HTTPConnection("127.0.0.1", port, { timeout: 2 });
    conn.putrequest("GET", "/");
    conn.putheader("X-Multi", "a", "b");
    await conn.endheaders();
    await (await conn.getresponse()).read();
    conn.close();
  });
  assert.match(joined, /\r\nX-Multi: a, b\r\n/);
  // An absolute URL's Host is the URL's: lower case, default port dropped.
  const host = await capture(OK, async (port) => {
    const conn = new HTTPConnection("127.0.0.1", port, { timeout: 2 });
    await conn.request("GET", "http://Example.COM:80/abs");
    await (await conn.getresponse()).read();
    conn.close();
  });
  assert.match(host, /\r\nHost: example\.com\r\n/);
  // After NotConnected the next request() works.
  await capture(OK, async (port) => {
    const conn = new HTTPConnection("127.0.0.1", port, { timeout: 2 });
    conn.auto_open = false;
    const error = await conn.request("GET", "/").catch((e) => e);
    assert.ok(error instanceof NotConnected, String(error));
    conn.auto_open = true;
    await conn.request("GET", "/");
    assert.equal((await conn.getresponse()).status, 200);
    conn.close();
  });
  // set_tunnel: CONNECT host:port HTTP/1.1 with a Host field.
  const tunnel = await capture(
    "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    async (port) => {
      const conn = new HTTPConnection("127.0.0.1", port, { timeout: 2 });
      conn.set_tunnel("example.com", 8443);
      await conn.request("GET", "/").catch(() => {});
      conn.close();
    },
  );
  assert.match(
    tunnel,
    /^CONNECT example\.com:8443 HTTP\/1\.1\r\nHost: example\.com:8443\r\n/,
  );
  // Refused where Python is lenient: HTTP/0.9 status line, a head cut off.
  for (
    const [reply, expected] of [
      ["HTTP/0.9 200 OK\r\n\r\n", HTTPException],
      ["HTTP/1.1 200 OK\r\n", BadStatusLine],
    ] as const
  ) {
    await capture(reply, async (port) => {
      const conn = new HTTPConnection("127.0.0.1", port, { timeout: 2 });
      await conn.request("GET", "/");
      const error = await conn.getresponse().catch((e) => e);
      assert.ok(error instanceof expected, `${reply}: ${error}`);
      conn.close();
    });
  }
  // timeout is in seconds, as in Python: 0.2 s to a silent server.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = silent.accept().then((c) => held.push(c)).catch(() => {});
  try {
    const conn = new HTTPConnection("127.0.0.1", silent.addr.port, {
      timeout: 0.2,
    });
    const started = Date.now();
    await conn.request("GET", "/");
    const error = await conn.getresponse().catch((e) => e);
    const elapsed = Date.now() - started;
    conn.close();
    assert.ok(error instanceof ReadTimeout, String(error));
    assert.ok(elapsed >= 150 && elapsed < 2000, `${elapsed} ms`);
  } finally {
    silent.close();
    await accepting;
    for (const c of held) c.close();
  }
  // A head over maxHeadBytes (16 KiB in all) is a LineTooLong.
  await capture(
    `HTTP/1.1 200 OK\r\nX-Big: ${
      "a".repeat(DEFAULT_LIMITS.maxHeadBytes)
    }\r\n\r\n`,
    async (port) => {
      const conn = new HTTPConnection("127.0.0.1", port, { timeout: 2 });
      await conn.request("GET", "/");
      const error = await conn.getresponse().catch((e) => e);
      assert.ok(error instanceof LineTooLong, String(error));
      conn.close();
    },
  );
});

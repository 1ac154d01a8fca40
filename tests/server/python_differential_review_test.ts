// deno-lint-ignore-file no-console
/**
 * Randomized differential review of h1's Python face (`HTTPServer`,
 * `ThreadingHTTPServer`, `BaseHTTPRequestHandler`,
 * `SimpleHTTPRequestHandler`) against a live CPython `http.server`.
 *
 * One Python script and its line-by-line h1 port run side by side. The
 * `ops` handler does what the request path says, op by op (send_response,
 * send_header, end_headers, wfile writes, send_error, rfile reads,
 * close_connection, ...); the `simple` handler is SimpleHTTPRequestHandler
 * over one shared temp tree. The same raw bytes go to both servers and the
 * replies must be equal after masking the Server and Date values (and, for
 * files, the README's listed extras: ETag, Accept-Ranges, the charset of
 * text types, Last-Modified on 304).
 *
 * Generated cases stay clear of the deliberate differences the README and
 * python_compat_test.ts / python_adversarial_review_test.ts cover (rfile
 * bounded to the body, chunked bodies, HTTP/0.9, send_header CR/LF, throwing
 * handlers, one handler per request), of places where h1 follows RFC 9112
 * and CPython does not (a missing or repeated Host, bare LF, whitespace
 * before a colon, obs-fold, trailing spaces in a field value, a "close"
 * inside a Connection list, raw "#" in a target, absolute-form targets), and
 * of the `// Known difference` cases kept as ignored tests at the end.
 *
 * PY_DIFF_RUNS raises the number of random batches (up to 8 connections
 * each) per property (25 by default; 300 pass), PY_DIFF_SEED replays a
 * seed, PY_DIFF_REPORT prints every mismatch instead of failing on the
 * first. Skips cleanly without python3.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "npm:fast-check@4.10.2";
import { HTTPServer, ThreadingHTTPServer } from "../../server/http_server.ts";
import {
  BaseHTTPRequestHandler,
  type RequestHandlerClass,
} from "../../server/request_handler.ts";
import { SimpleHTTPRequestHandler } from "../../server/simple_request_handler.ts";
import {
  maskServerAndDate,
  pythonAvailable,
  withPythonScript,
} from "./_python_face.ts";
import { exchangeUntilQuiet, latin1 } from "./_raw.ts";

const PYTHON = "python3";
const RUNS = Number(Deno.env.get("PY_DIFF_RUNS") ?? "25");
const SEED = Deno.env.get("PY_DIFF_SEED");
const seedOption = SEED === undefined ? {} : { seed: Number(SEED) };

const HAVE_PYTHON = await pythonAvailable(PYTHON);
if (!HAVE_PYTHON) {
  console.warn("python_differential_review_test: python3 not found, skipping");
}

// ---------------------------------------------------------------------------
// The Python side: one script, argv = kind protocol directory serial.
//
// The ops handler runs one op per path segment (arguments comma-separated
// and percent-encoded, "~" for None): S<code>[,reason] send_response,
// O<code>[,reason] send_response_only, H<name>,<value> send_header,
// E end_headers, F flush_headers, W<n> write n pattern bytes, T<text> write
// UTF-8 text, X<code>[,message[,explain]] send_error, R<n> rfile.read(n)
// and L[<n>] rfile.readline([n]) (echoed in [] and <>), A rfile.read()
// (echoed in {}), P wfile.flush(), C0/C1 close_connection, V0/V1
// protocol_version, I the request attributes. request_queue_size is raised
// so that many parallel connections are not held in the listen backlog.

const PYTHON_SERVER = `
import functools
import sys
import urllib.parse
from http.server import (BaseHTTPRequestHandler, HTTPServer,
                         SimpleHTTPRequestHandler, ThreadingHTTPServer)

KIND, PROTOCOL, DIRECTORY, SERIAL = sys.argv[1:5]
PATTERN = b'0123456789abcdefghijklmnopqrstuvwxyz'


def arg(text):
    return None if text == '~' else urllib.parse.unquote(text)


class Ops(BaseHTTPRequestHandler):
    protocol_version = PROTOCOL

    def log_message(self, *args):
        pass

    def run_ops(self):
        for op in self.path.split('?', 1)[0].split('/')[1:]:
            if op == '':
                continue
            kind, args = op[0], [arg(a) for a in op[1:].split(',')]
            if kind == 'S':
                self.send_response(int(args[0]), *args[1:])
            elif kind == 'O':
                self.send_response_only(int(args[0]), *args[1:])
            elif kind == 'H':
                self.send_header(args[0], args[1])
            elif kind == 'E':
                self.end_headers()
            elif kind == 'F':
                self.flush_headers()
            elif kind == 'W':
                n = int(args[0])
                self.wfile.write((PATTERN * (n // len(PATTERN) + 1))[:n])
            elif kind == 'T':
                self.wfile.write(args[0].encode())
            elif kind == 'X':
                self.send_error(int(args[0]), *args[1:])
            elif kind == 'R':
                data = self.rfile.read(int(args[0]))
                self.wfile.write(b'[' + data + b']')
            elif kind == 'L':
                line = self.rfile.readline(int(args[0])) if args[0] else \\
                    self.rfile.readline()
                self.wfile.write(b'<' + line + b'>')
            elif kind == 'A':
                self.wfile.write(b'{' + self.rfile.read() + b'}')
            elif kind == 'P':
                self.wfile.flush()
            elif kind == 'C':
                self.close_connection = args[0] == '1'
            elif kind == 'V':
                self.protocol_version = 'HTTP/1.' + args[0]
            elif kind == 'I':
                info = '%s|%s|%s|%s|%d|%d|%s|%s' % (
                    self.command, self.path, self.request_version,
                    self.requestline, self.close_connection,
                    len(self.headers),
                    ';'.join('%s=%s' % kv for kv in self.headers.items()),
                    ','.join(self.headers.get_all('X-Dup', [])))
                self.wfile.write(info.encode('utf-8', 'surrogateescape'))

    do_GET = do_POST = do_PUT = do_HEAD = run_ops


class Simple(SimpleHTTPRequestHandler):
    protocol_version = PROTOCOL

    def log_message(self, *args):
        pass


if KIND == 'ops':
    Handler = Ops
else:
    Handler = functools.partial(Simple, directory=DIRECTORY)

class Server(HTTPServer if SERIAL == 'serial' else ThreadingHTTPServer):
    request_queue_size = 128  # the tests open many connections at once


httpd = Server(('127.0.0.1', 0), Handler)
print(f'Listening on http://127.0.0.1:{httpd.server_address[1]}/', flush=True)
httpd.serve_forever()
`;

// ---------------------------------------------------------------------------
// The same handlers in h1, line by line.

const PATTERN = "0123456789abcdefghijklmnopqrstuvwxyz";

/** Python's urllib.parse.unquote for the valid encodings the tests send. */
function arg(text: string): string | undefined {
  return text === "~" ? undefined : decodeURIComponent(text);
}

function opsHandler(protocol: string): RequestHandlerClass {
  return class Ops extends BaseHTTPRequestHandler {
    override protocol_version = protocol;

    override log_message(): void {}

    async run_ops(): Promise<void> {
      for (const op of this.path.split("?")[0]!.split("/").slice(1)) {
        if (op === "") continue;
        const kind = op[0];
        const args = op.slice(1).split(",").map(arg);
        if (kind === "S") {
          this.send_response(Number(args[0]), args[1]);
        } else if (kind === "O") {
          this.send_response_only(Number(args[0]), args[1]);
        } else if (kind === "H") {
          this.send_header(args[0]!, args[1]!);
        } else if (kind === "E") {
          this.end_headers();
        } else if (kind === "F") {
          this.flush_headers();
        } else if (kind === "W") {
          const n = Number(args[0]);
          await this.wfile.write(
            PATTERN.repeat(Math.floor(n / PATTERN.length) + 1).slice(0, n),
          );
        } else if (kind === "T") {
          await this.wfile.write(args[0]!);
        } else if (kind === "X") {
          this.send_error(Number(args[0]), args[1], args[2]);
        } else if (kind === "R") {
          const data = await this.rfile.read(Number(args[0]));
          await this.wfile.write(concatBytes(latin1("["), data, latin1("]")));
        } else if (kind === "L") {
          const line = args[0]
            ? await this.rfile.readline(Number(args[0]))
            : await this.rfile.readline();
          await this.wfile.write(concatBytes(latin1("<"), line, latin1(">")));
        } else if (kind === "A") {
          const data = await this.rfile.read();
          await this.wfile.write(concatBytes(latin1("{"), data, latin1("}")));
        } else if (kind === "P") {
          await this.wfile.flush();
        } else if (kind === "C") {
          this.close_connection = args[0] === "1";
        } else if (kind === "V") {
          this.protocol_version = "HTTP/1." + args[0];
        } else if (kind === "I") {
          const info = [
            this.command,
            this.path,
            this.request_version,
            this.requestline,
            Number(this.close_connection),
            this.headers.size,
            this.headers.items().map(([k, v]) => `${k}=${v}`).join(";"),
            (this.headers.get_all("X-Dup", []) as string[]).join(","),
          ].join("|");
          await this.wfile.write(info);
        }
      }
    }

    do_GET(): Promise<void> {
      return this.run_ops();
    }
    do_POST(): Promise<void> {
      return this.run_ops();
    }
    do_PUT(): Promise<void> {
      return this.run_ops();
    }
    do_HEAD(): Promise<void> {
      return this.run_ops();
    }
  };
}

function simpleHandler(protocol: string, directory: string) {
  return class Simple extends SimpleHTTPRequestHandler {
    override protocol_version = protocol;
    override directory = directory;
    override log_message(): void {}
  };
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Running both.

type Kind = "ops" | "simple";
type Protocol = "HTTP/1.0" | "HTTP/1.1";

interface Pair {
  py: number;
  h1: number;
}

interface BothOptions {
  directory?: string;
  serial?: boolean;
}

async function withBoth<T>(
  kind: Kind,
  protocol: Protocol,
  body: (ports: Pair) => Promise<T>,
  { directory = "-", serial = false }: BothOptions = {},
): Promise<T> {
  const Handler = kind === "ops"
    ? opsHandler(protocol)
    : simpleHandler(protocol, directory);
  return await withPythonScript(
    PYTHON,
    PYTHON_SERVER,
    [kind, protocol, directory, serial ? "serial" : "threading"],
    async (py) => {
      const Server = serial ? HTTPServer : ThreadingHTTPServer;
      await using server = new Server(["127.0.0.1", 0], Handler, {
        logWriter: () => {},
      });
      const serving = server.serve_forever(0.05);
      try {
        return await body({ py, h1: server.server_port });
      } finally {
        await server.shutdown();
        await serving;
      }
    },
  );
}

/** Both servers' replies to the same bytes, masked. */
async function both(
  ports: Pair,
  request: string | Uint8Array,
  normalize: (text: string) => string = maskServerAndDate,
  { quietMs = 250, halfClose = false, cuts = [] as number[] } = {},
): Promise<{ py: string; h1: string }> {
  const [py, h1] = await Promise.all([
    exchangeUntilQuiet(ports.py, request, { quietMs, halfClose, cuts }),
    exchangeUntilQuiet(ports.h1, request, { quietMs, halfClose, cuts }),
  ]);
  return { py: normalize(py), h1: normalize(h1) };
}

function show(text: string): string {
  return JSON.stringify(text);
}

/** Masks Server and Date, and drops what the README lists for files. */
function normalizeFiles(text: string): string {
  return maskServerAndDate(text)
    .replace(/\r\n(ETag|Accept-Ranges): [^\r\n]*/g, "")
    .replace(/(\r\nContent-type: [^;\r\n]*); charset=utf-8/gi, "$1")
    .replace(
      /(HTTP\/1\.[01] 304 [^\r\n]*(?:\r\n[^\r\n]+)*?)\r\nLast-Modified: [^\r\n]*/g,
      "$1",
    );
}

// ---------------------------------------------------------------------------
// The ops language: the path of a request is the handler's script.

/** Percent-encodes an op argument; "~" too, since a bare "~" means None. */
function enc(text: string): string {
  return encodeURIComponent(text).replace(/~/g, "%7E");
}

type Op =
  | { op: "S" | "O"; code: number; reason?: string | undefined }
  | { op: "H"; name: string; value: string }
  | { op: "E" | "F" | "I" | "P" }
  | { op: "W"; n: number }
  | { op: "T"; text: string }
  | {
    op: "X";
    code: number;
    message?: string | null | undefined;
    explain?: string | undefined;
  }
  | { op: "R"; n: number }
  | { op: "L"; limit: number | null }
  | { op: "C"; close: boolean };

function opText(op: Op): string {
  switch (op.op) {
    case "S":
    case "O":
      return op.op + op.code +
        (op.reason === undefined ? "" : "," + enc(op.reason));
    case "H":
      return `H${enc(op.name)},${enc(op.value)}`;
    case "E":
    case "F":
    case "I":
    case "P":
      return op.op;
    case "W":
      return "W" + op.n;
    case "T":
      return "T" + enc(op.text);
    case "X": {
      let text = "X" + op.code;
      if (op.message !== undefined) {
        text += "," + (op.message === null ? "~" : enc(op.message));
      }
      if (op.explain !== undefined) text += "," + enc(op.explain);
      return text;
    }
    case "R":
      return "R" + op.n;
    case "L":
      return "L" + (op.limit ?? "");
    case "C":
      return op.close ? "C1" : "C0";
  }
}

type Method = "GET" | "POST" | "PUT" | "HEAD" | "DELETE" | "OPTIONS" | "get";
type ConnectionValue = "close" | "keep-alive" | "Keep-Alive" | "CLOSE";

interface OpsRequest {
  method: Method;
  version: Protocol;
  connection: ConnectionValue | null;
  expect: boolean;
  extra: [string, string][];
  body: string | null;
  ops: Op[];
  query: string;
}

function requestText(r: OpsRequest): string {
  let text = `${r.method} /${
    r.ops.map(opText).join("/")
  }${r.query} ${r.version}\r\n`;
  if (r.version === "HTTP/1.1") text += "Host: a\r\n";
  if (r.connection !== null) text += `Connection: ${r.connection}\r\n`;
  for (const [name, value] of r.extra) text += `${name}: ${value}\r\n`;
  if (r.expect) text += "Expect: 100-continue\r\n";
  if (r.body !== null) text += `Content-Length: ${r.body.length}\r\n`;
  return text + "\r\n" + (r.body ?? "");
}

/**
 * Makes a generated script valid in both: reads stay inside the body (a
 * read past it blocks in CPython, see the README), the body is read to its
 * end (CPython would parse the rest as the next request), end_headers() has
 * a buffer (CPython's `_headers_buffer` is created by send_response or
 * send_header) and nothing is left buffered at the end (CPython keeps one
 * handler per connection, h1 one per request).
 */
function fixOps(ops: Op[], body: string | null, method: Method): Op[] {
  const out: Op[] = [];
  let left = body ?? "";
  let buffered = false;
  let started = false;
  for (const op of ops) {
    if (op.op === "R") {
      const n = Math.min(op.n, left.length);
      left = left.slice(n);
      out.push({ op: "R", n });
      continue;
    }
    if (op.op === "L") {
      const nl = left.indexOf("\n");
      let limit = op.limit;
      if (limit === null && nl === -1) limit = left.length;
      if (limit !== null) limit = Math.min(limit, left.length);
      const take = nl !== -1 && (limit === null || nl + 1 <= limit)
        ? nl + 1
        : limit!;
      left = left.slice(take);
      out.push({ op: "L", limit });
      continue;
    }
    if (op.op === "E" && !started) continue;
    if (op.op === "S" || op.op === "O" || op.op === "H") {
      buffered = true;
      started = true;
    }
    if (op.op === "E" || op.op === "F" || op.op === "X") buffered = false;
    if (op.op === "X") started = true;
    out.push(op);
  }
  if (buffered) out.push({ op: "E" });
  const implemented = ["GET", "POST", "PUT", "HEAD"].includes(method);
  if (left.length > 0 && implemented) out.push({ op: "R", n: left.length });
  return out;
}

const PHRASED = [
  100,
  101,
  102,
  103,
  200,
  201,
  202,
  203,
  204,
  205,
  206,
  207,
  208,
  226,
  300,
  301,
  302,
  303,
  304,
  305,
  307,
  308,
  400,
  401,
  402,
  403,
  404,
  405,
  406,
  407,
  408,
  409,
  410,
  411,
  412,
  413,
  414,
  415,
  416,
  417,
  418,
  421,
  422,
  423,
  424,
  425,
  426,
  428,
  429,
  431,
  451,
  500,
  501,
  502,
  503,
  504,
  505,
  506,
  507,
  508,
  510,
  511,
];
const UNPHRASED = [199, 209, 299, 306, 399, 419, 420, 499, 509, 599, 600, 999];

const codeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PHRASED) },
  { weight: 1, arbitrary: fc.constantFrom(...UNPHRASED) },
);
// Reason phrases, header values and error texts: what both accept (no
// controls but HTAB, Latin-1 only, HTML specials and quotes included).
const textArb = fc.string({
  unit: fc.constantFrom(
    ..."aZ09 -_.,;:/?#%&<>\"'()=+~\té\xa0\xff".split(""),
  ),
  maxLength: 12,
});
const nameArb = fc.constantFrom(
  "X-A",
  "X-Dup",
  "x-lower",
  "Content-Type",
  "Content-Length",
  "Set-Cookie",
  "Connection",
  "Keep-Alive",
  "X-!#$%&'*+.^_`|~",
);
const connectionValueArb = fc.constantFrom(
  "close",
  "keep-alive",
  "Close",
  "KEEP-ALIVE",
  "upgrade",
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constantFrom("S" as const, "O" as const),
      code: codeArb,
      reason: fc.option(textArb, { nil: undefined }),
    }, { requiredKeys: ["op", "code"] }),
  },
  {
    weight: 5,
    arbitrary: nameArb.chain((name) =>
      (name === "Connection" ? connectionValueArb : textArb).map((value) =>
        ({ op: "H", name, value }) as Op
      )
    ),
  },
  { weight: 5, arbitrary: fc.constant<Op>({ op: "E" }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Op>({ op: "F" }, { op: "I" }, { op: "P" }),
  },
  {
    weight: 3,
    arbitrary: fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: 0, max: 40 }) },
      { weight: 1, arbitrary: fc.constant(70_000) },
    ).map((n) => ({ op: "W", n }) as Op),
  },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.constantFrom(...Array.from("ab \u00e9\u2713\u{1F600}<&")),
      maxLength: 6,
    }).map((text) => ({ op: "T", text }) as Op),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("X" as const),
      code: codeArb,
      message: fc.option(fc.option(textArb, { nil: null }), {
        nil: undefined,
      }),
      explain: fc.option(textArb, { nil: undefined }),
    }, { requiredKeys: ["op", "code"] }).map((x) =>
      // send_error(code, explain=...) needs a message before it here.
      x.explain !== undefined && x.message === undefined
        ? { ...x, message: null }
        : x
    ),
  },
  {
    weight: 3,
    arbitrary: fc.integer({ min: 0, max: 8 }).map((n) =>
      ({ op: "R", n }) as Op
    ),
  },
  {
    weight: 2,
    arbitrary: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }).map((
      limit,
    ) => ({ op: "L", limit }) as Op),
  },
  {
    weight: 1,
    arbitrary: fc.boolean().map((close) => ({ op: "C", close }) as Op),
  },
);

const opsRequestArb: fc.Arbitrary<OpsRequest> = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom<Method>("GET", "POST", "PUT") },
    { weight: 2, arbitrary: fc.constant<Method>("HEAD") },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Method>("DELETE", "OPTIONS", "get"),
    },
  ),
  version: fc.constantFrom<Protocol>("HTTP/1.0", "HTTP/1.1"),
  connection: fc.option(
    fc.constantFrom<ConnectionValue>(
      "close",
      "keep-alive",
      "Keep-Alive",
      "CLOSE",
    ),
    { nil: null },
  ),
  expect: fc.boolean(),
  extra: fc.array(
    fc.tuple(
      fc.constantFrom("X-Dup", "X-A", "User-Agent", "x-dup"),
      fc.stringMatching(/^[!-~\xe9]([ !-~\xe9]{0,6}[!-~\xe9])?$/),
    ),
    { maxLength: 3 },
  ),
  body: fc.option(
    fc.string({
      unit: fc.constantFrom(..."ab\nc\r \xe9".split("")),
      maxLength: 14,
    }),
    { nil: null },
  ),
  ops: fc.array(opArb, { maxLength: 9 }),
  query: fc.constantFrom("", "", "?", "?q=1&r=%2F", "?a/b"),
}).map((r) => ({
  ...r,
  ops: fixOps(r.ops, r.body, r.method),
}));

/** Where to split a connection's bytes (most are sent at once). */
const cutsArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant<number[]>([]) },
  { weight: 1, arbitrary: fc.array(fc.nat(400), { maxLength: 6 }) },
);

const opsConnectionArb = fc.array(opsRequestArb, {
  minLength: 1,
  maxLength: 3,
}).map((
  requests,
) =>
  // A large reply only to the last request: CPython closes a connection
  // with unread (pipelined) input by a reset, which can destroy the part
  // of a large reply still in its send buffer (h1 closes in stages).
  requests.map((r, i) =>
    i === requests.length - 1 ? r : {
      ...r,
      ops: r.ops.map((op) =>
        op.op === "W" && op.n > 1000 ? { op: "W", n: 41 } as Op : op
      ),
    }
  )
);

// ---------------------------------------------------------------------------
// Property runners.

const REPORT = Deno.env.get("PY_DIFF_REPORT") !== undefined;

/**
 * Sends each connection's bytes to both servers (connections in parallel)
 * and asserts equal replies; with PY_DIFF_REPORT set, prints mismatches
 * instead (for exploring).
 */
async function compareAll(
  ports: Pair,
  connections: Array<{ bytes: string; cuts: number[] }>,
  normalize: (text: string) => string = maskServerAndDate,
): Promise<void> {
  const replies = await Promise.all(
    connections.map(({ bytes, cuts }) =>
      both(ports, bytes, normalize, { cuts })
    ),
  );
  for (const [i, { py, h1 }] of replies.entries()) {
    if (py === h1) continue;
    const { bytes, cuts } = connections[i]!;
    const message = `request bytes ${show(bytes)} cut at ${
      JSON.stringify(cuts)
    }\n  CPython: ${show(py)}\n  h1:      ${show(h1)}`;
    if (REPORT) console.log("MISMATCH", message);
    else assert.fail(message);
  }
}

async function opsProperty(protocol: Protocol, serial = false): Promise<void> {
  await withBoth("ops", protocol, async (ports) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(opsConnectionArb, cutsArb), {
          minLength: 1,
          maxLength: 8,
        }),
        async (connections) => {
          await compareAll(
            ports,
            connections.map(([requests, cuts]) => ({
              bytes: requests.map(requestText).join(""),
              cuts,
            })),
          );
        },
      ),
      { numRuns: RUNS, endOnFailure: true, ...seedOption },
    );
  }, { serial });
}

Deno.test({
  name:
    "random ops scripts: HTTP/1.0 handler answers CPython's bytes (pipelined, 1.0 and 1.1 clients)",
  ignore: !HAVE_PYTHON,
  fn: () => opsProperty("HTTP/1.0"),
});

Deno.test({
  name:
    "random ops scripts: HTTP/1.1 handler answers CPython's bytes (keep-alive, pipelined, Expect)",
  ignore: !HAVE_PYTHON,
  fn: () => opsProperty("HTTP/1.1"),
});

// ---------------------------------------------------------------------------
// SimpleHTTPRequestHandler over one tree.

const MTIME = new Date("2021-03-04T05:06:07Z");
const MTIME_HTTP = "Thu, 04 Mar 2021 05:06:07 GMT";

/** Files (path segments → content); directories are implied. */
const TREE: Array<[string[], string]> = [
  [["a.txt"], "hello\n"],
  [["sp ace.txt"], "space"],
  [["\u00fc.txt"], "u-umlaut"],
  [["100%.txt"], "percent"],
  [["a#b.txt"], "hash"],
  [["q?x.txt"], "question"],
  [["a&b=c;d+e.txt"], "amp"],
  [["quo\"te'.txt"], "quotes"],
  [["<b>&amp;.html"], "<b>html</b>"],
  [["paren(!*~@$,).txt"], "specials"],
  [["noext"], "no extension"],
  [["img.png"], "\x89PNG"],
  [["style.css"], "a{}"],
  [["sub", "index.html"], "<p>index</p>"],
  [["sub", "inner.txt"], "inner"],
  [["dir sp", "x y.txt"], "xy"],
  [["dir sp", "Z.txt"], "Z"],
  [["dir sp", "b.txt"], "b"],
  [["d\u00fc", "\u00e9.txt"], "e-acute"],
  [["h#d", "f.txt"], "f"],
  [["deep", "nest", "leaf.txt"], "leaf"],
  [["idx", "index.htm"], "<p>htm</p>"],
];
const EMPTY_DIRS = [["empty"], ["deep", "hollow"]];

async function makeTree(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "h1_py_diff_" });
  for (const [segments, content] of TREE) {
    await Deno.mkdir(join(root, ...segments.slice(0, -1)), {
      recursive: true,
    });
    await Deno.writeFile(join(root, ...segments), latin1(content));
  }
  for (const segments of EMPTY_DIRS) {
    await Deno.mkdir(join(root, ...segments), { recursive: true });
  }
  // Same Last-Modified for every file, on both servers.
  for (const [segments] of TREE) {
    await Deno.utime(join(root, ...segments), MTIME, MTIME);
  }
  return root;
}

async function withTree<T>(body: (root: string) => Promise<T>): Promise<T> {
  const root = await makeTree();
  try {
    return await body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Every name a request may point at: files, directories, missing names. */
const NODES: string[][] = [
  [],
  ...TREE.map(([segments]) => segments),
  ...new Set(
    TREE.filter(([s]) => s.length > 1).map(([s]) =>
      JSON.stringify(s.slice(0, -1))
    ),
  ).values().map((s) => JSON.parse(s) as string[]),
  ...EMPTY_DIRS,
  ["missing.txt"],
  ["sub", "missing"],
  ["a.txt", "below"],
];

// Characters that must be percent-encoded in a request target here; the
// rest of visible ASCII may go raw.
const MUST_ENCODE = /[^!-~]|[%?#]/;

function hex(byte: number, lower: boolean): string {
  const h = byte.toString(16).padStart(2, "0");
  return "%" + (lower ? h : h.toUpperCase());
}

/** Encodes one path segment; `mask` picks which safe characters to encode too. */
function encodeSegment(name: string, mask: number, lower: boolean): string {
  let out = "";
  let i = 0;
  for (const ch of name) {
    const bytes = new TextEncoder().encode(ch);
    const force = (mask >> (i++ % 30)) & 1;
    if (MUST_ENCODE.test(ch) || force) {
      for (const b of bytes) out += hex(b, lower);
    } else out += ch;
  }
  return out;
}

interface FileRequest {
  method: "GET" | "HEAD" | "POST";
  version: Protocol;
  node: string[];
  mask: number;
  lower: boolean;
  /** Where to put "." / "x/.." / empty segments (by index), and which. */
  noise: Array<[number, "." | ".." | ""]>;
  leadingSlashes: number;
  trailingSlash: boolean;
  query: string;
  ims: string | null;
}

function fileTarget(r: FileRequest): string {
  const segments: string[] = r.node.map((s) =>
    encodeSegment(s, r.mask, r.lower)
  );
  for (const [at, kind] of r.noise) {
    const i = at % (segments.length + 1);
    if (kind === "..") segments.splice(i, 0, "zz", "..");
    else segments.splice(i, 0, kind);
  }
  return "/".repeat(r.leadingSlashes) + segments.join("/") +
    (r.trailingSlash && segments.length > 0 ? "/" : "") + r.query;
}

function fileRequestText(r: FileRequest): string {
  let text = `${r.method} ${fileTarget(r)} ${r.version}\r\n`;
  if (r.version === "HTTP/1.1") text += "Host: a\r\n";
  if (r.ims !== null) text += `If-Modified-Since: ${r.ims}\r\n`;
  if (r.method === "POST") text += "Content-Length: 0\r\n";
  return text + "\r\n";
}

const fileRequestArb: fc.Arbitrary<FileRequest> = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constant("GET" as const) },
    { weight: 3, arbitrary: fc.constant("HEAD" as const) },
    { weight: 1, arbitrary: fc.constant("POST" as const) },
  ),
  version: fc.constantFrom<Protocol>("HTTP/1.0", "HTTP/1.1"),
  node: fc.constantFrom(...NODES),
  mask: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 30 - 1 })),
  lower: fc.boolean(),
  noise: fc.array(
    fc.tuple(fc.nat(5), fc.constantFrom<"." | ".." | "">(".", "..", "")),
    { maxLength: 2 },
  ),
  leadingSlashes: fc.oneof(
    { weight: 5, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }) },
  ),
  trailingSlash: fc.boolean(),
  query: fc.constantFrom(
    "",
    "",
    "?",
    "?q=1",
    "?x=%3Cb%3E&y=%22%27",
    "?%FF%C3",
    "?a/b/../c",
    "?%E2%9C%93",
  ),
  ims: fc.option(
    fc.constantFrom(
      MTIME_HTTP,
      "Thu, 04 Mar 2021 05:06:06 GMT",
      "Fri, 05 Mar 2021 00:00:00 GMT",
      "Thursday, 04-Mar-21 05:06:07 GMT",
      "Thu Mar  4 05:06:07 2021",
      "garbage",
    ),
    { nil: null },
  ),
});

async function filesProperty(protocol: Protocol): Promise<void> {
  await withTree(async (root) => {
    await withBoth("simple", protocol, async (ports) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.tuple(
              fc.array(fileRequestArb, { minLength: 1, maxLength: 3 }),
              cutsArb,
            ),
            { minLength: 1, maxLength: 8 },
          ),
          async (connections) => {
            await compareAll(
              ports,
              connections.map(([rs, cuts]) => ({
                bytes: rs.map(fileRequestText).join(""),
                cuts,
              })),
              normalizeFiles,
            );
          },
        ),
        { numRuns: RUNS, endOnFailure: true, ...seedOption },
      );
    }, { directory: root });
  });
}

Deno.test({
  name:
    "random file requests: SimpleHTTPRequestHandler (HTTP/1.0) answers CPython's bytes",
  ignore: !HAVE_PYTHON,
  fn: () => filesProperty("HTTP/1.0"),
});

Deno.test({
  name:
    "random file requests: SimpleHTTPRequestHandler (HTTP/1.1, pipelined) answers CPython's bytes",
  ignore: !HAVE_PYTHON,
  fn: () => filesProperty("HTTP/1.1"),
});

// ---------------------------------------------------------------------------
// Fixed tables: each row one connection, compared byte for byte.

/** Compares each connection's replies, `parallel` connections at a time. */
async function compareTable(
  ports: Pair,
  connections: string[],
  {
    normalize = maskServerAndDate,
    parallel = 32,
    halfClose = false,
  }: {
    normalize?: (text: string) => string;
    parallel?: number;
    halfClose?: boolean;
  } = {},
): Promise<Array<{ py: string; h1: string }>> {
  const out: Array<{ py: string; h1: string }> = [];
  for (let i = 0; i < connections.length; i += parallel) {
    const batch = connections.slice(i, i + parallel);
    const replies = await Promise.all(
      batch.map((bytes) => both(ports, bytes, normalize, { halfClose })),
    );
    for (const [j, reply] of replies.entries()) {
      assert.equal(reply.h1, reply.py, show(batch[j]!));
    }
    out.push(...replies);
  }
  return out;
}

const GET11 = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;

Deno.test({
  name:
    "send_error for every code CPython knows and codes without a phrase: GET, HEAD, message and explain",
  ignore: !HAVE_PYTHON,
  async fn() {
    const rows: string[] = [];
    for (const code of [...PHRASED, ...UNPHRASED]) {
      rows.push(`GET /X${code} HTTP/1.0\r\n\r\n`);
      rows.push(`HEAD /X${code} HTTP/1.1\r\nHost: a\r\n\r\n`);
      rows.push(
        `GET /X${code},${enc("<b>é & 'q'")},${
          enc('"why" > ~')
        } HTTP/1.0\r\n\r\n`,
      );
      rows.push(`GET /X${code},~,${enc("only explain")} HTTP/1.0\r\n\r\n`);
      rows.push(`GET /X${code},, HTTP/1.0\r\n\r\n`);
    }
    await withBoth("ops", "HTTP/1.1", async (ports) => {
      const replies = await compareTable(ports, rows);
      // Spot checks that the table says what it should.
      assert.match(replies[0]!.py, /^HTTP\/1\.1 100 Continue\r\n/);
      const teapot = replies[5 * PHRASED.indexOf(418)]!.py;
      assert.match(teapot, /^HTTP\/1\.1 418 I'm a Teapot\r\n/);
      const unknown = replies[5 * PHRASED.length + 5 * UNPHRASED.indexOf(599)]!;
      assert.match(unknown.py, /^HTTP\/1\.1 599 \?\?\?\r\n/);
      assert.match(
        unknown.py,
        /<p>Error code explanation: 599 - \?\?\?\.<\/p>/,
      );
    });
  },
});

Deno.test({
  name:
    "send_response and send_response_only status lines for every code, pipelined on one keep-alive connection",
  ignore: !HAVE_PYTHON,
  async fn() {
    let connection = "";
    for (const code of [...PHRASED, ...UNPHRASED]) {
      connection += GET11(`/S${code}/HContent-Length,0/E`);
      connection += GET11(`/O${code},${enc("Custom é reason")}/E`);
      connection += GET11(`/S${code},/E`);
    }
    connection += GET11("/S200/HContent-Length,0/E", "Connection: close\r\n");
    await withBoth("ops", "HTTP/1.1", async (ports) => {
      const [reply] = await compareTable(ports, [connection]);
      assert.equal(
        reply!.py.split("\r\n\r\n").length - 1,
        3 * (PHRASED.length + UNPHRASED.length) + 1,
      );
      assert.ok(reply!.py.includes("HTTP/1.1 599 \r\nServer: <masked>"));
      assert.ok(reply!.py.endsWith("<closed>"));
    });
  },
});

Deno.test({
  name:
    "send_header odd cases: repeated, before send_response, after end_headers, flush_headers, Latin-1 and empty values",
  ignore: !HAVE_PYTHON,
  async fn() {
    const rows = [
      "/HX-A,1/HX-A,2/Hx-a,3/S200/HX-A,4/E/W2",
      "/HX-Early,1/F/S200/E/HX-Late,1/E",
      "/S200/HSet-Cookie,a%3D1/HSet-Cookie,b%3D2/HContent-Type,text%2Fhtml/E/T%3Cp%3E",
      `/S200/HX-Latin,${enc("caf\xe9 \xff\xa0")}/HX-Empty,/HX-Tab,${
        enc("a\tb")
      }/E`,
      "/S200/HConnection,CLOSE/E/W3",
      "/S200/HConnection,Keep-Alive/HContent-Length,3/E/W3",
      "/S200/HConnection,upgrade/HContent-Length,0/E",
      "/O200/HContent-Length,1/E/W1/O201/E",
      "/S200/E/E/E",
      "/F/F/S204/F/E",
      "/S200/HContent-Length,10/E/W3/P/W3/P/W4",
    ];
    await withBoth("ops", "HTTP/1.1", async (ports) => {
      await compareTable(
        ports,
        rows.flatMap((path) => [
          GET11(path) + GET11("/I", "Connection: close\r\n"),
          `GET ${path} HTTP/1.0\r\n\r\n`,
          `HEAD ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n` +
          "GET /I HTTP/1.0\r\n\r\n",
        ]),
      );
    });
  },
});

Deno.test({
  name:
    "rfile read(n), readline(), readline(limit) in pieces across pipelined keep-alive requests",
  ignore: !HAVE_PYTHON,
  async fn() {
    const post = (ops: string, body: string, extra = "") =>
      `POST /${ops}/S200/HContent-Length,0/E HTTP/1.1\r\nHost: a\r\n${extra}` +
      `Content-Length: ${body.length}\r\n\r\n${body}`;
    const rows = [
      post("R1/R2/R3", "abcdef") + post("L/L", "x\ny\n") + GET11("/I"),
      post("L3/L3/L3/L", "abcd\nefgh\n") + post("R0/L0/R4", "wxyz"),
      post("L/R5/L1", "\n\r\n\r\n\r\r") + post("R1", "\xe9"),
      post("R4", "abcd", "Expect: 100-continue\r\n") +
      post("L/R1", "\nz", "Expect: 100-Continue\r\n"),
      post("R2/X413", "ab") + GET11("/I"),
      `PUT /L/L/R2/S201/HContent-Length,0/E HTTP/1.0\r\n` +
      `Connection: keep-alive\r\nContent-Length: 6\r\n\r\n1\n2\n34` +
      `GET /I HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`,
    ];
    for (const protocol of ["HTTP/1.0", "HTTP/1.1"] as const) {
      await withBoth("ops", protocol, async (ports) => {
        await compareTable(ports, rows);
      });
    }
  },
});

Deno.test({
  name:
    "rfile reads in pieces of a 200 KB body that arrives in pieces, then a pipelined request",
  ignore: !HAVE_PYTHON,
  async fn() {
    const line = "0123456789".repeat(99) + "\n";
    const body = line.repeat(200);
    const rest = body.length - 70_000 - (line.length - 70_000 % line.length) -
      100;
    const request =
      `POST /R70000/L/L100/R${rest}/S200/HContent-Length,0/E HTTP/1.1\r\n` +
      `Host: a\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      GET11("/I", "Connection: close\r\n");
    await withBoth("ops", "HTTP/1.1", async (ports) => {
      for (const cuts of [[], [100, 1000, 65_536, 70_100, 131_072]]) {
        const { py, h1 } = await both(ports, request, maskServerAndDate, {
          cuts,
        });
        assert.equal(h1, py);
        assert.ok(py.endsWith("Connection=close|<closed>"));
      }
    });
  },
});

Deno.test({
  name:
    "rfile.read() to the end of the body when the client half-closes after its request",
  ignore: !HAVE_PYTHON,
  async fn() {
    const rows = [
      "POST /A/S200/E HTTP/1.0\r\nContent-Length: 5\r\n\r\nab\ncd",
      "POST /R1/L/A/A/S200/E HTTP/1.0\r\nContent-Length: 6\r\n\r\nab\ncd\n",
      "PUT /A/S204/E HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
    ];
    await withBoth("ops", "HTTP/1.0", async (ports) => {
      const [first] = await compareTable(ports, rows, { halfClose: true });
      assert.match(first!.py, /^\{ab\ncd\}HTTP\/1\.0 200 OK\r\n/);
    });
  },
});

Deno.test({
  name:
    "keep-alive decisions: every Connection value × request version × protocol_version, with close_connection set by the handler",
  ignore: !HAVE_PYTHON,
  async fn() {
    const rows: string[] = [];
    for (const version of ["HTTP/1.0", "HTTP/1.1"]) {
      const host = version === "HTTP/1.1" ? "Host: a\r\n" : "";
      for (
        const conn of [null, "close", "keep-alive", "Keep-Alive", "CLOSE"]
      ) {
        const header = conn === null ? "" : `Connection: ${conn}\r\n`;
        const next = `GET /I ${version}\r\n${host}${header}\r\n`;
        for (const ops of ["", "/C1", "/HConnection,close", "/X404"]) {
          rows.push(
            `GET /S200/HContent-Length,1/E/W1${ops} ${version}\r\n${host}${header}\r\n` +
              next,
          );
        }
        // A handler that asks to keep the connection, whether or not the
        // request lets it persist.
        {
          rows.push(
            `GET /S200/HConnection,keep-alive/HContent-Length,1/E/W1 ${version}\r\n${host}${header}\r\n` +
              next,
          );
          rows.push(`GET /C0/S200/E ${version}\r\n${host}${header}\r\n` + next);
        }
      }
    }
    for (const protocol of ["HTTP/1.0", "HTTP/1.1"] as const) {
      await withBoth("ops", protocol, async (ports) => {
        const replies = await compareTable(ports, rows);
        // Rows where both servers kept the connection after two replies.
        const open = replies.filter((r) => r.py.endsWith("<open>")).length;
        if (protocol === "HTTP/1.0") assert.equal(open, 0);
        else assert.ok(open > 4, `${open}`);
      });
    }
  },
});

Deno.test({
  name:
    "protocol_version changed inside do_GET picks the status line version, as in CPython",
  ignore: !HAVE_PYTHON,
  async fn() {
    const rows = [
      "GET /V1/S200/HContent-Length,0/E HTTP/1.0\r\n\r\n",
      "GET /V0/S200/HContent-Length,0/E HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      "GET /S200/V1/O100/E/V0/E HTTP/1.0\r\n\r\n",
      "GET /V1/X404 HTTP/1.0\r\n\r\n",
    ];
    for (const protocol of ["HTTP/1.0", "HTTP/1.1"] as const) {
      await withBoth("ops", protocol, async (ports) => {
        await compareTable(ports, rows);
      });
    }
  },
});

Deno.test({
  name:
    "HTTPServer (serial) answers pipelined keep-alive requests, then the next connection, like CPython's",
  ignore: !HAVE_PYTHON,
  async fn() {
    const first = GET11("/S200/HContent-Length,2/E/W2") +
      `POST /R3/S201/HContent-Length,0/E HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz` +
      GET11("/I", "Connection: close\r\n");
    const second = "GET /I HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    await withBoth("ops", "HTTP/1.1", async (ports) => {
      // One at a time: a serial server has no other order.
      for (const connection of [first, second, first]) {
        await compareTable(ports, [connection], { parallel: 1 });
      }
    }, { serial: true });
  },
});

Deno.test({
  name:
    "SimpleHTTPRequestHandler: every odd file name, encoded every way, GET and HEAD, equal CPython's bytes",
  ignore: !HAVE_PYTHON,
  async fn() {
    const rows: string[] = [];
    for (const [segments] of TREE) {
      for (
        const [mask, lower] of [[0, false], [2 ** 30 - 1, false], [
          0b1010101,
          true,
        ]] as const
      ) {
        const path = "/" +
          segments.map((s) => encodeSegment(s, mask, lower)).join("/");
        rows.push(`GET ${path} HTTP/1.0\r\n\r\n`);
        rows.push(`HEAD ${path}?q=%23 HTTP/1.0\r\n\r\n`);
      }
      rows.push(
        `GET /${segments.map(encodeURIComponent).join("/")}/ HTTP/1.0\r\n\r\n`,
      );
    }
    await withTree(async (root) => {
      await withBoth("simple", "HTTP/1.0", async (ports) => {
        const replies = await compareTable(ports, rows, {
          normalize: normalizeFiles,
        });
        // Every file was found (the trailing-slash rows are 404).
        const ok = replies.filter((r) => r.py.startsWith("HTTP/1.0 200 "));
        assert.equal(ok.length, TREE.length * 6);
      }, { directory: root });
    });
  },
});

Deno.test({
  name:
    "SimpleHTTPRequestHandler: listings and redirects with queries, double slashes, dot segments, index pages",
  ignore: !HAVE_PYTHON,
  async fn() {
    const dirs = [
      "",
      "sub",
      "dir%20sp",
      "d%C3%BC",
      "d%c3%bc",
      "h%23d",
      "deep",
      "deep/hollow",
      "empty",
      "idx",
    ];
    const rows: string[] = [];
    for (const dir of dirs) {
      for (
        const suffix of ["", "?", "?q=%3Cx%3E&a=%22", "?%FF", "?a/b"]
      ) {
        const base = dir === "" ? "" : `/${dir}`;
        if (base !== "") rows.push(`GET ${base}${suffix} HTTP/1.0\r\n\r\n`);
        rows.push(`GET ${base}/${suffix} HTTP/1.0\r\n\r\n`);
      }
      rows.push(`GET /${dir}/./ HTTP/1.0\r\n\r\n`);
      rows.push(`GET //${dir}//x/../ HTTP/1.0\r\n\r\n`);
      rows.push(`HEAD /${dir}/ HTTP/1.0\r\n\r\n`);
      rows.push(`GET /${dir}/%2e%2e/${dir} HTTP/1.0\r\n\r\n`);
    }
    await withTree(async (root) => {
      await withBoth("simple", "HTTP/1.0", async (ports) => {
        const replies = await compareTable(ports, rows, {
          normalize: normalizeFiles,
        });
        assert.ok(
          replies.some((r) =>
            r.py.includes(
              '<title>Directory listing for /dir sp/?q=&lt;x&gt;&amp;a="</title>',
            )
          ),
        );
        assert.ok(
          replies.some((r) => r.py.includes("Location: /h%23d/?a/b\r\n")),
        );
      }, { directory: root });
    });
  },
});

Deno.test({
  name:
    "SimpleHTTPRequestHandler: If-Modified-Since forms on files, index pages and listings, keep-alive with HTTP/1.1",
  ignore: !HAVE_PYTHON,
  async fn() {
    const forms = [
      MTIME_HTTP,
      "Thu, 04 Mar 2021 05:06:06 GMT",
      "Thu, 04 Mar 2021 05:06:08 GMT",
      "Thursday, 04-Mar-21 05:06:07 GMT",
      "Thu Mar  4 05:06:07 2021",
      "Thu, 04 Mar 2021 14:06:07 +0900",
      "Thu, 04 Mar 2021 05:06:07",
      "",
      "garbage",
    ];
    let connection = "";
    for (const ims of forms) {
      for (const path of ["/a.txt", "/sub/", "/dir%20sp/", "/idx/"]) {
        connection += GET11(path, `If-Modified-Since: ${ims}\r\n`);
        connection +=
          `HEAD ${path} HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: ${ims}\r\n\r\n`;
      }
    }
    connection += GET11("/a.txt", "Connection: close\r\n");
    await withTree(async (root) => {
      await withBoth("simple", "HTTP/1.1", async (ports) => {
        const [reply] = await compareTable(ports, [connection], {
          normalize: normalizeFiles,
        });
        assert.ok(reply!.py.includes("HTTP/1.1 304 Not Modified\r\n"));
        assert.ok(reply!.py.endsWith("<closed>"));
      }, { directory: root });
    });
  },
});

Deno.test({
  name:
    "malformed requests CPython answers with a full status line: both send the same status and close",
  ignore: !HAVE_PYTHON,
  async fn() {
    const many = Array.from({ length: 101 }, (_, i) => `X-H${i}: v\r\n`);
    const rows: Array<[string, string]> = [
      ["414", `GET /${"a".repeat(70_000)} HTTP/1.0\r\n\r\n`],
      ["431", `GET /I HTTP/1.0\r\nX-Big: ${"b".repeat(70_000)}\r\n\r\n`],
      ["431", `GET /I HTTP/1.1\r\nHost: a\r\n${many.join("")}\r\n`],
      ["400", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"],
    ];
    await withBoth("ops", "HTTP/1.0", async (ports) => {
      for (const [status, row] of rows) {
        const { py, h1 } = await both(ports, row);
        const code = (text: string) => text.match(/^HTTP\/1\.[01] (\d+) /)?.[1];
        assert.equal(code(py), status);
        assert.equal(code(h1), status);
        assert.ok(h1.endsWith("<closed>") && py.endsWith("<closed>"));
      }
    });
  },
});

// ---------------------------------------------------------------------------
// Differences found, minimized to one request each. They run without
// python3: CPython's bytes are quoted in each comment.

/** An h1 server with `Handler`, for the tests below. */
async function withH1<T>(
  Handler: RequestHandlerClass,
  body: (port: number) => Promise<T>,
): Promise<T> {
  await using server = new ThreadingHTTPServer(["127.0.0.1", 0], Handler, {
    logWriter: () => {},
  });
  const serving = server.serve_forever(0.05);
  try {
    return await body(server.server_port);
  } finally {
    await server.shutdown();
    await serving;
  }
}

// Fixed bug: a handler's `Connection: keep-alive` for a request that did not
// ask to persist (HTTP/1.0, or Connection: close) got a contradicting
// `Connection: close` appended by end_headers() and the connection closed;
// CPython sends the head as written and keeps the connection. The Python face
// now owns keep-alive (close_connection), and a handler's own Connection field
// stands.
Deno.test({
  name:
    "a handler's Connection: keep-alive is not contradicted by an appended Connection: close",
  async fn() {
    class Handler extends BaseHTTPRequestHandler {
      override protocol_version = "HTTP/1.1";
      do_GET(): void {
        this.send_response(200);
        this.send_header("Connection", "keep-alive");
        this.send_header("Content-Length", 2);
        this.end_headers();
        this.wfile.write("ok");
      }
    }
    await withH1(Handler, async (port) => {
      for (
        const request of [
          "GET /ka HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
          "GET /ka HTTP/1.0\r\n\r\n",
        ]
      ) {
        const reply = await exchangeUntilQuiet(port, request);
        const head = reply.split("\r\n\r\n")[0]!;
        assert.deepEqual(head.match(/^Connection: .*$/gim), [
          "Connection: keep-alive",
        ], request);
        // CPython keeps the connection open, as the handler said.
        assert.ok(reply.endsWith("ok<open>"), show(reply));
      }
    });
  },
});

// Fixed bug: `self.close_connection = False` keeps even an HTTP/1.0 connection
// in CPython and the next request is answered; h1 closed after the first
// response, since the engine also required the client's keep-alive.
Deno.test({
  name:
    "close_connection = False set by the handler keeps an HTTP/1.0 connection for the next request",
  async fn() {
    class Handler extends BaseHTTPRequestHandler {
      override protocol_version = "HTTP/1.1";
      do_GET(): void {
        this.send_response(200);
        this.send_header("Content-Length", 2);
        this.end_headers();
        this.wfile.write("ok");
        if (this.path === "/a") this.close_connection = false;
      }
    }
    await withH1(Handler, async (port) => {
      const reply = await exchangeUntilQuiet(
        port,
        "GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
      );
      assert.equal(reply.split("HTTP/1.1 200 OK").length - 1, 2, show(reply));
      assert.ok(reply.endsWith("ok<closed>"));
    });
  },
});

// Known difference (README): CPython keeps an HTTP/1.2 request's version in
// request_version and requestline ("GET /v HTTP/1.2"); h1's handler sees
// HTTP/1.1, the version the engine answers it as (RFC 9110 §6.2).
Deno.test({
  name:
    "known difference: request_version and requestline keep an HTTP/1.2 request's version as sent",
  ignore: true,
  async fn() {
    class Handler extends BaseHTTPRequestHandler {
      override protocol_version = "HTTP/1.1";
      do_GET(): void {
        const body = `${this.request_version}|${this.requestline}`;
        this.send_response(200);
        this.send_header("Content-Length", body.length);
        this.end_headers();
        this.wfile.write(body);
      }
    }
    await withH1(Handler, async (port) => {
      const reply = await exchangeUntilQuiet(
        port,
        "GET /v HTTP/1.2\r\nHost: a\r\nConnection: close\r\n\r\n",
      );
      assert.ok(
        reply.endsWith("\r\n\r\nHTTP/1.2|GET /v HTTP/1.2<closed>"),
        show(reply),
      );
    });
  },
});

// Known difference (README): a malformed request that CPython answers through
// send_error (the handler's HTML page, its protocol_version, a Server field)
// gets the engine's own plain-text page from h1, with an HTTP/1.1 status line;
// the statuses agree (test above). For `GET /a b HTTP/1.1` CPython sends
// "HTTP/1.0 400 Bad request syntax ('GET /a b HTTP/1.1')" with its HTML page,
// h1 "HTTP/1.1 400 Bad Request" with text/plain.
Deno.test({
  name:
    "known difference: malformed requests get the handler's send_error page, as from CPython",
  ignore: true,
  async fn() {
    class Handler extends BaseHTTPRequestHandler {
      override error_message_format = "E%(code)d:%(message)s";
      override error_content_type = "text/x-error";
      do_GET(): void {
        this.send_error(500);
      }
    }
    await withH1(Handler, async (port) => {
      const reply = await exchangeUntilQuiet(
        port,
        "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      assert.match(reply, /^HTTP\/1\.0 400 /);
      assert.match(reply, /\r\nServer: BaseHTTP\/0\.6 Deno\//);
      assert.match(reply, /\r\nContent-Type: text\/x-error\r\n/);
      assert.match(reply, /\r\n\r\nE400:[^\r\n]*<closed>$/);
    });
  },
});

/**
 * Differential review of h1's no-network paths against the socket path.
 *
 * The README promises that `exchangeRaw(handler, bytes)` over a
 * `MemoryConn` behaves as a socket ("pipelining, framing and the engine's
 * 400 and 413 behave as over a socket"), that `router.request(path)` runs a
 * router with no sockets like Hono's `app.request`, and that
 * `pythonHandler(HandlerClass)` runs a `BaseHTTPRequestHandler` over an
 * in-memory connection so that `do_GET`, `rfile` and `send_response`
 * behave exactly as over a socket. Each promise is checked here by running
 * the same input both ways and comparing what comes out:
 *
 * - exchangeRaw vs `serve()` on 127.0.0.1:0 with a raw client that sends the
 *   same bytes and half-closes (as exchangeRaw does): whole response bytes
 *   (Date masked), how the connection ended, the handler's calls and the
 *   access log, for random pipelined requests, bodies, limits and handler
 *   behaviours (fast-check);
 * - pythonHandler inside `serve()` vs `HTTPServer` serving the same class on
 *   a socket: status, reason, end-to-end headers and body;
 * - `router.request()` vs `serve(router.fetch)`;
 * - `MemoryConn` vs a real `Deno.Conn` pair, call by call.
 *
 * Probes that found a bug (since fixed) carry a `// Fixed bug:` note.
 * MEMDIFF_RUNS scales the random runs (default 1).
 */

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  BaseHTTPRequestHandler,
  exchangeRaw,
  HTTPServer,
  type MemoryConn,
  memoryConnPair,
  pythonHandler,
  type RequestHandlerClass,
  Router,
  type ServeHandler,
  type ServeOptions,
  type ServerLimits,
} from "../../mod.ts";
import { withServer } from "./_python_face.ts";
import {
  delay,
  fromLatin1,
  latin1,
  RawClient,
  type RawResponse,
  startServer,
} from "./_raw.ts";

const SCALE = Number(Deno.env.get("MEMDIFF_RUNS") ?? "1");
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));
const SEED = Deno.env.get("MEMDIFF_SEED");
const seedOption = SEED === undefined ? {} : { seed: Number(SEED) };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Masks the Date value (the only field that differs run to run). */
function maskDate(text: string): string {
  return text.replace(/\r\ndate: [^\r]*/gi, "\r\nDate: <masked>");
}

// ---------------------------------------------------------------------------
// A handler whose behaviour the request chooses (X-Act), logging its calls.

interface Trace {
  /** One line per handler call: id, method, path. */
  calls: string[];
  /** One line per access-log entry (engine replies included). */
  access: string[];
}

function newTrace(): Trace {
  return { calls: [], access: [] };
}

function actHandler(trace: Trace): ServeHandler {
  return async (req) => {
    const id = req.headers.get("x-id") ?? "?";
    trace.calls.push(`${id} ${req.method} ${new URL(req.url).pathname}`);
    const [kind = "", arg = ""] = (req.headers.get("x-act") ?? "").split(":");
    switch (kind) {
      case "all":
        return new Response(`${id}:${await req.text()}`, {
          headers: { "x-read": "all" },
        });
      case "part": {
        // One read, whatever size the split gave it: the answer must not
        // depend on how the bytes were cut.
        const reader = req.body?.getReader();
        const first = reader === undefined ? null : await reader.read();
        reader?.releaseLock();
        return new Response(`${id}:part:${first === null ? "none" : "read"}`);
      }
      case "none":
        return new Response(`${id}`);
      case "empty":
        return new Response(null);
      case "emptyText":
        return new Response("");
      case "json":
        return Response.json({ id }, { status: 201 });
      case "headers": {
        const headers = new Headers({ "x-multi": "1" });
        headers.append("x-multi", "2");
        headers.append("set-cookie", "a=1");
        headers.append("set-cookie", "b=2");
        return new Response(`${id}`, {
          status: 299,
          statusText: "Odd Status",
          headers,
        });
      }
      case "status":
        return new Response(null, { status: Number(arg) });
      case "throw":
        throw new Error(`handler ${id} throws`);
      case "async":
        await delay(Number(arg));
        return new Response(`${id} late`);
      default:
        return new Response("unknown act", { status: 599 });
    }
  };
}

function traceOptions(
  trace: Trace,
  limits: Partial<ServerLimits>,
): ServeOptions {
  return {
    limits,
    onError: () => new Response("onError", { status: 500 }),
    onAccess: (entry) =>
      trace.access.push(
        `${entry.method} ${entry.target} ${entry.version} ${entry.status} ${
          entry.error?.code ?? "-"
        } ${entry.bodyBytes}`,
      ),
    onInternalError: (error) => trace.access.push(`internal ${error}`),
  };
}

/** exchangeRaw's answer, and how the exchange ended (always EOF here). */
async function viaMemory(
  handler: ServeHandler,
  bytes: Uint8Array,
  options: ServeOptions & { chunkBytes?: number } = {},
): Promise<string> {
  const out = await exchangeRaw(handler, bytes, options);
  return fromLatin1(out) + "<eof>";
}

/**
 * The same bytes over a socket to `serve()`: sent at once, then (by
 * default) half-closed as exchangeRaw does; read until the server closes.
 */
async function viaSocket(
  handler: ServeHandler,
  bytes: Uint8Array,
  options: ServeOptions = {},
  { halfClose = true, timeoutMs = 3000 } = {},
): Promise<string> {
  await using server = startServer(handler, options);
  await using client = await RawClient.connect(server.addr.port);
  try {
    await client.send(bytes);
    if (halfClose) await client.conn.closeWrite();
  } catch {
    // The server closed early; what it sent is read below.
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    const end = left <= 0 ? "timeout" : await client.readOnce(left);
    if (end === "data") continue;
    return client.text + `<${end}>`;
  }
}

// ---------------------------------------------------------------------------
// Random requests

type Method = "GET" | "HEAD" | "POST" | "PUT" | "OPTIONS";
type Bad =
  | null
  | "garbage"
  | "longTarget"
  | "manyHeaders"
  | "bigHead"
  | "lengthAndChunked"
  | "badLength"
  | "gzip"
  | "version2"
  | "bareLf"
  | "noHost";

interface Req {
  method: Method;
  version: "1.0" | "1.1";
  connection: "" | "close" | "keep-alive";
  expect: "" | "100-continue" | "something";
  body:
    | { kind: "none" }
    | { kind: "length"; data: string; missing: number }
    | { kind: "chunked"; chunks: string[]; finished: boolean };
  act: string;
  bad: Bad;
}

interface SmallLimits {
  maxBodyBytes: number;
  maxDrainBytes: number;
  maxRequestsPerConnection: number;
  maxStartLineBytes: number;
  maxHeadBytes: number;
  maxHeaderCount: number;
}

function engineLimits(limits: SmallLimits): Partial<ServerLimits> {
  return {
    maxBodyBytes: limits.maxBodyBytes,
    maxDrainBytes: limits.maxDrainBytes,
    maxRequestsPerConnection: limits.maxRequestsPerConnection,
    parser: {
      maxStartLineBytes: limits.maxStartLineBytes,
      maxHeadBytes: limits.maxHeadBytes,
      maxHeaderCount: limits.maxHeaderCount,
    },
  };
}

function encodeRequest(req: Req, id: number, limits: SmallLimits): string {
  if (req.bad === "garbage") return "GARBAGE\r\n\r\n";
  const version = req.bad === "version2" ? "HTTP/2.0" : `HTTP/${req.version}`;
  const target = req.bad === "longTarget"
    ? "/" + "a".repeat(limits.maxStartLineBytes)
    : `/p${id}`;
  let head = `${req.method} ${target} ${version}\r\n`;
  if (req.bad !== "noHost") head += "Host: x\r\n";
  head += `X-Id: ${id}\r\nX-Act: ${req.act}\r\n`;
  if (req.connection !== "") head += `Connection: ${req.connection}\r\n`;
  if (req.expect !== "") head += `Expect: ${req.expect}\r\n`;
  switch (req.bad) {
    case "manyHeaders":
      for (let i = 0; i <= limits.maxHeaderCount; i++) head += `h${i}: v\r\n`;
      break;
    case "bigHead":
      head += `X-Big: ${"b".repeat(limits.maxHeadBytes)}\r\n`;
      break;
    case "lengthAndChunked":
      head += "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n";
      break;
    case "badLength":
      head += "Content-Length: 1x\r\n";
      break;
    case "gzip":
      head += "Transfer-Encoding: gzip, chunked\r\n";
      break;
    case "bareLf":
      head += "X-Lf: 1\n";
      break;
  }
  const body = req.body;
  if (body.kind === "length") {
    return head + `Content-Length: ${body.data.length + body.missing}\r\n\r\n` +
      body.data;
  }
  if (body.kind === "chunked") {
    let text = "";
    for (const chunk of body.chunks) {
      text += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    }
    if (body.finished) text += "0\r\n\r\n";
    return head + "Transfer-Encoding: chunked\r\n\r\n" + text;
  }
  return head + "\r\n";
}

const bodyChar = fc.constantFrom(..."abcxyz019 :-\r\n".split(""));

const reqArb: fc.Arbitrary<Req> = fc.record({
  method: fc.constantFrom<Method>("GET", "HEAD", "POST", "PUT", "OPTIONS"),
  version: fc.constantFrom<"1.0" | "1.1">("1.1", "1.1", "1.1", "1.0"),
  connection: fc.constantFrom<"" | "close" | "keep-alive">(
    "",
    "",
    "close",
    "keep-alive",
  ),
  expect: fc.constantFrom<"" | "100-continue" | "something">(
    "",
    "",
    "100-continue",
    "something",
  ),
  body: fc.oneof(
    fc.constant({ kind: "none" as const }),
    fc.record({
      kind: fc.constant("length" as const),
      data: fc.string({ unit: bodyChar, maxLength: 40 }),
      missing: fc.constantFrom(0, 0, 0, 3),
    }),
    fc.record({
      kind: fc.constant("chunked" as const),
      chunks: fc.array(
        fc.string({ unit: bodyChar, minLength: 1, maxLength: 12 }),
        { maxLength: 4 },
      ),
      finished: fc.constantFrom(true, true, true, false),
    }),
  ),
  act: fc.constantFrom(
    "all",
    "part",
    "none",
    "empty",
    "emptyText",
    "json",
    "headers",
    "status:204",
    "status:304",
    "status:205",
    "status:404",
    "throw",
    "async:1",
  ),
  bad: fc.constantFrom<Bad>(
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    "garbage",
    "longTarget",
    "manyHeaders",
    "bigHead",
    "lengthAndChunked",
    "badLength",
    "gzip",
    "version2",
    "bareLf",
    "noHost",
  ),
});

const limitsArb: fc.Arbitrary<SmallLimits> = fc.record({
  maxBodyBytes: fc.constantFrom(1 << 20, 10, 30),
  maxDrainBytes: fc.constantFrom(1 << 18, 5),
  maxRequestsPerConnection: fc.constantFrom(0, 0, 2),
  maxStartLineBytes: fc.constantFrom(8192, 64),
  maxHeadBytes: fc.constantFrom(16384, 256),
  maxHeaderCount: fc.constantFrom(100, 6),
});

interface Run {
  reqs: Req[];
  limits: SmallLimits;
}

const runArb: fc.Arbitrary<Run> = fc.record({
  reqs: fc.array(reqArb, { minLength: 1, maxLength: 4 }),
  limits: limitsArb,
});

function runBytes(run: Run): string {
  return run.reqs.map((r, i) => encodeRequest(r, i + 1, run.limits)).join("");
}

/** Runs `bytes` both ways; returns both sides, masked, for comparison. */
async function bothWays(
  bytes: string,
  limits: Partial<ServerLimits>,
  chunkBytes = 0,
): Promise<{ memory: unknown; socket: unknown }> {
  const memoryTrace = newTrace();
  const memoryOut = await viaMemory(actHandler(memoryTrace), latin1(bytes), {
    ...traceOptions(memoryTrace, limits),
    chunkBytes,
  });
  const socketTrace = newTrace();
  const socketOut = await viaSocket(
    actHandler(socketTrace),
    latin1(bytes),
    traceOptions(socketTrace, limits),
  );
  return {
    memory: { out: maskDate(memoryOut), ...memoryTrace },
    socket: { out: maskDate(socketOut), ...socketTrace },
  };
}

// ---------------------------------------------------------------------------
// exchangeRaw vs serve() over a socket

Deno.test("exchangeRaw and a half-closing socket client get the same bytes, close and access log for random pipelines", async () => {
  await fc.assert(
    fc.asyncProperty(runArb, async (run) => {
      const bytes = runBytes(run);
      const { memory, socket } = await bothWays(
        bytes,
        engineLimits(run.limits),
      );
      assert.deepEqual(
        memory,
        socket,
        `request bytes: ${JSON.stringify(bytes)}`,
      );
    }),
    { numRuns: runs(250), ...seedOption },
  );
});

Deno.test("exchangeRaw cut into small writes (chunkBytes) still answers as one socket write does", async () => {
  await fc.assert(
    fc.asyncProperty(
      // How much a single read takes depends on the split (the same holds
      // for sockets): leave out the handler that reads only once.
      runArb.filter((run) => run.reqs.every((r) => r.act !== "part")),
      fc.constantFrom(1, 2, 7, 13),
      async (run, chunkBytes) => {
        const bytes = runBytes(run);
        const { memory, socket } = await bothWays(
          bytes,
          engineLimits(run.limits),
          chunkBytes,
        );
        assert.deepEqual(
          memory,
          socket,
          `request bytes: ${
            JSON.stringify(bytes)
          } in ${chunkBytes}-byte writes`,
        );
      },
    ),
    { numRuns: runs(120), ...seedOption },
  );
});

Deno.test("exchangeRaw gives the engine's canned 400/413/414/417/431/501/505 byte for byte as over a socket", async () => {
  const small: Partial<ServerLimits> = {
    maxBodyBytes: 8,
    parser: { maxStartLineBytes: 32, maxHeadBytes: 128, maxHeaderCount: 4 },
  };
  const vectors: [string, number][] = [
    [
      "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /" + "a".repeat(40) +
      " HTTP/1.1\r\nHost: x\r\n\r\n",
      414,
    ],
    ["GET / HTTP/1.1\r\nHost: x\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n", 431],
    [
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(130) + "\r\n\r\n",
      431,
    ],
    ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n123456789", 413],
    ["HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n123456789", 413],
    [
      "POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
      417,
    ],
    [
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      501,
    ],
    ["GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505],
    ["GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400],
    ["GET /\r\n\r\n", 400],
  ];
  for (const [bytes, status] of vectors) {
    const memory = maskDate(
      await viaMemory(() => new Response("ok"), latin1(bytes), {
        limits: small,
      }),
    );
    const socket = maskDate(
      await viaSocket(() => new Response("ok"), latin1(bytes), {
        limits: small,
      }),
    );
    assert.equal(memory, socket, JSON.stringify(bytes));
    assert.match(
      memory,
      new RegExp(
        `HTTP/1\\.1 ${status} [^\\r]*\\r\\n[^]*connection: close\\r\\n`,
        "i",
      ),
      JSON.stringify(bytes),
    );
    assert.ok(memory.endsWith("<eof>"));
  }
});

Deno.test("exchangeRaw and a socket agree on Expect: 100-continue whether the handler reads or not", async () => {
  const upload =
    "POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nX-Act: ACT\r\n\r\nabc" +
    "GET /b HTTP/1.1\r\nHost: x\r\nX-Act: none\r\n\r\n";
  for (const act of ["all", "none", "part"]) {
    const bytes = upload.replace("ACT", act);
    const { memory, socket } = await bothWays(bytes, {});
    assert.deepEqual(memory, socket, act);
    const out = (memory as { out: string }).out;
    assert.equal(
      out.startsWith("HTTP/1.1 100 Continue\r\n\r\n"),
      act !== "none",
      `${act}: ${out}`,
    );
  }
});

Deno.test("exchangeRaw hands onUpgrade the same request body and buffered bytes as a socket does", async () => {
  const raw = "POST /u HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\n" +
    "Connection: Upgrade\r\nContent-Length: 2\r\n\r\nhiAFTER";
  const seen: string[] = [];
  const options: ServeOptions = {
    onUpgrade: async (req, { conn, buffered }, info) => {
      seen.push(`${info.remoteAddr.transport} ${info.remoteAddr.hostname}`);
      await conn.write(latin1(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n" +
          `buffered=${fromLatin1(buffered)};body=${await req.text()};`,
      ));
      const buffer = new Uint8Array(64);
      for (let n; (n = await conn.read(buffer)) !== null;) {
        await conn.write(buffer.slice(0, n));
      }
      conn.close();
    },
  };
  const refuse = () => new Response("not upgraded");
  const memory = await viaMemory(refuse, latin1(raw), options);
  const socket = await viaSocket(refuse, latin1(raw), options);
  assert.equal(memory, socket);
  assert.equal(
    memory,
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nbuffered=AFTER;body=hi;<eof>",
  );
  assert.deepEqual(seen, ["tcp 127.0.0.1", "tcp 127.0.0.1"]);
});

Deno.test("exchangeRaw's handler sees a loopback tcp remoteAddr, as over a socket", async () => {
  const seen: Deno.NetAddr[] = [];
  const handler: ServeHandler = (_req, info) => {
    seen.push(info.remoteAddr);
    return new Response("ok");
  };
  await exchangeRaw(handler, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  await viaSocket(handler, latin1("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.equal(seen.length, 2);
  for (const addr of seen) {
    assert.equal(addr.transport, "tcp");
    assert.equal(addr.hostname, "127.0.0.1");
    assert.ok(
      Number.isInteger(addr.port) && addr.port > 0 && addr.port < 65536,
    );
  }
});

Deno.test("exchangeRaw matches a socket past the 64 KiB high-water mark: 1500 pipelined requests, a large unread upload", async () => {
  let pipelined = "";
  for (let i = 1; i <= 1500; i++) {
    pipelined += `GET /p${i} HTTP/1.1\r\nHost: x\r\nX-Id: ${i}\r\nX-Act: ${
      i % 7 === 0 ? "json" : "none"
    }\r\n\r\n`;
  }
  const upload =
    "POST /big HTTP/1.1\r\nHost: x\r\nX-Id: big\r\nX-Act: none\r\n" +
    `Content-Length: 300000\r\n\r\n${"u".repeat(300000)}` +
    "GET /after HTTP/1.1\r\nHost: x\r\nX-Id: after\r\nX-Act: none\r\n\r\n";
  const echoed = "POST /echo HTTP/1.1\r\nHost: x\r\nX-Id: e\r\nX-Act: all\r\n" +
    `Content-Length: 200000\r\n\r\n${"e".repeat(200000)}`;
  for (
    const [bytes, chunkBytes] of [[pipelined, 0], [upload, 0], [upload, 4096], [
      echoed,
      1000,
    ]] as const
  ) {
    const { memory, socket } = await bothWays(bytes, {}, chunkBytes);
    assert.deepEqual(memory, socket, bytes.slice(0, 60));
  }
  const { memory } = await bothWays(pipelined, {});
  const calls = (memory as Trace).calls;
  assert.equal(calls.length, 1500);
  assert.equal(calls[1499], "1500 GET /p1500");
});

// Fixed bug: exchangeRaw half-closes its side as soon as the request bytes are
// written (server/memory_conn.ts, exchangeRaw: `await client.closeWrite()`
// right after the writes), and the engine reads a half-close as "the
// client is gone" and cancels any response body that is a stream
// (server/_web_response.ts streamRest, watchPeerGone). So every streamed
// response comes back from exchangeRaw as a head with
// `transfer-encoding: chunked` and no body at all: even
// `new Response(ReadableStream.from([bytes]))`, a file's `readable`, a
// CompressionStream or an SSE stream. A socket client that does not
// half-close (curl, browsers, fetch) gets the whole body. Expected: the
// same bytes as that socket client. Fix idea: in exchangeRaw, half-close
// only once the connection is idle waiting for another head (or mark the
// memory exchange so that its EOF is not taken as the peer leaving).
Deno.test({
  name:
    "exchangeRaw returns a streamed response body as a socket client gets it",
  fn: async () => {
    const streaming: ServeHandler = () =>
      new Response(
        ReadableStream.from([encoder.encode("ab"), encoder.encode("c")]),
      );
    const raw = "GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const socket = maskDate(
      await viaSocket(streaming, latin1(raw), {}, { halfClose: false }),
    );
    assert.match(socket, /\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n<eof>$/);
    const memory = maskDate(await viaMemory(streaming, latin1(raw)));
    assert.equal(memory, socket);
  },
});

// Fixed bug: exchangeRaw computes its write size as Math.floor(chunkBytes) and
// only checks chunkBytes > 0, so a fractional size below 1 (chunkBytes:
// raw.length / 64 on a short request) makes the step 0: the write loop
// never advances and spins on resolved promises for ever, starving the
// event loop (no timer can even fire). Expected: a step of at least one
// byte (or a RangeError). Run in a subprocess so the hang cannot hold this
// file.
Deno.test({
  name: "exchangeRaw with a fractional chunkBytes below 1 finishes",
  fn: async () => {
    const module = new URL("../../server/memory_conn.ts", import.meta.url);
    const script = `import { exchangeRaw } from ${JSON.stringify(module.href)};
const out = await exchangeRaw(() => new Response("ok"), "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n", { chunkBytes: 0.5 });
console.log(new TextDecoder().decode(out).split("\\r\\n")[0]);`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", script],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    const { success, stdout } = await child.output();
    clearTimeout(timer);
    assert.ok(success, "exchangeRaw did not finish within 5 s");
    assert.equal(decoder.decode(stdout).trim(), "HTTP/1.1 200 OK");
  },
});

// ---------------------------------------------------------------------------
// MemoryConn as a Deno.Conn stand-in, call by call against a real TCP pair

type Pair = { a: Deno.Conn; b: Deno.Conn; done: () => Promise<void> };

async function tcpPair(): Promise<Pair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connecting = Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  const b = await listener.accept();
  const a = await connecting;
  listener.close();
  return {
    a,
    b,
    done: async () => {
      for (const conn of [a, b]) {
        try {
          conn.close();
        } catch { /* closed by the scenario */ }
      }
      await delay(0);
    },
  };
}

function memoryPair(): Pair {
  const [a, b] = memoryConnPair();
  return {
    a,
    b,
    done: () => {
      for (const conn of [a, b]) {
        try {
          conn.close();
        } catch { /* closed by the scenario */ }
      }
      return Promise.resolve();
    },
  };
}

async function outcome(op: () => Promise<unknown> | unknown): Promise<string> {
  try {
    const value = await op();
    return `ok ${JSON.stringify(value ?? null)}`;
  } catch (error) {
    return `throws ${(error as Error).constructor.name}`;
  }
}

/** One scenario, recorded as lines; run on both kinds of pair. */
async function connScenario({ a, b }: Pair): Promise<string[]> {
  const log: string[] = [];
  const buffer = new Uint8Array(16);
  const read = async (conn: Deno.Conn) => {
    const n = await conn.read(buffer);
    return n === null ? null : decoder.decode(buffer.subarray(0, n));
  };
  log.push(`a writes: ${await outcome(() => a.write(encoder.encode("ping")))}`);
  log.push(`b reads: ${await outcome(() => read(b))}`);
  log.push(
    `b reads 0 bytes: ${await outcome(() => b.read(new Uint8Array(0)))}`,
  );
  log.push(`a closeWrite: ${await outcome(() => a.closeWrite())}`);
  log.push(`a closeWrite again: ${await outcome(() => a.closeWrite())}`);
  log.push(
    `a writes after closeWrite: ${await outcome(() =>
      a.write(encoder.encode("x"))
    )}`,
  );
  log.push(`b reads EOF: ${await outcome(() => read(b))}`);
  log.push(`b reads EOF again: ${await outcome(() => read(b))}`);
  log.push(
    `b still writes: ${await outcome(() => b.write(encoder.encode("pong")))}`,
  );
  log.push(`a still reads: ${await outcome(() => read(a))}`);
  b.close();
  log.push(`a reads after peer close: ${await outcome(() => read(a))}`);
  log.push(`b reads after close: ${await outcome(() => read(b))}`);
  log.push(
    `b writes after close: ${await outcome(() =>
      b.write(encoder.encode("x"))
    )}`,
  );
  log.push(`b closeWrite after close: ${await outcome(() => b.closeWrite())}`);
  log.push(`b close again: ${await outcome(() => b.close())}`);
  log.push(`ref/unref/setNoDelay/setKeepAlive: ${await outcome(() => {
    a.ref();
    a.unref();
    a.ref();
    (a as Deno.TcpConn).setNoDelay?.(true);
    (a as Deno.TcpConn).setKeepAlive?.(true);
  })}`);
  return log;
}

Deno.test("MemoryConn answers read, write, closeWrite and close as a TCP Deno.Conn does", async () => {
  const tcp = await tcpPair();
  const real = await connScenario(tcp);
  await tcp.done();
  const memory = memoryPair();
  const fake = await connScenario(memory);
  await memory.done();
  assert.deepEqual(fake, real);
  assert.deepEqual(real.slice(0, 3), [
    "a writes: ok 4",
    'b reads: ok "ping"',
    "b reads 0 bytes: ok 0",
  ]);
});

Deno.test("MemoryConn addresses pair up, default to loopback tcp, and take the given ones", () => {
  const [client, server] = memoryConnPair();
  assert.deepEqual(client.remoteAddr, server.localAddr);
  assert.deepEqual(client.localAddr, server.remoteAddr);
  for (const addr of [client.localAddr, server.localAddr]) {
    assert.equal(addr.transport, "tcp");
    assert.equal(addr.hostname, "127.0.0.1");
  }
  assert.notEqual(client.localAddr.port, server.localAddr.port);
  client.close();
  server.close();
  const clientAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "10.1.2.3",
    port: 4567,
  };
  using pair = memoryConnPair({ clientAddr });
  assert.deepEqual(pair[1].remoteAddr, clientAddr);
  assert.deepEqual(pair[0].localAddr, clientAddr);
});

Deno.test("MemoryConn streams: readable ends at the peer's half-close, cancel closes the end, writable carries bytes", async () => {
  const [a, b] = memoryConnPair();
  const writer = a.writable.getWriter();
  await writer.write(encoder.encode("he"));
  await writer.write(encoder.encode("llo"));
  writer.releaseLock();
  await a.closeWrite();
  assert.equal(await new Response(b.readable).text(), "hello");
  // Back the other way on the still-open direction.
  await b.write(encoder.encode("back"));
  const reader = a.readable.getReader();
  const first = await reader.read();
  assert.equal(decoder.decode(first.value), "back");
  await reader.cancel();
  assert.equal(a.closed, true);
  await assert.rejects(b.write(encoder.encode("x")), Deno.errors.BrokenPipe);
  b.close();
});

// Fixed bug: MemoryConn claims the shape of Deno.Conn, but a read that is pending
// when the same end is closed rejects with Deno.errors.BadResource, where a
// TCP Deno.Conn rejects it with Deno.errors.Interrupted ("operation
// canceled"). Code that tells "I closed it myself" (Interrupted) from "used
// after close" (BadResource), as read loops commonly do, takes the wrong
// branch under exchangeRaw/pythonHandler tests. Expected: Interrupted, as
// below for the TCP pair.
Deno.test({
  name:
    "MemoryConn rejects a read pending at close() with Interrupted, as Deno.Conn does",
  fn: async () => {
    const probe = async ({ a }: Pair) => {
      const pending = a.read(new Uint8Array(8));
      a.close();
      return await outcome(() => pending);
    };
    const tcp = await tcpPair();
    const real = await probe(tcp);
    await tcp.done();
    assert.equal(real, "throws Interrupted");
    const memory = memoryPair();
    const fake = await probe(memory);
    await memory.done();
    assert.equal(fake, real);
  },
});

// ---------------------------------------------------------------------------
// Timeouts over a MemoryConn (HTTPServer.process_request runs the sweep)

class NoContent extends BaseHTTPRequestHandler {
  do_GET(): void {
    this.send_response(204);
    this.end_headers();
  }
}

async function readAll(conn: MemoryConn): Promise<string> {
  let text = "";
  const buffer = new Uint8Array(4096);
  for (let n; (n = await conn.read(buffer)) !== null;) {
    text += fromLatin1(buffer.subarray(0, n));
  }
  return text;
}

/**
 * Serves one MemoryConn with HTTPServer.process_request (which runs the
 * engine's deadline sweep) and a client that sends `sent`, then nothing.
 * With `holdLoop`, a timer of the test's own keeps the event loop alive.
 */
async function silentClient(
  sent: string,
  holdLoop: boolean,
): Promise<{ text: string; took: number }> {
  const hold = holdLoop ? setTimeout(() => {}, 10_000) : undefined;
  try {
    const server = new HTTPServer(["127.0.0.1", 0], NoContent, {
      bind_and_activate: false,
      logWriter: () => {},
      limits: { headersTimeoutMs: 100 },
    });
    const [client, conn] = memoryConnPair();
    const started = Date.now();
    const served = server.process_request(conn, ["127.0.0.1", 1]);
    if (sent !== "") await client.write(latin1(sent));
    const text = await readAll(client);
    await served;
    const took = Date.now() - started;
    client.close();
    await server.shutdown();
    return { text, took };
  } finally {
    clearTimeout(hold);
  }
}

Deno.test("a MemoryConn client that never sends is closed at headersTimeoutMs; a partial head gets 408", async () => {
  const silent = await silentClient("", true);
  assert.equal(silent.text, "");
  assert.ok(silent.took >= 90 && silent.took < 2000, `took ${silent.took}`);
  const partial = await silentClient("GET / HT", true);
  assert.match(partial.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.ok(partial.took >= 90 && partial.took < 2000, `took ${partial.took}`);
});

// Fixed bug: over a MemoryConn the engine's timeouts fire only while something
// else keeps the process alive. MemoryConn's ref()/unref() are no-ops and
// its pending read holds no event-loop resource, and HTTPServer's deadline
// sweep is an unref'd interval (server/_engine.ts startSweep), so a
// connection waiting on a silent in-memory client keeps nothing alive: the
// headers timeout never fires and a test doing exactly the above without a
// timer of its own dies with "Promise resolution is still pending but the
// event loop has already resolved" (a script ends with its top-level await
// unresolved). A socket's pending read keeps the loop alive. Expected: the
// connection ends by itself at headersTimeoutMs, as with the timer held.
// Fix idea: a MemoryConn read that waits holds a ref'd timer (or resource)
// while the end is ref'd, so ref()/unref() mean what they do on Deno.Conn.
Deno.test({
  name:
    "a MemoryConn client that never sends is timed out with nothing else keeping the process alive",
  fn: async () => {
    const partial = await silentClient("GET / HT", false);
    assert.match(partial.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  },
});

// ---------------------------------------------------------------------------
// pythonHandler inside serve() vs HTTPServer on a socket

const dec = (bytes: Uint8Array) => decoder.decode(bytes);

function opsHandler(protocol: string): RequestHandlerClass {
  return class Ops extends BaseHTTPRequestHandler {
    override protocol_version = protocol;
    async run(): Promise<void> {
      let got = "";
      for (const op of (this.headers.get("X-Ops") ?? "").split(";")) {
        const [name = "", arg = ""] = op.split(":");
        switch (name) {
          case "read":
            got += dec(await this.rfile.read(Number(arg)));
            break;
          case "readall":
            got += dec(await this.rfile.read());
            break;
          case "line":
            got += dec(await this.rfile.readline());
            break;
          case "error":
            this.send_error(
              Number(arg),
              arg === "400" ? "Bad <thing>" : undefined,
            );
            return;
          case "throw":
            throw new Error("handler throws");
          case "respond": {
            const code = Number(arg);
            const body = encoder.encode(
              `[${this.command} ${this.path} ${got}]`,
            );
            this.send_response(code, code === 299 ? "Odd" : undefined);
            this.send_header("X-A", "1");
            this.send_header("Set-Cookie", "c=1");
            this.send_header("Set-Cookie", "d=2");
            const empty = code === 204 || code === 304;
            if (!empty) this.send_header("Content-Length", String(body.length));
            this.end_headers();
            if (!empty && this.command !== "HEAD") this.wfile.write(body);
            return;
          }
          case "unsized": {
            this.send_response(200);
            this.send_header("Content-Type", "x/y");
            this.end_headers();
            if (this.command !== "HEAD") {
              this.wfile.write(encoder.encode(`u1${got}`));
              await this.wfile.flush();
              this.wfile.write(encoder.encode("u2"));
            }
            this.close_connection = true;
            return;
          }
        }
      }
    }
    do_GET(): Promise<void> {
      return this.run();
    }
    do_HEAD(): Promise<void> {
      return this.run();
    }
    do_POST(): Promise<void> {
      return this.run();
    }
    do_PUT(): Promise<void> {
      return this.run();
    }
  };
}

/** What both paths must agree on: no framing or hop-by-hop fields. */
function semantic(res: RawResponse): unknown {
  const headers = new Headers();
  for (const [name, value] of res.fields) {
    if (
      !/^(date|connection|keep-alive|transfer-encoding|content-length)$/i
        .test(name)
    ) headers.append(name, value);
  }
  return {
    status: res.status,
    reason: res.reason,
    headers: [...headers],
    body: res.text,
  };
}

async function pyDirect(
  Handler: RequestHandlerClass,
  raw: string,
  method: string,
): Promise<unknown> {
  return await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send(raw);
    try {
      return semantic(await client.response(method, 3000));
    } catch {
      return `cut short: ${client.text.split("\r\n")[0]}`;
    }
  });
}

async function pyRouted(
  Handler: RequestHandlerClass,
  raw: string,
  method: string,
): Promise<unknown> {
  const legacy = pythonHandler(Handler, { logWriter: () => {} });
  await using server = startServer((req, info) => legacy(req, info), {
    onError: () => new Response("onError", { status: 500 }),
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(raw);
  try {
    return semantic(await client.response(method, 3000));
  } catch {
    return `cut short: ${client.text.split("\r\n")[0]}`;
  }
}

const pyCaseArb = fc.record({
  protocol: fc.constantFrom("HTTP/1.0", "HTTP/1.1"),
  method: fc.constantFrom("GET", "HEAD", "POST", "PUT"),
  body: fc.oneof(
    fc.constant(null),
    fc.record({
      chunked: fc.boolean(),
      data: fc.stringMatching(/^[a-z\n]{0,20}$/),
    }),
  ),
  reads: fc.array(
    fc.oneof(
      fc.integer({ min: 0, max: 8 }).map((n) => `read:${n}`),
      fc.constantFrom("readall", "line"),
    ),
    { maxLength: 2 },
  ),
  end: fc.constantFrom(
    "respond:200",
    "respond:201",
    "respond:204",
    "respond:299",
    "respond:404",
    "error:400",
    "error:404",
    "error:503",
    "throw",
    "unsized",
  ),
});

Deno.test("pythonHandler inside serve() answers as HTTPServer does on a socket (status, reason, headers, body)", async () => {
  await fc.assert(
    fc.asyncProperty(pyCaseArb, async (c) => {
      const Handler = opsHandler(c.protocol);
      // GET and HEAD carry no body (see the ignored GET-with-body test).
      const body = c.method === "GET" || c.method === "HEAD" ? null : c.body;
      let raw = `${c.method} /p?q=1 HTTP/1.1\r\nHost: x\r\nX-Ops: ${
        [...c.reads, c.end].join(";")
      }\r\nConnection: close\r\n`;
      if (body === null) raw += "\r\n";
      else if (body.chunked) {
        raw += "Transfer-Encoding: chunked\r\n\r\n" +
          (body.data === ""
            ? ""
            : `${body.data.length.toString(16)}\r\n${body.data}\r\n`) +
          "0\r\n\r\n";
      } else {
        raw += `Content-Length: ${body.data.length}\r\n\r\n${body.data}`;
      }
      const direct = await pyDirect(Handler, raw, c.method);
      const routed = await pyRouted(Handler, raw, c.method);
      assert.deepEqual(routed, direct, JSON.stringify(raw));
    }),
    { numRuns: runs(80), ...seedOption },
  );
});

Deno.test("pythonHandler gives the handler the outer peer as client_address", async () => {
  class Who extends BaseHTTPRequestHandler {
    do_GET(): void {
      const body = encoder.encode(JSON.stringify(this.client_address));
      this.send_response(200);
      this.send_header("Content-Length", String(body.length));
      this.end_headers();
      this.wfile.write(body);
    }
  }
  const legacy = pythonHandler(Who, { logWriter: () => {} });
  await using server = startServer((req, info) => legacy(req, info));
  await using client = await RawClient.connect(server.addr.port);
  await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const res = await client.response();
  const local = client.conn.localAddr as Deno.NetAddr;
  assert.deepEqual(JSON.parse(res.text), [local.hostname, local.port]);
});

Deno.test("pythonHandler streams a large close-delimited HTTP/1.0 body and a large rfile upload as HTTPServer does", async () => {
  class Big extends BaseHTTPRequestHandler {
    async do_GET(): Promise<void> {
      this.send_response(200);
      this.end_headers();
      for (let i = 0; i < 5; i++) {
        this.wfile.write(new Uint8Array(50_000).fill(0x61 + i));
        await this.wfile.flush();
      }
    }
    async do_POST(): Promise<void> {
      const data = await this.rfile.read(
        Number(this.headers.get("Content-Length")),
      );
      let sum = 0;
      for (const byte of data) sum = (sum + byte) % 65521;
      const body = encoder.encode(`${data.length}:${sum}`);
      this.send_response(200);
      this.send_header("Content-Length", String(body.length));
      this.end_headers();
      this.wfile.write(body);
    }
  }
  const get = "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const direct = await pyDirect(Big, get, "GET") as { body: string };
  assert.equal(direct.body.length, 250_000);
  assert.deepEqual(await pyRouted(Big, get, "GET"), direct);
  const post = "POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
    `Content-Length: 200000\r\n\r\n${"xyz".repeat(66_667).slice(0, 200_000)}`;
  const posted = await pyDirect(Big, post, "POST") as { body: string };
  assert.match(posted.body, /^200000:/);
  assert.deepEqual(await pyRouted(Big, post, "POST"), posted);
});

Deno.test("pythonHandler answers pipelined keep-alive requests in order as an HTTP/1.1 HTTPServer does", async () => {
  const Handler = opsHandler("HTTP/1.1");
  // send_error says Connection: close (as Python's does), so it comes last.
  const raw = "POST /a HTTP/1.1\r\nHost: x\r\nX-Ops: read:2;respond:201\r\n" +
    "Content-Length: 4\r\n\r\nabcd" +
    "PUT /c HTTP/1.1\r\nHost: x\r\nX-Ops: readall;respond:200\r\n" +
    "Transfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n" +
    "HEAD /d HTTP/1.1\r\nHost: x\r\nX-Ops: respond:200\r\n\r\n" +
    "GET /b HTTP/1.1\r\nHost: x\r\nX-Ops: error:404\r\n\r\n";
  const methods = ["POST", "PUT", "HEAD", "GET"];
  const direct = await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send(raw);
    return (await client.responses(methods)).map(semantic);
  });
  const legacy = pythonHandler(Handler, { logWriter: () => {} });
  await using server = startServer((req, info) => legacy(req, info));
  await using client = await RawClient.connect(server.addr.port);
  await client.send(raw);
  const routed = (await client.responses(methods)).map(semantic);
  assert.deepEqual(routed, direct);
  assert.deepEqual(
    (direct as { body: string }[]).map((r) => r.body.slice(0, 22)),
    ["[POST /a ab]", "[PUT /c xy]", "", "<!DOCTYPE HTML>\n<html "],
  );
});

class Versioned extends BaseHTTPRequestHandler {
  do_GET(): void {
    const body = encoder.encode(`${this.request_version}|${this.requestline}`);
    this.send_response(200);
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }
}

// Fixed bug: pythonHandler always serializes the request as HTTP/1.1, so a
// handler behind it sees `request_version` "HTTP/1.1" and `requestline`
// "GET /v HTTP/1.1" for an HTTP/1.0 client (and logs that line), where the
// same class on an HTTPServer socket sees "HTTP/1.0". Handlers that branch
// on request_version (keep-alive, chunking decisions) behave differently.
// Expected: "HTTP/1.0|GET /v HTTP/1.0" both ways.
Deno.test({
  name: "pythonHandler keeps an HTTP/1.0 client's request_version",
  fn: async () => {
    const raw = "GET /v HTTP/1.0\r\nHost: x\r\n\r\n";
    const direct = await pyDirect(Versioned, raw, "GET");
    assert.equal((direct as { body: string }).body, "HTTP/1.0|GET /v HTTP/1.0");
    assert.deepEqual(await pyRouted(Versioned, raw, "GET"), direct);
  },
});

class RefuseExpect extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  override handle_expect_100(): boolean {
    this.send_error(417, "no uploads");
    return false;
  }
  do_POST(): void {
    this.send_response(200);
    this.send_header("Content-Length", "0");
    this.end_headers();
  }
}

// Fixed bug: pythonHandler starts pulling the request body as soon as it has
// written the head to the in-memory connection, so the outer engine sends
// `100 Continue` to the client at once, before the Python handler's
// handle_expect_100() (or do_POST) has run. A handler that refuses the
// upload (417 here, or a 401 that never reads rfile) still has the client
// told to send its body. Over a socket HTTPServer sends only the 417.
// Expected: the first bytes the client gets are the 417, no 100 Continue.
// Fix idea: with Expect: 100-continue, hold req.body back until the inner
// connection answers 100 (or cancel it on a final answer).
Deno.test({
  name: "pythonHandler sends no 100 Continue when handle_expect_100 refuses",
  fn: async () => {
    const head =
      "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    const direct = await withServer(RefuseExpect, async ({ port }) => {
      await using client = await RawClient.connect(port);
      await client.send(head);
      await client.readUntil((t) => t.includes("\r\n\r\n"));
      return client.text;
    });
    assert.match(direct, /^HTTP\/1\.1 417 no uploads\r\n/);
    const legacy = pythonHandler(RefuseExpect, { logWriter: () => {} });
    await using server = startServer((req, info) => legacy(req, info));
    await using client = await RawClient.connect(server.addr.port);
    await client.send(head);
    await client.readUntil((t) => t.includes("\r\n\r\n"));
    assert.match(client.text, /^HTTP\/1\.1 417 no uploads\r\n/);
  },
});

class ReadGetBody extends BaseHTTPRequestHandler {
  async do_GET(): Promise<void> {
    let got: string;
    try {
      const length = Number(this.headers.get("Content-Length") ?? "0");
      got = dec(await this.rfile.read(length));
    } catch (error) {
      got = `error ${(error as Error).name}`;
    }
    const body = encoder.encode(`got=${got}`);
    this.send_response(200);
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }
}

// Fixed bug: a GET (or HEAD) with a body reaches the handler as a Request
// without one, and pythonHandler still forwards its `Content-Length: 5`
// (python_route.ts requestHead: `else if (length !== null)`), with no body
// bytes behind it. The inner engine then reads EOF mid-body: the handler's
// rfile.read(5) throws ProtocolError (UNEXPECTED_EOF). Over a socket the
// same class reads "hello". Expected "got=hello" both ways (or at the
// least no Content-Length that promises bytes that never come).
Deno.test({
  name: "pythonHandler passes a GET request's body to rfile",
  fn: async () => {
    const raw =
      "GET /g HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    const direct = await pyDirect(ReadGetBody, raw, "GET");
    assert.equal((direct as { body: string }).body, "got=hello");
    assert.deepEqual(await pyRouted(ReadGetBody, raw, "GET"), direct);
  },
});

Deno.test("pythonHandler over router.request needs no socket and matches the socket answer", async () => {
  const Handler = opsHandler("HTTP/1.0");
  const legacy = pythonHandler(Handler, { logWriter: () => {} });
  const app = new Router().all("/legacy/*", (ctx) => legacy(ctx.req, ctx.info));
  const res = await app.request("/legacy/x?y=1", {
    method: "POST",
    body: "line1\nrest",
    headers: { "x-ops": "line;respond:201" },
  });
  const direct = await pyDirect(
    Handler,
    "POST /legacy/x?y=1 HTTP/1.1\r\nHost: x\r\nX-Ops: line;respond:201\r\nContent-Length: 10\r\n\r\nline1\nrest",
    "POST",
  ) as { status: number; reason: string; body: string };
  assert.equal(res.status, direct.status);
  assert.equal(res.statusText, direct.reason);
  assert.equal(await res.text(), direct.body);
  assert.equal(direct.body, "[POST /legacy/x?y=1 line1\n]");
});

// ---------------------------------------------------------------------------
// router.request() vs serve(router.fetch)

function routes(): Router {
  return new Router()
    .get("/text", () => new Response("hello", { headers: { "x-a": "1" } }))
    .get("/plain", () => new Response("plain body"))
    .get("/json/:id", (ctx) => Response.json({ id: ctx.params.id }))
    .get("/status", () => new Response("s", { status: 299, statusText: "Odd" }))
    .get("/nobody", () => new Response(null, { status: 204 }))
    .get("/redirect", () => Response.redirect("http://localhost/plain", 302))
    .get(
      "/stream",
      () =>
        new Response(
          ReadableStream.from([encoder.encode("a"), encoder.encode("b")]),
        ),
    )
    .get("/throw", () => {
      throw new Error("secret");
    })
    .post("/echo", async (ctx) => new Response(`echo:${await ctx.req.text()}`))
    .put("/echo", async (ctx) => new Response(`put:${await ctx.req.text()}`))
    .get("/files/*rest", (ctx) => new Response(ctx.params.rest ?? ""));
}

async function routedResponse(res: Response): Promise<unknown> {
  const headers = new Headers();
  for (const [name, value] of res.headers) {
    if (!/^(content-length|transfer-encoding)$/.test(name)) {
      headers.append(name, value);
    }
  }
  return {
    status: res.status,
    reason: res.statusText,
    headers: [...headers],
    body: await res.text(),
  };
}

function socketResponse(res: RawResponse): unknown {
  const headers = new Headers();
  for (const [name, value] of res.fields) {
    if (
      !/^(date|connection|keep-alive|content-length|transfer-encoding)$/i
        .test(name)
    ) headers.append(name, value);
  }
  return {
    status: res.status,
    reason: res.reason,
    headers: [...headers],
    body: res.text,
  };
}

Deno.test("router.request() answers as serve(router.fetch) does over a socket", async () => {
  const app = routes();
  await using server = startServer(app.fetch);
  const reasons: Record<number, string> = {
    200: "OK",
    201: "Created",
    204: "No Content",
    302: "Found",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    501: "Not Implemented",
  };
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE", "FOO"),
      fc.constantFrom(
        "/text",
        "/plain",
        "/json/42",
        "/status",
        "/nobody",
        "/redirect",
        "/stream",
        "/throw",
        "/echo",
        "/files/a/b%20c",
        "/missing",
        "/a/../plain",
      ),
      fc.stringMatching(/^[a-z]{0,6}$/),
      async (method, path, data) => {
        const hasBody = method === "POST" || method === "PUT";
        const local = await routedResponse(
          await app.request(path, {
            method,
            ...(hasBody ? { body: data } : {}),
          }),
        );
        await using client = await RawClient.connect(server.addr.port);
        await client.send(
          `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n` +
            (hasBody ? `Content-Length: ${data.length}\r\n` : "") +
            `\r\n${hasBody ? data : ""}`,
        );
        const remote = socketResponse(await client.response(method));
        // router.request has no status line: fill in what the engine says.
        const withReason = local as { status: number; reason: string };
        if (withReason.reason === "") {
          withReason.reason = reasons[withReason.status] ?? "";
        }
        assert.deepEqual(local, remote, `${method} ${path}`);
      },
    ),
    { numRuns: runs(150), ...seedOption },
  );
});

// Fixed bug: router.request() is presented as Hono's app.request, but it only
// treats strings that start with "/" as paths: "users", "" and "?a=1" throw
// TypeError (Invalid URL), where Hono's app.request resolves them against
// http://localhost/ (mergePath), so tests ported from Hono fail before a
// handler runs. Expected: 200 "u http://localhost/users" and the root
// route for "" and "?a=1", as Hono answers. Fix: in Router.request, treat
// any string without a scheme as a path (`new URL(input, "http://localhost/")`
// after prefixing "/").
Deno.test({
  name: "router.request() resolves a relative path as Hono's app.request does",
  fn: async () => {
    const app = new Router()
      .get("/users", (ctx) => new Response(`u ${ctx.req.url}`))
      .get("/", (ctx) => new Response(`root ${ctx.req.url}`));
    assert.equal(
      await (await app.request("users")).text(),
      "u http://localhost/users",
    );
    assert.equal(
      await (await app.request("")).text(),
      "root http://localhost/",
    );
    assert.equal(
      await (await app.request("?a=1")).text(),
      "root http://localhost/?a=1",
    );
  },
});

// Fixed bug: Router.fetch answers HEAD by reading `res.body !== null` before
// `staticBodyLength(res)` (server/router.ts, fetch): touching `.body` turns
// Deno's string body into a stream, so the length is lost whenever the GET
// handler's Response was built with an init (headers, status): HEAD
// /text gets no Content-Length, while the same handler without the router
// (or a Response with no init, /plain) gets `content-length: 5`. Both
// router.request() and serve(router.fetch) show it. Expected: the length
// GET would send (5), as the bare handler's HEAD says.
Deno.test({
  name:
    "router HEAD keeps GET's Content-Length for a Response built with headers",
  fn: async () => {
    const handler = () => new Response("hello", { headers: { "x-a": "1" } });
    const bare = await exchangeRaw(
      handler,
      "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert.match(fromLatin1(bare), /\r\ncontent-length: 5\r\n/);
    const app = new Router().get("/", handler);
    const local = await app.request("/", { method: "HEAD" });
    assert.equal(local.headers.get("content-length"), "5");
    const routed = await exchangeRaw(
      app.fetch,
      "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert.match(fromLatin1(routed), /\r\ncontent-length: 5\r\n/);
  },
});

// Fixed bug: a route that returns Response.error() (or a Response whose body was
// already read) is passed back as it is by Router.fetch: router.request()
// resolves with status 0 (or a 200 whose body throws "Body already
// consumed"), while the same router behind serve() answers 500 through
// serve()'s onError, and the router's own onError() never sees either.
// The two paths the README presents as equivalent disagree. Expected:
// Router.fetch sends such a Response to onError() as it does a non-Response
// (a TypeError), so both paths give the router's 500.
Deno.test({
  name: "router.request() and serve(router.fetch) agree on Response.error()",
  fn: async () => {
    const app = new Router()
      .onError(() => new Response("router onError", { status: 500 }))
      .get("/err", () => Response.error());
    const local = await app.request("/err");
    const remote = fromLatin1(
      await exchangeRaw(app.fetch, "GET /err HTTP/1.1\r\nHost: x\r\n\r\n", {
        onError: () => new Response("serve onError", { status: 500 }),
      }),
    );
    assert.equal(local.status, 500);
    assert.equal(await local.text(), "router onError");
    assert.match(remote, /^HTTP\/1\.1 500 [^]*\r\n\r\nrouter onError$/);
  },
});

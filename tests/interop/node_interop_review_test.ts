// deno-lint-ignore-file no-console
// Interoperability with Node.js (v20), a peer nobody here wrote, both ways:
// h1's client (HTTPConnection, Pool, request()) against `http.createServer`,
// and Node's clients (`http.request` with a keep-alive Agent, `fetch`, which
// is undici) against h1's servers (serve() and HTTPServer). Node runs as a
// subprocess; every test skips with a message when `node` is missing.
import assert from "node:assert/strict";
import { HTTPConnection } from "../../client/http_connection.ts";
import { Pool } from "../../client/pool.ts";
import { request } from "../../client/request.ts";
import {
  HTTPException,
  IncompleteRead,
  LineTooLong,
  ReadTimeout,
} from "../../client/errors.ts";
import { HTTPServer, ThreadingHTTPServer } from "../../server/http_server.ts";
import { BaseHTTPRequestHandler } from "../../server/request_handler.ts";
import { delay, hasCommand, startServer } from "../server/_raw.ts";

const hasNode = await hasCommand("node", ["--version"]);
if (!hasNode) console.error("skipping Node interop tests: node is not on PATH");

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------
// Node as a server

/** A Node `http.createServer` child process. */
interface NodeServer extends AsyncDisposable {
  port: number;
  /** JSON lines the script printed with `log(...)`, in order. */
  events: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts `node -e` with an `http.createServer(options, handler)` on
 * 127.0.0.1 port 0. `handler` is the body of `(req, res) => { ... }`;
 * `setup` runs after the server is made (e.g. `server.keepAliveTimeout =
 * 200`). `log(obj)` in either prints an event the test can read. Closing
 * stdin ends the process.
 */
async function nodeServer(
  handler: string,
  setup = "",
  options = "{}",
): Promise<NodeServer> {
  const script = `
const http = require("http");
const log = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
const server = http.createServer(${options}, (req, res) => { ${handler} });
${setup}
server.listen(0, "127.0.0.1", () => log({ listening: server.address().port }));
process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
});
`;
  const child = new Deno.Command("node", {
    args: ["-e", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const events: Record<string, unknown>[] = [];
  let resolvePort!: (port: number) => void;
  const portPromise = new Promise<number>((r) => resolvePort = r);
  const pump = (async () => {
    let buffered = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const event = JSON.parse(line);
        if (typeof event.listening === "number") {
          resolvePort(event.listening);
        } else events.push(event);
      }
    }
    resolvePort(-1);
  })();
  const port = await portPromise;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await child.stdin.close();
    } catch { /* already closed */ }
    await child.status;
    await pump;
  };
  if (port < 0) {
    await close();
    throw new Error("node server did not start");
  }
  return { port, events, close, [Symbol.asyncDispose]: close };
}

// ---------------------------------------------------------------------------
// Node as a client

/**
 * Runs `node -e script` with `PORT` in its environment; the script prints
 * one JSON line (its result) last. Returns the parsed result.
 */
async function runNode(
  script: string,
  port: number,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const full = `
const http = require("http");
const crypto = require("crypto");
const PORT = Number(process.env.PORT);
const done = (o) => { process.stdout.write(JSON.stringify(o) + "\\n"); process.exit(0); };
setTimeout(() => done({ error: "node script timed out" }), ${timeoutMs}).unref();
(async () => { ${script} })().catch((e) => done({ error: String(e && e.stack || e), code: e && e.code, cause: String(e && e.cause) }));
`;
  const out = await new Deno.Command("node", {
    args: ["-e", full],
    env: { PORT: String(port) },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = decoder.decode(out.stdout).trim();
  const last = stdout.split("\n").at(-1) ?? "";
  if (last === "") {
    throw new Error(
      `node printed nothing (code ${out.code}): ${decoder.decode(out.stderr)}`,
    );
  }
  return JSON.parse(last);
}

function sha256Hex(bytes: Uint8Array): Promise<string> {
  return crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)
    .then((d) =>
      Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0"))
        .join("")
    );
}

// ===========================================================================
// 1. h1's client against Node's server

// RFC 9112 §9.3: HTTP/1.1 connections persist by default; Node keeps them
// alive for keepAliveTimeout (5 s). Sequential requests reuse one socket.
Deno.test({
  name: "node server: HTTPConnection reuses one keep-alive socket",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.setHeader("content-type", "text/plain");
       res.end(req.method + " " + req.url + " " + req.socket.remotePort);`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    const ports = new Set<string>();
    for (const path of ["/a", "/b", "/c"]) {
      await conn.request("GET", path);
      const r = await conn.getresponse();
      assert.equal(r.status, 200);
      assert.equal(r.getheader("Connection"), "keep-alive");
      assert.equal(r.getheader("Keep-Alive"), "timeout=5");
      const [method, url, port] = decoder.decode(await r.read()).split(" ");
      assert.equal(method, "GET");
      assert.equal(url, path);
      ports.add(port!);
    }
    assert.equal(ports.size, 1);
  },
});

// RFC 9112 §9.3.1 / RFC 9110 §9.2.2: a client that meets a connection the
// server closed while idle may retry an idempotent request. Node's short
// keepAliveTimeout (1 ms, plus the 1 s buffer Node 20 adds) destroys the
// socket after about 1 s.
Deno.test({
  name:
    "node server: HTTPConnection retries GET after Node's keepAliveTimeout closed the socket",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `log({ url: req.url, port: req.socket.remotePort }); res.end("ok " + req.url);`,
      `server.keepAliveTimeout = 1;`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/first");
    assert.equal(
      decoder.decode(await (await conn.getresponse()).read()),
      "ok /first",
    );
    await delay(1300);
    await conn.request("GET", "/second");
    const r = await conn.getresponse();
    assert.equal(decoder.decode(await r.read()), "ok /second");
    assert.equal(node.events.length, 2);
    assert.notEqual(node.events[0]!.port, node.events[1]!.port);
  },
});

// The Pool watches idle connections (README): after Node's keepAliveTimeout
// closes one, even a POST (never retried) goes on a fresh connection.
Deno.test({
  name:
    "node server: Pool notices Node's idle close, so a POST after it succeeds",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `let body = ""; req.on("data", (d) => body += d);
       req.on("end", () => { log({ m: req.method, port: req.socket.remotePort }); res.end(req.method + ":" + body); });`,
      `server.keepAliveTimeout = 1;`,
    );
    using pool = new Pool();
    const origin = `http://127.0.0.1:${node.port}`;
    const r1 = await pool.request(origin, { path: "/" });
    assert.equal(decoder.decode(await r1.read()), "GET:");
    assert.equal(pool.stats.connections, 1);
    await delay(1300);
    assert.equal(pool.stats.connections, 0);
    const r2 = await pool.request(origin, {
      method: "POST",
      path: "/",
      body: "payload",
    });
    assert.equal(r2.status, 200);
    assert.equal(decoder.decode(await r2.read()), "POST:payload");
    assert.notEqual(node.events[0]!.port, node.events[1]!.port);
  },
});

// RFC 9110 §15.2: a client MUST be able to parse 1xx responses before the
// final one. Node sends 100 (writeContinue), 102 (writeProcessing) and 103
// Early Hints with Link fields (RFC 8297).
Deno.test({
  name:
    "node server: writeContinue, writeProcessing and writeEarlyHints come before the final response",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.writeContinue();
       res.writeProcessing();
       res.writeEarlyHints({ link: ["</a.css>; rel=preload; as=style", "</b.js>; rel=preload; as=script"] });
       setTimeout(() => res.end("final"), 20);`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/");
    const r = await conn.getresponse();
    assert.equal(r.status, 200);
    assert.equal(decoder.decode(await r.read()), "final");
    assert.deepEqual(r.informational.map((i) => i.status), [100, 102, 103]);
    const hints = r.informational[2]!.headers.get_all("link");
    assert.deepEqual(hints, [
      "</a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script",
    ]);
    // The connection is still good.
    await conn.request("GET", "/again");
    assert.equal(
      decoder.decode(await (await conn.getresponse()).read()),
      "final",
    );

    using pool = new Pool();
    const web = await request(`http://127.0.0.1:${node.port}/`, { pool });
    assert.equal(web.status, 200);
    assert.equal(await web.text(), "final");
  },
});

// RFC 9112 §7.1.2: trailer fields after the last chunk.
Deno.test({
  name: "node server: chunked body with addTrailers arrives with its trailers",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.setHeader("Trailer", "X-Checksum, X-Count");
       res.write("abc"); res.write("defgh");
       res.addTrailers({ "X-Checksum": "sum-1234", "X-Count": "2" });
       res.end();`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/");
    const r = await conn.getresponse();
    assert.equal(r.chunked, true);
    assert.equal(r.getheader("Transfer-Encoding"), "chunked");
    assert.equal(decoder.decode(await r.read()), "abcdefgh");
    assert.equal(r.trailers?.get("x-checksum"), "sum-1234");
    assert.equal(r.trailers?.get("X-Count"), "2");
    // Keep-alive survives the trailer section.
    const sock = conn.sock;
    await conn.request("GET", "/");
    assert.equal(
      decoder.decode(await (await conn.getresponse()).read()),
      "abcdefgh",
    );
    assert.equal(conn.sock, sock);
  },
});

// flushHeaders() sends the head at once; the body follows 300 ms later. The
// head must be usable before the body arrives (headersTimeoutMs covers the
// head only), and a body gap longer than bodyTimeoutMs is a named ReadTimeout.
Deno.test({
  name:
    "node server: flushHeaders then a slow body: head first, body timeout is a ReadTimeout",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.setHeader("content-type", "text/plain"); res.flushHeaders();
       setTimeout(() => res.write("part1-"), 300);
       setTimeout(() => res.end("part2"), 600);`,
    );
    using pool = new Pool();
    const origin = `http://127.0.0.1:${node.port}`;
    const started = performance.now();
    const r = await pool.request(origin, { headersTimeoutMs: 250 });
    assert.ok(performance.now() - started < 250, "head arrived before body");
    assert.equal(r.chunked, true);
    assert.equal(decoder.decode(await r.read()), "part1-part2");

    const slow = await pool.request(origin, { bodyTimeoutMs: 100 });
    await assert.rejects(slow.read(), ReadTimeout);
  },
});

// RFC 9112 §9.6: "Connection: close" means the connection ends after this
// response; the next request opens a new one.
Deno.test({
  name:
    "node server: Connection: close opens a new socket for the next request",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.setHeader("Connection", "close"); res.end(String(req.socket.remotePort));`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/");
    const r1 = await conn.getresponse();
    assert.equal(r1.will_close, true);
    const p1 = decoder.decode(await r1.read());
    await conn.request("GET", "/");
    const r2 = await conn.getresponse();
    const p2 = decoder.decode(await r2.read());
    assert.notEqual(p1, p2);

    using pool = new Pool();
    const bodies = [];
    for (let i = 0; i < 3; i++) {
      const r = await request(`http://127.0.0.1:${node.port}/`, { pool });
      bodies.push(await r.text());
    }
    assert.equal(new Set(bodies).size, 3);
  },
});

// RFC 9110 §9.3.2 / §15.3.5 / §15.4.5: HEAD, 204 and 304 have no content
// whatever their headers say; the connection goes on.
Deno.test({
  name: "node server: HEAD, 204 and 304 carry no body and keep the connection",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.setHeader("Content-Length", "11");
       if (req.url === "/204") { res.statusCode = 204; res.end(); return; }
       if (req.url === "/304") { res.statusCode = 304; res.setHeader("ETag", '"x"'); res.end(); return; }
       if (req.url === "/chunked") { res.removeHeader("Content-Length"); res.write("streamed"); res.end(); return; }
       res.end("hello world");`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    const sock = () => conn.sock;
    await conn.request("HEAD", "/");
    let r = await conn.getresponse();
    assert.equal(r.getheader("Content-Length"), "11");
    assert.equal((await r.read()).length, 0);
    const first = sock();
    await conn.request("HEAD", "/chunked");
    r = await conn.getresponse();
    assert.equal((await r.read()).length, 0);
    await conn.request("GET", "/204");
    r = await conn.getresponse();
    assert.equal(r.status, 204);
    assert.equal((await r.read()).length, 0);
    await conn.request("GET", "/304");
    r = await conn.getresponse();
    assert.equal(r.status, 304);
    assert.equal(r.getheader("ETag"), '"x"');
    assert.equal((await r.read()).length, 0);
    await conn.request("GET", "/");
    r = await conn.getresponse();
    assert.equal(decoder.decode(await r.read()), "hello world");
    assert.equal(sock(), first);

    using pool = new Pool({ pipelining: 4, maxConnectionsPerOrigin: 1 });
    const origin = `http://127.0.0.1:${node.port}`;
    const results = await Promise.all(
      ([["HEAD", "/"], ["GET", "/204"], ["GET", "/304"], [
        "HEAD",
        "/chunked",
      ], ["GET", "/"]] as const).map(async ([method, path]) => {
        const x = await pool.request(origin, { method, path });
        return `${x.status}:${decoder.decode(await x.read())}`;
      }),
    );
    assert.deepEqual(results, [
      "200:",
      "204:",
      "304:",
      "200:",
      "200:hello world",
    ]);
  },
});

// RFC 9112 §6.3 / §8: a message cut short by the connection closing is
// incomplete; the client must say so (IncompleteRead), never hand out a
// short body as if it were whole.
Deno.test({
  name:
    "node server: res.destroy() mid-body is an IncompleteRead (length and chunked), also through request()",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `if (req.url === "/length") res.setHeader("Content-Length", "100");
       res.write("0123456789");
       setTimeout(() => res.destroy(), 50);`,
    );
    for (const path of ["/length", "/chunked"]) {
      using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
      await conn.request("GET", path);
      const r = await conn.getresponse();
      const error = await r.read().then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(error instanceof IncompleteRead, `${path}: ${error}`);
      assert.equal(decoder.decode(error.partial), "0123456789");
    }
    using pool = new Pool();
    for (const path of ["/length", "/chunked"]) {
      const web = await request(`http://127.0.0.1:${node.port}${path}`, {
        pool,
      });
      await assert.rejects(web.text(), IncompleteRead);
    }
  },
});

// RFC 9112 §9.3.2: responses to pipelined requests come back in order, and
// the client matches them by position (§9.2): Node answers one after another,
// some with 103 + 102 interim heads first (RFC 9110 §15.2), some 204, some
// chunked and slow, some to HEAD (no body, §6.3 (1)).
Deno.test({
  name:
    "node server: Pool pipelines 20 mixed requests (1xx, HEAD, 204, chunked) on one socket, matched in order",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `log({ port: req.socket.remotePort });
       const n = Number(req.url.slice(1));
       if (n % 2 === 0) { res.writeEarlyHints({ link: "</x" + n + ">; rel=preload" }); res.writeProcessing(); }
       if (n % 3 === 0) { res.statusCode = 204; setTimeout(() => res.end(), 10); return; }
       if (n % 5 === 0) { res.write("b" + n + "-"); setTimeout(() => res.end("end"), 10); return; }
       res.end("b" + n);`,
    );
    using pool = new Pool({ pipelining: 8, maxConnectionsPerOrigin: 1 });
    const origin = `http://127.0.0.1:${node.port}`;
    const out = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const method = i % 4 === 1 ? "HEAD" : "GET";
        const r = await pool.request(origin, { path: `/${i}`, method });
        return `${i} ${method} ${r.status} ${decoder.decode(await r.read())}`;
      }),
    );
    assert.deepEqual(out, [
      "0 GET 204 ",
      "1 HEAD 200 ",
      "2 GET 200 b2",
      "3 GET 204 ",
      "4 GET 200 b4",
      "5 HEAD 200 ",
      "6 GET 204 ",
      "7 GET 200 b7",
      "8 GET 200 b8",
      "9 HEAD 204 ",
      "10 GET 200 b10-end",
      "11 GET 200 b11",
      "12 GET 204 ",
      "13 HEAD 200 ",
      "14 GET 200 b14",
      "15 GET 204 ",
      "16 GET 200 b16",
      "17 HEAD 200 ",
      "18 GET 204 ",
      "19 GET 200 b19",
    ]);
    assert.equal(new Set(node.events.map((e) => e.port)).size, 1);
  },
});

// Fixed bug: RFC 9112 §9.3.2: a client that pipelines SHOULD retry the requests
// a closed connection left unanswered. The Pool resent each one only once, so
// past a server's per-connection cap (Node's maxRequestsPerSocket = 3, nginx's
// keepalive_requests) eight pipelined GETs lost /4 and /7 to
// RemoteDisconnected. Requests the server never processed (it closed at a
// message boundary) are now sent again, up to eight times.
Deno.test({
  name:
    "node server: Pool pipelining past Node's maxRequestsPerSocket retries every unanswered GET",
  async fn() {
    await using node = await nodeServer(
      `res.end("body" + req.url);`,
      `server.maxRequestsPerSocket = 3;`,
    );
    using pool = new Pool({ pipelining: 8, maxConnectionsPerOrigin: 1 });
    const origin = `http://127.0.0.1:${node.port}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        try {
          const r = await pool.request(origin, { path: `/${i}` });
          return `${r.status}:${decoder.decode(await r.read())}`;
        } catch (error) {
          return `error:${(error as Error).name}`;
        }
      }),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 8 }, (_, i) => `200:body/${i}`),
    );
  },
});

// RFC 9110 §10.1.1: with Expect: 100-continue the client waits for 100
// before the body; a final status instead means the body is not wanted.
// Node's 'checkContinue' event decides.
Deno.test({
  name:
    "node server: Expect: 100-continue through Node's checkContinue, accepted and refused",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.end("plain");`,
      `server.on("checkContinue", (req, res) => {
         if (req.url === "/refuse") {
           req.on("data", (d) => log({ refusedGotBody: d.length }));
           res.writeHead(413, { "Content-Type": "text/plain" });
           res.end("too big");
           return;
         }
         res.writeContinue();
         let body = ""; req.on("data", (d) => body += d);
         req.on("end", () => res.end("got " + body));
       });`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("POST", "/accept", "hello body", {
      Expect: "100-continue",
    });
    const ok = await conn.getresponse();
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.informational.map((i) => i.status), [100]);
    assert.equal(decoder.decode(await ok.read()), "got hello body");

    const started = performance.now();
    await conn.request("POST", "/refuse", "x".repeat(50_000), {
      Expect: "100-continue",
    });
    const refused = await conn.getresponse();
    assert.ok(performance.now() - started < 900, "did not wait the timeout");
    assert.equal(refused.status, 413);
    assert.equal(decoder.decode(await refused.read()), "too big");
    assert.equal(refused.will_close, true);
    // The connection is usable again (a new socket).
    await conn.request("GET", "/");
    assert.equal(
      decoder.decode(await (await conn.getresponse()).read()),
      "plain",
    );
    await delay(50);
    assert.deepEqual(node.events, []);
  },
});

// RFC 9112 §6.3 (5) and §6.3 last paragraph: bytes after a Content-Length
// body are not the next response. Node (strictContentLength off) sends
// "toolongbody" after "Content-Length: 5"; the client takes 5 bytes and must
// not reuse the connection (the rest would read as a response).
Deno.test({
  name:
    "node server: a body longer than Node's Content-Length is cut and the socket dropped",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `if (req.url === "/mismatch") { res.writeHead(200, { "Content-Length": 5 }); res.end("toolongbody"); return; }
       res.end("fine " + req.socket.remotePort);`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/x");
    const before = decoder.decode(await (await conn.getresponse()).read());
    await conn.request("GET", "/mismatch");
    const r = await conn.getresponse();
    assert.equal(decoder.decode(await r.read()), "toolo");
    await conn.request("GET", "/x");
    const after = await conn.getresponse();
    assert.equal(after.status, 200);
    const text = decoder.decode(await after.read());
    assert.match(text, /^fine \d+$/);
    assert.notEqual(text, before);

    using pool = new Pool({ pipelining: 4, maxConnectionsPerOrigin: 1 });
    const origin = `http://127.0.0.1:${node.port}`;
    const m = await pool.request(origin, { path: "/mismatch" });
    assert.equal(decoder.decode(await m.read()), "toolo");
    const next = await pool.request(origin, { path: "/x" });
    assert.match(decoder.decode(await next.read()), /^fine \d+$/);
  },
});

// RFC 9112 §6.3 (3): Content-Length beside Transfer-Encoding "ought to be
// handled as an error"; Node sends both when the handler sets both. The
// client must fail with a named error, not guess.
Deno.test({
  name:
    "node server: Content-Length with Transfer-Encoding from Node is a named HTTPException",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.setHeader("Content-Length", "5"); res.setHeader("Transfer-Encoding", "chunked"); res.end("hello");`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/");
    const error = await conn.getresponse().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof HTTPException, String(error));
    assert.equal(error.code, "CONTENT_LENGTH_WITH_TRANSFER_ENCODING");
  },
});

// Node sends response heads of any size; h1's client caps the head at 16 KiB
// (README, limits). Just under: accepted; just over: a LineTooLong.
Deno.test({
  name:
    "node server: a 15 KiB response header is read, a 17 KiB one is LineTooLong",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `const n = Number(req.url.slice(1)); res.setHeader("X-Big", "v".repeat(n)); res.end("ok");`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/15000");
    const r = await conn.getresponse();
    assert.equal(r.getheader("X-Big")?.length, 15000);
    assert.equal(decoder.decode(await r.read()), "ok");
    await conn.request("GET", "/17000");
    await assert.rejects(conn.getresponse(), LineTooLong);
    // A request header just under Node's 16 KiB request limit reaches Node.
    await conn.request("GET", "/1", null, { "X-Req": "q".repeat(15000) });
    const again = await conn.getresponse();
    assert.equal(again.status, 200);
    await again.read();
  },
});

// Several Set-Cookie fields stay separate (RFC 9110 §5.3, RFC 6265 §3).
Deno.test({
  name:
    "node server: repeated Set-Cookie fields stay separate through HTTPConnection and request()",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.setHeader("Set-Cookie", ["a=1; Path=/", "b=2, c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT"]);
       res.setHeader("X-List", ["one", "two"]);
       res.end("x");`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/");
    const r = await conn.getresponse();
    await r.read();
    assert.deepEqual(r.headers.get_all("set-cookie"), [
      "a=1; Path=/",
      "b=2, c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    ]);
    assert.equal(r.getheader("x-list"), "one, two");
    using pool = new Pool();
    const web = await request(`http://127.0.0.1:${node.port}/`, { pool });
    await web.body?.cancel();
    assert.deepEqual(web.headers.getSetCookie(), [
      "a=1; Path=/",
      "b=2, c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    ]);
    assert.equal(web.headers.get("x-list"), "one, two");
  },
});

// ===========================================================================
// 2. Node's clients against h1's servers

// RFC 9112 §9.3: a keep-alive Agent sends every request on one socket.
Deno.test({
  name: "node client: Agent({ keepAlive }) reuses one socket against serve()",
  ignore: !hasNode,
  async fn() {
    await using server = startServer((req, info) =>
      new Response(`${new URL(req.url).pathname} ${info.remoteAddr.port}`)
    );
    const result = await runNode(
      `const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
       const out = [];
       for (let i = 0; i < 5; i++) {
         out.push(await new Promise((resolve, reject) => {
           const req = http.get({ port: PORT, host: "127.0.0.1", path: "/r" + i, agent }, (res) => {
             let body = ""; res.setEncoding("utf8");
             res.on("data", (d) => body += d);
             res.on("end", () => resolve({ body, reused: req.reusedSocket, ka: res.headers["keep-alive"] }));
           });
           req.on("error", reject);
         }));
       }
       agent.destroy();
       done({ out });`,
      server.addr.port,
    );
    assert.equal(result.error, undefined, String(result.error));
    const out = result.out as { body: string; reused: boolean; ka: string }[];
    assert.deepEqual(out.map((o) => o.body.split(" ")[0]), [
      "/r0",
      "/r1",
      "/r2",
      "/r3",
      "/r4",
    ]);
    assert.equal(new Set(out.map((o) => o.body.split(" ")[1])).size, 1);
    assert.deepEqual(out.map((o) => o.reused), [false, true, true, true, true]);
    assert.equal(out[0]!.ka, "timeout=5");
  },
});

// RFC 9112 §9.6: the last response on a capped connection says
// Connection: close, so the Agent never writes into a closing socket.
Deno.test({
  name:
    "node client: maxRequestsPerConnection 2 closes cleanly for a keep-alive Agent",
  ignore: !hasNode,
  async fn() {
    await using server = startServer(
      (_req, info) => new Response(String(info.remoteAddr.port)),
      { limits: { maxRequestsPerConnection: 2 } },
    );
    const result = await runNode(
      `const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
       const out = [];
       for (let i = 0; i < 5; i++) {
         out.push(await new Promise((resolve, reject) => {
           const req = http.get({ port: PORT, host: "127.0.0.1", path: "/", agent }, (res) => {
             let body = ""; res.on("data", (d) => body += d);
             res.on("end", () => resolve(body + " " + (res.headers.connection || "-")));
           });
           req.on("error", (e) => resolve("error " + e.code));
         }));
       }
       agent.destroy();
       done({ out });`,
      server.addr.port,
    );
    const out = result.out as string[];
    assert.ok(out.every((o) => !o.startsWith("error")), out.join("|"));
    const ports = out.map((o) => o.split(" ")[0]);
    assert.equal(ports[0], ports[1]);
    assert.equal(ports[2], ports[3]);
    assert.notEqual(ports[1], ports[2]);
    assert.deepEqual(out.map((o) => o.split(" ")[1]), [
      "-",
      "close",
      "-",
      "close",
      "-",
    ]);
  },
});

const EXPECT_CLIENT = `
  const send = (path, body) => new Promise((resolve) => {
    let gotContinue = false;
    const req = http.request({ port: PORT, host: "127.0.0.1", method: "POST", path,
      headers: { "Expect": "100-continue", "Content-Length": Buffer.byteLength(body) } });
    req.on("continue", () => { gotContinue = true; req.end(body); });
    req.on("response", (res) => {
      let text = ""; res.on("data", (d) => text += d);
      res.on("end", () => { resolve({ status: res.statusCode, text, gotContinue, connection: res.headers.connection ?? null }); req.destroy(); });
    });
    req.on("error", (e) => resolve({ error: e.code || String(e), gotContinue }));
  });
`;

// RFC 9110 §10.1.1: 100 Continue once the handler reads the body; a final
// status without reading it, and the client never sends the body.
Deno.test({
  name:
    "node client: Expect: 100-continue against serve(), read (continue event) and refused (no continue)",
  ignore: !hasNode,
  async fn() {
    let refusedRan = false;
    await using server = startServer(async (req) => {
      if (new URL(req.url).pathname === "/refuse") {
        refusedRan = true;
        return new Response("no thanks", { status: 413 });
      }
      return new Response("echo " + await req.text());
    });
    const result = await runNode(
      `${EXPECT_CLIENT}
       done({ ok: await send("/read", "hello"), refused: await send("/refuse", "x".repeat(100000)) });`,
      server.addr.port,
    );
    assert.deepEqual(result.ok, {
      status: 200,
      text: "echo hello",
      gotContinue: true,
      connection: null,
    });
    assert.deepEqual(result.refused, {
      status: 413,
      text: "no thanks",
      gotContinue: false,
      connection: "close",
    });
    assert.equal(refusedRan, true);
  },
});

// The Python face answers Expect: 100-continue through handle_expect_100()
// (HTTP/1.1 protocol_version), as CPython's http.server does.
Deno.test({
  name:
    "node client: Expect: 100-continue against HTTPServer with a BaseHTTPRequestHandler",
  ignore: !hasNode,
  async fn() {
    class Echo extends BaseHTTPRequestHandler {
      override protocol_version = "HTTP/1.1";
      override log_message(): void {}
      async do_POST() {
        const n = Number(this.headers.get("Content-Length") ?? "0");
        const body = await this.rfile.read(n);
        const out = encoder.encode("echo " + decoder.decode(body));
        this.send_response(200);
        this.send_header("Content-Length", out.length);
        this.end_headers();
        this.wfile.write(out);
      }
    }
    const httpd = new HTTPServer(["127.0.0.1", 0], Echo);
    const serving = httpd.serve_forever();
    try {
      const result = await runNode(
        `${EXPECT_CLIENT}
         done({ ok: await send("/", "hello python") });`,
        httpd.server_address[1],
      );
      assert.deepEqual(result.ok, {
        status: 200,
        text: "echo hello python",
        gotContinue: true,
        connection: null,
      });
    } finally {
      httpd.shutdown();
      await serving;
      await httpd.server_close();
    }
  },
});

// RFC 9112 §7.1: a chunked request body of many chunk sizes (1 byte up to
// 70 000) arrives whole; Node frames req.write() without a length as chunked
// and may add trailers (§7.1.2).
Deno.test({
  name:
    "node client: chunked upload with trailers arrives whole at serve() and HTTPServer",
  ignore: !hasNode,
  async fn() {
    await using server = startServer(async (req) => {
      const body = new Uint8Array(await req.arrayBuffer());
      return Response.json({
        te: req.headers.get("transfer-encoding"),
        length: body.length,
        sha: await sha256Hex(body),
      });
    });
    class Sha extends BaseHTTPRequestHandler {
      override protocol_version = "HTTP/1.1";
      override log_message(): void {}
      async do_PUT() {
        const body = await this.rfile.read();
        const out = encoder.encode(JSON.stringify({
          te: this.headers.get("Transfer-Encoding"),
          length: body.length,
          sha: await sha256Hex(body),
        }));
        this.send_response(200);
        this.send_header("Content-Length", out.length);
        this.end_headers();
        this.wfile.write(out);
      }
    }
    const httpd = new HTTPServer(["127.0.0.1", 0], Sha);
    const serving = httpd.serve_forever();
    const script = `
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const sizes = [1, 2, 100, 4096, 70000, 3, 65536, 16385, 1];
      const upload = (method, trailers) => new Promise((resolve) => {
        const hash = crypto.createHash("sha256"); let length = 0;
        const req = http.request({ port: PORT, host: "127.0.0.1", method, path: "/", agent });
        req.on("response", (res) => {
          let text = ""; res.on("data", (d) => text += d);
          res.on("end", () => resolve({ status: res.statusCode, got: JSON.parse(text), sent: { length, sha: hash.digest("hex") }, reused: req.reusedSocket }));
        });
        req.on("error", (e) => resolve({ error: e.code }));
        let i = 0;
        const step = () => {
          if (i === sizes.length) { if (trailers) req.addTrailers({ "X-Sum": "abc" }); req.end(); return; }
          const chunk = crypto.randomBytes(sizes[i++]);
          hash.update(chunk); length += chunk.length;
          req.write(chunk); setImmediate(step);
        };
        step();
      });
      const a = await upload(process.env.METHOD, false);
      const b = await upload(process.env.METHOD, true);
      agent.destroy();
      done({ a, b });`;
    try {
      for (
        const [port, method] of [
          [server.addr.port, "POST"],
          [httpd.server_address[1], "PUT"],
        ] as const
      ) {
        Deno.env.set("METHOD", method);
        const result = await runNode(script, port);
        for (const key of ["a", "b"]) {
          const r = result[key] as {
            status: number;
            got: { te: string; length: number; sha: string };
            sent: { length: number; sha: string };
            reused: boolean;
          };
          assert.equal(r.status, 200, `${method} ${key}: ${JSON.stringify(r)}`);
          assert.equal(r.got.te, "chunked");
          assert.equal(r.got.length, r.sent.length);
          assert.equal(r.got.sha, r.sent.sha);
          assert.equal(r.reused, key === "b");
        }
      }
    } finally {
      Deno.env.delete("METHOD");
      httpd.shutdown();
      await serving;
      await httpd.server_close();
    }
  },
});

// RFC 9110 §5.5: field values may hold HTAB and obs-text and may be empty;
// leading and trailing whitespace is not part of the value. RFC 9110 §5.6.2:
// any tchar is legal in a name. Repeated fields combine with ", " (§5.3).
// Node sends all of these as given (obs-text as Latin-1 bytes). The target
// holds characters browsers and Node send unencoded (| ^ { } " `).
Deno.test({
  name:
    "node client: odd but legal header values and target characters reach serve() and HTTPServer intact",
  ignore: !hasNode,
  async fn() {
    await using server = startServer((req) =>
      Response.json({ url: req.url, headers: [...req.headers] })
    );
    let python: { path: string; headers: [string, string][] } | null = null;
    class Dump extends BaseHTTPRequestHandler {
      override protocol_version = "HTTP/1.1";
      override log_message(): void {}
      do_GET() {
        python = { path: this.path, headers: this.headers.items() };
        this.send_response(204);
        this.end_headers();
      }
    }
    const httpd = new HTTPServer(["127.0.0.1", 0], Dump);
    const serving = httpd.serve_forever();
    const target = '/a|b^c?q={x}|"y"`';
    const script = `
      const req = http.request({ port: PORT, host: "127.0.0.1", path: ${
      JSON.stringify(target)
    } });
      req.setHeader("X-Tab", "a\\tb");
      req.setHeader("X-Empty", "");
      req.setHeader("X-Latin", "caf\\u00e9");
      req.setHeader("X-Pad", " \\t padded \\t ");
      req.setHeader("X-Tchar!#$%&'*+.^_\`|~", "ok");
      req.setHeader("X-Multi", ["one", "two"]);
      req.setHeader("X-Quoted", '"a, b", c');
      req.setHeader("X-Long", "L".repeat(8000));
      req.on("response", (res) => {
        let text = ""; res.setEncoding("latin1"); res.on("data", (d) => text += d);
        res.on("end", () => done({ status: res.statusCode, text }));
      });
      req.on("error", (e) => done({ error: e.code }));
      req.end();`;
    try {
      const web = await runNode(script, server.addr.port);
      assert.equal(web.status, 200, JSON.stringify(web));
      const seen = JSON.parse(
        decoder.decode(
          Uint8Array.from(web.text as string, (c) => c.charCodeAt(0)),
        ),
      ) as { url: string; headers: [string, string][] };
      const base = `http://127.0.0.1:${server.addr.port}`;
      assert.equal(seen.url, new URL(target, base).href);
      const h = new Map(seen.headers);
      assert.equal(h.get("x-tab"), "a\tb");
      assert.equal(h.get("x-empty"), "");
      assert.equal(h.get("x-latin"), "caf\u00e9");
      assert.equal(h.get("x-pad"), "padded");
      assert.equal(h.get("x-tchar!#$%&'*+.^_`|~"), "ok");
      assert.equal(h.get("x-multi"), "one, two");
      assert.equal(h.get("x-quoted"), '"a, b", c');
      assert.equal(h.get("x-long")?.length, 8000);

      const py = await runNode(script, httpd.server_address[1]);
      assert.equal(py.status, 204, JSON.stringify(py));
      const got = python as unknown as {
        path: string;
        headers: [string, string][];
      };
      assert.equal(got.path, target);
      const ph = new Map(got.headers);
      assert.equal(ph.get("X-Tab"), "a\tb");
      assert.equal(ph.get("X-Empty"), "");
      assert.equal(ph.get("X-Latin"), "caf\u00e9");
      assert.equal(ph.get("X-Pad"), "padded");
      assert.equal(ph.get("X-Tchar!#$%&'*+.^_`|~"), "ok");
      assert.deepEqual(
        got.headers.filter(([n]) => n === "X-Multi").map(([, v]) => v),
        ["one", "two"],
      );
    } finally {
      httpd.shutdown();
      await serving;
      await httpd.server_close();
    }
  },
});

// Backpressure (RFC 9112 does not say it; a server that buffers without
// bound lets one slow reader exhaust memory): while Node's response is
// paused, serve() must stop pulling the body stream.
Deno.test({
  name:
    "node client: a paused http.get stops serve() pulling a 48 MiB stream; resumed, every byte arrives",
  ignore: !hasNode,
  async fn() {
    const TOTAL = 48 * 1024 * 1024;
    const CHUNK = 64 * 1024;
    let produced = 0;
    await using server = startServer((req) => {
      if (new URL(req.url).pathname === "/probe") {
        return new Response(String(produced));
      }
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (produced >= TOTAL) {
              controller.close();
              return;
            }
            const chunk = new Uint8Array(CHUNK).fill((produced / CHUNK) % 251);
            produced += CHUNK;
            controller.enqueue(chunk);
          },
        }),
      );
    });
    const result = await runNode(
      `const probe = () => new Promise((resolve) => http.get({ port: PORT, host: "127.0.0.1", path: "/probe", agent: false }, (res) => {
         let t = ""; res.on("data", (d) => t += d); res.on("end", () => resolve(Number(t)));
       }));
       const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
       http.get({ port: PORT, host: "127.0.0.1", path: "/big" }, (res) => {
         const hash = crypto.createHash("sha256"); let total = 0; let paused = false;
         let probes = null;
         res.on("data", async (d) => {
           hash.update(d); total += d.length;
           if (!paused && total > 1024 * 1024) {
             paused = true; res.pause();
             await sleep(300); const p1 = await probe(); await sleep(300); const p2 = await probe();
             probes = [p1, p2]; res.resume();
           }
         });
         res.on("end", () => done({ total, sha: hash.digest("hex"), probes, te: res.headers["transfer-encoding"] }));
         res.on("error", (e) => done({ error: e.code }));
       });`,
      server.addr.port,
      20_000,
    );
    assert.equal(result.error, undefined, String(result.error));
    const expected = new Uint8Array(TOTAL);
    for (let at = 0; at < TOTAL; at += CHUNK) {
      expected.fill((at / CHUNK) % 251, at, at + CHUNK);
    }
    assert.equal(result.total, TOTAL);
    assert.equal(result.sha, await sha256Hex(expected));
    assert.equal(result.te, "chunked");
    const [p1, p2] = result.probes as [number, number];
    assert.equal(p1, p2, "no progress while the client is paused");
    assert.ok(p1 < TOTAL / 2, `pulled ${p1} bytes ahead of a paused client`);
  },
});

// A client that goes away mid-response: the body stream is cancelled and
// request.signal aborts (README, "Client disconnects"), and the server goes
// on serving.
Deno.test({
  name:
    "node client: req.destroy() mid-response cancels serve()'s stream and aborts request.signal",
  ignore: !hasNode,
  async fn() {
    let timer: ReturnType<typeof setInterval> | undefined;
    const { promise: cancelled, resolve: onCancel } = Promise
      .withResolvers<unknown>();
    const { promise: aborted, resolve: onAbort } = Promise.withResolvers<
      void
    >();
    await using server = startServer((req) => {
      if (new URL(req.url).pathname === "/ok") return new Response("still up");
      req.signal.addEventListener("abort", () => onAbort());
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            timer = setInterval(
              () => controller.enqueue(encoder.encode("tick\n")),
              20,
            );
          },
          cancel(reason) {
            clearInterval(timer);
            onCancel(reason);
          },
        }),
      );
    });
    try {
      const result = await runNode(
        `const req = http.get({ port: PORT, host: "127.0.0.1", path: "/stream" }, (res) => {
           let n = 0;
           res.on("data", () => { if (++n === 3) { req.destroy(); } });
         });
         req.on("close", () => setTimeout(() => {
           http.get({ port: PORT, host: "127.0.0.1", path: "/ok", agent: false }, (res) => {
             let t = ""; res.on("data", (d) => t += d); res.on("end", () => done({ after: t }));
           });
         }, 50));
         req.on("error", () => {});`,
        server.addr.port,
      );
      assert.equal(result.after, "still up");
      const outcome = await Promise.race([
        Promise.all([cancelled, aborted]).then(() => "both"),
        delay(2000).then(() => "timeout"),
      ]);
      assert.equal(outcome, "both");
    } finally {
      clearInterval(timer);
    }
  },
});

// A handler with every framing h1's serve() produces: Content-Length from a
// string, bytes and a stream that ends at once; chunked from a slow stream; a
// handler's own Content-Length on a stream; no body for HEAD, 204, 304; an
// empty body; a redirect; repeated Set-Cookie.
function kitchenSink(req: Request): Response | Promise<Response> {
  const path = new URL(req.url).pathname;
  const later = (parts: string[], ms = 5) => {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        await delay(ms);
        if (i === parts.length) controller.close();
        else controller.enqueue(encoder.encode(parts[i++]!));
      },
    });
  };
  switch (path) {
    case "/text":
      return new Response("hello");
    case "/bytes":
      return new Response(new Uint8Array(300_000).fill(0x62));
    case "/stream":
      return new Response(later(["one-", "two-", "three"]));
    case "/declared":
      return new Response(later(["abc", "def"]), {
        headers: { "content-length": "6" },
      });
    case "/204":
      return new Response(null, { status: 204 });
    case "/304":
      return new Response(null, { status: 304, headers: { etag: '"v1"' } });
    case "/empty":
      return new Response(null);
    case "/redirect":
      return new Response(null, {
        status: 302,
        headers: { location: "/text" },
      });
    case "/cookies": {
      const headers = new Headers();
      headers.append("set-cookie", "a=1");
      headers.append("set-cookie", "b=2; Path=/");
      return new Response("c", { headers });
    }
    case "/echo":
      return req.arrayBuffer().then((b) => new Response(`len=${b.byteLength}`));
    default:
      return new Response("not found", { status: 404 });
  }
}

const SINK_PATHS = [
  "/text",
  "/bytes",
  "/stream",
  "/declared",
  "/204",
  "/304",
  "/empty",
  "/redirect",
  "/cookies",
];

// What undici (Node's fetch) should see for each kitchen-sink path, GET and
// HEAD: status, body length, framing headers. undici rejects malformed
// framing, so any error here is an h1 bug (RFC 9112 §6).
const FETCH_ALL = `
  const paths = ${JSON.stringify(SINK_PATHS)};
  const one = async (method, path) => {
    try {
      const res = await fetch("http://127.0.0.1:" + PORT + path, { method });
      const body = res.body === null ? null : Buffer.from(await res.arrayBuffer());
      return [method, path, res.status, body === null ? null : body.length,
        res.headers.get("content-length"), res.headers.get("transfer-encoding"),
        res.redirected, res.headers.getSetCookie().join("|")].join(" ");
    } catch (e) {
      return [method, path, "ERROR", e.cause ? e.cause.code || e.cause.message : e.message].join(" ");
    }
  };
`;

const FETCH_EXPECTED = [
  "GET /text 200 5 5  false ",
  "GET /bytes 200 300000 300000  false ",
  "GET /stream 200 13  chunked false ",
  "GET /declared 200 6 6  false ",
  "GET /204 204    false ",
  "GET /304 304    false ",
  "GET /empty 200 0 0  false ",
  "GET /redirect 200 5 5  true ",
  "GET /cookies 200 1 1  false a=1|b=2; Path=/",
  "HEAD /text 200  5  false ",
  "HEAD /bytes 200  300000  false ",
  "HEAD /stream 200    false ",
  "HEAD /declared 200  6  false ",
  "HEAD /204 204    false ",
  "HEAD /304 304    false ",
  // README: a HEAD answered with no body and no declared length gets no
  // Content-Length (GET's length is unknown); deliberate.
  "HEAD /empty 200    false ",
  "HEAD /redirect 200  5  true ",
  "HEAD /cookies 200  1  false a=1|b=2; Path=/",
];

Deno.test({
  name:
    "node fetch: undici reads every framing serve() produces, one request at a time",
  ignore: !hasNode,
  async fn() {
    await using server = startServer(kitchenSink);
    const result = await runNode(
      `${FETCH_ALL}
       const out = [];
       for (const method of ["GET", "HEAD"]) for (const path of paths) out.push(await one(method, path));
       done({ out });`,
      server.addr.port,
    );
    // (undici alternates between two sockets and drops one after each HEAD,
    // against Node's own server too, so the socket count says nothing here.)
    assert.deepEqual(result.out, FETCH_EXPECTED);
  },
});

Deno.test({
  name:
    "node fetch: 36 concurrent undici requests against serve() all frame correctly",
  ignore: !hasNode,
  async fn() {
    await using server = startServer(kitchenSink);
    const result = await runNode(
      `${FETCH_ALL}
       const jobs = [];
       for (const method of ["GET", "HEAD"]) for (const path of paths) { jobs.push(one(method, path)); jobs.push(one(method, path)); }
       done({ out: await Promise.all(jobs) });`,
      server.addr.port,
    );
    assert.deepEqual(
      result.out,
      FETCH_EXPECTED.flatMap((line) => [line, line]),
    );
  },
});

// undici's fetch with a streamed request body (duplex: "half") sends it
// chunked; serve() reads it whole.
Deno.test({
  name:
    "node fetch: streamed upload (duplex half) and a Uint8Array body reach serve()",
  ignore: !hasNode,
  async fn() {
    await using server = startServer(kitchenSink);
    const result = await runNode(
      `const url = "http://127.0.0.1:" + PORT + "/echo";
       let i = 0;
       const stream = new ReadableStream({ pull(c) { if (i++ === 20) c.close(); else c.enqueue(new Uint8Array(10000)); } });
       const a = await (await fetch(url, { method: "POST", body: stream, duplex: "half" })).text();
       const b = await (await fetch(url, { method: "PUT", body: new Uint8Array(123456) })).text();
       const c = await (await fetch(url, { method: "POST" })).text();
       done({ out: [a, b, c] });`,
      server.addr.port,
    );
    assert.deepEqual(result.out, ["len=200000", "len=123456", "len=0"]);
  },
});

// The Python face as Python writes it: HTTP/1.0 (close-delimited bodies, no
// keep-alive) by default, HTTP/1.1 with Content-Length when asked; send_error
// pages; 304; HEAD with the GET headers and no body (RFC 9110 §9.3.2).
Deno.test({
  name:
    "node fetch: undici reads ThreadingHTTPServer's HTTP/1.0 and HTTP/1.1 responses, HEAD and send_error included",
  ignore: !hasNode,
  async fn() {
    for (const protocol of ["HTTP/1.0", "HTTP/1.1"]) {
      class Site extends BaseHTTPRequestHandler {
        override protocol_version = protocol;
        override log_message(): void {}
        #answer(withBody: boolean) {
          if (this.path === "/missing") {
            this.send_error(404);
            return;
          }
          if (this.path === "/304") {
            this.send_response(304);
            this.send_header("ETag", '"v"');
            this.end_headers();
            return;
          }
          const body = encoder.encode("hello python");
          this.send_response(200);
          this.send_header("Content-Type", "text/plain");
          if (this.path !== "/nolength" || protocol === "HTTP/1.1") {
            this.send_header("Content-Length", body.length);
          }
          this.end_headers();
          if (withBody) this.wfile.write(body);
        }
        do_GET() {
          this.#answer(true);
        }
        do_HEAD() {
          this.#answer(false);
        }
      }
      // Threading: undici opens a second socket while the first idles,
      // which stalls the serial HTTPServer (README, "Serial vs threading").
      const httpd = new ThreadingHTTPServer(["127.0.0.1", 0], Site);
      const serving = httpd.serve_forever();
      try {
        const result = await runNode(
          `const out = [];
           for (const method of ["GET", "HEAD"]) for (const path of ["/", "/nolength", "/missing", "/304"]) {
             try {
               const res = await fetch("http://127.0.0.1:" + PORT + path, { method });
               const body = res.body === null ? null : Buffer.from(await res.arrayBuffer());
               out.push([method, path, res.status, body === null ? "-" : body.length, res.headers.get("content-length") ?? "-"].join(" "));
             } catch (e) { out.push([method, path, "ERROR", e.cause ? e.cause.code || e.cause.message : e.message].join(" ")); }
           }
           done({ out });`,
          httpd.server_address[1],
        );
        const pageLength = (result.out as string[])[2]!.split(" ")[3];
        assert.deepEqual(result.out, [
          "GET / 200 12 12",
          `GET /nolength 200 12 ${protocol === "HTTP/1.0" ? "-" : "12"}`,
          `GET /missing 404 ${pageLength} ${pageLength}`,
          "GET /304 304 - -",
          "HEAD / 200 - 12",
          `HEAD /nolength 200 - ${protocol === "HTTP/1.0" ? "-" : "12"}`,
          `HEAD /missing 404 - ${pageLength}`,
          "HEAD /304 304 - -",
        ], protocol);
      } finally {
        httpd.shutdown();
        await serving;
        await httpd.server_close();
      }
    }
  },
});

// A HEAD of a streamed response has no framing headers at all (README), as
// Node's own server does; RFC 9112 §6.3 (1): a HEAD response ends at its
// head. Node's keep-alive Agent then behaves exactly as against Node's own
// server (it opens a new socket after such a HEAD), and nothing fails.
Deno.test({
  name:
    "node client: HEAD of a streamed response, then GET, on a keep-alive Agent, as against Node's own server",
  ignore: !hasNode,
  async fn() {
    await using server = startServer(() =>
      new Response(
        new ReadableStream({
          async pull(controller) {
            await delay(5);
            controller.enqueue(encoder.encode("streamed"));
            controller.close();
          },
        }),
      )
    );
    await using node = await nodeServer(
      `setTimeout(() => { res.write("streamed"); res.end(); }, 5);`,
    );
    const script =
      `const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
       const go = (method) => new Promise((resolve) => {
         const req = http.request({ port: PORT, host: "127.0.0.1", method, path: "/", agent }, (res) => {
           let t = ""; res.on("data", (d) => t += d);
           res.on("end", () => resolve([method, t, req.reusedSocket, res.headers["transfer-encoding"] ?? "-", res.headers["content-length"] ?? "-"].join(" ")));
         });
         req.on("error", (e) => resolve("error " + e.code));
         req.end();
       });
       const out = [];
       for (const m of ["HEAD", "GET", "HEAD", "GET", "GET"]) out.push(await go(m));
       agent.destroy();
       done({ out });`;
    const h1 = await runNode(script, server.addr.port);
    const reference = await runNode(script, node.port);
    assert.deepEqual(reference.out, [
      "HEAD  false - -",
      "GET streamed false chunked -",
      "HEAD  true - -",
      "GET streamed false chunked -",
      "GET streamed true chunked -",
    ]);
    assert.deepEqual(h1.out, reference.out);
  },
});

// Node's requestTimeout answers a slow upload with 408 and closes
// (RFC 9110 §15.5.9). The Pool reads the response while it still writes, so
// the caller gets the 408 rather than a write error.
Deno.test({
  name:
    "node server: a slow streamed upload past Node's requestTimeout gets Node's 408 through Pool and request()",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `let n = 0; req.on("data", (d) => n += d.length); req.on("end", () => res.end("len=" + n));`,
      "",
      "{ requestTimeout: 400, headersTimeout: 300, connectionsCheckingInterval: 50 }",
    );
    const slowBody = () => {
      let i = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          await delay(50);
          if (i++ > 30) controller.close();
          else controller.enqueue(new Uint8Array(10));
        },
      });
    };
    using pool = new Pool();
    const origin = `http://127.0.0.1:${node.port}`;
    const r = await pool.request(origin, { method: "POST", body: slowBody() });
    assert.equal(r.status, 408);
    await r.read();
    const web = await request(origin, {
      method: "POST",
      body: slowBody(),
      pool,
    });
    assert.equal(web.status, 408);
    await web.body?.cancel();
    await delay(100); // the cancelled body's last pull timer
  },
});

// RFC 9112 §6.3 / §8: a request body cut short by the client's going away is
// incomplete; the handler's read must fail, never return a short body as
// whole. serve() and the Python face both.
Deno.test({
  name:
    "node client: an upload destroyed mid-body makes the handler's body read fail (length and chunked)",
  ignore: !hasNode,
  async fn() {
    const outcomes: string[] = [];
    const { promise: twoSeen, resolve: onTwo } = Promise.withResolvers<
      void
    >();
    const note = (text: string) => {
      outcomes.push(text);
      if (outcomes.length === 2) onTwo();
    };
    await using server = startServer(async (req) => {
      const kind = new URL(req.url).pathname;
      try {
        const body = await req.arrayBuffer();
        note(`${kind} got ${body.byteLength}`);
      } catch (error) {
        note(`${kind} failed ${(error as Error).name}`);
      }
      return new Response("x");
    });
    await runNode(
      `const cut = (path, headers) => new Promise((resolve) => {
         const req = http.request({ port: PORT, host: "127.0.0.1", method: "POST", path, headers, agent: false });
         req.on("error", () => resolve());
         req.on("response", (res) => { res.resume(); res.on("end", resolve); });
         req.write(Buffer.alloc(10000, 97));
         setTimeout(() => { req.destroy(); resolve(); }, 100);
       });
       await cut("/length", { "Content-Length": "100000" });
       await cut("/chunked", {});
       done({});`,
      server.addr.port,
    );
    await Promise.race([twoSeen, delay(2000)]);
    // The engine's ProtocolError (UNEXPECTED_EOF), as README "Bodies" says.
    assert.deepEqual(outcomes.sort(), [
      "/chunked failed ProtocolError",
      "/length failed ProtocolError",
    ]);
  },
});

// The README's staged close (RFC 9112 §9.6): a handler that answers without
// reading a large body (over maxDrainBytes) ends the connection, but lingers
// so Node, still writing its 1 MiB body, reads the answer instead of a reset.
Deno.test({
  name:
    "node client: an early answer to a 1 MiB upload reaches Node (serve() and HTTPServer)",
  ignore: !hasNode,
  async fn() {
    await using server = startServer(() =>
      new Response("early", { status: 413 })
    );
    const httpd = new HTTPServer(["127.0.0.1", 0], EarlyPython);
    const serving = httpd.serve_forever();
    try {
      for (const port of [server.addr.port, httpd.server_address[1]]) {
        const result = await runNode(
          `${EARLY_CLIENT}
           const agent = new http.Agent({ keepAlive: false });
           done({ out: await post(agent) });`,
          port,
        );
        assert.equal(result.out, "413 early", `port ${port}`);
      }
    } finally {
      httpd.shutdown();
      await serving;
      await httpd.server_close();
    }
  },
});

class EarlyPython extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  override log_message(): void {}
  do_POST() {
    const body = encoder.encode("early");
    this.send_response(413);
    this.send_header("Content-Length", body.length);
    this.end_headers();
    this.wfile.write(body);
  }
}

// POSTs 1 MiB (Content-Length) and answers "status body", or "error CODE".
const EARLY_CLIENT = `
  const post = (agent) => new Promise((resolve) => {
    const req = http.request({ port: PORT, host: "127.0.0.1", method: "POST", path: "/", agent,
      headers: { "Content-Length": String(1024 * 1024) } });
    req.on("response", (res) => {
      let t = ""; res.on("data", (d) => t += d);
      res.on("end", () => resolve(res.statusCode + " " + t));
    });
    req.on("error", (e) => resolve("error " + e.code));
    const chunk = Buffer.alloc(64 * 1024, 120); let sent = 0;
    const pump = () => { while (sent < 16) { sent++; if (!req.write(chunk)) { req.once("drain", pump); return; } } req.end(); };
    pump();
  });
`;

// Fixed bug: a handler that answered a 1 MiB POST without reading it (401, 413)
// kept the connection alive in its head, then the engine closed it (the unread
// rest is over maxDrainBytes): a keep-alive Agent's next POST met a reset.
// Node's server drains; Go says Connection: close, as h1 now does for a
// response sent complete at that point (serve() and the Python face).
Deno.test({
  name:
    "node client: a keep-alive Agent's next POST after an early answer to a large upload must not be reset",
  async fn() {
    await using server = startServer(() =>
      new Response("early", { status: 413 })
    );
    const httpd = new HTTPServer(["127.0.0.1", 0], EarlyPython);
    const serving = httpd.serve_forever();
    await using node = await nodeServer(
      `res.statusCode = 413; res.end("early");`,
    );
    const script = `${EARLY_CLIENT}
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const out = [];
      for (let i = 0; i < 4; i++) out.push(await post(agent));
      agent.destroy();
      done({ out });`;
    try {
      const reference = await runNode(script, node.port);
      const expected = ["413 early", "413 early", "413 early", "413 early"];
      assert.deepEqual(reference.out, expected);
      assert.deepEqual((await runNode(script, server.addr.port)).out, expected);
      assert.deepEqual(
        (await runNode(script, httpd.server_address[1])).out,
        expected,
      );
    } finally {
      httpd.shutdown();
      await serving;
      await httpd.server_close();
    }
  },
});

// A handler's own Content-Length on a stream is kept (README). Too short a
// stream: the connection closes and undici must report an error, not a
// short body. Too long: undici reads exactly the declared bytes.
Deno.test({
  name:
    "node fetch: a handler's Content-Length that its stream misses is an error in undici, never a short body",
  ignore: !hasNode,
  async fn() {
    await using server = startServer((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/ok") return new Response("fine");
      const parts = path === "/short" ? ["abc", "de"] : ["abc", "defghi"];
      let i = 0;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            await delay(5);
            if (i === parts.length) controller.close();
            else controller.enqueue(encoder.encode(parts[i++]!));
          },
        }),
        { headers: { "content-length": path === "/short" ? "10" : "3" } },
      );
    }, { onError: () => new Response("handler error", { status: 500 }) });
    const result = await runNode(
      `const get = async (path) => {
         try { const r = await fetch("http://127.0.0.1:" + PORT + path); return r.status + ":" + await r.text(); }
         catch (e) { return "ERROR"; }
       };
       done({ out: [await get("/short"), await get("/ok"), await get("/long"), await get("/ok")] });`,
      server.addr.port,
    );
    assert.deepEqual(result.out, ["ERROR", "200:fine", "200:abc", "200:fine"]);
  },
});

// undici's own Client (the one npm bundles, when present) pipelines up to 10
// requests on one socket; RFC 9112 §9.3.2: the server answers in order. One
// handler is slow, so later answers are ready first and must wait.
const UNDICI = "/usr/lib/node_modules/npm/node_modules/undici";
const hasUndici = hasNode &&
  await Deno.stat(UNDICI).then(() => true, () => false);
if (hasNode && !hasUndici) {
  console.error(`skipping undici Client test: ${UNDICI} is missing`);
}

Deno.test({
  name:
    "node undici Client: 30 pipelined requests (depth 10) to serve() come back in order",
  ignore: !hasUndici,
  async fn() {
    const ports = new Set<number>();
    await using server = startServer(async (req, info) => {
      ports.add(info.remoteAddr.port);
      const path = new URL(req.url).pathname;
      if (path === "/slow") await delay(100);
      if (path === "/stream") {
        return new Response(
          new ReadableStream({
            async pull(controller) {
              await delay(2);
              controller.enqueue(encoder.encode("s-t-r-e-a-m"));
              controller.close();
            },
          }),
        );
      }
      return new Response(`answer ${path}`);
    });
    const result = await runNode(
      `const { Client } = require(${JSON.stringify(UNDICI)});
       const client = new Client("http://127.0.0.1:" + PORT, { pipelining: 10 });
       const paths = Array.from({ length: 30 }, (_, i) => i === 3 ? "/slow" : i % 7 === 0 ? "/stream" : "/p" + i);
       const out = await Promise.all(paths.map(async (path) => {
         try {
           const { statusCode, body } = await client.request({ path, method: "GET" });
           return statusCode + " " + await body.text();
         } catch (e) { return "ERROR " + (e.code || e.message); }
       }));
       await client.close();
       done({ out, paths });`,
      server.addr.port,
    );
    const paths = result.paths as string[];
    assert.deepEqual(
      result.out,
      paths.map((p) => p === "/stream" ? "200 s-t-r-e-a-m" : `200 answer ${p}`),
    );
    assert.equal(ports.size, 1);
  },
});

// Odd but legal response fields from Node: any tchar in a name, HTAB inside
// a value, an empty value (RFC 9110 §5.5, §5.6.2). Node writes non-ASCII
// text as UTF-8; h1 reads field bytes as Latin-1 (README), as Python and
// fetch's ByteString do.
Deno.test({
  name:
    "node server: tchar names, HTAB inside values and empty values reach HTTPConnection and request()",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.setHeader("X-Tchar!#$%&'*+.^_\`|~", "ok");
       res.setHeader("X-Tab", "a\\tb");
       res.setHeader("X-Empty", "");
       res.setHeader("X-Utf8", "caf\\u00e9");
       res.end("x");`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/");
    const r = await conn.getresponse();
    await r.read();
    assert.equal(r.getheader("x-tchar!#$%&'*+.^_`|~"), "ok");
    assert.equal(r.getheader("X-Tab"), "a\tb");
    assert.equal(r.getheader("X-Empty"), "");
    assert.equal(r.getheader("X-Utf8"), "caf\u00c3\u00a9");
    using pool = new Pool();
    const web = await request(`http://127.0.0.1:${node.port}/`, { pool });
    assert.equal(await web.text(), "x");
    assert.equal(web.headers.get("x-tchar!#$%&'*+.^_`|~"), "ok");
    assert.equal(web.headers.get("x-tab"), "a\tb");
    assert.equal(web.headers.get("x-empty"), "");
  },
});

// Graceful shutdown (README): an in-flight request finishes and its response
// says Connection: close (RFC 9112 §9.6), so Node's keep-alive Agent drops
// the socket instead of reusing a closing one.
Deno.test({
  name:
    "node client: a request in flight at shutdown() is answered with Connection: close",
  ignore: !hasNode,
  async fn() {
    const { promise: started, resolve: onStart } = Promise.withResolvers<
      void
    >();
    const server = startServer(async () => {
      onStart();
      await delay(300);
      return new Response("finished");
    });
    const running = runNode(
      `const agent = new http.Agent({ keepAlive: true });
       http.get({ port: PORT, host: "127.0.0.1", path: "/", agent }, (res) => {
         let t = ""; res.on("data", (d) => t += d);
         res.on("end", () => { agent.destroy(); done({ status: res.statusCode, t, connection: res.headers.connection ?? null }); });
       }).on("error", (e) => done({ error: e.code }));`,
      server.addr.port,
    );
    await started;
    await server.shutdown();
    assert.deepEqual(await running, {
      status: 200,
      t: "finished",
      connection: "close",
    });
    await server.finished;
  },
});

// RFC 9112 §6.3 (8): without Content-Length or chunked, a response body ends
// when the connection closes. Node does that when useChunkedEncodingByDefault
// is off; the client reads it whole and opens a new socket next time.
Deno.test({
  name:
    "node server: a close-delimited body is read whole, then a new connection",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `res.useChunkedEncodingByDefault = false;
       res.write("part1-"); setTimeout(() => res.end("part2 " + req.socket.remotePort), 20);`,
    );
    using conn = new HTTPConnection("127.0.0.1", node.port, { timeout: 5 });
    await conn.request("GET", "/");
    const r = await conn.getresponse();
    assert.equal(r.will_close, true);
    assert.equal(r.length, null);
    const first = decoder.decode(await r.read());
    assert.match(first, /^part1-part2 \d+$/);
    await conn.request("GET", "/");
    const second = decoder.decode(await (await conn.getresponse()).read());
    assert.match(second, /^part1-part2 \d+$/);
    assert.notEqual(first, second);
    using pool = new Pool();
    const web = await request(`http://127.0.0.1:${node.port}/`, { pool });
    assert.match(await web.text(), /^part1-part2 \d+$/);
  },
});

// The Pool sends an Expect: 100-continue body without waiting (RFC 9110
// §10.1.1 lets a client proceed). Node's checkContinue refuses without
// reading it and closes; the Pool must not reuse that socket.
Deno.test({
  name:
    "node server: Pool with Expect: 100-continue refused by checkContinue, then a POST on a new socket",
  ignore: !hasNode,
  async fn() {
    await using node = await nodeServer(
      `let n = 0; req.on("data", (d) => n += d.length);
       req.on("end", () => res.end(req.url + " len=" + n));`,
      `server.on("checkContinue", (req, res) => { res.writeHead(413); res.end("refused"); });`,
    );
    using pool = new Pool();
    const origin = `http://127.0.0.1:${node.port}`;
    for (const size of [10, 100_000]) {
      const r = await pool.request(origin, {
        method: "POST",
        path: "/up",
        body: "x".repeat(size),
        headers: { Expect: "100-continue" },
      });
      assert.equal(r.status, 413);
      assert.equal(decoder.decode(await r.read()), "refused");
      const next = await pool.request(origin, {
        method: "POST",
        path: "/next",
        body: "abc",
      });
      assert.equal(decoder.decode(await next.read()), "/next len=3");
    }
  },
});

// RFC 9112 §3.2.2: a server that gets an absolute-form target MUST use its
// host, not the Host field. Node sends one when `path` is an absolute URL.
// RFC 9110 §15.5.20 / RFC 6585 §5: a head over the limit gets 431, and the
// staged close lets Node read it although the server stopped reading.
Deno.test({
  name:
    "node client: absolute-form target wins over Host; a 17 KiB header gets a readable 431",
  ignore: !hasNode,
  async fn() {
    await using server = startServer((req) =>
      new Response(`${req.url} ${req.headers.get("host")}`)
    );
    const result = await runNode(
      `const get = (options) => new Promise((resolve) => {
         http.get({ host: "127.0.0.1", port: PORT, agent: false, ...options }, (res) => {
           let t = ""; res.on("data", (d) => t += d); res.on("end", () => resolve(res.statusCode + " " + t.split("\\n")[0]));
         }).on("error", (e) => resolve("error " + e.code));
       });
       done({
         abs: await get({ path: "http://example.com:8080/x?y=1" }),
         big: await get({ path: "/", headers: { "X-Big": "b".repeat(17 * 1024) } }),
       });`,
      server.addr.port,
    );
    assert.equal(
      result.abs,
      `200 http://example.com:8080/x?y=1 127.0.0.1:${server.addr.port}`,
    );
    assert.match(result.big as string, /^431 /);
  },
});

// RFC 9112 §9.5: "A client sending a message body SHOULD monitor the
// network connection for an error response while it is transmitting the
// request." A Node socket server answers a 10 MiB upload at once with "413,
// Connection: close" and resets the connection 100 ms later, with the body
// unread. The client, still writing, must return the 413, not the reset.
// (With a reset at once, TCP may erase the answer before anyone reads it,
// RFC 9112 §9.6; Node's fetch then fails too, so that is not tested.)
Deno.test({
  name:
    "node server: an early 413 + close, then a reset, to a 10 MiB upload is returned by Pool and request()",
  ignore: !hasNode,
  async fn() {
    const script = `
const net = require("net");
const server = net.createServer((c) => {
  let answered = false;
  c.on("error", () => {});
  c.on("data", () => {
    if (answered) return;
    answered = true;
    c.write("HTTP/1.1 413 Payload Too Large\\r\\nContent-Length: 7\\r\\nConnection: close\\r\\n\\r\\ntoo big");
    setTimeout(() => c.resetAndDestroy(), 100);
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));`;
    const child = new Deno.Command("node", {
      args: ["-e", script],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    try {
      const port = Number((await reader.read()).value!.trim());
      using pool = new Pool();
      const origin = `http://127.0.0.1:${port}`;
      const TEN_MIB = 10 * 1024 * 1024;
      const outcomes: string[] = [];
      const attempt = async (
        what: string,
        send: () => Promise<[number, string]>,
      ) => {
        try {
          const [status, text] = await send();
          outcomes.push(`${what} ${status} ${text}`);
        } catch (error) {
          outcomes.push(`${what} ${(error as Error).name}`);
        }
      };
      for (let i = 0; i < 2; i++) {
        await attempt("blob", async () => {
          const r = await pool.request(origin, {
            method: "PUT",
            body: new Blob([new Uint8Array(TEN_MIB)]),
          });
          return [r.status, decoder.decode(await r.read())];
        });
        await attempt("stream", async () => {
          let n = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (n++ === 160) controller.close();
              else controller.enqueue(new Uint8Array(64 * 1024));
            },
          });
          const r = await request(origin, { method: "PUT", body, pool });
          return [r.status, await r.text()];
        });
        await attempt("bytes", async () => {
          const r = await request(origin, {
            method: "POST",
            body: new Uint8Array(TEN_MIB),
            pool,
          });
          return [r.status, await r.text()];
        });
      }
      assert.deepEqual(
        outcomes,
        Array.from(
          { length: 2 },
          () => [
            "blob 413 too big",
            "stream 413 too big",
            "bytes 413 too big",
          ],
        ).flat(),
      );
    } finally {
      await reader.cancel();
      await child.stdin.close();
      await child.status;
    }
  },
});

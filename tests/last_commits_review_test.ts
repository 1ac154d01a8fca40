/**
 * Review of the last four commits (ab51481, f0f2119, 6c5fc07, 4fb2d43):
 * MemoryConn's keep-alive timer, exchangeRaw's half-close, pythonHandler's
 * Expect handling, router escapes and mounts, BufferedReader turns, the
 * Pool's `written` flag and the client's EOF handling over plain TCP.
 */
import assert from "node:assert/strict";
import { exchangeRaw, memoryConnPair } from "../server/memory_conn.ts";
import { pythonHandler } from "../server/python_route.ts";
import { BaseHTTPRequestHandler } from "../server/request_handler.ts";
import { Router } from "../server/router.ts";
import { BufferedReader } from "../net/buffered_reader.ts";
import { TimeoutError } from "../net/errors.ts";
import { Pool } from "../client/pool.ts";
import { IncompleteRead } from "../client/errors.ts";
import { bounded, cannedServer } from "./client/_canned_server.ts";
import { delay, fromLatin1 } from "./server/_raw.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function raw(
  handler: (req: Request) => Response | Promise<Response>,
  request: string,
  options: Parameters<typeof exchangeRaw>[2] = {},
): Promise<string> {
  return fromLatin1(
    await bounded(exchangeRaw(handler, request, options), 3000),
  );
}

// ---------------------------------------------------------------- MemoryConn

Deno.test("MemoryConn: a read pending at close() rejects Interrupted and leaks no timer", async () => {
  const [a, b] = memoryConnPair();
  const pending = a.read(new Uint8Array(8));
  await delay(5);
  a.close();
  await assert.rejects(pending, Deno.errors.Interrupted);
  b.close();
  // The test sanitizer fails this test if the keep-alive interval survives.
});

Deno.test("MemoryConn: unref() during a waiting read releases its timer", async () => {
  const [a, b] = memoryConnPair();
  const pending = a.read(new Uint8Array(8));
  a.unref();
  await delay(5);
  // Still works after unref: the bytes arrive.
  await b.write(enc.encode("hi"));
  assert.equal(await pending, 2);
  // A read left waiting while unref'd holds nothing: the op sanitizer would
  // report an interval left behind. It is ended by close() below.
  const later = a.read(new Uint8Array(8));
  await delay(5);
  a.close();
  await assert.rejects(later, Deno.errors.Interrupted);
  b.close();
});

Deno.test("MemoryConn: two reads waiting at once each get bytes in order, no timer left", async () => {
  const [a, b] = memoryConnPair();
  const buf1 = new Uint8Array(3);
  const buf2 = new Uint8Array(3);
  const r1 = a.read(buf1);
  const r2 = a.read(buf2);
  await b.write(enc.encode("abc"));
  await delay(5);
  await b.write(enc.encode("def"));
  assert.deepEqual([await r1, await r2], [3, 3]);
  assert.equal(dec.decode(buf1) + dec.decode(buf2), "abcdef");
  a.close();
  b.close();
});

// --------------------------------------------------------------- exchangeRaw

Deno.test("exchangeRaw: a partial head ends promptly (no engine timeout wait)", async () => {
  const started = performance.now();
  const out = await raw(
    () => new Response("x"),
    "GET / HTTP/1.1\r\nHost: x\r\nX-A: b",
    { chunkBytes: 3 },
  );
  assert.ok(performance.now() - started < 1000, "took too long");
  // A client leaving mid-head gets nothing or a 400, never a 200.
  assert.doesNotMatch(out, /200 OK/);
});

Deno.test("exchangeRaw: a request rejected mid-body (bad chunk size) answers 400 and ends", async () => {
  let called = 0;
  const out = await raw(
    async (req) => {
      called++;
      try {
        await req.text();
      } catch { /* the engine fails the body */ }
      return new Response("ok");
    },
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nabc\r\nzz\r\nmore\r\n0\r\n\r\n",
    { chunkBytes: 7 },
  );
  assert.match(out, /^HTTP\/1\.1 (400|200) /);
  assert.ok(called <= 1);
});

Deno.test("exchangeRaw: Connection: close stops at the first response, pipelined rest ignored", async () => {
  const seen: string[] = [];
  const out = await raw(
    (req) => {
      seen.push(new URL(req.url).pathname);
      return new Response(
        new ReadableStream({
          async start(c) {
            c.enqueue(enc.encode("a"));
            await delay(5);
            c.enqueue(enc.encode("b"));
            c.close();
          },
        }),
      );
    },
    "GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" +
      "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.deepEqual(seen, ["/1"]);
  assert.equal(out.match(/HTTP\/1\.1 200/g)?.length, 1);
  assert.match(out, /\r\n\r\n(1\r\na\r\n1\r\nb\r\n0\r\n\r\n|ab)$/);
});

Deno.test("exchangeRaw: pipelined streamed responses, one byte at a time, all complete", async () => {
  const out = await raw(
    (req) =>
      new Response(
        new ReadableStream({
          async start(c) {
            await delay(2);
            c.enqueue(enc.encode(new URL(req.url).pathname));
            c.close();
          },
        }),
      ),
    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
    { chunkBytes: 0.5 },
  );
  assert.equal(out.match(/HTTP\/1\.1 200/g)?.length, 2);
  assert.ok(out.indexOf("/a") < out.indexOf("/b"));
  assert.match(out, /0\r\n\r\n$/);
});

Deno.test("exchangeRaw: an Upgrade request the handler answers 200 is plain HTTP", async () => {
  const out = await raw(
    () => new Response("plain"),
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
  );
  assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(out, /\r\n\r\nplain$/);
});

// ------------------------------------------------------------- pythonHandler

class EchoPost extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  async do_POST(): Promise<void> {
    const n = Number(this.headers.get("Content-Length") ?? "-1");
    const got = n >= 0 ? await this.rfile.read(n) : await this.rfile.read(5);
    const body = enc.encode(`got=${dec.decode(got)}`);
    this.send_response(200);
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }
}

class NeverReads extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  // No 100 Continue from the Python side: the handler decides alone.
  override handle_expect_100(): boolean {
    return true;
  }
  async do_POST(): Promise<void> {
    await delay(30);
    this.send_response(200);
    this.send_header("Content-Length", "2");
    this.send_header("Connection", "close");
    this.end_headers();
    this.wfile.write(enc.encode("no"));
  }
}

Deno.test("pythonHandler: HTTP/1.0 client with Expect, handler reads rfile: body arrives, no 100", async () => {
  const legacy = pythonHandler(EchoPost, { logWriter: () => {} });
  const out = await raw(
    (req) => legacy(req, undefined as never),
    "POST /u HTTP/1.0\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
  );
  assert.doesNotMatch(out, /100 Continue/);
  assert.match(out, /got=hello$/);
});

Deno.test("pythonHandler: chunked upload with Expect reaches rfile", async () => {
  const legacy = pythonHandler(EchoPost, { logWriter: () => {} });
  const out = await raw(
    (req) => legacy(req, undefined as never),
    "POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      "5\r\nhello\r\n0\r\n\r\n",
    { chunkBytes: 4 },
  );
  assert.match(out, /got=hello$/);
});

Deno.test("pythonHandler: a handler that never reads the body sends no 100 Continue", async () => {
  const legacy = pythonHandler(NeverReads, { logWriter: () => {} });
  const out = await raw(
    (req) => legacy(req, undefined as never),
    "POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
  );
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.doesNotMatch(out, /100 Continue/);
  assert.match(out, /\r\n\r\nno$/);
});

// -------------------------------------------------------------------- router

Deno.test("router: escapes match in either case; % before non-hex left alone", async () => {
  const app = new Router()
    .get("/caf\u00e9", () => new Response("cafe"))
    .get("/100%", () => new Response("pct"))
    .get("/f/:name", (ctx) => new Response(ctx.params.name));
  assert.equal(await (await app.request("/caf%c3%a9")).text(), "cafe");
  assert.equal(await (await app.request("/caf%C3%a9")).text(), "cafe");
  assert.equal(app.match("GET", "/caf%c3%a9").kind, "found");
  assert.equal(await (await app.request("/f/a%2fb")).text(), "a/b");
  // "%zz" and "%4" are no escapes: decoded as they are, no throw.
  assert.equal(await (await app.request("/f/%zz")).text(), "%zz");
  assert.equal(await (await app.request("/f/x%4")).text(), "x%4");
  assert.equal(app.match("GET", "/100%").kind, "found");
});

Deno.test("router: mount middleware sees prefix params on a 404 under it, bad escapes kept", async () => {
  const seen: string[] = [];
  const sub = new Router()
    .use(async (ctx, next) => {
      seen.push(String(ctx.params.org));
      return await next();
    })
    .get("/x", () => new Response("x"));
  const app = new Router().mount("/orgs/:org", sub);
  assert.equal((await app.request("/orgs/a%20b/nothing")).status, 404);
  assert.equal((await app.request("/orgs/%zz/nothing")).status, 404);
  assert.deepEqual(seen, ["a b", "%zz"]);
});

// ------------------------------------------------------------ BufferedReader

Deno.test("BufferedReader: queued calls keep order, lose no byte, each timeout counts from its call", async () => {
  const [a, b] = memoryConnPair();
  const r = new BufferedReader(a);
  const t0 = performance.now();
  const first = r.readExactly(4); // no timeout: waits for bytes
  const second = r.readExactly(2, { timeoutMs: 40 });
  const third = r.readLine({ timeoutMs: 120 });
  const fourth = r.readExactly(3);
  const e2 = await second.then(() => null, (e) => e);
  assert.ok(e2 instanceof TimeoutError);
  const e3 = await third.then(() => null, (e) => e);
  assert.ok(e3 instanceof TimeoutError);
  const dt = performance.now() - t0;
  assert.ok(dt >= 100 && dt < 600, `third timed out at ${dt}`);
  await b.write(enc.encode("abcdefg"));
  assert.equal(dec.decode(await first), "abcd");
  assert.equal(dec.decode(await fourth), "efg");
  a.close();
  b.close();
});

// -------------------------------------------------------------------- client

Deno.test("client over plain TCP: a close-delimited body is read; a cut Content-Length is IncompleteRead", async () => {
  await using server = cannedServer(async (c, i) => {
    await c.readRequest();
    await c.write(
      i === 0
        ? "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"
        : "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    );
  });
  using pool = new Pool();
  const origin = `http://127.0.0.1:${server.port}`;
  const r1 = await pool.request(origin);
  assert.equal(dec.decode(await r1.read()), "all of it");
  const r2 = await pool.request(origin);
  await assert.rejects(r2.read(), IncompleteRead);
});

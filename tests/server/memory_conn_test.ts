import assert from "node:assert/strict";
import { ResponseParser } from "../../http1/response_parser.ts";
import { exchangeRaw, memoryConnPair } from "../../server/memory_conn.ts";

interface Parsed {
  status: number;
  headers: Map<string, string>;
  body: string;
}

// Splits the server's bytes into responses with h1's own parser.
function parseAll(bytes: Uint8Array, methods: string[]): Parsed[] {
  const parser = new ResponseParser();
  for (const method of methods) parser.expectResponseTo(method);
  parser.receive(bytes);
  parser.receiveEof();
  const out: Parsed[] = [];
  let current: Parsed | null = null;
  for (let i = 0; i < 1000; i++) {
    const event = parser.next();
    if (event.kind === "head") {
      current = { status: event.status, headers: new Map(), body: "" };
      for (const [name, value] of event.headers) {
        current.headers.set(name.toLowerCase(), value);
      }
    } else if (event.kind === "data") {
      current!.body += new TextDecoder().decode(event.data);
    } else if (event.kind === "end") {
      out.push(current!);
      current = null;
    } else break;
  }
  return out;
}

const echo = async (req: Request): Promise<Response> =>
  new Response(
    `${req.method} ${new URL(req.url).pathname} ${await req.text()}`,
  );

Deno.test("exchangeRaw answers pipelined requests in order through the real engine", async () => {
  const raw = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n" +
    "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
    "POST /three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "2\r\nhi\r\n0\r\n\r\n";
  for (const chunkBytes of [0, 1, 7]) {
    const out = await exchangeRaw(echo, raw, { chunkBytes });
    const responses = parseAll(out, ["GET", "POST", "POST"]);
    assert.deepEqual(responses.map((r) => r.body), [
      "GET /one ",
      "POST /two abc",
      "POST /three hi",
    ]);
    assert.ok(responses.every((r) => r.status === 200));
    assert.ok(responses[0]!.headers.has("date"));
  }
});

Deno.test("exchangeRaw gets the engine's 400 for a malformed request", async () => {
  let called = 0;
  const out = await exchangeRaw(() => {
    called++;
    return new Response("no");
  }, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nBad Header\r\n\r\n");
  const responses = parseAll(out, ["GET", "GET"]);
  assert.equal(called, 1);
  assert.equal(responses.length, 2);
  assert.equal(responses[0]!.status, 200);
  assert.equal(responses[1]!.status, 400);
  assert.equal(responses[1]!.headers.get("connection"), "close");
});

Deno.test("exchangeRaw applies engine limits and keep-alive rules", async () => {
  const big = await exchangeRaw(
    echo,
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
    { limits: { maxBodyBytes: 10 } },
  );
  assert.equal(parseAll(big, ["POST"])[0]!.status, 413);
  const closed = await exchangeRaw(
    echo,
    "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const responses = parseAll(closed, ["GET", "GET"]);
  assert.equal(responses.length, 1);
  assert.equal(responses[0]!.body, "GET /a ");
});

// Run this file without --allow-net too: the engine opens no socket.
Deno.test("exchangeRaw needs no net permission", async () => {
  const out = await exchangeRaw(
    () => new Response("ok"),
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.equal(parseAll(out, ["GET"])[0]?.body, "ok");
});

Deno.test("MemoryConn reads EOF after the peer closes and refuses use after close", async () => {
  const [a, b] = memoryConnPair();
  await a.write(new Uint8Array([1, 2, 3]));
  a.close();
  const buf = new Uint8Array(2);
  assert.equal(await b.read(buf), 2);
  assert.equal(await b.read(buf), 1);
  assert.equal(await b.read(buf), null);
  await assert.rejects(b.write(new Uint8Array([9])), Deno.errors.BrokenPipe);
  await assert.rejects(a.read(buf), Deno.errors.BadResource);
  b.close();
  assert.throws(() => b.close(), Deno.errors.BadResource);
});

Deno.test("MemoryConn write waits while the peer holds too much unread", async () => {
  const [a, b] = memoryConnPair();
  await a.write(new Uint8Array(70 * 1024));
  let done = false;
  const second = a.write(new Uint8Array(10)).then(() => done = true);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(done, false);
  const buf = new Uint8Array(64 * 1024);
  await b.read(buf);
  await second;
  assert.equal(done, true);
  a.close();
  b.close();
});

Deno.test("MemoryConn streams carry bytes both ways", async () => {
  const [a, b] = memoryConnPair();
  const writer = a.writable.getWriter();
  await writer.write(new TextEncoder().encode("hello"));
  await writer.close();
  const text = await new Response(b.readable).text();
  assert.equal(text, "hello");
  a.close();
});

import assert from "node:assert/strict";
import { delay, RawClient, startServer } from "./_raw.ts";

const req = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

Deno.test("serve answers three pipelined requests in order, in one write", async () => {
  await using server = startServer((r) =>
    new Response(new URL(r.url).pathname)
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(req("/1") + req("/2") + req("/3"));
  // One read holds all three: the engine coalesced them into one write.
  assert.equal(await client.readOnce(), "data");
  assert.equal(client.text.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
  const responses = await client.responses(["GET", "GET", "GET"]);
  assert.deepEqual(responses.map((r) => r.text), ["/1", "/2", "/3"]);
});

Deno.test("serve keeps pipelined responses in request order when handlers finish out of order", async () => {
  await using server = startServer(async (r) => {
    const path = new URL(r.url).pathname;
    await delay(path === "/slow" ? 60 : 0);
    return new Response(path);
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(req("/slow") + req("/fast") + req("/slow") + req("/end"));
  const responses = await client.responses(["GET", "GET", "GET", "GET"]);
  assert.deepEqual(responses.map((r) => r.text), [
    "/slow",
    "/fast",
    "/slow",
    "/end",
  ]);
});

Deno.test("serve reads a pipelined request with a body, then the next one", async () => {
  await using server = startServer(async (r) =>
    new Response(`${r.method} ${await r.text()}`)
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
      "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
      req("/c"),
  );
  const responses = await client.responses(["POST", "POST", "GET"]);
  assert.deepEqual(responses.map((r) => r.text), [
    "POST hello",
    "POST abc",
    "GET ",
  ]);
});

Deno.test("serve drains an unread pipelined body to reach the next request", async () => {
  await using server = startServer((r) =>
    new Response(new URL(r.url).pathname)
  );
  await using client = await RawClient.connect(server.addr.port);
  const body = "x".repeat(10_000);
  await client.send(
    `POST /ignored HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      req("/next"),
  );
  const [a, b] = await client.responses(["POST", "GET"]);
  assert.equal(a!.text, "/ignored");
  assert.equal(a!.headers.get("connection"), null);
  assert.equal(b!.text, "/next");
});

Deno.test("serve sends earlier pipelined responses before a later request's 400", async () => {
  await using server = startServer(() => new Response("ok"));
  await using client = await RawClient.connect(server.addr.port);
  await client.send(req("/a") + req("/b") + "NOT HTTP AT ALL\r\n\r\n");
  const [a, b, bad] = await client.responses(["GET", "GET", "GET"]);
  assert.equal(a!.text, "ok");
  assert.equal(b!.text, "ok");
  assert.equal(bad!.status, 400);
  assert.equal(bad!.headers.get("connection"), "close");
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve parses pipelined requests split at every byte", async () => {
  await using server = startServer(async (r) =>
    new Response(`${new URL(r.url).pathname}:${await r.text()}`)
  );
  await using client = await RawClient.connect(server.addr.port);
  const wire = req("/a") +
    "PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz" + req("/c");
  for (const ch of wire) {
    await client.send(ch);
    await delay(0);
  }
  const responses = await client.responses(["GET", "PUT", "GET"]);
  assert.deepEqual(responses.map((r) => r.text), ["/a:", "/b:xyz", "/c:"]);
});

Deno.test("serve answers 100 pipelined requests on one connection", async () => {
  let count = 0;
  await using server = startServer(() => new Response(String(++count)));
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    Array.from({ length: 100 }, (_, i) => req(`/${i}`)).join(""),
  );
  const responses = await client.responses(Array(100).fill("GET"));
  assert.deepEqual(
    responses.map((r) => r.text),
    Array.from({ length: 100 }, (_, i) => String(i + 1)),
  );
});

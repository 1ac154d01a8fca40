import assert from "node:assert/strict";
import { delay, RawClient, startServer } from "./_raw.ts";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

Deno.test("serve de-chunks a chunked request body with trailers", async () => {
  await using server = startServer(async (req) =>
    new Response(`[${await req.text()}]`)
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
      "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Sum: 42\r\n\r\n" +
      GET,
  );
  const [post, get] = await client.responses(["POST", "GET"]);
  assert.equal(post!.text, "[hello world]");
  assert.equal(get!.text, "[]");
});

Deno.test("serve streams a request body to the handler as it arrives", async () => {
  const seen: number[] = [];
  await using server = startServer(async (req) => {
    let total = 0;
    for await (const chunk of req.body!) {
      total += chunk.length;
      seen.push(chunk.length);
    }
    return new Response(String(total));
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
  );
  for (let i = 0; i < 5; i++) {
    await client.send("3\r\nabc\r\n");
    await delay(10);
  }
  await client.send("0\r\n\r\n");
  const res = await client.response("POST");
  assert.equal(res.text, "15");
  assert.ok(seen.length >= 2, `expected several reads, got ${seen}`);
});

Deno.test("serve echoes a large body as a stream, chunked out", async () => {
  await using server = startServer((req) => new Response(req.body));
  await using client = await RawClient.connect(server.addr.port);
  const size = 3 * 1024 * 1024;
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i++) body[i] = i % 251;
  await client.send(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`,
  );
  // Write and read at once: a server without backpressure-aware echo would
  // deadlock with both socket buffers full.
  const [, res] = await Promise.all([
    client.send(body),
    client.response("POST", 20_000),
  ]);
  assert.equal(res.headers.get("transfer-encoding"), "chunked");
  assert.equal(res.body.length, size);
  assert.deepEqual(res.body, body);
  await client.send(GET);
  assert.equal((await client.response()).status, 200);
});

Deno.test("serve reads binary JSON and form bodies through Request methods", async () => {
  await using server = startServer(async (req) => {
    const type = req.headers.get("content-type") ?? "";
    if (type.startsWith("application/json")) {
      return Response.json({ got: await req.json() });
    }
    const form = await req.formData();
    return new Response(`a=${form.get("a")}`);
  });
  await using client = await RawClient.connect(server.addr.port);
  const json = JSON.stringify({ n: 1, s: "é" });
  const jsonBytes = new TextEncoder().encode(json);
  await client.send(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${jsonBytes.length}\r\n\r\n`,
  );
  await client.send(jsonBytes);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=b%20c",
  );
  const [a, b] = await client.responses(["POST", "POST"]);
  assert.deepEqual(JSON.parse(a!.text), { got: { n: 1, s: "é" } });
  assert.equal(b!.text, "a=b c");
});

Deno.test("serve sends 100 Continue once the handler reads the body", async () => {
  let readStarted = 0;
  await using server = startServer(async (req) => {
    await delay(50);
    readStarted = Date.now();
    return new Response(`got ${await req.text()}`);
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
  );
  await client.readUntil((t) => t.includes("\r\n\r\n"));
  assert.ok(readStarted > 0, "100 arrived before the handler read the body");
  assert.equal(client.text, "HTTP/1.1 100 Continue\r\n\r\n");
  await client.send("data");
  const res = await client.response("POST");
  assert.deepEqual(res.interim, [100]);
  assert.equal(res.text, "got data");
  assert.equal(res.headers.get("connection"), null);
  await client.send(GET);
  assert.equal((await client.response()).status, 200);
});

Deno.test("serve skips 100 Continue when the handler answers without the body", async () => {
  await using server = startServer(() =>
    new Response("no thanks", { status: 403 })
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n",
  );
  const res = await client.response("PUT");
  assert.equal(res.status, 403);
  assert.deepEqual(res.interim, []);
  assert.ok(!client.text.includes("100 Continue"));
  // The client still holds its body: the server must not wait for it.
  assert.equal(res.headers.get("connection"), "close");
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve ignores 100-continue on a request without a body", async () => {
  await using server = startServer(() => new Response("fine"));
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n" + GET,
  );
  const [a, b] = await client.responses(["GET", "GET"]);
  assert.deepEqual(a!.interim, []);
  assert.equal(a!.text, "fine");
  assert.equal(b!.text, "fine");
});

Deno.test("serve answers 417 to an unknown expectation", async () => {
  let called = false;
  await using server = startServer(() => {
    called = true;
    return new Response("x");
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 200-maybe\r\n\r\nhi",
  );
  const res = await client.response("POST");
  assert.equal(res.status, 417);
  assert.equal(res.headers.get("connection"), "close");
  assert.equal(called, false);
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve gives GET bodies to no one and drains them", async () => {
  let body: ReadableStream | null = new ReadableStream();
  await using server = startServer((req) => {
    body = req.body;
    return new Response("ok");
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + GET,
  );
  const [a, b] = await client.responses(["GET", "GET"]);
  assert.equal(a!.text, "ok");
  assert.equal(b!.text, "ok");
  assert.equal(body, null);
});

Deno.test("serve fails the body stream when the client closes mid-body", async () => {
  let failure: unknown = null;
  const done = Promise.withResolvers<void>();
  await using server = startServer(async (req) => {
    try {
      await req.text();
    } catch (error) {
      failure = error;
    }
    done.resolve();
    return new Response("late");
  });
  const client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a few",
  );
  await delay(30);
  await client.close();
  await done.promise;
  assert.ok(failure instanceof Error, String(failure));
  // The server goes on.
  await using again = await RawClient.connect(server.addr.port);
  await again.send(GET);
  assert.equal((await again.response()).text, "late");
});

import assert from "node:assert/strict";
import { delay, RawClient, slowStream, startServer } from "./_raw.ts";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

Deno.test("WebServer.shutdown lets in-flight requests finish with Connection: close", async () => {
  let started = 0;
  const allStarted = Promise.withResolvers<void>();
  const server = startServer(async (req) => {
    if (++started === 3) allStarted.resolve();
    await delay(150);
    if (req.url.endsWith("/stream")) return new Response(slowStream(4, 10, 20));
    return new Response("finished " + new URL(req.url).pathname);
  });
  const clients = await Promise.all(
    [0, 1, 2].map(() => RawClient.connect(server.addr.port)),
  );
  try {
    await clients[0]!.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    await clients[1]!.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    await clients[2]!.send(
      "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    await allStarted.promise;
    const shutdown = server.shutdown();
    const [a, stream, c] = await Promise.all([
      clients[0]!.response(),
      clients[1]!.response(),
      clients[2]!.response("POST"),
    ]);
    assert.equal(a!.text, "finished /a");
    assert.equal(stream!.body.length, 40);
    assert.equal(c!.text, "finished /c");
    for (const res of [a, stream, c]) {
      assert.equal(res!.headers.get("connection"), "close");
    }
    for (const client of clients) assert.ok(await client.waitClosed(1000));
    await shutdown;
    await server.finished;
  } finally {
    for (const client of clients) await client.close();
  }
});

Deno.test("WebServer.shutdown closes idle keep-alive connections at once", async () => {
  const server = startServer(() => new Response("ok"), {
    limits: { keepAliveTimeoutMs: 60_000, headersTimeoutMs: 60_000 },
  });
  await using used = await RawClient.connect(server.addr.port);
  await using fresh = await RawClient.connect(server.addr.port);
  await used.send(GET);
  await used.response();
  await delay(20);
  const started = Date.now();
  await server.shutdown();
  assert.ok(Date.now() - started < 1000);
  assert.ok(await used.waitClosed(500));
  assert.ok(await fresh.waitClosed(500));
  assert.equal(fresh.received.length, 0);
});

Deno.test("WebServer.shutdown stops accepting new connections", async () => {
  const server = startServer(() => new Response("ok"));
  const port = server.addr.port;
  await server.shutdown();
  await assert.rejects(
    () => Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("WebServer.finished resolves after shutdown, not before", async () => {
  const server = startServer(() => new Response("ok"));
  let finished = false;
  server.finished.then(() => finished = true);
  await delay(30);
  assert.equal(finished, false);
  await server.shutdown();
  await server.finished;
  assert.equal(finished, true);
});

Deno.test("WebServer.shutdown force-closes what is still busy after shutdownTimeoutMs", async () => {
  const release = Promise.withResolvers<void>();
  const server = startServer(async () => {
    await release.promise;
    return new Response("too late");
  }, { limits: { shutdownTimeoutMs: 200 } });
  await using client = await RawClient.connect(server.addr.port);
  try {
    await client.send(GET);
    await delay(30);
    const started = Date.now();
    await server.shutdown();
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 2000, `shutdown took ${took} ms`);
    assert.ok(await client.waitClosed(500));
    assert.equal(client.received.length, 0);
  } finally {
    release.resolve();
    await delay(20);
  }
});

Deno.test("WebServer.shutdown force-closes a response that never ends", async () => {
  const server = startServer(() =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array([0x61]));
        },
      }),
    ), {
    limits: { shutdownTimeoutMs: 150 },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET);
  await client.readUntil((t) => t.includes("\r\n\r\n"));
  await server.shutdown();
  assert.ok(await client.waitClosed(500));
});

Deno.test("serve shuts down when its signal aborts", async () => {
  const controller = new AbortController();
  const server = startServer(() => new Response("ok"), {
    signal: controller.signal,
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET);
  await client.response();
  controller.abort();
  await server.finished;
  assert.ok(await client.waitClosed(500));
});

Deno.test("serve with an already aborted signal shuts down at once", async () => {
  const server = startServer(() => new Response("ok"), {
    signal: AbortSignal.abort(),
  });
  const outcome = await Promise.race([
    server.finished.then(() => "finished"),
    delay(1000).then(() => "still running"),
  ]);
  assert.equal(outcome, "finished");
});

Deno.test("WebServer disposes with await using", async () => {
  let port = 0;
  {
    await using server = startServer(() => new Response("ok"));
    port = server.addr.port;
  }
  await assert.rejects(
    () => Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("WebServer.unref and ref toggle without breaking serving", async () => {
  await using server = startServer(() => new Response("ok"));
  server.unref();
  server.ref();
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET);
  assert.equal((await client.response()).text, "ok");
});

Deno.test("WebServer.shutdown answers pipelined requests already parsed, then closes", async () => {
  const gate = Promise.withResolvers<void>();
  const server = startServer(async (req) => {
    if (req.url.endsWith("/first")) await gate.promise;
    return new Response(new URL(req.url).pathname);
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  await delay(30);
  const shutdown = server.shutdown();
  gate.resolve();
  const res = await client.response();
  assert.equal(res.text, "/first");
  assert.equal(res.headers.get("connection"), "close");
  assert.ok(await client.waitClosed(1000));
  await shutdown;
});

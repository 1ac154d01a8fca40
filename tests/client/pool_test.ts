import assert from "node:assert/strict";
import { Pool } from "../../client/pool.ts";
import { RemoteDisconnected } from "../../client/errors.ts";
import { answerEach, cannedServer, ok, sleep } from "./_canned_server.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("Pool reuses a keep-alive connection per origin", async () => {
  await using server = cannedServer(answerEach(ok("hi")));
  using pool = new Pool();
  const origin = `http://127.0.0.1:${server.port}`;
  for (let i = 0; i < 3; i++) {
    const response = await pool.request(origin, { path: `/${i}` });
    assert.equal(text(await response.read()), "hi");
  }
  assert.equal(server.connections, 1);
  assert.deepEqual(pool.stats, { connections: 1, idle: 1, waiting: 0 });
  assert.match(
    server.requests[0]!.head,
    new RegExp(`Host: 127\\.0\\.0\\.1:${server.port}\r\n`),
  );
});

Deno.test("Pool caps connections per origin and queues the rest", async () => {
  let open = 0, peak = 0;
  await using server = cannedServer(async (c) => {
    open++;
    peak = Math.max(peak, open);
    try {
      while (await c.readRequest() !== null) {
        await sleep(10);
        await c.write(ok("x"));
      }
    } finally {
      open--;
    }
  });
  using pool = new Pool({ maxConnectionsPerOrigin: 2 });
  const origin = `http://127.0.0.1:${server.port}`;
  const bodies = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const response = await pool.request(origin, { path: `/${i}` });
      return text(await response.read());
    }),
  );
  assert.deepEqual(bodies, Array(8).fill("x"));
  assert.equal(server.connections, 2);
  assert.equal(peak, 2);
});

Deno.test("Pool closes idle connections after idleTimeoutMs", async () => {
  await using server = cannedServer(answerEach(ok("a")));
  using pool = new Pool({ idleTimeoutMs: 30 });
  const origin = `http://127.0.0.1:${server.port}`;
  await (await pool.request(origin)).read();
  assert.equal(pool.stats.connections, 1);
  await sleep(80);
  assert.equal(pool.stats.connections, 0);
  await (await pool.request(origin)).read();
  assert.equal(server.connections, 2);
});

Deno.test("Pool notices an idle connection the server closed: a POST goes on a new one", async () => {
  await using server = cannedServer(async (c) => {
    if (await c.readRequest() === null) return;
    await c.write(ok("once"));
    c.close(); // closed while the client holds it idle
  });
  using pool = new Pool();
  const origin = `http://127.0.0.1:${server.port}`;
  await (await pool.request(origin)).read();
  await sleep(50);
  // The idle read saw the close: the connection left the pool.
  assert.equal(pool.stats.connections, 0);
  const response = await pool.request(origin, { method: "POST", body: "x" });
  assert.equal(text(await response.read()), "once");
  assert.equal(server.connections, 2);
});

Deno.test("Pool notices unasked bytes on an idle connection and drops it", async () => {
  await using server = cannedServer(async (c) => {
    if (await c.readRequest() === null) return;
    await c.write(ok("first"));
    await sleep(20);
    // A 408 nobody asked for (servers send one before closing idle sockets).
    await c.write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
    await c.readRequest();
  });
  using pool = new Pool();
  const origin = `http://127.0.0.1:${server.port}`;
  assert.equal(text(await (await pool.request(origin)).read()), "first");
  await sleep(60);
  assert.equal(pool.stats.connections, 0);
  // The next request never sees the stray 408 as its answer.
  const response = await pool.request(origin, { path: "/next" });
  assert.equal(response.status, 200);
  assert.equal(text(await response.read()), "first");
  assert.equal(server.connections, 2);
});

Deno.test("Pool retries a GET once when a reused connection dies unanswered, never a POST", async () => {
  await using server = cannedServer(async (c) => {
    if (await c.readRequest() === null) return;
    await c.write(ok("once"));
    // The next request on this connection is read, then the socket closes
    // without an answer: the server went away between requests.
    await c.readRequest();
    c.close();
  });
  using pool = new Pool();
  const origin = `http://127.0.0.1:${server.port}`;
  await (await pool.request(origin)).read();
  const response = await pool.request(origin, { path: "/again" });
  assert.equal(text(await response.read()), "once");
  assert.equal(server.connections, 2);
  await assert.rejects(
    pool.request(origin, { method: "POST", body: "x" }),
    (e) =>
      e instanceof RemoteDisconnected ||
      (e as { code?: string }).code === "ECONNRESET",
  );
  assert.equal(server.connections, 2);
});

Deno.test("Pool pipelines idempotent requests and matches responses in order", async () => {
  await using server = cannedServer(async (c) => {
    // Answer nothing until all eight requests arrived: only a pipelining
    // client gets past this (others time out waiting for the first head).
    const paths: string[] = [];
    while (paths.length < 8) {
      const request = await c.readRequest();
      if (request === null) return;
      paths.push(request.line.split(" ")[1]!);
    }
    await c.write(paths.map((p) => ok(`body of ${p}`)).join(""));
    await answerEach(ok("more"))(c);
  });
  using pool = new Pool({
    maxConnectionsPerOrigin: 1,
    pipelining: 8,
    headersTimeoutMs: 2000,
  });
  const origin = `http://127.0.0.1:${server.port}`;
  const paths = Array.from({ length: 8 }, (_, i) => `/p${i}`);
  const started = paths.map((path) => pool.request(origin, { path }));
  const bodies: string[] = [];
  for (const pending of started) {
    bodies.push(text(await (await pending).read()));
  }
  assert.deepEqual(bodies, paths.map((p) => `body of ${p}`));
  assert.equal(server.connections, 1);
});

Deno.test("Pool does not pipeline a POST", async () => {
  await using server = cannedServer(async (c) => {
    for (;;) {
      const request = await c.readRequest();
      if (request === null) return;
      await sleep(20);
      await c.write(ok(request.line.split(" ")[0]!));
    }
  });
  using pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 4 });
  const origin = `http://127.0.0.1:${server.port}`;
  const post = pool.request(origin, { method: "POST", body: "x" });
  await sleep(5);
  const get = pool.request(origin);
  await sleep(10);
  // The GET waits: the POST's response has not been read.
  assert.equal(server.requests.length, 1);
  assert.equal(text(await (await post).read()), "POST");
  assert.equal(text(await (await get).read()), "GET");
});

Deno.test("Pool retries pipelined requests left behind a Connection: close", async () => {
  await using server = cannedServer(async (c, index) => {
    if (index === 0) {
      await sleep(30);
      const request = await c.readRequest();
      if (request === null) return;
      await c.write(ok("first", "Connection: close\r\n"));
      c.close();
      return;
    }
    await answerEach(ok("later"))(c);
  });
  using pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 4 });
  const origin = `http://127.0.0.1:${server.port}`;
  const all = await Promise.all(
    [0, 1, 2].map(async (i) =>
      text(await (await pool.request(origin, { path: `/${i}` })).read())
    ),
  );
  assert.deepEqual(all, ["first", "later", "later"]);
});

Deno.test("Pool aborts an exchange with its signal", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await sleep(300);
  });
  using pool = new Pool();
  const controller = new AbortController();
  const pending = pool.request(`http://127.0.0.1:${server.port}`, {
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error("stop")), 20);
  await assert.rejects(pending, /stop/);
  assert.equal(pool.stats.connections, 0);
});

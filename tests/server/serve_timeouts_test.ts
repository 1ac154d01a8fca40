import assert from "node:assert/strict";
import { delay, RawClient, startServer } from "./_raw.ts";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

Deno.test("serve answers a slow-drip head with 408 and closes", async () => {
  await using server = startServer(() => new Response("never"), {
    limits: { headersTimeoutMs: 200 },
  });
  await using client = await RawClient.connect(server.addr.port);
  const started = Date.now();
  await client.send("GET / HTTP/1.1\r\n");
  // A header line every 50 ms: each byte is progress, the head never ends.
  for (let i = 0; i < 20 && !client.ended; i++) {
    try {
      await client.send(`X-Drip-${i}: 1\r\n`);
    } catch {
      break;
    }
    if (await client.readOnce(50) !== "timeout") break;
  }
  const res = await client.response();
  const elapsed = Date.now() - started;
  assert.equal(res.status, 408);
  assert.equal(res.headers.get("connection"), "close");
  assert.ok(elapsed >= 150 && elapsed < 1500, `took ${elapsed} ms`);
  assert.ok(await client.waitClosed(1000));
});

Deno.test("serve closes a connection that never sends a request, silently", async () => {
  await using server = startServer(() => new Response("never"), {
    limits: { headersTimeoutMs: 150 },
  });
  await using client = await RawClient.connect(server.addr.port);
  const started = Date.now();
  assert.ok(await client.waitClosed(2000));
  assert.ok(Date.now() - started >= 100);
  assert.equal(client.received.length, 0);
});

Deno.test("serve advertises its keep-alive timeout in whole seconds", async () => {
  await using server = startServer(() => new Response("ok"), {
    limits: { keepAliveTimeoutMs: 7_500 },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET);
  const res = await client.response();
  // Rounded down: a client must not count on more than the server gives.
  assert.equal(res.headers.get("keep-alive"), "timeout=7");
});

Deno.test("serve closes an idle keep-alive connection after keepAliveTimeoutMs", async () => {
  await using server = startServer(() => new Response("ok"), {
    limits: { keepAliveTimeoutMs: 250 },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET);
  await client.response();
  const idleSince = Date.now();
  // Still open shortly after…
  assert.equal(await client.waitClosed(100), false);
  // …and closed once the timeout passed, without a response.
  assert.ok(await client.waitClosed(2000));
  const idle = Date.now() - idleSince;
  assert.ok(idle >= 200 && idle < 1500, `closed after ${idle} ms`);
  assert.equal(client.text.match(/HTTP\/1\.1/g)?.length, 1);
});

Deno.test("serve keeps a keep-alive connection that stays busy", async () => {
  await using server = startServer(() => new Response("ok"), {
    limits: { keepAliveTimeoutMs: 200 },
  });
  await using client = await RawClient.connect(server.addr.port);
  for (let i = 0; i < 5; i++) {
    await client.send(GET);
    assert.equal((await client.response()).text, "ok");
    await delay(100);
  }
  assert.equal(client.ended, false);
});

Deno.test("serve answers 408 when the request body stalls past requestTimeoutMs", async () => {
  let failure: unknown = null;
  await using server = startServer(async (req) => {
    try {
      await req.text();
    } catch (error) {
      failure = error;
      throw error;
    }
    return new Response("never");
  }, {
    limits: { requestTimeoutMs: 200 },
    onError: () => new Response("500!", { status: 500 }),
  });
  await using client = await RawClient.connect(server.addr.port);
  const started = Date.now();
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nsome",
  );
  const res = await client.response("POST");
  const elapsed = Date.now() - started;
  assert.equal(res.status, 408);
  assert.equal(res.headers.get("connection"), "close");
  assert.ok(elapsed >= 150 && elapsed < 1500, `took ${elapsed} ms`);
  assert.ok(await client.waitClosed(1000));
  await delay(20);
  assert.ok(failure instanceof Error);
});

Deno.test("serve does not time out a handler that takes its time", async () => {
  await using server = startServer(async () => {
    await delay(400);
    return new Response("slow but fine");
  }, {
    limits: {
      headersTimeoutMs: 100,
      keepAliveTimeoutMs: 100,
      requestTimeoutMs: 100,
    },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET);
  assert.equal((await client.response()).text, "slow but fine");
});

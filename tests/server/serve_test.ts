import assert from "node:assert/strict";
import { formatCommonLog } from "../../server/access_log.ts";
import type { AccessLogEntry } from "../../server/access_log.ts";
import {
  reusePortAvailable,
  ReusePortUnavailableError,
} from "../../net/errors.ts";
import { serve, type ServeHandlerInfo } from "../../server/serve.ts";
import { delay, fetchRaw, RawClient, slowStream, startServer } from "./_raw.ts";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

Deno.test("serve accepts a handler alone, on 0.0.0.0:8000 like Deno.serve", async () => {
  // The tests may only bind 127.0.0.1, so the permission error tells where
  // serve(handler) tried to listen; with wider permissions it really serves.
  let server;
  try {
    server = serve((req) => new Response(req.method));
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return;
    assert.ok(error instanceof Deno.errors.NotCapable, String(error));
    assert.match(String(error), /0\.0\.0\.0:8000/);
    return;
  }
  await using _ = server;
  assert.equal(server.addr.port, 8000);
  assert.equal((await fetchRaw(8000, GET)).text, "GET");
});

Deno.test("serve accepts options then a handler", async () => {
  const seen: Deno.NetAddr[] = [];
  await using server = serve(
    { port: 0, hostname: "127.0.0.1", onListen: (addr) => seen.push(addr) },
    () => new Response("two"),
  );
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.port, server.addr.port);
  assert.notEqual(server.addr.port, 0);
  assert.equal((await fetchRaw(server.addr.port, GET)).text, "two");
});

Deno.test("serve accepts options with the handler inside", async () => {
  await using server = serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
    handler: () => new Response("init"),
  });
  assert.equal(server.addr.hostname, "127.0.0.1");
  assert.equal((await fetchRaw(server.addr.port, GET)).text, "init");
});

Deno.test("serve rejects a call without a handler", () => {
  assert.throws(
    () => serve({ port: 0, onListen: () => {} } as never),
    TypeError,
  );
});

Deno.test("serve answers several requests on one keep-alive connection", async () => {
  let n = 0;
  await using server = startServer((req) =>
    new Response(`${++n} ${new URL(req.url).pathname}`)
  );
  await using client = await RawClient.connect(server.addr.port);
  for (const path of ["/a", "/b", "/c"]) {
    await client.send(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const res = await client.response();
    assert.equal(res.status, 200);
    assert.equal(res.text, `${n} ${path}`);
    assert.equal(res.headers.get("connection"), null);
    assert.match(res.headers.get("keep-alive") ?? "", /^timeout=\d+$/);
    assert.ok(res.headers.get("date"));
    assert.equal(res.headers.get("content-length"), String(res.body.length));
  }
  assert.equal(n, 3);
  assert.equal(client.ended, false);
});

Deno.test("serve builds the Request: URL from Host, method, headers, body", async () => {
  await using server = startServer(async (req) =>
    Response.json({
      url: req.url,
      method: req.method,
      agent: req.headers.get("user-agent"),
      body: await req.text(),
    })
  );
  const res = await fetchRaw(
    server.addr.port,
    "PUT /p?q=1 HTTP/1.1\r\nHost: example.test:81\r\nUser-Agent: raw\r\nContent-Length: 3\r\n\r\nabc",
  );
  assert.deepEqual(JSON.parse(res.text), {
    url: "http://example.test:81/p?q=1",
    method: "PUT",
    agent: "raw",
    body: "abc",
  });
  assert.equal(res.headers.get("content-type"), "application/json");
});

Deno.test("serve streams a response of unknown length chunked", async () => {
  await using server = startServer(() =>
    new Response(slowStream(3, 5, 5), { headers: { "x-s": "1" } })
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET);
  const res = await client.response();
  assert.equal(res.headers.get("transfer-encoding"), "chunked");
  assert.equal(res.headers.get("content-length"), null);
  assert.equal(res.text, "aaaaabbbbbccccc");
  // The connection stays usable.
  await client.send(GET);
  assert.equal((await client.response()).text, "aaaaabbbbbccccc");
});

Deno.test("serve sends Content-Length for a body that is all there", async () => {
  await using server = startServer(() =>
    new Response(new Uint8Array(100_000).fill(0x7a))
  );
  const res = await fetchRaw(server.addr.port, GET);
  assert.equal(res.headers.get("content-length"), "100000");
  assert.equal(res.headers.get("transfer-encoding"), null);
  assert.equal(res.body.length, 100_000);
});

Deno.test("serve streams a large complete body with its declared length", async () => {
  const big = new Uint8Array(1_000_000).fill(0x41);
  await using server = startServer(() =>
    new Response(big, { headers: { "content-length": String(big.length) } })
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET + GET);
  const [a, b] = await client.responses(["GET", "GET"]);
  assert.equal(a!.body.length, 1_000_000);
  assert.equal(b!.body.length, 1_000_000);
  assert.equal(a!.headers.get("content-length"), "1000000");
});

Deno.test("serve answers HEAD with headers and no body", async () => {
  await using server = startServer(() =>
    new Response("hello world", { headers: { "content-type": "text/x" } })
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + GET);
  const [head, get] = await client.responses(["HEAD", "GET"]);
  assert.equal(head!.status, 200);
  assert.equal(head!.headers.get("content-length"), "11");
  assert.equal(head!.headers.get("content-type"), "text/x");
  assert.equal(head!.body.length, 0);
  // The GET's response follows directly: no stray body bytes in between.
  assert.equal(get!.text, "hello world");
  assert.match(client.text, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
});

Deno.test("serve answers HEAD with a streamed body without framing it", async () => {
  await using server = startServer(() => new Response(slowStream(2, 3, 5)));
  await using client = await RawClient.connect(server.addr.port);
  await client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + GET);
  const [head, get] = await client.responses(["HEAD", "GET"]);
  assert.equal(head!.body.length, 0);
  assert.equal(head!.headers.get("transfer-encoding"), null);
  assert.equal(get!.text, "aaabbb");
});

Deno.test("serve sends 204 and 304 without a body", async () => {
  await using server = startServer((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/204") return new Response(null, { status: 204 });
    return new Response(null, {
      status: 304,
      headers: { etag: '"v1"', "content-length": "42" },
    });
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n" +
      GET,
  );
  const [no, notModified, last] = await client.responses([
    "GET",
    "GET",
    "GET",
  ]);
  assert.equal(no!.status, 204);
  assert.equal(no!.headers.get("content-length"), null);
  assert.equal(no!.headers.get("transfer-encoding"), null);
  assert.equal(notModified!.status, 304);
  assert.equal(notModified!.headers.get("etag"), '"v1"');
  // RFC 9110 §8.6: a 304 may carry the length the 200 would have.
  assert.equal(notModified!.headers.get("content-length"), "42");
  assert.equal(last!.status, 304);
});

Deno.test("serve closes an HTTP/1.0 connection by default", async () => {
  await using server = startServer(() => new Response("ten"));
  await using client = await RawClient.connect(server.addr.port);
  await client.send("GET / HTTP/1.0\r\n\r\n");
  const res = await client.response();
  assert.equal(res.text, "ten");
  assert.equal(res.headers.get("connection"), "close");
  assert.equal(res.headers.get("content-length"), "3");
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve keeps an HTTP/1.0 connection alive when asked", async () => {
  await using server = startServer(() => new Response("ten"));
  await using client = await RawClient.connect(server.addr.port);
  for (let i = 0; i < 2; i++) {
    await client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const res = await client.response();
    assert.equal(res.version, "HTTP/1.1");
    assert.equal(res.headers.get("connection"), "keep-alive");
    assert.equal(res.text, "ten");
  }
  assert.equal(client.ended, false);
});

Deno.test("serve ends a streamed HTTP/1.0 response by closing", async () => {
  await using server = startServer(() => new Response(slowStream(3, 4, 5)));
  await using client = await RawClient.connect(server.addr.port);
  await client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const text = await client.readToEnd();
  const [head, body] = text.split("\r\n\r\n");
  assert.match(head!, /\r\nconnection: close/i);
  assert.doesNotMatch(head!, /transfer-encoding|content-length/i);
  assert.equal(body, "aaaabbbbcccc");
});

Deno.test("serve answers 500 through the default onError and goes on", async () => {
  const original = Deno.stderr.writeSync;
  const logged: string[] = [];
  Deno.stderr.writeSync = (p: Uint8Array) => {
    logged.push(new TextDecoder().decode(p));
    return p.length;
  };
  try {
    await using server = startServer((req) => {
      if (req.url.endsWith("/boom")) throw new Error("kaboom");
      return new Response("fine");
    });
    await using client = await RawClient.connect(server.addr.port);
    await client.send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n" + GET);
    const [boom, fine] = await client.responses(["GET", "GET"]);
    assert.equal(boom!.status, 500);
    assert.equal(fine!.text, "fine");
  } finally {
    Deno.stderr.writeSync = original;
  }
  assert.match(logged.join(""), /kaboom/);
});

Deno.test("serve turns a handler's exception into onError's response", async () => {
  const errors: unknown[] = [];
  await using server = startServer(() => Promise.reject(new RangeError("x")), {
    onError: (error) => {
      errors.push(error);
      return new Response("custom", { status: 503 });
    },
  });
  const res = await fetchRaw(server.addr.port, GET);
  assert.equal(res.status, 503);
  assert.equal(res.text, "custom");
  assert.ok(errors[0] instanceof RangeError);
});

Deno.test("serve falls back to 500 when onError throws too", async () => {
  await using server = startServer(() => {
    throw new Error("first");
  }, {
    onError: () => {
      throw new Error("second");
    },
  });
  const res = await fetchRaw(server.addr.port, GET);
  assert.equal(res.status, 500);
});

Deno.test("serve treats a non-Response return as an error", async () => {
  const errors: unknown[] = [];
  await using server = startServer(() => "nope" as unknown as Response, {
    onError: (error) => {
      errors.push(error);
      return new Response("bad handler", { status: 500 });
    },
  });
  const res = await fetchRaw(server.addr.port, GET);
  assert.equal(res.status, 500);
  assert.ok(errors[0] instanceof TypeError);
});

Deno.test("serve gives handlers remoteAddr and a completed promise", async () => {
  let info: ServeHandlerInfo | null = null;
  let completedAt = 0;
  await using server = startServer((_req, i) => {
    info = i;
    i.completed.then(() => completedAt = Date.now());
    return new Response(slowStream(2, 2, 20));
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET);
  const started = Date.now();
  await client.response();
  assert.ok(info !== null);
  const addr = (info as ServeHandlerInfo).remoteAddr;
  assert.equal(addr.hostname, "127.0.0.1");
  assert.equal(addr.port, (client.conn.localAddr as Deno.NetAddr).port);
  await (info as ServeHandlerInfo).completed;
  assert.ok(completedAt >= started);
});

Deno.test("serve resolves completed even when read after the response went out", async () => {
  let info: ServeHandlerInfo | null = null;
  await using server = startServer((_req, i) => {
    info = i;
    return new Response("x");
  });
  await fetchRaw(server.addr.port, GET);
  await delay(20);
  const outcome = await Promise.race([
    (info as ServeHandlerInfo | null)!.completed.then(() => "resolved"),
    delay(1000).then(() => "pending"),
  ]);
  assert.equal(outcome, "resolved");
});

Deno.test("serve reports each response to onAccess in common log format", async () => {
  const entries: AccessLogEntry[] = [];
  await using server = startServer(
    (req) =>
      req.url.endsWith("/missing")
        ? new Response("nope", { status: 404 })
        : new Response("hello"),
    { onAccess: (entry) => entries.push(entry) },
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.0\r\n\r\n",
  );
  await client.responses(["GET", "GET"]);
  await delay(10);
  assert.equal(entries.length, 2);
  const lines = entries.map(formatCommonLog);
  assert.match(
    lines[0]!,
    /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/a\?b=1 HTTP\/1\.1" 200 5$/,
  );
  assert.match(lines[1]!, /"GET \/missing HTTP\/1\.0" 404 4$/);
  assert.ok(entries[0]!.durationMs >= 0);
});

Deno.test("serve answers 400 for a Host that makes no URL", async () => {
  let called = false;
  await using server = startServer(() => {
    called = true;
    return new Response("x");
  });
  const res = await fetchRaw(
    server.addr.port,
    "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
  );
  assert.equal(res.status, 400);
  assert.equal(called, false);
});

Deno.test("serve survives a peer that vanishes mid-response", async () => {
  let served = 0;
  await using server = startServer((req) => {
    served++;
    if (req.url.endsWith("/big")) {
      // Far more than socket buffers hold, produced as fast as it is taken.
      let left = 400;
      return new Response(
        new ReadableStream({
          pull(controller) {
            if (left-- === 0) controller.close();
            else controller.enqueue(new Uint8Array(64 * 1024));
          },
        }),
      );
    }
    if (req.url.endsWith("/whole")) {
      return new Response(new Uint8Array(200 * 1024));
    }
    return new Response("still here");
  });
  for (const path of ["/big", "/whole", "/big"]) {
    const client = await RawClient.connect(server.addr.port);
    await client.send(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await client.readUntil((t) => t.length > 1000);
    await client.close();
  }
  await delay(50);
  const res = await fetchRaw(server.addr.port, GET);
  assert.equal(res.text, "still here");
  assert.equal(served, 4);
});

Deno.test("serve keeps a lone JSON Content-Type given as a plain object", async () => {
  await using server = startServer(() =>
    new Response('{"a":1}', { headers: { "Content-Type": "application/json" } })
  );
  const res = await fetchRaw(server.addr.port, GET);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.text, '{"a":1}');
});

Deno.test("serve with reusePort throws ReusePortUnavailableError without --unstable-net, and binds with it", async () => {
  const options = {
    port: 0,
    hostname: "127.0.0.1",
    reusePort: true,
    onListen: () => {},
  };
  if (!reusePortAvailable()) {
    // Deno itself would print a message and end the process here.
    assert.throws(
      () => serve(options, () => new Response("x")),
      (error: unknown) =>
        error instanceof ReusePortUnavailableError && error.code === "ENOTSUP",
    );
    return;
  }
  await using server = serve(options, () => new Response("x"));
  assert.ok(server.addr.port > 0);
});

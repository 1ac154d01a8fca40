import assert from "node:assert/strict";
import { request } from "../../client/request.ts";
import { Pool } from "../../client/pool.ts";
import { ReadTimeout, TooManyRedirects } from "../../client/errors.ts";
import { answerEach, cannedServer, ok, sleep } from "./_canned_server.ts";

Deno.test("request() returns a Web Response whose body streams", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n5\r\nfirst\r\n",
    );
    await sleep(100);
    await c.write("6\r\nsecond\r\n0\r\n\r\n");
    await answerEach(ok("x"))(c);
  });
  using pool = new Pool();
  const response = await request(`http://127.0.0.1:${server.port}/s?q=1`, {
    pool,
  });
  assert.equal(response.status, 200);
  assert.equal(response.url, `http://127.0.0.1:${server.port}/s?q=1`);
  assert.deepEqual(response.headers.getSetCookie(), ["a=1", "b=2"]);
  const reader = response.body!.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), "first");
  const firstAt = performance.now();
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += new TextDecoder().decode(value);
  }
  assert.equal(rest, "second");
  // The first chunk was handed out while the server still held the second.
  assert.ok(performance.now() - firstAt > 50, "body was streamed");
  assert.equal(server.requests[0]!.line, "GET /s?q=1 HTTP/1.1");
  // The connection went back to the pool.
  assert.equal(
    await (await request(`http://127.0.0.1:${server.port}/`, { pool })).text(),
    "x",
  );
  assert.equal(server.connections, 1);
});

Deno.test("request() sends bodies with the right framing", async () => {
  await using server = cannedServer(answerEach(ok("ok")));
  using pool = new Pool();
  const url = `http://127.0.0.1:${server.port}/`;
  await (await request(url, { pool, method: "POST", body: "abc" })).text();
  assert.match(server.requests[0]!.head, /Content-Length: 3\r\n/);
  await (await request(url, {
    pool,
    method: "post",
    body: new URLSearchParams({ a: "1" }),
  })).text();
  assert.match(server.requests[1]!.line, /^POST /);
  assert.match(
    server.requests[1]!.head,
    /Content-Type: application\/x-www-form-urlencoded/,
  );
  await (await request(url, {
    pool,
    method: "PUT",
    body: ReadableStream.from([new Uint8Array([1, 2, 3])]),
  })).text();
  assert.match(server.requests[2]!.head, /Transfer-Encoding: chunked\r\n/);
  assert.deepEqual([...server.requests[2]!.body], [1, 2, 3]);
});

Deno.test("request() returns redirects by default and follows them on request, up to a limit", async () => {
  await using server = cannedServer(async (c) => {
    for (;;) {
      const request = await c.readRequest();
      if (request === null) return;
      const path = request.line.split(" ")[1];
      await c.write(
        path === "/a"
          ? "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"
          : path === "/b"
          ? "HTTP/1.1 303 See Other\r\nLocation: /c\r\nContent-Length: 4\r\n\r\nskip"
          : ok("landed"),
      );
    }
  });
  using pool = new Pool();
  const url = `http://127.0.0.1:${server.port}/a`;
  const manual = await request(url, { pool });
  assert.equal(manual.status, 302);
  assert.equal(manual.headers.get("location"), "/b");
  await manual.body?.cancel();

  const followed = await request(url, {
    pool,
    redirect: "follow",
    method: "POST",
    body: "x",
  });
  assert.equal(await followed.text(), "landed");
  assert.equal(followed.redirected, true);
  assert.equal(followed.url, `http://127.0.0.1:${server.port}/c`);
  const lines = server.requests.slice(1).map((r) => r.line);
  assert.deepEqual(lines, [
    "POST /a HTTP/1.1",
    "GET /b HTTP/1.1",
    "GET /c HTTP/1.1",
  ]);
});

Deno.test("request() shows each redirect to onRedirect before following it; a throw stops there", async () => {
  await using server = cannedServer(async (c) => {
    for (;;) {
      const request = await c.readRequest();
      if (request === null) return;
      const path = request.line.split(" ")[1];
      await c.write(
        path === "/a"
          ? "HTTP/1.1 301 Moved\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"
          : path === "/b"
          ? "HTTP/1.1 307 Again\r\nLocation: /c?q\r\nContent-Length: 0\r\n\r\n"
          : ok("landed"),
      );
    }
  });
  using pool = new Pool();
  const base = `http://127.0.0.1:${server.port}`;
  const hops: string[] = [];
  const followed = await request(`${base}/a`, {
    pool,
    redirect: "follow",
    onRedirect(response, next) {
      hops.push(`${response.status} ${response.reason} -> ${next.href}`);
    },
  });
  assert.equal(await followed.text(), "landed");
  assert.deepEqual(hops, [
    `301 Moved -> ${base}/b`,
    `307 Again -> ${base}/c?q`,
  ]);
  const before = server.requests.length;
  const stop = new Error("stop here");
  await assert.rejects(
    request(`${base}/a`, {
      pool,
      redirect: "follow",
      onRedirect: () => Promise.reject(stop),
    }),
    (e) => e === stop,
  );
  // Only /a went out: the hook's rejection ended the chain.
  assert.equal(server.requests.length, before + 1);
});

Deno.test("request() throws TooManyRedirects past maxRedirects", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 307 Temporary Redirect\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
  ));
  using pool = new Pool();
  await assert.rejects(
    request(`http://127.0.0.1:${server.port}/`, {
      pool,
      redirect: "follow",
      maxRedirects: 3,
    }),
    (e) => e instanceof TooManyRedirects && e.limit === 3,
  );
  assert.equal(server.requests.length, 4);
});

Deno.test("request() aborts with its signal, body included", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart");
    await sleep(500);
  });
  using pool = new Pool();
  const controller = new AbortController();
  const response = await request(`http://127.0.0.1:${server.port}/`, {
    pool,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error("user gave up")), 30);
  await assert.rejects(response.text(), /user gave up/);
  await assert.rejects(
    request(`http://127.0.0.1:${server.port}/`, {
      pool,
      signal: controller.signal,
    }),
    /user gave up/,
  );
});

Deno.test("request() applies headersTimeoutMs and bodyTimeoutMs", async () => {
  await using server = cannedServer(async (c, index) => {
    await c.readRequest();
    if (index === 0) return await sleep(400);
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    await sleep(400);
  });
  using pool = new Pool();
  const url = `http://127.0.0.1:${server.port}/`;
  await assert.rejects(
    request(url, { pool, headersTimeoutMs: 50 }),
    (e) => e instanceof ReadTimeout && /after 50 ms/.test(e.message),
  );
  const response = await request(url, { pool, bodyTimeoutMs: 50 });
  await assert.rejects(response.arrayBuffer(), ReadTimeout);
});

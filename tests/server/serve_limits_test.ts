import assert from "node:assert/strict";
import { delay, fetchRaw, RawClient, startServer } from "./_raw.ts";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/** Requests the parser rejects, with the status the server must answer. */
const REJECTED: { name: string; raw: string; status: number }[] = [
  { name: "bad_request_line", raw: "GET /\r\n\r\n", status: 400 },
  {
    name: "lowercase_version",
    raw: "GET / http/1.1\r\nHost: x\r\n\r\n",
    status: 400,
  },
  { name: "missing_host", raw: "GET / HTTP/1.1\r\n\r\n", status: 400 },
  {
    name: "cl_and_te",
    raw:
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "two_content_lengths",
    raw:
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    status: 400,
  },
  {
    name: "obs_fold",
    raw: "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
    status: 400,
  },
  { name: "bare_lf", raw: "GET / HTTP/1.1\nHost: x\n\n", status: 400 },
  {
    name: "unknown_transfer_encoding",
    raw:
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    status: 501,
  },
  { name: "http_2_0", raw: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", status: 505 },
  {
    name: "target_too_long",
    raw: `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    status: 414,
  },
  {
    name: "head_too_large",
    raw: `GET / HTTP/1.1\r\nHost: x\r\nCookie: ${"c".repeat(17_000)}\r\n\r\n`,
    status: 431,
  },
  {
    name: "too_many_headers",
    raw: `GET / HTTP/1.1\r\nHost: x\r\n${"X-A: 1\r\n".repeat(101)}\r\n`,
    status: 431,
  },
  {
    name: "declared_body_too_large",
    raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n",
    status: 413,
  },
];

for (const { name, raw, status } of REJECTED) {
  Deno.test(`serve answers ${name} with ${status} and closes`, async () => {
    let called = false;
    await using server = startServer(() => {
      called = true;
      return new Response("handler");
    }, { limits: { maxBodyBytes: 1024 } });
    await using client = await RawClient.connect(server.addr.port);
    await client.send(raw);
    const res = await client.response();
    assert.equal(res.status, status, res.text);
    assert.equal(res.headers.get("connection"), "close");
    assert.ok(res.headers.get("date"));
    assert.equal(
      res.headers.get("content-length"),
      String(res.body.length),
    );
    assert.ok(await client.waitClosed(2000), "connection left open");
    assert.equal(called, false);
  });
}

Deno.test("serve answers 413 when a chunked body grows past maxBodyBytes", async () => {
  let failure: unknown = null;
  await using server = startServer(async (req) => {
    try {
      await req.arrayBuffer();
    } catch (error) {
      failure = error;
      throw error;
    }
    return new Response("read it all");
  }, {
    limits: { maxBodyBytes: 100 },
    onError: () => new Response("500!", { status: 500 }),
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
  );
  for (let i = 0; i < 4; i++) await client.send(`32\r\n${"z".repeat(50)}\r\n`);
  const res = await client.response("POST");
  assert.equal(res.status, 413);
  assert.equal(res.headers.get("connection"), "close");
  assert.ok(failure instanceof Error);
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve answers 400 when the body the handler reads is malformed", async () => {
  await using server = startServer(async (req) => {
    await req.text();
    return new Response("never");
  }, { onError: () => new Response("500!", { status: 500 }) });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
  );
  const res = await client.response("POST");
  assert.equal(res.status, 400);
  assert.match(res.text, /chunk/i);
  assert.equal(res.headers.get("connection"), "close");
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve closes after a malformed body nobody read", async () => {
  await using server = startServer(() => new Response("answered"));
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" +
      GET,
  );
  const res = await client.response("POST");
  assert.equal(res.text, "answered");
  assert.ok(await client.waitClosed(2000));
  assert.equal(client.text.match(/HTTP\/1\.1/g)?.length, 1);
});

Deno.test("serve lets a handler answer a too-large body itself", async () => {
  await using server = startServer(async (req) => {
    try {
      await req.text();
      return new Response("fits");
    } catch {
      return new Response("too big, sorry", { status: 400 });
    }
  }, { limits: { maxBodyBytes: 10 } });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n",
  );
  const res = await client.response("POST");
  assert.equal(res.status, 400);
  assert.equal(res.text, "too big, sorry");
  // The body is broken: the connection must not be reused.
  assert.equal(res.headers.get("connection"), "close");
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve honours parser limits passed through limits.parser", async () => {
  await using server = startServer(() => new Response("ok"), {
    limits: { parser: { maxHeaderCount: 3 } },
  });
  const ok = await fetchRaw(
    server.addr.port,
    "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n",
  );
  assert.equal(ok.status, 200);
  const tooMany = await fetchRaw(
    server.addr.port,
    "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
  );
  assert.equal(tooMany.status, 431);
});

Deno.test("serve closes connections past maxConnections at once", async () => {
  await using server = startServer(() => new Response("ok"), {
    limits: { maxConnections: 2 },
  });
  await using a = await RawClient.connect(server.addr.port);
  await using b = await RawClient.connect(server.addr.port);
  await a.send(GET);
  await b.send(GET);
  await a.response();
  await b.response();
  await using c = await RawClient.connect(server.addr.port);
  assert.ok(await c.waitClosed(2000), "third connection was kept");
  assert.equal(c.received.length, 0);
  // Once one closes, a new connection is served again.
  await a.close();
  await delay(50);
  const res = await fetchRaw(server.addr.port, GET);
  assert.equal(res.text, "ok");
});

Deno.test("serve closes after maxRequestsPerConnection, saying so on the last response", async () => {
  await using server = startServer(() => new Response("ok"), {
    limits: { maxRequestsPerConnection: 3 },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(GET + GET + GET + GET);
  const responses = await client.responses(["GET", "GET", "GET"]);
  assert.deepEqual(
    responses.map((r) => r.headers.get("connection")),
    [null, null, "close"],
  );
  assert.ok(await client.waitClosed(2000));
  assert.equal(client.text.match(/HTTP\/1\.1/g)?.length, 3);
});

Deno.test("serve drains an unread body up to maxDrainBytes and keeps the connection", async () => {
  await using server = startServer(() => new Response("skipped"), {
    limits: { maxDrainBytes: 1000 },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n${
      "a".repeat(900)
    }` +
      GET,
  );
  const [a, b] = await client.responses(["POST", "GET"]);
  assert.equal(a!.text, "skipped");
  assert.equal(b!.text, "skipped");
  assert.equal(client.ended, false);
});

Deno.test("serve closes instead of draining more than maxDrainBytes", async () => {
  await using server = startServer(() => new Response("skipped"), {
    limits: { maxDrainBytes: 1000 },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n`,
  );
  const res = await client.response("POST");
  assert.equal(res.text, "skipped");
  // Send the body; the server stops reading and closes.
  try {
    await client.send("b".repeat(50_000) + GET);
  } catch {
    // the server may already have closed
  }
  assert.ok(await client.waitClosed(2000));
  assert.equal(client.text.match(/HTTP\/1\.1/g)?.length, 1);
});

Deno.test("serve rejects invalid limits", () => {
  assert.throws(
    () => startServer(() => new Response(), { limits: { maxBodyBytes: -1 } }),
    RangeError,
  );
});

Deno.test("serve's 413 reaches a client that is still sending its body", async () => {
  await using server = startServer(() => new Response("never"), {
    limits: { maxBodyBytes: 1024 },
  });
  for (let round = 0; round < 5; round++) {
    await using client = await RawClient.connect(server.addr.port);
    const size = 512 * 1024;
    const sending = client.send(
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n` +
        "q".repeat(size),
    ).catch(() => {});
    const res = await client.response("POST");
    assert.equal(res.status, 413);
    assert.equal(res.headers.get("connection"), "close");
    await sending;
  }
});

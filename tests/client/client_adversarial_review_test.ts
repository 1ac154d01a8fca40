// Adversarial servers vs the client: short bodies, resets, broken framing,
// stray bytes, 1xx storms, slow and endless heads. Project rule: a client
// that hits a short body, reset or timeout raises a named error (with a
// `code`), never a silent partial result. Every test is bounded in time.

import assert from "node:assert/strict";
import {
  BadStatusLine,
  type HTTPException,
  IncompleteRead,
  LineTooLong,
  ReadTimeout,
} from "../../client/errors.ts";
import { HTTPConnection } from "../../client/http_connection.ts";
import { Pool } from "../../client/pool.ts";
import { request } from "../../client/request.ts";
import { ConnectionResetError } from "../../net/errors.ts";
import net from "node:net";
import {
  answerEach,
  bounded,
  cannedServer,
  isNamed,
  ok,
  sleep,
} from "./_canned_server.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

// A server that answers each connection with `bytes`, then aborts it with
// a TCP reset (RST, via node:net's resetAndDestroy: Deno.Conn.close() sends
// a FIN even with unread input). Connections after the first `resets` get
// `after` and stay open.
async function resetServer(
  bytes: string,
  resets = Infinity,
  after = ok("fine"),
): Promise<AsyncDisposable & { port: number }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const reset = count++ < resets;
    if (!reset) {
      // One answer per request head (the probes send GETs without bodies).
      let seen = "";
      socket.on("data", (data: Uint8Array) => {
        seen += new TextDecoder().decode(data);
        const heads = seen.split("\r\n\r\n");
        seen = heads.pop()!;
        for (const _ of heads) socket.write(after);
      });
      return;
    }
    socket.once("data", () => {
      socket.write(bytes, "latin1");
      // Let the client take the bytes before the reset.
      setTimeout(() => socket.resetAndDestroy(), 40);
    });
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  return {
    get port() {
      return (server.address() as net.AddressInfo).port;
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// A response framed as a complete one, smuggled behind a bad response.
const EVIL = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil";

// ---------------------------------------------------------------------------
// Short bodies (FIN before the announced end)
// ---------------------------------------------------------------------------

// Python's IncompleteRead: read(amt) and readinto() past a short
// Content-Length body (RFC 9112 §8: an incomplete message).
Deno.test("adversarial: read(n) and readinto() meet a short Content-Length body", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  });
  using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 1 });
  await conn.request("GET", "/");
  const response = await bounded(conn.getresponse());
  assert.equal(text(await response.read(2)), "ab");
  await assert.rejects(bounded(response.read(5)), (e) => {
    assert.ok(e instanceof IncompleteRead);
    assert.equal(text(e.partial), "c");
    assert.equal(e.expected, 7);
    return true;
  });
  assert.equal(response.closed, true);
  // readinto on a fresh exchange: same error, the bytes it got as partial.
  await conn.request("GET", "/");
  const again = await bounded(conn.getresponse());
  const buf = new Uint8Array(16);
  await assert.rejects(bounded(again.readinto(buf)), (e) => {
    assert.ok(e instanceof IncompleteRead);
    assert.equal(text(e.partial), "abc");
    return true;
  });
});

Deno.test("adversarial: Pool streaming and request() body meet a short Content-Length body", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    // Larger than request()'s eager size so the Web body streams.
    await c.write(
      `HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n${"x".repeat(20000)}`,
    );
  });
  using pool = new Pool({ bodyTimeoutMs: 1000 });
  const origin = `http://127.0.0.1:${server.port}`;
  const response = await bounded(pool.request(origin));
  let got = 0;
  await assert.rejects(
    bounded((async () => {
      for await (const chunk of response) got += chunk.length;
    })()),
    (e) => e instanceof IncompleteRead && e.code === "INCOMPLETE_READ",
  );
  assert.equal(got, 20000);
  assert.equal(pool.stats.connections, 0);
  const web = await bounded(request(`${origin}/`, { pool }));
  await assert.rejects(bounded(web.arrayBuffer()), IncompleteRead);
  assert.equal(pool.stats.connections, 0);
});

// RFC 9112 §7.1: a chunked body ends with the last-chunk; without it the
// message is incomplete (Python raises IncompleteRead).
Deno.test("adversarial: chunked body without its last-chunk raises IncompleteRead everywhere", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    );
  });
  using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 1 });
  await conn.request("GET", "/");
  const response = await bounded(conn.getresponse());
  await assert.rejects(bounded(response.read()), (e) => {
    assert.ok(e instanceof IncompleteRead);
    assert.equal(text(e.partial), "abc");
    assert.equal(e.expected, null);
    return true;
  });
  using pool = new Pool();
  const web = await bounded(
    request(`http://127.0.0.1:${server.port}/`, { pool }),
  );
  await assert.rejects(bounded(web.text()), IncompleteRead);
});

// ---------------------------------------------------------------------------
// Resets (RST)
// ---------------------------------------------------------------------------

Deno.test("adversarial: a reset inside a Content-Length body is a named error", async () => {
  await using server = await resetServer(
    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc",
    1,
  );
  using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 1 });
  await conn.request("GET", "/");
  const response = await bounded(conn.getresponse());
  await assert.rejects(bounded(response.read()), (e) => {
    assert.ok(
      e instanceof ConnectionResetError || e instanceof IncompleteRead,
      String(e),
    );
    assert.ok(isNamed(e));
    return true;
  });
  assert.equal(response.closed, true);
  // The connection object is usable again (a new socket).
  await conn.request("GET", "/");
  assert.equal(text(await bounded((await conn.getresponse()).read())), "fine");
});

// RFC 9112 §6.3 (8) and §8: a close-delimited body ends at the close; a
// reset is not a close, so the body must not look complete (Python's
// read() lets the ConnectionResetError through).
Deno.test("adversarial: an HTTP/1.0 close-delimited body cut by a reset is not complete", async () => {
  await using server = await resetServer(
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npartial",
  );
  const isReset = (e: unknown) =>
    e instanceof ConnectionResetError && e.code === "ECONNRESET";
  using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 1 });
  await conn.request("GET", "/");
  const response = await bounded(conn.getresponse());
  await assert.rejects(bounded(response.read()), isReset);
  // Same through Pool (for await) and request() (Web body).
  using pool = new Pool({ bodyTimeoutMs: 1000 });
  const origin = `http://127.0.0.1:${server.port}`;
  const pooled = await bounded(pool.request(origin));
  await assert.rejects(
    bounded((async () => {
      for await (const _ of pooled) { /* drain */ }
    })()),
    isReset,
  );
  const web = await bounded(request(`${origin}/`, { pool }));
  await assert.rejects(bounded(web.text()), isReset);
  assert.equal(pool.stats.connections, 0);
});

Deno.test("adversarial: a reset inside a chunked body is a named error via request()", async () => {
  await using server = await resetServer(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
  );
  using pool = new Pool();
  const web = await bounded(
    request(`http://127.0.0.1:${server.port}/`, { pool }),
  );
  await assert.rejects(bounded(web.text()), isNamed);
  assert.equal(pool.stats.connections, 0);
});

// ---------------------------------------------------------------------------
// Broken framing
// ---------------------------------------------------------------------------

// RFC 9112 §7.1: chunk-size = 1*HEXDIG, then optional extensions.
for (
  const [name, size] of [
    ["negative", "-5"],
    ["plus sign", "+5"],
    ["0x prefix", "0x5"],
    ["leading space", " 5"],
    ["not hex", "zz"],
    ["overflow", "FFFFFFFFFFFFFFFFFFFF"],
    ["control in extension", "5;a=\x01"],
  ] as const
) {
  Deno.test(`adversarial: chunk size ${name} is a named error, not data`, async () => {
    await using server = cannedServer(answerEach(
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nhello\r\n0\r\n\r\n`,
    ));
    using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 1 });
    await conn.request("GET", "/");
    const response = await bounded(conn.getresponse());
    await assert.rejects(bounded(response.read()), (e) => {
      assert.ok(isNamed(e), String(e));
      assert.ok(!(e instanceof RangeError));
      return true;
    });
    assert.equal(response.closed, true);
  });
}

Deno.test("adversarial: chunk data longer than its size is a named error", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
  ));
  using pool = new Pool();
  const response = await bounded(
    pool.request(`http://127.0.0.1:${server.port}`),
  );
  await assert.rejects(
    bounded(response.read()),
    (e) => isNamed(e) && (e as HTTPException).code === "BAD_CHUNK",
  );
  assert.equal(pool.stats.connections, 0);
});

// RFC 9110 §8.6: Content-Length = 1*DIGIT.
for (const value of ["+5", "-1", "5a", "0x5", "5 5", ""]) {
  Deno.test(`adversarial: Content-Length ${JSON.stringify(value)} is a named error`, async () => {
    await using server = cannedServer(answerEach(
      `HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\n\r\nhello`,
    ));
    using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 1 });
    await conn.request("GET", "/");
    await assert.rejects(bounded(conn.getresponse()), isNamed);
  });
}

// RFC 9112 §6.3 (3): both fields "ought to be handled as an error"; the
// connection must then be closed (§6.1).
Deno.test("adversarial: Content-Length with Transfer-Encoding is refused and the socket dropped", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
  ));
  using pool = new Pool();
  await assert.rejects(
    bounded(pool.request(`http://127.0.0.1:${server.port}`)),
    (e) =>
      isNamed(e) &&
      (e as HTTPException).code === "CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  );
  assert.equal(pool.stats.connections, 0);
});

// RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message
// containing a Transfer-Encoding header field MUST treat the message as if
// the framing is faulty, even if a Content-Length is present, and close the
// connection after processing the message."
Deno.test({
  name:
    "adversarial: an HTTP/1.0 response with Transfer-Encoding closes the connection after it",
  fn: async () => {
    await using server = cannedServer(answerEach(
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ));
    using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 1 });
    await conn.request("GET", "/");
    const response = await bounded(conn.getresponse());
    assert.equal(text(await bounded(response.read())), "abc");
    assert.equal(response.will_close, true);
  },
});

// ---------------------------------------------------------------------------
// Stray bytes after a complete response (desync / response splitting)
// ---------------------------------------------------------------------------

// RFC 9112 §6.3, last paragraph: "If the final response to the last
// request on a connection has been completely received and there remains
// additional data to read, a user agent MAY discard the remaining data ...
// A client MUST NOT process, cache, or forward such extra data as a
// separate response, since such behavior would be vulnerable to cache
// poisoning." (Go's Transport closes a connection that has unsolicited
// bytes: "Unsolicited response received on idle HTTP channel".)
function splittingServer(first: (line: string) => string) {
  return cannedServer(async (c) => {
    for (let i = 0;; i++) {
      const seen = await c.readRequest();
      if (seen === null) return;
      await c.write(i === 0 ? first(seen.line) : ok("real"));
    }
  });
}

for (
  const [name, method, bad] of [
    [
      "HEAD response carrying a body",
      "HEAD",
      "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n",
    ],
    ["204 carrying body bytes", "GET", "HTTP/1.1 204 No Content\r\n\r\n"],
    ["304 carrying body bytes", "GET", "HTTP/1.1 304 Not Modified\r\n\r\n"],
    [
      "Content-Length shorter than the body",
      "GET",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
  ] as const
) {
  Deno.test({
    name:
      `adversarial: HTTPConnection never takes bytes after a ${name} as the next response`,
    fn: async () => {
      await using server = splittingServer(() => bad + EVIL);
      using conn = new HTTPConnection("127.0.0.1", server.port, {
        timeout: 1,
      });
      await conn.request(method, "/");
      await bounded((await bounded(conn.getresponse())).read());
      await sleep(20);
      await conn.request("GET", "/next");
      let body: string | null = null;
      try {
        body = text(await bounded((await bounded(conn.getresponse())).read()));
      } catch (e) {
        assert.ok(isNamed(e), String(e));
      }
      assert.notEqual(body, "evil");
    },
  });
}

Deno.test({
  name:
    "adversarial: Pool and request() never take bytes after a response as the next response",
  fn: async () => {
    await using server = splittingServer(() =>
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + EVIL
    );
    using pool = new Pool();
    const url = `http://127.0.0.1:${server.port}/`;
    assert.equal(await bounded((await request(url, { pool })).text()), "ok");
    await sleep(20);
    let body: string | null = null;
    try {
      body = await bounded((await request(url, { pool })).text());
    } catch (e) {
      assert.ok(isNamed(e), String(e));
    }
    assert.notEqual(body, "evil");
  },
});

// ---------------------------------------------------------------------------
// Keep-alive and pipelining against a server that closes
// ---------------------------------------------------------------------------

// Echoes the request path as the body; the first connection answers only
// `answered` requests (keep-alive, no Connection: close), then `tail`, then
// closes.
function closingPipelineServer(answered: number, tail = "") {
  return cannedServer(async (c, index) => {
    if (index === 0) await sleep(40); // let the pipelined requests arrive
    for (let i = 0;; i++) {
      const seen = await c.readRequest();
      if (seen === null) return;
      if (index === 0 && i === answered) {
        await c.write(tail);
        return;
      }
      await c.write(ok(seen.line.split(" ")[1]!));
    }
  });
}

// RFC 9112 §9.3.2: when a pipelined connection closes early, the client
// may retry the idempotent requests it did not get answers to.
Deno.test("adversarial: Pool retries pipelined GETs when the server closes after the first answer", async () => {
  await using server = closingPipelineServer(1);
  using pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 3 });
  const origin = `http://127.0.0.1:${server.port}`;
  const bodies = await bounded(Promise.all(
    [0, 1, 2].map(async (i) => {
      try {
        const response = await pool.request(origin, { path: `/${i}` });
        return text(await response.read());
      } catch (e) {
        assert.ok(isNamed(e), String(e));
        return "error";
      }
    }),
  ));
  assert.equal(bodies[0], "/0");
  for (const [i, body] of bodies.entries()) {
    assert.ok(body === `/${i}` || body === "error", `${i}: ${body}`);
  }
});

Deno.test("adversarial: Pool pipelining with a cut second response: named error, no wrong body", async () => {
  await using server = closingPipelineServer(
    1,
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n/1",
  );
  using pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 3 });
  const origin = `http://127.0.0.1:${server.port}`;
  const results = await bounded(Promise.all(
    [0, 1, 2].map(async (i) => {
      try {
        const response = await pool.request(origin, { path: `/${i}` });
        return text(await response.read());
      } catch (e) {
        assert.ok(isNamed(e), String(e));
        return e instanceof IncompleteRead ? "incomplete" : "error";
      }
    }),
  ));
  assert.equal(results[0], "/0");
  assert.equal(results[1], "incomplete");
  assert.ok(results[2] === "/2" || results[2] === "error", results[2]);
});

// An idle keep-alive connection the server aborted with a reset: the next
// idempotent request was never answered, so it is sent again once on a new
// connection (RFC 9112 §9.3.1; Python's RemoteDisconnected retry pattern).
Deno.test("adversarial: Pool retries a GET once after a reset on an idle keep-alive connection", async () => {
  await using server = await resetServer(ok("one"), 1, ok("two"));
  using pool = new Pool();
  const origin = `http://127.0.0.1:${server.port}`;
  assert.equal(text(await bounded((await pool.request(origin)).read())), "one");
  await sleep(80); // the reset arrives while the connection is idle
  assert.equal(text(await bounded((await pool.request(origin)).read())), "two");
  assert.equal(pool.stats.connections, 1);
});

Deno.test("adversarial: pipelined GETs behind a reset after the first answer: retried or named error", async () => {
  await using server = await resetServer(ok("first"), 1, ok("later"));
  using pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 3 });
  const origin = `http://127.0.0.1:${server.port}`;
  const bodies = await bounded(Promise.all(
    [0, 1, 2].map(async (i) => {
      try {
        const response = await pool.request(origin, { path: `/${i}` });
        return text(await response.read());
      } catch (e) {
        assert.ok(isNamed(e), String(e));
        return "error";
      }
    }),
  ));
  assert.equal(bodies[0], "first");
  for (const body of bodies.slice(1)) {
    assert.ok(body === "later" || body === "error", body);
  }
});

// A head cut short is not a clean disconnect: BadStatusLine, not the
// retried RemoteDisconnected (Python: RemoteDisconnected only when no
// status line came at all).
Deno.test("adversarial: a response head cut short raises BadStatusLine, not RemoteDisconnected", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write("HTTP/1.1 200 OK\r\nContent-Le");
  });
  using pool = new Pool();
  await assert.rejects(
    bounded(pool.request(`http://127.0.0.1:${server.port}`)),
    (e) => e instanceof BadStatusLine && e.code === "BAD_STATUS_LINE",
  );
});

// ---------------------------------------------------------------------------
// Status lines, heads and limits
// ---------------------------------------------------------------------------

// RFC 9112 §4: status-code = 3DIGIT, after exactly one SP.
for (
  const line of [
    "HTTP/1.1 abc OK",
    "HTTP/1.1 20 OK",
    "HTTP/1.1 2000 OK",
    "HTTP/1.1 099 Low",
    "HTTP/1.1 -20 OK",
    "HTTP/1.1  200 OK",
    "HTTP/1.1",
  ]
) {
  Deno.test(`adversarial: status line ${JSON.stringify(line)} raises BadStatusLine`, async () => {
    await using server = cannedServer(answerEach(
      `${line}\r\nContent-Length: 0\r\n\r\n`,
    ));
    using pool = new Pool();
    await assert.rejects(
      bounded(pool.request(`http://127.0.0.1:${server.port}`)),
      BadStatusLine,
    );
    assert.equal(pool.stats.connections, 0);
  });
}

// A head streamed without end must hit the head-size limit, not grow.
Deno.test("adversarial: a head that never ends hits the head limit", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write("HTTP/1.1 200 OK\r\n");
    while (!c.closed) {
      await c.write(`X-Pad: ${"a".repeat(1000)}\r\n`);
      await sleep(1);
    }
  });
  using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 1 });
  await conn.request("GET", "/");
  await assert.rejects(bounded(conn.getresponse()), (e) => {
    assert.ok(e instanceof LineTooLong);
    assert.equal(e.code, "LINE_TOO_LONG");
    return true;
  });
});

// headersTimeoutMs bounds the whole head, even when bytes trickle in.
Deno.test("adversarial: a dripping head hits the Pool's headersTimeoutMs", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write("HTTP/1.1 200 OK\r\n");
    while (!c.closed) {
      await c.write("X: y\r\n");
      await sleep(30);
    }
  });
  using pool = new Pool({ headersTimeoutMs: 200 });
  const started = performance.now();
  await assert.rejects(
    bounded(pool.request(`http://127.0.0.1:${server.port}`)),
    (e) => e instanceof ReadTimeout && e.code === "ETIMEDOUT",
  );
  assert.ok(performance.now() - started < 600);
  assert.equal(pool.stats.connections, 0);
});

// Interim responses are heads too: an endless run of them must hit a
// limit, like one endless head does. Go's Transport counts 1xx heads
// against MaxResponseHeaderBytes (earlier: at most 5 of them); RFC 9110
// §15.2 asks clients to parse 1xx, not to buffer them without bound.
Deno.test({
  name: "adversarial: a storm of 1xx responses hits a limit",
  fn: async () => {
    const hint =
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
    await using server = cannedServer(async (c) => {
      await c.readRequest();
      while (!c.closed) {
        await c.write(hint.repeat(100));
        await sleep(5);
      }
    });
    using conn = new HTTPConnection("127.0.0.1", server.port, {
      timeout: 0.2,
    });
    await conn.request("GET", "/");
    await assert.rejects(bounded(conn.getresponse(), 1500), isNamed);
  },
});

// RFC 9110 §15.2: several 1xx then a final response are fine (Pool path).
Deno.test("adversarial: Pool skips a few 1xx heads and reads the final response", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 100 Continue\r\n\r\n".repeat(3) +
      "HTTP/1.1 102 Processing\r\n\r\n" + ok("done"),
  ));
  using pool = new Pool();
  const response = await bounded(
    pool.request(`http://127.0.0.1:${server.port}`),
  );
  assert.equal(response.status, 200);
  assert.equal(response.informational.length, 4);
  assert.equal(text(await bounded(response.read())), "done");
});

// Python's http.client: the socket timeout applies to every read, so a
// body that stalls raises instead of hanging.
Deno.test("adversarial: HTTPConnection timeout stops a stalled chunked body", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    );
    await sleep(400);
  });
  using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 0.1 });
  await conn.request("GET", "/");
  const response = await bounded(conn.getresponse());
  await assert.rejects(
    bounded(response.read()),
    (e) => e instanceof ReadTimeout && e.code === "ETIMEDOUT",
  );
  assert.equal(response.closed, true);
});

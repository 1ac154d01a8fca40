import assert from "node:assert/strict";
import {
  BadStatusLine,
  CannotSendHeader,
  CannotSendRequest,
  HTTPException,
  IncompleteRead,
  InvalidURL,
  LineTooLong,
  ReadTimeout,
  RemoteDisconnected,
  ResponseNotReady,
  UnknownProtocol,
} from "../../client/errors.ts";
import { HTTPConnection } from "../../client/http_connection.ts";
import { ConnectionRefusedError } from "../../net/errors.ts";
import { answerEach, cannedServer, ok, sleep } from "./_canned_server.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("HTTPConnection ports Python's example line by line", async () => {
  await using server = cannedServer(answerEach(ok("Hello")));
  const conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  const response = await conn.getresponse();
  assert.equal(response.status, 200);
  assert.equal(response.reason, "OK");
  assert.equal(response.version, 11);
  assert.equal(text(await response.read()), "Hello");
  assert.equal(response.closed, true);
  conn.close();
  const head = server.requests[0]!.head;
  assert.match(head, /^GET \/ HTTP\/1\.1\r\n/);
  assert.match(
    head,
    new RegExp(`\r\nHost: 127\\.0\\.0\\.1:${server.port}\r\n`),
  );
  assert.match(head, /\r\nAccept-Encoding: identity\r\n/);
});

Deno.test("HTTPConnection parses host:port and rejects a bad port", () => {
  const conn = new HTTPConnection("example.test:8080");
  assert.equal(conn.host, "example.test");
  assert.equal(conn.port, 8080);
  const v6 = new HTTPConnection("[::1]:81");
  assert.equal(v6.host, "::1");
  assert.equal(v6.port, 81);
  assert.equal(new HTTPConnection("a").port, 80);
  assert.throws(() => new HTTPConnection("a:http"), InvalidURL);
});

Deno.test("HTTPConnection reuses one keep-alive connection", async () => {
  await using server = cannedServer(answerEach(ok("a"), ok("bb")));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  for (const expected of ["a", "bb", "bb"]) {
    await conn.request("GET", "/x");
    const response = await conn.getresponse();
    assert.equal(text(await response.read()), expected);
  }
  assert.equal(server.connections, 1);
  assert.equal(server.requests.length, 3);
});

Deno.test("HTTPConnection raises IncompleteRead with partial bytes and expected length", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  });
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  const response = await conn.getresponse();
  await assert.rejects(response.read(), (e) => {
    assert.ok(e instanceof IncompleteRead);
    assert.equal(text(e.partial), "abc");
    assert.equal(e.expected, 7);
    assert.equal(e.message, "IncompleteRead(3 bytes read, 7 more expected)");
    return true;
  });
  assert.equal(response.closed, true);
});

Deno.test("HTTPConnection rejects conflicting Content-Length values", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
  ));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  await assert.rejects(conn.getresponse(), (e) => {
    assert.ok(e instanceof HTTPException);
    assert.equal(e.code, "CONFLICTING_CONTENT_LENGTH");
    assert.match(e.message, /from 127\.0\.0\.1:/);
    return true;
  });
});

Deno.test("HTTPConnection skips 1xx responses and exposes 103 hints", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 100 Continue\r\n\r\n" +
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
      ok("done"),
  ));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  const response = await conn.getresponse();
  assert.equal(response.status, 200);
  assert.deepEqual(response.informational.map((i) => i.status), [100, 103]);
  assert.equal(
    response.informational[1]!.headers.get("link"),
    "</style.css>; rel=preload",
  );
  assert.equal(text(await response.read()), "done");
});

for (
  const [name, method, head] of [
    ["204", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"],
    ["304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"],
    ["HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"],
  ] as const
) {
  Deno.test(`HTTPConnection returns a ${name} response without waiting for a body`, async () => {
    // The server sends the head only and keeps the connection open.
    await using server = cannedServer(answerEach(head));
    using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 2 });
    const started = performance.now();
    await conn.request(method, "/");
    const response = await conn.getresponse();
    assert.equal((await response.read()).length, 0);
    assert.equal(response.getheader("content-length"), "5");
    assert.ok(performance.now() - started < 1500);
    // The connection is reusable: the next request goes over it.
    await conn.request(method, "/again");
    await (await conn.getresponse()).read();
    assert.equal(server.connections, 1);
  });
}

Deno.test("HTTPConnection reads a close-delimited body", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await c.write("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of");
    await sleep(20);
    await c.write(" this");
    c.close();
  });
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  const response = await conn.getresponse();
  assert.equal(response.version, 10);
  assert.equal(response.will_close, true);
  assert.equal(response.length, null);
  assert.equal(text(await response.read()), "all of this");
});

Deno.test("HTTPConnection de-chunks a body and exposes trailers", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Digest\r\n\r\n" +
      "5\r\nhello\r\n6\r\n world\r\n0\r\nDigest: sha-256=abc\r\n\r\n",
  ));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  const response = await conn.getresponse();
  assert.equal(response.chunked, true);
  assert.equal(text(await response.read()), "hello world");
  assert.equal(response.trailers?.get("digest"), "sha-256=abc");
});

Deno.test("HTTPConnection retries an idempotent request once after the server closed an idle connection", async () => {
  await using server = cannedServer(async (c, index) => {
    const request = await c.readRequest();
    if (request === null) return;
    await c.write(ok(`conn${index}`));
    if (index === 0) c.close(); // keep-alive promised, then closed while idle
    else await answerEach(ok(`conn${index}`))(c);
  });
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/1");
  assert.equal(text(await (await conn.getresponse()).read()), "conn0");
  await sleep(50);
  await conn.request("GET", "/2");
  assert.equal(text(await (await conn.getresponse()).read()), "conn1");
  assert.equal(server.connections, 2);
});

Deno.test("HTTPConnection never retries a POST on a stale connection", async () => {
  await using server = cannedServer(async (c) => {
    const request = await c.readRequest();
    if (request === null) return;
    await c.write(ok("first"));
    c.close();
  });
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/1");
  await (await conn.getresponse()).read();
  await sleep(50);
  await assert.rejects(
    (async () => {
      await conn.request("POST", "/2", "data");
      await conn.getresponse();
    })(),
    (e) =>
      e instanceof RemoteDisconnected ||
      (e as { code?: string }).code === "ECONNRESET",
  );
  assert.equal(server.connections, 1);
  assert.equal(server.requests.length, 1);
});

Deno.test("HTTPConnection times out a slow server with ReadTimeout", async () => {
  await using server = cannedServer(async (c) => {
    await c.readRequest();
    await sleep(600);
  });
  using conn = new HTTPConnection("127.0.0.1", server.port, { timeout: 0.1 });
  await conn.request("GET", "/");
  const started = performance.now();
  await assert.rejects(conn.getresponse(), (e) => {
    assert.ok(e instanceof ReadTimeout);
    assert.equal(e.code, "ETIMEDOUT");
    assert.match(e.message, /timed out after 100 ms/);
    return true;
  });
  assert.ok(performance.now() - started < 500);
});

Deno.test("HTTPConnection reports a refused port clearly", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  using conn = new HTTPConnection("127.0.0.1", port);
  await assert.rejects(conn.request("GET", "/"), (e) => {
    assert.ok(e instanceof ConnectionRefusedError);
    assert.equal(
      e.message,
      `Connection to 127.0.0.1:${port} refused: is the server running?`,
    );
    return true;
  });
});

Deno.test("HTTPConnection raises BadStatusLine and UnknownProtocol", async () => {
  await using server = cannedServer(async (c, index) => {
    await c.readRequest();
    await c.write(
      index === 0 ? "ICY 200 OK\r\n\r\n" : "HTTP/2.0 200 OK\r\n\r\n",
    );
  });
  for (const expected of [BadStatusLine, UnknownProtocol]) {
    using conn = new HTTPConnection("127.0.0.1", server.port);
    await conn.request("GET", "/");
    await assert.rejects(conn.getresponse(), expected);
  }
});

Deno.test("HTTPConnection raises LineTooLong for an oversized head", async () => {
  await using server = cannedServer(answerEach(
    `HTTP/1.1 200 OK\r\nX-Big: ${
      "a".repeat(2000)
    }\r\nContent-Length: 0\r\n\r\n`,
  ));
  using conn = new HTTPConnection("127.0.0.1", server.port, {
    limits: { maxHeadBytes: 1024 },
  });
  await conn.request("GET", "/");
  await assert.rejects(conn.getresponse(), (e) => {
    assert.ok(e instanceof LineTooLong);
    assert.equal(e.line_type, "header line");
    return true;
  });
});

Deno.test("HTTPConnection enforces Python's state machine", async () => {
  await using server = cannedServer(answerEach(ok("x")));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await assert.rejects(conn.getresponse(), ResponseNotReady);
  assert.throws(() => conn.putheader("X", "1"), CannotSendHeader);
  await conn.request("GET", "/");
  await assert.rejects(conn.request("GET", "/"), CannotSendRequest);
  const response = await conn.getresponse();
  await conn.request("GET", "/2");
  // The first response is unread: its successor is not ready yet.
  await assert.rejects(conn.getresponse(), ResponseNotReady);
  assert.equal(text(await response.read()), "x");
  assert.equal(text(await (await conn.getresponse()).read()), "x");
});

Deno.test("HTTPConnection builds a request with putrequest/putheader/endheaders/send", async () => {
  await using server = cannedServer(answerEach(ok("got")));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  conn.putrequest("PUT", "/up", { skip_accept_encoding: true });
  conn.putheader("Content-Length", 5);
  conn.putheader("X-Multi", "a", "b");
  await conn.endheaders();
  await conn.send("he");
  await conn.send(new TextEncoder().encode("llo"));
  const response = await conn.getresponse();
  assert.equal(text(await response.read()), "got");
  const seen = server.requests[0]!;
  assert.match(seen.head, /^PUT \/up HTTP\/1\.1\r\n/);
  assert.doesNotMatch(seen.head, /Accept-Encoding/);
  assert.match(seen.head, /\r\nX-Multi: a, b\r\n/);
  assert.equal(text(seen.body), "hello");
});

Deno.test("HTTPConnection rejects header injection and bad URLs", async () => {
  using conn = new HTTPConnection("127.0.0.1", 9);
  await assert.rejects(conn.request("GET", "/a b"), InvalidURL);
  await assert.rejects(
    conn.request("GET", "/", null, { "X-A": "1\r\nX-Evil: 1" }),
    TypeError,
  );
});

Deno.test("HTTPConnection frames bodies: text, empty POST, stream, file", async () => {
  await using server = cannedServer(answerEach(ok("k")));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  const send = async (
    method: string,
    body?: Parameters<HTTPConnection["request"]>[2],
  ) => {
    await conn.request(method, "/", body);
    await (await conn.getresponse()).read();
    return server.requests.at(-1)!;
  };
  let seen = await send("POST", "héllo");
  assert.match(seen.head, /\r\nContent-Length: 6\r\n/);
  assert.equal(text(seen.body), "héllo");
  seen = await send("POST");
  assert.match(seen.head, /\r\nContent-Length: 0\r\n/);
  seen = await send("GET");
  assert.doesNotMatch(seen.head, /Content-Length|Transfer-Encoding/);
  seen = await send(
    "POST",
    ReadableStream.from(["ab", "cd"]).pipeThrough(new TextEncoderStream()),
  );
  assert.match(seen.head, /\r\nTransfer-Encoding: chunked\r\n/);
  assert.equal(text(seen.body), "abcd");
  seen = await send(
    "POST",
    (async function* () {
      yield "x";
      yield new Uint8Array([0x79]);
    })(),
  );
  assert.equal(text(seen.body), "xy");
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "file body");
    using file = await Deno.open(path);
    seen = await send("PUT", file);
    assert.match(seen.head, /\r\nContent-Length: 9\r\n/);
    assert.equal(text(seen.body), "file body");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("HTTPResponse keeps every Set-Cookie and joins others in getheader", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nVary: x\r\nset-cookie: b=2\r\nVary: y\r\nContent-Length: 0\r\n\r\n",
  ));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  const response = await conn.getresponse();
  assert.deepEqual(response.headers.get_all("Set-Cookie"), ["a=1", "b=2"]);
  assert.equal(response.getheader("vary"), "x, y");
  assert.equal(response.getheader("missing", "dflt"), "dflt");
  assert.equal(response.getheader("missing"), null);
  assert.equal(response.getheaders().length, 5);
  assert.deepEqual(response.headers.toHeaders().getSetCookie(), ["a=1", "b=2"]);
});

Deno.test("HTTPResponse reads with read(amt), readline, readinto, read1 and for await", async () => {
  const body = "line one\nline two\nrest";
  await using server = cannedServer(answerEach(ok(body)));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  let response = await conn.getresponse();
  assert.equal(text(await response.read(4)), "line");
  assert.equal(text(await response.readline()), " one\n");
  const buf = new Uint8Array(5);
  assert.equal(await response.readinto(buf), 5);
  assert.equal(text(buf), "line ");
  assert.equal(text(await response.read1(2)), "tw");
  assert.equal(text(await response.read()), "o\nrest");
  assert.equal((await response.read()).length, 0);
  assert.equal(response.closed, true);

  await conn.request("GET", "/");
  response = await conn.getresponse();
  let joined = "";
  for await (const chunk of response) joined += text(chunk);
  assert.equal(joined, body);
  assert.equal(server.connections, 1);
});

Deno.test("HTTPResponse.close() before the end closes the connection", async () => {
  await using server = cannedServer(answerEach(ok("x".repeat(100))));
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("GET", "/");
  const response = await conn.getresponse();
  assert.equal((await response.read(10)).length, 10);
  response.close();
  assert.equal(response.closed, true);
  assert.equal((await response.read()).length, 0);
  await conn.request("GET", "/");
  assert.equal((await (await conn.getresponse()).read()).length, 100);
  assert.equal(server.connections, 2);
});

Deno.test("HTTPConnection waits for 100 Continue before sending the body", async () => {
  await using server = cannedServer(async (c) => {
    const request = await c.readRequest(); // head only: Expect is set
    if (request === null) return;
    await c.write("HTTP/1.1 100 Continue\r\n\r\n");
    const body = await c.readBytes(5);
    await c.write(ok(`got ${text(body)}`));
  });
  using conn = new HTTPConnection("127.0.0.1", server.port);
  await conn.request("PUT", "/", "hello", { Expect: "100-continue" });
  const response = await conn.getresponse();
  assert.equal(text(await response.read()), "got hello");
});

Deno.test("HTTPConnection skips the body when the server refuses Expect: 100-continue", async () => {
  await using server = cannedServer(async (c) => {
    if (await c.readRequest() === null) return;
    await c.write(
      "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 2\r\n\r\nno",
    );
    // Anything more from the client would be the unwanted body.
    const extra = await c.readBytes(1);
    server.requests.push({
      head: "",
      line: `extra ${extra.length}`,
      body: extra,
    });
  });
  using conn = new HTTPConnection("127.0.0.1", server.port, {
    continueTimeoutMs: 2000,
  });
  await conn.request("PUT", "/", "hello", { Expect: "100-continue" });
  const response = await conn.getresponse();
  assert.equal(response.status, 417);
  assert.equal(response.will_close, true);
  assert.equal(text(await response.read()), "no");
  // The connection was closed without sending the body.
  await sleep(20);
  assert.equal(server.requests.at(-1)!.line, "extra 0");
});

Deno.test("HTTPConnection sends the body after a bounded wait when no 100 Continue comes", async () => {
  await using server = cannedServer(async (c) => {
    const request = await c.readRequest();
    if (request === null) return;
    const body = await c.readBytes(5);
    await c.write(ok(`late ${text(body)}`));
  });
  using conn = new HTTPConnection("127.0.0.1", server.port, {
    continueTimeoutMs: 50,
  });
  await conn.request("PUT", "/", "hello", { Expect: "100-continue" });
  assert.equal(text(await (await conn.getresponse()).read()), "late hello");
});

Deno.test("HTTPConnection.set_tunnel sends CONNECT to the proxy, then requests through it", async () => {
  await using proxy = cannedServer(async (c) => {
    const connect = await c.readRequest();
    if (connect === null) return;
    await c.write("HTTP/1.1 200 Connection established\r\n\r\n");
    await answerEach(ok("via tunnel"))(c);
  });
  using conn = new HTTPConnection("127.0.0.1", proxy.port);
  conn.set_tunnel("example.test", 8080, {
    "Proxy-Authorization": "Basic eA==",
  });
  await conn.request("GET", "/inside");
  assert.equal(text(await (await conn.getresponse()).read()), "via tunnel");
  const [connect, inner] = proxy.requests;
  assert.equal(connect!.line, "CONNECT example.test:8080 HTTP/1.1");
  assert.match(connect!.head, /\r\nProxy-Authorization: Basic eA==\r\n/);
  assert.equal(inner!.line, "GET /inside HTTP/1.1");
  assert.match(inner!.head, /\r\nHost: example\.test:8080\r\n/);
});

Deno.test("HTTPConnection.set_tunnel reports a refused CONNECT", async () => {
  await using proxy = cannedServer(answerEach(
    "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
  ));
  using conn = new HTTPConnection("127.0.0.1", proxy.port);
  conn.set_tunnel("example.test");
  await assert.rejects(conn.request("GET", "/"), (e) => {
    assert.ok(e instanceof HTTPException);
    assert.equal(e.code, "TUNNEL_FAILED");
    assert.match(
      e.message,
      /example\.test:80 .*407 Proxy Authentication Required/,
    );
    return true;
  });
});

Deno.test("HTTPConnection rejects an invalid chunk size and too many headers", async () => {
  await using server = cannedServer(async (c, index) => {
    await c.readRequest();
    await c.write(
      index === 0
        ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
        : `HTTP/1.1 200 OK\r\n${
          "X: 1\r\n".repeat(20)
        }Content-Length: 0\r\n\r\n`,
    );
  });
  using first = new HTTPConnection("127.0.0.1", server.port);
  await first.request("GET", "/");
  const response = await first.getresponse();
  await assert.rejects(
    response.read(),
    (e) => e instanceof HTTPException && e.code === "BAD_CHUNK",
  );
  using second = new HTTPConnection("127.0.0.1", server.port, {
    limits: { maxHeaderCount: 10 },
  });
  await second.request("GET", "/");
  await assert.rejects(
    second.getresponse(),
    (e) => e instanceof HTTPException && e.code === "TOO_MANY_HEADERS",
  );
});

/**
 * Adversarial review of serve(): hostile or unusual input on real sockets,
 * judged against RFC 9110 / RFC 9112 (each test cites its rule). The review
 * found seven bugs (response splitting by an over-long streamed body, an
 * invalid handler Content-Length, framing on a 2xx to CONNECT, 417 for an
 * HTTP/1.0 Expect, an empty-line trickle outliving the head timeout, invalid
 * Host values reaching the handler, an Upgrade request's body handed over
 * as new-protocol bytes); the tests below hold the fixes.
 */
import assert from "node:assert/strict";
import { delay, fetchRaw, latin1, RawClient, startServer } from "./_raw.ts";

const OK = () => new Response("ok");

/** Sends `raw`, reads everything until the server closes. */
async function exchangeToEnd(port: number, raw: string): Promise<string> {
  await using client = await RawClient.connect(port);
  await client.send(raw);
  return await client.readToEnd(1500);
}

/** How many status lines the server sent. */
function countResponses(text: string): number {
  return text.match(/HTTP\/1\.1 \d{3} /g)?.length ?? 0;
}

// ── Smuggling shapes: one 400, nothing after it is served, then close ──────

const SMUGGLING: { name: string; raw: string; status: number }[] = [
  {
    // RFC 9112 §6.1: TE + CL is faulty framing; a server MAY reject it and
    // MUST close the connection after responding.
    name: "TE then CL with a smuggled request in the body",
    raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
      "Content-Length: 4\r\n\r\n5c\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n" +
      "0\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §6.1: chunked MUST be the final coding of a request.
    name: "Transfer-Encoding: chunked, identity",
    raw:
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n" +
      "\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §6.1: TE in an HTTP/1.0 request is faulty framing.
    name: "Transfer-Encoding in HTTP/1.0",
    raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §6.3 (5): differing Content-Length values are unrecoverable.
    name: "Content-Length list with differing values",
    raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 40\r\n\r\n" +
      "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9110 §8.6: Content-Length = 1*DIGIT; "+5" is not one.
    name: "Content-Length with a sign",
    raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
    status: 400,
  },
  {
    // RFC 9112 §5.1: no whitespace between field name and colon; MUST 400.
    name: "whitespace before the colon of Transfer-Encoding",
    raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n" +
      "Content-Length: 3\r\n\r\nabc",
    status: 400,
  },
  {
    // RFC 9112 §5.2: obs-fold outside message/http MUST be rejected (or
    // replaced); a folded Transfer-Encoding is a classic desync.
    name: "obs-fold continuing Transfer-Encoding",
    raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n" +
      " chunked\r\n\r\n0\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9110 §5.5: NUL is not allowed in a field value.
    name: "NUL in a field value",
    raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9110 §5.1: field-name is a token; a NUL is not a tchar.
    name: "NUL in a field name",
    raw: "GET / HTTP/1.1\r\nHost: x\r\nX\x00A: 1\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §3.2: request-target has no controls.
    name: "control byte in the target",
    raw: "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §2.2: a bare CR anywhere but in content MUST be rejected.
    name: "bare CR inside a field value",
    raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §3.2: more than one Host field line: 400.
    name: "two Host fields",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §3.2: an HTTP/1.1 request without Host gets 400 even in
    // absolute-form.
    name: "absolute-form without Host in HTTP/1.1",
    raw: "GET http://a.test/ HTTP/1.1\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §3.2.3: authority-form is only for CONNECT.
    name: "authority-form for GET",
    raw: "GET a.test:80 HTTP/1.1\r\nHost: a.test\r\n\r\n",
    status: 400,
  },
  {
    // RFC 9112 §3.2.4: asterisk-form is only for OPTIONS.
    name: "asterisk-form for GET",
    raw: "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 400,
  },
];

for (const { name, raw, status } of SMUGGLING) {
  Deno.test(`review: ${name} gets ${status}, nothing more is served, close`, async () => {
    const seen: string[] = [];
    await using server = startServer((req) => {
      seen.push(new URL(req.url).pathname);
      return new Response("ok");
    });
    const text = await exchangeToEnd(server.addr.port, raw);
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), text);
    assert.equal(countResponses(text), 1, text);
    assert.match(text, /\r\nConnection: close\r\n/i);
    assert.deepEqual(seen, []);
  });
}

Deno.test({
  name:
    "review: a Host value that is not a valid uri-host gets 400, not the handler",
  // RFC 9112 §3.2: a server MUST respond 400 to a request with "a Host
  // header field with an invalid field value" (RFC 3986 §3.2.2:
  // pct-encoded = "%" HEXDIG HEXDIG; an IP-literal holds an IPv6address).
  // The parser checks that syntax; the Web face also answers 400 for a Host
  // that URL cannot take ("1.2.3.4.5"), rather than a req.url that throws.
  fn: async () => {
    let called = 0;
    await using server = startServer((req) => {
      called++;
      return new Response(new URL(req.url).host);
    }, { onError: () => new Response("handler crashed", { status: 500 }) });
    for (const host of ["a%zz", "%", "[1:2]", "1.2.3.4.5", "a:99999"]) {
      const res = await fetchRaw(
        server.addr.port,
        `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      );
      assert.equal(res.status, 400, host);
    }
    assert.equal(called, 0);
  },
});

// ── Malformed chunked bodies the handler reads: 400 and close ─────────────

const BAD_CHUNKED: { name: string; body: string }[] = [
  // RFC 9112 §7.1: chunk-size = 1*HEXDIG.
  { name: "non-hex chunk size", body: "zz\r\nhello\r\n0\r\n\r\n" },
  // RFC 9112 §7.1: a size that overflows must not wrap to a small number.
  {
    name: "chunk size overflowing 64 bits",
    body: "10000000000000005\r\nhello\r\n0\r\n\r\n",
  },
  // RFC 9112 §7.1: chunk-data is followed by CRLF.
  { name: "chunk data without CRLF", body: "5\r\nhelloXX0\r\n\r\n" },
  // RFC 9112 §7.1.1: a server limits extension length; 400 past it.
  {
    name: "chunk extension of 64 KiB",
    body: `5;${"e".repeat(64 * 1024)}\r\nhello\r\n0\r\n\r\n`,
  },
];

for (const { name, body } of BAD_CHUNKED) {
  Deno.test(`review: ${name} is a 400 and the connection closes`, async () => {
    await using server = startServer(async (req) =>
      new Response(await req.text())
    );
    const text = await exchangeToEnd(
      server.addr.port,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        body + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert.match(text, /^HTTP\/1\.1 400 /, text);
    assert.equal(countResponses(text), 1, text);
  });
}

Deno.test("review: Content-Length in trailers does not change framing", async () => {
  // RFC 9110 §6.5.1: framing fields are not allowed in trailers and MUST NOT
  // be merged into the header section; the next request must parse as sent.
  const bodies: string[] = [];
  await using server = startServer(async (req) => {
    bodies.push(await req.text());
    return new Response(new URL(req.url).pathname);
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nabc\r\n0\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "GET /b HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const [a, b] = await client.responses(["POST", "GET"]);
  assert.equal(a!.text, "/a");
  assert.equal(b!.text, "/b");
  assert.deepEqual(bodies, ["abc", ""]);
});

Deno.test("review: a chunked body over maxBodyBytes is refused even if not framed by Content-Length, and the next pipelined request is not served", async () => {
  // RFC 9110 §15.5.14: 413; the connection closes because the rest of the
  // body is unread (RFC 9112 §9.6).
  let after = false;
  await using server = startServer(async (req) => {
    if (new URL(req.url).pathname === "/after") after = true;
    return new Response(String((await req.arrayBuffer()).byteLength));
  }, { limits: { maxBodyBytes: 10 } });
  const text = await exchangeToEnd(
    server.addr.port,
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n" +
      "GET /after HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.match(text, /^HTTP\/1\.1 413 /, text);
  assert.equal(countResponses(text), 1);
  assert.equal(after, false);
});

// ── Request targets ───────────────────────────────────────────────────────

Deno.test("review: absolute-form target wins over Host", async () => {
  // RFC 9112 §3.2.2: a server MUST ignore Host when the target is
  // absolute-form and use the target's authority.
  await using server = startServer((req) => new Response(req.url));
  const res = await fetchRaw(
    server.addr.port,
    "GET http://origin.test:8080/p?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n",
  );
  assert.equal(res.status, 200);
  assert.equal(res.text, "http://origin.test:8080/p?q=1");
});

Deno.test("review: OPTIONS * reaches the handler", async () => {
  // RFC 9112 §3.2.4: asterisk-form, OPTIONS only.
  await using server = startServer((req) =>
    new Response(`${req.method} ${new URL(req.url).pathname}`)
  );
  const res = await fetchRaw(
    server.addr.port,
    "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "OPTIONS",
  );
  assert.equal(res.status, 200);
  assert.equal(res.text, "OPTIONS /*");
});

Deno.test("review: an HTTP/1.0 request without Host is served", async () => {
  // RFC 9112 §3.2: only HTTP/1.1 requires Host.
  await using server = startServer(OK);
  const text = await exchangeToEnd(server.addr.port, "GET / HTTP/1.0\r\n\r\n");
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /\r\n\r\nok$/);
});

Deno.test("review: leading empty lines before the request line are ignored", async () => {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line.
  await using server = startServer(OK);
  const res = await fetchRaw(
    server.addr.port,
    "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.equal(res.status, 200);
});

// ── Expect ────────────────────────────────────────────────────────────────

Deno.test({
  name: "review: Expect: 100-continue in HTTP/1.0 is ignored, not a 417",
  // RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in
  // an HTTP/1.0 request MUST ignore that expectation" (no 417, no 100).
  fn: async () => {
    await using server = startServer(async (req) =>
      new Response(await req.text())
    );
    const text = await exchangeToEnd(
      server.addr.port,
      "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/, text);
    assert.doesNotMatch(text, /100 Continue/);
    assert.match(text, /\r\n\r\nhello$/);
  },
});

Deno.test("review: Expect: 100-continue with a declared body over the limit gets 413 without 100", async () => {
  // RFC 9110 §10.1.1: a server MAY answer a final status instead of 100;
  // it MUST NOT send 100 and then refuse without reading.
  await using server = startServer(OK, { limits: { maxBodyBytes: 10 } });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n",
  );
  const res = await client.response("POST");
  assert.equal(res.status, 413);
  assert.deepEqual(res.interim, []);
  assert.equal(res.headers.get("connection"), "close");
});

// ── Connection management ─────────────────────────────────────────────────

Deno.test("review: a request with Connection: close ends the connection; pipelined requests after it are not served", async () => {
  // RFC 9112 §9.6: a server that receives "close" MUST initiate closing
  // after it sends the final response, and MUST NOT process further requests.
  const seen: string[] = [];
  await using server = startServer((req) => {
    seen.push(new URL(req.url).pathname);
    return new Response("ok");
  });
  const text = await exchangeToEnd(
    server.addr.port,
    "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" +
      "GET /b HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.equal(countResponses(text), 1);
  assert.match(text, /\r\nconnection: close\r\n/i);
  assert.deepEqual(seen, ["/a"]);
});

Deno.test("review: a client that half-closes after its request still gets the response", async () => {
  // RFC 9112 §9.6: closing one's sending side is how a client says it sends
  // no more; the server still answers the request it read.
  await using server = startServer(async (req) => {
    const body = await req.text();
    await delay(30);
    return new Response(`got ${body}`);
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
  );
  await client.conn.closeWrite();
  const res = await client.response("POST");
  assert.equal(res.status, 200);
  assert.equal(res.text, "got abc");
  assert.ok(await client.waitClosed(1000));
});

Deno.test("review: a half-closed client gets every pipelined response", async () => {
  await using server = startServer(async (req) => {
    await delay(10);
    return new Response(new URL(req.url).pathname);
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  await client.conn.closeWrite();
  const [a, b] = await client.responses(["GET", "GET"]);
  assert.equal(a!.text, "/a");
  assert.equal(b!.text, "/b");
  assert.ok(await client.waitClosed(1000));
});

Deno.test({
  name: "review: a trickle of empty lines does not outlive headersTimeoutMs",
  // The parser skips empty lines before a request line (RFC 9112 §2.2), so
  // they leave nothing buffered; the idle/head deadline must still run from
  // the first of them, or "\r\n" now and then keeps a connection for ever.
  fn: async () => {
    await using server = startServer(OK, {
      limits: { headersTimeoutMs: 200, keepAliveTimeoutMs: 200 },
    });
    await using client = await RawClient.connect(server.addr.port);
    const started = Date.now();
    let closed = false;
    while (Date.now() - started < 1200) {
      try {
        await client.send("\r\n");
      } catch {
        closed = true;
        break;
      }
      if (await client.waitClosed(50)) {
        closed = true;
        break;
      }
    }
    assert.ok(closed, "the server closed the connection within 1.2 s");
  },
});

// ── Response framing ──────────────────────────────────────────────────────

/** A body that arrives in pieces, each after a pause (never "all there"). */
function dripping(pieces: string[], failAfter = false): ReadableStream {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await delay(15);
      if (i < pieces.length) {
        controller.enqueue(latin1(pieces[i++]!));
      } else if (failAfter) {
        controller.error(new Error("body failed"));
      } else {
        controller.close();
      }
    },
  });
}

Deno.test("review: a streamed chunked body that errors mid-way is not terminated and the connection closes", async () => {
  // RFC 9112 §7.1: only the last-chunk ends a chunked body; an incomplete
  // message must look incomplete (RFC 9112 §8), so no "0\r\n\r\n".
  await using server = startServer(
    () => new Response(dripping(["part1", "part2"], true)),
    { onInternalError: () => {} },
  );
  const text = await exchangeToEnd(
    server.addr.port,
    "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.match(text, /transfer-encoding: chunked\r\n/i);
  assert.match(text, /part1/);
  assert.doesNotMatch(text, /\r\n0\r\n\r\n/);
  assert.equal(countResponses(text), 1);
});

Deno.test("review: a streamed body with Content-Length that errors mid-way closes before the length is reached", async () => {
  await using server = startServer(
    () =>
      new Response(dripping(["abc"], true), {
        headers: { "content-length": "10" },
      }),
    { onInternalError: () => {} },
  );
  const text = await exchangeToEnd(
    server.addr.port,
    "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.match(text, /content-length: 10\r\n/i);
  assert.ok(text.endsWith("\r\n\r\nabc"), text);
  assert.equal(countResponses(text), 1);
});

Deno.test("review: a handler whose stream throws after the head went out ends the connection, not the server", async () => {
  let calls = 0;
  await using server = startServer(() => {
    calls++;
    let n = 0;
    return new Response(
      new ReadableStream({
        async pull(controller) {
          await delay(10);
          if (n++ === 0) controller.enqueue(latin1("x"));
          else throw new Error("handler bug");
        },
      }),
    );
  }, { onInternalError: () => {} });
  const first = await exchangeToEnd(
    server.addr.port,
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.doesNotMatch(first, /\r\n0\r\n\r\n/);
  const second = await exchangeToEnd(
    server.addr.port,
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.match(second, /^HTTP\/1\.1 200 /);
  assert.equal(calls, 2);
});

Deno.test({
  name:
    "review: a streamed body longer than its Content-Length never puts extra bytes on the wire",
  // RFC 9112 §6.3 / RFC 9110 §8.6: the message ends after Content-Length
  // octets, so a sender must not send more: the rest would be read as the
  // start of the next response. h1 cuts the body at the declared length
  // (as hyper does), cancels the stream and closes after.
  fn: async () => {
    await using server = startServer(
      () =>
        new Response(dripping(["hello", " world"]), {
          headers: { "content-length": "3" },
        }),
      { onInternalError: () => {} },
    );
    const text = await exchangeToEnd(
      server.addr.port,
      "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const headEnd = text.indexOf("\r\n\r\n") + 4;
    const rest = text.slice(headEnd);
    // After the 3 declared bytes: nothing, or a well-formed next response.
    assert.equal(rest.slice(0, 3), "hel");
    const after = rest.slice(3);
    assert.ok(
      after === "" || after.startsWith("HTTP/1.1 "),
      `bytes after the declared body: ${JSON.stringify(after)}`,
    );
  },
});

Deno.test("review: HEAD with a declared length and a streamed body sends no body bytes", async () => {
  // RFC 9110 §9.3.2 / RFC 9112 §6.3 (1): a HEAD response has no content.
  await using server = startServer((req) =>
    new Response(dripping(["abcdef"]), {
      headers: { "content-length": "6", "x-path": new URL(req.url).pathname },
    })
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const [a, b] = await client.responses(["HEAD", "GET"]);
  assert.equal(a!.headers.get("content-length"), "6");
  assert.equal(a!.body.length, 0);
  assert.equal(b!.headers.get("x-path"), "/b");
  assert.equal(b!.text, "abcdef");
});

Deno.test("review: a 204 from a handler that sets Content-Length and Transfer-Encoding carries neither", async () => {
  // RFC 9110 §8.6, RFC 9112 §6.1: a server MUST NOT send Content-Length or
  // Transfer-Encoding in a 204.
  await using server = startServer(() =>
    new Response(null, {
      status: 204,
      headers: { "content-length": "5", "transfer-encoding": "chunked" },
    })
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const text = await client.readToEnd(1500);
  assert.doesNotMatch(text, /content-length|transfer-encoding/i);
  assert.equal(countResponses(text), 2);
});

Deno.test({
  name:
    "review: a 2xx answer to CONNECT carries no Content-Length or Transfer-Encoding",
  // RFC 9110 §9.3.6: "A server MUST NOT send any Transfer-Encoding or
  // Content-Length header fields in a 2xx (Successful) response to
  // CONNECT"; the client treats every byte after the head as tunnel data.
  fn: async () => {
    await using server = startServer(() => new Response(null));
    const text = await exchangeToEnd(
      server.addr.port,
      "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n",
    );
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(text, /content-length|transfer-encoding/i);
  },
});

Deno.test("review: an HTTP/1.0 client gets no chunked coding and the response ends by close", async () => {
  // RFC 9112 §6.1 / §7: a server MUST NOT send chunked to an HTTP/1.0
  // client; a body of unknown length is close-delimited.
  await using server = startServer(() => new Response(dripping(["a", "b"])));
  const text = await exchangeToEnd(
    server.addr.port,
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  );
  assert.doesNotMatch(text, /transfer-encoding/i);
  assert.match(text, /\r\nconnection: close\r\n/i);
  assert.ok(text.endsWith("\r\n\r\nab"), text);
});

Deno.test({
  name:
    "review: a streamed body with an invalid handler Content-Length is still framed validly",
  // RFC 9110 §8.6: Content-Length = 1*DIGIT. A handler's "abc" is dropped
  // and the streamed body framed as if no length was given (chunked), as
  // Deno.serve does; repeating it would leave the client unable to frame the
  // message (RFC 9112 §6.3).
  fn: async () => {
    await using server = startServer(() =>
      new Response(dripping(["abc"]), { headers: { "content-length": "abc" } })
    );
    await using client = await RawClient.connect(server.addr.port);
    await client.send(
      "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const [a, b] = await client.responses(["GET", "GET"], 1500);
    assert.equal(a!.text, "abc");
    assert.equal(b!.text, "abc");
  },
});

Deno.test({
  name:
    "review: an Upgrade request's own body is not handed to onUpgrade as new-protocol bytes",
  // RFC 9110 §7.8: the client "can't change the protocol it is sending in
  // the middle of a message", so the 5 body bytes are HTTP content (the
  // request's body), and only what follows belongs to the new protocol (as
  // hyper hands it over).
  fn: async () => {
    let buffered = "";
    let body = "";
    await using server = startServer(() => new Response("plain"), {
      async onUpgrade(req, socket) {
        buffered = new TextDecoder().decode(socket.buffered);
        body = await req.text();
        socket.conn.close();
      },
    });
    await using client = await RawClient.connect(server.addr.port);
    await client.send(
      "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n" +
        "Content-Length: 5\r\n\r\nhelloNEWPROTO",
    );
    assert.ok(await client.waitClosed(1000));
    assert.equal(buffered, "NEWPROTO");
    assert.equal(body, "hello");
  },
});

Deno.test("review: an Upgrade request whose chunked body passes maxBodyBytes gets 413, not the hook", async () => {
  // The body read before the switch keeps the request's limits.
  let upgraded = 0;
  await using server = startServer(() => new Response("plain"), {
    limits: { maxBodyBytes: 3 },
    onUpgrade(_req, socket) {
      upgraded++;
      socket.conn.close();
    },
  });
  const text = await exchangeToEnd(
    server.addr.port,
    "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  );
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.equal(upgraded, 0);
});

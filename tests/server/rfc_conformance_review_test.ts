/**
 * RFC conformance review of serve() and the http1/ request parser, walked
 * section by section through RFC 9112 (message syntax) and RFC 9110
 * (semantics) on real sockets. Each test names the section it probes.
 * Shapes already pinned elsewhere (the 400 smuggling table and the
 * absolute-form / OPTIONS * / HTTP/1.0 cases in
 * serve_adversarial_review_test.ts, the parser vectors in
 * tests/http1/request_parser_test.ts) are not repeated here.
 *
 * Tests marked `ignore: true` hold bugs; the `// BUG:` comment above each
 * says what is expected and what h1 does.
 */
import assert from "node:assert/strict";
import { fetchRaw, RawClient, startServer } from "./_raw.ts";
import { setLazyRequests } from "../../server/_web_request.ts";

const HOST = "Host: a.example\r\n";
const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: a.example\r\n\r\n";
// RFC 9110 §5.6.7: IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Sends `raw` on a fresh connection and reads until the server closes. */
async function exchangeToEnd(port: number, raw: string): Promise<string> {
  await using client = await RawClient.connect(port);
  await client.send(raw);
  return await client.readToEnd(3000);
}

/** How many status lines the text holds. */
function countResponses(text: string): number {
  return text.match(/HTTP\/1\.1 \d{3} /g)?.length ?? 0;
}

/** A handler that records each request it sees as "METHOD url". */
function recorder(
  seen: string[],
  answer: (req: Request) => Response | Promise<Response> = () =>
    new Response("ok"),
): (req: Request) => Response | Promise<Response> {
  return (req) => {
    seen.push(`${req.method} ${req.url}`);
    return answer(req);
  };
}

// ── RFC 9112 §3.2: request-target forms ───────────────────────────────────

// Fixed bug: RFC 9110 §4.2.1: an absolute-form http(s) target with an empty
// host (http:///admin) was accepted, and URL took the path's first segment for
// the host (req.url http://admin/). It is now a 400.
Deno.test({
  name:
    "RFC 9110 §4.2.1 / RFC 9112 §3.2.2: an absolute-form target with an empty host is refused with 400",
  fn: async () => {
    const seen: string[] = [];
    await using server = startServer(recorder(seen));
    for (const target of ["http:///admin", "http:////admin", "https:///x"]) {
      const text = await exchangeToEnd(
        server.addr.port,
        `GET ${target} HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
      );
      assert.match(text, /^HTTP\/1\.1 400 /, `${target}: ${text}`);
      assert.match(text, /\r\nconnection: close\r\n/i, target);
    }
    assert.deepEqual(seen, []);
  },
});

Deno.test("RFC 9112 §3.2.2: absolute-form scheme and host are case-insensitive and the default port is dropped", async () => {
  // RFC 9110 §4.2.3: scheme and host compare case-insensitively, and an
  // empty or default port is the same as none; the Host field is ignored.
  const seen: string[] = [];
  await using server = startServer(recorder(seen));
  for (
    const target of [
      "HTTP://B.Example:80/x?y=1",
      "http://b.example:/x?y=1",
    ]
  ) {
    const res = await fetchRaw(
      server.addr.port,
      `GET ${target} HTTP/1.1\r\n${HOST}\r\n`,
    );
    assert.equal(res.status, 200, target);
  }
  assert.deepEqual(seen, [
    "GET http://b.example/x?y=1",
    "GET http://b.example/x?y=1",
  ]);
});

Deno.test("RFC 9112 §3.2.3: authority-form is uri-host:port only, without userinfo or a scheme", async () => {
  const seen: string[] = [];
  await using server = startServer(recorder(seen));
  for (
    const target of [
      "user@b.example:443",
      "http://b.example:443",
      "http://b.example:443/",
      "b.example:443/path",
    ]
  ) {
    const text = await exchangeToEnd(
      server.addr.port,
      `CONNECT ${target} HTTP/1.1\r\nHost: b.example:443\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/, target);
    assert.equal(countResponses(text), 1, target);
  }
  assert.deepEqual(seen, []);
});

Deno.test('RFC 9112 §3.2.4: asterisk-form is exactly "*", and only for OPTIONS, extension methods included', async () => {
  const seen: string[] = [];
  await using server = startServer(recorder(seen));
  for (
    const line of [
      "M-SEARCH * HTTP/1.1",
      "OPTIONS ** HTTP/1.1",
      "OPTIONS *?q=1 HTTP/1.1",
      "OPTIONS */ HTTP/1.1",
    ]
  ) {
    const text = await exchangeToEnd(
      server.addr.port,
      `${line}\r\n${HOST}\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/, line);
  }
  assert.deepEqual(seen, []);
  // The one valid shape, in HTTP/1.0 without Host, still reaches the handler.
  const res = await fetchRaw(
    server.addr.port,
    "OPTIONS * HTTP/1.0\r\n\r\n",
    "OPTIONS",
  );
  assert.equal(res.status, 200);
  assert.equal(seen.length, 1);
  assert.match(seen[0]!, /^OPTIONS http:\/\/127\.0\.0\.1:\d+\/\*$/);
});

// ── RFC 9110 §9.1: methods ────────────────────────────────────────────────

Deno.test("RFC 9110 §9.1: extension methods reach the handler unchanged, with their content", async () => {
  // h1 itself knows no method list: any token is the handler's to answer
  // (501 is the handler's choice, as for Deno.serve).
  const TOKEN_METHOD = "X!#$%&'*+-.^_`|~9";
  await using server = startServer(async (req) =>
    new Response(`${req.method}:${await req.text()}`)
  );
  for (
    const [method, body] of [
      ["PROPFIND", ""],
      ["QUERY", "q=1"],
      [TOKEN_METHOD, "abc"],
    ] as const
  ) {
    const res = await fetchRaw(
      server.addr.port,
      `${method} / HTTP/1.1\r\n${HOST}Content-Length: ${body.length}\r\n\r\n${body}`,
    );
    assert.equal(res.status, 200, method);
    assert.equal(res.text, `${method}:${body}`);
  }
});

// Fixed bug: RFC 9110 §9.1: methods are case-sensitive, so get and head are
// extension methods. new Request() upper-cases them and then refused the body
// stream h1 gave every method but exact GET/HEAD, so req.text() threw (a 500 on
// demand of any client). Deno.serve resolves "".
Deno.test({
  name:
    "RFC 9110 §9.1: a lower-case get/head request's body can be read like any other method's",
  fn: async () => {
    await using server = startServer(async (req) => {
      try {
        return new Response(`${req.method} text=${await req.text()}`);
      } catch (error) {
        return new Response(`${req.method} threw ${error}`);
      }
    });
    for (const method of ["get", "head", "Get"]) {
      const res = await fetchRaw(
        server.addr.port,
        `${method} / HTTP/1.1\r\n${HOST}\r\n`,
      );
      assert.equal(res.text, `${method} text=`);
    }
  },
});

// Fixed bug: new Request() refuses the methods Fetch forbids (TRACE, TRACK,
// CONNECT), so req.text() threw "Method is forbidden" in the handler (and the
// real-Request fallback answered 400). The Request is now built as a POST and
// given its method after.
Deno.test({
  name:
    "RFC 9110 §9.3.8 / §9.3.6: a TRACE or CONNECT request handed to the handler has a readable body",
  fn: async () => {
    await using server = startServer(async (req) => {
      try {
        return new Response(`${req.method} text=${await req.text()}`);
      } catch (error) {
        return new Response(`${req.method} threw ${error}`);
      }
    });
    // Lazy Requests, and the real ones of the fallback.
    for (const lazy of [true, false]) {
      const was = setLazyRequests(lazy);
      try {
        for (
          const line of [
            "TRACE / HTTP/1.1",
            "TRACK / HTTP/1.1",
            "CONNECT b.example:443 HTTP/1.1",
            "get / HTTP/1.1",
          ]
        ) {
          const method = line.split(" ")[0]!;
          const text = await exchangeToEnd(
            server.addr.port,
            `${line}\r\n${HOST}Connection: close\r\n\r\n`,
          );
          // A real Request upper-cases "get" (Fetch normalizes it).
          const shown = lazy ? method : method.toUpperCase();
          assert.ok(text.endsWith(`\r\n\r\n${shown} text=`), text);
        }
      } finally {
        setLazyRequests(was);
      }
    }
  },
});

// ── RFC 9110 §9.3.2: HEAD ─────────────────────────────────────────────────

// Fixed bug: RFC 9110 §9.3.2: the engine's own error replies (413 for a
// declared body over the limit, 417, and a failed body's 400/408/413) carried
// their text body even to HEAD. They now send the head with its Content-Length
// only.
Deno.test({
  name:
    "RFC 9110 §9.3.2: the engine's own 413 and 417 replies to HEAD carry no content",
  fn: async () => {
    await using server = startServer(() => new Response("ok"), {
      limits: { maxBodyBytes: 10 },
    });
    for (
      const [status, raw] of [
        [417, `HEAD / HTTP/1.1\r\n${HOST}Expect: foo\r\n\r\n`],
        [413, `HEAD / HTTP/1.1\r\n${HOST}Content-Length: 100\r\n\r\n`],
      ] as const
    ) {
      const text = await exchangeToEnd(server.addr.port, raw);
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.ok(text.endsWith("\r\n\r\n"), `content after the head: ${text}`);
    }
  },
});

Deno.test("RFC 9110 §9.3.2: HEAD answered by the 400 for an unbuildable URL or by the 500 for a throwing handler carries no content", async () => {
  await using server = startServer((req) => {
    if (new URL(req.url).pathname === "/throw") throw new Error("boom");
    return new Response("ok");
  }, { onError: () => new Response("handler failed", { status: 500 }) });
  const bad = await exchangeToEnd(
    server.addr.port,
    `HEAD http://b.example:99999/ HTTP/1.1\r\n${HOST}\r\n`,
  );
  assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.ok(bad.endsWith("\r\n\r\n"), bad);
  // The 500 keeps the connection; a GET after it proves no body bytes.
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    `HEAD /throw HTTP/1.1\r\n${HOST}\r\nGET / HTTP/1.1\r\n${HOST}\r\n`,
  );
  const [head, get] = await client.responses(["HEAD", "GET"], 3000);
  assert.equal(head!.status, 500);
  assert.equal(head!.headers.get("content-length"), "14");
  assert.equal(head!.body.length, 0);
  assert.equal(get!.status, 200);
  assert.equal(get!.text, "ok");
});

// ── RFC 9112 §6: message body length ──────────────────────────────────────

Deno.test('RFC 9112 §6.3 / RFC 9110 §8.6: "Content-Length: 5, 5" frames 5 bytes and the next pipelined request is served', async () => {
  const seen: string[] = [];
  await using server = startServer(
    recorder(seen, async (req) => new Response(`body=${await req.text()}`)),
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    `POST /a HTTP/1.1\r\n${HOST}Content-Length: 5, 5\r\n\r\nhello` +
      `POST /b HTTP/1.1\r\n${HOST}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc` +
      `GET /c HTTP/1.1\r\n${HOST}\r\n`,
  );
  const responses = await client.responses(["POST", "POST", "GET"], 3000);
  assert.deepEqual(responses.map((r) => r.text), [
    "body=hello",
    "body=abc",
    "body=",
  ]);
  assert.deepEqual(seen, [
    "POST http://a.example/a",
    "POST http://a.example/b",
    "GET http://a.example/c",
  ]);
});

Deno.test("RFC 9112 §7.1.2 / RFC 9110 §6.5.1: trailer fields are not merged into the request's header section", async () => {
  // Trailers may not carry framing, routing or content metadata; a
  // recipient MUST NOT merge them into the header section.
  await using server = startServer(async (req) => {
    const body = await req.text();
    const h = req.headers;
    return Response.json({
      body,
      url: req.url,
      host: h.get("host"),
      type: h.get("content-type"),
      late: h.get("x-late"),
      auth: h.get("authorization"),
    });
  });
  const res = await fetchRaw(
    server.addr.port,
    `POST /p HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n` +
      "3\r\nabc\r\n0\r\nHost: evil.example\r\nContent-Type: text/evil\r\n" +
      "X-Late: 1\r\nAuthorization: Basic eDp5\r\n\r\n",
    "POST",
  );
  assert.deepEqual(JSON.parse(res.text), {
    body: "abc",
    url: "http://a.example/p",
    host: "a.example",
    type: null,
    late: null,
    auth: null,
  });
});

// ── Error replies: the connection closes and nothing after is parsed ──────

const ERROR_REPLIES: {
  name: string;
  raw: string;
  status: number;
  limits?: { maxBodyBytes: number };
}[] = [
  {
    // RFC 9110 §15.6.6 / RFC 9112 §2.3: only major version 1 is spoken.
    name: "505 for HTTP/3.0",
    raw: `GET / HTTP/3.0\r\n${HOST}\r\n${SMUGGLED}`,
    status: 505,
  },
  {
    // RFC 9112 §6.1: a coding before chunked that is not implemented: 501.
    name: "501 for Transfer-Encoding: gzip, chunked",
    raw: `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip, chunked\r\n\r\n` +
      `0\r\n\r\n${SMUGGLED}`,
    status: 501,
  },
  {
    // RFC 9112 §6.3 (4): chunked not final in a request: 400, then close.
    name: "400 for Transfer-Encoding: gzip alone",
    raw: `POST / HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip\r\n\r\n${SMUGGLED}`,
    status: 400,
  },
  {
    // RFC 9110 §10.1.1: an unknown expectation may get 417; the body it
    // announced must not then be read as a request.
    name: "417 with the announced body holding a request",
    raw:
      `POST / HTTP/1.1\r\n${HOST}Expect: foo\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n` +
      SMUGGLED,
    status: 417,
  },
  {
    // RFC 9110 §15.5.14: a declared length over the limit, refused up front.
    name: "413 for a declared length with a request as its body",
    raw:
      `POST / HTTP/1.1\r\n${HOST}Content-Length: ${SMUGGLED.length}\r\n\r\n` +
      SMUGGLED,
    status: 413,
    limits: { maxBodyBytes: 10 },
  },
  {
    // RFC 9112 §3.2: a target that makes no URL (port over 65535).
    name: "400 for an absolute-form target with port 99999, body behind it",
    raw:
      `POST http://b.example:99999/ HTTP/1.1\r\n${HOST}Content-Length: ${SMUGGLED.length}\r\n\r\n` +
      SMUGGLED,
    status: 400,
  },
];

for (const { name, raw, status, limits } of ERROR_REPLIES) {
  Deno.test(`RFC 9112 §9.6: ${name}: one reply with Connection: close, nothing after it served`, async () => {
    const seen: string[] = [];
    await using server = startServer(
      recorder(seen),
      limits === undefined ? {} : { limits },
    );
    const text = await exchangeToEnd(server.addr.port, raw);
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), text);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.match(text, /\r\ndate: /i, "RFC 9110 §6.6.1: Date on 4xx");
    assert.equal(countResponses(text), 1, text);
    assert.deepEqual(seen, []);
  });
}

// ── RFC 9112 §9: connection management ────────────────────────────────────

Deno.test("RFC 9112 §9.6: after the handler's own Connection: close, no further pipelined request is processed", async () => {
  // "A server that sends a "close" connection option MUST initiate closure
  // of the connection ... and MUST NOT process any further requests".
  const seen: string[] = [];
  await using server = startServer(
    recorder(
      seen,
      () => new Response("bye", { headers: { Connection: "close" } }),
    ),
  );
  const text = await exchangeToEnd(
    server.addr.port,
    `GET /1 HTTP/1.1\r\n${HOST}\r\nGET /2 HTTP/1.1\r\n${HOST}\r\n`,
  );
  assert.equal(countResponses(text), 1, text);
  assert.match(text, /\r\nconnection: close\r\n/i);
  assert.ok(text.endsWith("\r\n\r\nbye"), text);
  assert.deepEqual(seen, ["GET http://a.example/1"]);
});

Deno.test("RFC 9112 §9.6: a streamed response with the handler's Connection: close ends the connection after its last chunk", async () => {
  const seen: string[] = [];
  await using server = startServer(
    recorder(seen, () =>
      new Response(
        ReadableStream.from([new TextEncoder().encode("ab")]).pipeThrough(
          new TransformStream({
            async transform(chunk, controller) {
              await new Promise((resolve) => setTimeout(resolve, 5));
              controller.enqueue(chunk);
            },
          }),
        ),
        { headers: { Connection: "Keep-Alive, Close" } },
      )),
  );
  const text = await exchangeToEnd(
    server.addr.port,
    `GET /1 HTTP/1.1\r\n${HOST}\r\nGET /2 HTTP/1.1\r\n${HOST}\r\n`,
  );
  assert.equal(countResponses(text), 1, text);
  assert.match(text, /\r\ntransfer-encoding: chunked\r\n/i);
  assert.match(text, /\r\nconnection: close\r\n/i);
  assert.ok(text.endsWith("\r\n\r\n2\r\nab\r\n0\r\n\r\n"), text);
  assert.deepEqual(seen, ["GET http://a.example/1"]);
});

Deno.test("RFC 9112 §9.3: an HTTP/1.0 request without keep-alive is the last one served on its connection", async () => {
  // "Otherwise, the connection will close after the current response."
  const seen: string[] = [];
  await using server = startServer(recorder(seen));
  const text = await exchangeToEnd(
    server.addr.port,
    "GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  );
  assert.equal(countResponses(text), 1, text);
  assert.match(text, /\r\nconnection: close\r\n/i);
  assert.equal(seen.length, 1);
  assert.match(seen[0]!, /\/1$/);
});

Deno.test("RFC 9112 §9.3: HTTP/1.0 keep-alive persists across requests and the last one without it closes", async () => {
  const seen: string[] = [];
  await using server = startServer(recorder(seen));
  const text = await exchangeToEnd(
    server.addr.port,
    "GET /1 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n" +
      "GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
      "GET /3 HTTP/1.0\r\n\r\nGET /4 HTTP/1.0\r\n\r\n",
  );
  assert.equal(countResponses(text), 3, text);
  assert.equal(text.match(/\r\nconnection: keep-alive\r\n/gi)?.length, 2);
  assert.equal(text.match(/\r\nconnection: close\r\n/gi)?.length, 1);
  assert.deepEqual(seen.map((s) => s.slice(-2)), ["/1", "/2", "/3"]);
});

// ── RFC 9110 §6.2: versions ───────────────────────────────────────────────

Deno.test("RFC 9110 §6.2: HTTP/1.9 is answered as HTTP/1.1, chunked included", async () => {
  // A higher minor version is processed as the highest one implemented.
  await using server = startServer(() =>
    new Response(
      new ReadableStream({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          controller.enqueue(new TextEncoder().encode("x"));
          controller.close();
        },
      }),
    )
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    `GET / HTTP/1.9\r\n${HOST}\r\nGET / HTTP/1.1\r\n${HOST}\r\n`,
  );
  const [a, b] = await client.responses(["GET", "GET"], 3000);
  assert.equal(a!.version, "HTTP/1.1");
  assert.equal(a!.headers.get("transfer-encoding"), "chunked");
  assert.equal(a!.text, "x");
  assert.equal(b!.text, "x");
});

// ── RFC 9110 §6.6.1: Date ─────────────────────────────────────────────────

Deno.test("RFC 9110 §6.6.1: every 2xx, 3xx and 4xx response carries one IMF-fixdate Date", async () => {
  const answers: Record<string, () => Response> = {
    "/200": () => new Response("ok"),
    "/204": () => new Response(null, { status: 204 }),
    "/301": () => Response.redirect("http://a.example/x", 301),
    "/304": () => new Response(null, { status: 304 }),
    "/404": () => new Response("no", { status: 404 }),
    "/stream": () =>
      new Response(
        ReadableStream.from(["a"]).pipeThrough(new TextEncoderStream()),
      ),
  };
  await using server = startServer((req) =>
    answers[new URL(req.url).pathname]!()
  );
  const paths = Object.keys(answers);
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    paths.map((p) => `GET ${p} HTTP/1.1\r\n${HOST}\r\n`).join("") +
      `HEAD /200 HTTP/1.1\r\n${HOST}\r\n`,
  );
  const responses = await client.responses(
    [...paths.map(() => "GET"), "HEAD"],
    3000,
  );
  const before = Date.now();
  for (const res of responses) {
    const dates = res.fields.filter(([n]) => n.toLowerCase() === "date");
    assert.equal(
      dates.length,
      1,
      `${res.status}: ${JSON.stringify(res.fields)}`,
    );
    const value = dates[0]![1];
    assert.match(value, IMF_FIXDATE);
    assert.ok(Math.abs(Date.parse(value) - before) < 10_000, value);
  }
  assert.deepEqual(responses.map((r) => r.status), [
    200,
    204,
    301,
    304,
    404,
    200,
    200,
  ]);
});

// ── RFC 9110 §15: responses without content ───────────────────────────────

Deno.test("RFC 9110 §15.3.6: a 205 says Content-Length: 0, sends nothing, and keeps the connection", async () => {
  // A server MUST NOT generate content in a 205 and must indicate zero
  // length (Content-Length: 0, an empty chunked body, or close).
  await using server = startServer((req) =>
    new URL(req.url).pathname === "/reset"
      ? new Response(null, { status: 205 })
      : new Response("next")
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    `POST /reset HTTP/1.1\r\n${HOST}Content-Length: 0\r\n\r\n` +
      `GET / HTTP/1.1\r\n${HOST}\r\n`,
  );
  const [reset, next] = await client.responses(["POST", "GET"], 3000);
  assert.equal(reset!.status, 205);
  assert.equal(reset!.headers.get("content-length"), "0");
  assert.equal(reset!.headers.get("transfer-encoding"), null);
  assert.equal(reset!.body.length, 0);
  assert.equal(next!.text, "next");
});

// ── RFC 9110 §7.8 / §10.1.1: Upgrade with Expect ──────────────────────────

Deno.test("RFC 9110 §7.8: with Upgrade and Expect: 100-continue, 100 Continue goes out before the hook's 101", async () => {
  // "If a server receives both an Upgrade and an Expect header field with
  // the "100-continue" expectation, the server MUST send a 100 (Continue)
  // response before sending a 101 (Switching Protocols) response."
  await using server = startServer(() => new Response("plain"), {
    onUpgrade: async (req, { conn }) => {
      const body = await req.text();
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n" +
            `Upgrade: foo\r\n\r\nbody=${body}`,
        ),
      );
      conn.close();
    },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    `POST / HTTP/1.1\r\n${HOST}Connection: Upgrade\r\nUpgrade: foo\r\n` +
      "Expect: 100-continue\r\nContent-Length: 3\r\n\r\n",
  );
  // The client holds its body back until the 100 arrives.
  await client.readUntil((t) => t.includes("\r\n\r\n"), 3000);
  assert.equal(client.text, "HTTP/1.1 100 Continue\r\n\r\n");
  await client.send("abc");
  const text = await client.readToEnd(3000);
  assert.equal(
    text,
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n" +
      "Connection: Upgrade\r\nUpgrade: foo\r\n\r\nbody=abc",
  );
});

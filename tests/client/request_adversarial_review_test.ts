// Adversarial review of request(), Pool and the CLI beyond raw framing (for
// that see client_adversarial_review_test.ts): redirect security and
// semantics, header handling, aborts, connection reuse, pool limits,
// pipelining order, and the curl-like CLI. Every test asserts the correct
// behaviour (source cited). The review found nine bugs (TLS handshakes no
// timeout, signal or close() could end; a caller's Content-Length not
// matching the body, or beside Transfer-Encoding; URL userinfo dropped; a
// UTF-8 Location encoded twice; two Locations joined; Response.url with its
// fragment; -d @file bytes changed), fixed. Raw servers on 127.0.0.1, port
// 0; each test bounded.

import assert from "node:assert/strict";
import {
  ConnectTimeout,
  HTTPException,
  InvalidURL,
  TooManyRedirects,
} from "../../client/errors.ts";
import { HTTPSConnection } from "../../client/http_connection.ts";
import { Pool } from "../../client/pool.ts";
import { request } from "../../client/request.ts";
import { EXIT_CODES, main } from "../../client/cli.ts";
import {
  answerEach,
  bounded,
  cannedServer,
  isNamed,
  ok,
  type SeenRequest,
  type ServerConn,
  sleep,
} from "./_canned_server.ts";
import { testCertificate } from "../server/_tls.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

// A server answering each request with route(request) until the client
// closes.
function routed(
  route: (request: SeenRequest, conn: ServerConn) => string | Promise<string>,
) {
  return cannedServer(async (c) => {
    for (;;) {
      const seen = await c.readRequest();
      if (seen === null) return;
      await c.write(await route(seen, c));
    }
  });
}

const pathOf = (r: SeenRequest) => r.line.split(" ")[1]!;
const redirect = (status: number, location: string) =>
  `HTTP/1.1 ${status} R\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`;
const field = (r: SeenRequest, name: string) =>
  new RegExp(`\r\n${name}:`, "i").test(r.head);

// ---------------------------------------------------------------------------
// Redirect security
// ---------------------------------------------------------------------------

// Fetch standard, HTTP-redirect fetch step 13: "If request's current URL's
// origin is not same origin with locationURL's origin, then for each
// headerName of CORS non-wildcard request-header name (Authorization),
// delete headerName from request's header list". curl (CVE-2022-27776,
// CVE-2018-1000007) and Go (net/http shouldCopyHeaderOnRedirect) also drop
// Authorization and Cookie when host, port or scheme changes.
Deno.test("review: a redirect to another port drops credentials and never re-adds them", async () => {
  await using other = routed((r) =>
    pathOf(r) === "/x"
      ? redirect(302, `http://127.0.0.1:${first.port}/back`)
      : ok("")
  );
  await using first = routed((r) =>
    pathOf(r) === "/start"
      ? redirect(302, "/same")
      : pathOf(r) === "/same"
      ? redirect(307, `http://127.0.0.1:${other.port}/x`)
      : ok("home")
  );
  using pool = new Pool();
  const response = await bounded(
    request(`http://127.0.0.1:${first.port}/start`, {
      pool,
      redirect: "follow",
      headers: {
        Authorization: "Bearer secret",
        Cookie: "sid=secret",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "X-Other": "kept",
      },
    }),
  );
  assert.equal(await response.text(), "home");
  assert.equal(response.url, `http://127.0.0.1:${first.port}/back`);
  assert.equal(response.redirected, true);
  const [start, same, back] = first.requests;
  const [x] = other.requests;
  // Same origin: kept.
  assert.ok(field(start!, "authorization") && field(same!, "authorization"));
  assert.ok(field(same!, "cookie"));
  // Other origin, and back again: gone.
  for (const r of [x!, back!]) {
    assert.ok(!field(r, "authorization"), r.head);
    assert.ok(!field(r, "cookie"), r.head);
    assert.ok(!field(r, "proxy-authorization"), r.head);
    assert.ok(field(r, "x-other"), r.head);
    assert.ok(!r.head.includes("secret"), r.head);
  }
  // The Host field names the new origin, not the old one.
  assert.match(
    x!.head,
    new RegExp(`\r\nHost: 127\\.0\\.0\\.1:${other.port}\r\n`),
  );
});

// RFC 3986 §4.2 network-path reference ("//host:port/path"), resolved per
// §5.2; another host is another origin, so credentials go (as above).
Deno.test("review: a protocol-relative Location to another host drops Authorization", async () => {
  await using other = routed(() => ok("there"));
  await using first = routed(() =>
    redirect(301, `//localhost:${other.port}/p?q=1`)
  );
  using pool = new Pool();
  const response = await bounded(
    request(`http://127.0.0.1:${first.port}/`, {
      pool,
      redirect: "follow",
      headers: [["Authorization", "Basic dTpw"], ["Host", "127.0.0.1"]],
    }),
  );
  assert.equal(await response.text(), "there");
  assert.equal(response.url, `http://localhost:${other.port}/p?q=1`);
  const seen = other.requests[0]!;
  assert.equal(seen.line, "GET /p?q=1 HTTP/1.1");
  assert.ok(!field(seen, "authorization"), seen.head);
  // A Host the caller set for the first origin must not follow.
  assert.match(seen.head, new RegExp(`\r\nHost: localhost:${other.port}\r\n`));
});

// Fetch, HTTP-redirect fetch step 11: a redirect to a URL whose scheme is
// not HTTP(S) is a network error. curl refuses file:, ftp: etc. on redirect
// (CURLOPT_REDIR_PROTOCOLS); Go: "unsupported protocol scheme".
for (
  const location of ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:,hi"]
) {
  Deno.test(`review: a redirect to ${location.split(":")[0]}: is a named error`, async () => {
    await using server = routed(() => redirect(302, location));
    using pool = new Pool();
    await assert.rejects(
      bounded(
        request(`http://127.0.0.1:${server.port}/`, {
          pool,
          redirect: "follow",
        }),
      ),
      (e) => e instanceof InvalidURL,
    );
    assert.equal(server.requests.length, 1);
  });
}

// ---------------------------------------------------------------------------
// Redirect semantics
// ---------------------------------------------------------------------------

// RFC 9110 §15.4.2/§15.4.3 (and Fetch step 12): 301/302 after POST may
// become GET; Fetch does so and then removes the request-body-header names
// (Content-Type, Content-Encoding, Content-Language, Content-Location) and
// the body. §15.4.4: 303 → GET unless HEAD. §15.4.8/§15.4.9: 307/308 keep
// method and body.
Deno.test("review: redirect method rewriting per status", async () => {
  await using server = routed((r) => {
    const [, status, rest] = pathOf(r).split("/");
    return status === "done"
      ? ok("done")
      : redirect(Number(status), `/done/${rest}`);
  });
  using pool = new Pool();
  const base = `http://127.0.0.1:${server.port}`;
  const cases: [string, string, string][] = [
    // method, status, expected method at /done
    ["POST", "301", "GET"],
    ["POST", "302", "GET"],
    ["POST", "303", "GET"],
    ["PUT", "303", "GET"],
    ["HEAD", "303", "HEAD"],
    ["PUT", "301", "PUT"],
    ["POST", "307", "POST"],
    ["POST", "308", "POST"],
  ];
  for (const [method, status, expected] of cases) {
    const before = server.requests.length;
    const response = await bounded(
      request(`${base}/${status}/${method}`, {
        pool,
        method,
        redirect: "follow",
        ...(method === "HEAD" ? {} : { body: "payload" }),
        headers: { "Content-Type": "text/plain", "X-Keep": "1" },
      }),
    );
    await response.arrayBuffer();
    const done = server.requests[before + 1]!;
    assert.equal(done.line, `${expected} /done/${method} HTTP/1.1`);
    assert.ok(field(done, "x-keep"));
    if (expected === "GET") {
      assert.equal(done.body.length, 0, `${method} ${status}`);
      assert.ok(!field(done, "content-type"), done.head);
      assert.ok(!field(done, "content-length"), done.head);
      assert.ok(!field(done, "transfer-encoding"), done.head);
    } else if (expected !== "HEAD") {
      assert.equal(text(done.body), "payload", `${method} ${status}`);
      assert.ok(field(done, "content-type"), done.head);
    }
  }
});

// RFC 3986 §5.2 / §5.4 reference resolution against the current URL.
Deno.test("review: relative Locations resolve per RFC 3986 against the current URL", async () => {
  await using server = routed((r) => {
    const path = pathOf(r);
    if (path === "/a/b/c?x=1") return redirect(302, "../d;p?y=2");
    if (path === "/a/d;p?y=2") return redirect(302, "?z=3");
    if (path === "/a/d;p?z=3") return redirect(302, "/with%20space/./e");
    return ok(path);
  });
  using pool = new Pool();
  const response = await bounded(
    request(`http://127.0.0.1:${server.port}/a/b/c?x=1`, {
      pool,
      redirect: "follow",
    }),
  );
  assert.equal(await response.text(), "/with%20space/e");
  assert.equal(
    response.url,
    `http://127.0.0.1:${server.port}/with%20space/e`,
  );
});

// A Location with a raw space: browsers and Go percent-encode it (the URL
// standard's path percent-encode set) rather than send a space in the
// request-target (RFC 9112 §3.2 forbids it).
Deno.test("review: a Location with a raw space is percent-encoded", async () => {
  await using server = routed((r) =>
    pathOf(r) === "/" ? redirect(302, "/a b") : ok(pathOf(r))
  );
  using pool = new Pool();
  const response = await bounded(
    request(`http://127.0.0.1:${server.port}/`, { pool, redirect: "follow" }),
  );
  assert.equal(await response.text(), "/a%20b");
});

// A UTF-8 Location ("/é" sent as the bytes C3 A9) is requested as
// /%C3%A9, as browsers, Go and curl do, not decoded as Latin-1 and encoded
// again (/%C3%83%C2%A9, a different resource).
Deno.test({
  name: "review: a UTF-8 Location is requested as /%C3%A9, not double-encoded",
  async fn() {
    await using server = routed((r) =>
      pathOf(r) === "/" ? redirect(302, "/\xc3\xa9") : ok(pathOf(r))
    );
    using pool = new Pool();
    const response = await bounded(
      request(`http://127.0.0.1:${server.port}/`, {
        pool,
        redirect: "follow",
      }),
    );
    assert.equal(await response.text(), "/%C3%A9");
  },
});

// Fetch: a response's URL is serialised "with exclude fragment set to
// true" (Response.url getter), also after a fragment-only redirect
// (RFC 9110 §10.2.2: a Location fragment applies to the final URL but is
// never sent).
Deno.test({
  name: "review: Response.url has no fragment",
  async fn() {
    await using server = routed(() => ok("x"));
    using pool = new Pool();
    const response = await bounded(
      request(`http://127.0.0.1:${server.port}/p?q=1#frag`, { pool }),
    );
    await response.text();
    assert.equal(server.requests[0]!.line, "GET /p?q=1 HTTP/1.1");
    assert.equal(response.url, `http://127.0.0.1:${server.port}/p?q=1`);
  },
});

// Fetch: "If request's redirect count is 20, return a network error" after
// following 20; with maxRedirects N exactly N redirects are followed (N + 1
// requests), then TooManyRedirects (code TOO_MANY_REDIRECTS; curl exit 47).
Deno.test("review: a redirect loop stops after exactly maxRedirects", async () => {
  await using server = routed((r) =>
    redirect(302, `/n${Number(pathOf(r).slice(2) || 0) + 1}`)
  );
  using pool = new Pool();
  for (const limit of [0, 1, 5]) {
    const before = server.requests.length;
    await assert.rejects(
      bounded(
        request(`http://127.0.0.1:${server.port}/n0`, {
          pool,
          redirect: "follow",
          maxRedirects: limit,
        }),
      ),
      (e) =>
        e instanceof TooManyRedirects && e.code === "TOO_MANY_REDIRECTS" &&
        e.limit === limit,
    );
    assert.equal(server.requests.length - before, limit + 1);
  }
  // The default is 20 (Fetch).
  const before = server.requests.length;
  await assert.rejects(
    bounded(
      request(`http://127.0.0.1:${server.port}/n0`, {
        pool,
        redirect: "follow",
      }),
    ),
    TooManyRedirects,
  );
  assert.equal(server.requests.length - before, 21);
  // All on one kept-alive connection (bodies of 0 bytes are drained).
  assert.equal(server.connections, 1);
});

// ---------------------------------------------------------------------------
// request(): URL and headers
// ---------------------------------------------------------------------------

// curl turns user:pass@ in a URL into "Authorization: Basic dXNlcjpwYXNz";
// Fetch (new Request) throws a TypeError for a URL with credentials. Either
// is fine; silently sending an unauthenticated request is not, and the
// credentials must never reach the request-target.
Deno.test({
  name: "review: URL userinfo becomes Basic auth or an error",
  async fn() {
    await using server = routed(() => ok("x"));
    using pool = new Pool();
    let threw = false;
    try {
      await (await bounded(
        request(`http://user:pass@127.0.0.1:${server.port}/p`, { pool }),
      )).text();
    } catch {
      threw = true;
    }
    for (const r of server.requests) {
      assert.ok(!r.line.includes("pass"), r.line);
    }
    assert.ok(
      threw ||
        /\r\nAuthorization: Basic dXNlcjpwYXNz\r\n/i.test(
          server.requests[0]!.head,
        ),
      "neither an error nor Basic auth",
    );
  },
});

// WHATWG URL: a port over 65535 fails to parse (curl exit 3).
Deno.test("review: a port out of range is InvalidURL", async () => {
  using pool = new Pool();
  for (const url of ["http://127.0.0.1:65536/", "http://127.0.0.1:-1/"]) {
    await assert.rejects(request(url, { pool }), InvalidURL);
  }
});

// RFC 9110 §9.1: method names are case-sensitive; Fetch normalises only
// DELETE, GET, HEAD, OPTIONS, POST, PUT.
Deno.test("review: lowercase standard methods are normalised, others kept", async () => {
  await using server = routed(() => ok("x"));
  using pool = new Pool();
  const url = `http://127.0.0.1:${server.port}/`;
  await (await request(url, { pool, method: "get" })).text();
  await (await request(url, { pool, method: "patch", body: "b" })).text();
  assert.equal(server.requests[0]!.line, "GET / HTTP/1.1");
  assert.equal(server.requests[1]!.line, "patch / HTTP/1.1");
  assert.equal(text(server.requests[1]!.body), "b");
});

// RFC 9112 §3.2 / RFC 9110 §7.2: exactly one Host field. The caller's Host
// replaces h1's, it is never added twice.
Deno.test("review: a caller's Host field is sent once", async () => {
  await using server = routed(() => ok("x"));
  using pool = new Pool();
  await (await request(`http://127.0.0.1:${server.port}/`, {
    pool,
    headers: new Headers({ host: "example.test" }),
  })).text();
  const hosts = server.requests[0]!.head.match(/\r\nhost:/gi) ?? [];
  assert.equal(hosts.length, 1);
  assert.match(server.requests[0]!.head, /\r\nhost: example\.test\r\n/i);
});

// A caller's Content-Length that disagrees with the body must not be sent
// with the whole body behind it: with "Content-Length: 1" and body "abc" the
// server would read "bc" as the start of the next request (request
// smuggling on a shared connection, RFC 9112 §11.2). Go's Transport refuses
// ("http: ContentLength=1 with Body length 3"), and so does h1.
Deno.test({
  name: "review: a Content-Length that disagrees with the body is not sent",
  async fn() {
    await using server = cannedServer(async (c) => {
      const first = await c.readRequest();
      if (first === null) return;
      await c.write(ok("one"));
      // Whatever comes next must be a well-formed request.
      const second = await c.readRequest();
      if (second === null) return;
      await c.write(ok("two"));
      await answerEach(ok("more"))(c);
    });
    using pool = new Pool();
    const url = `http://127.0.0.1:${server.port}/`;
    try {
      await (await bounded(request(url, {
        pool,
        method: "POST",
        headers: { "Content-Length": "1" },
        body: "abc",
      }))).text();
    } catch {
      // Refusing the request is fine.
    }
    await (await bounded(request(url, { pool }))).text();
    for (const r of server.requests) {
      assert.match(r.line, /^(GET|POST) \/ HTTP\/1\.1$/, r.line);
    }
    const post = server.requests.find((r) => r.line.startsWith("POST"));
    if (post !== undefined) assert.equal(text(post.body), "abc");
  },
});

// RFC 9112 §6.2: "A sender MUST NOT send a Content-Length header field in
// any message that contains a Transfer-Encoding header field." With the
// caller's Transfer-Encoding: chunked, the body must be chunk-framed and no
// Content-Length added.
Deno.test("review: a caller's Transfer-Encoding: chunked frames a text body", async () => {
  await using server = routed(() => ok("x"));
  using pool = new Pool();
  await (await bounded(request(`http://127.0.0.1:${server.port}/`, {
    pool,
    method: "POST",
    headers: { "Transfer-Encoding": "chunked" },
    body: "hello",
  }))).text();
  const seen = server.requests[0]!;
  assert.ok(!field(seen, "content-length"), seen.head);
  assert.equal(text(seen.body), "hello");
});

// Both a caller's Content-Length and Transfer-Encoding: chunked must not go
// out together (RFC 9112 §6.2 MUST NOT; a server MAY reject it as smuggling,
// §6.3 item 3); h1 refuses.
Deno.test({
  name: "review: Content-Length is never sent beside Transfer-Encoding",
  async fn() {
    await using server = routed(() => ok("x"));
    using pool = new Pool();
    try {
      await (await bounded(request(`http://127.0.0.1:${server.port}/`, {
        pool,
        method: "POST",
        headers: { "Transfer-Encoding": "chunked", "Content-Length": "5" },
        body: "hello",
      }))).text();
    } catch {
      // Refusing is fine.
    }
    for (const r of server.requests) {
      assert.ok(
        !(field(r, "content-length") && field(r, "transfer-encoding")),
        r.head,
      );
    }
  },
});

// ---------------------------------------------------------------------------
// request(): aborts and connection reuse
// ---------------------------------------------------------------------------

// The signal aborts "the whole exchange" (README): connecting to an https:
// origin includes the TLS handshake. A server that accepts TCP and never
// answers the ClientHello must not hold request() past the signal (Fetch:
// abort at any point rejects with the signal's reason; Go's DialContext /
// TLS handshake honour the context; curl's --connect-timeout covers TLS).
Deno.test({
  name: "review: the signal aborts a stalled TLS handshake",
  async fn() {
    // Reads the ClientHello, answers nothing, until the client closes.
    await using server = cannedServer(async (c) => {
      await c.readBytes(1 << 20);
    });
    using pool = new Pool();
    const started = performance.now();
    await assert.rejects(
      bounded(
        request(`https://127.0.0.1:${server.port}/`, {
          pool,
          signal: AbortSignal.timeout(100),
        }),
        1200,
      ),
      (e) => (e as Error).name === "TimeoutError",
    );
    assert.ok(performance.now() - started < 1000);
  },
});

// Python's socket timeout covers the handshake (ssl wraps a socket that
// has it): HTTPSConnection(timeout=0.1) against a server that never answers
// the ClientHello ends with a timeout, not a hang.
Deno.test("review: HTTPSConnection's timeout covers the TLS handshake", async () => {
  await using server = cannedServer(async (c) => {
    await c.readBytes(1 << 20);
  });
  using conn = new HTTPSConnection("127.0.0.1", server.port, { timeout: 0.1 });
  const started = performance.now();
  await assert.rejects(
    bounded(conn.request("GET", "/"), 1200),
    (e) => e instanceof ConnectTimeout && e.code === "ETIMEDOUT",
  );
  assert.ok(performance.now() - started < 1000);
});

// Fetch: aborting rejects with the signal's reason; the connection whose
// exchange was cut must not be reused (its state is unknown).
Deno.test("review: aborting while waiting for the head drops that connection", async () => {
  await using server = cannedServer(async (c, index) => {
    if (index === 0) {
      await c.readRequest();
      await sleep(300);
      // Too late: the client gave up; this must never reach a request.
      await c.write(ok("stale"));
      await answerEach(ok("stale"))(c);
      return;
    }
    await answerEach(ok("fresh"))(c);
  });
  using pool = new Pool();
  const url = `http://127.0.0.1:${server.port}/`;
  const reason = new Error("stop now");
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), 30);
  await assert.rejects(
    bounded(request(url, { pool, signal: controller.signal })),
    (e) => e === reason,
  );
  assert.equal(await (await bounded(request(url, { pool }))).text(), "fresh");
  assert.equal(server.connections, 2);
});

// A response whose body is not read keeps its connection: another request
// to the origin must use a new connection (never read the leftover body as
// its head); after cancel() the pool is usable again.
Deno.test("review: an unread body is never read as the next response", async () => {
  const big = "B".repeat(200_000);
  await using server = routed((r) =>
    pathOf(r) === "/big" ? ok(big) : ok("small")
  );
  using pool = new Pool({ maxConnectionsPerOrigin: 2 });
  const base = `http://127.0.0.1:${server.port}`;
  const unread = await bounded(request(`${base}/big`, { pool }));
  assert.equal(
    await (await bounded(request(`${base}/s`, { pool }))).text(),
    "small",
  );
  assert.equal(server.connections, 2);
  await unread.body!.cancel();
  for (let i = 0; i < 3; i++) {
    assert.equal(
      await (await bounded(request(`${base}/s`, { pool }))).text(),
      "small",
    );
  }
  assert.ok(pool.stats.connections <= 2);
});

// HEAD, 204 and 304 have no content (RFC 9110 §9.3.2, §15.3.5, §15.4.5):
// request() must not drop the keep-alive connection for them.
Deno.test("review: HEAD, 204 and 304 keep the connection alive", async () => {
  await using server = routed((r) =>
    r.line.startsWith("HEAD")
      ? "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
      : pathOf(r) === "/204"
      ? "HTTP/1.1 204 No Content\r\n\r\n"
      : pathOf(r) === "/304"
      ? "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
      : ok("body")
  );
  using pool = new Pool();
  const base = `http://127.0.0.1:${server.port}`;
  const head = await bounded(request(`${base}/`, { pool, method: "HEAD" }));
  assert.equal(head.body, null);
  assert.equal(head.headers.get("content-length"), "1000");
  assert.equal((await bounded(request(`${base}/204`, { pool }))).status, 204);
  assert.equal((await bounded(request(`${base}/304`, { pool }))).status, 304);
  assert.equal(
    await (await bounded(request(`${base}/`, { pool }))).text(),
    "body",
  );
  assert.equal(server.connections, 1);
});

// ---------------------------------------------------------------------------
// Pool
// ---------------------------------------------------------------------------

// maxConnectionsPerOrigin is a hard cap (README), counted server-side.
Deno.test("review: 200 concurrent requests never exceed maxConnectionsPerOrigin", async () => {
  let open = 0, peak = 0;
  await using server = cannedServer(async (c) => {
    open++;
    peak = Math.max(peak, open);
    try {
      for (;;) {
        const r = await c.readRequest();
        if (r === null) return;
        await sleep(Math.random() * 3);
        await c.write(ok(pathOf(r)));
      }
    } finally {
      open--;
    }
  });
  using pool = new Pool({ maxConnectionsPerOrigin: 3 });
  const base = `http://127.0.0.1:${server.port}`;
  const bodies = await bounded(
    Promise.all(
      Array.from(
        { length: 200 },
        async (_, i) => await (await request(`${base}/${i}`, { pool })).text(),
      ),
    ),
    2500,
  );
  assert.deepEqual(bodies, Array.from({ length: 200 }, (_, i) => `/${i}`));
  assert.ok(peak <= 3, `peak ${peak}`);
  assert.ok(server.connections <= 3, `connections ${server.connections}`);
});

// pool.close() with requests in flight: each fails with a named error, fast
// (README: "requests in flight fail").
Deno.test("review: pool.close() fails requests in flight with named errors", async () => {
  await using server = cannedServer(async (c) => {
    const r = await c.readRequest();
    if (r === null) return;
    if (pathOf(r) === "/body") {
      await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart");
    }
    // Until the client closes.
    await c.readBytes(1);
  });
  const pool = new Pool({ maxConnectionsPerOrigin: 2 });
  const base = `http://127.0.0.1:${server.port}`;
  const withBody = await bounded(pool.request(base, { path: "/body" }));
  const waitingHead = pool.request(base, { path: "/head" });
  const queued = pool.request(base, { path: "/queued" });
  const settled = Promise.allSettled([waitingHead, queued, withBody.read()]);
  await sleep(50);
  pool.close();
  const results = await bounded(settled, 800);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok(
      isNamed((result as PromiseRejectedResult).reason),
      String((result as PromiseRejectedResult).reason),
    );
  }
  await assert.rejects(pool.request(base), HTTPException);
});

// RFC 9110 §9.2.2 / RFC 9112 §9.3.1: a non-idempotent request is never
// retried automatically. Counted server-side: one POST only.
Deno.test("review: a POST that meets a dying reused connection is sent once", async () => {
  await using server = cannedServer(async (c, index) => {
    if (index === 0) {
      await c.readRequest();
      await c.write(ok("first"));
      // Read the POST, then close without answering.
      await c.readRequest();
      return;
    }
    await answerEach(ok("again"))(c);
  });
  using pool = new Pool();
  const base = `http://127.0.0.1:${server.port}`;
  await (await request(base, { pool })).text();
  await assert.rejects(
    bounded(request(base, { pool, method: "POST", body: "once" })),
    (e) => isNamed(e),
  );
  const posts = server.requests.filter((r) => r.line.startsWith("POST"));
  assert.equal(posts.length, 1);
});

// RFC 9112 §9.3.2: responses to pipelined requests come back in order; a
// HEAD response has no content even with a Content-Length (RFC 9110
// §9.3.2). Varied sizes and delays; every body must match its request.
Deno.test("review: pipelined GETs and HEADs with varied sizes never mix bodies", async () => {
  await using server = cannedServer(async (c) => {
    const pending: SeenRequest[] = [];
    let reading = true;
    const reader = (async () => {
      for (;;) {
        const r = await c.readRequest();
        if (r === null) break;
        pending.push(r);
      }
      reading = false;
    })();
    while (reading || pending.length > 0) {
      const r = pending.shift();
      if (r === undefined) {
        await sleep(1);
        continue;
      }
      const path = pathOf(r);
      const n = Number(path.slice(1));
      const body = `<${path}>` + "z".repeat((n * 7919) % 40_000);
      if (n % 5 === 0) await sleep(5);
      if (r.line.startsWith("HEAD")) {
        await c.write(
          `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
      } else if (n % 3 === 0) {
        await c.write(
          `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${
            body.length.toString(16)
          }\r\n${body}\r\n0\r\n\r\n`,
        );
      } else await c.write(ok(body));
    }
    await reader;
  });
  using pool = new Pool({ maxConnectionsPerOrigin: 2, pipelining: 6 });
  const base = `http://127.0.0.1:${server.port}`;
  const results = await bounded(
    Promise.all(
      Array.from({ length: 60 }, async (_, n) => {
        const method = n % 4 === 1 ? "HEAD" : "GET";
        const response = await request(`${base}/${n}`, { pool, method });
        if (method === "HEAD") {
          assert.equal(response.body, null);
          return `HEAD ${response.headers.get("content-length")}`;
        }
        const body = await response.text();
        return `GET ${body.slice(0, body.indexOf(">") + 1)} ${body.length}`;
      }),
    ),
    2500,
  );
  results.forEach((got, n) => {
    const length = `</${n}>`.length + ((n * 7919) % 40_000);
    assert.equal(
      got,
      n % 4 === 1 ? `HEAD ${length}` : `GET </${n}> ${length}`,
    );
  });
  assert.ok(server.connections <= 2);
});

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

function capture() {
  const out: Uint8Array[] = [];
  const err: string[] = [];
  const io = {
    stdout: { write: (p: Uint8Array) => (out.push(p.slice()), p.length) },
    stderr: {
      write: (p: Uint8Array) => (err.push(text(p)), p.length),
    },
  };
  return {
    io,
    out: () => text(new Uint8Array(out.flatMap((p) => [...p]))),
    err: () => err.join(""),
  };
}

// curl rejects header lines with CR or LF (it cannot send them as one
// field); RFC 9110 §5.5 forbids CR/LF in field values. Nothing is sent.
Deno.test("review: cli -H with CR/LF is refused and nothing injected", async () => {
  await using server = routed(() => ok("x"));
  const url = `http://127.0.0.1:${server.port}/`;
  for (
    const header of ["X-A: 1\r\nX-Evil: 2", "X-A: 1\nX-Evil: 2", "X\r\nEvil: 1"]
  ) {
    const c = capture();
    const code = await bounded(main(["-H", header, url], c.io));
    assert.notEqual(code, EXIT_CODES.ok, header);
  }
  for (const r of server.requests) {
    assert.ok(!/x-evil|\r\nevil/i.test(r.head), r.head);
  }
});

// curl: -f exits 22 on status >= 400 and writes no body; -i prints the
// head; -o writes the body to a file; -d sends POST; --timeout during a
// stalled body is exit 28 (CURLE_OPERATION_TIMEDOUT).
Deno.test("review: cli -f, -i, -o, -d and a timeout mid-body", async () => {
  await using server = routed(async (r) => {
    const path = pathOf(r);
    if (path === "/500") {
      return "HTTP/1.1 500 Oops\r\nContent-Length: 6\r\n\r\nsecret";
    }
    if (path === "/stall") {
      await sleep(800);
      return "";
    }
    return ok(`${r.line.split(" ")[0]} ${text(r.body)}`);
  });
  const base = `http://127.0.0.1:${server.port}`;
  let c = capture();
  assert.equal(await main(["-f", `${base}/500`], c.io), EXIT_CODES.httpError);
  assert.ok(!c.out().includes("secret"));
  c = capture();
  assert.equal(await main([`${base}/500`], c.io), EXIT_CODES.ok);
  assert.equal(c.out(), "secret");
  c = capture();
  assert.equal(await main(["-i", "-d", "a=1", `${base}/p`], c.io), 0);
  assert.equal(c.out(), "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nPOST a=1");
  const dir = await Deno.makeTempDir();
  try {
    c = capture();
    assert.equal(await main(["-o", `${dir}/out`, `${base}/g`], c.io), 0);
    assert.equal(await Deno.readTextFile(`${dir}/out`), "GET ");
    assert.equal(c.out(), "");
    // Cannot open the output file (a directory): curl exit 23.
    c = capture();
    assert.equal(
      await main(["-o", dir, `${base}/g`], c.io),
      EXIT_CODES.writeError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("review: cli --timeout while the head or body stalls is exit 28", async () => {
  await using server = cannedServer(async (c) => {
    const r = await c.readRequest();
    if (r === null) return;
    if (pathOf(r) === "/body") {
      await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    }
    await sleep(800);
  });
  const base = `http://127.0.0.1:${server.port}`;
  for (const path of ["/head", "/body"]) {
    const c = capture();
    const started = performance.now();
    assert.equal(
      await bounded(main(["--timeout", "0.1", `${base}${path}`], c.io)),
      EXIT_CODES.timeout,
      c.err(),
    );
    assert.ok(performance.now() - started < 600);
  }
});

// curl sends a -d @file's bytes as they are (man curl, -d: "@file ...
// carriage returns and newlines will be stripped out"; nothing else is
// changed), not text repaired to UTF-8 (U+FFFD on the wire).
Deno.test({
  name: "review: cli -d @file sends the file's bytes, not UTF-8-repaired text",
  async fn() {
    await using server = routed(() => ok("k"));
    const path = await Deno.makeTempFile();
    try {
      await Deno.writeFile(path, new Uint8Array([0x61, 0x3d, 0xff, 0xfe]));
      assert.equal(
        await main(
          ["-d", `@${path}`, `http://127.0.0.1:${server.port}/`],
          capture().io,
        ),
        0,
      );
      assert.deepEqual([...server.requests[0]!.body], [0x61, 0x3d, 0xff, 0xfe]);
    } finally {
      await Deno.remove(path);
    }
  },
});

// ---------------------------------------------------------------------------
// TLS handshake, queueing, duplicate fields, CLI data files
// ---------------------------------------------------------------------------

// curl's --connect-timeout and Go's Transport.TLSHandshakeTimeout cover the
// TLS handshake: a server that never answers the ClientHello must end with
// a named timeout (ConnectTimeout), not hold the request for ever.
Deno.test({
  name: "review: connectTimeoutMs covers the TLS handshake",
  async fn() {
    await using server = cannedServer(async (c) => {
      await c.readBytes(1 << 20);
    });
    using pool = new Pool({ connectTimeoutMs: 100 });
    await assert.rejects(
      bounded(request(`https://127.0.0.1:${server.port}/`, { pool }), 1000),
      (e) => isNamed(e),
    );
  },
});

// README: pool.close() makes "requests in flight fail", a request in a
// stalled TLS handshake included.
Deno.test({
  name: "review: pool.close() fails a request in a stalled TLS handshake",
  async fn() {
    await using server = cannedServer(async (c) => {
      await c.readBytes(1 << 20);
    });
    const pool = new Pool();
    const pending = request(`https://127.0.0.1:${server.port}/`, { pool });
    pending.catch(() => {});
    await sleep(50);
    pool.close();
    await assert.rejects(bounded(pending, 1000), (e) => isNamed(e));
  },
});

// Fetch: aborting a request still waiting for a pooled connection rejects
// with the signal's reason and leaves the queue.
Deno.test("review: aborting a request queued for a connection", async () => {
  await using server = cannedServer(async (c) => {
    const r = await c.readRequest();
    if (r === null) return;
    await sleep(200);
    await c.write(ok("first"));
    await answerEach(ok("next"))(c);
  });
  using pool = new Pool({ maxConnectionsPerOrigin: 1 });
  const base = `http://127.0.0.1:${server.port}`;
  const first = request(base, { pool });
  const controller = new AbortController();
  const reason = new Error("queued abort");
  const queued = request(base, { pool, signal: controller.signal });
  await sleep(20);
  assert.equal(pool.stats.waiting, 1);
  controller.abort(reason);
  await assert.rejects(bounded(queued), (e) => e === reason);
  assert.equal(pool.stats.waiting, 0);
  assert.equal(await (await bounded(first)).text(), "first");
  assert.equal(await (await bounded(request(base, { pool }))).text(), "next");
  assert.equal(server.requests.length, 2);
});

// Location is a singleton field (RFC 9110 §10.2.2, §5.3: only list-based
// fields may be combined with ","). Two Location lines: Chrome fails with
// ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION, Go follows the first (Header.Get).
Deno.test({
  name: "review: two Location fields are an error or the first is followed",
  async fn() {
    await using server = routed((r) =>
      pathOf(r) === "/"
        ? "HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"
        : ok(pathOf(r))
    );
    using pool = new Pool();
    try {
      assert.equal(
        await (await bounded(
          request(`http://127.0.0.1:${server.port}/`, {
            pool,
            redirect: "follow",
          }),
        )).text(),
        "/a",
      );
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
    }
    for (const r of server.requests) assert.match(r.line, /^GET \/a? HTTP/);
  },
});

// Fetch step 9 of HTTP-redirect fetch: a 307/308 with a body whose source
// is a stream (cannot be sent again) is a network error, not a hang.
Deno.test("review: a 307 after a streamed body is a named error", async () => {
  await using server = routed((r) =>
    pathOf(r) === "/" ? redirect(307, "/b") : ok("b")
  );
  using pool = new Pool();
  await assert.rejects(
    bounded(request(`http://127.0.0.1:${server.port}/`, {
      pool,
      method: "POST",
      redirect: "follow",
      body: ReadableStream.from([new TextEncoder().encode("xyz")]),
    })),
    HTTPException,
  );
  assert.equal(server.requests.length, 1);
  assert.equal(text(server.requests[0]!.body), "xyz");
});

// curl man page, -d @file: "carriage returns and newlines will be stripped
// out"; curl -d @f with "a=1\r\nb=2\n" sends "a=1b=2".
Deno.test({
  name: "review: cli -d @file strips CR and LF like curl",
  async fn() {
    await using server = routed(() => ok("k"));
    const path = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(path, "a=1\r\nb=2\n");
      assert.equal(
        await main(
          ["-d", `@${path}`, `http://127.0.0.1:${server.port}/`],
          capture().io,
        ),
        0,
      );
      assert.equal(text(server.requests[0]!.body), "a=1b=2");
    } finally {
      await Deno.remove(path);
    }
  },
});

// Fetch: an https: → http: redirect is another origin (scheme differs), so
// Authorization is dropped; curl and Go likewise.
Deno.test("review: an https to http redirect drops credentials", async () => {
  const tls = await testCertificate();
  if (tls === null) return;
  await using plain = routed(() => ok("plain"));
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: tls.cert,
    key: tls.key,
  });
  const serving = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      await conn.read(buf).catch(() => null);
      await conn.write(new TextEncoder().encode(
        redirect(302, `http://127.0.0.1:${plain.port}/down`).replace(
          "\r\n\r\n",
          "\r\nConnection: close\r\n\r\n",
        ),
      )).catch(() => {});
      conn.close();
    }
  })().catch(() => {});
  try {
    using pool = new Pool({ caCerts: [tls.cert] });
    const response = await bounded(request(
      `https://localhost:${listener.addr.port}/`,
      {
        pool,
        redirect: "follow",
        headers: { Authorization: "Bearer secret", Cookie: "a=secret" },
      },
    ));
    assert.equal(await response.text(), "plain");
    assert.equal(response.url, `http://127.0.0.1:${plain.port}/down`);
    assert.ok(!plain.requests[0]!.head.includes("secret"));
  } finally {
    listener.close();
    await serving;
  }
});

// An abort after the exchange finished must not close the kept-alive
// connection (the listener is gone once the body is read).
Deno.test("review: aborting after the body was read keeps the connection", async () => {
  await using server = routed(() => ok("x".repeat(40_000)));
  using pool = new Pool();
  const url = `http://127.0.0.1:${server.port}/`;
  for (let i = 0; i < 3; i++) {
    const controller = new AbortController();
    const response = await bounded(
      request(url, { pool, signal: controller.signal }),
    );
    assert.equal((await response.text()).length, 40_000);
    controller.abort();
  }
  assert.equal(server.connections, 1);
});

// curl's -m/--max-time (h1's --timeout) is exit 28 whatever stage stalls,
// including the TLS handshake.
Deno.test({
  name: "review: cli --timeout during a stalled TLS handshake is exit 28",
  async fn() {
    await using server = cannedServer(async (c) => {
      await c.readBytes(1 << 20);
    });
    assert.equal(
      await bounded(
        main(
          ["--timeout", "0.1", `https://127.0.0.1:${server.port}/`],
          capture().io,
        ),
        1000,
      ),
      EXIT_CODES.timeout,
    );
  },
});

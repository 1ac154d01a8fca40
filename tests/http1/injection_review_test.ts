/**
 * Review probes: no public API may let application text put CR, LF, NUL or
 * other framing-breaking bytes into a message head (RFC 9110 §5.5, RFC 9112
 * §3, §4, §5). Refusals must be errors, never a silently changed head.
 *
 * "Fixed bug:" comments say what h1 sent before the fix each test holds.
 */

import assert from "node:assert/strict";
import {
  serializeRequestHead,
  serializeResponseHead,
} from "../../http1/serializer.ts";
import { encodeLastChunk } from "../../http1/chunked.ts";
import type { HttpVersion } from "../../http1/events.ts";
import { serve } from "../../server/serve.ts";
import { BaseHTTPRequestHandler } from "../../server/request_handler.ts";
import { Router } from "../../server/router.ts";
import { resolveStatic } from "../../server/static.ts";
import { HTTPConnection } from "../../client/http_connection.ts";
import { InvalidURL } from "../../client/errors.ts";
import { Pool } from "../../client/pool.ts";
import { request } from "../../client/request.ts";
import { main as cliMain } from "../../client/cli.ts";
import { withServer } from "../server/_python_face.ts";

const dec = (b: Uint8Array): string => {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
};

// Reads from `conn` until EOF, `stop` matches, or the deadline.
async function readAll(
  conn: Deno.Conn,
  stop: (text: string) => boolean = () => false,
  ms = 800,
): Promise<Uint8Array> {
  const parts: number[] = [];
  const deadline = Date.now() + ms;
  const buf = new Uint8Array(65536);
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"t">((r) => {
        timer = setTimeout(() => r("t"), deadline - Date.now());
      }),
    ]);
    clearTimeout(timer);
    if (n === "t" || n === null) break;
    for (let i = 0; i < n; i++) parts.push(buf[i]!);
    if (stop(dec(Uint8Array.from(parts)))) break;
  }
  return Uint8Array.from(parts);
}

// The raw response bytes a serve() handler produces for one GET.
async function serveBytes(
  handler: () => Response | Promise<Response>,
): Promise<string> {
  const server = serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    handler,
  );
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    try {
      await conn.write(
        new TextEncoder().encode(
          "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        ),
      );
      return dec(await readAll(conn));
    } finally {
      conn.close();
    }
  } finally {
    await server.shutdown();
  }
}

// A raw server that records the first head a client sends, then answers
// an empty 200 and closes.
function captureServer(): {
  port: number;
  received: () => Promise<string>;
  close: () => void;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const got = (async () => {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch {
      return "";
    }
    try {
      const bytes = await readAll(conn, (t) => t.includes("\r\n\r\n"), 600);
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
      ).catch(() => {});
      return dec(bytes);
    } finally {
      conn.close();
    }
  })();
  let closed = false;
  const close = () => {
    if (!closed) listener.close();
    closed = true;
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received: async () => {
      const timer = setTimeout(close, 700);
      const text = await got;
      clearTimeout(timer);
      close();
      return text;
    },
    close,
  };
}

const BAD_VALUES = [
  "a\r\nSet-Cookie: x=1",
  "a\nb",
  "a\rb",
  "a\0b",
  "a\x01b",
  "a\x7fb",
  "a\x0bb",
];

// ---------------------------------------------------------------- http1 core

Deno.test("serializer: bad field values and names are TypeErrors", () => {
  for (const v of BAD_VALUES) {
    assert.throws(
      () => serializeRequestHead("GET", "/", [["X", v]]),
      TypeError,
    );
    assert.throws(() => serializeResponseHead(200, [["X", v]]), TypeError);
    assert.throws(() => encodeLastChunk([["X", v]]), TypeError);
  }
  for (const n of ["X:Y", "X Y", "X\r\nY", "", "X\0", "é", "X\t"]) {
    assert.throws(
      () => serializeRequestHead("GET", "/", [[n, "v"]]),
      TypeError,
    );
    assert.throws(() => serializeResponseHead(200, [[n, "v"]]), TypeError);
    assert.throws(() => encodeLastChunk([[n, "v"]]), TypeError);
  }
});

Deno.test("serializer: method and request-target are checked", () => {
  for (const m of ["G ET", "GET\r\n", "", "GÉT", "GET\0", "G€T"]) {
    assert.throws(() => serializeRequestHead(m, "/", []), TypeError);
  }
  for (const t of ["/a b", "/a\r\nX: y", "/a\0", "/é", "/€", "", "/a\tb"]) {
    assert.throws(() => serializeRequestHead("GET", t, []), TypeError);
  }
});

// Fixed bug: "#" is not allowed in a request-target (RFC 9112 §3.2: origin-form is
// absolute-path ["?" query]; RFC 3986 excludes "#" from both), yet
// serializeRequestHead("GET", "/a#b", []) sends "GET /a#b HTTP/1.1".
Deno.test({
  name: "serializer: a fragment is not sent in the request-target",
  fn() {
    assert.throws(() => serializeRequestHead("GET", "/a#b", []), TypeError);
  },
});

Deno.test("serializer: reason phrase, status and Latin-1 text", () => {
  for (const r of ["OK\r\nX: y", "OK\n", "OK\0", "OK\x01", "OK\x7f", "€"]) {
    assert.throws(
      () => serializeResponseHead(200, [], { reason: r }),
      TypeError,
    );
  }
  for (const s of [99, 1000, -1, 200.5, NaN]) {
    assert.throws(() => serializeResponseHead(s, []), RangeError);
  }
  // "é" is obs-text: sent as the single byte 0xE9; "€" is refused.
  assert.equal(
    dec(serializeRequestHead("GET", "/", [["X", "é"]])),
    "GET / HTTP/1.1\r\nX: \xe9\r\n\r\n",
  );
  assert.equal(
    dec(serializeResponseHead(200, [["X", "é"]], { reason: "é" })),
    "HTTP/1.1 200 \xe9\r\nX: \xe9\r\n\r\n",
  );
  assert.throws(
    () => serializeRequestHead("GET", "/", [["X", "€"]]),
    TypeError,
  );
  assert.throws(() => serializeResponseHead(200, [["X", "€"]]), TypeError);
  // A long value goes out whole.
  const long = "v".repeat(100_000);
  assert.ok(dec(serializeResponseHead(200, [["X", long]])).includes(long));
});

// Fixed bug: values are passed through String.prototype.trim(), which strips CR,
// LF, VT, FF and U+00A0 (not just OWS = SP/HTAB). serializeRequestHead("GET",
// "/", [["X", "a\r\n"]]) sends "X: a" (CRLF silently dropped, no error), and
// [["X", "\xa0a\xa0"]] sends "X: a" (valid obs-text silently removed). Same
// in serializeResponseHead, encodeLastChunk, HTTPConnection.putheader and
// the client heads (client/_head.ts). They should throw a TypeError for the
// controls and keep obs-text.
Deno.test({
  name: "serializer: trailing CR/LF/VT is refused, not silently trimmed",
  fn() {
    for (const v of ["a\r\n", "\r\na", "a\n", "a\x0b", "a\x0c"]) {
      assert.throws(
        () => serializeRequestHead("GET", "/", [["X", v]]),
        TypeError,
      );
      assert.throws(() => serializeResponseHead(200, [["X", v]]), TypeError);
      assert.throws(() => encodeLastChunk([["X", v]]), TypeError);
    }
    assert.equal(
      dec(serializeResponseHead(200, [["X", "\xa0a\xa0"]])),
      "HTTP/1.1 200 OK\r\nX: \xa0a\xa0\r\n\r\n",
    );
  },
});

// Fixed bug: options.version is written unchecked:
// serializeResponseHead(200, [], { version: "HTTP/1.1\r\nX: y" }) and
// serializeRequestHead("GET", "/", [], "HTTP/1.1\r\nX: y") put the CRLF in the
// start line. Only a cast gets past the type, but JS callers have none.
Deno.test({
  name: "serializer: the version is checked at run time",
  fn() {
    const bad = "HTTP/1.1\r\nX: y" as HttpVersion;
    assert.throws(
      () => serializeResponseHead(200, [], { version: bad }),
      TypeError,
    );
    assert.throws(() => serializeRequestHead("GET", "/", [], bad), TypeError);
  },
});

// ------------------------------------------------------------------ serve()

Deno.test("serve: Latin-1 header values and statusText go out as one byte", async () => {
  const text = await serveBytes(() =>
    new Response("x", {
      status: 200,
      statusText: "\xe9",
      headers: { "x-a": "\xe9" },
    })
  );
  assert.match(text, /^HTTP\/1\.1 200 \xe9\r\n/);
  assert.match(text, /\r\nx-a: \xe9\r\n/);
});

// Fixed bug: Deno's Headers refuses only CR, LF and NUL; serve() trusts it and
// writes other controls straight into the head. A handler returning
// new Response("x", { headers: { "x-a": "a\x01b" } }) (also "\x7f", "\x0b")
// puts "x-a: a\x01b\r\n" on the wire. RFC 9110 §5.5 excludes them from a
// field-value: the response should fail (500 / connection closed), as
// send_header() and serializeResponseHead() do.
Deno.test({
  name: "serve: control characters in Response headers never reach the wire",
  async fn() {
    for (const v of ["a\x01b", "a\x7fb", "a\x0bb"]) {
      const text = await serveBytes(() =>
        new Response("x", { headers: { "x-a": v } })
      );
      assert.ok(!text.includes(v), JSON.stringify(text));
      // Refused before a byte went out: onError's 500 answers instead.
      assert.match(text, /^HTTP\/1\.1 500 /);
    }
  },
});

Deno.test("serve: control characters in a streamed Response's headers never reach the wire either", async () => {
  // The streamed path builds its head asynchronously; the refusal must still
  // come before a byte goes out and end in onError's 500.
  const text = await serveBytes(() =>
    new Response(ReadableStream.from([new TextEncoder().encode("x")]), {
      headers: { "x-a": "a\x01b" },
    })
  );
  assert.ok(!text.includes("a\x01b"), JSON.stringify(text));
  assert.match(text, /^HTTP\/1\.1 500 /);
});

// ------------------------------------------------ BaseHTTPRequestHandler

async function handlerProbe(
  act: (h: BaseHTTPRequestHandler) => void,
): Promise<{ error: unknown; wire: string }> {
  let error: unknown = null;
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      try {
        act(this);
      } catch (e) {
        error = e;
      }
      // Answer cleanly whatever happened above.
      this.close_connection = true;
      this.wfile.write(
        new TextEncoder().encode(
          "HTTP/1.0 204 No Content\r\n\r\n",
        ),
      );
    }
    override log_message(): void {}
  }
  let wire = "";
  await withServer(Handler, async ({ port }) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(
        new TextEncoder().encode("GET / HTTP/1.0\r\nHost: a\r\n\r\n"),
      );
      wire = dec(await readAll(conn));
    } finally {
      conn.close();
    }
  });
  return { error, wire };
}

Deno.test("request handler: send_header and CR/LF reason phrases are refused", async () => {
  for (const v of BAD_VALUES) {
    const { error } = await handlerProbe((h) => h.send_header("X", v));
    assert.ok(
      error instanceof TypeError,
      `send_header value ${JSON.stringify(v)}`,
    );
  }
  for (const n of ["X:Y", "X Y", "X\r\n"]) {
    const { error } = await handlerProbe((h) => h.send_header(n, "v"));
    assert.ok(
      error instanceof TypeError,
      `send_header name ${JSON.stringify(n)}`,
    );
  }
  for (const m of ["OK\r\nX: y", "OK\n", "€"]) {
    const r1 = await handlerProbe((h) => h.send_response(200, m));
    assert.ok(r1.error instanceof TypeError, JSON.stringify(m));
    const r2 = await handlerProbe((h) => h.send_error(400, m));
    assert.ok(r2.error instanceof TypeError, JSON.stringify(m));
    assert.ok(!r2.wire.includes("X: y"));
  }
  // The message is HTML-escaped in the error page body.
  const { wire } = await handlerProbe((h) => h.send_error(400, "<b>&"));
  assert.match(wire, /<p>Message: &lt;b&gt;&amp;\.<\/p>/);
});

// Fixed bug: send_response_only() checks only CR/LF and Latin-1:
// send_response(200, "OK\0") + end_headers() writes "HTTP/1.0 200 OK\0\r\n",
// send_error(400, "a\x01b") writes "HTTP/1.0 400 a\x01b\r\n" (NUL / other
// controls in the status line; RFC 9112 §4 reason-phrase = *( HTAB / SP /
// VCHAR / obs-text )). It should throw a TypeError like statusLine() does.
Deno.test({
  name: "request handler: NUL and controls in the reason phrase are refused",
  async fn() {
    for (const m of ["OK\0", "OK\x01", "OK\x7f"]) {
      const r1 = await handlerProbe((h) => {
        h.send_response(200, m);
        h.end_headers();
      });
      assert.ok(r1.error instanceof TypeError, JSON.stringify(m));
      assert.ok(!r1.wire.includes(m));
      const r2 = await handlerProbe((h) => h.send_error(400, m));
      assert.ok(r2.error instanceof TypeError, JSON.stringify(m));
      assert.ok(!r2.wire.includes(m));
    }
  },
});

// Fixed bug: send_response_only() only checks Number.isInteger(code):
// send_response(1000) / send_response(-1) / send_response(7) write
// "HTTP/1.0 1000 \r\n", "HTTP/1.0 -1 \r\n", "HTTP/1.0 7 \r\n" — not a 3DIGIT
// status-code (RFC 9112 §4). Should be a RangeError as statusLine() throws.
Deno.test({
  name: "request handler: status codes outside 100..999 are refused",
  async fn() {
    for (const code of [1000, -1, 7]) {
      const { error, wire } = await handlerProbe((h) => {
        h.send_response(code);
        h.end_headers();
      });
      assert.ok(error instanceof RangeError, String(code));
      assert.ok(!wire.includes(` ${code} `), JSON.stringify(wire));
    }
  },
});

// Fixed bug: protocol_version (a public attribute) is written into the status line
// unchecked: protocol_version = "HTTP/1.0\r\nX-Injected: 1" then
// send_response(200) sends "HTTP/1.0\r\nX-Injected: 1 200 OK\r\n".
Deno.test({
  name: "request handler: protocol_version is checked",
  async fn() {
    const { error, wire } = await handlerProbe((h) => {
      h.protocol_version = "HTTP/1.0\r\nX-Injected: 1";
      h.send_response(200);
      h.end_headers();
    });
    assert.ok(error instanceof TypeError);
    assert.ok(!wire.includes("\r\nX-Injected: 1"));
  },
});

// ------------------------------------------------------- router and static

Deno.test("router: trailing-slash redirect keeps CR/LF percent-encoded", async () => {
  const app = new Router({ trailingSlash: "redirect" });
  app.get("/:name/", () => new Response("ok"));
  const res = await app.fetch(
    new Request("http://h/a%0d%0aSet-Cookie:%20x=1?q=%0a"),
  );
  assert.equal(res.status, 308);
  const location = res.headers.get("location")!;
  assert.equal(location, "/a%0d%0aSet-Cookie:%20x=1/?q=%0a");
  await res.body?.cancel();
});

Deno.test("static: 301 Location keeps the target's percent-encoding", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const res = await resolveStatic(
    {
      method: "GET",
      target: "/x%0d%0aSet-Cookie:%20a?q=%0d%0a",
      header: () => null,
    },
    { fsRoot: root, translatePath: () => root + "http1" },
  );
  assert.equal(res.status, 301);
  const location = res.headers.find(([n]) => n === "Location")?.[1];
  assert.equal(location, "/x%0d%0aSet-Cookie:%20a/?q=%0d%0a");
});

// ------------------------------------------------------------------ client

Deno.test("HTTPConnection: method, URL and headers are checked before sending", async () => {
  const cap = captureServer();
  const c = new HTTPConnection("127.0.0.1", cap.port);
  try {
    for (const m of ["G ET", "GET\r\nX: y", ""]) {
      assert.throws(() => c.putrequest(m, "/"), TypeError);
    }
    for (const u of ["/a b", "/a\r\nX: y", "/a\0", "/a\tb"]) {
      assert.throws(() => c.putrequest("GET", u), InvalidURL);
    }
    c.putrequest("GET", "/");
    for (const v of BAD_VALUES) {
      assert.throws(() => c.putheader("X", v), TypeError);
    }
    for (const n of ["X:Y", "X Y", "X\r\n"]) {
      assert.throws(() => c.putheader(n, "v"), TypeError);
    }
    assert.throws(() => c.putheader("X", "€"), TypeError);
    c.putheader("X", "é");
    await c.endheaders();
    const text = await cap.received();
    assert.match(text, /^GET \/ HTTP\/1\.1\r\n/);
    assert.match(text, /\r\nX: \xe9\r\n/);
    assert.ok(!text.includes("Set-Cookie"));
  } finally {
    c.close();
    cap.close();
  }
});

Deno.test("HTTPConnection.request: bad headers reject and nothing is sent", async () => {
  const cap = captureServer();
  const c = new HTTPConnection("127.0.0.1", cap.port);
  try {
    await assert.rejects(
      () => c.request("GET", "/", null, { X: "a\r\nSet-Cookie: x" }),
      TypeError,
    );
    await assert.rejects(() => c.request("GET", "/a b"), InvalidURL);
    await assert.rejects(() => c.request("G T", "/"), TypeError);
    assert.equal(await cap.received(), "");
  } finally {
    c.close();
    cap.close();
  }
});

// Fixed bug: HTTPConnection.putheader("X", "a\r\n") (and request(..., { X: "a\r\n" }))
// is accepted: the value is trimmed with String.prototype.trim() before the
// check, and "X: a" is sent. It should be a TypeError like "a\r\nb".
Deno.test({
  name: "HTTPConnection.putheader: trailing CR/LF is refused",
  fn() {
    const c = new HTTPConnection("127.0.0.1", 9);
    try {
      c.putrequest("GET", "/");
      assert.throws(() => c.putheader("X", "a\r\n"), TypeError);
      assert.throws(() => c.putheader("X", "\na"), TypeError);
    } finally {
      c.close();
    }
  },
});

Deno.test("HTTPConnection.set_tunnel: CR/LF in host or headers never reaches the proxy", async () => {
  for (
    const [host, headers] of [
      ["h\r\nX-Injected: 1", {}],
      ["h", { "Proxy-Authorization": "a\r\nX-Injected: 1" }],
      ["h", { "X Y": "v" }],
    ] as const
  ) {
    const cap = captureServer();
    const c = new HTTPConnection("127.0.0.1", cap.port);
    try {
      let threw: unknown = null;
      try {
        c.set_tunnel(host, 80, headers);
        await c.connect();
      } catch (e) {
        threw = e;
      }
      assert.ok(threw instanceof TypeError, String(threw));
      assert.ok(!(await cap.received()).includes("X-Injected"));
    } finally {
      c.close();
      cap.close();
    }
  }
});

Deno.test("Pool: method, path and headers are checked", async () => {
  const cap = captureServer();
  const pool = new Pool();
  const origin = `http://127.0.0.1:${cap.port}`;
  try {
    for (const path of ["/a b", "/a\r\nX: y", "/é", "/a\0"]) {
      await assert.rejects(() => pool.request(origin, { path }), TypeError);
    }
    for (const method of ["G T", "GET\r\n", ""]) {
      await assert.rejects(
        () => pool.request(origin, { method, path: "/" }),
        TypeError,
      );
    }
    for (const v of BAD_VALUES) {
      await assert.rejects(
        () => pool.request(origin, { headers: { X: v } }),
        TypeError,
      );
    }
    await assert.rejects(
      () => pool.request(origin, { headers: [["X:Y", "v"]] }),
      TypeError,
    );
    assert.equal(await cap.received(), "");
  } finally {
    pool.close();
    cap.close();
  }
});

Deno.test("request(): the target is sent percent-encoded, without fragment", async () => {
  const cap = captureServer();
  const pool = new Pool();
  try {
    const res = await request(
      `http://127.0.0.1:${cap.port}/a b/%0d%0a/\u00e9?q=x y#frag`,
      { pool, headers: { "X-A": "\xe9" } },
    );
    await res.body?.cancel();
    const text = await cap.received();
    assert.match(
      text,
      /^GET \/a%20b\/%0d%0a\/%C3%A9\?q=x%20y HTTP\/1\.1\r\n/,
    );
    assert.match(text, /\r\nX-A: \xe9\r\n/);
    await assert.rejects(
      () => request(`http://127.0.0.1:${cap.port}/`, { pool, method: "G T" }),
      TypeError,
    );
    await assert.rejects(
      () =>
        request(`http://127.0.0.1:${cap.port}/`, {
          pool,
          headers: [["X", "a\rb"]],
        }),
      TypeError,
    );
  } finally {
    pool.close();
    cap.close();
  }
});

Deno.test("cli: -H and -X with CR/LF fail without sending", async () => {
  const sink = { write: (p: Uint8Array) => p.length };
  const io = { stdout: sink, stderr: sink };
  const cap = captureServer();
  try {
    const url = `http://127.0.0.1:${cap.port}/`;
    assert.notEqual(await cliMain(["-H", "X: a\r\nY: b", url], io), 0);
    assert.notEqual(await cliMain(["-H", "X Y: b", url], io), 0);
    assert.notEqual(await cliMain(["-X", "GET /x HTTP/1.1\r\nY:", url], io), 0);
    assert.equal(await cap.received(), "");
  } finally {
    cap.close();
  }
});

// Differential review of h1's fetch-like request() and Pool (client/request.ts,
// client/pool.ts, client/_transport.ts, client/_body.ts) against Deno's
// built-in fetch, used here ONLY as the reference. A canned raw TCP server
// (tests/client/_canned_server.ts, 127.0.0.1, port 0) records what each
// client sends and replies with scripted bytes; the same call is made with
// fetch (on its own Deno.HttpClient, closed per test) and with request(),
// and what a caller sees is compared: status, ok, headers (order, combined
// duplicates, getSetCookie), redirected, url, body by text(), arrayBuffer()
// and a reader, and the failure when the call or the body read fails.
//
// Deliberate differences (README "Client", "Pool and request()") are not
// bugs: redirects off by default, h1's named errors instead of TypeError,
// user:pass@ as Basic credentials, no Accept / User-Agent /
// Accept-Encoding of h1's own, strict framing (CL beside TE refused).
// Deno's fetch itself reports the canonical reason phrase as statusText
// and refuses HTTP/1.2; h1 follows the Fetch spec / RFC 9112 there.
//
// Tests marked `ignore: true` with a `// BUG:` comment found a bug.

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { request } from "../../client/request.ts";
import { Pool } from "../../client/pool.ts";
import {
  HTTPException,
  IncompleteRead,
  InvalidURL,
  TooManyRedirects,
} from "../../client/errors.ts";
import {
  bounded,
  type CannedServer,
  cannedServer,
  type SeenRequest,
  type ServerConn,
  sleep,
} from "./_canned_server.ts";

// ---------------------------------------------------------------------------
// Helpers

type Reply = string | Uint8Array | null;

/** A server, a pool and a fetch client for one test. */
class Fixture implements AsyncDisposable {
  readonly server: CannedServer;
  readonly pool = new Pool();
  readonly client = Deno.createHttpClient({});

  constructor(script: (c: ServerConn, index: number) => Promise<void>) {
    this.server = cannedServer(script);
  }

  get base(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(this.base + path, { ...init, client: this.client });
  }

  h1(path: string, init: Parameters<typeof request>[1] = {}) {
    return request(this.base + path, { ...init, pool: this.pool });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.pool.close();
    this.client.close();
    await this.server.close();
  }
}

/** Answers each request on a connection with reply(request); null closes. */
function replying(
  reply: (r: SeenRequest, index: number) => Reply,
  { close = false } = {},
): (c: ServerConn) => Promise<void> {
  let n = 0;
  return async (c) => {
    for (;;) {
      const seen = await c.readRequest();
      if (seen === null) return;
      const out = reply(seen, n++);
      if (out === null) return;
      await c.write(out);
      if (close) return;
    }
  };
}

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) {
    s += String.fromCharCode(...b.subarray(i, i + 4096));
  }
  return s;
};
const bytesOf = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const utf8 = (b: Uint8Array) => new TextDecoder().decode(b);
const pathOf = (r: SeenRequest) => r.line.split(" ")[1]!;

/** What a caller sees of a Response (body read as bytes, as Latin-1). */
interface View {
  status: number;
  ok: boolean;
  redirected: boolean;
  url: string;
  headers: [string, string][];
  setCookie: string[];
  nullBody: boolean;
  body: string;
}

async function view(
  r: Response,
  how: "text" | "arrayBuffer" | "reader" = "arrayBuffer",
): Promise<View> {
  const nullBody = r.body === null;
  let body: string;
  if (how === "text") body = await r.text();
  else if (how === "arrayBuffer") {
    body = latin1(new Uint8Array(await r.arrayBuffer()));
  } else {
    body = "";
    if (r.body !== null) {
      const reader = r.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        body += latin1(value);
      }
    }
  }
  return {
    status: r.status,
    ok: r.ok,
    redirected: r.redirected,
    url: r.url,
    headers: [...r.headers],
    setCookie: r.headers.getSetCookie(),
    nullBody,
    body,
  };
}

// Fetch's own request fields, which h1 does not add (README); the rest of
// what the server sees must be the same.
const FETCH_DEFAULTS = new Set([
  "accept",
  "accept-language",
  "user-agent",
  "accept-encoding",
]);

/** The fields a server saw: lower-case names, sorted, fetch's defaults out. */
function fieldsSeen(r: SeenRequest, keep: Set<string> = new Set()) {
  const lines = r.head.split("\r\n").slice(1).filter((l) => l !== "");
  return lines
    .map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as const;
    })
    .filter(([n]) => !FETCH_DEFAULTS.has(n) || keep.has(n))
    .map(([n, v]) => `${n}: ${v}`)
    .sort();
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

// ---------------------------------------------------------------------------
// Responses

// RFC 9110 §5.3: repeated fields combine with ", " (Set-Cookie excepted,
// RFC 6265 §3 / Fetch getSetCookie()); Fetch's Headers iterate sorted and
// lower-cased. Obs-text bytes (RFC 9110 §5.5) are kept as Latin-1 chars in
// both. Whitespace around a value is not part of it (RFC 9110 §5.5).
Deno.test("fetch diff: status, headers, duplicates and Set-Cookie match fetch", async () => {
  const head = "HTTP/1.1 201 Created\r\n" +
    "X-Dup: 1\r\nx-dup: 2\r\nX-DUP:  3 \t\r\n" +
    "Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2, c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT\r\n" +
    "X-Latin: caf\xe9 \xff\r\nX-Empty:\r\nZ-Last: z\r\nA-First: a\r\n" +
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello";
  await using fx = new Fixture(replying(() => head));
  const a = await view(await fx.fetch("/p?q=1"), "text");
  const b = await view(await fx.h1("/p?q=1"), "text");
  assert.deepEqual(b, a);
  assert.equal(b.status, 201);
  assert.deepEqual(b.setCookie, [
    "a=1; Path=/",
    "b=2, c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
  ]);
  assert.deepEqual(
    b.headers.find(([n]) => n === "x-dup"),
    ["x-dup", "1, 2, 3"],
  );
  assert.deepEqual(
    b.headers.find(([n]) => n === "x-latin"),
    ["x-latin", "caf\xe9 \xff"],
  );
});

// RFC 9112 §6.3: Content-Length, chunked (extensions and trailers
// ignored by both, §7.1.1 / §7.1.2), close-delimited (HTTP/1.1 without
// framing, HTTP/1.0) bodies; the bytes after a Content-Length body are no
// part of it.
Deno.test("fetch diff: every framing gives the same body via text(), arrayBuffer() and a reader", async () => {
  const binary = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i))
    .join("");
  const replies: Record<string, string> = {
    "/length": `HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n${binary}`,
    "/extra":
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhiEXTRA",
    "/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      '0002;ext=1;q="a b"\r\nhi\r\nA\r\n0123456789\r\n' +
      `100\r\n${binary}\r\n0\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n`,
    "/close": `HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nclose-delimited${binary}`,
    "/http10": "HTTP/1.0 200 OK\r\n\r\nten",
    "/identity": "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nident",
    "/empty": "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  };
  await using fx = new Fixture(async (c) => {
    const seen = await c.readRequest();
    if (seen !== null) await c.write(replies[pathOf(seen)]!);
  });
  for (const path of Object.keys(replies)) {
    for (const how of ["text", "arrayBuffer", "reader"] as const) {
      const a = await view(await fx.fetch(path), how);
      const b = await view(await fx.h1(path), how);
      assert.deepEqual(b, a, `${path} ${how}`);
    }
  }
});

Deno.test("fetch diff: a 1 MiB body in random pieces arrives whole in both", async () => {
  const body = new Uint8Array(1 << 20);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
  await using fx = new Fixture(async (c) => {
    const seen = await c.readRequest();
    if (seen === null) return;
    const chunked = pathOf(seen) === "/chunked";
    await c.write(
      chunked
        ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        : "HTTP/1.1 200 OK\r\n\r\n",
    );
    for (let at = 0; at < body.length;) {
      const n = Math.min(body.length - at, 1 + ((at * 31) % 40000));
      const piece = body.subarray(at, at + n);
      if (chunked) await c.write(`${n.toString(16)}\r\n`);
      await c.write(piece);
      if (chunked) await c.write("\r\n");
      at += n;
    }
    if (chunked) await c.write("0\r\n\r\n");
  });
  for (const path of ["/chunked", "/close"]) {
    const a = new Uint8Array(await (await fx.fetch(path)).arrayBuffer());
    const b = new Uint8Array(await (await fx.h1(path)).arrayBuffer());
    assert.deepEqual(a, body, path);
    assert.deepEqual(b, body, path);
  }
});

// RFC 9112 §6.3: HEAD, 204 and 304 responses end at the head; Fetch: 204,
// 205 and 304 are null body statuses (Response.body === null), and so is
// any response to HEAD.
Deno.test("fetch diff: HEAD, 204, 205 and 304 have a null body in both, bytes sent anyway ignored", async () => {
  const replies: Record<string, string> = {
    "/204":
      "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    "/205":
      "HTTP/1.1 205 Reset Content\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    "/304":
      'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 5\r\nConnection: close\r\n\r\n',
    "/head":
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
  };
  await using fx = new Fixture(async (c) => {
    const seen = await c.readRequest();
    if (seen !== null) await c.write(replies[pathOf(seen)]!);
  });
  for (const path of Object.keys(replies)) {
    const method = path === "/head" ? "HEAD" : "GET";
    const a = await view(await fx.fetch(path, { method }));
    const b = await view(await fx.h1(path, { method }));
    assert.equal(b.nullBody, true, path);
    assert.equal(b.body, "", path);
    assert.deepEqual(b, a, path);
  }
});

// RFC 9110 §15.2: a client skips 1xx interim responses it does not expect.
Deno.test("fetch diff: 100 and 103 before the final response are skipped in both", async () => {
  await using fx = new Fixture(
    replying(() =>
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    ),
  );
  const a = await view(await fx.fetch("/"));
  const b = await view(await fx.h1("/"));
  assert.deepEqual(b, a);
  assert.equal(b.body, "hi");
  assert.ok(!b.headers.some(([n]) => n === "link"));
});

// RFC 9112 §8: a message cut short is incomplete; both clients fail the
// body read after handing out what came (fetch: TypeError; h1:
// IncompleteRead, README error table), never a short body as a success.
Deno.test("fetch diff: a short Content-Length or cut chunked body fails the read in both", async () => {
  const replies: Record<string, string> = {
    "/short": "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhi",
    "/cut": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n",
    "/midchunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhi",
  };
  await using fx = new Fixture(async (c) => {
    const seen = await c.readRequest();
    if (seen !== null) await c.write(replies[pathOf(seen)]!);
  });
  for (const path of Object.keys(replies)) {
    for (const [who, call] of [["fetch", fx.fetch], ["h1", fx.h1]] as const) {
      const r = await call.call(fx, path);
      assert.equal(r.status, 200);
      const reader = r.body!.getReader();
      let got = "";
      const error = await rejection((async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          got += latin1(value);
        }
      })());
      assert.equal(got, "hi", `${who} ${path}`);
      if (who === "fetch") assert.ok(error instanceof TypeError, path);
      else assert.ok(error instanceof IncompleteRead, `${path}: ${error}`);
    }
  }
});

// RFC 9112 §6.3 item 5 (differing Content-Lengths), §5.1 (whitespace
// before the colon): unrecoverable framing errors. Both fail at the call:
// fetch with TypeError, h1 with HTTPException (README). Known difference
// (README): an obs-fold fails fetch too, but h1 unfolds it, as RFC 9112
// §5.2 tells a user agent to (CPython and curl accept it as well).
Deno.test("fetch diff: malformed heads fail the call in both", async () => {
  const replies: Record<string, string> = {
    "/two-cl":
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
    "/plus-cl": "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi",
    "/space": "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 2\r\n\r\nhi",
    "/ctl": "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nhi",
    "/cr": "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nhi",
  };
  await using fx = new Fixture(async (c) => {
    const seen = await c.readRequest();
    if (seen !== null) await c.write(replies[pathOf(seen)]!);
  });
  for (const path of Object.keys(replies)) {
    assert.ok(await rejection(fx.fetch(path)) instanceof TypeError, path);
    const e = await rejection(fx.h1(path));
    assert.ok(e instanceof HTTPException, `${path}: ${e}`);
  }
  await using folding = new Fixture(async (c) => {
    if (await c.readRequest() === null) return;
    await c.write(
      "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nhi",
    );
  });
  assert.ok(await rejection(folding.fetch("/")) instanceof TypeError);
  const unfolded = await folding.h1("/");
  assert.equal(unfolded.headers.get("x-a"), "1 folded");
  assert.equal(await unfolded.text(), "hi");
});

// Fetch, "HTTP-network fetch": statusText is the status message from the
// wire (Deno's fetch reports hyper's canonical phrase instead: "OK" for
// "HTTP/1.1 200 Custom  Reason"). h1 keeps the wire's, trimmed as Python's
// http.client does.
Deno.test("fetch diff: statusText is the reason phrase on the wire", async () => {
  await using fx = new Fixture(
    replying((r) =>
      pathOf(r) === "/none"
        ? "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"
        : "HTTP/1.1 200 Custom  Reason\r\nContent-Length: 0\r\n\r\n"
    ),
  );
  const r = await fx.h1("/");
  await r.body?.cancel();
  assert.equal(r.statusText, "Custom  Reason");
  const none = await fx.h1("/none");
  await none.body?.cancel();
  assert.equal(none.statusText, "");
  const f = await fx.fetch("/");
  await f.body?.cancel();
  assert.equal(f.status, r.status);
});

// Not a bug (README makes no decoding claim): fetch asks for gzip/br and
// decodes a gzip Content-Encoding; request() asks for nothing and returns
// the bytes as sent, Content-Encoding field kept, so a caller can decode.
Deno.test("fetch diff: Content-Encoding is decoded by fetch, left alone by request()", async () => {
  const plain = "hello, compressed world ".repeat(20);
  const coded: Record<string, Uint8Array> = {};
  for (const format of ["gzip"] as const) {
    coded[format] = new Uint8Array(
      await new Response(
        new Blob([plain]).stream().pipeThrough(new CompressionStream(format)),
      ).arrayBuffer(),
    );
  }
  await using fx = new Fixture(async (c) => {
    const seen = await c.readRequest();
    if (seen === null) return;
    const format = pathOf(seen).slice(1);
    await c.write(
      `HTTP/1.1 200 OK\r\nContent-Encoding: ${format}\r\nContent-Length: ${
        coded[format]!.length
      }\r\n\r\n`,
    );
    await c.write(coded[format]!);
  });
  for (const format of ["gzip"]) {
    assert.equal(await (await fx.fetch(`/${format}`)).text(), plain);
    const r = await fx.h1(`/${format}`);
    assert.equal(r.headers.get("content-encoding"), format);
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), coded[format]);
  }
  const h1Requests = fx.server.requests.filter((_, i) => i % 2 === 1);
  for (const r of h1Requests) assert.ok(!/accept-encoding/i.test(r.head));
});

// Fixed bug: fetch's Response.type is "basic" for a same-origin network
// response; request() built its Response with the constructor, type
// "default". Known difference (README): fetch's response headers are
// immutable (guard "immutable", set() throws TypeError); request()'s can be
// changed, since that guard cannot be set from JS.
Deno.test({
  name: "fetch diff: Response.type is basic, as fetch's",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
    );
    const a = await fx.fetch("/");
    const b = await fx.h1("/");
    await a.text();
    await b.text();
    assert.equal(a.type, "basic");
    assert.throws(() => a.headers.set("x", "y"), TypeError);
    assert.equal(b.type, a.type);
    b.headers.set("x", "y");
    assert.equal(b.headers.get("x"), "y");
  },
});

// Known difference (README): a fetch Response body is a byte stream
// (Fetch: "set up with byte reading support"), so `body.getReader({ mode:
// "byob" })` works. request()'s bodies are plain streams, whose chunks may
// be views of the connection's read buffer (a byte stream would detach
// it): getReader({ mode: "byob" }) throws TypeError. Read with the default
// reader, text(), bytes() or for await.
Deno.test({
  name: "fetch diff: the body supports a BYOB reader, as fetch's",
  ignore: true,
  async fn() {
    await using fx = new Fixture(
      replying((r) =>
        pathOf(r) === "/chunked"
          ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
          : "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
      ),
    );
    for (const path of ["/small", "/chunked"]) {
      for (const call of [fx.fetch, fx.h1]) {
        const r = await call.call(fx, path);
        let got: Uint8Array | undefined;
        try {
          const reader = r.body!.getReader({ mode: "byob" });
          got = (await reader.read(new Uint8Array(16))).value;
          reader.releaseLock();
        } finally {
          await r.body!.cancel();
        }
        assert.equal(utf8(got!), "hello", path);
      }
    }
  },
});

// Fixed bug: RFC 9110 §15: "A client that receives a response with an invalid
// status code [outside 100..599] SHOULD process the response as if it had a
// 5xx (Server Error) status code." Deno's fetch returns status 600 / 999
// with its body; request() throws HTTPException "Cannot represent status
// 600 as a Response: use HTTPConnection for protocol upgrades" (a message
// meant for 101) and drops the body. Fix: client/request.ts
// toWebResponse: only refuse 101 (and < 200); for 600-999 build the
// Response with status 500 or define `status`/`ok` on it as url is.
Deno.test({
  name:
    "fetch diff: a status over 599 is a response, as in fetch and RFC 9110 §15",
  async fn() {
    await using fx = new Fixture(
      replying((r) =>
        `HTTP/1.1 ${pathOf(r).slice(1)} Odd\r\nContent-Length: 2\r\n\r\nhi`
      ),
    );
    for (const status of [600, 999]) {
      const a = await fx.fetch(`/${status}`);
      assert.equal(a.status, status);
      assert.equal(await a.text(), "hi");
      const b = await fx.h1(`/${status}`);
      assert.equal(b.ok, false);
      assert.ok(b.status >= 500, String(b.status));
      assert.equal(await b.text(), "hi");
    }
  },
});

// ---------------------------------------------------------------------------
// Redirects

// Fetch, HTTP-redirect fetch step 12: 301/302 after POST and 303 (not
// HEAD) become GET without body or request-body-header fields; 307/308 keep
// method and body, a Blob or URLSearchParams body re-sent with its
// Content-Type. Relative Location resolves against the current URL; the
// Location's fragment never reaches the server, and Response.url has none.
Deno.test("fetch diff: redirect: follow rewrites method and body as fetch does", async () => {
  await using fx = new Fixture(replying((r) => {
    const m = /^\/r(\d+)\/sub(\/.*)$/.exec(pathOf(r));
    return m === null
      ? `HTTP/1.1 200 OK\r\nContent-Length: ${pathOf(r).length}\r\n\r\n${
        pathOf(r)
      }`
      : `HTTP/1.1 ${m[1]} R\r\nLocation: ../../done${
        m[2]
      }#frag\r\nContent-Length: 4\r\n\r\nbody`;
  }));
  const bodies = (): [string, () => BodyInit | undefined][] => [
    ["none", () => undefined],
    ["text", () => "payload"],
    ["blob", () => new Blob(["blob!"], { type: "x/y" })],
    ["form", () => new URLSearchParams({ a: "1 2" })],
  ];
  for (const status of [301, 302, 303, 307, 308]) {
    for (const method of ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"]) {
      for (const [kind, make] of bodies()) {
        if ((method === "HEAD") !== (kind === "none")) continue;
        const path = `/r${status}/sub/${method}?k=${kind}`;
        const init = (): RequestInit => {
          const body = make();
          return {
            method,
            redirect: "follow",
            headers: { "X-Keep": "1", "Content-Language": "en" },
            ...(body === undefined ? {} : { body }),
          };
        };
        const seen: SeenRequest[][] = [];
        const views: View[] = [];
        for (const call of [fx.fetch, fx.h1]) {
          const before = fx.server.requests.length;
          views.push(await view(await call.call(fx, path, init() as never)));
          seen.push(fx.server.requests.slice(before));
        }
        const label = `${method} ${status} ${kind}`;
        assert.deepEqual(views[1], views[0], label);
        assert.equal(seen[1]!.length, 2, label);
        const [fetchDone, h1Done] = [seen[0]![1]!, seen[1]![1]!];
        assert.equal(h1Done.line, fetchDone.line, label);
        assert.equal(latin1(h1Done.body), latin1(fetchDone.body), label);
        assert.equal(
          /\r\ncontent-type:/i.test(h1Done.head),
          /\r\ncontent-type:/i.test(fetchDone.head),
          `${label}\n${h1Done.head}\n${fetchDone.head}`,
        );
        assert.equal(
          /\r\ncontent-language:/i.test(h1Done.head),
          /\r\ncontent-language:/i.test(fetchDone.head),
          label,
        );
      }
    }
  }
});

// redirect: "manual" returns the 3xx itself (Deno's fetch: the real
// response, not an opaque one); "error" fails (fetch: TypeError; h1:
// HTTPException, README). A 300, 304 or a 3xx without Location is
// returned even with "follow". Fetch: 20 redirects, then an error (h1:
// TooManyRedirects).
Deno.test("fetch diff: redirect manual, error, non-redirect 3xx and the limit", async () => {
  await using fx = new Fixture(replying((r) => {
    const p = pathOf(r);
    if (p === "/300") {
      return "HTTP/1.1 300 Multiple\r\nLocation: /x\r\nContent-Length: 2\r\n\r\nmc";
    }
    if (p === "/304") return "HTTP/1.1 304 NM\r\nLocation: /x\r\n\r\n";
    if (p === "/noloc") {
      return "HTTP/1.1 302 Found\r\nContent-Length: 1\r\n\r\nn";
    }
    if (p.startsWith("/loop")) {
      return "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n";
    }
    return "HTTP/1.1 301 Moved\r\nLocation: /elsewhere\r\nContent-Length: 3\r\n\r\nmov";
  }));
  const a = await view(await fx.fetch("/m", { redirect: "manual" }));
  const b = await view(await fx.h1("/m", { redirect: "manual" }));
  assert.deepEqual(b, a);
  assert.equal(b.status, 301);
  assert.equal(b.body, "mov");
  // The default is manual in h1 (README), follow in fetch.
  assert.deepEqual(await view(await fx.h1("/m")), a);

  assert.ok(
    await rejection(fx.fetch("/m", { redirect: "error" })) instanceof TypeError,
  );
  assert.ok(
    await rejection(fx.h1("/m", { redirect: "error" })) instanceof
      HTTPException,
  );
  for (const path of ["/300", "/304", "/noloc"]) {
    const f = await view(await fx.fetch(path, { redirect: "follow" }));
    const h = await view(await fx.h1(path, { redirect: "follow" }));
    if (path === "/noloc") {
      // Fetch, HTTP-redirect fetch step 4: no Location, "return
      // response", body included; Deno's fetch drops the body here.
      assert.equal(h.body, "n");
      assert.deepEqual({ ...h, body: "", nullBody: true }, f, path);
    } else assert.deepEqual(h, f, path);
    assert.equal(h.redirected, false);
  }
  const before = fx.server.requests.length;
  assert.ok(
    await rejection(fx.fetch("/loop", { redirect: "follow" })) instanceof
      TypeError,
  );
  const fetchSent = fx.server.requests.length - before;
  assert.ok(
    await rejection(fx.h1("/loop", { redirect: "follow" })) instanceof
      TooManyRedirects,
  );
  assert.equal(fx.server.requests.length - before - fetchSent, fetchSent);
  assert.equal(fetchSent, 21);
});

// Fixed bug: a same-origin Location with user:pass@ (Fetch, HTTP-network-or-cache
// fetch step "If request's current URL includes credentials": Basic
// credentials from the URL; Deno's fetch sends "Authorization: Basic
// dTpw") is followed by request() with the credentials silently dropped,
// while Response.url still shows them. The README says URL userinfo
// becomes Basic credentials for that origin; on a redirect it does not.
// Fix: client/request.ts request(), at `current = next`: treat next's
// userinfo as the first URL's (add Basic unless Authorization is set, then
// strip it from the URL).
Deno.test({
  name:
    "fetch diff: userinfo in a same-origin Location becomes Basic credentials",
  async fn() {
    let port = 0;
    await using fx = new Fixture(
      replying((r) =>
        pathOf(r) === "/start"
          ? `HTTP/1.1 302 Found\r\nLocation: http://u:p@127.0.0.1:${port}/done\r\nContent-Length: 0\r\n\r\n`
          : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
      ),
    );
    port = fx.server.port;
    await (await fx.fetch("/start", { redirect: "follow" })).text();
    await (await fx.h1("/start", { redirect: "follow" })).text();
    const [, fetchDone, , h1Done] = fx.server.requests;
    assert.match(fetchDone!.head, /\r\nauthorization: Basic dTpw\r\n/i);
    assert.match(h1Done!.head, /\r\nauthorization: Basic dTpw\r\n/i);
  },
});

// ---------------------------------------------------------------------------
// Aborts

// Fetch: an aborted signal rejects with signal.reason (the very object),
// before anything is sent; while waiting for the head with an AbortError
// DOMException (or AbortSignal.timeout's TimeoutError); during the body the
// reader rejects with the reason.
Deno.test("fetch diff: abort before send, during the head and during the body", async () => {
  await using fx = new Fixture(async (c) => {
    for (;;) {
      const seen = await c.readRequest();
      if (seen === null) return;
      if (pathOf(seen) === "/partial") {
        await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhi");
      }
      // "/stall": no answer.
    }
  });
  for (const call of [fx.fetch, fx.h1]) {
    const controller = new AbortController();
    const reason = new Error("mine");
    controller.abort(reason);
    const before = fx.server.connections;
    assert.equal(
      await rejection(call.call(fx, "/stall", { signal: controller.signal })),
      reason,
    );
    assert.equal(fx.server.connections, before, "nothing was sent");
  }
  for (const call of [fx.fetch, fx.h1]) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 50);
    const e = await rejection(
      bounded(call.call(fx, "/stall", { signal: controller.signal })),
    );
    clearTimeout(timer);
    assert.ok(e instanceof DOMException && e.name === "AbortError", `${e}`);
    const t = await rejection(
      bounded(call.call(fx, "/stall", { signal: AbortSignal.timeout(50) })),
    );
    assert.ok(t instanceof DOMException && t.name === "TimeoutError", `${t}`);
  }
  for (const call of [fx.fetch, fx.h1]) {
    const controller = new AbortController();
    const r = await call.call(fx, "/partial", { signal: controller.signal });
    const reader = r.body!.getReader();
    assert.equal(utf8((await reader.read()).value!), "hi");
    const reason = new Error("mid-body");
    const timer = setTimeout(() => controller.abort(reason), 30);
    assert.equal(await rejection(bounded(reader.read())), reason);
    clearTimeout(timer);
  }
});

// Fixed bug: Fetch, "abort fetch": aborting after the response came errors its
// body stream with the reason, so `await response.text()` rejects (Deno's
// fetch: AbortError for a 2-byte body as for a chunked one). request()
// does so for streamed bodies but not for a Content-Length body of at most
// 16 KiB that arrived with the head: it was read eagerly into a Uint8Array
// and text() resolves "hi" after the abort (README: the signal "Aborts the
// whole exchange, body included"). Fix: client/request.ts toWebResponse,
// eager path: when init.signal is set wrap the eager bytes in a stream
// whose pull throws signal.reason once aborted (or skip the eager path).
Deno.test({
  name: "fetch diff: aborting after the head fails a small buffered body too",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
    );
    for (const call of [fx.fetch, fx.h1]) {
      const controller = new AbortController();
      const r = await call.call(fx, "/", { signal: controller.signal });
      await sleep(20);
      controller.abort();
      const e = await rejection(r.text());
      assert.ok(e instanceof DOMException && e.name === "AbortError", `${e}`);
    }
  },
});

// ---------------------------------------------------------------------------
// Requests: what the server sees

// Same request line, fields (fetch's Accept / User-Agent / Accept-Encoding
// defaults aside), framing and body for in-memory and streamed bodies, a
// Headers object with repeated names (combined "1, 2"; Set-Cookie kept
// apart), lower-case standard methods (normalised), a fragment (never
// sent), and a path and query with spaces and non-ASCII (percent-encoded
// by the URL parser in both).
Deno.test("fetch diff: the server sees the same request from both", async () => {
  await using fx = new Fixture(
    replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
  );
  const headers = () =>
    new Headers([
      ["X-A", "1"],
      ["x-a", "2"],
      ["Set-Cookie", "s=1"],
      ["set-cookie", "t=2"],
      ["X-Latin", "caf\xe9"],
      ["X-Space", "  padded  "],
    ]);
  const cases: [string, string, () => RequestInit][] = [
    [
      "bytes",
      "/p",
      () => ({ method: "post", body: new Uint8Array([0, 1, 255]) }),
    ],
    [
      "subarray",
      "/p",
      () => ({
        method: "PUT",
        body: new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4),
      }),
    ],
    [
      "arraybuffer",
      "/p",
      () => ({ method: "POST", body: bytesOf("ab").buffer }),
    ],
    [
      "blob",
      "/p",
      () => ({ method: "POST", body: new Blob(["b"], { type: "A/B" }) }),
    ],
    [
      "form",
      "/p",
      () => ({
        method: "POST",
        body: new URLSearchParams({ a: "1 2", b: "é&" }),
      }),
    ],
    [
      "stream",
      "/p",
      () => ({
        method: "POST",
        body: ReadableStream.from([bytesOf("xy"), bytesOf("z")]),
      }),
    ],
    ["empty post", "/p", () => ({ method: "post" })],
    ["empty put", "/p", () => ({ method: "put" })],
    ["delete", "/p", () => ({ method: "delete" })],
    ["options", "/p", () => ({ method: "options" })],
    ["patch kept", "/p", () => ({ method: "patch", body: "x" })],
    ["headers", "/p", () => ({ headers: headers() })],
    ["fragment", "/p?q=1#frag", () => ({})],
    ["unicode", "/p a/é?q=a b&r=é|'\"<>", () => ({})],
    ["dots", "/a/../b/./c", () => ({})],
  ];
  for (const [label, path, init] of cases) {
    const before = fx.server.requests.length;
    await (await fx.fetch(path, init())).arrayBuffer();
    await (await fx.h1(path, init() as never)).arrayBuffer();
    const [a, b] = fx.server.requests.slice(before);
    assert.equal(b!.line, a!.line, label);
    const drop = (fields: string[]) =>
      label === "patch kept"
        // fetch's text/plain for a string body: see the BUG test below.
        ? fields.filter((f) => !f.startsWith("content-type"))
        : fields;
    assert.deepEqual(drop(fieldsSeen(b!)), drop(fieldsSeen(a!)), label);
    assert.deepEqual(b!.body, a!.body, label);
  }
});

// Fixed bug: Fetch, "extract a body": a string (scalar value string) body has
// Content-Type "text/plain;charset=UTF-8" unless the caller set one; Deno's
// fetch sends it. request() sends no Content-Type for a string body, though
// it does add fetch's types for URLSearchParams and Blob, so a server
// parsing by type (Hono's c.req.parseBody(), Deno.serve's req.formData()
// checks) sees untyped content where fetch's would be text/plain. Fix:
// client/_body.ts:62 `fixed(encoder.encode(body), "text/plain;charset=UTF-8")`.
Deno.test({
  name: "fetch diff: a string body is text/plain;charset=UTF-8 as in fetch",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
    );
    await (await fx.fetch("/", { method: "POST", body: "héllo" })).text();
    await (await fx.h1("/", { method: "POST", body: "héllo" })).text();
    const [a, b] = fx.server.requests;
    assert.deepEqual(fieldsSeen(b!), fieldsSeen(a!));
    assert.match(b!.head, /\r\ncontent-type: text\/plain;charset=UTF-8\r\n/i);
  },
});

// Fixed bug: FormData is a fetch body (multipart/form-data with a boundary). At
// run time request() takes it as an "iterable of bytes or text": each
// [name, value] entry becomes a 2-byte chunk of the two strings coerced to
// numbers (a=1 sends "\0\x01", field=value "\0\0"), so the server gets a
// well-framed chunked body of junk and answers as if the form were valid.
// Expected: fetch's multipart body, or a TypeError before anything is
// sent. Fix:
// client/_body.ts:85-92 (and toBytes, :117-123): encode FormData as fetch
// does (`new Response(form)` gives body and Content-Type), and throw
// TypeError for any piece that is neither Uint8Array nor string.
Deno.test({
  name: "fetch diff: a FormData body is multipart, never garbage",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
    );
    const form = () => {
      const f = new FormData();
      f.set("field", "value");
      return f;
    };
    await (await fx.fetch("/", { method: "POST", body: form() })).text();
    assert.match(
      fx.server.requests[0]!.head,
      /multipart\/form-data; boundary=/,
    );
    let failed: unknown = null;
    try {
      await (await fx.h1("/", { method: "POST", body: form() as never }))
        .text();
    } catch (e) {
      failed = e;
    }
    if (failed !== null) {
      assert.ok(failed instanceof TypeError, `${failed}`);
      assert.equal(fx.server.requests.length, 1, "nothing sent");
      return;
    }
    const seen = fx.server.requests[1]!;
    const boundary = /boundary=([^\r;]+)/.exec(seen.head)?.[1];
    assert.ok(boundary !== undefined, seen.head);
    assert.match(
      utf8(seen.body),
      /Content-Disposition: form-data; name="field"\r\n\r\nvalue\r\n/,
    );
  },
});

// Fixed bug: a ReadableStream body whose chunks are strings: fetch rejects
// (TypeError, chunks must be Uint8Array). request() writes each string
// through encodeChunk as bytes of NaN: "3\r\n\0\0\0\r\n0\r\n\r\n", a
// complete, well-framed request whose content is zeros, and resolves with
// the server's answer. (Strings from an async iterable are UTF-8 encoded,
// README; a stream of strings gets neither.) Fix: client/_body.ts:82-83,
// pass streams through toBytes() too, and have writeStream
// (client/_body.ts:141) throw TypeError for a piece that is not a
// Uint8Array before writing anything of it.
Deno.test({
  name: "fetch diff: a stream of strings is never sent as zero bytes",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
    );
    const body = () =>
      new ReadableStream({
        start(c) {
          c.enqueue("str");
          c.close();
        },
      });
    assert.ok(
      await rejection(
        fx.fetch("/", { method: "POST", body: body() }),
      ) instanceof
        TypeError,
    );
    const before = fx.server.requests.length;
    let failed: unknown = null;
    try {
      await (await fx.h1("/", { method: "POST", body: body() as never }))
        .text();
    } catch (e) {
      failed = e;
    }
    for (const seen of fx.server.requests.slice(before)) {
      assert.equal(utf8(seen.body), "str", "the server got other bytes");
    }
    if (failed !== null) assert.ok(failed instanceof TypeError, `${failed}`);
  },
});

// Fixed bug: fetch takes any BufferSource (Int8Array, Uint16Array, DataView ...)
// as bytes: Content-Length 2, body "AB". request() takes an Int8Array or
// Uint16Array as an iterable of numbers: it sends the head with
// "Transfer-Encoding: chunked", then fails with RangeError "Cannot frame a
// chunk of undefined bytes" and closes the socket; a DataView is a
// TypeError. Fix: client/_body.ts:63, `if (ArrayBuffer.isView(body)) return
// fixed(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), null)`.
Deno.test({
  name: "fetch diff: any ArrayBufferView body is sent as its bytes",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
    );
    const views = (): ArrayBufferView[] => [
      new Int8Array([65, 66]),
      new Uint16Array(bytesOf("AB").buffer),
      new DataView(bytesOf("AB").buffer),
    ];
    for (const [i, body] of views().entries()) {
      await (await fx.fetch("/", {
        method: "POST",
        body: body as BufferSource,
      }))
        .text();
      await (await fx.h1("/", { method: "POST", body: views()[i] as never }))
        .text();
    }
    const seen = fx.server.requests;
    for (let i = 0; i < seen.length; i += 2) {
      assert.equal(utf8(seen[i]!.body), "AB");
      assert.deepEqual(fieldsSeen(seen[i + 1]!), fieldsSeen(seen[i]!));
      assert.equal(utf8(seen[i + 1]!.body), "AB");
    }
  },
});

// Fixed bug: Fetch, "extract a body" from a BufferSource takes "a copy of the
// bytes held by object" when fetch() is called, so changing the buffer
// afterwards changes nothing sent. request() keeps the caller's
// Uint8Array / ArrayBuffer and copies it only when writing: on a fresh
// connection (after the dial) the server gets the bytes as they are then
// ("XXXXXXXX" here), on a reused one the original: a caller reusing a
// buffer sends corrupted data depending on pool state. Fix:
// client/_body.ts:63-64, `fixed(body.slice(), null)` /
// `fixed(new Uint8Array(body.slice(0)), null)`.
Deno.test({
  name: "fetch diff: a byte body is copied when request() is called",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
    );
    for (const call of [fx.fetch, fx.h1]) {
      const bytes = bytesOf("original");
      const pending = call.call(fx, "/", { method: "POST", body: bytes });
      bytes.fill(0x58);
      await (await pending).text();
      const buffer = bytesOf("original").buffer;
      const second = call.call(fx, "/", { method: "POST", body: buffer });
      new Uint8Array(buffer).fill(0x59);
      await (await second).text();
    }
    assert.deepEqual(
      fx.server.requests.map((r) => utf8(r.body)),
      ["original", "original", "original", "original"],
    );
  },
});

// Fixed bug: URL "http://host/p?" has an empty query, not none (RFC 3986 §3.4;
// WHATWG URL keeps the "?" in href): fetch sends "GET /p? HTTP/1.1" and
// Response.url ends "/p?". request() builds the target from pathname +
// search, and search is "" for an empty query, so it sends "GET /p" while
// Response.url says "/p?": another resource for a server or cache that
// tells them apart (signed URLs). Fix: client/request.ts request(), the
// `path:` passed to pool.request: take the target from href: `const u =
// new URL(current); u.hash = ""; path = u.href.slice(u.origin.length)`.
Deno.test({
  name: "fetch diff: an empty query is sent as '?'",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
    );
    for (const path of ["/p?", "/p?#frag", "?"]) {
      const before = fx.server.requests.length;
      const a = await fx.fetch(path);
      const b = await fx.h1(path);
      const [fa, fb] = fx.server.requests.slice(before);
      assert.equal(b.url, a.url, path);
      assert.equal(fb!.line, fa!.line, path);
    }
  },
});

// Fixed bug: CONNECT is a forbidden method in Fetch (TypeError "Method is
// forbidden"), and RFC 9112 §3.2.3 makes its request-target the
// authority-form. request("http://host/p", { method: "CONNECT" }) sends
// "CONNECT /p HTTP/1.1" (a request h1's own server rejects), then treats
// the 200 as a tunnel: the Content-Length body the server sent ("hi") is
// dropped and an empty 200 returned, the tunnel socket closed. Fix:
// client/request.ts normaliseMethod: throw TypeError for CONNECT (and
// point to HTTPConnection.set_tunnel).
Deno.test({
  name: "fetch diff: request() refuses CONNECT as fetch does",
  async fn() {
    await using fx = new Fixture(
      replying(() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
    );
    assert.ok(
      await rejection(fx.fetch("/p", { method: "CONNECT" })) instanceof
        TypeError,
    );
    assert.ok(
      await rejection(fx.h1("/p", { method: "CONNECT" })) instanceof TypeError,
    );
    assert.equal(fx.server.requests.length, 0);
  },
});

// Fixed bug: RFC 9112 §9.5: "A client sending a message body SHOULD monitor the
// network connection for an error response while it is transmitting the
// request." A server that answers 413 at once and closes (unread upload
// behind it, so its kernel resets) has its 413 returned by fetch, every
// time. request() reports ConnectionResetError instead: the failed write
// closes the socket (Transport #writeFailed) and #exchange prefers the
// write error, so the response already in the socket buffer is lost. Fix:
// client/_transport.ts #writeFailed and the catch after response.begin()
// in client/pool.ts #exchange: on a write failure stop writing but keep
// reading; report the write error only when no response head can be read.
Deno.test({
  name:
    "fetch diff: an early 413 during an upload is the response, not a reset",
  async fn() {
    await using fx = new Fixture(async (c) => {
      const buf = new Uint8Array(1024);
      await c.conn.read(buf);
      await c.write(
        "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig",
      );
    });
    const big = new Uint8Array(16 << 20);
    for (const body of [() => big, () => new Blob([big]).stream()]) {
      const a = await bounded(
        fx.fetch("/", { method: "POST", body: body() }),
        10_000,
      );
      assert.equal(a.status, 413);
      assert.equal(await a.text(), "big");
      const b = await bounded(
        fx.h1("/", { method: "POST", body: body() }),
        10_000,
      );
      assert.equal(b.status, 413);
      assert.equal(await b.text(), "big");
    }
  },
});

// A request body stream that errors: fetch rejects (TypeError), request()
// with the stream's own error; the server never sees the last chunk, so it
// cannot take the cut body for a whole one.
Deno.test("fetch diff: a body stream that errors fails the call and never ends the body", async () => {
  await using fx = new Fixture(async (c) => {
    const buf = new Uint8Array(4096);
    let got = "";
    for (;;) {
      const n = await c.conn.read(buf).catch(() => null);
      if (n === null) break;
      got += latin1(buf.subarray(0, n));
    }
    fx.server.requests.push({
      head: got,
      line: got.split("\r\n")[0]!,
      body: new Uint8Array(),
    });
  });
  const failing = (reason: Error) =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytesOf("part"));
        controller.error(reason);
      },
    });
  const reason = new Error("source broke");
  assert.ok(
    await rejection(
      bounded(fx.fetch("/", { method: "POST", body: failing(reason) })),
    ) instanceof TypeError,
  );
  assert.equal(
    await rejection(
      bounded(fx.h1("/", { method: "POST", body: failing(reason) })),
    ),
    reason,
  );
  for (let i = 0; i < 50 && fx.server.requests.length < 2; i++) await sleep(10);
  for (const seen of fx.server.requests) {
    assert.ok(!seen.head.endsWith("0\r\n\r\n"), JSON.stringify(seen.head));
  }
});

// A Request object is fetch's other input; request() takes a URL only
// (typed string | URL): given one anyway it fails as InvalidURL before
// sending anything, never to some other URL.
Deno.test("fetch diff: a Request object input is refused before anything is sent", async () => {
  await using fx = new Fixture(
    replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
  );
  const input = new Request(`${fx.base}/r`);
  await (await fx.fetch("/r")).text();
  await assert.rejects(request(input as never, { pool: fx.pool }), InvalidURL);
  assert.equal(fx.server.requests.length, 1);
});

// ---------------------------------------------------------------------------
// Properties

interface RandomResponse {
  method: "GET" | "HEAD";
  status: number;
  fields: [string, string][];
  framing: "length" | "chunked" | "close";
  version: "1.0" | "1.1";
  body: Uint8Array;
  cuts: number[];
  how: "text" | "arrayBuffer" | "reader";
}

const NAMES = [
  "X-A",
  "x-a",
  "X-B",
  "Set-Cookie",
  "set-cookie",
  "Content-Type",
  "Cache-Control",
  "ETag",
  "Vary",
  "Z-!#$%&'*+.^_`|~",
];
const valueArb = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0x21, max: 0x7e }),
      fc.constant(0x20),
      fc.constant(0x2c),
      fc.integer({ min: 0x80, max: 0xff }),
    ),
    { maxLength: 24 },
  )
  .map((codes) => String.fromCharCode(...codes).trim());

const responseArb: fc.Arbitrary<RandomResponse> = fc.record({
  method: fc.constantFrom("GET", "HEAD"),
  status: fc.oneof(
    fc.integer({ min: 200, max: 599 }),
    fc.constantFrom(200, 204, 205, 304, 404, 500),
  ),
  fields: fc.array(fc.tuple(fc.constantFrom(...NAMES), valueArb), {
    maxLength: 8,
  }),
  framing: fc.constantFrom("length", "chunked", "close"),
  version: fc.constantFrom("1.0", "1.1"),
  body: fc.uint8Array({ maxLength: 300 }),
  cuts: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 6 }),
  how: fc.constantFrom("text", "arrayBuffer", "reader"),
}) as fc.Arbitrary<RandomResponse>;

function serialize(r: RandomResponse): string {
  const version = r.framing === "chunked" ? "1.1" : r.version;
  let head = `HTTP/${version} ${r.status} R\r\nConnection: close\r\n`;
  for (const [n, v] of r.fields) head += `${n}: ${v}\r\n`;
  const body = latin1(r.body);
  if (r.framing === "length") {
    return `${head}Content-Length: ${r.body.length}\r\n\r\n${body}`;
  }
  if (r.framing === "close") return `${head}\r\n${body}`;
  let out = `${head}Transfer-Encoding: chunked\r\n\r\n`;
  let at = 0;
  for (const cut of r.cuts) {
    if (at >= body.length) break;
    const piece = body.slice(at, at + cut);
    out += `${piece.length.toString(16)}\r\n${piece}\r\n`;
    at += cut;
  }
  if (at < body.length) {
    out += `${(body.length - at).toString(16)}\r\n${body.slice(at)}\r\n`;
  }
  return `${out}0\r\n\r\n`;
}

// For random valid responses (status 200-599 with 204/205/304, GET or HEAD,
// repeated fields and Set-Cookie, obs-text values, Content-Length /
// chunked / close-delimited, HTTP/1.0 and 1.1) request() shows a caller
// exactly what fetch shows: status, ok, headers, getSetCookie(), null body
// or not, and the body read each way.
Deno.test("fetch diff property: random responses look the same through fetch and request()", async () => {
  let current: RandomResponse | null = null;
  await using fx = new Fixture(async (c) => {
    const seen = await c.readRequest();
    if (seen !== null && current !== null) await c.write(serialize(current));
  });
  await fc.assert(
    fc.asyncProperty(responseArb, async (r) => {
      current = r;
      const init = { method: r.method, redirect: "manual" } as const;
      const a = await view(await bounded(fx.fetch("/", init)), r.how);
      const b = await view(await bounded(fx.h1("/", init)), r.how);
      assert.deepEqual(b, a);
    }),
    { numRuns: 100 },
  );
});

interface RandomRequest {
  method: string;
  fields: [string, string][];
  body: "none" | "bytes" | "form" | "blob" | "stream";
  bytes: Uint8Array;
  blobType: string;
  path: string;
}

const requestArb: fc.Arbitrary<RandomRequest> = fc.record({
  method: fc.constantFrom(
    "GET",
    "get",
    "HEAD",
    "head",
    "POST",
    "post",
    "PUT",
    "put",
    "DELETE",
    "delete",
    "OPTIONS",
    "options",
    "patch",
    "PROPFIND",
  ),
  fields: fc.array(
    fc.tuple(
      fc.constantFrom("X-A", "x-a", "X-B", "Cache-Control", "Authorization"),
      valueArb,
    ),
    { maxLength: 6 },
  ),
  body: fc.constantFrom("none", "bytes", "form", "blob", "stream"),
  bytes: fc.uint8Array({ maxLength: 200 }),
  blobType: fc.constantFrom("", "text/x-a", "application/json"),
  path: fc.constantFrom("/", "/a b", "/é?x=1 2", "/q?a=b&c=%zz", "/p#f"),
});

function requestBody(r: RandomRequest): BodyInit | undefined {
  if (r.body === "none" || /^(get|head)$/i.test(r.method)) return undefined;
  if (r.body === "bytes") return r.bytes.slice();
  if (r.body === "form") return new URLSearchParams({ k: latin1(r.bytes) });
  if (r.body === "blob") {
    return new Blob([r.bytes.slice()], { type: r.blobType });
  }
  return ReadableStream.from([r.bytes.slice(0, 50), r.bytes.slice(50)]);
}

// For random requests (methods in both cases, repeated fields in a Headers
// object, obs-text values, byte / form / Blob / stream bodies, paths with
// spaces, non-ASCII and fragments) the server sees from request() what it
// sees from fetch: request line, fields (fetch's defaults aside), framing
// and body.
Deno.test("fetch diff property: random requests reach the server the same from both", async () => {
  await using fx = new Fixture(
    replying(() => "HTTP/1.1 204 No Content\r\n\r\n"),
  );
  await fc.assert(
    fc.asyncProperty(requestArb, async (r) => {
      const init = (): RequestInit => {
        const body = requestBody(r);
        return {
          method: r.method,
          headers: new Headers(r.fields),
          ...(body === undefined ? {} : { body }),
        };
      };
      const before = fx.server.requests.length;
      await (await bounded(fx.fetch(r.path, init()))).arrayBuffer();
      await (await bounded(fx.h1(r.path, init() as never))).arrayBuffer();
      const [a, b] = fx.server.requests.slice(before);
      assert.equal(b!.line, a!.line);
      // Deno's fetch sends an empty Blob chunked; Fetch gives a Blob body
      // its size as length, and h1 sends Content-Length: 0. Both are fine.
      const emptyBlob = r.body === "blob" && r.bytes.length === 0 &&
        !/^(get|head)$/i.test(r.method);
      const framing = (fields: string[]) =>
        emptyBlob
          ? fields.filter((f) =>
            f !== "transfer-encoding: chunked" && f !== "content-length: 0"
          )
          : fields;
      assert.deepEqual(framing(fieldsSeen(b!)), framing(fieldsSeen(a!)));
      assert.deepEqual(b!.body, a!.body);
    }),
    { numRuns: 100 },
  );
});

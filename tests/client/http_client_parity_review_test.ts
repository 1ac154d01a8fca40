// Live parity review: HTTPConnection / HTTPResponse against CPython 3.11's
// http.client. Each probe runs the same calls from a python3 script and from
// h1 against the same raw server script, then compares the bytes the server
// received and what the API returned or raised. Probes skip when python3
// 3.11 is not installed. Ignored tests record a deliberate difference from
// CPython, each listed in the README's "Differences from http.client";
// RUN_BUGS=1 runs them (they fail by design). Two differences the review
// found were bugs and are fixed: `length` while reading, and the reason
// phrase not stripped.

import assert from "node:assert/strict";
import { HTTPConnection } from "../../client/http_connection.ts";
import type { HTTPResponse } from "../../client/http_response.ts";
import { answer, once, type Script, WireServer } from "./_wire_server.ts";

const latin1 = new TextDecoder("latin1");
const toLatin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

const HAVE_PY = (() => {
  try {
    return new Deno.Command("python3", {
      args: ["-c", "import sys; sys.exit(sys.version_info[:2] != (3, 11))"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();

const ok = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

// ── python side ─────────────────────────────────────────────────────────

const PRELUDE = `
import http.client, json, os, sys, io, contextlib
PORT = int(os.environ["PORT"])
out = {}
def conv(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"bytes": bytes(v).decode("latin-1")}
    if isinstance(v, (list, tuple)):
        return [conv(x) for x in v]
    return v
def exc(e):
    d = {"type": type(e).__name__}
    if isinstance(e, http.client.IncompleteRead):
        d["partial"] = conv(e.partial); d["expected"] = e.expected
    elif isinstance(e, (http.client.CannotSendRequest, http.client.ResponseNotReady)):
        d["state"] = e.args[0] if e.args else None
    return d
def trap(f):
    try:
        return {"ok": conv(f())}
    except Exception as e:
        return {"err": exc(e)}
def C():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
`;

// deno-lint-ignore no-explicit-any
type Json = any;

async function runPy(port: number, src: string): Promise<Json> {
  const { stdout, stderr, success } = await new Deno.Command("python3", {
    args: ["-c", PRELUDE + src + "\nprint(json.dumps(out))\n"],
    env: { PORT: String(port) },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (!success) {
    throw new Error(`python failed: ${new TextDecoder().decode(stderr)}`);
  }
  const lines = text.trimEnd().split("\n");
  return { ...JSON.parse(lines.pop()!), _stdout: lines.join("\n") };
}

// ── h1 side: the same shapes as the python helpers ──────────────────────

function conv(v: unknown): Json {
  if (v instanceof Uint8Array) return { bytes: latin1.decode(v) };
  if (Array.isArray(v)) return v.map(conv);
  return v ?? null;
}

function exc(e: unknown): Json {
  const err = e as Error & {
    partial?: Uint8Array;
    expected?: number | null;
    state?: string;
  };
  const d: Json = { type: err.name };
  if (err.name === "IncompleteRead") {
    d.partial = conv(err.partial);
    d.expected = err.expected;
  } else if (
    err.name === "CannotSendRequest" || err.name === "ResponseNotReady"
  ) d.state = err.state;
  return d;
}

async function trap(f: () => unknown): Promise<Json> {
  try {
    return { ok: conv(await f()) };
  } catch (e) {
    return { err: exc(e) };
  }
}

const C = (port: number) =>
  new HTTPConnection("127.0.0.1", port, { timeout: 2 });

/** Runs python then h1 against fresh servers running `script`. */
async function both(
  script: Script,
  pySrc: string,
  h1: (port: number, out: Json) => Promise<void>,
): Promise<{ py: Json; h1: Json; pyWire: string[]; h1Wire: string[] }> {
  const s1 = new WireServer(script);
  let py: Json;
  try {
    py = await runPy(s1.port, pySrc);
  } finally {
    await s1.close();
  }
  const s2 = new WireServer(script);
  const out: Json = {};
  try {
    await h1(s2.port, out);
  } finally {
    await s2.close();
  }
  return { py, h1: out, pyWire: s1.normalized(), h1Wire: s2.normalized() };
}

function test(
  name: string,
  fn: () => Promise<void>,
  ignore = false,
): void {
  Deno.test({
    name: `parity: ${name}`,
    // RUN_BUGS=1 runs the ignored BUG probes too (they fail).
    ignore: (ignore && !Deno.env.get("RUN_BUGS")) || !HAVE_PY,
    sanitizeResources: true,
    sanitizeOps: true,
    fn,
  });
}

// ── request bytes ───────────────────────────────────────────────────────

test("request() heads and bodies: str/bytes/None, CL for empty bodies, skips", async () => {
  const r = await both(
    answer(ok("k")),
    `
c = C()
def go(*a, **k):
    c.request(*a, **k); c.getresponse().read()
go("GET", "/")
go("GET", "/a", "")
go("GET", "/b", b"abc")
go("POST", "/c")
go("POST", "/d", "")
go("PUT", "/e")
go("patch", "/f")
go("DELETE", "/g")
go("OPTIONS", "")
go("GET", "/h", None, {"X-Int": 5, "Host": "custom", "Accept-Encoding": "gzip"})
go("POST", "/i", b"xy", {"Content-Length": "2"})
go("POST", "/j", "body", {"content-type": "text/plain"})
c.close()
`,
    async (port) => {
      const c = C(port);
      const go = async (
        ...a: Parameters<HTTPConnection["request"]>
      ): Promise<void> => {
        await c.request(...a);
        await (await c.getresponse()).read();
      };
      await go("GET", "/");
      await go("GET", "/a", "");
      await go("GET", "/b", toLatin1("abc"));
      await go("POST", "/c");
      await go("POST", "/d", "");
      await go("PUT", "/e");
      await go("patch", "/f");
      await go("DELETE", "/g");
      await go("OPTIONS", "");
      await go("GET", "/h", null, {
        "X-Int": 5,
        "Host": "custom",
        "Accept-Encoding": "gzip",
      });
      await go("POST", "/i", toLatin1("xy"), { "Content-Length": "2" });
      await go("POST", "/j", "body", { "content-type": "text/plain" });
      c.close();
    },
  );
  assert.equal(r.pyWire.length, 1);
  assert.deepEqual(r.h1Wire, r.pyWire);
});

test("putrequest/putheader/endheaders/send with skip_host, skip_accept_encoding and int values", async () => {
  const r = await both(
    answer(ok("k")),
    `
c = C()
c.putrequest("POST", "/p", skip_host=True)
c.putheader("Host", "h.example")
c.putheader("Content-Length", 5)
c.endheaders()
c.send(b"he"); c.send(b"llo")
c.getresponse().read()
c.putrequest("GET", "/q", skip_accept_encoding=True)
c.putheader("X-A", "v")
c.endheaders(b"")
c.getresponse().read()
c.putrequest("PUT", "/r", skip_host=True, skip_accept_encoding=True)
c.putheader("Content-Length", "3")
c.endheaders(b"abc")
c.getresponse().read()
c.close()
`,
    async (port) => {
      const c = C(port);
      c.putrequest("POST", "/p", { skip_host: true });
      c.putheader("Host", "h.example");
      c.putheader("Content-Length", 5);
      await c.endheaders();
      await c.send(toLatin1("he"));
      await c.send(toLatin1("llo"));
      await (await c.getresponse()).read();
      c.putrequest("GET", "/q", { skip_accept_encoding: true });
      c.putheader("X-A", "v");
      await c.endheaders(new Uint8Array(0));
      await (await c.getresponse()).read();
      c.putrequest("PUT", "/r", {
        skip_host: true,
        skip_accept_encoding: true,
      });
      c.putheader("Content-Length", "3");
      await c.endheaders(toLatin1("abc"));
      await (await c.getresponse()).read();
      c.close();
    },
  );
  assert.deepEqual(r.h1Wire, r.pyWire);
});

test("encode_chunked=True: caller's Transfer-Encoding, iterable with empty pieces", async () => {
  const r = await both(
    answer(ok("k")),
    `
c = C()
c.request("POST", "/a", b"abc", {"Transfer-Encoding": "chunked"}, encode_chunked=True)
c.getresponse().read()
c.request("POST", "/b", iter([b"x", b"", b"yz"]))
c.getresponse().read()
c.request("POST", "/c", b"", {"Transfer-Encoding": "chunked"}, encode_chunked=True)
c.getresponse().read()
c.putrequest("POST", "/d")
c.putheader("Transfer-Encoding", "chunked")
c.endheaders(iter([b"hello", b"world"]), encode_chunked=True)
c.getresponse().read()
c.close()
`,
    async (port) => {
      const c = C(port);
      await c.request("POST", "/a", toLatin1("abc"), {
        "Transfer-Encoding": "chunked",
      }, { encode_chunked: true });
      await (await c.getresponse()).read();
      await c.request("POST", "/b", [
        toLatin1("x"),
        new Uint8Array(0),
        toLatin1("yz"),
      ]);
      await (await c.getresponse()).read();
      await c.request("POST", "/c", new Uint8Array(0), {
        "Transfer-Encoding": "chunked",
      }, { encode_chunked: true });
      await (await c.getresponse()).read();
      c.putrequest("POST", "/d");
      c.putheader("Transfer-Encoding", "chunked");
      await c.endheaders([toLatin1("hello"), toLatin1("world")], {
        encode_chunked: true,
      });
      await (await c.getresponse()).read();
      c.close();
    },
  );
  assert.deepEqual(r.h1Wire, r.pyWire);
});

test(
  "str body is Latin-1 as in CPython (ISO-8859-1 per RFC 2616 §3.7.1)",
  async () => {
    const r = await both(
      answer(ok("k")),
      `
c = C()
c.request("POST", "/", "caf\\u00e9")
c.getresponse().read()
out["euro"] = trap(lambda: c.request("POST", "/", "\\u20ac"))
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("POST", "/", "caf\u00e9");
        await (await c.getresponse()).read();
        out.euro = await trap(() => c.request("POST", "/", "\u20ac"));
        c.close();
      },
    );
    // Deliberate difference (README): h1 encodes text bodies as UTF-8 ("café" → Content-Length 5, C3 A9);
    // CPython sends ISO-8859-1 (Content-Length 4, E9) and raises
    // UnicodeEncodeError for text outside Latin-1.
    assert.deepEqual(r.h1Wire, r.pyWire);
    assert.equal(r.py.euro.err.type, "UnicodeEncodeError");
    assert.ok("err" in r.h1.euro);
  },
  true,
);

test(
  "putheader with several values joins them with CRLF TAB (obs-fold)",
  async () => {
    const r = await both(
      answer(ok("k")),
      `
c = C()
c.putrequest("GET", "/")
c.putheader("X-Multi", "a", "b", 3)
c.endheaders()
c.getresponse().read()
c.close()
`,
      async (port) => {
        const c = C(port);
        c.putrequest("GET", "/");
        c.putheader("X-Multi", "a", "b", 3);
        await c.endheaders();
        await (await c.getresponse()).read();
        c.close();
      },
    );
    // Deliberate difference (README): CPython 3.11
    // sends "X-Multi: a\r\n\tb\r\n\t3"; h1 sends "X-Multi: a, b, 3".
    assert.deepEqual(r.h1Wire, r.pyWire);
  },
  true,
);

test("absolute-form URL: Host is the URL's netloc verbatim", async () => {
  const r = await both(
    answer(ok("k")),
    `
c = C()
c.request("GET", "http://Example.COM:80/abs")
c.getresponse().read()
c.close()
`,
    async (port) => {
      const c = C(port);
      await c.request("GET", "http://Example.COM:80/abs");
      await (await c.getresponse()).read();
      c.close();
    },
  );
  // Deliberate difference (README): CPython sends the netloc as written ("Host: Example.COM:80"); h1
  // normalises it through WHATWG URL ("Host: example.com").
  assert.deepEqual(r.h1Wire, r.pyWire);
}, true);

// ── state machine ───────────────────────────────────────────────────────

test("out-of-order calls raise the same ImproperConnectionState subclass and state", async () => {
  const r = await both(
    answer(ok("one"), ok("two"), ok("three")),
    `
c = C()
out["getresponse idle"] = trap(c.getresponse)
out["putheader idle"] = trap(lambda: c.putheader("X", "1"))
out["endheaders idle"] = trap(c.endheaders)
c.putrequest("GET", "/1")
out["putrequest started"] = trap(lambda: c.putrequest("GET", "/x"))
out["request started"] = trap(lambda: c.request("GET", "/x"))
out["getresponse started"] = trap(c.getresponse)
c.endheaders()
out["putheader sent"] = trap(lambda: c.putheader("X", "1"))
out["endheaders sent"] = trap(c.endheaders)
out["request sent"] = trap(lambda: c.request("GET", "/x"))
r1 = c.getresponse()
out["getresponse twice"] = trap(c.getresponse)
out["r1 partial"] = trap(lambda: r1.read(1))
out["request while r1 unread"] = trap(lambda: c.request("GET", "/2"))
out["getresponse while r1 unread"] = trap(c.getresponse)
out["r1 rest"] = trap(r1.read)
r2 = c.getresponse()
out["r2"] = trap(r2.read)
out["getresponse after r2"] = trap(c.getresponse)
c.close()
out["after close"] = trap(c.getresponse)
c.close()
`,
    async (port, out) => {
      const c = C(port);
      out["getresponse idle"] = await trap(() => c.getresponse());
      out["putheader idle"] = await trap(() => c.putheader("X", "1"));
      out["endheaders idle"] = await trap(() => c.endheaders());
      c.putrequest("GET", "/1");
      out["putrequest started"] = await trap(() => c.putrequest("GET", "/x"));
      out["request started"] = await trap(() => c.request("GET", "/x"));
      out["getresponse started"] = await trap(() => c.getresponse());
      await c.endheaders();
      out["putheader sent"] = await trap(() => c.putheader("X", "1"));
      out["endheaders sent"] = await trap(() => c.endheaders());
      out["request sent"] = await trap(() => c.request("GET", "/x"));
      const r1 = await c.getresponse();
      out["getresponse twice"] = await trap(() => c.getresponse());
      out["r1 partial"] = await trap(() => r1.read(1));
      out["request while r1 unread"] = await trap(() => c.request("GET", "/2"));
      out["getresponse while r1 unread"] = await trap(() => c.getresponse());
      out["r1 rest"] = await trap(() => r1.read());
      const r2 = await c.getresponse();
      out["r2"] = await trap(() => r2.read());
      out["getresponse after r2"] = await trap(() => c.getresponse());
      c.close();
      out["after close"] = await trap(() => c.getresponse());
      c.close();
    },
  );
  const { _stdout: _, ...py } = r.py;
  assert.deepEqual(r.h1, py);
  assert.deepEqual(r.h1Wire, r.pyWire);
});

test("auto_open = 0 raises NotConnected; connect() first then works", async () => {
  const r = await both(
    answer(ok("k")),
    `
c = C()
c.auto_open = 0
out["no socket"] = trap(lambda: c.request("GET", "/"))
c.close()
c.connect()
c.request("GET", "/ok")
out["read"] = trap(c.getresponse().read)
c.close()
`,
    async (port, out) => {
      const c = C(port);
      c.auto_open = false;
      out["no socket"] = await trap(() => c.request("GET", "/"));
      c.close();
      await c.connect();
      await c.request("GET", "/ok");
      out["read"] = await trap(async () =>
        await (await c.getresponse()).read()
      );
      c.close();
    },
  );
  const { _stdout: _, ...py } = r.py;
  assert.deepEqual(r.h1, py);
  assert.deepEqual(r.h1Wire, r.pyWire);
});

test(
  "a failed send or a junk status line leaves the state at Request-sent",
  async () => {
    const r = await both(
      async (c, i) => {
        if ((await c.request()) === null) return;
        await c.write(i === 0 ? "JUNK\r\n\r\n" : ok("k"));
      },
      `
c = C()
c.auto_open = 0
out["notconnected"] = trap(lambda: c.request("GET", "/"))
out["after notconnected"] = trap(lambda: c.request("GET", "/"))
c.close()
c.auto_open = 1
c.request("GET", "/junk")
out["junk"] = trap(c.getresponse)
out["after junk"] = trap(lambda: c.request("GET", "/next"))
c.close()
`,
      async (port, out) => {
        const c = C(port);
        c.auto_open = false;
        out["notconnected"] = await trap(() => c.request("GET", "/"));
        out["after notconnected"] = await trap(() => c.request("GET", "/"));
        c.close();
        c.auto_open = true;
        await c.request("GET", "/junk");
        out["junk"] = await trap(() => c.getresponse());
        out["after junk"] = await trap(() => c.request("GET", "/next"));
        c.close();
      },
    );
    const { _stdout: _, ...py } = r.py;
    // Deliberate difference (README): CPython only returns to Idle on close() (or a ConnectionError in
    // getresponse): after NotConnected, and after BadStatusLine, the next
    // request() raises CannotSendRequest('Request-sent'). h1 resets to Idle
    // and sends the next request.
    assert.deepEqual(r.h1, py);
  },
  true,
);

// ── responses ───────────────────────────────────────────────────────────

const PY_HEAD = `
def head(r):
    return {"status": r.status, "reason": r.reason, "version": r.version,
            "will_close": bool(r.will_close), "chunked": bool(r.chunked),
            "length": r.length, "isclosed": r.isclosed()}
`;

function head(r: HTTPResponse): Json {
  return {
    status: r.status,
    reason: r.reason,
    version: r.version,
    will_close: r.will_close,
    chunked: r.chunked,
    length: r.length,
    isclosed: r.isclosed(),
  };
}

test("HTTPResponse surface: getheader joins, getheaders order, read(amt)/readline/read1/readinto, length", async () => {
  const body = "line1\nline2\nrest-of-it";
  const r = await both(
    answer(
      "HTTP/1.1 200 OK\r\nX-A: 1\r\nSet-Cookie: a=1\r\nx-a: 2\r\n" +
        `Set-Cookie: b=2\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    ),
    PY_HEAD + `
c = C()
c.request("GET", "/")
r = c.getresponse()
out["head"] = head(r)
out["getheader"] = [r.getheader("x-a"), r.getheader("X-A"), r.getheader("missing", "d"), r.getheader("missing")]
out["getheaders"] = [list(p) for p in r.getheaders()]
out["msg"] = [r.msg.get("set-cookie"), r.msg.get_all("SET-COOKIE"), r.headers.get("nope", "f")]
out["read3"] = conv(r.read(3))
out["readline"] = conv(r.readline())
out["readline2"] = conv(r.readline(3))
out["read1"] = conv(r.read1(2))
b = bytearray(4); n = r.readinto(b); out["readinto"] = [n, conv(b[:n])]
out["rest"] = conv(r.read()); out["len5"] = r.length
out["end"] = [r.isclosed(), conv(r.read()), conv(r.read(5)), conv(r.readline()), r.readinto(bytearray(3))]
c.close()
`,
    async (port, out) => {
      const c = C(port);
      await c.request("GET", "/");
      const r = await c.getresponse();
      out["head"] = head(r);
      out["getheader"] = [
        r.getheader("x-a"),
        r.getheader("X-A"),
        r.getheader("missing", "d"),
        r.getheader("missing"),
      ];
      out["getheaders"] = r.getheaders();
      out["msg"] = [
        r.msg.get("set-cookie"),
        r.msg.get_all("SET-COOKIE"),
        r.headers.get("nope", "f"),
      ];
      out["read3"] = conv(await r.read(3));
      out["readline"] = conv(await r.readline());
      out["readline2"] = conv(await r.readline(3));
      out["read1"] = conv(await r.read1(2));
      const b = new Uint8Array(4);
      const n = await r.readinto(b);
      out["readinto"] = [n, conv(b.subarray(0, n))];
      out["rest"] = conv(await r.read());
      out["len5"] = r.length;
      out["end"] = [
        r.isclosed(),
        conv(await r.read()),
        conv(await r.read(5)),
        conv(await r.readline()),
        await r.readinto(new Uint8Array(3)),
      ];
      c.close();
    },
  );
  const { _stdout: _, ...py } = r.py;
  assert.deepEqual(r.h1, py);
});

test("chunked response with extension and trailers, then reuse", async () => {
  const r = await both(
    answer(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n",
      ok("second"),
    ),
    PY_HEAD + `
c = C()
c.request("GET", "/")
r = c.getresponse()
out["head"] = head(r)
out["read7"] = conv(r.read(7)); out["len"] = r.length
out["rest"] = conv(r.read())
out["after"] = [r.isclosed(), r.length]
c.request("GET", "/2")
out["second"] = conv(c.getresponse().read())
c.close()
`,
    async (port, out) => {
      const c = C(port);
      await c.request("GET", "/");
      const r = await c.getresponse();
      out["head"] = head(r);
      out["read7"] = conv(await r.read(7));
      out["len"] = r.length;
      out["rest"] = conv(await r.read());
      out["after"] = [r.isclosed(), r.length];
      await c.request("GET", "/2");
      out["second"] = conv(await (await c.getresponse()).read());
      c.close();
    },
  );
  const { _stdout: _, ...py } = r.py;
  assert.deepEqual(r.h1, py);
  assert.deepEqual(r.h1Wire, r.pyWire);
});

test(
  "chunked body cut short: IncompleteRead with the bytes read and no expected",
  async () => {
    const r = await both(
      once(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "3\r\nabc\r\n4\r\nde",
      ),
      `
c = C()
c.request("GET", "/")
r = c.getresponse()
out["read"] = trap(r.read)
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("GET", "/");
        const r = await c.getresponse();
        out["read"] = await trap(() => r.read());
        c.close();
      },
    );
    const { _stdout: _, ...py } = r.py;
    // Deliberate difference (README): CPython's partial holds the complete chunks read ("abc"); h1 adds
    // the bytes of the cut chunk ("abcde").
    assert.deepEqual(r.h1, py);
  },
  true,
);

test("HEAD and 204 responses: length 0, read() is empty, connection reused", async () => {
  const r = await both(
    answer(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.1 204 No Content\r\n\r\n",
      ok("x"),
    ),
    PY_HEAD + `
c = C()
c.request("HEAD", "/")
r = c.getresponse()
h = head(r); del h["isclosed"]; out["head"] = h
out["read"] = [conv(r.read()), r.isclosed()]
c.request("GET", "/204")
r = c.getresponse()
h = head(r); del h["isclosed"]; out["204"] = h
out["read204"] = [conv(r.read()), r.isclosed()]
c.request("GET", "/x")
out["x"] = conv(c.getresponse().read())
c.close()
`,
    async (port, out) => {
      const c = C(port);
      await c.request("HEAD", "/");
      let r = await c.getresponse();
      let h = head(r);
      delete h.isclosed;
      out["head"] = h;
      out["read"] = [conv(await r.read()), r.isclosed()];
      await c.request("GET", "/204");
      r = await c.getresponse();
      h = head(r);
      delete h.isclosed;
      out["204"] = h;
      out["read204"] = [conv(await r.read()), r.isclosed()];
      await c.request("GET", "/x");
      out["x"] = conv(await (await c.getresponse()).read());
      c.close();
    },
  );
  const { _stdout: _, ...py } = r.py;
  assert.deepEqual(r.h1, py);
  assert.deepEqual(r.h1Wire, r.pyWire);
});

test(
  "response.length counts the bytes the caller has not read yet",
  async () => {
    const body = "0123456789\nabcdefghij";
    const r = await both(
      answer(ok(body)),
      `
c = C()
c.request("GET", "/")
r = c.getresponse()
seq = [r.length]
r.read(3); seq.append(r.length)
r.readline(); seq.append(r.length)
r.read1(2); seq.append(r.length)
r.readinto(bytearray(4)); seq.append(r.length)
r.read(); seq.append(r.length)
out["seq"] = seq
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("GET", "/");
        const r = await c.getresponse();
        const seq = [r.length];
        await r.read(3);
        seq.push(r.length);
        await r.readline();
        seq.push(r.length);
        await r.read1(2);
        seq.push(r.length);
        await r.readinto(new Uint8Array(4));
        seq.push(r.length);
        await r.read();
        seq.push(r.length);
        out["seq"] = seq;
        c.close();
      },
    );
    // Fixed bug: h1 subtracted each parsed data event when it arrived, so
    // after read(3) it reported 0 though 18 bytes were still unread; CPython
    // reports [21, 18, 10, 8, 4, 0].
    assert.deepEqual(r.h1.seq, r.py.seq);
  },
);

test(
  "closed stays false after the body is read; only close() sets it",
  async () => {
    const r = await both(
      answer(ok("abc")),
      `
c = C()
c.request("GET", "/")
r = c.getresponse()
r.read()
out["closed"] = [r.isclosed(), r.closed]
r.close()
out["after close"] = [r.isclosed(), r.closed]
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("GET", "/");
        const r = await c.getresponse();
        await r.read();
        out["closed"] = [r.isclosed(), r.closed];
        r.close();
        out["after close"] = [r.isclosed(), r.closed];
        c.close();
      },
    );
    const { _stdout: _, ...py } = r.py;
    // Deliberate difference (README): CPython's `closed` is io.IOBase's flag: false after a complete
    // read() (isclosed() is true), true only after close(). h1's `closed` is
    // isclosed() under another name.
    assert.deepEqual(r.h1, py);
  },
  true,
);

// Status lines: one connection each, the server closes after answering.
async function statusLine(raw: string): Promise<{ py: Json; h1: Json }> {
  const r = await both(
    once(raw),
    PY_HEAD + `
c = C()
c.request("GET", "/")
def f():
    r = c.getresponse()
    h = head(r); h["body"] = conv(r.read()); return h
out["r"] = trap(f)
c.close()
`,
    async (port, out) => {
      const c = C(port);
      await c.request("GET", "/");
      out["r"] = await trap(async () => {
        const r = await c.getresponse();
        const h = head(r);
        h.body = conv(await r.read());
        return h;
      });
      c.close();
    },
  );
  return { py: r.py.r, h1: r.h1.r };
}

const TAIL = "Content-Length: 2\r\n\r\nhi";
const MATCHING_STATUS_LINES = [
  `HTTP/1.1 200 OK\r\n${TAIL}`,
  `HTTP/1.0 200 OK\r\n${TAIL}`,
  `HTTP/1.1 404 Not Found\r\n${TAIL}`,
  `HTTP/1.1 200 \r\n${TAIL}`,
  `HTTP/2.0 200 OK\r\n${TAIL}`,
  `HTTP/1.1 99 X\r\n${TAIL}`,
  `HTTP/1.1 1000 X\r\n${TAIL}`,
  `HTTP/1.1 abc X\r\n${TAIL}`,
  `http/1.1 200 OK\r\n${TAIL}`,
  `ICY 200 OK\r\n${TAIL}`,
  `JUNK\r\n\r\n`,
  ``,
  `HTTP/1.1 200\r\n${TAIL}`,
  `HTTP/1.2 200 OK\r\n${TAIL}`,
  `HTTP/1.1 600 Custom\r\n${TAIL}`,
  `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`,
  `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n${TAIL}`,
  `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi`,
];

test("status lines, versions and early closes: same result or error class", async () => {
  for (const raw of MATCHING_STATUS_LINES) {
    const { py, h1 } = await statusLine(raw);
    assert.deepEqual(h1, py, JSON.stringify(raw));
  }
});

for (
  const [raw, why, differs] of [
    [`HTTP/1.1 200  OK \r\n${TAIL}`, "CPython strips the reason", false],
    [
      `HTTP/0.9 200 OK\r\n${TAIL}`,
      "CPython reads HTTP/0.9 as version 10; h1 refuses it (README)",
      true,
    ],
    [
      `HTTP/1.1 200 OK\r\n`,
      "head ended by EOF: CPython returns the 200 with an empty body; " +
      "h1 raises BadStatusLine on purpose (README)",
      true,
    ],
  ] as const
) {
  test(
    `status line ${JSON.stringify(raw.split("\r\n")[0])} (${why})`,
    async () => {
      const { py, h1 } = await statusLine(raw);
      // A deliberate difference where `differs` (ignored): see the name.
      assert.deepEqual(h1, py);
    },
    differs,
  );
}

// ── connection reuse (will_close) ───────────────────────────────────────

test("will_close for HTTP/1.1 and 1.0 responses, and the reuse that follows", async () => {
  for (
    const first of [
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na",
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na",
      "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
    ]
  ) {
    const r = await both(
      answer(first, ok("b")),
      `
c = C()
c.request("GET", "/1")
r = c.getresponse()
out["will_close"] = bool(r.will_close)
out["a"] = conv(r.read())
c.request("GET", "/2")
out["b"] = conv(c.getresponse().read())
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("GET", "/1");
        const r = await c.getresponse();
        out["will_close"] = r.will_close;
        out["a"] = conv(await r.read());
        await c.request("GET", "/2");
        out["b"] = conv(await (await c.getresponse()).read());
        c.close();
      },
    );
    const { _stdout: _, ...py } = r.py;
    assert.deepEqual(r.h1, py, first);
    assert.equal(r.h1Wire.length, r.pyWire.length, first);
  }
});

for (
  const first of [
    "HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\na",
    "HTTP/1.0 200 OK\r\nProxy-Connection: keep-alive\r\nContent-Length: 1\r\n\r\na",
  ]
) {
  test(
    `will_close is false for ${
      JSON.stringify(first.split("\r\n")[1])
    } on HTTP/1.0`,
    async () => {
      const r = await both(
        answer(first, ok("b")),
        `
c = C()
c.request("GET", "/1")
r = c.getresponse()
out["will_close"] = bool(r.will_close)
r.read()
c.request("GET", "/2")
c.getresponse().read()
c.close()
`,
        async (port, out) => {
          const c = C(port);
          await c.request("GET", "/1");
          const r = await c.getresponse();
          out["will_close"] = r.will_close;
          await r.read();
          await c.request("GET", "/2");
          await (await c.getresponse()).read();
          c.close();
        },
      );
      // Deliberate difference (README): CPython's _check_close keeps an HTTP/1.0 connection open for a
      // Keep-Alive field or "Proxy-Connection: keep-alive"; h1 closes it
      // (two connections where CPython uses one).
      assert.equal(r.h1.will_close, r.py.will_close);
      assert.equal(r.h1Wire.length, r.pyWire.length);
    },
    true,
  );
}

// ── limits ──────────────────────────────────────────────────────────────

test(
  "a 20 KiB header line and 100 headers are accepted, 101 headers are not",
  async () => {
    const big = "x".repeat(20 * 1024);
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => `H${i}: v\r\n`).join("");
    const cases = [
      `HTTP/1.1 200 OK\r\nX-Big: ${big}\r\n${TAIL}`,
      `HTTP/1.1 200 OK\r\n${many(99)}${TAIL}`,
      `HTTP/1.1 200 OK\r\n${many(101)}${TAIL}`,
    ];
    const results = [];
    for (const raw of cases) {
      const { py, h1 } = await statusLine(raw);
      results.push({
        py: py.ok?.status ?? py.err.type,
        h1: h1.ok?.status ?? h1.err.type,
      });
    }
    // Deliberate difference (README): CPython allows header lines up to 65536 bytes (LineTooLong past
    // that) and at most 100 header lines (HTTPException). h1's default
    // maxHeadBytes (16 KiB for the whole head) refuses the 20 KiB line with
    // LineTooLong.
    assert.deepEqual(results.map((r) => r.h1), results.map((r) => r.py));
  },
  true,
);

// ── set_tunnel and set_debuglevel ───────────────────────────────────────

test(
  "set_tunnel: CONNECT bytes, then Host without the default port",
  async () => {
    const r = await both(
      async (c) => {
        if ((await c.request()) === null) return;
        await c.write("HTTP/1.1 200 Connection established\r\n\r\n");
        await answer(ok("t"))(c, 0);
      },
      `
c = C()
c.set_tunnel("example.com", 80, {"Proxy-Authorization": "Basic eA=="})
c.request("GET", "/t")
out["body"] = conv(c.getresponse().read())
c.close()
`,
      async (port, out) => {
        const c = C(port);
        c.set_tunnel("example.com", 80, {
          "Proxy-Authorization": "Basic eA==",
        });
        await c.request("GET", "/t");
        out["body"] = conv(await (await c.getresponse()).read());
        c.close();
      },
    );
    assert.deepEqual(r.h1.body, r.py.body);
    // Deliberate difference (README; 3.12 changed to h1's form): CPython 3.11 sends
    // "CONNECT example.com:80 HTTP/1.0" with no Host field; h1 sends
    // "CONNECT example.com:80 HTTP/1.1" plus "Host: example.com:80".
    assert.deepEqual(r.h1Wire, r.pyWire);
  },
  true,
);

test("set_debuglevel(1): send:/reply:/header: lines", async () => {
  const r = await both(
    answer(ok("hi", "X-A: 1\r\n")),
    `
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    c = C()
    c.set_debuglevel(1)
    c.request("GET", "/d", None, {"X-B": "2"})
    c.getresponse().read()
    c.close()
out["lines"] = buf.getvalue().splitlines()
`,
    async (port, out) => {
      let text = "";
      const c = new HTTPConnection("127.0.0.1", port, {
        timeout: 2,
        debugWriter: {
          write: (p: Uint8Array) => {
            text += new TextDecoder().decode(p);
            return p.length;
          },
        },
      });
      c.set_debuglevel(1);
      // With a body CPython 3.11 prints two send: lines (head, then body);
      // h1 writes and prints them as one.
      await c.request("GET", "/d", null, { "X-B": "2" });
      await (await c.getresponse()).read();
      await c.flushDebug();
      c.close();
      out["lines"] = text.split("\n").filter((l) => l !== "");
    },
  );
  const norm = (lines: string[]) =>
    lines.map((l) => l.replace(/127\.0\.0\.1:\d+/, "127.0.0.1:PORT"));
  assert.deepEqual(norm(r.h1.lines), norm(r.py.lines));
});

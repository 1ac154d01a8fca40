// Differential review: HTTPConnection / HTTPResponse against live CPython 3
// `http.client`. Each probe runs the same call sequence twice, once through a
// python3 script and once through h1, each against its own copy of a raw TCP
// server (Deno.listen on 127.0.0.1, port 0) that records the exact bytes it
// receives and answers with scripted bytes. The probes compare (a) the
// request bytes and (b) what the API returned or raised.
//
// Not repeated here: what tests/client/http_client_parity_review_test.ts
// already compares (request() heads and bodies, putrequest skips, the state
// machine, the basic HTTPResponse surface, the common status lines) and the
// deliberate differences the README lists under "Client". Where CPython is
// lenient in a way RFC 9112 forbids and h1 raises a named error, the test
// asserts h1's error and says "known difference".
//
// Two fast-check properties generate responses and requests from a small
// grammar and run every case through ONE python3 process per run
// (PYDIFF_SEED replays a seed, PYDIFF_RUNS sets the count).
//
// Probes skip (and pass) when python3 >= 3.10 is not installed. Ignored tests
// are bugs, each with a `// Fixed bug:` comment; PYDIFF_BUGS=1 runs them.

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  HTTPConnection,
  type HTTPResponse,
  IncompleteRead,
} from "../../mod.ts";
import { bytes, text } from "../_util.ts";
import { answer, type Script, WireServer } from "./_wire_server.ts";

const RUNS = Number(Deno.env.get("PYDIFF_RUNS") ?? "80");
const SEED = Number(Deno.env.get("PYDIFF_SEED") ?? "20261202");

const HAVE_PY = (() => {
  try {
    return new Deno.Command("python3", {
      args: [
        "-c",
        "import sys, http.client; sys.exit(0 if sys.version_info >= (3, 10) else 1)",
      ],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();

// deno-lint-ignore no-explicit-any
type Json = any;

function pyTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `pydiff: ${name}`,
    async fn() {
      if (!HAVE_PY) {
        // deno-lint-ignore no-console
        console.log("python3 >= 3.10 with http.client not found: skipped");
        return;
      }
      await fn();
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One response per request path "/c/<i>"; then close, or wait for the client. */
interface Case {
  bytes: string;
  close: boolean;
}
function caseScript(cases: readonly Case[]): Script {
  return async (c) => {
    const req = await c.request();
    if (req === null) return;
    const m = /^[A-Za-z]+ \/c\/(\d+)/.exec(req);
    const cs = cases[Number(m?.[1])];
    if (cs === undefined) return;
    await c.write(cs.bytes);
    if (!cs.close) await c.drain(3000);
  };
}

// ── python side ─────────────────────────────────────────────────────────

const PRELUDE = String.raw`
import http.client, json, os, sys, time
PORT = int(os.environ["PORT"])
IN = json.loads(sys.stdin.read() or "null")
out = {}
def L(v):
    return bytes(v).decode("latin-1")
def exc(e):
    d = {"type": type(e).__name__}
    if isinstance(e, http.client.IncompleteRead):
        d["partial"] = L(e.partial); d["expected"] = e.expected
    return d
def C(timeout=3):
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
def head(r):
    return {"status": r.status, "reason": r.reason, "version": r.version,
            "headers": [[n, v] for n, v in r.getheaders()],
            "will_close": bool(r.will_close), "length": r.length}
def drain(r, how, pieces):
    kind, _, k = how.partition(":")
    k = int(k or 0)
    for _ in range(100000):
        if kind == "all": p = r.read()
        elif kind == "amt": p = r.read(k)
        elif kind == "line": p = r.readline()
        elif kind == "linek": p = r.readline(k)
        elif kind == "read1": p = r.read1(k)
        else:
            b = bytearray(k); n = r.readinto(b); p = bytes(b[:n])
        pieces.append(L(p))
        if not p: break
def full(r, how="all"):
    d = head(r)
    d["pieces"] = []
    try:
        drain(r, how, d["pieces"])
    except Exception as e:
        d["err"] = exc(e)
    d["closed"] = r.isclosed()
    return d
def get(path, how="all", method="GET", c=None):
    own = c is None
    c = c or C()
    try:
        c.request(method, path)
        r = c.getresponse()
        return full(r, how)
    except Exception as e:
        return {"err": exc(e)}
    finally:
        if own: c.close()
`;

async function runPy(
  port: number,
  src: string,
  input?: unknown,
): Promise<Json> {
  const child = new Deno.Command("python3", {
    args: ["-c", PRELUDE + src + "\nprint(json.dumps(out))\n"],
    env: { PORT: String(port) },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode(input === undefined ? "" : JSON.stringify(input)),
  );
  await writer.close();
  const { stdout, stderr, success } = await child.output();
  if (!success) {
    throw new Error(`python3 failed: ${new TextDecoder().decode(stderr)}`);
  }
  const lines = new TextDecoder().decode(stdout).trimEnd().split("\n");
  return JSON.parse(lines.pop()!);
}

// ── h1 side: the same shapes ────────────────────────────────────────────

function exc(e: unknown): Json {
  const d: Json = { type: (e as Error)?.name ?? String(e) };
  if (e instanceof IncompleteRead) {
    d.partial = text(e.partial);
    d.expected = e.expected;
  }
  return d;
}

const C = (port: number, timeout = 3) =>
  new HTTPConnection("127.0.0.1", port, { timeout });

function head(r: HTTPResponse): Json {
  return {
    status: r.status,
    reason: r.reason,
    version: r.version,
    headers: r.getheaders(),
    will_close: r.will_close,
    length: r.length,
  };
}

async function drain(r: HTTPResponse, how: string, pieces: string[]) {
  const [kind, kText] = how.split(":");
  const k = Number(kText ?? 0);
  for (let i = 0; i < 100000; i++) {
    let p: Uint8Array;
    if (kind === "all") p = await r.read();
    else if (kind === "amt") p = await r.read(k);
    else if (kind === "line") p = await r.readline();
    else if (kind === "linek") p = await r.readline(k);
    else if (kind === "read1") p = await r.read1(k);
    else {
      const b = new Uint8Array(k);
      p = b.subarray(0, await r.readinto(b));
    }
    pieces.push(text(p));
    if (p.length === 0) break;
  }
}

async function full(r: HTTPResponse, how = "all"): Promise<Json> {
  const d = head(r);
  d.pieces = [];
  try {
    await drain(r, how, d.pieces);
  } catch (e) {
    d.err = exc(e);
  }
  d.closed = r.isclosed();
  return d;
}

async function get(
  port: number,
  path: string,
  how = "all",
  method = "GET",
): Promise<Json> {
  const c = C(port);
  try {
    await c.request(method, path);
    return await full(await c.getresponse(), how);
  } catch (e) {
    return { err: exc(e) };
  } finally {
    c.close();
  }
}

/** Runs python, then h1, each against a fresh server running `script`. */
async function both(
  script: Script,
  pySrc: string,
  h1: (port: number, out: Json) => Promise<void>,
  input?: unknown,
): Promise<{ py: Json; h1: Json; pyWire: string[]; h1Wire: string[] }> {
  const s1 = new WireServer(script);
  let py: Json;
  try {
    py = await runPy(s1.port, pySrc, input);
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

/** Each case's response through `get("/c/<i>", how, method)` on both sides. */
async function table(
  cases: readonly (Case & { how?: string; method?: string })[],
): Promise<{ py: Json[]; h1: Json[]; pyWire: string[]; h1Wire: string[] }> {
  const specs = cases.map((c, i) => ({
    path: `/c/${i}`,
    how: c.how ?? "all",
    method: c.method ?? "GET",
  }));
  const r = await both(
    caseScript(cases),
    `out["r"] = [get(s["path"], s["how"], s["method"]) for s in IN]`,
    async (port, out) => {
      out.r = [];
      for (const s of specs) {
        out.r.push(await get(port, s.path, s.how, s.method));
      }
    },
    specs,
  );
  return { py: r.py.r, h1: r.h1.r, pyWire: r.pyWire, h1Wire: r.h1Wire };
}

const okCl = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

// ── request bytes ───────────────────────────────────────────────────────

pyTest(
  "request bytes: empty iterable, iterable pieces, a 70 KB body, int header values",
  async () => {
    const big = "z".repeat(70 * 1024);
    const r = await both(
      answer(okCl("k")),
      `
c = C()
def go(*a, **k):
    c.request(*a, **k); c.getresponse().read()
go("PUT", "/e", [])
go("POST", "/f", [b"ab", b"", b"c"], {"X-N": 0, "X-M": -12})
go("POST", "/g", ${JSON.stringify(big)}.encode())
go("PATCH", "/h", b"", {"Content-Type": "a/b"})
go("GET", "/i", None, {"Content-Length": 0})
c.close()
`,
      async (port) => {
        const c = C(port);
        const go = async (...a: Parameters<HTTPConnection["request"]>) => {
          await c.request(...a);
          await (await c.getresponse()).read();
        };
        await go("PUT", "/e", []);
        await go("POST", "/f", [bytes("ab"), new Uint8Array(0), bytes("c")], {
          "X-N": 0,
          "X-M": -12,
        });
        await go("POST", "/g", bytes(big));
        await go("PATCH", "/h", new Uint8Array(0), { "Content-Type": "a/b" });
        await go("GET", "/i", null, { "Content-Length": 0 });
        c.close();
      },
    );
    assert.equal(r.pyWire.length, 1);
    assert.deepEqual(r.h1Wire, r.pyWire);
  },
);

pyTest(
  "request bytes: chunk sizes of 10+ bytes differ only in hex case",
  async () => {
    const piece = "0123456789abcdefghijklmnopqrstuvwxyz"; // 36 = 0x24 ... 0x2A below
    const r = await both(
      answer(okCl("k")),
      `
c = C()
c.request("POST", "/a", [b"${piece}" + b"!!!!!!", b"0123456789"])
c.getresponse().read()
c.close()
`,
      async (port) => {
        const c = C(port);
        await c.request("POST", "/a", [
          bytes(piece + "!!!!!!"),
          bytes("0123456789"),
        ]);
        await (await c.getresponse()).read();
        c.close();
      },
    );
    // Known difference (cosmetic, RFC 9112 §7.1 HEXDIG is case-insensitive):
    // CPython writes chunk sizes in upper case ("2A", "A"), h1 in lower case.
    assert.match(r.pyWire[0]!, /\r\n2A\r\n.*\r\nA\r\n0123456789\r\n0\r\n\r\n/s);
    assert.match(r.h1Wire[0]!, /\r\n2a\r\n.*\r\na\r\n0123456789\r\n0\r\n\r\n/s);
    assert.deepEqual(
      r.h1Wire.map((w) => w.replace(/\r\n(2A|A)\r\n/g, (m) => m.toLowerCase())),
      r.pyWire.map((w) => w.replace(/\r\n(2A|A)\r\n/g, (m) => m.toLowerCase())),
    );
  },
);

pyTest(
  "request bytes: Host leaves out a port equal to the class's default_port",
  async () => {
    const r = await both(
      answer(okCl("k")),
      `
class D(http.client.HTTPConnection):
    default_port = PORT
c = D("127.0.0.1")
c.request("GET", "/d")
c.getresponse().read()
c.close()
`,
      async (port) => {
        class D extends HTTPConnection {
          static override default_port = port;
        }
        const c = new D("127.0.0.1");
        await c.request("GET", "/d");
        await (await c.getresponse()).read();
        c.close();
      },
    );
    assert.match(r.h1Wire[0]!, /\r\nHost: 127\.0\.0\.1\r\n/);
    assert.deepEqual(r.h1Wire, r.pyWire);
  },
);

pyTest(
  "request bytes: tunnelled request to an IPv6 literal has a bracketed Host",
  async () => {
    const tunnel: Script = async (c) => {
      if ((await c.request()) === null) return;
      await c.write("HTTP/1.1 200 Connection established\r\n\r\n");
      await answer(okCl("t"))(c, 0);
    };
    for (
      const [host, port] of [["::1", 8080], ["[::1]:8081", null], [
        "::1",
        80,
      ]] as const
    ) {
      const r = await both(
        tunnel,
        `
c = C()
c.set_tunnel(${JSON.stringify(host)}, ${port === null ? "None" : port})
c.request("GET", "/t")
out["body"] = L(c.getresponse().read())
c.close()
`,
        async (p, out) => {
          const c = C(p);
          c.set_tunnel(host, port);
          await c.request("GET", "/t");
          out.body = text(await (await c.getresponse()).read());
          c.close();
        },
      );
      assert.equal(r.h1.body, r.py.body);
      // The CONNECT line itself differs on purpose (README: 3.11 sends
      // HTTP/1.0 without Host); the tunnelled request must not.
      const second = (w: string) => w.slice(w.indexOf("GET /t"));
      assert.equal(second(r.h1Wire[0]!), second(r.pyWire[0]!), host);
    }
  },
);

// ── status lines and early closes ───────────────────────────────────────

const TAIL = "Content-Length: 2\r\n\r\nhi";

pyTest(
  "status lines: bounds, bare LF, tabs and obs-text in the reason, early closes",
  async () => {
    const raws = [
      `HTTP/1.1 999 Top\r\n${TAIL}`,
      `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 599 Low\r\n${TAIL}`,
      `HTTP/1.1 099 X\r\n${TAIL}`,
      `HTTP/1.1 20 X\r\n${TAIL}`,
      `HTTP/1.1 200OK\r\n${TAIL}`,
      `HTTP/1.1 2x0 OK\r\n${TAIL}`,
      `HTTP/1.1 200 OK\n${TAIL.replaceAll("\r\n", "\n")}`,
      `HTTP/1.1 200 O\tK\r\n${TAIL}`,
      `HTTP/1.1 200 \xe9t\xe9 \x80\xff\r\n${TAIL}`,
      `HTTP/1.1 200 OK  \t\r\n${TAIL}`,
      `HTTP/1.1 100 Continue\r\n\r\n`,
      `HTTP/1.1 20`,
      `HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab`,
      `HTTP/1.0 200 OK\r\n\r\nclose-delimited`,
      `HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n`,
    ];
    const r = await table(raws.map((bytes) => ({ bytes, close: true })));
    for (let i = 0; i < raws.length; i++) {
      assert.deepEqual(r.h1[i], r.py[i], JSON.stringify(raws[i]));
    }
    assert.deepEqual(r.h1Wire, r.pyWire);
  },
);

pyTest(
  "status lines: known differences (h1 strict to RFC 9112 §4, 1xx skipped)",
  async () => {
    const raws = [
      `HTTP/1.1  200 OK\r\n${TAIL}`,
      `HTTP/1.1\t200\tOK\r\n${TAIL}`,
      `HTTP/1.1 199 Odd\r\n${TAIL}`,
      `HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b>\r\n\r\nHTTP/1.1 200 OK\r\n${TAIL}`,
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\nRAW",
    ];
    const r = await table(raws.map((bytes) => ({ bytes, close: true })));
    // Known differences: CPython splits the status line on any whitespace run;
    // RFC 9112 §4 has exactly one SP, and h1 says BadStatusLine.
    assert.equal(r.py[0].status, 200);
    assert.equal(r.h1[0].err.type, "BadStatusLine");
    assert.equal(r.py[1].status, 200);
    assert.equal(r.h1[1].err.type, "BadStatusLine");
    // CPython 3.11 only skips 100: a 199 or a 103 is returned as the final
    // response. h1 skips every 1xx (README: "1xx are skipped", RFC 9110
    // §15.2) and reads the final one; after a 199 (no body, RFC 9112 §6.3)
    // the "hi" is the next head, cut off: BadStatusLine.
    assert.equal(r.py[2].status, 199);
    assert.deepEqual(r.py[2].pieces, [""]);
    assert.equal(r.h1[2].err.type, "BadStatusLine");
    assert.equal(r.py[3].status, 103);
    assert.equal(r.h1[3].status, 200);
    assert.deepEqual(r.h1[3].pieces, ["hi", ""]);
    // A 101 to a request that asked for no upgrade: CPython keeps the
    // connection for the next request (will_close False), though what follows
    // is not HTTP; h1 gives the connection up (RFC 9110 §15.2.2).
    assert.deepEqual([r.py[4].status, r.py[4].will_close], [101, false]);
    assert.deepEqual([r.h1[4].status, r.h1[4].will_close], [101, true]);
    assert.deepEqual(r.h1[4].pieces, r.py[4].pieces);
  },
);

pyTest(
  "1xx: informational keeps every 100/103 in order with its headers",
  async () => {
    const s = new WireServer(caseScript([{
      bytes: "HTTP/1.1 100 Continue\r\n\r\n" +
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
        "HTTP/1.1 103 Early Hints\r\nLink: </b>\r\nLink: </c>\r\n\r\n" +
        okCl("hi"),
      close: true,
    }]));
    try {
      const c = C(s.port);
      await c.request("GET", "/c/0");
      const r = await c.getresponse();
      assert.deepEqual(
        r.informational.map((
          i,
        ) => [i.status, i.reason, i.headers.get_all("link")]),
        [[100, "Continue", null], [103, "Early Hints", ["</a>"]], [
          103,
          "Early Hints",
          ["</b>", "</c>"],
        ]],
      );
      assert.equal(text(await r.read()), "hi");
      c.close();
    } finally {
      await s.close();
    }
  },
);

// ── header fields ───────────────────────────────────────────────────────

pyTest(
  "headers: Latin-1 and UTF-8 bytes, empty values, repeats, and the HTTPMessage reading API",
  async () => {
    const ascii =
      "HTTP/1.1 200 OK\r\nX-Empty:\r\nx-rep: 1\r\nX-Tab:\ta\tb\r\n" +
      "X-Rep: 2\r\nSet-Cookie: a=1; Path=/\r\nset-cookie: b=2\r\n" +
      'X-Colon: a: b: c\r\nX-Q: "q\\"x"\r\n' + TAIL;
    const latin = "HTTP/1.1 200 OK\r\nX-L: caf\xe9 \x80\x9f\xff\r\n" +
      "X-U: caf\xc3\xa9\r\nX-Nbsp: \xa0a\xa0\r\n" + TAIL;
    const r = await both(
      caseScript([{ bytes: ascii, close: false }, {
        bytes: latin,
        close: false,
      }]),
      `
out["r"] = []
for i in range(2):
    c = C()
    c.request("GET", "/c/%d" % i)
    r = c.getresponse()
    m = r.msg
    d = {}
    d["headers"] = [[n, v] for n, v in r.getheaders()]
    d["getheader"] = [r.getheader(n) for n in ["x-rep", "X-EMPTY", "set-cookie", "x-l", "nope"]]
    d["default"] = [r.getheader("nope", "d"), m.get("nope", "f"), m.get_all("nope"), m.get_all("nope", "g")]
    d["get"] = [m.get("X-REP"), m.get_all("x-rep"), m.get_all("X-Empty")]
    d["keys"] = [list(m.keys()), list(m.values()), len(m), "x-tab" in m, "nope" in m]
    d["str"] = str(m) if i == 0 else None
    d["body"] = L(r.read())
    out["r"].append(d)
    c.close()
`,
      async (port, out) => {
        out.r = [];
        for (let i = 0; i < 2; i++) {
          const c = C(port);
          await c.request("GET", `/c/${i}`);
          const r = await c.getresponse();
          const m = r.msg;
          const d: Json = {};
          d.headers = r.getheaders();
          d.getheader = ["x-rep", "X-EMPTY", "set-cookie", "x-l", "nope"].map((
            n,
          ) => r.getheader(n));
          d.default = [
            r.getheader("nope", "d"),
            m.get("nope", "f"),
            m.get_all("nope"),
            m.get_all("nope", "g"),
          ];
          d.get = [m.get("X-REP"), m.get_all("x-rep"), m.get_all("X-Empty")];
          d.keys = [
            m.keys(),
            m.values(),
            m.size,
            m.has("x-tab"),
            m.has("nope"),
          ];
          d.str = i === 0 ? m.toString() : null;
          d.body = text(await r.read());
          out.r.push(d);
          c.close();
        }
      },
    );
    assert.deepEqual(r.h1, r.py);
    assert.deepEqual(r.h1.r[1].headers[0], ["X-L", "caf\xe9 \x80\x9f\xff"]);
  },
);

pyTest(
  "header values with trailing whitespace: h1 drops it (RFC 9110 §5.5), CPython keeps it (known difference)",
  async () => {
    const raw = "HTTP/1.1 200 OK\r\nX-T: a b \t\r\nX-S:   \r\n" + TAIL;
    const r = await table([{ bytes: raw, close: true }]);
    assert.deepEqual(r.py[0].headers.slice(0, 2), [["X-T", "a b \t"], [
      "X-S",
      "",
    ]]);
    assert.deepEqual(r.h1[0].headers.slice(0, 2), [["X-T", "a b"], [
      "X-S",
      "",
    ]]);
    const strip = (x: Json) => ({ ...x, headers: null });
    assert.deepEqual(strip(r.h1[0]), strip(r.py[0]));
  },
);

// Fixed bug: RFC 9112 §5.2: "A user agent that receives an obs-fold in a response
// message ... MUST replace each received obs-fold with one or more SP octets
// prior to interpreting the field value." CPython accepts the folded field
// (keeping the raw "a\r\n  b"), and so does curl; h1's client refuses the
// whole response with HTTPException OBSOLETE_LINE_FOLDING (the parser applies
// the server-side "reject or unfold" rule to responses too). Expected: status
// 200, X-F "a b" (SPs only), body "hi".
pyTest("obs-fold in a response header is unfolded, not refused", async () => {
  const raw = "HTTP/1.1 200 OK\r\nX-F: a\r\n  b\r\nX-G: c\r\n\tmore\r\n" + TAIL;
  const r = await table([{ bytes: raw, close: true }]);
  assert.equal(r.py[0].status, 200);
  assert.deepEqual(r.py[0].pieces, ["hi", ""]);
  const h1 = r.h1[0];
  assert.equal(h1.err, undefined, JSON.stringify(h1.err));
  assert.equal(h1.status, 200);
  const headers = new Map(h1.headers as [string, string][]);
  assert.match(headers.get("X-F")!, /^a +b$/);
  assert.match(headers.get("X-G")!, /^c +more$/);
  assert.deepEqual(h1.pieces, ["hi", ""]);
});

pyTest(
  "header lines without a colon or with space before it: h1 refuses where CPython drops fields (known difference)",
  async () => {
    const raws = [
      "HTTP/1.1 200 OK\r\nX-A: 1\r\nbogus\r\nContent-Length: 2\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 2\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\n: empty-name\r\nContent-Length: 2\r\n\r\nhi",
    ];
    const r = await table(raws.map((bytes) => ({ bytes, close: true })));
    // CPython's email parser takes the first bad line as the start of the body:
    // Content-Length is silently lost and the body read to the close. h1
    // refuses the response (RFC 9112 §5: field-line = field-name ":" ...).
    assert.deepEqual(r.py[0].headers, [["X-A", "1"]]);
    assert.equal(r.py[1].headers.length, 0);
    for (const h1 of r.h1) assert.equal(h1.err.type, "HTTPException");
  },
);

// ── framing ─────────────────────────────────────────────────────────────

pyTest(
  "Content-Length forms: equal repeats, leading zeros and OWS agree; sign, lists and conflicts are h1's named errors",
  async () => {
    const cl = (...values: string[]) =>
      `HTTP/1.1 200 OK\r\n${
        values.map((v) => `Content-Length:${v}\r\n`).join("")
      }\r\nhi`;
    const same = [cl(" 2"), cl(" 002"), cl(" 2 \t"), cl(" 2", " 2"), cl("\t2")];
    const differ = [
      cl(" +2"),
      cl(" 2, 2"),
      cl(" 2", " 3"),
      cl(" -1"),
      cl(" 2 2"),
    ];
    const r = await table(
      [...same, ...differ].map((bytes) => ({ bytes, close: true })),
    );
    // Header values differ only by the trailing OWS CPython keeps (above).
    const trim = (x: Json) => ({
      ...x,
      headers: x.headers.map(([n, v]: string[]) => [n, v!.trim()]),
    });
    for (let i = 0; i < same.length; i++) {
      assert.deepEqual(r.h1[i], trim(r.py[i]), JSON.stringify(same[i]));
    }
    // Known differences (README, protocol core: "non-digit ... lengths;
    // differing Content-Lengths"; "identical ones fold"). CPython int()s the
    // first field, so "+2" is 2, and "2, 2", "-1", "2 2" become "no length"
    // (read to close); h1 folds "2, 2" (RFC 9110 §8.6) and refuses the rest.
    const h1 = r.h1.slice(same.length).map((x) => x.err?.type ?? x.length);
    assert.deepEqual(h1, [
      "HTTPException",
      2,
      "HTTPException",
      "HTTPException",
      "HTTPException",
    ]);
    assert.deepEqual(
      r.py.slice(same.length).map((x) => [x.length, x.pieces?.[0]]),
      [[2, "hi"], [null, "hi"], [2, "hi"], [null, "hi"], [null, "hi"]],
    );
  },
);

pyTest(
  "Transfer-Encoding: chunked in any case, identity, unknown codings, HTTP/1.0 chunked",
  async () => {
    const ch = "2\r\nhi\r\n0\r\n\r\n";
    const raws = [
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n${ch}`,
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nhi`,
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: foo\r\n\r\nhi`,
      `HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${ch}`,
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n002;a=b;c="d e"\r\nhi\r\n0000\r\n\r\n`,
    ];
    const r = await table(raws.map((bytes) => ({ bytes, close: true })));
    for (let i = 0; i < raws.length; i++) {
      assert.deepEqual(r.h1[i], r.py[i], JSON.stringify(raws[i]));
    }
  },
);

// Fixed bug: with "Transfer-Encoding: gzip, chunked" h1 removes only the chunked
// coding and hands out the still-gzipped bytes as the body, with no error:
// `UnknownTransferEncoding` exists for exactly this ("a transfer coding we
// cannot decode") but no response path raises it (http1/framing.ts
// checkCodings returns early for responses). Go's net/http refuses such a
// response ("unsupported transfer encoding"); CPython does not treat it as
// chunked at all and returns the raw framing. Expected: UnknownTransferEncoding
// (or the decoded "hello"), never the gzip member as content.
pyTest(
  "Transfer-Encoding: gzip, chunked is not handed out as content",
  async () => {
    const gz = new Uint8Array(
      await new Response(
        new Blob(["hello"]).stream().pipeThrough(
          new CompressionStream("gzip"),
        ),
      ).arrayBuffer(),
    );
    const body = `${gz.length.toString(16)}\r\n${text(gz)}\r\n0\r\n\r\n`;
    const raw =
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${body}`;
    const r = await table([{ bytes: raw, close: true }]);
    // CPython: not chunked, so the raw chunked framing is the body.
    assert.equal(r.py[0].pieces[0], body);
    const h1 = r.h1[0];
    assert.ok(
      h1.err?.type === "UnknownTransferEncoding" || h1.pieces?.[0] === "hello",
      `got ${JSON.stringify(h1.err ?? h1.pieces)}`,
    );
  },
);

pyTest(
  "Content-Length body cut short: IncompleteRead partial and expected match after read(2)",
  async () => {
    const raws = [
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
      "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nab",
    ];
    const r = await both(
      caseScript(raws.map((bytes) => ({ bytes, close: true }))),
      `
out["r"] = []
for i in range(3):
    c = C()
    c.request("GET", "/c/%d" % i)
    r = c.getresponse()
    first = L(r.read(2)) if i == 0 else None
    try:
        out["r"].append([first, L(r.read())])
    except Exception as e:
        out["r"].append([first, exc(e), r.isclosed()])
    c.close()
`,
      async (port, out) => {
        out.r = [];
        for (let i = 0; i < 3; i++) {
          const c = C(port);
          await c.request("GET", `/c/${i}`);
          const r = await c.getresponse();
          const first = i === 0 ? text(await r.read(2)) : null;
          try {
            out.r.push([first, text(await r.read())]);
          } catch (e) {
            out.r.push([first, exc(e), r.isclosed()]);
          }
          c.close();
        }
      },
    );
    assert.deepEqual(r.h1, r.py);
    assert.deepEqual(r.h1.r[0], ["ab", {
      type: "IncompleteRead",
      partial: "cde",
      expected: 5,
    }, true]);
  },
);

pyTest(
  "chunked body: read(n) across chunk boundaries, readline across chunks, read1 within chunks",
  async () => {
    const chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nab\n\r\n5;x=1\r\ncd\nef\r\n1\r\ng\r\nA\r\nhij\nklmnop\r\n0\r\nT: 1\r\n\r\n";
    const hows = [
      "amt:1",
      "amt:2",
      "amt:4",
      "amt:7",
      "amt:100",
      "line",
      "read1:2",
      "read1:100",
      "into:3",
    ];
    const r = await table(
      hows.map((how) => ({ bytes: chunked, close: false, how })),
    );
    for (let i = 0; i < hows.length; i++) {
      assert.deepEqual(r.h1[i], r.py[i], hows[i]);
    }
    assert.deepEqual(r.h1[5].pieces, [
      "ab\n",
      "cd\n",
      "efghij\n",
      "klmnop",
      "",
    ]);
  },
);

pyTest(
  "readline(limit) on a chunked body: h1 keeps to the limit, CPython can exceed it (known difference)",
  async () => {
    const raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "1\r\na\r\n2\r\nbc\r\n3\r\nd\nf\r\n0\r\n\r\n";
    const r = await table([{ bytes: raw, close: false, how: "linek:2" }]);
    // CPython 3.11 (IOBase.readline over HTTPResponse.peek): "abc" for
    // readline(2).
    assert.equal(r.py[0].pieces[0], "abc");
    assert.deepEqual(r.h1[0].pieces, ["ab", "cd", "\n", "f", ""]);
    assert.equal(r.py[0].pieces.join(""), r.h1[0].pieces.join(""));
  },
);

// Fixed bug: CPython's read(amt) and readinto(b) close the response as soon as the
// Content-Length is used up (`if not self.length: self._close_conn()`), so a
// porter's `r.read(int(r.getheader("Content-Length")))` followed by the next
// request()/getresponse() works on the same connection. In h1 the response
// stays open (isclosed() false) until one more read finds the end, so the
// next getresponse() throws ResponseNotReady("Request-sent") and the
// connection is stuck until the caller reads again.
pyTest(
  "read(n) / readinto of exactly the Content-Length ends the response",
  async () => {
    const r = await both(
      answer(okCl("abcd"), okCl("second")),
      `
out["r"] = []
for how in ["read", "readinto"]:
    c = C()
    c.request("GET", "/" + how)
    r = c.getresponse()
    if how == "read":
        got = L(r.read(4))
    else:
        b = bytearray(4); got = L(b[:r.readinto(b)])
    row = [got, r.isclosed(), r.length]
    try:
        c.request("GET", "/next"); row.append(L(c.getresponse().read()))
    except Exception as e:
        row.append(exc(e))
    out["r"].append(row)
    c.close()
`,
      async (port, out) => {
        out.r = [];
        for (const how of ["read", "readinto"]) {
          const c = C(port);
          await c.request("GET", "/" + how);
          const r = await c.getresponse();
          let got: string;
          if (how === "read") got = text(await r.read(4));
          else {
            const b = new Uint8Array(4);
            got = text(b.subarray(0, await r.readinto(b)));
          }
          const row: Json[] = [got, r.isclosed(), r.length];
          try {
            await c.request("GET", "/next");
            row.push(text(await (await c.getresponse()).read()));
          } catch (e) {
            row.push(exc(e));
          }
          out.r.push(row);
          c.close();
        }
      },
    );
    assert.deepEqual(r.py.r, [["abcd", true, 0, "second"], [
      "abcd",
      true,
      0,
      "second",
    ]]);
    assert.deepEqual(r.h1.r, r.py.r);
    assert.deepEqual(r.h1Wire, r.pyWire);
  },
);

pyTest(
  "readline to the exact end: CPython keeps the response open, h1 closes it when no LF ends it",
  async () => {
    const r = await both(
      caseScript([{ bytes: okCl("ab\nc\n"), close: false }, {
        bytes: okCl("xy\nz"),
        close: false,
      }]),
      `
out["r"] = []
for path in ["/c/0", "/c/1"]:
    c = C()
    c.request("GET", path)
    r = c.getresponse()
    out["r"].append([L(r.readline()), L(r.readline()), r.isclosed()])
    c.close()
`,
      async (port, out) => {
        out.r = [];
        for (const path of ["/c/0", "/c/1"]) {
          const c = C(port);
          await c.request("GET", path);
          const r = await c.getresponse();
          out.r.push([
            text(await r.readline()),
            text(await r.readline()),
            r.isclosed(),
          ]);
          c.close();
        }
      },
    );
    assert.deepEqual(r.py.r[0], r.h1.r[0]);
    // Known difference, h1's favour: the last line without LF needs a look at
    // the end, and h1 then releases the connection; CPython 3.11's readline
    // never closes (its next getresponse() raises ResponseNotReady).
    assert.deepEqual(r.py.r[1], ["xy\n", "z", false]);
    assert.deepEqual(r.h1.r[1], ["xy\n", "z", true]);
  },
);

// ── connection reuse ────────────────────────────────────────────────────

pyTest(
  "a will_close response left unread stays readable after the next request opens a new connection",
  async () => {
    const r = await both(
      answer(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nfirst",
        okCl("second"),
      ),
      `
c = C()
c.request("GET", "/1")
r1 = c.getresponse()
c.request("GET", "/2")
r2 = c.getresponse()
out["r"] = [r1.will_close, L(r2.read()), L(r1.read()), r1.isclosed(), r2.isclosed()]
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("GET", "/1");
        const r1 = await c.getresponse();
        await c.request("GET", "/2");
        const r2 = await c.getresponse();
        out.r = [
          r1.will_close,
          text(await r2.read()),
          text(await r1.read()),
          r1.isclosed(),
          r2.isclosed(),
        ];
        c.close();
      },
    );
    assert.deepEqual(r.h1, r.py);
    assert.deepEqual(r.h1Wire, r.pyWire);
    assert.equal(r.h1Wire.length, 2);
  },
);

pyTest(
  "server half-closes after a keep-alive response: a POST gets RemoteDisconnected, the next request reconnects",
  async () => {
    const script: Script = async (c, index) => {
      if ((await c.request()) === null) return;
      await c.write(okCl(index === 0 ? "one" : "three"));
      if (index !== 0) return answer(okCl("more"))(c, 0);
      await c.closeWrite();
      await c.drain(3000);
    };
    const r = await both(
      script,
      `
c = C()
c.request("GET", "/1")
out["a"] = L(c.getresponse().read())
time.sleep(0.1)
try:
    c.request("POST", "/2", b"x")
    out["b"] = L(c.getresponse().read())
except Exception as e:
    out["b"] = exc(e)
c.request("GET", "/3")
out["c"] = L(c.getresponse().read())
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("GET", "/1");
        out.a = text(await (await c.getresponse()).read());
        await sleep(100);
        try {
          await c.request("POST", "/2", bytes("x"));
          out.b = text(await (await c.getresponse()).read());
        } catch (e) {
          out.b = exc(e);
        }
        await c.request("GET", "/3");
        out.c = text(await (await c.getresponse()).read());
        c.close();
      },
    );
    assert.deepEqual(r.h1, r.py);
    assert.deepEqual(r.h1.b, { type: "RemoteDisconnected" });
    assert.deepEqual(r.h1Wire, r.pyWire);
  },
);

// Fixed bug: RFC 9112 §9.6: "A client that sends a "close" connection option
// MUST NOT send further requests on that connection (after the one
// containing the "close")" - and the server "MUST initiate closure" after
// its response, where a "close" in the response is only a SHOULD. h1's
// HTTPConnection takes will_close from the response alone (the caller's
// `Connection: close` is ignored), so the next request is written to the
// connection the server is closing and a POST fails with
// RemoteDisconnected (a GET is quietly sent twice). CPython 3.11 has the same
// flaw; h1's own Pool honours the request's close (README, Pool). Expected:
// will_close true, and the POST goes out on a new connection and succeeds.
pyTest(
  "a request that says Connection: close is the last on its connection",
  async () => {
    const script: Script = async (c, index) => {
      if ((await c.request()) === null) return;
      await c.write(okCl(index === 0 ? "one" : "two"));
      // Honours the request's close without saying so (a SHOULD), reading
      // (and ignoring) what still comes so the close is a clean FIN.
      await c.drain(100);
    };
    const r = await both(
      script,
      `
c = C()
c.request("GET", "/1", None, {"Connection": "close"})
r = c.getresponse()
out["a"] = [r.will_close, L(r.read())]
try:
    c.request("POST", "/2", b"x")
    out["b"] = L(c.getresponse().read())
except Exception as e:
    out["b"] = exc(e)
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("GET", "/1", null, { Connection: "close" });
        const r = await c.getresponse();
        out.a = [r.will_close, text(await r.read())];
        try {
          await c.request("POST", "/2", bytes("x"));
          out.b = text(await (await c.getresponse()).read());
        } catch (e) {
          out.b = exc(e);
        }
        c.close();
      },
    );
    // CPython shows the same flaw (not what is asserted).
    assert.deepEqual(r.py.a, [false, "one"]);
    assert.deepEqual(r.h1.a, [true, "one"]);
    assert.equal(r.h1.b, "two");
    assert.equal(r.h1Wire.length, 2);
    assert.ok(
      !r.h1Wire[0]!.includes("POST"),
      "POST sent on the closing connection",
    );
  },
);

pyTest(
  "a 408 the server sent while the connection was idle is read as the next response",
  async () => {
    const script: Script = async (c) => {
      if ((await c.request()) === null) return;
      await c.write(okCl("one"));
      await sleep(30);
      await c.write(
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
      );
      await c.closeWrite();
      await c.drain(3000);
    };
    const r = await both(
      script,
      `
c = C()
c.request("GET", "/1")
out["a"] = L(c.getresponse().read())
time.sleep(0.15)
c.request("GET", "/2")
r = c.getresponse()
out["b"] = [r.status, r.will_close, L(r.read())]
c.close()
`,
      async (port, out) => {
        const c = C(port);
        await c.request("GET", "/1");
        out.a = text(await (await c.getresponse()).read());
        await sleep(150);
        await c.request("GET", "/2");
        const r = await c.getresponse();
        out.b = [r.status, r.will_close, text(await r.read())];
        c.close();
      },
    );
    assert.deepEqual(r.h1, r.py);
    assert.deepEqual(r.h1.b, [408, true, ""]);
    assert.deepEqual(r.h1Wire, r.pyWire);
  },
);

pyTest(
  "close() on the connection ends an unread keep-alive response; a will_close one stays readable",
  async () => {
    const r = await both(
      caseScript([
        { bytes: okCl("keep"), close: false },
        {
          bytes:
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nend",
          close: true,
        },
      ]),
      `
out["r"] = []
for i in range(2):
    c = C()
    c.request("GET", "/c/%d" % i)
    r = c.getresponse()
    c.close()
    out["r"].append([L(r.read()), r.isclosed()])
`,
      async (port, out) => {
        out.r = [];
        for (let i = 0; i < 2; i++) {
          const c = C(port);
          await c.request("GET", `/c/${i}`);
          const r = await c.getresponse();
          c.close();
          out.r.push([text(await r.read()), r.isclosed()]);
        }
      },
    );
    assert.deepEqual(r.h1, r.py);
    assert.deepEqual(r.h1.r, [["", true], ["end", true]]);
  },
);

pyTest(
  "a server that stalls mid-body: the per-read timeout fires (TimeoutError family) with the bytes so far",
  async () => {
    const script: Script = async (c) => {
      if ((await c.request()) === null) return;
      await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
      await c.drain(1500);
    };
    const r = await both(
      script,
      `
c = C(timeout=0.3)
c.request("GET", "/")
r = c.getresponse()
out["a"] = L(r.read(3))
t = time.monotonic()
try:
    r.read(3)
except Exception as e:
    out["err"] = [type(e).__name__, isinstance(e, TimeoutError)]
out["waited"] = time.monotonic() - t
c.close()
`,
      async (port, out) => {
        const c = C(port, 0.3);
        await c.request("GET", "/");
        const r = await c.getresponse();
        out.a = text(await r.read(3));
        const t = performance.now();
        try {
          await r.read(3);
        } catch (e) {
          out.err = [(e as Error).name, (e as { code?: string }).code];
        }
        out.waited = (performance.now() - t) / 1000;
        c.close();
      },
    );
    assert.equal(r.h1.a, r.py.a);
    assert.deepEqual(r.py.err, ["TimeoutError", true]);
    // Known naming difference: h1's ReadTimeout is net's TimeoutError
    // subclass with code ETIMEDOUT (README error table).
    assert.deepEqual(r.h1.err, ["ReadTimeout", "ETIMEDOUT"]);
    assert.ok(r.h1.waited >= 0.25 && r.h1.waited < 1.5, String(r.h1.waited));
  },
);

pyTest(
  "chunked body missing the final CRLF after the last chunk: CPython completes, h1 says IncompleteRead (known difference)",
  async () => {
    const raws = [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi",
      // The first size line of "005\r\nhello..." cut after "00".
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00",
    ];
    const r = await table(raws.map((bytes) => ({ bytes, close: true })));
    // RFC 9112 §7.1: chunked-body = *chunk last-chunk trailer-section CRLF;
    // without the CRLF the message is incomplete. CPython's trailer reader
    // stops at EOF and returns the body as complete.
    // A size line cut inside its leading zeros even reads to CPython as the
    // last chunk: an empty body, silently complete.
    assert.deepEqual(r.py.map((x) => x.err?.type ?? x.pieces[0]), [
      "hi",
      "hi",
      "IncompleteRead",
      "IncompleteRead",
      "",
    ]);
    assert.deepEqual(r.h1.map((x) => [x.err?.type, x.err?.partial]), [
      ["IncompleteRead", "hi"],
      ["IncompleteRead", "hi"],
      ["IncompleteRead", "hi"],
      ["IncompleteRead", "hi"],
      ["IncompleteRead", ""],
    ]);
  },
);

pyTest(
  "a file body: CPython sends it chunked, h1 with its size as Content-Length (known difference)",
  async () => {
    const path = await Deno.makeTempFile({ prefix: "h1_pydiff_" });
    try {
      await Deno.writeTextFile(path, "hello");
      const r = await both(
        answer(okCl("k")),
        `
c = C()
with open(${JSON.stringify(path)}, "rb") as f:
    c.request("PUT", "/f", f)
    c.getresponse().read()
c.close()
`,
        async (port) => {
          const c = C(port);
          using f = await Deno.open(path);
          await c.request("PUT", "/f", f);
          await (await c.getresponse()).read();
          c.close();
        },
      );
      // Both frame the same five bytes; h1 (JSDoc of request(): "files" get
      // Content-Length) lets servers without chunked uploads read it too.
      const head =
        "PUT /f HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\nAccept-Encoding: identity\r\n";
      assert.deepEqual(r.pyWire, [
        `${head}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      ]);
      assert.deepEqual(r.h1Wire, [`${head}Content-Length: 5\r\n\r\nhello`]);
    } finally {
      await Deno.remove(path);
    }
  },
);

// A deterministic body with lines of varied length.
function bigBody(n: number): string {
  let s = "";
  let x = 12345;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += String.fromCharCode(x % 7 === 0 ? 10 : 32 + (x >> 8) % 95);
  }
  return s.slice(0, n);
}

pyTest(
  "large bodies across h1's 64 KiB read buffer: read(n), readinto, readline, read1",
  async () => {
    const body = bigBody(300_000);
    let chunkedBody = "";
    for (let at = 0, i = 0; at < body.length; i++) {
      const n = [1, 70_000, 4095, 100_001, 17][i % 5]!;
      const piece = body.slice(at, at + n);
      chunkedBody += `${piece.length.toString(16)}\r\n${piece}\r\n`;
      at += piece.length;
    }
    const cl = okCl(body);
    const ch =
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody}0\r\n\r\n`;
    const hows = ["amt:8191", "into:65537", "line", "read1:5000", "all"];
    const cases = [
      ...hows.map((how) => ({ bytes: cl, close: false, how })),
      ...hows.map((
        how,
      ) => ({ bytes: ch, close: false, how })),
    ];
    const r = await table(cases);
    for (let i = 0; i < cases.length; i++) {
      const { how } = cases[i]!;
      const py = r.py[i], h1 = r.h1[i];
      assert.equal(h1.err, undefined, JSON.stringify(h1.err));
      assert.equal(h1.pieces.join(""), body, how);
      assert.equal(py.pieces.join(""), body, how);
      if (how.startsWith("read1")) {
        // One socket read each: the sizes depend on buffering; each <= 5000.
        assert.ok(h1.pieces.every((p: string) => p.length <= 5000));
      } else {
        assert.deepEqual(
          h1.pieces.map((p: string) => p.length),
          py.pieces.map((p: string) => p.length),
          `${i} ${how}`,
        );
      }
    }
  },
);

pyTest("a response dripped a few bytes at a time parses the same", async () => {
  const raws = [
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "3;e=1\r\nab\n\r\nA\r\ncdefghij\nk\r\n0\r\nT: 1\r\n\r\n",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 11\r\n\r\nline\nline2\n",
  ];
  const hows = ["all", "line", "amt:3"];
  const cases = raws.flatMap((bytes) =>
    hows.map((how) => ({ bytes, close: false, how }))
  );
  const dripped: Script = async (c) => {
    const req = await c.request();
    if (req === null) return;
    const cs = cases[Number(/\/c\/(\d+)/.exec(req)?.[1])]!;
    for (let at = 0; at < cs.bytes.length; at += 7) {
      await c.write(cs.bytes.slice(at, at + 7));
      await sleep(1);
    }
    await c.drain(3000);
  };
  const specs = cases.map((c, i) => ({ path: `/c/${i}`, how: c.how }));
  const r = await both(
    dripped,
    `out["r"] = [get(s["path"], s["how"]) for s in IN]`,
    async (port, out) => {
      out.r = [];
      for (const s of specs) out.r.push(await get(port, s.path, s.how));
    },
    specs,
  );
  // CPython's readline() never closes the response (see above).
  const noClosed = (x: Json[]) =>
    x.map((d, i) => specs[i]!.how === "line" ? { ...d, closed: null } : d);
  assert.deepEqual(noClosed(r.h1.r), noClosed(r.py.r));
  assert.deepEqual(r.h1.r[1].pieces, ["ab\n", "cdefghij\n", "k", ""]);
});

// ── property: random responses through both clients ─────────────────────

const VCHAR = Array.from(
  { length: 0x7e - 0x21 + 1 },
  (_, i) => String.fromCharCode(0x21 + i),
);
// obs-text both sides decode as Latin-1. Not U+0085: CPython's email parser
// splits header lines on it (str.splitlines), a CPython quirk.
const OBS = ["\x80", "\x9f", "\xa0", "\xe9", "\xff"];
const edgeChar = fc.constantFrom(...VCHAR, ...OBS);
const innerChar = fc.constantFrom(...VCHAR, ...OBS, " ", " ", "\t");
// Text with no whitespace at either end (both sides would trim it anyway,
// differently: see the trailing-whitespace test).
const trimmed = (max: number) =>
  fc.oneof(
    fc.constant(""),
    edgeChar,
    fc.tuple(edgeChar, fc.string({ unit: innerChar, maxLength: max }), edgeChar)
      .map(([a, b, c]) => a + b + c),
  );

interface RespSpec {
  version: "HTTP/1.1" | "HTTP/1.0";
  status: number;
  reason: string | null;
  lf: boolean;
  interim: boolean;
  fields: [string, string][];
  framingAt: number;
  conn: string | null;
  framing: "cl" | "chunked" | "close";
  clStyle: "plain" | "zeros" | "dup" | "lower";
  te: string;
  body: Uint8Array;
  cuts: number[];
  chunkStyle: { upper: boolean; zeros: number; ext: number }[];
  trailers: [string, string][];
  method: "GET" | "HEAD";
  how: string;
  cut: number | null;
  serverClose: boolean;
}

const respSpec: fc.Arbitrary<RespSpec> = fc.record({
  version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
  status: fc.constantFrom(
    200,
    200,
    201,
    203,
    206,
    299,
    301,
    404,
    418,
    500,
    599,
    600,
    999,
    204,
    304,
  ),
  reason: fc.option(trimmed(12), { freq: 6 }),
  lf: fc.boolean(),
  interim: fc.boolean(),
  fields: fc.array(
    fc.tuple(
      fc.constantFrom(
        "X-A",
        "x-a",
        "X-Bb",
        "Set-Cookie",
        "Content-Type",
        "X-1_~!",
      ),
      trimmed(16),
    ),
    { maxLength: 5 },
  ),
  framingAt: fc.nat(6),
  conn: fc.constantFrom(
    null,
    null,
    "close",
    "Close",
    "keep-alive",
    "Keep-Alive",
  ),
  framing: fc.constantFrom("cl", "chunked", "chunked", "close"),
  clStyle: fc.constantFrom("plain", "zeros", "dup", "lower"),
  te: fc.constantFrom("chunked", "Chunked", "CHUNKED"),
  body: fc.uint8Array({ maxLength: 120 }),
  cuts: fc.array(fc.nat(119), { maxLength: 6 }),
  chunkStyle: fc.array(
    fc.record({
      upper: fc.boolean(),
      zeros: fc.nat(2),
      ext: fc.nat(3),
    }),
    { minLength: 8, maxLength: 8 },
  ),
  trailers: fc.array(fc.tuple(fc.constantFrom("X-T", "X-U"), trimmed(6)), {
    maxLength: 2,
  }),
  method: fc.constantFrom("GET", "GET", "GET", "HEAD"),
  how: fc.oneof(
    { arbitrary: fc.constant("all"), weight: 3 },
    fc.integer({ min: 1, max: 40 }).map((k) => `amt:${k}`),
    fc.constant("line"),
    fc.integer({ min: 1, max: 40 }).map((k) => `linek:${k}`),
    fc.constant("read1:-1"),
    fc.integer({ min: 1, max: 40 }).map((k) => `read1:${k}`),
    fc.integer({ min: 1, max: 40 }).map((k) => `into:${k}`),
  ),
  // Non-null 2 times in 3 (fc.option's freq is 1 / P(null)).
  cut: fc.option(fc.double({ min: 0, max: 0.999, noNaN: true }), { freq: 3 }),
  serverClose: fc.boolean(),
}) as fc.Arbitrary<RespSpec>;

const EXTS = ["", ";a=b", ' ;q="x y"', ";n"];

function buildResponse(
  s: RespSpec,
): Case & { how: string; method: string; cutChunked: boolean } {
  const eol = s.lf ? "\n" : "\r\n";
  const noBody = s.method === "HEAD" || s.status === 204 || s.status === 304;
  let framing = s.framing;
  if (noBody && framing === "chunked") framing = "cl";
  let conn = s.conn;
  // RFC 9112 §6.1: HTTP/1.0 with Transfer-Encoding closes in h1 (README);
  // not generated.
  if (s.version === "HTTP/1.0" && framing === "chunked") conn = null;
  const body = text(s.body);
  const fields = s.fields.map(([n, v]) => [n, v] as [string, string]);
  const framingFields: [string, string][] = [];
  if (framing === "cl") {
    const n = String(body.length);
    if (s.clStyle === "zeros") framingFields.push(["Content-Length", "00" + n]);
    else if (s.clStyle === "lower") framingFields.push(["content-length", n]);
    else framingFields.push(["Content-Length", n]);
    if (s.clStyle === "dup") framingFields.push(["Content-Length", n]);
  } else if (framing === "chunked") {
    framingFields.push(["Transfer-Encoding", s.te]);
  }
  if (conn !== null) framingFields.push(["Connection", conn]);
  fields.splice(Math.min(s.framingAt, fields.length), 0, ...framingFields);
  let wireBody = "";
  let lastChunkAt = 0;
  if (!noBody && framing === "chunked") {
    const cuts = [...new Set(s.cuts.filter((c) => c > 0 && c < body.length))]
      .sort((a, b) => a - b);
    const edges = [0, ...cuts, body.length];
    for (let i = 0; i + 1 < edges.length; i++) {
      const piece = body.slice(edges[i], edges[i + 1]);
      if (piece.length === 0) continue;
      const st = s.chunkStyle[i % s.chunkStyle.length]!;
      let hex = piece.length.toString(16);
      if (st.upper) hex = hex.toUpperCase();
      wireBody += "0".repeat(st.zeros) + hex + EXTS[st.ext]! + "\r\n" + piece +
        "\r\n";
    }
    lastChunkAt = wireBody.length;
    wireBody += "0" + EXTS[s.chunkStyle[0]!.ext]! + "\r\n" +
      s.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n";
  } else if (!noBody) {
    wireBody = body;
  }
  let cutChunked = false;
  if (
    s.cut !== null && !noBody && framing !== "close" && body.length > 0 &&
    s.how === "all"
  ) {
    if (framing === "cl") {
      wireBody = wireBody.slice(0, Math.floor(s.cut * body.length));
    } else {
      wireBody = wireBody.slice(0, Math.floor(s.cut * (lastChunkAt + 1)));
      // Not inside a size line's leading zeros: CPython reads a cut "00"
      // as the last chunk and calls the body complete (and empty); h1 says
      // IncompleteRead, as for the other cuts.
      wireBody = wireBody.replace(/(^|\n)0+$/, "$1");
      cutChunked = true;
    }
  }
  const cut =
    wireBody.length < (framing === "cl" && !noBody ? body.length : 0) ||
    cutChunked;
  const statusLine = `${s.version} ${s.status}${
    s.reason === null ? "" : " " + s.reason
  }`;
  const head = (s.interim ? `HTTP/1.1 100 Continue${eol}${eol}` : "") +
    statusLine + eol + fields.map(([n, v]) => `${n}: ${v}${eol}`).join("") +
    eol;
  return {
    bytes: head + wireBody,
    close: (framing === "close" && !noBody) || cut || s.serverClose,
    how: s.how,
    method: s.method,
    cutChunked,
  };
}

pyTest(
  `property: ${RUNS} generated responses read the same through both clients`,
  async () => {
    const cases = fc.sample(respSpec, { numRuns: RUNS, seed: SEED }).map(
      buildResponse,
    );
    const r = await table(cases);
    for (let i = 0; i < cases.length; i++) {
      const cs = cases[i]!;
      let py = r.py[i], h1 = r.h1[i];
      if (cs.cutChunked) {
        // Known difference (README): for a cut chunked body h1's partial also
        // holds the unfinished chunk's bytes; compare the class only. CPython
        // leaves isclosed() false after some of these (a cut inside a chunk),
        // h1 always closes.
        py = { ...py, err: { type: py.err?.type }, closed: null };
        h1 = { ...h1, err: { type: h1.err?.type }, closed: null };
      }
      if (/^(read1|line)/.test(cs.how)) {
        // CPython 3.11's read1() and readline() never close the response,
        // even at the end of the body (see the readline test above).
        py = { ...py, closed: null };
        h1 = { ...h1, closed: null };
      }
      if (cs.how.startsWith("linek") && /chunked\r?\n/i.test(cs.bytes)) {
        // CPython's readline(limit) on a chunked body can return more than
        // `limit` (test below); h1 never does. Compare the bytes only.
        const k = Number(cs.how.split(":")[1]);
        assert.ok(h1.pieces?.every((p: string) => p.length <= k), `case ${i}`);
        py = { ...py, pieces: py.pieces?.join("") };
        h1 = { ...h1, pieces: h1.pieces?.join("") };
      }
      assert.deepEqual(
        h1,
        py,
        `case ${i} (seed ${SEED}) ${cs.method} ${cs.how}: ${
          JSON.stringify(cs.bytes)
        }`,
      );
    }
    assert.deepEqual(r.h1Wire, r.pyWire);
    // The sample covers what it claims to.
    const kinds = r.h1.map((x) =>
      x.err?.type ?? (x.will_close ? "close" : "keep")
    );
    assert.ok(kinds.includes("keep") && kinds.includes("close"), kinds.join());
  },
);

// ── property: random requests, the same bytes on the wire ───────────────

interface ReqSpec {
  method: string;
  url: string;
  headers: [string, string | number][];
  body:
    | { kind: "none" }
    | { kind: "bytes" | "str"; data: string }
    | { kind: "list"; pieces: string[] };
  framing: "auto" | "cl" | "te";
}

const byteStr = (max: number) =>
  fc.uint8Array({ maxLength: max }).map((b) => text(b));
const reqSpec: fc.Arbitrary<ReqSpec> = fc.record({
  method: fc.constantFrom(
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "HEAD",
    "FOO",
    "post",
  ),
  url: fc.string({
    unit: fc.constantFrom(..."abcXYZ019-._~%=&+/?".split("")),
    maxLength: 12,
  }),
  headers: fc.uniqueArray(
    fc.tuple(
      fc.constantFrom(
        "X-A",
        "X-Bb",
        "Content-Type",
        "User-Agent",
        "Host",
        "Accept-Encoding",
        "x-num",
      ),
      fc.oneof(trimmed(12), fc.integer({ min: -99, max: 99999 })),
    ),
    { maxLength: 4, selector: ([n]) => n.toLowerCase() },
  ),
  body: fc.oneof(
    fc.constant({ kind: "none" as const }),
    byteStr(60).map((data) => ({ kind: "bytes" as const, data })),
    fc.string({ unit: fc.constantFrom(...VCHAR, " "), maxLength: 40 }).map((
      data,
    ) => ({ kind: "str" as const, data })),
    fc.array(byteStr(9), { maxLength: 4 }).map((pieces) => ({
      kind: "list" as const,
      pieces,
    })),
  ),
  framing: fc.constantFrom("auto", "auto", "cl", "te"),
}) as fc.Arbitrary<ReqSpec>;

function prepareRequest(s: ReqSpec, i: number): ReqSpec {
  const out: ReqSpec = {
    ...s,
    url: `/r/${i}/${s.url}`,
    headers: [...s.headers],
  };
  // Chunk sizes stay single hex digits: the hex case differs (test above).
  if (s.framing === "te" && s.body.kind !== "list" && s.body.kind !== "none") {
    out.body = { kind: s.body.kind, data: s.body.data.slice(0, 9) };
  }
  const length = out.body.kind === "none"
    ? 0
    : out.body.kind === "list"
    ? out.body.pieces.join("").length
    : out.body.data.length;
  if (s.framing === "cl" && out.body.kind !== "none") {
    out.headers.push(["Content-Length", length]);
  } else if (s.framing === "te" && out.body.kind !== "none") {
    out.headers.push(["Transfer-Encoding", "chunked"]);
  } else out.framing = "auto";
  return out;
}

pyTest(
  `property: ${RUNS} generated requests put the same bytes on the wire`,
  async () => {
    const specs = fc.sample(reqSpec, { numRuns: RUNS, seed: SEED + 1 }).map(
      prepareRequest,
    );
    const r = await both(
      answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
      `
c = C()
out["errors"] = []
for s in IN:
    b = s["body"]
    if b["kind"] == "none": body = None
    elif b["kind"] == "bytes": body = b["data"].encode("latin-1")
    elif b["kind"] == "str": body = b["data"]
    else: body = [p.encode("latin-1") for p in b["pieces"]]
    headers = {n: v for n, v in s["headers"]}
    try:
        c.request(s["method"], s["url"], body, headers, encode_chunked=s["framing"] == "te")
        c.getresponse().read()
    except Exception as e:
        out["errors"].append([s["url"], exc(e)])
        c.close()
c.close()
`,
      async (port, out) => {
        const c = C(port);
        out.errors = [];
        for (const s of specs) {
          const b = s.body;
          let body: string | Uint8Array | Uint8Array[] | null = null;
          if (b.kind === "list") body = b.pieces.map((p) => bytes(p));
          else if (b.kind === "bytes") body = bytes(b.data);
          else if (b.kind === "str") body = b.data;
          try {
            await c.request(s.method, s.url, body, s.headers, {
              encode_chunked: s.framing === "te",
            });
            await (await c.getresponse()).read();
          } catch (e) {
            out.errors.push([s.url, exc(e)]);
            c.close();
          }
        }
        c.close();
      },
      specs,
    );
    assert.deepEqual(r.h1.errors, r.py.errors);
    assert.equal(r.h1Wire.length, r.pyWire.length);
    // Compare request by request, for a readable failure.
    const split = (w: string) =>
      w.split(/(?=(?:GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD|FOO|post) \/r\/)/);
    const h1 = r.h1Wire.flatMap(split), py = r.pyWire.flatMap(split);
    for (let i = 0; i < Math.max(h1.length, py.length); i++) {
      assert.equal(h1[i], py[i], `request ${i} (seed ${SEED + 1})`);
    }
  },
);

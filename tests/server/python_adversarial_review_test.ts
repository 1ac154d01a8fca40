// deno-lint-ignore-file no-console
/**
 * Adversarial review of the Python face (`HTTPServer`,
 * `BaseHTTPRequestHandler`, `pythonHandler`) against CPython 3.11's
 * `http.server`. Where cheap, the same handler runs in a live python3 and
 * the bytes are compared (Server and Date values masked); those tests are
 * skipped when python3 is absent. The review found four differences (a 100
 * Continue from an HTTP/1.0 handler, a mangled non-Latin-1 reason phrase,
 * the %+d / % d / %#x flags, a replaced wfile missing the head), fixed.
 */

import assert from "node:assert/strict";
import { HTTPServer, ThreadingHTTPServer } from "../../server/http_server.ts";
import { pythonHandler } from "../../server/python_route.ts";
import {
  BaseHTTPRequestHandler,
  type WFile,
} from "../../server/request_handler.ts";
import {
  maskServerAndDate,
  pythonAvailable,
  withPythonScript,
  withServer,
} from "./_python_face.ts";
import { delay, RawClient } from "./_raw.ts";

const PYTHON = "python3";

const HAVE_PYTHON = await pythonAvailable(PYTHON);
if (!HAVE_PYTHON) {
  console.warn("python_adversarial_review_test: python3 not found, skipping");
}

// One handler, both protocol versions; the same logic is written in h1 below.
// Threading servers on both sides, so requests can be compared in parallel.
const PYTHON_SERVER = `
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = sys.argv[1]
    def log_message(self, *a): pass
    def do_GET(self):
        p = self.path
        if p == '/noend':
            self.send_response(200); self.send_header('Content-Length', '2')
        elif p == '/after':
            self.send_response(200); self.send_header('Content-Length', '2')
            self.end_headers(); self.send_header('X-Late', '1')
            self.wfile.write(b'hi')
        elif p.startswith('/err'):
            self.send_error(int(p[4:]))
        else:
            b = ('%r|%r|%r|%r' % (self.command, self.path,
                 self.request_version, self.close_connection)).encode()
            self.send_response(200)
            self.send_header('Content-Length', str(len(b)))
            self.end_headers()
            self.wfile.write(b)
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        d = self.rfile.read(n)
        self.send_response(200)
        self.send_header('Content-Length', str(len(d)))
        self.end_headers()
        self.wfile.write(d)

httpd = ThreadingHTTPServer(('127.0.0.1', 0), H)
print(f'Listening on http://127.0.0.1:{httpd.server_address[1]}/', flush=True)
httpd.serve_forever()
`;

function pyBool(value: boolean): string {
  return value ? "True" : "False";
}

function handlerFor(protocol: string) {
  return class H extends BaseHTTPRequestHandler {
    override protocol_version = protocol;
    override log_message(): void {}
    do_GET(): void {
      const p = this.path;
      if (p === "/noend") {
        this.send_response(200);
        this.send_header("Content-Length", "2");
      } else if (p === "/after") {
        this.send_response(200);
        this.send_header("Content-Length", "2");
        this.end_headers();
        this.send_header("X-Late", "1");
        this.wfile.write("hi");
      } else if (p.startsWith("/err")) {
        this.send_error(Number(p.slice(4)));
      } else {
        const b = `'${this.command}'|'${this.path}'|'${this.request_version}'|${
          pyBool(this.close_connection)
        }`;
        this.send_response(200);
        this.send_header("Content-Length", b.length);
        this.end_headers();
        this.wfile.write(b);
      }
    }
    async do_POST(): Promise<void> {
      const n = Number(this.headers.get("Content-Length", "0"));
      const d = await this.rfile.read(n);
      this.send_response(200);
      this.send_header("Content-Length", d.length);
      this.end_headers();
      this.wfile.write(d);
    }
  };
}

function withPython<T>(
  protocol: string,
  body: (port: number) => Promise<T>,
): Promise<T> {
  return withPythonScript(PYTHON, PYTHON_SERVER, [protocol], body, 5000);
}

/**
 * Sends `request`, then reads until the peer closes or `quietMs` pass with
 * nothing new; "<open>" marks a connection left open.
 */
async function exchange(
  port: number,
  request: string,
  quietMs = 300,
): Promise<string> {
  await using client = await RawClient.connect(port);
  await client.send(request);
  for (;;) {
    const end = await client.readOnce(quietMs);
    if (end === "timeout") return client.text + "<open>";
    if (end !== "data") return client.text + "<closed>";
  }
}

async function compare(
  protocol: string,
  requests: string[],
): Promise<void> {
  const expected = await withPython(protocol, async (port) => {
    return await Promise.all(requests.map((r) => exchange(port, r)));
  });
  await withServer(handlerFor(protocol), async ({ port }) => {
    const actual = await Promise.all(requests.map((r) => exchange(port, r)));
    for (const [i, request] of requests.entries()) {
      assert.equal(
        maskServerAndDate(actual[i]!),
        maskServerAndDate(expected[i]!),
        request,
      );
    }
  }, { Server: ThreadingHTTPServer });
}

// ---------------------------------------------------------------------------
// Byte-for-byte comparisons with a live CPython.

Deno.test({
  name:
    "CPython parity: keep-alive rules, unfinished heads, late headers, bodiless send_error (HTTP/1.1 handler)",
  ignore: !HAVE_PYTHON,
  async fn() {
    await compare("HTTP/1.1", [
      // parse_request: a 1.0 client asking for keep-alive is kept alive.
      "GET /i HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      // ... and "Connection: keep-alive, foo" is not the token "keep-alive".
      "GET /i HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, foo\r\n\r\n",
      // send_header after end_headers() is never flushed.
      "GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
      // No end_headers(): nothing is sent, the 1.1 connection stays open.
      "GET /noend HTTP/1.1\r\nHost: a\r\n\r\n",
      // send_error: no body (and no Content-Type/Length) for 1xx, 204, 205, 304.
      "GET /err100 HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /err205 HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /err304 HTTP/1.1\r\nHost: a\r\n\r\n",
      // Unknown code: '???' message and explanation.
      "GET /err599 HTTP/1.1\r\nHost: a\r\n\r\n",
      // HEAD without do_HEAD: 501 with Content-Length but no body.
      "HEAD /i HTTP/1.1\r\nHost: a\r\n\r\n",
      // Method names are case-sensitive: "get" has no do_get.
      "get /i HTTP/1.1\r\nHost: a\r\n\r\n",
      // gh-87389: leading slashes collapse; absolute-form is kept as is.
      "GET //i//j HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://a/i HTTP/1.1\r\nHost: a\r\n\r\n",
      // rfile.read(Content-Length) must not eat the next pipelined request.
      "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
      "GET /i HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      // Expect: 100-continue with a 1.1 handler: one 100 before the 200.
      "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n" +
      "Expect: 100-continue\r\n\r\nabc",
    ]);
  },
});

Deno.test({
  name:
    "CPython parity: the default HTTP/1.0 handler closes after every response",
  ignore: !HAVE_PYTHON,
  async fn() {
    await compare("HTTP/1.0", [
      "GET /i HTTP/1.1\r\nHost: a\r\n\r\nGET /i HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /i HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "HEAD /err404 HTTP/1.0\r\n\r\n",
      "GET /err204 HTTP/1.0\r\n\r\n",
    ]);
  },
});

// CPython's parse_request answers Expect: 100-continue only when
// protocol_version >= HTTP/1.1 (http/server.py), so with the default
// "HTTP/1.0" the wire carries just "HTTP/1.0 200 OK"; the engine must not
// send its own 100 when do_POST reads rfile.
Deno.test({
  name:
    "CPython parity: an HTTP/1.0 handler sends no 100 Continue for Expect: 100-continue",
  async fn() {
    if (!HAVE_PYTHON) return;
    await compare("HTTP/1.0", [
      "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n" +
      "Expect: 100-continue\r\n\r\nabc",
    ]);
  },
});

// ---------------------------------------------------------------------------
// h1-only probes, expectations from CPython's source.

// send_response_only() in CPython encodes the status line with
// .encode('latin-1', 'strict'): a reason phrase outside Latin-1 raises
// UnicodeEncodeError and nothing is sent (RFC 9112 §4 reason-phrase =
// *( HTAB / SP / VCHAR / obs-text )); h1 throws a TypeError.
Deno.test({
  name:
    "send_response refuses a reason phrase outside Latin-1 instead of mangling it",
  async fn() {
    let caught: unknown = null;
    class Handler extends BaseHTTPRequestHandler {
      do_GET(): void {
        try {
          this.send_response(200, "OK \u2713");
        } catch (error) {
          caught = error;
          this.send_response(200, "OK");
        }
        this.send_header("Content-Length", 0);
        this.end_headers();
      }
    }
    await withServer(Handler, async ({ port }) => {
      await using client = await RawClient.connect(port);
      await client.send("GET / HTTP/1.0\r\n\r\n");
      const text = await client.readToEnd(2000);
      const status = text.split("\r\n")[0]!;
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(status, /[\x00-\x08\x0a-\x1f\x7f]/);
    });
    assert.ok(caught instanceof Error, "send_response should throw");
  },
});

// log_message() is `format % args` in CPython; the `+`, ` ` and `#`
// conversion flags are honoured there ("%+d" % 5 == "+5", "%#x" % 255 ==
// "0xff", "% d" % 5 == " 5").
Deno.test({
  name: "log_message honours Python's %+d, % d and %#x flags",
  async fn() {
    class Handler extends BaseHTTPRequestHandler {
      do_GET(): void {
        this.log_message("delta=%+d pad=% d hex=%#x", 5, 7, 255);
        this.send_response(204);
        this.end_headers();
      }
    }
    await withServer(Handler, async ({ port, log }) => {
      await using client = await RawClient.connect(port);
      await client.send("GET / HTTP/1.0\r\n\r\n");
      await client.readToEnd(2000);
      assert.ok(
        log[0]!.endsWith("] delta=+5 pad= 7 hex=0xff\n"),
        JSON.stringify(log[0]),
      );
    });
  },
});

// CPython's flush_headers() does `self.wfile.write(b"".join(
// self._headers_buffer))`, and send_error writes its body to self.wfile:
// a handler that wraps wfile (to count or capture the response, a common
// idiom) sees the head too.
Deno.test({
  name: "flush_headers writes the head through this.wfile, as in CPython",
  async fn() {
    const seen: string[] = [];
    class Handler extends BaseHTTPRequestHandler {
      override setup(): void {
        const inner = this.wfile;
        this.wfile = {
          write(data: Uint8Array | string) {
            seen.push(
              typeof data === "string" ? data : new TextDecoder().decode(data),
            );
            return inner.write(data);
          },
          flush: () => inner.flush(),
        } as unknown as WFile;
      }
      do_GET(): void {
        this.send_response(200);
        this.send_header("Content-Length", 2);
        this.end_headers();
        this.wfile.write("hi");
      }
    }
    await withServer(Handler, async ({ port }) => {
      await using client = await RawClient.connect(port);
      await client.send("GET / HTTP/1.0\r\n\r\n");
      const text = await client.readToEnd(2000);
      assert.ok(text.endsWith("\r\n\r\nhi"));
    });
    assert.match(seen.join(""), /^HTTP\/1\.0 200 OK\r\n[^]*\r\n\r\nhi$/);
  },
});

Deno.test("send_error escapes & < > in message and explain (html.escape quote=False) and keeps quotes", async () => {
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      this.send_error(400, `<b>"x" & 'y'</b>`, "%(code)d $& $1 <i>");
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.0\r\n\r\n");
    const text = await client.readToEnd(2000);
    // The status line carries the raw message, as in CPython.
    assert.match(text, /^HTTP\/1\.0 400 <b>"x" & 'y'<\/b>\r\n/);
    assert.ok(
      text.includes(
        `<p>Message: &lt;b&gt;"x" &amp; 'y'&lt;/b&gt;.</p>`,
      ),
    );
    // Substituted values are not formatted again (CPython formats once).
    assert.ok(
      text.includes(
        "<p>Error code explanation: 400 - %(code)d $&amp; $1 &lt;i&gt;.</p>",
      ),
    );
    const length = Number(text.match(/Content-Length: (\d+)/)![1]);
    assert.equal(
      new TextEncoder().encode(text.split("\r\n\r\n")[1]!).length,
      length,
    );
  });
});

Deno.test("send_error counts Content-Length in UTF-8 bytes for a non-ASCII explain", async () => {
  class Handler extends BaseHTTPRequestHandler {
    override error_message_format = "%(code)s:%(message)s:%(explain)s";
    override error_content_type = "text/plain; charset=utf-8";
    do_GET(): void {
      this.send_error(409, "Conflict", "déjà vu ✓");
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.0\r\n\r\n");
    const response = await client.response();
    assert.equal(
      response.headers.get("content-type"),
      "text/plain; charset=utf-8",
    );
    assert.equal(response.text, "409:Conflict:déjà vu ✓");
    assert.equal(
      Number(response.headers.get("content-length")),
      response.body.length,
    );
  });
});

Deno.test("rfile.readline(limit), read past the body and a second read behave like a bounded file", async () => {
  const seen: string[] = [];
  class Handler extends BaseHTTPRequestHandler {
    override protocol_version = "HTTP/1.1";
    override log_message(): void {}
    async do_POST(): Promise<void> {
      const t = (b: Uint8Array) => new TextDecoder().decode(b);
      seen.push(t(await this.rfile.readline(3)));
      seen.push(t(await this.rfile.readline()));
      seen.push(t(await this.rfile.read(100)));
      seen.push(t(await this.rfile.read()));
      this.send_response(200);
      this.send_header("Content-Length", 0);
      this.end_headers();
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send(
      "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "4\r\nabcd\r\n3\r\nef\n\r\n2\r\ngh\r\n0\r\n\r\n" +
        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nzz",
    );
    const [a, b] = await client.responses(["POST", "POST"], 2000);
    assert.equal(a!.status, 200);
    assert.equal(b!.status, 200);
  });
  assert.deepEqual(seen, ["abc", "def\n", "gh", "", "zz", "", "", ""]);
});

Deno.test("a do_GET that throws asynchronously after end_headers drops the connection and logs once", async () => {
  class Handler extends BaseHTTPRequestHandler {
    override protocol_version = "HTTP/1.1";
    async do_GET(): Promise<void> {
      this.send_response(200);
      this.send_header("Content-Length", 10);
      this.end_headers();
      await delay(5);
      throw new Error("late failure");
    }
  }
  await withServer(Handler, async ({ port, log }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n");
    const text = await client.readToEnd(2000);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(!text.includes("500"));
    const all = log.join("");
    assert.equal(all.split("Exception occurred").length - 1, 1);
    assert.match(all, /Error: late failure/);
  });
});

Deno.test("close_connection set by the handler ends an HTTP/1.1 keep-alive connection", async () => {
  class Handler extends BaseHTTPRequestHandler {
    override protocol_version = "HTTP/1.1";
    override log_message(): void {}
    do_GET(): void {
      this.send_response(200);
      this.send_header("Content-Length", 1);
      this.end_headers();
      this.wfile.write("x");
      // CPython: handle() loops `while not self.close_connection`.
      this.close_connection = true;
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal((await client.response()).text, "x");
    assert.equal(await client.waitClosed(1000), true);
  });
});

Deno.test("handle_request with timeout 0 serves a connection that is already waiting", async () => {
  // CPython: handle_request() selects with timeout 0 and handles a pending
  // connection; only an empty backlog calls handle_timeout().
  let timeouts = 0;
  class Server extends HTTPServer {
    override handle_timeout(): void {
      timeouts++;
    }
  }
  class Handler extends BaseHTTPRequestHandler {
    override log_message(): void {}
    do_GET(): void {
      this.send_response(204);
      this.end_headers();
    }
  }
  await using server = new Server(["127.0.0.1", 0], Handler, {
    logWriter: () => {},
  });
  server.timeout = 0;
  await using client = await RawClient.connect(server.server_port);
  await client.send("GET / HTTP/1.0\r\n\r\n");
  await delay(50);
  await server.handle_request();
  assert.equal(timeouts, 0);
  assert.equal((await client.response()).status, 204);
});

Deno.test("pythonHandler passes a send_error page and reason through, and HEAD has no body", async () => {
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      this.send_error(404, "Nope <x>");
    }
    do_HEAD(): void {
      this.do_GET();
    }
  }
  const handler = pythonHandler(Handler, { logWriter: () => {} });
  const res = await handler(new Request("http://h/a"));
  assert.equal(res.status, 404);
  assert.equal(res.statusText, "Nope <x>");
  assert.equal(res.headers.get("connection"), null);
  assert.match(await res.text(), /<p>Message: Nope &lt;x&gt;\.<\/p>/);
  const head = await handler(new Request("http://h/a", { method: "HEAD" }));
  assert.equal(head.status, 404);
  assert.equal(await head.text(), "");
});

Deno.test("pythonHandler ends a close-delimited body from an HTTP/1.1 handler that sent no Content-Length", async () => {
  // CPython's 1.1 handler keeps the socket open here; pythonHandler's
  // client half-closes after the request, so the inner connection ends and
  // the body is delimited by that close (RFC 9112 §6.3 rule 8).
  class Handler extends BaseHTTPRequestHandler {
    override protocol_version = "HTTP/1.1";
    async do_POST(): Promise<void> {
      const data = await this.rfile.read();
      this.send_response(200);
      this.end_headers();
      this.wfile.write(data);
      this.wfile.write("!");
    }
  }
  const handler = pythonHandler(Handler, { logWriter: () => {} });
  const res = await handler(
    new Request("http://h/p", { method: "POST", body: "payload" }),
  );
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "payload!");
});

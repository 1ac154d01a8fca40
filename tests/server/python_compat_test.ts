// deno-lint-ignore-file no-console
/**
 * Byte-for-byte comparison of h1's Python face with CPython's http.server:
 * the same handlers run in python3 and in h1, get the same raw requests, and
 * must answer the same bytes apart from the Server and Date values.
 * Skipped (with a message) when python3 is not installed.
 */

import assert from "node:assert/strict";
import { HTTPServer } from "../../server/http_server.ts";
import { BaseHTTPRequestHandler } from "../../server/request_handler.ts";
import { spawnExample } from "../examples/_spawn.ts";
import {
  maskServerAndDate,
  pythonAvailable,
  withPythonScript,
} from "./_python_face.ts";
import { RawClient } from "./_raw.ts";

const PYTHON = "python3";

const HAVE_PYTHON = await pythonAvailable(PYTHON);
if (!HAVE_PYTHON) {
  console.warn(
    "python_compat_test: python3 not found, skipping the comparison",
  );
}

// The seed example plus handlers for error pages and keep-alive, in Python.
const PYTHON_SERVERS = `
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class MyHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-type', 'text/html')
        self.end_headers()
        self.wfile.write(b'Hello, world!')

class ErrorHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/missing':
            self.send_error(404)
        elif self.path == '/custom':
            self.send_error(400, 'Bad <thing> & co', 'Because "x" > y')
        elif self.path == '/empty':
            self.send_error(204)
        else:
            self.send_error(418)
    do_HEAD = do_GET

class KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = ('path=' + self.path).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        data = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.send_response(201)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

Handler = {'hello': MyHandler, 'errors': ErrorHandler, 'keepalive': KeepAliveHandler}[sys.argv[1]]
httpd = HTTPServer(('127.0.0.1', 0), Handler)
print(f'Listening on http://127.0.0.1:{httpd.server_address[1]}/', flush=True)
httpd.serve_forever()
`;

// The same handlers in h1 (the seed example runs as examples/http_hello_server.ts).
class ErrorHandler extends BaseHTTPRequestHandler {
  do_GET(): void {
    if (this.path === "/missing") this.send_error(404);
    else if (this.path === "/custom") {
      this.send_error(400, "Bad <thing> & co", 'Because "x" > y');
    } else if (this.path === "/empty") this.send_error(204);
    else this.send_error(418);
  }
  do_HEAD(): void {
    this.do_GET();
  }
}

class KeepAliveHandler extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  do_GET(): void {
    const body = new TextEncoder().encode("path=" + this.path);
    this.send_response(200);
    this.send_header("Content-Type", "text/plain");
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }
  async do_POST(): Promise<void> {
    const length = Number(this.headers.get("Content-Length", "0"));
    const data = await this.rfile.read(length);
    this.send_response(201);
    this.send_header("Content-Length", String(data.length));
    this.end_headers();
    this.wfile.write(data);
  }
}

const HANDLERS = { errors: ErrorHandler, keepalive: KeepAliveHandler };

/** Masks the values that must differ: Server (Python/Deno) and Date. */

function withPython<T>(
  kind: string,
  body: (port: number) => Promise<T>,
): Promise<T> {
  return withPythonScript(PYTHON, PYTHON_SERVERS, [kind], body);
}

async function withH1<T>(
  kind: keyof typeof HANDLERS,
  body: (port: number) => Promise<T>,
): Promise<T> {
  await using server = new HTTPServer(["127.0.0.1", 0], HANDLERS[kind], {
    logWriter: () => {},
  });
  const serving = server.serve_forever();
  try {
    return await body(server.server_port);
  } finally {
    await server.shutdown();
    await serving;
  }
}

/** Sends `request` and reads until the server closes. */
async function exchange(port: number, request: string): Promise<string> {
  await using client = await RawClient.connect(port);
  await client.send(request);
  return await client.readToEnd(5000);
}

const SEED_REQUESTS = [
  "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET /any/path?q=1 HTTP/1.0\r\n\r\n",
  "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc",
  "DELETE /x HTTP/1.1\r\nHost: localhost\r\n\r\n",
];

Deno.test({
  name: "HTTPServer seed example answers the bytes CPython answers",
  ignore: !HAVE_PYTHON,
  async fn() {
    const expected = await withPython("hello", async (port) => {
      const out: string[] = [];
      for (const request of SEED_REQUESTS) {
        out.push(await exchange(port, request));
      }
      return out;
    });
    await using example = await spawnExample("http_hello_server.ts", {
      args: ["--port=0"],
      permissions: ["--allow-net=localhost"],
    });
    for (const [i, request] of SEED_REQUESTS.entries()) {
      const actual = await exchange(example.port, request);
      assert.equal(
        maskServerAndDate(actual),
        maskServerAndDate(expected[i]!),
        `request ${i}: ${request}`,
      );
    }
    assert.match(
      expected[0]!,
      /^HTTP\/1\.0 200 OK\r\nServer: BaseHTTP\/0\.6 Python/,
    );
    // The Server value differs only in the runtime.
    const server = (await exchange(example.port, SEED_REQUESTS[0]!))
      .match(/\r\nServer: ([^\r\n]*)/)?.[1];
    assert.equal(server, `BaseHTTP/0.6 Deno/${Deno.version.deno}`);
  },
});

const ERROR_REQUESTS = [
  "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
  "HEAD /missing HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /custom HTTP/1.0\r\n\r\n",
  "GET /empty HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /teapot HTTP/1.1\r\nHost: a\r\n\r\n",
];

Deno.test({
  name: "BaseHTTPRequestHandler send_error pages equal CPython's bytes",
  ignore: !HAVE_PYTHON,
  async fn() {
    const expected = await withPython("errors", async (port) => {
      const out: string[] = [];
      for (const request of ERROR_REQUESTS) {
        out.push(await exchange(port, request));
      }
      return out;
    });
    await withH1("errors", async (port) => {
      for (const [i, request] of ERROR_REQUESTS.entries()) {
        const actual = await exchange(port, request);
        assert.equal(
          maskServerAndDate(actual),
          maskServerAndDate(expected[i]!),
          request,
        );
      }
    });
    assert.match(expected[0]!, /^HTTP\/1\.0 404 Not Found\r\n/);
    assert.match(expected[0]!, /<p>Error code: 404<\/p>/);
  },
});

const KEEPALIVE_REQUESTS = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n" +
  "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
  "GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

Deno.test({
  name:
    "BaseHTTPRequestHandler keep-alive with HTTP/1.1 equals CPython's bytes on one connection",
  ignore: !HAVE_PYTHON,
  async fn() {
    const expected = await withPython(
      "keepalive",
      (port) => exchange(port, KEEPALIVE_REQUESTS),
    );
    const actual = await withH1(
      "keepalive",
      (port) => exchange(port, KEEPALIVE_REQUESTS),
    );
    assert.equal(maskServerAndDate(actual), maskServerAndDate(expected));
    assert.equal(expected.split("HTTP/1.1 20").length - 1, 3);
  },
});

async function continueExchange(port: number): Promise<string> {
  await using client = await RawClient.connect(port);
  await client.send(
    "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n" +
      "Expect: 100-continue\r\nConnection: close\r\n\r\n",
  );
  await client.readUntil((text) => text.includes("\r\n\r\n"));
  await client.send("data");
  return await client.readToEnd();
}

Deno.test({
  name:
    "BaseHTTPRequestHandler answers Expect: 100-continue with CPython's bytes",
  ignore: !HAVE_PYTHON,
  async fn() {
    const expected = await withPython("keepalive", continueExchange);
    const actual = await withH1("keepalive", continueExchange);
    assert.equal(maskServerAndDate(actual), maskServerAndDate(expected));
    assert.match(expected, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
  },
});

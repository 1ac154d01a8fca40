import assert from "node:assert/strict";
import {
  BaseHTTPRequestHandler,
  DEFAULT_ERROR_MESSAGE,
} from "../../server/request_handler.ts";
import { withServer } from "./_python_face.ts";
import { delay, RawClient } from "./_raw.ts";

const LOG_LINE =
  /^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4} \d{2}:\d{2}:\d{2}\] /;

Deno.test("BaseHTTPRequestHandler dispatches to do_<METHOD> with Python's attributes", async () => {
  const seen: Record<string, unknown>[] = [];
  class Handler extends BaseHTTPRequestHandler {
    do_PUT(): void {
      seen.push({
        command: this.command,
        path: this.path,
        request_version: this.request_version,
        requestline: this.requestline,
        raw: new TextDecoder().decode(this.raw_requestline),
        host: this.client_address[0],
        port: typeof this.client_address[1],
        server: this.server,
        version: this.version_string(),
      });
      this.send_response(204);
      this.end_headers();
    }
  }
  await withServer(Handler, async ({ port, server }) => {
    await using client = await RawClient.connect(port);
    await client.send("PUT //a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    const text = await client.readToEnd();
    assert.match(text, /^HTTP\/1\.0 204 No Content\r\n/);
    assert.deepEqual(seen, [{
      command: "PUT",
      // Python 3.11 collapses leading slashes (gh-87389).
      path: "/a/b?x=1",
      request_version: "HTTP/1.1",
      requestline: "PUT //a/b?x=1 HTTP/1.1",
      raw: "PUT //a/b?x=1 HTTP/1.1\r\n",
      host: "127.0.0.1",
      port: "number",
      server,
      version: `BaseHTTP/0.6 Deno/${Deno.version.deno}`,
    }]);
  });
});

Deno.test("BaseHTTPRequestHandler answers 501 Unsupported method when do_X is missing", async () => {
  class Handler extends BaseHTTPRequestHandler {}
  await withServer(Handler, async ({ port, log }) => {
    await using client = await RawClient.connect(port);
    await client.send("PATCH / HTTP/1.1\r\nHost: h\r\n\r\n");
    const response = await client.response();
    assert.equal(response.status, 501);
    assert.equal(response.reason, "Unsupported method ('PATCH')");
    assert.equal(response.headers.get("connection"), "close");
    assert.match(
      response.text,
      /<p>Message: Unsupported method \('PATCH'\)\.<\/p>/,
    );
    assert.equal(log.length, 2);
    assert.match(log[0]!, LOG_LINE);
    assert.ok(
      log[0]!.endsWith("code 501, message Unsupported method ('PATCH')\n"),
    );
    assert.ok(log[1]!.endsWith(`"PATCH / HTTP/1.1" 501 -\n`));
  });
});

Deno.test("BaseHTTPRequestHandler send_error writes Python's exact page and headers", async () => {
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      if (this.path === "/x") this.send_error(403, "No <way>", "A & B");
      else this.send_error(404);
    }
    do_HEAD(): void {
      this.send_error(404);
    }
  }
  const body = `<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: 404</p>
        <p>Message: Not Found.</p>
        <p>Error code explanation: 404 - Nothing matches the given URI.</p>
    </body>
</html>
`;
  await withServer(Handler, async ({ port }) => {
    {
      await using client = await RawClient.connect(port);
      await client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      const text = await client.readToEnd();
      const [head, rest] = text.split("\r\n\r\n");
      const lines = head!.split("\r\n");
      assert.equal(lines[0], "HTTP/1.0 404 Not Found");
      assert.match(lines[1]!, /^Server: BaseHTTP\/0\.6 Deno\//);
      assert.match(lines[2]!, /^Date: \w{3}, \d{2} \w{3} \d{4} [\d:]{8} GMT$/);
      assert.deepEqual(lines.slice(3), [
        "Connection: close",
        "Content-Type: text/html;charset=utf-8",
        `Content-Length: ${body.length}`,
      ]);
      assert.equal(rest, body);
    }
    {
      await using client = await RawClient.connect(port);
      await client.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
      const text = await client.readToEnd();
      assert.match(text, /^HTTP\/1\.0 403 No <way>\r\n/);
      assert.ok(text.includes("<p>Message: No &lt;way&gt;.</p>"));
      assert.ok(
        text.includes("<p>Error code explanation: 403 - A &amp; B.</p>"),
      );
    }
    {
      await using client = await RawClient.connect(port);
      await client.send("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
      const text = await client.readToEnd();
      assert.ok(text.endsWith("\r\n\r\n"), "no body for HEAD");
      assert.ok(text.includes(`Content-Length: ${body.length}\r\n`));
    }
  });
});

Deno.test("BaseHTTPRequestHandler error_message_format and error_content_type can be overridden", async () => {
  class Handler extends BaseHTTPRequestHandler {
    override error_message_format =
      '{"code": %(code)d, "message": "%(message)s"}';
    override error_content_type = "application/json";
    do_GET(): void {
      this.send_error(410);
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.0\r\n\r\n");
    const response = await client.response();
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.text, '{"code": 410, "message": "Gone"}');
  });
  assert.ok(DEFAULT_ERROR_MESSAGE.startsWith("<!DOCTYPE HTML>\n"));
});

Deno.test("BaseHTTPRequestHandler headers are case-insensitive with get, get_all and iteration", async () => {
  let result: unknown = null;
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      const h = this.headers;
      result = {
        host: h.get("HOST"),
        missing: h.get("X-Missing"),
        fallback: h.get("X-Missing", "dflt"),
        first: h.get("x-tag"),
        all: h.get_all("X-TAG"),
        none: h.get_all("nope"),
        names: [...h],
        has: h.has("x-tag"),
        size: h.size,
        items: h.items(),
        type: h.get_content_type(),
      };
      this.send_response(200);
      this.end_headers();
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send(
      "GET / HTTP/1.1\r\nHost: example\r\nX-Tag: a\r\nx-tag: b\r\n" +
        "Content-Type: Application/JSON; charset=utf-8\r\n\r\n",
    );
    await client.readToEnd();
  });
  assert.deepEqual(result, {
    host: "example",
    missing: null,
    fallback: "dflt",
    first: "a",
    all: ["a", "b"],
    none: null,
    names: ["Host", "X-Tag", "x-tag", "Content-Type"],
    has: true,
    size: 4,
    items: [
      ["Host", "example"],
      ["X-Tag", "a"],
      ["x-tag", "b"],
      ["Content-Type", "Application/JSON; charset=utf-8"],
    ],
    type: "application/json",
  });
});

class EchoLinesHandler extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  async do_POST(): Promise<void> {
    const first = await this.rfile.readline();
    const four = await this.rfile.read(4);
    const rest = await this.rfile.read();
    const after = await this.rfile.read();
    const body = new TextEncoder().encode(
      JSON.stringify({
        first: new TextDecoder().decode(first),
        four: new TextDecoder().decode(four),
        rest: new TextDecoder().decode(rest),
        after: after.length,
      }),
    );
    this.send_response(200);
    this.send_header("Content-Length", body.length);
    this.end_headers();
    await this.wfile.write(body);
  }
}

Deno.test("BaseHTTPRequestHandler rfile reads a Content-Length body with readline and read", async () => {
  await withServer(EchoLinesHandler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\nline one\nabcdxyz",
    );
    const response = await client.response("POST");
    assert.deepEqual(JSON.parse(response.text), {
      first: "line one\n",
      four: "abcd",
      rest: "xyz",
      after: 0,
    });
  });
});

Deno.test("BaseHTTPRequestHandler rfile reads a chunked body de-chunked", async () => {
  await withServer(EchoLinesHandler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5\r\nline \r\n",
    );
    await delay(50);
    await client.send("5\r\none\na\r\n3\r\nbcd\r\n3\r\nxyz\r\n0\r\n\r\n");
    const response = await client.response("POST");
    assert.deepEqual(JSON.parse(response.text), {
      first: "line one\n",
      four: "abcd",
      rest: "xyz",
      after: 0,
    });
  });
});

class LengthHandler extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  do_GET(): void {
    const body = new TextEncoder().encode(`you asked ${this.path}`);
    this.send_response(200);
    this.send_header("Content-Type", "text/plain");
    this.send_header("Content-Length", body.length);
    this.end_headers();
    this.wfile.write(body);
  }
}

Deno.test("BaseHTTPRequestHandler keeps HTTP/1.1 connections alive with protocol_version HTTP/1.1", async () => {
  await withServer(LengthHandler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    const first = await client.response();
    assert.equal(first.version, "HTTP/1.1");
    assert.equal(first.text, "you asked /a");
    assert.equal(await client.waitClosed(200), false, "still open");
    await client.send("GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal((await client.response()).text, "you asked /b");
    // Connection: close from the client ends it, as in Python.
    await client.send(
      "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert.equal((await client.response()).text, "you asked /c");
    assert.equal(await client.waitClosed(2000), true);
  });
});

Deno.test("BaseHTTPRequestHandler closes after each response with the default HTTP/1.0", async () => {
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      this.send_response(200);
      this.send_header("Content-Length", 2);
      this.end_headers();
      this.wfile.write("ok");
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const text = await client.readToEnd();
    assert.match(text, /^HTTP\/1\.0 200 OK\r\n/);
    assert.ok(text.endsWith("\r\n\r\nok"));
    assert.equal(client.ended, true);
  });
});

Deno.test("BaseHTTPRequestHandler send_header Connection: close ends a keep-alive connection", async () => {
  class Handler extends BaseHTTPRequestHandler {
    override protocol_version = "HTTP/1.1";
    do_GET(): void {
      this.send_response(200);
      this.send_header("Content-Length", 0);
      this.send_header("Connection", "close");
      this.end_headers();
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    await client.response();
    assert.equal(await client.waitClosed(2000), true);
  });
});

Deno.test("BaseHTTPRequestHandler awaits an async do_GET", async () => {
  class Handler extends BaseHTTPRequestHandler {
    async do_GET(): Promise<void> {
      await delay(30);
      this.send_response(200);
      this.end_headers();
      await delay(30);
      await this.wfile.write(new TextEncoder().encode("late"));
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.0\r\n\r\n");
    assert.ok((await client.readToEnd()).endsWith("\r\n\r\nlate"));
  });
});

Deno.test("BaseHTTPRequestHandler streams a large body with awaited writes", async () => {
  const chunk = new Uint8Array(100_000).fill(0x61);
  class Handler extends BaseHTTPRequestHandler {
    async do_GET(): Promise<void> {
      this.send_response(200);
      this.send_header("Content-Length", chunk.length * 20);
      this.end_headers();
      for (let i = 0; i < 20; i++) await this.wfile.write(chunk);
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.0\r\n\r\n");
    const response = await client.response("GET", 10_000);
    assert.equal(response.body.length, 2_000_000);
    assert.ok(response.body.every((b) => b === 0x61));
  });
});

Deno.test("BaseHTTPRequestHandler answers 500 when do_GET throws before writing, and logs it", async () => {
  class Handler extends BaseHTTPRequestHandler {
    override protocol_version = "HTTP/1.1";
    do_GET(): void {
      this.send_response(200); // buffered only: nothing was sent yet
      throw new Error("boom");
    }
  }
  await withServer(Handler, async ({ port, log }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const text = await client.readToEnd();
    assert.match(text, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.equal(text.split("HTTP/1.1 ").length, 2, "one status line");
    assert.match(text, /Connection: close\r\n/);
    const all = log.join("");
    assert.match(
      all,
      /Exception occurred during processing of request from \('127\.0\.0\.1', \d+\)\nError: boom/,
    );
  });
});

Deno.test("BaseHTTPRequestHandler drops the connection when do_GET throws after writing", async () => {
  class Handler extends BaseHTTPRequestHandler {
    override protocol_version = "HTTP/1.1";
    async do_GET(): Promise<void> {
      this.send_response(200);
      this.send_header("Content-Length", 100);
      this.end_headers();
      await this.wfile.write("partial");
      throw new Error("midway");
    }
  }
  await withServer(Handler, async ({ port, log }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    const text = await client.readToEnd();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(text.endsWith("\r\n\r\npartial"));
    assert.ok(!text.includes("500"));
    assert.match(log.join(""), /Error: midway/);
  });
});

Deno.test("BaseHTTPRequestHandler send_header refuses CR LF injection", async () => {
  let caught: unknown = null;
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      try {
        this.send_header("X-A", "1\r\nSet-Cookie: evil=1");
      } catch (error) {
        caught = error;
      }
      this.send_response(204);
      this.end_headers();
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.0\r\n\r\n");
    const text = await client.readToEnd();
    assert.ok(!text.includes("evil"));
  });
  assert.ok(caught instanceof TypeError);
});

Deno.test("BaseHTTPRequestHandler handle_expect_100 override can refuse the body", async () => {
  let called = false;
  class Handler extends BaseHTTPRequestHandler {
    override protocol_version = "HTTP/1.1";
    override handle_expect_100(): boolean {
      this.send_error(417);
      return false;
    }
    do_POST(): void {
      called = true;
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    const text = await client.readToEnd();
    assert.match(text, /^HTTP\/1\.1 417 Expectation Failed\r\n/);
    assert.ok(!text.includes("100 Continue"));
  });
  assert.equal(called, false);
});

Deno.test("BaseHTTPRequestHandler log_message writes Python's format with controls escaped", async () => {
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      this.log_message("%s has %d items (%r)", "cart\x1b[31m", 3, "x");
      this.send_response(200, "Fine");
      this.end_headers();
    }
  }
  await withServer(Handler, async ({ port, log }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.match(await client.readToEnd(), /^HTTP\/1\.0 200 Fine\r\n/);
    assert.equal(log.length, 2);
    assert.match(log[0]!, LOG_LINE);
    assert.ok(log[0]!.endsWith("] cart\\x1b[31m has 3 items ('x')\n"));
    assert.match(log[1]!, LOG_LINE);
    assert.ok(log[1]!.endsWith(`] "GET /p HTTP/1.1" 200 -\n`));
  });
});

Deno.test("BaseHTTPRequestHandler date_time_string and log_date_time_string use Python's formats", () => {
  const handler = Object.create(
    BaseHTTPRequestHandler.prototype,
  ) as BaseHTTPRequestHandler;
  assert.equal(
    handler.date_time_string(1_795_341_600),
    "Sun, 22 Nov 2026 10:00:00 GMT",
  );
  assert.match(
    handler.log_date_time_string(),
    /^\d{2}\/[A-Z][a-z]{2}\/\d{4} \d{2}:\d{2}:\d{2}$/,
  );
});

Deno.test("BaseHTTPRequestHandler discards an unread body and keeps the connection", async () => {
  await withServer(LengthHandler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send(
      "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
        "GET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    const [a, b] = await client.responses(["GET", "GET"]);
    assert.equal(a!.text, "you asked /a");
    assert.equal(b!.text, "you asked /b");
  });
});

import assert from "node:assert/strict";
import { AddressInUseError } from "../../net/errors.ts";
import { HTTPServer, ThreadingHTTPServer } from "../../server/http_server.ts";
import { BaseHTTPRequestHandler } from "../../server/request_handler.ts";
import { withServer } from "./_python_face.ts";
import { RawClient } from "./_raw.ts";

/** Keep-alive handler: a client may hold its connection open. */
class KeepAliveHandler extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  do_GET(): void {
    const body = new TextEncoder().encode(this.path);
    this.send_response(200);
    this.send_header("Content-Length", body.length);
    this.end_headers();
    this.wfile.write(body);
  }
  override log_request(): void {}
}

const quiet = { logWriter: () => {} };

Deno.test("HTTPServer serves one connection at a time: a second waits until the first closes", async () => {
  await withServer(KeepAliveHandler, async ({ port }) => {
    const first = await RawClient.connect(port);
    await using second = await RawClient.connect(port);
    try {
      await first.send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n");
      assert.equal((await first.response()).text, "/first");
      // The first connection is idle but open: the serial server is stuck
      // on it (the "browser pre-opens a second socket" stall).
      await second.send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
      assert.equal(await second.readOnce(300), "timeout");
      assert.equal(second.received.length, 0);
    } finally {
      await first.close();
    }
    assert.equal((await second.response()).text, "/second");
  });
});

Deno.test("ThreadingHTTPServer serves connections concurrently", async () => {
  await withServer(KeepAliveHandler, async ({ port }) => {
    await using first = await RawClient.connect(port);
    await using second = await RawClient.connect(port);
    await first.send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal((await first.response()).text, "/first");
    await second.send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal((await second.response(undefined, 1000)).text, "/second");
  }, { Server: ThreadingHTTPServer, ...quiet });
});

Deno.test("HTTPServer handle_request serves exactly one connection", async () => {
  await using server = new HTTPServer(
    ["127.0.0.1", 0],
    KeepAliveHandler,
    quiet,
  );
  const port = server.server_port;
  await using a = await RawClient.connect(port);
  await using b = await RawClient.connect(port);
  await a.send("GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  await b.send("GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  await server.handle_request();
  assert.equal((await a.response()).text, "/a");
  assert.equal(await b.readOnce(200), "timeout", "b is not served yet");
  await server.handle_request();
  assert.equal((await b.response()).text, "/b");
});

Deno.test("HTTPServer handle_request honours timeout and calls handle_timeout", async () => {
  let timeouts = 0;
  class Server extends HTTPServer {
    override handle_timeout(): void {
      timeouts++;
    }
  }
  await using server = new Server(["127.0.0.1", 0], KeepAliveHandler, quiet);
  server.timeout = 0.1;
  const started = Date.now();
  await server.handle_request();
  assert.equal(timeouts, 1);
  assert.ok(Date.now() - started >= 90);
  // The accept still pending from the timed-out call serves the next one.
  await using client = await RawClient.connect(server.server_port);
  await client.send(
    "GET /late HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
  );
  await server.handle_request();
  assert.equal((await client.response()).text, "/late");
});

Deno.test("HTTPServer shutdown ends serve_forever and closing frees the port", async () => {
  const server = new HTTPServer(["127.0.0.1", 0], KeepAliveHandler, quiet);
  const port = server.server_port;
  const serving = server.serve_forever();
  {
    await using client = await RawClient.connect(port);
    await client.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal((await client.response()).text, "/x");
    // shutdown closes the idle keep-alive connection and stops the loop.
    await server.shutdown();
    await serving;
    assert.equal(await client.waitClosed(1000), true);
  }
  server.server_close();
  await server[Symbol.asyncDispose](); // waits until the port is released
  // The port is free again.
  const again = new HTTPServer(["127.0.0.1", port], KeepAliveHandler, quiet);
  again.server_close();
});

Deno.test("HTTPServer serve_forever can run again after shutdown", async () => {
  await using server = new ThreadingHTTPServer(
    ["127.0.0.1", 0],
    KeepAliveHandler,
    quiet,
  );
  for (const round of [1, 2]) {
    const serving = server.serve_forever();
    await using client = await RawClient.connect(server.server_port);
    await client.send(`GET /r${round} HTTP/1.1\r\nHost: h\r\n\r\n`);
    assert.equal((await client.response()).text, `/r${round}`);
    await server.shutdown();
    await serving;
  }
});

Deno.test("HTTPServer shutdown lets a busy request finish", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => entered = resolve);
  class SlowHandler extends KeepAliveHandler {
    override async do_GET(): Promise<void> {
      entered();
      await gate;
      super.do_GET();
    }
  }
  const server = new ThreadingHTTPServer(["127.0.0.1", 0], SlowHandler, quiet);
  const serving = server.serve_forever();
  await using client = await RawClient.connect(server.server_port);
  await client.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
  await inside;
  const stopping = server.shutdown();
  release();
  assert.equal((await client.response()).text, "/slow");
  await stopping;
  await serving;
  assert.equal(await client.waitClosed(1000), true);
  server.server_close();
});

Deno.test("HTTPServer throws AddressInUseError when the port is taken", () => {
  const first = new HTTPServer(["127.0.0.1", 0], KeepAliveHandler, quiet);
  try {
    assert.throws(
      () => new HTTPServer(["127.0.0.1", first.server_port], KeepAliveHandler),
      (error) =>
        error instanceof AddressInUseError && error.code === "EADDRINUSE" &&
        error.message.includes(String(first.server_port)),
    );
  } finally {
    first.server_close();
  }
});

Deno.test("HTTPServer exposes Python's attributes", async () => {
  await using server = new HTTPServer(
    ["127.0.0.1", 0],
    KeepAliveHandler,
    quiet,
  );
  assert.equal(server.server_address[0], "127.0.0.1");
  assert.ok(server.server_address[1] > 0);
  assert.equal(server.server_port, server.server_address[1]);
  assert.equal(server.server_name, "127.0.0.1");
  assert.equal(server.RequestHandlerClass, KeepAliveHandler);
  assert.equal(server.allow_reuse_address, true);
  assert.equal(server.timeout, null);
  assert.ok(server.socket !== null);
});

Deno.test("HTTPServer with bind_and_activate false binds on server_bind()", async () => {
  const server = new HTTPServer(["127.0.0.1", 0], KeepAliveHandler, {
    ...quiet,
    bind_and_activate: false,
  });
  assert.equal(server.socket, null);
  assert.equal(server.server_port, 0);
  server.server_bind();
  server.server_activate();
  assert.ok(server.server_port > 0);
  await server[Symbol.asyncDispose]();
});

Deno.test("HTTPServer verify_request false closes the connection unanswered", async () => {
  class Picky extends HTTPServer {
    override verify_request(): boolean {
      return false;
    }
  }
  await withServer(KeepAliveHandler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal(await client.waitClosed(1000), true);
    assert.equal(client.received.length, 0);
  }, { Server: Picky, ...quiet });
});

Deno.test("HTTPServer answers malformed requests itself without calling the handler", async () => {
  let called = false;
  class Handler extends BaseHTTPRequestHandler {
    do_GET(): void {
      called = true;
    }
  }
  await withServer(Handler, async ({ port }) => {
    await using client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    const text = await client.readToEnd();
    assert.match(text, /^HTTP\/1\.1 400 /);
  }, quiet);
  assert.equal(called, false);
});

Deno.test("HTTPServer logs the engine's canned error replies like Python's send_error", async () => {
  await withServer(KeepAliveHandler, async ({ port, log }) => {
    await using client = await RawClient.connect(port);
    await client.send("GARBAGE\r\n\r\n");
    const response = await client.response();
    assert.equal(response.status, 400);
    for (let i = 0; i < 50 && log.length < 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const text = log.join("");
    assert.match(
      text,
      /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] code 400, message .+\n/,
    );
    assert.match(text, /\] "-" 400 -\n$/);
  });
});

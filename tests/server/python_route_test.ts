import assert from "node:assert/strict";
import { BaseHTTPRequestHandler } from "../../server/request_handler.ts";
import { pythonHandler } from "../../server/python_route.ts";
import { Router } from "../../server/router.ts";

class Legacy extends BaseHTTPRequestHandler {
  do_GET(): void {
    const body = new TextEncoder().encode(
      `get ${this.path} ua=${this.headers.get("User-Agent")}`,
    );
    this.send_response(200, "Fine");
    this.send_header("Content-Type", "text/plain");
    this.send_header("X-Legacy", "1");
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }

  async do_POST(): Promise<void> {
    const length = Number(this.headers.get("Content-Length") ?? "0");
    const data = await this.rfile.read(length);
    const body = new TextEncoder().encode(
      `post ${new TextDecoder().decode(data)}`,
    );
    this.send_response(201);
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }
}

function app(logs: string[]): Router {
  const legacy = pythonHandler(Legacy, { logWriter: (t) => logs.push(t) });
  return new Router()
    .get("/web", () => new Response("web"))
    .all("/legacy/*", (ctx) => legacy(ctx.req, ctx.info));
}

Deno.test("pythonHandler passes status, reason, headers and body through a Router", async () => {
  const logs: string[] = [];
  const router = app(logs);
  assert.equal(await (await router.request("/web")).text(), "web");
  const res = await router.request("/legacy/a?b=1", {
    headers: { "user-agent": "t/1" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.statusText, "Fine");
  assert.equal(res.headers.get("x-legacy"), "1");
  assert.equal(res.headers.get("content-type"), "text/plain");
  assert.equal(await res.text(), "get /legacy/a?b=1 ua=t/1");
  assert.match(logs.join(""), /"GET \/legacy\/a\?b=1 HTTP\/1\.1" 200/);
});

Deno.test("pythonHandler streams a request body to rfile with Content-Length or chunked", async () => {
  const router = app([]);
  const sized = await router.request("/legacy/x", {
    method: "POST",
    body: "hello",
  });
  assert.equal(sized.status, 201);
  assert.equal(await sized.text(), "post hello");
  const stream = ReadableStream.from([new TextEncoder().encode("abc")]);
  const sizedStream = await router.request("/legacy/y", {
    method: "POST",
    body: stream,
    headers: { "content-length": "3" },
  });
  assert.equal(await sizedStream.text(), "post abc");
});

class Echo extends BaseHTTPRequestHandler {
  async do_POST(): Promise<void> {
    const data = await this.rfile.read();
    const body = new TextEncoder().encode(
      `${this.headers.get("Transfer-Encoding")} ${data.length} ${data[0]}`,
    );
    this.send_response(200);
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }
}

Deno.test("pythonHandler streams a long body without length chunked", async () => {
  const echo = pythonHandler(Echo, { logWriter: () => {} });
  const pieces = Array.from(
    { length: 20 },
    (_, i) => new Uint8Array(8192).fill(i + 1),
  );
  const res = await echo(
    new Request("http://h/up", {
      method: "POST",
      body: ReadableStream.from(pieces),
    }),
  );
  assert.equal(await res.text(), `chunked ${20 * 8192} 1`);
  const small = await echo(
    new Request("http://h/up", { method: "POST", body: "xyz" }),
  );
  assert.equal(await small.text(), "null 3 120");
});

Deno.test("pythonHandler answers 501 for a method without do_X", async () => {
  const router = app([]);
  const res = await router.request("/legacy/z", { method: "PUT" });
  assert.equal(res.status, 501);
  assert.match(await res.text(), /Unsupported method \('PUT'\)/);
});

Deno.test("pythonHandler runs concurrent calls and HEAD without a body", async () => {
  const legacy = pythonHandler(Legacy, { logWriter: () => {} });
  const texts = await Promise.all(
    [1, 2, 3].map(async (i) =>
      await (await legacy(new Request(`http://h/p${i}`))).text()
    ),
  );
  assert.deepEqual(texts.map((t) => t.split(" ")[1]), ["/p1", "/p2", "/p3"]);
  const head = await legacy(new Request("http://h/q", { method: "HEAD" }));
  assert.equal(head.status, 501);
  assert.equal(head.body, null);
});

class Streamer extends BaseHTTPRequestHandler {
  async do_GET(): Promise<void> {
    this.send_response(200);
    this.end_headers();
    // HTTP/1.0 face, no Content-Length: the body ends when the connection does.
    for (const part of ["a", "b", "c"]) {
      this.wfile.write(new TextEncoder().encode(part));
      await this.wfile.flush();
    }
  }
}

class Silent extends BaseHTTPRequestHandler {
  do_GET(): void {
    this.close_connection = true;
  }
}

Deno.test("pythonHandler reads a close-delimited body to its end", async () => {
  const streamer = pythonHandler(Streamer, { logWriter: () => {} });
  const res = await streamer(new Request("http://h/"));
  assert.equal(res.headers.get("content-length"), null);
  assert.equal(await res.text(), "abc");
});

Deno.test("pythonHandler rejects when the handler sends no response", async () => {
  const silent = pythonHandler(Silent, { logWriter: () => {} });
  await assert.rejects(
    silent(new Request("http://h/")),
    /closed the connection without one/,
  );
});

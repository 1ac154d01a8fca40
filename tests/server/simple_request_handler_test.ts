import assert from "node:assert/strict";
import { ThreadingHTTPServer } from "../../server/http_server.ts";
import { SimpleHTTPRequestHandler } from "../../server/simple_request_handler.ts";
import { withServer } from "./_python_face.ts";
import { RawClient } from "./_raw.ts";

// The site lives in <tmp>/site; <tmp>/secret.txt must stay out of reach.
async function makeSite(): Promise<string> {
  const base = await Deno.makeTempDir();
  await Deno.writeTextFile(`${base}/secret.txt`, "TOP SECRET");
  const root = `${base}/site`;
  await Deno.mkdir(root);
  await Deno.writeTextFile(`${root}/hello.txt`, "hello, file\n");
  await Deno.mkdir(`${root}/sub`);
  await Deno.writeTextFile(`${root}/sub/index.html`, "<h1>sub</h1>");
  await Deno.mkdir(`${root}/empty`);
  const big = new Uint8Array(300_000);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  await Deno.writeFile(`${root}/big.bin`, big);
  return root;
}

async function withSite(
  body: (port: number, root: string, log: string[]) => Promise<void>,
  options: Parameters<typeof SimpleHTTPRequestHandler.partial>[0] = {},
): Promise<void> {
  const root = await makeSite();
  try {
    const Handler = SimpleHTTPRequestHandler.partial({
      directory: root,
      ...options,
    });
    await withServer(
      Handler,
      ({ port, log }) => body(port, root, log),
      { Server: ThreadingHTTPServer },
    );
  } finally {
    await Deno.remove(`${root}/..`, { recursive: true });
  }
}

async function get(port: number, request: string): Promise<string> {
  await using client = await RawClient.connect(port);
  await client.send(request);
  return await client.readToEnd();
}

Deno.test("SimpleHTTPRequestHandler sends a file with Python's headers in Python's order", async () => {
  await withSite(async (port, _root, log) => {
    const text = await get(port, "GET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n");
    const [head, body] = text.split("\r\n\r\n");
    const lines = head!.split("\r\n");
    assert.equal(lines[0], "HTTP/1.0 200 OK");
    assert.match(lines[1]!, /^Server: SimpleHTTP\/0\.6 Deno\//);
    assert.match(lines[2]!, /^Date: /);
    assert.equal(lines[3], "Content-type: text/plain; charset=utf-8");
    assert.equal(lines[4], "Content-Length: 12");
    assert.match(lines[5]!, /^Last-Modified: \w{3}, \d{2} \w{3} \d{4} /);
    assert.equal(body, "hello, file\n");
    assert.match(log[0]!, /"GET \/hello\.txt HTTP\/1\.1" 200 -\n$/);
  });
});

Deno.test("SimpleHTTPRequestHandler lists a directory, redirects without the slash, serves index.html", async () => {
  await withSite(async (port) => {
    const listing = await get(port, "GET / HTTP/1.0\r\n\r\n");
    assert.match(listing, /^HTTP\/1\.0 200 OK\r\n/);
    assert.ok(listing.includes("<title>Directory listing for /</title>"));
    assert.ok(listing.includes('<li><a href="hello.txt">hello.txt</a></li>'));
    assert.ok(listing.includes('<li><a href="sub/">sub/</a></li>'));
    const redirect = await get(port, "GET /sub?x=1 HTTP/1.0\r\n\r\n");
    assert.match(redirect, /^HTTP\/1\.0 301 Moved Permanently\r\n/);
    assert.match(redirect, /\r\nLocation: \/sub\/\?x=1\r\n/);
    const index = await get(port, "GET /sub/ HTTP/1.0\r\n\r\n");
    assert.ok(index.endsWith("\r\n\r\n<h1>sub</h1>"));
  });
});

Deno.test("SimpleHTTPRequestHandler answers 404 with Python's error page", async () => {
  await withSite(async (port, _root, log) => {
    const text = await get(port, "GET /nope HTTP/1.0\r\n\r\n");
    assert.match(text, /^HTTP\/1\.0 404 File not found\r\n/);
    assert.match(text, /\r\nConnection: close\r\n/);
    assert.ok(text.includes("<p>Message: File not found.</p>"));
    assert.ok(
      text.includes(
        "<p>Error code explanation: 404 - Nothing matches the given URI.</p>",
      ),
    );
    assert.match(log[0]!, /code 404, message File not found\n$/);
  });
});

Deno.test("SimpleHTTPRequestHandler refuses traversal out of the directory", async () => {
  await withSite(async (port) => {
    const targets = [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/..%5csecret.txt",
      "/%252e%252e/secret.txt",
    ];
    for (const target of targets) {
      const text = await get(port, `GET ${target} HTTP/1.0\r\n\r\n`);
      assert.doesNotMatch(text, /TOP SECRET/, target);
      assert.match(text, /^HTTP\/1\.0 (404|400) /, target);
    }
  });
});

Deno.test("SimpleHTTPRequestHandler HEAD sends headers only; other methods get 501", async () => {
  await withSite(async (port) => {
    const head = await get(port, "HEAD /hello.txt HTTP/1.0\r\n\r\n");
    assert.match(head, /Content-Length: 12\r\n/);
    assert.ok(head.endsWith("\r\n\r\n"));
    const post = await get(
      port,
      "POST /hello.txt HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
    );
    assert.match(post, /^HTTP\/1\.0 501 Unsupported method \('POST'\)\r\n/);
  });
});

Deno.test("SimpleHTTPRequestHandler streams a large file and serves ranges", async () => {
  await withSite(async (port, root) => {
    const expected = await Deno.readFile(`${root}/big.bin`);
    {
      await using client = await RawClient.connect(port);
      await client.send("GET /big.bin HTTP/1.0\r\n\r\n");
      const response = await client.response();
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, expected);
    }
    {
      await using client = await RawClient.connect(port);
      await client.send("GET /big.bin HTTP/1.0\r\nRange: bytes=10-19\r\n\r\n");
      const response = await client.response();
      assert.equal(response.status, 206);
      assert.equal(response.headers.get("content-range"), "bytes 10-19/300000");
      assert.deepEqual(response.body, expected.subarray(10, 20));
    }
    {
      await using client = await RawClient.connect(port);
      await client.send(
        "GET /big.bin HTTP/1.0\r\nRange: bytes=900000-\r\n\r\n",
      );
      const response = await client.response();
      assert.equal(response.status, 416);
      assert.equal(response.headers.get("content-range"), "bytes */300000");
      assert.equal(
        response.headers.get("content-type"),
        "text/html;charset=utf-8",
      );
    }
  });
});

Deno.test("SimpleHTTPRequestHandler answers If-Modified-Since with 304", async () => {
  await withSite(async (port) => {
    const first = await get(port, "GET /hello.txt HTTP/1.0\r\n\r\n");
    const lastModified = first.match(/\r\nLast-Modified: ([^\r]+)/)![1];
    const again = await get(
      port,
      `GET /hello.txt HTTP/1.0\r\nIf-Modified-Since: ${lastModified}\r\n\r\n`,
    );
    assert.match(again, /^HTTP\/1\.0 304 Not Modified\r\n/);
    assert.ok(again.endsWith("\r\n\r\n"));
  });
});

Deno.test("SimpleHTTPRequestHandler.partial passes static options (no listing, CORS)", async () => {
  await withSite(async (port) => {
    const listing = await get(port, "GET /empty/ HTTP/1.0\r\n\r\n");
    assert.match(listing, /^HTTP\/1\.0 404 /);
    const file = await get(port, "GET /hello.txt HTTP/1.0\r\n\r\n");
    assert.match(file, /\r\nAccess-Control-Allow-Origin: \*\r\n/);
  }, { showDirListing: false, enableCors: true });
});

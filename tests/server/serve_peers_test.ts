// Real clients nobody here wrote (curl, Python's http.client) against serve().

import assert from "node:assert/strict";
import type { ServeHandler } from "../../server/serve.ts";
import { hasCommand, startServer } from "./_raw.ts";
import { testCertificate } from "./_tls.ts";

const HAS_CURL = await hasCommand("curl");
const HAS_PYTHON = await hasCommand("python3");
for (const [name, present] of [["curl", HAS_CURL], ["python3", HAS_PYTHON]]) {
  if (!present) {
    Deno.stderr.writeSync(new TextEncoder().encode(
      `serve_peers_test: skipping ${name} tests, \`${name}\` is not installed\n`,
    ));
  }
}

/** The handler every peer talks to: echoes what it saw as JSON. */
function echoHandler(ports: number[]): ServeHandler {
  return async (req, info) => {
    ports.push(info.remoteAddr.port);
    const url = new URL(req.url);
    if (url.pathname === "/stream") {
      const parts = ["alpha ", "beta ", "gamma"];
      return new Response(
        new ReadableStream({
          async pull(controller) {
            await new Promise((r) => setTimeout(r, 5));
            const part = parts.shift();
            if (part === undefined) controller.close();
            else controller.enqueue(new TextEncoder().encode(part));
          },
        }),
      );
    }
    const body = req.body === null ? "" : await req.text();
    return Response.json({
      method: req.method,
      path: url.pathname,
      te: req.headers.get("transfer-encoding"),
      length: req.headers.get("content-length"),
      body,
    }, { headers: { "x-served-by": "h1" } });
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], stdin?: string): Promise<Run> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_PROXY: "*", no_proxy: "*" },
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

function curl(...args: string[]): Promise<Run> {
  return run("curl", ["-sS", "--noproxy", "*", "--max-time", "10", ...args]);
}

Deno.test({
  name: "serve reuses one connection for two URLs in one curl run",
  ignore: !HAS_CURL,
  async fn() {
    const ports: number[] = [];
    await using server = startServer(echoHandler(ports));
    const base = `http://127.0.0.1:${server.addr.port}`;
    const { code, stdout, stderr } = await curl(
      "-v",
      `${base}/one`,
      `${base}/two`,
    );
    assert.equal(code, 0, stderr);
    const bodies = stdout.split("}{").length;
    assert.equal(bodies, 2, stdout);
    assert.match(stdout, /"path":"\/one"/);
    assert.match(stdout, /"path":"\/two"/);
    assert.match(stderr, /Re-using existing connection/i);
    assert.equal(ports.length, 2);
    assert.equal(ports[0], ports[1], "curl opened a second connection");
  },
});

Deno.test({
  name: "serve takes a POST from curl --data-binary",
  ignore: !HAS_CURL,
  async fn() {
    await using server = startServer(echoHandler([]));
    const { code, stdout, stderr } = await curl(
      "--data-binary",
      "line1\nline2\u00e9",
      `http://127.0.0.1:${server.addr.port}/post`,
    );
    assert.equal(code, 0, stderr);
    const seen = JSON.parse(stdout);
    assert.equal(seen.method, "POST");
    assert.equal(seen.body, "line1\nline2\u00e9");
    assert.equal(
      seen.length,
      String(new TextEncoder().encode(seen.body).length),
    );
  },
});

Deno.test({
  name: "serve takes a chunked upload from curl",
  ignore: !HAS_CURL,
  async fn() {
    await using server = startServer(echoHandler([]));
    const payload = "x".repeat(100_000) + "end";
    const { code, stdout, stderr } = await run("curl", [
      "-sS",
      "--noproxy",
      "*",
      "-H",
      "Transfer-Encoding: chunked",
      "--data-binary",
      "@-",
      `http://127.0.0.1:${server.addr.port}/upload`,
    ], payload);
    assert.equal(code, 0, stderr);
    const seen = JSON.parse(stdout);
    assert.equal(seen.te, "chunked");
    assert.equal(seen.length, null);
    assert.equal(seen.body, payload);
  },
});

Deno.test({
  name: "serve answers curl -I (HEAD) with headers only",
  ignore: !HAS_CURL,
  async fn() {
    await using server = startServer(echoHandler([]));
    const { code, stdout, stderr } = await curl(
      "-I",
      `http://127.0.0.1:${server.addr.port}/head`,
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(stdout, /\r\nx-served-by: h1\r\n/i);
    assert.match(stdout, /\r\ncontent-length: \d+\r\n/i);
    assert.ok(stdout.endsWith("\r\n\r\n"));
  },
});

Deno.test({
  name: "serve talks HTTP/1.0 with curl --http1.0, streaming included",
  ignore: !HAS_CURL,
  async fn() {
    await using server = startServer(echoHandler([]));
    const base = `http://127.0.0.1:${server.addr.port}`;
    const plain = await curl("--http1.0", "-i", `${base}/ten`);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /\r\nconnection: close\r\n/i);
    assert.match(plain.stdout, /"path":"\/ten"/);
    const streamed = await curl("--http1.0", "-i", `${base}/stream`);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.doesNotMatch(streamed.stdout, /transfer-encoding/i);
    assert.ok(streamed.stdout.endsWith("\r\n\r\nalpha beta gamma"));
  },
});

Deno.test({
  name:
    "serve streams chunked to curl and survives curl's Expect: 100-continue",
  ignore: !HAS_CURL,
  async fn() {
    await using server = startServer(echoHandler([]));
    const base = `http://127.0.0.1:${server.addr.port}`;
    const streamed = await curl("-i", `${base}/stream`);
    assert.match(streamed.stdout, /\r\ntransfer-encoding: chunked\r\n/i);
    assert.ok(streamed.stdout.endsWith("alpha beta gamma"));
    const expect = await curl(
      "-v",
      "-H",
      "Expect: 100-continue",
      "--data-binary",
      "waited",
      `${base}/expect`,
    );
    assert.equal(expect.code, 0, expect.stderr);
    assert.match(expect.stderr, /HTTP\/1\.1 100 Continue/);
    assert.equal(JSON.parse(expect.stdout).body, "waited");
  },
});

Deno.test({
  name: "serve speaks HTTPS to curl",
  ignore: !HAS_CURL,
  async fn() {
    const certificate = await testCertificate();
    if (certificate === null) return;
    const dir = await Deno.makeTempDir({ prefix: "h1_curl_tls_" });
    try {
      await Deno.writeTextFile(`${dir}/ca.pem`, certificate.cert);
      await using server = startServer(echoHandler([]), {
        cert: certificate.cert,
        key: certificate.key,
      });
      const { code, stdout, stderr } = await curl(
        "--cacert",
        `${dir}/ca.pem`,
        `https://localhost:${server.addr.port}/secure`,
      );
      assert.equal(code, 0, stderr);
      assert.equal(JSON.parse(stdout).path, "/secure");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const PYTHON_CLIENT = `
import http.client, json, sys
port = int(sys.argv[1])
out = {}
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/first")
r = c.getresponse()
out["first"] = [r.status, json.loads(r.read())["path"], r.getheader("keep-alive")]
sock = c.sock
c.request("POST", "/json", body=json.dumps({"a": 1}), headers={"Content-Type": "application/json"})
r = c.getresponse()
out["post"] = [r.status, json.loads(r.read())["body"]]
out["reused"] = c.sock is sock
c.request("PUT", "/chunks", body=iter([b"ab", b"cd", b"ef"]), encode_chunked=True)
r = c.getresponse()
seen = json.loads(r.read())
out["chunked"] = [seen["te"], seen["body"]]
c.request("HEAD", "/head")
r = c.getresponse()
out["head"] = [r.status, r.read(), r.getheader("content-length") is not None]
c.request("GET", "/stream")
r = c.getresponse()
out["stream"] = [r.getheader("transfer-encoding"), r.read().decode()]
out["still_reused"] = c.sock is sock
c.close()
print(json.dumps(out, default=lambda b: b.decode()))
`;

Deno.test({
  name: "serve talks to Python's http.client",
  ignore: !HAS_PYTHON,
  async fn() {
    const ports: number[] = [];
    await using server = startServer(echoHandler(ports));
    const { code, stdout, stderr } = await run("python3", [
      "-c",
      PYTHON_CLIENT,
      String(server.addr.port),
    ]);
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout);
    assert.deepEqual(out.first, [200, "/first", "timeout=5"]);
    assert.deepEqual(out.post, [200, '{"a": 1}']);
    assert.equal(out.reused, true);
    assert.deepEqual(out.chunked, ["chunked", "abcdef"]);
    assert.deepEqual(out.head, [200, "", true]);
    assert.deepEqual(out.stream, ["chunked", "alpha beta gamma"]);
    assert.equal(out.still_reused, true);
    assert.equal(new Set(ports).size, 1);
  },
});

const PYTHON_PIPELINE = `
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
req = b"GET /p HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
s.sendall(req * 3 + b"GET /last HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.count(b"HTTP/1.1 200 OK"), data.count(b"connection: close"))
`;

Deno.test({
  name:
    "serve answers a Python socket's pipelined batch and honours Connection: close",
  ignore: !HAS_PYTHON,
  async fn() {
    await using server = startServer(echoHandler([]));
    const { code, stdout, stderr } = await run("python3", [
      "-c",
      PYTHON_PIPELINE,
      String(server.addr.port),
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), "4 1");
  },
});

// deno-lint-ignore-file no-console
// TLS end to end against peers nobody here wrote, both ways.
//
// Server side: h1's `serve({ cert, key })`, the Python face with TLS and the
// CLI's --tls-cert / --tls-key against curl, Python's `ssl` /
// `http.client.HTTPSConnection` and Node's `https` module, with the same
// handler also served by `Deno.serve` over TLS where a comparison means
// something.
//
// Client side: `HTTPSConnection`, `Pool` and `request()` with `caCerts`
// against Python's `http.server` wrapped in `ssl`, a raw Python `ssl` server
// (for truncation without close_notify and a corrupt record mid-body),
// nginx with `ssl_certificate` (SNI, pipelining, early 413, idle close) and
// `Deno.serve` over TLS; certificate failures (unknown CA, wrong name, an IP
// the certificate does not cover, expired) must be named errors.
//
// Every test skips with a message when a tool it needs is missing.
import assert from "node:assert/strict";
import {
  HTTPConnection,
  HTTPSConnection,
} from "../../client/http_connection.ts";
import {
  HTTPException,
  IncompleteRead,
  RemoteDisconnected,
} from "../../client/errors.ts";
import { Pool } from "../../client/pool.ts";
import { request } from "../../client/request.ts";
import { NetError } from "../../net/errors.ts";
import { ProtocolError } from "../../http1/errors.ts";
import {
  BaseHTTPRequestHandler,
  ThreadingHTTPServer,
} from "../../server/mod.ts";
import { serve } from "../../server/serve.ts";
import { delay, hasCommand, startServer } from "../server/_raw.ts";
import { testCertificate } from "../server/_tls.ts";
import { spawnExample } from "../examples/_spawn.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const certificate = await testCertificate();
const [hasCurl, hasPython, hasNode, hasNginx] = await Promise.all([
  hasCommand("curl"),
  hasCommand("python3"),
  hasCommand("node"),
  hasCommand("nginx", ["-v"]),
]);
if (certificate === null) {
  console.error("tls_interop: skipping all, `openssl` is not installed");
}
for (
  const [tool, present] of [
    ["curl", hasCurl],
    ["python3", hasPython],
    ["node", hasNode],
    ["nginx", hasNginx],
  ] as const
) {
  if (!present) console.error(`tls_interop: skipping ${tool} tests: not found`);
}
const noTls = certificate === null;

// ---------------------------------------------------------------------------
// Certificates and scripts, written once to a temporary directory

/** PEM files on disk, for the tools that take paths. */
interface Pems {
  dir: string;
  /** The shared test certificate (localhost, 127.0.0.1) and its key. */
  cert: string;
  key: string;
  /** A self-signed certificate for other.test only. */
  otherCert: string;
  otherKey: string;
  /** A CA and a localhost leaf it signed that expired on 2020-01-02. */
  caCert: string;
  expiredCert: string;
  expiredKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`openssl ${args[0]} failed: ${decoder.decode(stderr)}`);
  }
}

async function makePems(): Promise<Pems | null> {
  if (certificate === null) return null;
  const dir = await Deno.makeTempDir({ prefix: "h1_tls_interop_" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  await Deno.writeTextFile(`${dir}/cert.pem`, certificate.cert);
  await Deno.writeTextFile(`${dir}/key.pem`, certificate.key);
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=other.test",
    "-addext",
    "subjectAltName=DNS:other.test",
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-keyout",
    "other_key.pem",
    "-out",
    "other_cert.pem",
  ], dir);
  // An expired leaf needs dates in the past: `openssl ca` takes them.
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-nodes",
    "-days",
    "30",
    "-subj",
    "/CN=h1 test CA",
    "-keyout",
    "ca_key.pem",
    "-out",
    "ca_cert.pem",
  ], dir);
  await openssl([
    "req",
    ...ec,
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    "expired_key.pem",
    "-out",
    "expired.csr",
  ], dir);
  await Deno.mkdir(`${dir}/db`);
  await Deno.writeTextFile(`${dir}/db/index`, "");
  await Deno.writeTextFile(`${dir}/db/serial`, "01\n");
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n",
  );
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    "[ca]\ndefault_ca=d\n[d]\ndatabase=db/index\nserial=db/serial\n" +
      "new_certs_dir=db\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n",
  );
  await openssl([
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    "ca_cert.pem",
    "-keyfile",
    "ca_key.pem",
    "-in",
    "expired.csr",
    "-out",
    "expired_cert.pem",
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
    "-extfile",
    "ext.cnf",
  ], dir);
  for (const [name, source] of Object.entries(SCRIPTS)) {
    await Deno.writeTextFile(`${dir}/${name}`, source);
  }
  return {
    dir,
    cert: `${dir}/cert.pem`,
    key: `${dir}/key.pem`,
    otherCert: `${dir}/other_cert.pem`,
    otherKey: `${dir}/other_key.pem`,
    caCert: `${dir}/ca_cert.pem`,
    expiredCert: `${dir}/expired_cert.pem`,
    expiredKey: `${dir}/expired_key.pem`,
  };
}

const SCRIPTS: Record<string, string> = {
  // Python's http.server (threading) wrapped in ssl, as the ssl docs show. "/" is
  // the canonical hello world: HTTP/1.0, no Content-Length, so the body ends
  // when the connection does; "/cl" has a Content-Length.
  // argv: cert key protocol_version handler_timeout_seconds|none
  "py_https_server.py": `
import ssl, sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class Handler(BaseHTTPRequestHandler):
    protocol_version = sys.argv[3]
    timeout = None if sys.argv[4] == "none" else float(sys.argv[4])
    def log_message(self, *args): pass
    def do_GET(self):
        if self.path.startswith("/cl"):
            body = ("py " + self.path).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-type", "text/html")
        self.end_headers()
        self.wfile.write(b"Hello, world!")
httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
`,
  // One TLS (or plain, argv[2] == "0") connection with a scripted ending.
  // argv: mode tls cert key
  "py_raw_server.py": `
import socket, ssl, sys, time
mode, use_tls = sys.argv[1], sys.argv[2] == "1"
ctx = None
if use_tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen()
print(ls.getsockname()[1], flush=True)
c, _ = ls.accept()
s = ctx.wrap_socket(c, server_side=True) if ctx else c
data = b""
while b"\\r\\n\\r\\n" not in data:
    d = s.recv(65536)
    if not d: break
    data += d
def abrupt(s):
    # TCP close with no TLS close_notify (what Python's http.server does).
    raw = socket.socket(fileno=s.detach()) if ctx else s
    raw.close()
if mode == "cl-trunc":
    s.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\nonly-ten!!"); abrupt(s)
elif mode == "chunk-trunc":
    s.sendall(b"HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nhello\\r\\n"); abrupt(s)
elif mode == "no-response":
    abrupt(s)
elif mode == "notify-mid-body":
    s.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\nonly-ten!!")
    s.unwrap().close()
elif mode == "corrupt-mid-body":
    s.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\nonly-ten!!")
    time.sleep(0.05)
    raw = socket.socket(fileno=s.detach())
    # An application_data record whose AEAD tag cannot verify.
    raw.sendall(b"\\x17\\x03\\x03\\x00\\x13" + bytes(19))
    time.sleep(0.2)
    raw.close()
`,
  // Sends each raw request on its own TLS connection with ragged EOFs
  // reported, reads to the end and says how the server closed.
  // argv: port cafile json-list-of-requests
  "py_close_probe.py": `
import json, socket, ssl, sys
port, cafile, reqs = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
out = []
for req in reqs:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                        server_hostname="localhost", suppress_ragged_eofs=False)
    s.sendall(req.encode("latin1"))
    data, end = b"", None
    try:
        while True:
            d = s.recv(65536)
            if not d:
                end = "close_notify"; break
            data += d
    except ssl.SSLEOFError:
        end = "no close_notify"
    except Exception as e:
        end = type(e).__name__
    head, _, body = data.partition(b"\\r\\n\\r\\n")
    out.append({"status": head.split(b"\\r\\n")[0].decode("latin1"), "body": len(body), "end": end})
    s.close()
print(json.dumps(out))
`,
  // http.client.HTTPSConnection: 20 keep-alive GETs, then a 4 MB upload and
  // a 5 MB download on the same socket. argv: port cafile
  "py_https_client.py": `
import hashlib, http.client, json, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=cafile))
socks, bodies = set(), []
for i in range(20):
    c.request("GET", "/r%d" % i)
    r = c.getresponse()
    bodies.append(r.read().decode())
    socks.add(id(c.sock))
up = bytes(range(256)) * (4 * 1024 * 1024 // 256)
c.request("POST", "/echo", body=up)
r = c.getresponse()
echo = r.read().decode()
socks.add(id(c.sock))
c.request("GET", "/big?n=5000000")
r = c.getresponse()
down = r.read()
socks.add(id(c.sock))
print(json.dumps({"sockets": len(socks), "bodies": bodies, "echo": echo,
    "up": "%d %s" % (len(up), hashlib.sha256(up).hexdigest()),
    "down": "%d %s" % (len(down), hashlib.sha256(down).hexdigest())}))
`,
  // Expect: 100-continue by hand: the head, wait for the interim response,
  // then the body. argv: port cafile
  "py_expect_client.py": `
import json, socket, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
body = bytes(range(256)) * 40
s.sendall(b"POST /echo HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: %d\\r\\nExpect: 100-continue\\r\\nConnection: close\\r\\n\\r\\n" % len(body))
interim = b""
while b"\\r\\n\\r\\n" not in interim:
    d = s.recv(1)
    if not d: break
    interim += d
s.sendall(body)
rest = b""
while True:
    d = s.recv(65536)
    if not d: break
    rest += d
print(json.dumps({"interim": interim.decode("latin1"), "final": rest.decode("latin1")}))
`,
  // Node's https: a keep-alive Agent (10 sockets), 50 GETs and 10 POSTs at
  // once. argv: port cafile
  "node_https_client.js": `
const https = require("https");
const fs = require("fs");
const crypto = require("crypto");
const port = Number(process.argv[2]);
const agent = new https.Agent({ keepAlive: true, maxSockets: 10, ca: fs.readFileSync(process.argv[3]) });
const ports = new Set();
function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path, method, agent }, (res) => {
      ports.add(res.socket.localPort);
      const alpn = res.socket.alpnProtocol;
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString(), alpn }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}
(async () => {
  const up = Buffer.alloc(100000, 7);
  const sum = up.length + " " + crypto.createHash("sha256").update(up).digest("hex");
  const gets = Array.from({ length: 50 }, (_, i) => call("GET", "/n" + i));
  const posts = Array.from({ length: 10 }, () => call("POST", "/echo", up));
  const got = await Promise.all(gets);
  const posted = await Promise.all(posts);
  const bad = got.filter((r, i) => r.status !== 200 || r.body !== "hello /n" + i).length +
    posted.filter((r) => r.status !== 200 || r.body !== sum).length;
  console.log(JSON.stringify({ n: got.length + posted.length, bad, sockets: ports.size, alpn: got[0].alpn }));
  agent.destroy();
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
`,
  // Which ALPN protocol the server picks. argv: port protocols...
  "py_alpn.py": `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(sys.argv[3:])
try:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
    print(s.selected_alpn_protocol())
    s.close()
except ssl.SSLError as e:
    print("SSLError " + e.reason)
`,
  // A TLS client that sends part of an upload and leaves without
  // close_notify. argv: port cafile
  "py_abrupt_upload.py": `
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.sendall(b"POST /echo HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100000\\r\\n\\r\\n" + b"a" * 5000)
time.sleep(0.2)
socket.socket(fileno=s.detach()).close()
`,
};

const pems = await makePems();
if (pems !== null) {
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(pems.dir, { recursive: true });
    } catch {
      // Already gone.
    }
  });
}

// ---------------------------------------------------------------------------
// Helpers

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`). */
async function run(
  command: string,
  args: string[],
  timeoutMs = 20_000,
): Promise<Output> {
  const child = new Deno.Command(command, {
    args,
    cwd: pems!.dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill();
    } catch {
      // Already exited.
    }
  }, timeoutMs);
  try {
    const { code, stdout, stderr } = await child.output();
    return {
      code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a script that prints one JSON line last, and parses it. */
async function runJson(
  command: string,
  args: string[],
): Promise<Record<string, unknown> & { [k: string]: unknown }> {
  const out = await run(command, args);
  const lines = out.stdout.trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]!);
  } catch {
    throw new Error(
      `${command} ${
        args[0]
      } printed no JSON (exit ${out.code}): ${out.stdout}\n${out.stderr}`,
    );
  }
}

/** A child process that printed its port on its first line. */
interface Child extends AsyncDisposable {
  port: number;
}

async function startChild(command: string, args: string[]): Promise<Child> {
  const child = new Deno.Command(command, {
    args,
    cwd: pems!.dir,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => {
    try {
      child.kill();
    } catch {
      // Already exited.
    }
  }, 10_000);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(timer);
  }
  const close = async () => {
    try {
      child.kill();
    } catch {
      // Already exited.
    }
    await child.status;
    await reader.cancel().catch(() => {});
  };
  const port = Number(text.trim().split("\n")[0]);
  if (!(port > 0)) {
    await close();
    throw new Error(`${command} ${args[0]} did not print a port`);
  }
  return { port, [Symbol.asyncDispose]: close };
}

function pyHttpsServer(
  cert: string,
  key: string,
  protocol = "HTTP/1.0",
  timeout = "none",
): Promise<Child> {
  return startChild("python3", [
    "py_https_server.py",
    cert,
    key,
    protocol,
    timeout,
  ]);
}

function pyRawServer(mode: string, tls = true): Promise<Child> {
  return startChild("python3", [
    "py_raw_server.py",
    mode,
    tls ? "1" : "0",
    pems!.cert,
    pems!.key,
  ]);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await delay(25);
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Deterministic bytes: byte i is (i * 31 + 7) mod 256. */
function pattern(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function summary(bytes: Uint8Array): Promise<string> {
  return `${bytes.length} ${await sha256(bytes)}`;
}

/** The handler both h1 and Deno.serve run. */
async function app(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const n = Number(url.searchParams.get("n") ?? "0");
  switch (url.pathname) {
    case "/echo":
      return new Response(
        await summary(new Uint8Array(await req.arrayBuffer())),
      );
    case "/big":
      return new Response(pattern(n));
    case "/stream": {
      const all = pattern(n);
      let at = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            await delay(1);
            if (at >= n) return controller.close();
            const size = Math.min(64 * 1024, n - at);
            controller.enqueue(all.slice(at, at + size));
            at += size;
          },
        }),
      );
    }
    default:
      return new Response(`hello ${url.pathname}`);
  }
}

type Target = { name: string; port: number };

/** Runs `body` against h1's serve() and Deno.serve, both over TLS. */
async function bothServers(
  body: (target: Target) => Promise<void>,
  options: Parameters<typeof startServer>[1] = {},
): Promise<void> {
  const { cert, key } = certificate!;
  await using h1 = startServer(app, { cert, key, ...options });
  const deno = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert, key, onListen: () => {} },
    app,
  );
  try {
    await body({ name: "h1", port: h1.addr.port });
    await body({ name: "Deno.serve", port: deno.addr.port });
  } finally {
    await deno.shutdown();
  }
}

function curlArgs(port: number, ...rest: string[]): string[] {
  return [
    "-sS",
    "--cacert",
    pems!.cert,
    "--resolve",
    `localhost:${port}:127.0.0.1`,
    ...rest,
  ];
}

const serverIgnore = (tool: boolean) => noTls || !tool;

// Every pool gives up instead of hanging a broken test.
const BOUNDED = {
  connectTimeoutMs: 5000,
  headersTimeoutMs: 5000,
  bodyTimeoutMs: 5000,
};

// ---------------------------------------------------------------------------
// h1 serves TLS: curl

Deno.test({
  name:
    "tls interop: curl --http1.1 reuses one TLS connection for two URLs on h1 and Deno.serve",
  ignore: serverIgnore(hasCurl),
  async fn() {
    await bothServers(async ({ name, port }) => {
      const out = await run(
        "curl",
        curlArgs(
          port,
          "-v",
          "--http1.1",
          `https://localhost:${port}/a`,
          `https://localhost:${port}/b`,
        ),
      );
      assert.equal(out.code, 0, `${name}: ${out.stderr}`);
      assert.equal(out.stdout, "hello /ahello /b", name);
      assert.match(out.stderr, /Re-using existing connection/, name);
      assert.equal(out.stderr.match(/\* Connected to /g)?.length, 1, name);
    });
  },
});

Deno.test({
  name:
    "tls interop: curl -d @file of 3 MB (Expect: 100-continue) and a chunked 2 MB upload arrive whole",
  ignore: serverIgnore(hasCurl),
  async fn() {
    const big = pattern(3_000_000);
    const chunked = pattern(2_000_000).reverse();
    await Deno.writeFile(`${pems!.dir}/up3.bin`, big);
    await Deno.writeFile(`${pems!.dir}/up2.bin`, chunked);
    await bothServers(async ({ name, port }) => {
      const url = `https://localhost:${port}/echo`;
      const out = await run(
        "curl",
        curlArgs(port, "-v", "--http1.1", "--data-binary", "@up3.bin", url),
      );
      assert.equal(out.code, 0, `${name}: ${out.stderr}`);
      assert.equal(out.stdout, await summary(big), name);
      // curl asks before sending more than 1 MB; both servers agree.
      assert.match(out.stderr, /> Expect: 100-continue/, name);
      assert.match(out.stderr, /< HTTP\/1\.1 100 Continue/, name);
      const te = await run(
        "curl",
        curlArgs(
          port,
          "--http1.1",
          "-H",
          "Transfer-Encoding: chunked",
          "--data-binary",
          "@up2.bin",
          url,
        ),
      );
      assert.equal(te.code, 0, `${name}: ${te.stderr}`);
      assert.equal(te.stdout, await summary(chunked), name);
    });
  },
});

Deno.test({
  name:
    "tls interop: curl --limit-rate reads a 1.5 MB streamed body slowly; h1 sends it chunked and whole",
  ignore: serverIgnore(hasCurl),
  async fn() {
    const { cert, key } = certificate!;
    await using server = startServer(app, { cert, key });
    const port = server.addr.port;
    const out = await run(
      "curl",
      curlArgs(
        port,
        "--http1.1",
        "--limit-rate",
        "3M",
        "-D",
        "headers.txt",
        "-o",
        "slow.bin",
        `https://localhost:${port}/stream?n=1500000`,
      ),
    );
    assert.equal(out.code, 0, out.stderr);
    const headers = await Deno.readTextFile(`${pems!.dir}/headers.txt`);
    assert.match(headers, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(headers, /\r\ntransfer-encoding: chunked\r\n/);
    const got = await Deno.readFile(`${pems!.dir}/slow.bin`);
    assert.equal(await summary(got), await summary(pattern(1_500_000)));
  },
});

Deno.test({
  name:
    "tls interop: curl -I (HEAD) gets the GET's Content-Length and no body, as from Deno.serve",
  ignore: serverIgnore(hasCurl),
  async fn() {
    const lengths: string[] = [];
    await bothServers(async ({ name, port }) => {
      const out = await run(
        "curl",
        curlArgs(
          port,
          "--http1.1",
          "-I",
          `https://localhost:${port}/big?n=12345`,
        ),
      );
      assert.equal(out.code, 0, `${name}: ${out.stderr}`);
      assert.match(out.stdout, /^HTTP\/1\.1 200 OK\r\n/, name);
      assert.ok(out.stdout.endsWith("\r\n\r\n"), name);
      lengths.push(out.stdout.match(/content-length: (\d+)\r\n/i)?.[1] ?? "");
    });
    assert.deepEqual(lengths, ["12345", "12345"]);
  },
});

Deno.test({
  name:
    "tls interop: curl --http2 (offers h2,http/1.1) gets HTTP/1.1 from h1, HTTP/2 from Deno.serve",
  ignore: serverIgnore(hasCurl),
  async fn() {
    const versions: Record<string, string> = {};
    await bothServers(async ({ name, port }) => {
      const out = await run(
        "curl",
        curlArgs(
          port,
          "--http2",
          "-w",
          "|%{http_version}",
          `https://localhost:${port}/v`,
        ),
      );
      assert.equal(out.code, 0, `${name}: ${out.stderr}`);
      const [body, version] = out.stdout.split("|");
      assert.equal(body, "hello /v", name);
      versions[name] = version!;
    });
    assert.deepEqual(versions, { h1: "1.1", "Deno.serve": "2" });
  },
});

Deno.test({
  name:
    "tls interop: curl --http1.0 reads h1's close-delimited streamed body, ended by close_notify",
  ignore: serverIgnore(hasCurl),
  async fn() {
    const { cert, key } = certificate!;
    await using server = startServer(app, { cert, key });
    const port = server.addr.port;
    const out = await run(
      "curl",
      curlArgs(
        port,
        "-v",
        "--http1.0",
        "-o",
        "close.bin",
        `https://localhost:${port}/stream?n=200000`,
      ),
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /< HTTP\/1\.1 200 OK/);
    assert.doesNotMatch(out.stderr, /< (content-length|transfer-encoding):/i);
    assert.match(out.stderr, /TLS alert, close notify/);
    const got = await Deno.readFile(`${pems!.dir}/close.bin`);
    assert.equal(await summary(got), await summary(pattern(200_000)));
  },
});

// ---------------------------------------------------------------------------
// h1 serves TLS: Python

Deno.test({
  name:
    "tls interop: Python HTTPSConnection keeps one socket for 20 GETs, a 4 MB upload and a 5 MB download",
  ignore: serverIgnore(hasPython),
  async fn() {
    await bothServers(async ({ name, port }) => {
      const result = await runJson("python3", [
        "py_https_client.py",
        String(port),
        pems!.cert,
      ]);
      assert.equal(result.sockets, 1, name);
      assert.deepEqual(
        result.bodies,
        Array.from({ length: 20 }, (_, i) => `hello /r${i}`),
        name,
      );
      assert.equal(result.echo, result.up, name);
      assert.equal(result.down, await summary(pattern(5_000_000)), name);
    });
  },
});

Deno.test({
  name:
    "tls interop: Expect: 100-continue over TLS gets the same interim bytes from h1 as from Deno.serve",
  ignore: serverIgnore(hasPython),
  async fn() {
    const body = new Uint8Array(10240);
    for (let i = 0; i < body.length; i++) body[i] = i % 256;
    const expected = await summary(body);
    await bothServers(async ({ name, port }) => {
      const result = await runJson("python3", [
        "py_expect_client.py",
        String(port),
        pems!.cert,
      ]);
      assert.equal(result.interim, "HTTP/1.1 100 Continue\r\n\r\n", name);
      const final = String(result.final);
      assert.match(final, /^HTTP\/1\.1 200 OK\r\n/, name);
      assert.ok(final.endsWith(`\r\n\r\n${expected}`), `${name}: ${final}`);
    });
  },
});

Deno.test({
  name:
    "tls interop: every way h1 ends a TLS connection sends close_notify (Python with ragged EOFs reported)",
  ignore: serverIgnore(hasPython),
  async fn() {
    const { cert, key } = certificate!;
    await using server = startServer(app, {
      cert,
      key,
      limits: { keepAliveTimeoutMs: 200, maxBodyBytes: 1000 },
    });
    const requests = [
      "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET /stream?n=100000 HTTP/1.0\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
    ];
    const result = await runJson("python3", [
      "py_close_probe.py",
      String(server.addr.port),
      pems!.cert,
      JSON.stringify(requests),
    ]) as unknown as { status: string; body: number; end: string }[];
    assert.deepEqual(result.map((r) => [r.status, r.end]), [
      ["HTTP/1.1 200 OK", "close_notify"],
      ["HTTP/1.1 200 OK", "close_notify"],
      ["HTTP/1.1 400 Bad Request", "close_notify"],
      ["HTTP/1.1 200 OK", "close_notify"],
      ["HTTP/1.1 413 Request Entity Too Large", "close_notify"],
    ]);
    assert.equal(result[1]!.body, 100_000);
  },
});

// ---------------------------------------------------------------------------
// h1 serves TLS: Node

Deno.test({
  name:
    "tls interop: Node https with a keep-alive Agent: 50 GETs and 10 POSTs at once over at most 10 sockets",
  ignore: serverIgnore(hasNode),
  async fn() {
    await bothServers(async ({ name, port }) => {
      const result = await runJson("node", [
        "node_https_client.js",
        String(port),
        pems!.cert,
      ]);
      assert.equal(result.error, undefined, `${name}: ${result.error}`);
      assert.equal(result.n, 60, name);
      assert.equal(result.bad, 0, name);
      assert.ok(Number(result.sockets) <= 10, `${name}: ${result.sockets}`);
      // Node offers no ALPN by default: HTTP/1.1 either way.
      assert.equal(result.alpn, false, name);
    });
  },
});

// ---------------------------------------------------------------------------
// ALPN

// Fixed bug: h1 never passes `alpnProtocols` to Deno.listenTls (serve.ts and
// http_server.ts), so a TLS client offering ["h2", "http/1.1"] gets no ALPN
// answer at all. nginx, Node's https.createServer (both tried here by hand)
// and Deno.serve select "http/1.1" for it (RFC 7301 §3.2; RFC 9325 §3.4
// recommends ALPN so cross-protocol confusion is refused). nginx also accepts
// a client that offers only "http/1.0" (curl --http1.0); h1 should offer
// ["http/1.1", "http/1.0"] so that keeps working.
Deno.test({
  name:
    "tls interop: h1 selects http/1.1 by ALPN like nginx and Node, and still takes an http/1.0-only client",
  async fn() {
    const { cert, key } = certificate!;
    await using server = startServer(app, { cert, key });
    const port = String(server.addr.port);
    const both = await run("python3", [
      "py_alpn.py",
      port,
      pems!.cert,
      "h2",
      "http/1.1",
    ]);
    assert.equal(both.stdout.trim(), "http/1.1");
    const old = await run("python3", [
      "py_alpn.py",
      port,
      pems!.cert,
      "http/1.0",
    ]);
    assert.equal(old.stdout.trim(), "http/1.0");
  },
});

// ---------------------------------------------------------------------------
// The Python face and the CLI with TLS

class KeepAliveHandler extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1";
  override log_message(): void {}
  do_GET(): void {
    const body = encoder.encode(`hello ${this.path}`);
    this.send_response(200);
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(body);
  }
  async do_POST(): Promise<void> {
    const length = Number(this.headers.get("Content-Length") ?? "0");
    const body = await summary(await this.rfile.read(length));
    this.send_response(200);
    this.send_header("Content-Length", String(body.length));
    this.end_headers();
    this.wfile.write(encoder.encode(body));
  }
}

// The README's hello world: HTTP/1.0, no Content-Length.
class HelloHandler extends BaseHTTPRequestHandler {
  override log_message(): void {}
  do_GET(): void {
    this.send_response(200);
    this.send_header("Content-type", "text/html");
    this.end_headers();
    this.wfile.write(encoder.encode("Hello, world!"));
  }
}

async function withFace(
  Handler: typeof BaseHTTPRequestHandler,
  body: (port: number, log: string[]) => Promise<void>,
): Promise<void> {
  const log: string[] = [];
  const server = new ThreadingHTTPServer(["127.0.0.1", 0], Handler, {
    cert: certificate!.cert,
    key: certificate!.key,
    logWriter: (text) => log.push(text),
  });
  const serving = server.serve_forever();
  try {
    await body(server.server_port, log);
  } finally {
    await server.shutdown();
    await serving;
    await server.server_close();
  }
}

Deno.test({
  name:
    "tls interop: ThreadingHTTPServer with TLS: curl reuses the HTTP/1.1 connection, Python ends on close_notify for HTTP/1.0",
  ignore: serverIgnore(hasCurl && hasPython),
  async fn() {
    await withFace(KeepAliveHandler, async (port) => {
      const out = await run(
        "curl",
        curlArgs(
          port,
          "-v",
          "--http1.1",
          `https://localhost:${port}/a`,
          `https://localhost:${port}/b`,
        ),
      );
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, "hello /ahello /b");
      assert.match(out.stderr, /Re-using existing connection/);
    });
    await withFace(HelloHandler, async (port) => {
      const out = await run(
        "curl",
        curlArgs(port, "-v", `https://localhost:${port}/`),
      );
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, "Hello, world!");
      assert.match(out.stderr, /< HTTP\/1\.0 200 OK/);
      const result = await runJson("python3", [
        "py_close_probe.py",
        String(port),
        pems!.cert,
        JSON.stringify(["GET / HTTP/1.0\r\n\r\n"]),
      ]) as unknown as { status: string; body: number; end: string }[];
      assert.deepEqual(result, [{
        status: "HTTP/1.0 200 OK",
        body: 13,
        end: "close_notify",
      }]);
    });
  },
});

Deno.test({
  name:
    "tls interop: the CLI with --tls-cert/--tls-key -p HTTP/1.1 serves curl: keep-alive, a 1 MB file, HEAD",
  ignore: serverIgnore(hasCurl),
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "h1_tls_cli_" });
    try {
      const file = pattern(1_000_000);
      await Deno.writeFile(`${root}/file.bin`, file);
      await Deno.writeTextFile(`${root}/a.txt`, "A\n");
      await using cli = await spawnExample("../server/cli.ts", {
        args: [
          "0",
          "-b",
          "127.0.0.1",
          "-d",
          root,
          "-p",
          "HTTP/1.1",
          "-q",
          "--tls-cert",
          pems!.cert,
          "--tls-key",
          pems!.key,
        ],
        permissions: [
          "--allow-net=127.0.0.1",
          `--allow-read=${root},${pems!.dir}`,
        ],
        waitFor: /^Serving HTTPS on 127\.0\.0\.1 port (\d+) /,
      });
      const base = `https://localhost:${cli.port}`;
      const out = await run(
        "curl",
        curlArgs(
          cli.port,
          "-v",
          "-o",
          "cli_a.txt",
          `${base}/a.txt`,
          "-o",
          "cli_file.bin",
          `${base}/file.bin`,
        ),
      );
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /Re-using existing connection/);
      assert.equal(await Deno.readTextFile(`${pems!.dir}/cli_a.txt`), "A\n");
      assert.equal(
        await summary(await Deno.readFile(`${pems!.dir}/cli_file.bin`)),
        await summary(file),
      );
      const head = await run(
        "curl",
        curlArgs(cli.port, "-I", `${base}/file.bin`),
      );
      assert.equal(head.code, 0, head.stderr);
      assert.match(head.stdout, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(head.stdout, /\r\nContent-Length: 1000000\r\n/);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "tls interop: a TLS client leaving mid-upload without close_notify fails the handler's read with UNEXPECTED_EOF, nothing internal",
  ignore: serverIgnore(hasPython && hasCurl),
  async fn() {
    const seen: unknown[] = [];
    const internal: unknown[] = [];
    let done!: () => void;
    const handled = new Promise<void>((resolve) => done = resolve);
    const { cert, key } = certificate!;
    await using server = startServer(async (req) => {
      if (new URL(req.url).pathname !== "/echo") return new Response("next");
      try {
        await req.arrayBuffer();
        seen.push("read it all");
      } catch (error) {
        seen.push(error);
      }
      done();
      return new Response("unreachable");
    }, { cert, key, onInternalError: (error) => internal.push(error) });
    const port = server.addr.port;
    const py = await run("python3", [
      "py_abrupt_upload.py",
      String(port),
      pems!.cert,
    ]);
    assert.equal(py.code, 0, py.stderr);
    await handled;
    assert.equal(seen.length, 1);
    assert.ok(seen[0] instanceof ProtocolError, String(seen[0]));
    assert.equal(seen[0].code, "UNEXPECTED_EOF");
    assert.deepEqual(internal, []);
    const out = await run(
      "curl",
      curlArgs(port, `https://localhost:${port}/x`),
    );
    assert.equal(out.stdout, "next");
  },
});

// Fixed bug: BaseHTTPRequestHandler.handle_one_request treats any error whose
// message matches /tls|handshake|certificate/i (and any Deno ConnectionReset
// / BrokenPipe / InvalidData / ...) thrown by the handler as "the client went
// away" (server/request_handler.ts:595 uses the engine's isPeerGone on the
// handler's own failure). A do_GET calling an HTTPS upstream whose
// certificate does not verify throws HTTPException("Cannot complete the TLS
// handshake ..."): h1 then sends nothing and logs nothing; the client gets an
// empty reply (curl exit 52). The README promises "a do_X that throws gets a
// 500 if nothing was sent ... and the server's handle_error prints Python's
// report" (CPython also prints the traceback), and the same handler throwing
// Error("boom") does get both. serve()'s face answers 500 / onError here.
Deno.test({
  name:
    "tls interop: a do_GET failing on an upstream TLS handshake gets a 500 and handle_error's report",
  async fn() {
    const { cert, key } = certificate!;
    await using upstream = startServer(() => new Response("upstream"), {
      cert,
      key,
    });
    const upstreamPort = upstream.addr.port;
    class ProxyHandler extends BaseHTTPRequestHandler {
      override log_message(): void {}
      async do_GET(): Promise<void> {
        if (this.path === "/boom") throw new Error("boom");
        // No caCerts: the upstream's self-signed certificate does not verify.
        using up = new HTTPSConnection("localhost", upstreamPort, {
          timeout: 5,
        });
        await up.request("GET", "/");
      }
    }
    await withFace(ProxyHandler, async (port, log) => {
      for (const path of ["/boom", "/upstream"]) {
        log.length = 0;
        const out = await run(
          "curl",
          curlArgs(port, "-i", `https://localhost:${port}${path}`),
        );
        assert.equal(out.code, 0, `${path}: ${out.stderr}`);
        assert.match(out.stdout, /^HTTP\/1\.0 500 /, path);
        assert.ok(
          log.some((line) => line.includes("Exception occurred")),
          `${path}: ${log.join("")}`,
        );
      }
    });
  },
});

// Fixed bug: serve({ cert }) without `key` (or `key` without `cert`) reaches
// Deno.listenTls with key "" and throws Deno's InvalidData "No keys found in
// key data", which points at the PEM rather than at the missing option.
// Deno.serve, whose options the README says serve() takes "as Deno.serve",
// throws TypeError "Both 'cert' and 'key' must be provided to enable HTTPS"
// (server/serve.ts:206-222: check both are strings before listening).
Deno.test({
  name:
    "tls interop: serve() with cert but no key throws Deno.serve's TypeError naming both options",
  fn() {
    for (
      const options of [{ cert: certificate!.cert }, { key: certificate!.key }]
    ) {
      assert.throws(
        () =>
          serve(
            { hostname: "127.0.0.1", port: 0, onListen: () => {}, ...options },
            () => new Response("x"),
          ),
        (error: unknown) => {
          assert.ok(error instanceof TypeError, String(error));
          assert.match(error.message, /cert.*key/);
          return true;
        },
      );
    }
  },
});

// ---------------------------------------------------------------------------
// h1's client against Python's http.server over TLS

Deno.test({
  name:
    "tls interop: HTTPSConnection and request() keep a TLS connection to Python's http.server (HTTP/1.1, Content-Length)",
  ignore: noTls || !hasPython,
  async fn() {
    await using py = await pyHttpsServer(pems!.cert, pems!.key, "HTTP/1.1");
    using conn = new HTTPSConnection("localhost", py.port, {
      caCerts: [certificate!.cert],
      timeout: 5,
    });
    let sock: Deno.Conn | null = null;
    for (let i = 0; i < 5; i++) {
      await conn.request("GET", `/cl${i}`);
      const response = await conn.getresponse();
      assert.equal(response.status, 200);
      assert.equal(decoder.decode(await response.read()), `py /cl${i}`);
      sock ??= conn.sock;
      assert.equal(conn.sock, sock, "one TLS connection");
    }
    using pool = new Pool({ ...BOUNDED, caCerts: [certificate!.cert] });
    const web = await request(`https://localhost:${py.port}/cl-web`, { pool });
    assert.equal(await web.text(), "py /cl-web");
  },
});

// Fixed bug: Python's http.server over TLS (the ssl module docs' recipe) closes
// with a plain TCP close, never a TLS close_notify (socketserver's
// shutdown_request()). For the README's own hello-world handler (HTTP/1.0, no
// Content-Length) the body is delimited by that close. Python's http.client
// (ssl's suppress_ragged_eofs), curl 7.88/OpenSSL 3 and Node's https all
// return "Hello, world!" (checked by hand; Deno's fetch fails too, with
// "error reading a body from connection"); h1's HTTPSConnection.read() and
// request() reject with Deno's raw `UnexpectedEof` ("peer closed connection
// without sending TLS close_notify"), an error from none of h1's documented
// classes, and the bytes that arrived are lost. client/_transport.ts:424
// (#readError) passes it through; treating Deno.errors.UnexpectedEof on a
// TLS read as EOF (parser.receiveEof()) fixes this and the three below.
// h1's own node:tls path (HTTPSConnection with source_address) already
// behaves so: see the passing source_address test further down.
Deno.test({
  name:
    "tls interop: HTTPSConnection reads a close-delimited body from Python's http.server that ends without close_notify",
  async fn() {
    await using py = await pyHttpsServer(pems!.cert, pems!.key);
    {
      using conn = new HTTPSConnection("localhost", py.port, {
        caCerts: [certificate!.cert],
        timeout: 5,
      });
      await conn.request("GET", "/");
      const response = await conn.getresponse();
      assert.equal(response.status, 200);
      assert.equal(decoder.decode(await response.read()), "Hello, world!");
    }
    using pool = new Pool({ ...BOUNDED, caCerts: [certificate!.cert] });
    const web = await request(`https://localhost:${py.port}/`, { pool });
    assert.equal(await web.text(), "Hello, world!");
  },
});

/** What reading GET / from `port` ends with: the body text or the error. */
async function readOutcome(
  conn: HTTPConnection,
): Promise<string | Error> {
  try {
    await conn.request("GET", "/");
    const response = await conn.getresponse();
    return decoder.decode(await response.read());
  } catch (error) {
    return error as Error;
  } finally {
    conn.close();
  }
}

Deno.test({
  name:
    "tls interop: over plain TCP the same truncations are IncompleteRead / RemoteDisconnected (control)",
  ignore: noTls || !hasPython,
  async fn() {
    {
      await using py = await pyRawServer("cl-trunc", false);
      const outcome = await readOutcome(
        new HTTPConnection("127.0.0.1", py.port, { timeout: 5 }),
      );
      assert.ok(outcome instanceof IncompleteRead, String(outcome));
      assert.equal(decoder.decode(outcome.partial), "only-ten!!");
      assert.equal(outcome.expected, 90);
    }
    {
      await using py = await pyRawServer("no-response", false);
      const outcome = await readOutcome(
        new HTTPConnection("127.0.0.1", py.port, { timeout: 5 }),
      );
      assert.ok(outcome instanceof RemoteDisconnected, String(outcome));
    }
  },
});

// Fixed bug: a Content-Length body cut short by a TLS peer that closes TCP without
// close_notify is the textbook truncation RFC 9112 §9.8 describes; Python's
// http.client raises IncompleteRead(10 bytes read, 90 more expected), curl
// exits 18 "transfer closed with 90 bytes remaining" and over plain TCP h1
// raises IncompleteRead (control above). Over TLS h1 rejects with Deno's raw
// UnexpectedEof: no `partial`, no `expected`, not an HTTPException.
// (client/_transport.ts:424, as above.)
Deno.test({
  name:
    "tls interop: a Content-Length body cut without close_notify is IncompleteRead, as over TCP",
  async fn() {
    await using py = await pyRawServer("cl-trunc");
    const outcome = await readOutcome(
      new HTTPSConnection("localhost", py.port, {
        caCerts: [certificate!.cert],
        timeout: 5,
      }),
    );
    assert.ok(outcome instanceof IncompleteRead, String(outcome));
    assert.equal(decoder.decode(outcome.partial), "only-ten!!");
    assert.equal(outcome.expected, 90);
  },
});

// Fixed bug: the same for a chunked body without its last chunk: Python raises
// IncompleteRead, h1 over TCP raises IncompleteRead(5 bytes read), h1 over
// TLS rejects with Deno's raw UnexpectedEof (client/_transport.ts:424).
Deno.test({
  name:
    "tls interop: a chunked body cut without close_notify is IncompleteRead, as over TCP",
  async fn() {
    await using py = await pyRawServer("chunk-trunc");
    const outcome = await readOutcome(
      new HTTPSConnection("localhost", py.port, {
        caCerts: [certificate!.cert],
        timeout: 5,
      }),
    );
    assert.ok(outcome instanceof IncompleteRead, String(outcome));
    assert.equal(decoder.decode(outcome.partial), "hello");
  },
});

// Fixed bug: a TLS server that reads the request and closes TCP without answering
// (and without close_notify): Python raises RemoteDisconnected("Remote end
// closed connection without response"), h1 over TCP raises RemoteDisconnected
// (control above), h1 over TLS rejects with Deno's raw UnexpectedEof, so the
// documented "RemoteDisconnected: the server closed without answering" never
// reaches TLS users, and the retry logic keyed on it never runs (next test).
// client/_transport.ts:424.
Deno.test({
  name:
    "tls interop: a TLS server closing without an answer or close_notify is RemoteDisconnected",
  async fn() {
    await using py = await pyRawServer("no-response");
    const outcome = await readOutcome(
      new HTTPSConnection("localhost", py.port, {
        caCerts: [certificate!.cert],
        timeout: 5,
      }),
    );
    assert.ok(outcome instanceof RemoteDisconnected, String(outcome));
  },
});

// Fixed bug: README: "an idempotent request that meets a connection the server
// closed while idle is sent again once". Python's http.server with
// protocol_version HTTP/1.1 and a handler `timeout` closes an idle keep-alive
// TLS connection without close_notify. The next GET on h1's HTTPSConnection
// then rejects with Deno's raw UnexpectedEof instead of being sent again:
// #mayRetry (client/http_connection.ts:585) only knows RemoteDisconnected and
// ConnectionResetError, and _transport.ts:424 passes the TLS error through.
// Over plain HTTP the same server is retried; h1's Pool copes (next test).
Deno.test({
  name:
    "tls interop: HTTPSConnection resends a GET after Python's http.server dropped the idle TLS connection",
  async fn() {
    await using py = await pyHttpsServer(
      pems!.cert,
      pems!.key,
      "HTTP/1.1",
      "0.3",
    );
    using conn = new HTTPSConnection("localhost", py.port, {
      caCerts: [certificate!.cert],
      timeout: 5,
    });
    for (const path of ["/cl1", "/cl2"]) {
      await conn.request("GET", path);
      const response = await conn.getresponse();
      assert.equal(decoder.decode(await response.read()), `py ${path}`);
      await delay(800);
    }
  },
});

Deno.test({
  name:
    "tls interop: HTTPSConnection with source_address (node:tls) already reads ragged TLS closes as Python does",
  ignore: noTls || !hasPython,
  async fn() {
    // The same three endings as the BUG tests above, through h1's other TLS
    // path: here they come out as curl and Python have them.
    const connect = (port: number) =>
      new HTTPSConnection("localhost", port, {
        caCerts: [certificate!.cert],
        timeout: 5,
        source_address: ["127.0.0.1", 0],
      });
    {
      await using py = await pyHttpsServer(pems!.cert, pems!.key);
      assert.equal(await readOutcome(connect(py.port)), "Hello, world!");
    }
    {
      await using py = await pyRawServer("cl-trunc");
      const outcome = await readOutcome(connect(py.port));
      assert.ok(outcome instanceof IncompleteRead, String(outcome));
      assert.equal(decoder.decode(outcome.partial), "only-ten!!");
    }
    {
      await using py = await pyRawServer("no-response");
      const outcome = await readOutcome(connect(py.port));
      assert.ok(outcome instanceof RemoteDisconnected, String(outcome));
    }
  },
});

Deno.test({
  name:
    "tls interop: Pool notices Python's http.server dropping the idle TLS connection and uses a new one",
  ignore: noTls || !hasPython,
  async fn() {
    await using py = await pyHttpsServer(
      pems!.cert,
      pems!.key,
      "HTTP/1.1",
      "0.3",
    );
    using pool = new Pool({ ...BOUNDED, caCerts: [certificate!.cert] });
    for (const path of ["/cl1", "/cl2"]) {
      const response = await pool.request(`https://localhost:${py.port}`, {
        path,
      });
      assert.equal(decoder.decode(await response.read()), `py ${path}`);
      await delay(800);
    }
  },
});

Deno.test({
  name:
    "tls interop: close_notify in the middle of a Content-Length body is IncompleteRead with the partial bytes",
  ignore: noTls || !hasPython,
  async fn() {
    await using py = await pyRawServer("notify-mid-body");
    const outcome = await readOutcome(
      new HTTPSConnection("localhost", py.port, {
        caCerts: [certificate!.cert],
        timeout: 5,
      }),
    );
    assert.ok(outcome instanceof IncompleteRead, String(outcome));
    assert.equal(decoder.decode(outcome.partial), "only-ten!!");
    assert.equal(outcome.expected, 90);
  },
});

// Fixed bug: a record that fails authentication mid-body (a tampering middlebox,
// RFC 8446 §5.2 bad_record_mac) reaches HTTPSConnection.read() and request()
// as Deno's raw InvalidData "cannot decrypt peer's message": neither an
// HTTPException nor a NetError, and the message names neither the server nor
// that it was the response body that failed (Python: ssl.SSLError
// DECRYPTION_FAILED_OR_BAD_RECORD_MAC; curl: exit 56 "Failure when receiving
// data from the peer"). Handshake failures are already wrapped
// (TLS_HANDSHAKE_FAILED with host:port); reads are not (client/_transport.ts
// #readError: wrap errors toNetError leaves alone in an HTTPException / an
// IncompleteRead with the bytes so far and `cause`).
Deno.test({
  name:
    "tls interop: a corrupt TLS record mid-body is a named h1 error that names the server",
  async fn() {
    await using py = await pyRawServer("corrupt-mid-body");
    const outcome = await readOutcome(
      new HTTPSConnection("localhost", py.port, {
        caCerts: [certificate!.cert],
        timeout: 5,
      }),
    );
    assert.ok(
      outcome instanceof HTTPException || outcome instanceof NetError,
      String(outcome),
    );
    assert.match(outcome.message, new RegExp(`localhost:${py.port}`));
  },
});

// ---------------------------------------------------------------------------
// Certificate failures

/** How the handshake failed: [code, message] for each API. */
async function handshakeFailure(
  host: string,
  port: number,
  caCerts: string[],
): Promise<string[]> {
  const messages: string[] = [];
  {
    using conn = new HTTPSConnection(host, port, { caCerts, timeout: 5 });
    await assert.rejects(conn.request("GET", "/"), (error: unknown) => {
      assert.ok(error instanceof HTTPException, String(error));
      assert.equal(error.code, "TLS_HANDSHAKE_FAILED");
      assert.ok(error.message.includes(`${host}:${port}`), error.message);
      messages.push(error.message);
      return true;
    });
  }
  using pool = new Pool({ ...BOUNDED, caCerts });
  await assert.rejects(
    request(`https://${host}:${port}/`, { pool }),
    (error: unknown) => {
      assert.ok(error instanceof HTTPException, String(error));
      assert.equal(error.code, "TLS_HANDSHAKE_FAILED");
      assert.ok(error.message.includes(`${host}:${port}`), error.message);
      messages.push(error.message);
      return true;
    },
  );
  return messages;
}

Deno.test({
  name:
    "tls interop: unknown CA, wrong name, uncovered IP and an expired certificate are TLS_HANDSHAKE_FAILED saying which (curl: exit 60)",
  ignore: noTls || !hasPython || !hasCurl,
  async fn() {
    const p = pems!;
    const read = (path: string) => Deno.readTextFile(path);
    await using main = await pyHttpsServer(p.cert, p.key);
    await using other = await pyHttpsServer(p.otherCert, p.otherKey);
    await using expired = await pyHttpsServer(p.expiredCert, p.expiredKey);
    const cases: [string, number, string, RegExp][] = [
      ["localhost", main.port, await read(p.otherCert), /UnknownIssuer/],
      [
        "localhost",
        other.port,
        await read(p.otherCert),
        /not valid for name "localhost"/,
      ],
      [
        "127.0.0.1",
        other.port,
        await read(p.otherCert),
        /not valid for name "127\.0\.0\.1"/,
      ],
      ["localhost", expired.port, await read(p.caCert), /expired/],
    ];
    const caFiles = [p.otherCert, p.otherCert, p.otherCert, p.caCert];
    for (const [i, [host, port, ca, reason]] of cases.entries()) {
      for (const message of await handshakeFailure(host, port, [ca])) {
        assert.match(message, reason);
      }
      const out = await run("curl", [
        "-sS",
        "--cacert",
        caFiles[i]!,
        "--resolve",
        `localhost:${port}:127.0.0.1`,
        `https://${host}:${port}/`,
      ]);
      assert.equal(out.code, 60, `curl ${host}:${port}: ${out.stderr}`);
    }
    // The right CA and a server name override for an IP: it works.
    using conn = new HTTPSConnection("127.0.0.1", main.port, {
      caCerts: [certificate!.cert],
      hostname: "localhost",
      timeout: 5,
    });
    await conn.request("GET", "/cl");
    assert.equal(
      decoder.decode(await (await conn.getresponse()).read()),
      "py /cl",
    );
  },
});

// ---------------------------------------------------------------------------
// nginx with TLS

Deno.test({
  name:
    "tls interop: nginx over TLS: SNI picks the certificate, pipelining, 5 MB down, early 413, idle close, TLS 1.2",
  ignore: noTls || !hasNginx,
  async fn() {
    const p = pems!;
    const dir = await Deno.makeTempDir({ prefix: "h1_tls_nginx_" });
    const port = freePort();
    const port12 = freePort();
    const big = pattern(5_000_000);
    await Deno.writeFile(`${dir}/big.bin`, big);
    await Deno.writeTextFile(`${dir}/index.html`, "hello from nginx");
    await Deno.writeTextFile(
      `${dir}/nginx.conf`,
      `daemon off; worker_processes 1; error_log ${dir}/error.log; pid ${dir}/nginx.pid;
events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir};
  fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  keepalive_requests 3; keepalive_timeout 1s; client_max_body_size 1k;
  server { listen 127.0.0.1:${port} ssl default_server; server_name other.test;
    ssl_certificate ${p.otherCert}; ssl_certificate_key ${p.otherKey};
    return 200 "wrong server"; }
  server { listen 127.0.0.1:${port} ssl; server_name localhost; root ${dir};
    ssl_certificate ${p.cert}; ssl_certificate_key ${p.key};
    location = /upload { return 200 "up"; } }
  server { listen 127.0.0.1:${port12} ssl; root ${dir}; ssl_protocols TLSv1.2;
    ssl_certificate ${p.cert}; ssl_certificate_key ${p.key}; } }`,
    );
    const child = new Deno.Command("nginx", {
      args: ["-c", `${dir}/nginx.conf`, "-p", dir],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitForPort(port);
      await waitForPort(port12);
      const caCerts = [certificate!.cert];
      // No SNI for an IP (RFC 6066 §3): nginx's default server answers with
      // the other.test certificate, which does not cover 127.0.0.1.
      await handshakeFailure("127.0.0.1", port, caCerts);
      // With the name override, SNI says localhost and nginx picks its block.
      {
        using conn = new HTTPSConnection("127.0.0.1", port, {
          caCerts,
          hostname: "localhost",
          timeout: 5,
        });
        await conn.request("GET", "/index.html", null, { Host: "localhost" });
        const response = await conn.getresponse();
        assert.equal(decoder.decode(await response.read()), "hello from nginx");
      }
      using pool = new Pool({
        ...BOUNDED,
        caCerts,
        maxConnectionsPerOrigin: 1,
        pipelining: 8,
      });
      const origin = `https://localhost:${port}`;
      // keepalive_requests 3: nginx closes after every third answer, the
      // pipelined rest are sent again.
      const bodies = await Promise.all(
        Array.from({ length: 16 }, async () => {
          const r = await pool.request(origin, { path: "/index.html" });
          return decoder.decode(await r.read());
        }),
      );
      assert.deepEqual(new Set(bodies), new Set(["hello from nginx"]));
      const down = await request(`${origin}/big.bin`, { pool });
      assert.equal(
        await summary(new Uint8Array(await down.arrayBuffer())),
        await summary(big),
      );
      // An upload over client_max_body_size: nginx answers 413 early.
      const up = new Uint8Array(3_000_000);
      const early = await request(`${origin}/upload`, {
        pool,
        method: "POST",
        body: up,
      });
      assert.equal(early.status, 413);
      await early.body?.cancel();
      using conn = new HTTPSConnection("localhost", port, {
        caCerts,
        timeout: 5,
      });
      await conn.request("POST", "/upload", up);
      let response = await conn.getresponse();
      assert.equal(response.status, 413);
      await response.read();
      // Idle past keepalive_timeout: nginx closes (with close_notify); the
      // next GET goes out again on a new connection.
      await conn.request("GET", "/index.html");
      response = await conn.getresponse();
      await response.read();
      await delay(1500);
      await conn.request("GET", "/index.html");
      response = await conn.getresponse();
      assert.equal(decoder.decode(await response.read()), "hello from nginx");
      // A TLS 1.2-only server.
      const old = await request(`https://localhost:${port12}/index.html`, {
        pool,
      });
      assert.equal(await old.text(), "hello from nginx");
    } finally {
      child.kill();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---------------------------------------------------------------------------
// h1's client against Deno.serve over TLS

Deno.test({
  name:
    "tls interop: Pool pipelines over TLS to Deno.serve; 4 MB up and 5 MB down arrive whole",
  ignore: noTls,
  async fn() {
    const { cert, key } = certificate!;
    const deno = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert, key, onListen: () => {} },
      app,
    );
    try {
      const origin = `https://localhost:${deno.addr.port}`;
      using pool = new Pool({
        ...BOUNDED,
        caCerts: [cert],
        maxConnectionsPerOrigin: 2,
        pipelining: 8,
      });
      const bodies = await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const r = await pool.request(origin, { path: `/p${i}` });
          return decoder.decode(await r.read());
        }),
      );
      assert.deepEqual(
        bodies,
        Array.from({ length: 24 }, (_, i) => `hello /p${i}`),
      );
      const up = pattern(4_000_000);
      const echo = await request(`${origin}/echo`, {
        pool,
        method: "POST",
        body: up,
      });
      assert.equal(await echo.text(), await summary(up));
      const down = await request(`${origin}/stream?n=5000000`, { pool });
      assert.equal(
        await summary(new Uint8Array(await down.arrayBuffer())),
        await summary(pattern(5_000_000)),
      );
      using conn = new HTTPSConnection("localhost", deno.addr.port, {
        caCerts: [cert],
        timeout: 5,
      });
      let sock: Deno.Conn | null = null;
      for (let i = 0; i < 5; i++) {
        await conn.request("GET", `/k${i}`);
        const response = await conn.getresponse();
        assert.equal(decoder.decode(await response.read()), `hello /k${i}`);
        sock ??= conn.sock;
        assert.equal(conn.sock, sock);
      }
    } finally {
      await deno.shutdown();
    }
  },
});

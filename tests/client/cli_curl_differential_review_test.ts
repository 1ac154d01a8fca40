// Differential review of client/cli.ts against the real `curl` binary: both
// run as subprocesses against the same raw TCP server (127.0.0.1, port 0),
// which records the exact request bytes and answers with scripted bytes.
// Compared: request line, fields and body; stdout bytes; files written by
// -o; exit codes per failure class. Each side's own `User-Agent` (curl/x,
// h1/x) and `Accept: */*` are left out of the request comparison (see the
// User-Agent test below). Skips (and passes) without curl.

import assert from "node:assert/strict";
import net from "node:net";
import { EXIT_CODES } from "../../client/cli.ts";
import { delay, fromLatin1, latin1 } from "../server/_raw.ts";

const H1_VERSION: string = JSON.parse(
  Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)),
).version;

const ROOT = new URL("../../", import.meta.url);
const CLI = new URL("client/cli.ts", ROOT).pathname;

const HAVE_CURL = await (async () => {
  try {
    const out = await new Deno.Command("curl", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
})();

function noCurl(): boolean {
  if (HAVE_CURL) return false;
  // deno-lint-ignore no-console
  console.log("curl not found: skipping the curl differential test");
  return true;
}

// ---------------------------------------------------------------------------
// The raw server.

/** One request as the server read it. */
interface Seen {
  raw: Uint8Array;
  head: string;
  target: string;
  body: Uint8Array;
}

type Script = (req: Seen, conn: Deno.Conn) => Promise<"keep" | "close">;

interface RawServer extends AsyncDisposable {
  port: number;
  requests: Seen[];
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function send(conn: Deno.Conn, data: string | Uint8Array) {
  const bytes = typeof data === "string" ? latin1(data) : data;
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

// Reads until the peer goes (or the server closes the socket).
async function drainUntilClosed(conn: Deno.Conn): Promise<void> {
  const sink = new Uint8Array(4096);
  while ((await conn.read(sink).catch(() => null)) !== null) {
    // discard
  }
}

function rawServer(script: Script): RawServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: Seen[] = [];
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  const serveConn = async (conn: Deno.Conn) => {
    let buf: Uint8Array = new Uint8Array(0);
    const fill = async (): Promise<boolean> => {
      const chunk = new Uint8Array(65536);
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        return false;
      }
      if (n === null) return false;
      buf = concat(buf, chunk.subarray(0, n));
      return true;
    };
    try {
      for (;;) {
        let end: number;
        while ((end = fromLatin1(buf).indexOf("\r\n\r\n")) === -1) {
          if (!(await fill())) return;
        }
        const head = fromLatin1(buf.subarray(0, end + 4));
        const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
        let total = end + 4 + (length === null ? 0 : Number(length[1]));
        if (
          length === null && /\r\ntransfer-encoding:[^\r]*chunked/i.test(head)
        ) {
          let last: number;
          while (
            (last = fromLatin1(buf).indexOf("\r\n0\r\n\r\n", end)) === -1
          ) {
            if (!(await fill())) return;
          }
          total = last + 7;
        }
        while (buf.length < total) if (!(await fill())) break;
        const raw = buf.slice(0, total);
        buf = buf.slice(total);
        const seen: Seen = {
          raw,
          head,
          target: head.split(" ")[1] ?? "",
          body: raw.slice(end + 4),
        };
        requests.push(seen);
        if ((await script(seen, conn).catch(() => "close")) === "close") {
          return;
        }
      }
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      tasks.push(serveConn(conn));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    requests,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await Promise.all(tasks);
    },
  };
}

// ---------------------------------------------------------------------------
// Running curl and the CLI.

interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

interface H1Perms {
  net?: string[];
  read?: string[];
  write?: string[];
  cwd?: string;
}

async function exec(cmd: string, args: string[], cwd?: string): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(cwd === undefined ? {} : { cwd }),
  }).output();
  return {
    code: out.code,
    stdout: out.stdout,
    stderr: new TextDecoder().decode(out.stderr),
  };
}

function runCurl(args: string[], cwd?: string): Promise<Run> {
  return exec("curl", ["-q", "-s", "--noproxy", "*", ...args], cwd);
}

function runH1(args: string[], perms: H1Perms): Promise<Run> {
  const flags = ["run", "--quiet"];
  if (perms.net?.length) flags.push(`--allow-net=${perms.net.join(",")}`);
  if (perms.read?.length) flags.push(`--allow-read=${perms.read.join(",")}`);
  if (perms.write?.length) flags.push(`--allow-write=${perms.write.join(",")}`);
  return exec(Deno.execPath(), [...flags, CLI, ...args], perms.cwd);
}

interface Pair {
  curl: Run & { requests: Seen[] };
  h1: Run & { requests: Seen[] };
}

// curl first, then h1, against the same server; h1 may reach only that
// server (plus perms.net).
async function both(
  server: RawServer,
  args: string[],
  perms: H1Perms = {},
  curlArgs: string[] = args,
): Promise<Pair> {
  const before = server.requests.length;
  const c = await runCurl(curlArgs, perms.cwd);
  const mid = server.requests.length;
  const h = await runH1(args, {
    ...perms,
    net: [`127.0.0.1:${server.port}`, ...(perms.net ?? [])],
  });
  return {
    curl: { ...c, requests: server.requests.slice(before, mid) },
    h1: { ...h, requests: server.requests.slice(mid) },
  };
}

/** A request as compared: curl's default User-Agent and Accept left out. */
interface Norm {
  line: string;
  fields: string[];
  framing: string[];
  body: string;
}

function norm(seen: Seen): Norm {
  const lines = seen.head.split("\r\n").slice(0, -2);
  const fields: string[] = [];
  const framing: string[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (
      lower === "user-agent" &&
      (value.startsWith("curl/") || value.startsWith("h1/"))
    ) continue;
    if (lower === "accept" && value === "*/*") continue;
    // curl sends Content-Length before Content-Type, h1 after: same fields.
    if (lower === "content-length" || lower === "content-type") {
      framing.push(`${lower}: ${value}`);
    } else fields.push(`${name}: ${value}`);
  }
  return {
    line: lines[0]!,
    fields,
    framing: framing.sort(),
    body: fromLatin1(seen.body),
  };
}

function assertSameRequests(pair: Pair): void {
  assert.equal(pair.h1.requests.length, pair.curl.requests.length);
  assert.deepEqual(pair.h1.requests.map(norm), pair.curl.requests.map(norm));
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(actual.length, expected.length, "length");
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`bytes differ at ${i}: ${actual[i]} != ${expected[i]}`);
    }
  }
}

async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "h1_cli_curl_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

// Percent-escapes compare equal in either case (RFC 3986 §2.1).
const upperEscapes = (s: string) =>
  s.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

function okServer(): RawServer {
  return rawServer(async (_req, conn) => {
    await send(conn, OK);
    return "keep";
  });
}

// ---------------------------------------------------------------------------
// Requests.

Deno.test("curl diff: GET sends curl's request line and Host, prints the same body", async () => {
  if (noCurl()) return;
  await using server = rawServer(async (_req, conn) => {
    await send(conn, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
    return "keep";
  });
  const url = `http://127.0.0.1:${server.port}/p/a?x=1&y=%20z#frag`;
  const pair = await both(server, [url]);
  assert.equal(pair.curl.code, 0);
  assert.equal(pair.h1.code, 0);
  assertSameRequests(pair);
  assert.equal(
    fromLatin1(pair.h1.requests[0]!.raw),
    `GET /p/a?x=1&y=%20z HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
      `User-Agent: h1/${H1_VERSION}\r\nAccept: */*\r\n\r\n`,
  );
  assertSameBytes(pair.h1.stdout, pair.curl.stdout);
  assert.equal(fromLatin1(pair.h1.stdout), "hello\n");
});

Deno.test("curl diff: -d pieces are joined with & and -H fields keep their order", async () => {
  if (noCurl()) return;
  await using server = okServer();
  const url = `http://127.0.0.1:${server.port}/form`;
  const pair = await both(server, [
    "-d",
    "a=1",
    "-d",
    "b=two words",
    "-H",
    "X-One: 1",
    "-H",
    "x-two:2",
    "-H",
    "X-One: again",
    url,
  ]);
  assert.equal(pair.h1.code, 0);
  assertSameRequests(pair);
  const seen = norm(pair.h1.requests[0]!);
  assert.equal(seen.line, "POST /form HTTP/1.1");
  assert.deepEqual(seen.fields, [
    `Host: 127.0.0.1:${server.port}`,
    "X-One: 1",
    "x-two: 2",
    "X-One: again",
  ]);
  assert.deepEqual(seen.framing, [
    "content-length: 15",
    "content-type: application/x-www-form-urlencoded",
  ]);
  assert.equal(seen.body, "a=1&b=two words");
});

Deno.test("curl diff: -d @file drops CR and LF only, keeps high bytes, joins with -d text", async () => {
  if (noCurl()) return;
  await using server = okServer();
  await using dir = await tempDir();
  const file = `${dir.path}/data.bin`;
  // No NUL and no lone CR: curl 7.x reads -d @file line by line (fgets)
  // and cuts each line at its first NUL or CR.
  await Deno.writeFile(file, latin1("k=v\r\nw=\xff\xfe\x80\ntail\r\n"));
  const pair = await both(
    server,
    ["-d", `@${file}`, "-d", "z=1", `http://127.0.0.1:${server.port}/f`],
    { read: [file] },
  );
  assert.equal(pair.h1.code, 0);
  assertSameRequests(pair);
  assertSameBytes(
    pair.h1.requests[0]!.body,
    latin1("k=vw=\xff\xfe\x80tail&z=1"),
  );
});

Deno.test("curl diff: -d '' and -X with -d: method and framing as curl sends them", async () => {
  if (noCurl()) return;
  await using server = okServer();
  const url = `http://127.0.0.1:${server.port}/m`;
  for (
    const args of [
      ["-d", "", url],
      ["-X", "PUT", "-d", "x=1", url],
      ["-X", "GET", "-d", "q", url],
      ["-X", "PATCH", "-d", "p", "-H", "Content-Type: text/plain", url],
      ["-d", "é=ü", url],
    ]
  ) {
    const pair = await both(server, args);
    assert.equal(pair.h1.code, 0, args.join(" "));
    assertSameRequests(pair);
  }
});

Deno.test("curl diff: -H Host replaces the Host field; repeated fields all go", async () => {
  if (noCurl()) return;
  await using server = okServer();
  const pair = await both(server, [
    "-H",
    "Host: example.test",
    "-H",
    "X-A: 1",
    "-H",
    "X-A: 2",
    `http://127.0.0.1:${server.port}/h`,
  ]);
  assert.equal(pair.h1.code, 0);
  assertSameRequests(pair);
  assert.deepEqual(norm(pair.h1.requests[0]!).fields, [
    "Host: example.test",
    "X-A: 1",
    "X-A: 2",
  ]);
});

Deno.test("curl diff: user:pass@ in the URL becomes the same Basic credentials", async () => {
  if (noCurl()) return;
  await using server = okServer();
  const port = server.port;
  for (
    const args of [
      [`http://us%40r:p%3Ass%C3%A9@127.0.0.1:${port}/auth`],
      [`http://user@127.0.0.1:${port}/auth`],
      [`http://u:p@127.0.0.1:${port}/auth`, "-H", "Authorization: Bearer t"],
    ]
  ) {
    const pair = await both(server, args);
    assert.equal(pair.h1.code, 0, args.join(" "));
    assertSameRequests(pair);
    assert.doesNotMatch(pair.h1.requests[0]!.head, /@/);
  }
  const first = await both(server, [
    `http://us%40r:p%3Ass%C3%A9@127.0.0.1:${port}/auth`,
  ]);
  assert.match(
    first.h1.requests[0]!.head,
    /\r\nAuthorization: Basic dXNAcjpwOnNzw6k=\r\n/,
  );
});

// ---------------------------------------------------------------------------
// Redirects.

Deno.test("curl diff: -L with -d: 301/302/303 become GET without body, 307/308 resend POST", async () => {
  if (noCurl()) return;
  await using server = rawServer(async (req, conn) => {
    const code = /^\/r(\d{3})$/.exec(req.target)?.[1];
    if (code !== undefined) {
      await send(
        conn,
        `HTTP/1.1 ${code} Moved\r\nLocation: /final\r\nContent-Length: 3\r\n\r\nabc`,
      );
    } else await send(conn, OK);
    return "keep";
  });
  for (const code of [301, 302, 303, 307, 308]) {
    const pair = await both(server, [
      "-L",
      "-d",
      "x=1",
      `http://127.0.0.1:${server.port}/r${code}`,
    ]);
    assert.equal(pair.h1.code, 0, `${code}`);
    assertSameRequests(pair);
    assert.equal(
      norm(pair.h1.requests[1]!).line,
      code >= 307 ? "POST /final HTTP/1.1" : "GET /final HTTP/1.1",
    );
    assertSameBytes(pair.h1.stdout, pair.curl.stdout);
  }
  // -I keeps HEAD across a redirect, as curl does.
  const head = await both(server, [
    "-I",
    "-L",
    `http://127.0.0.1:${server.port}/r302`,
  ]);
  assertSameRequests(head);
  assert.equal(norm(head.h1.requests[1]!).line, "HEAD /final HTTP/1.1");
});

Deno.test("curl diff: -L resolves relative, scheme-relative and UTF-8 Locations as curl", async () => {
  if (noCurl()) return;
  let port = 0;
  const locations: Record<string, string> = {};
  await using server = rawServer(async (req, conn) => {
    const location = locations[req.target];
    if (location !== undefined) {
      await send(
        conn,
        `HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`,
      );
    } else await send(conn, OK);
    return "keep";
  });
  port = server.port;
  Object.assign(locations, {
    "/d/e/1": "../a/./b?x=1#frag",
    "/d/e/2": `//127.0.0.1:${port}/sr?y`,
    "/d/e/3": "?q=2",
    "/d/e/4": "/caf\xc3\xa9 x",
    "/d/e/5": `http://127.0.0.1:${port}/abs/../path`,
  });
  for (const from of Object.keys(locations)) {
    const pair = await both(server, ["-L", `http://127.0.0.1:${port}${from}`]);
    assert.equal(pair.h1.code, 0, from);
    assert.equal(pair.curl.code, 0, from);
    assert.equal(pair.h1.requests.length, 2, from);
    assert.equal(
      upperEscapes(norm(pair.h1.requests[1]!).line),
      upperEscapes(norm(pair.curl.requests[1]!).line),
      from,
    );
  }
});

Deno.test("curl diff: -L to another origin drops Authorization and Cookie like curl", async () => {
  if (noCurl()) return;
  let port = 0;
  await using server = rawServer(async (req, conn) => {
    if (req.target === "/xo") {
      await send(
        conn,
        `HTTP/1.1 302 Found\r\nLocation: http://localhost:${port}/landed\r\nContent-Length: 0\r\n\r\n`,
      );
    } else await send(conn, OK);
    return "keep";
  });
  port = server.port;
  for (
    const args of [
      [
        "-L",
        "-H",
        "Authorization: Bearer s",
        "-H",
        "Cookie: c=1",
        "-H",
        "X-K: k",
        `http://127.0.0.1:${port}/xo`,
      ],
      ["-L", `http://u:p@127.0.0.1:${port}/xo`],
      ["-L", "-H", "Host: custom.test", `http://127.0.0.1:${port}/xo`],
    ]
  ) {
    const pair = await both(server, args, { net: [`localhost:${port}`] });
    assert.equal(pair.h1.code, 0, args.join(" "));
    assertSameRequests(pair);
    assert.doesNotMatch(
      pair.h1.requests[1]!.head,
      /\r\n(authorization|cookie):/i,
    );
  }
});

Deno.test("curl diff: --max-redirs N makes N+1 requests, then exit 47 like curl", async () => {
  if (noCurl()) return;
  await using server = rawServer(async (_req, conn) => {
    await send(
      conn,
      "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
    );
    return "keep";
  });
  for (const n of [0, 2]) {
    const pair = await both(server, [
      "-L",
      "--max-redirs",
      String(n),
      `http://127.0.0.1:${server.port}/loop`,
    ]);
    assert.equal(pair.curl.code, 47);
    assert.equal(pair.h1.code, EXIT_CODES.tooManyRedirects);
    assert.equal(pair.curl.requests.length, n + 1);
    assert.equal(pair.h1.requests.length, n + 1);
    assert.equal(pair.h1.stdout.length, 0);
  }
});

// ---------------------------------------------------------------------------
// Output.

Deno.test("curl diff: -I prints the same head when the server sends a body anyway", async () => {
  if (noCurl()) return;
  await using server = rawServer(async (_req, conn) => {
    await send(
      conn,
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kept: Case\r\n\r\nhello",
    );
    return "close";
  });
  const pair = await both(server, ["-I", `http://127.0.0.1:${server.port}/`]);
  assert.equal(pair.curl.code, 0);
  assert.equal(pair.h1.code, 0);
  assertSameRequests(pair);
  assert.equal(norm(pair.h1.requests[0]!).line, "HEAD / HTTP/1.1");
  assert.equal(
    fromLatin1(pair.h1.stdout),
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kept: Case\r\n\r\n",
  );
  assertSameBytes(pair.h1.stdout, pair.curl.stdout);
});

Deno.test("curl diff: -i prints curl's bytes for an HTTP/1.0 close-delimited binary reply", async () => {
  if (noCurl()) return;
  await using server = rawServer(async (_req, conn) => {
    await send(
      conn,
      "HTTP/1.0 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Case: MiXed\r\n\r\n" +
        "\x00\xff\xc3binary\x80\r\n",
    );
    return "close";
  });
  const pair = await both(server, ["-i", `http://127.0.0.1:${server.port}/`]);
  assert.equal(pair.h1.code, 0);
  assertSameBytes(pair.h1.stdout, pair.curl.stdout);
  assert.equal(
    fromLatin1(pair.h1.stdout),
    "HTTP/1.0 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Case: MiXed\r\n\r\n" +
      "\x00\xff\xc3binary\x80\r\n",
  );
});

Deno.test("curl diff: -v writes the exchange to stderr and leaves stdout byte-identical", async () => {
  if (noCurl()) return;
  await using server = okServer();
  const pair = await both(server, ["-v", `http://127.0.0.1:${server.port}/v`]);
  assert.equal(pair.h1.code, 0);
  assert.equal(fromLatin1(pair.h1.stdout), "ok");
  assertSameBytes(pair.h1.stdout, pair.curl.stdout);
  assert.match(pair.curl.stderr, /> GET \/v HTTP\/1\.1/);
  assert.match(pair.h1.stderr, /> GET \/v HTTP\/1\.1/);
  assert.match(pair.h1.stderr, /< HTTP\/1\.1 200 OK/);
});

Deno.test("curl diff: a chunked body with NUL and invalid UTF-8 reaches stdout byte for byte", async () => {
  if (noCurl()) return;
  const pieces = ["\x00\x01\xff", "\xc3", "(\xed\xa0\x80)", "\r\n\r\n", "end"];
  await using server = rawServer(async (_req, conn) => {
    let wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (const piece of pieces) {
      wire += `${piece.length.toString(16)};ext=1\r\n${piece}\r\n`;
    }
    await send(conn, wire + "0\r\nX-Trailer: t\r\n\r\n");
    return "keep";
  });
  const pair = await both(server, [`http://127.0.0.1:${server.port}/bin`]);
  assert.equal(pair.h1.code, 0);
  assertSameBytes(pair.h1.stdout, latin1(pieces.join("")));
  assertSameBytes(pair.h1.stdout, pair.curl.stdout);
});

Deno.test("curl diff: 3 MiB bodies (chunked, close-delimited, -o) arrive byte-exact", async () => {
  if (noCurl()) return;
  const big = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + (i >> 11)) & 0xff;
  await using server = rawServer(async (req, conn) => {
    if (req.target === "/chunked") {
      await send(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (let i = 0; i < big.length; i += 100_000) {
        const part = big.subarray(i, i + 100_000);
        await send(conn, part.length.toString(16) + "\r\n");
        await send(conn, part);
        await send(conn, "\r\n");
      }
      await send(conn, "0\r\n\r\n");
      return "keep";
    }
    await send(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    await send(conn, big);
    return "close";
  });
  await using dir = await tempDir();
  for (const path of ["/chunked", "/close"]) {
    const url = `http://127.0.0.1:${server.port}${path}`;
    const pair = await both(server, [url]);
    assert.equal(pair.curl.code, 0);
    assert.equal(pair.h1.code, 0, pair.h1.stderr);
    assertSameBytes(pair.h1.stdout, big);
    assertSameBytes(pair.curl.stdout, big);
    const out = `${dir.path}/out${path.slice(1)}`;
    const h1 = await runH1(["-o", out, url], {
      net: [`127.0.0.1:${server.port}`],
      write: [out],
    });
    assert.equal(h1.code, 0);
    assert.equal(h1.stdout.length, 0);
    assertSameBytes((await readOrNull(out))!, big);
  }
});

Deno.test("curl diff: Content-Encoding bodies go out raw, as curl without --compressed", async () => {
  if (noCurl()) return;
  const gz =
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00" +
    "\x00\x00\x00\x00";
  await using server = rawServer(async (_req, conn) => {
    await send(
      conn,
      `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n${gz}`,
    );
    return "keep";
  });
  const pair = await both(server, [`http://127.0.0.1:${server.port}/gz`]);
  assert.equal(pair.h1.code, 0);
  assertSameRequests(pair);
  assertSameBytes(pair.h1.stdout, latin1(gz));
  assertSameBytes(pair.h1.stdout, pair.curl.stdout);
});

// ---------------------------------------------------------------------------
// Failures and exit codes.

Deno.test("curl diff: a cut body exits 18 with the bytes received so far (stdout, -i, -o)", async () => {
  if (noCurl()) return;
  const big = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
  await using server = rawServer(async (req, conn) => {
    if (req.target === "/small") {
      await send(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    } else if (req.target === "/large") {
      await send(conn, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n");
      await send(conn, big);
    } else {
      await send(
        conn,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\nde",
      );
    }
    return "close";
  });
  await using dir = await tempDir();
  const out = `${dir.path}/partial`;
  for (const path of ["/small", "/large", "/chunk"]) {
    const url = `http://127.0.0.1:${server.port}${path}`;
    const plain = await both(server, [url]);
    assert.equal(plain.curl.code, 18, path);
    assert.equal(plain.h1.code, EXIT_CODES.partialBody, path);
    assertSameBytes(plain.h1.stdout, plain.curl.stdout);

    const include = await both(server, ["-i", url]);
    assert.equal(include.h1.code, 18, path);
    assertSameBytes(include.h1.stdout, include.curl.stdout);

    const curlOut = await runCurl(["-o", out, url]);
    const curlFile = await readOrNull(out);
    await Deno.remove(out);
    const h1Out = await runH1(["-o", out, url], {
      net: [`127.0.0.1:${server.port}`],
      write: [out],
    });
    assert.equal(curlOut.code, 18, path);
    assert.equal(h1Out.code, 18, path);
    assert.notEqual(curlFile, null);
    assertSameBytes((await readOrNull(out))!, curlFile!);
    await Deno.remove(out);
  }
});

Deno.test("curl diff: -f on 404 exits 22; -i prints the head only; -o writes no file", async () => {
  if (noCurl()) return;
  await using server = rawServer(async (_req, conn) => {
    await send(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
    return "keep";
  });
  await using dir = await tempDir();
  const url = `http://127.0.0.1:${server.port}/missing`;
  const out = `${dir.path}/never`;
  for (const args of [["-f", url], ["-f", "-i", url], ["-f", "-o", out, url]]) {
    const pair = await both(server, args, { write: [out] });
    assert.equal(pair.curl.code, 22, args.join(" "));
    assert.equal(pair.h1.code, EXIT_CODES.httpError, args.join(" "));
    assertSameBytes(pair.h1.stdout, pair.curl.stdout);
    assert.equal(await readOrNull(out), null);
  }
  // Without -f a 404 is a success for both.
  const plain = await both(server, [url]);
  assert.equal(plain.curl.code, 0);
  assert.equal(plain.h1.code, 0);
  assert.equal(fromLatin1(plain.h1.stdout), "nope");
});

Deno.test("curl diff: timeouts (silent server, trickling body) exit 28 like curl -m", async () => {
  if (noCurl()) return;
  await using server = rawServer(async (req, conn) => {
    if (req.target === "/silent") {
      await drainUntilClosed(conn);
      return "close";
    }
    await send(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    for (let i = 0; i < 30; i++) {
      await delay(50);
      await send(conn, "x");
    }
    return "close";
  });
  for (const path of ["/silent", "/trickle"]) {
    const url = `http://127.0.0.1:${server.port}${path}`;
    const started = performance.now();
    const pair = await both(
      server,
      ["--timeout", "0.4", url],
      {},
      ["-m", "0.4", url],
    );
    assert.equal(pair.curl.code, 28, path);
    assert.equal(pair.h1.code, EXIT_CODES.timeout, path);
    assert.ok(performance.now() - started < 5000);
    if (path === "/trickle") {
      assert.match(fromLatin1(pair.h1.stdout), /^x+$/);
      assert.match(fromLatin1(pair.curl.stdout), /^x+$/);
    }
  }
});

Deno.test("curl diff: the server closing without an answer (or after a 100) exits 52", async () => {
  if (noCurl()) return;
  await using server = rawServer(async (req, conn) => {
    if (req.target === "/after100") {
      await send(conn, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    return "close";
  });
  for (const path of ["/empty", "/after100"]) {
    const pair = await both(server, [`http://127.0.0.1:${server.port}${path}`]);
    assert.equal(pair.curl.code, 52, path);
    assert.equal(pair.h1.code, EXIT_CODES.emptyReply, path);
    assert.equal(pair.h1.stdout.length, 0);
  }
});

Deno.test("curl diff: a reset before or during the response exits 56 like curl", async () => {
  if (noCurl()) return;
  let midBody = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = net.createServer((socket) => {
    socket.once("data", () => {
      if (midBody) {
        socket.write(
          "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        );
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        socket.resetAndDestroy();
      }, 100);
      timers.add(timer);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  try {
    const port = (server.address() as net.AddressInfo).port;
    for (const mid of [false, true]) {
      midBody = mid;
      const url = `http://127.0.0.1:${port}/`;
      const curl = await runCurl([url]);
      const h1 = await runH1([url], { net: [`127.0.0.1:${port}`] });
      assert.equal(curl.code, 56, `mid-body ${mid}`);
      assert.equal(h1.code, EXIT_CODES.connectionReset, `mid-body ${mid}`);
      assertSameBytes(h1.stdout, curl.stdout);
    }
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("curl diff: refused (IPv4, IPv6 literal) exits 7; unknown host exits 6", async () => {
  if (noCurl()) return;
  const port = closedPort();
  for (const host of ["127.0.0.1", "[::1]"]) {
    const url = `http://${host}:${port}/`;
    const curl = await runCurl([url]);
    const h1 = await runH1([url], { net: [`${host}:${port}`] });
    assert.equal(curl.code, 7, host);
    assert.equal(h1.code, EXIT_CODES.cannotConnect, `${host}: ${h1.stderr}`);
  }
  const url = "http://h1-review-no-such-host.invalid/";
  const curl = await runCurl([url]);
  const h1 = await runH1([url], { net: ["h1-review-no-such-host.invalid"] });
  assert.equal(curl.code, 6);
  assert.equal(h1.code, EXIT_CODES.hostNotFound, h1.stderr);
});

Deno.test("curl diff: write errors exit 23 (-o into a missing directory, stdout closed)", async () => {
  if (noCurl()) return;
  const big = new Uint8Array(4 * 1024 * 1024).fill(0x41);
  await using server = rawServer(async (req, conn) => {
    if (req.target === "/big") {
      await send(
        conn,
        `HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`,
      );
      await send(conn, big);
      return "close";
    }
    await send(conn, OK);
    return "keep";
  });
  await using dir = await tempDir();
  const out = `${dir.path}/missing/dir/file`;
  const pair = await both(
    server,
    ["-o", out, `http://127.0.0.1:${server.port}/`],
    { write: [dir.path] },
  );
  assert.equal(pair.curl.code, 23);
  assert.equal(pair.h1.code, EXIT_CODES.writeError);

  const url = `http://127.0.0.1:${server.port}/big`;
  const spawnAndHangUp = async (cmd: string, args: string[]) => {
    const child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read();
    await reader.cancel();
    const [status] = await Promise.all([
      child.status,
      new Response(child.stderr).arrayBuffer(),
    ]);
    return status.code;
  };
  assert.equal(
    await spawnAndHangUp("curl", ["-q", "-s", "--noproxy", "*", url]),
    23,
  );
  assert.equal(
    await spawnAndHangUp(Deno.execPath(), [
      "run",
      "--quiet",
      `--allow-net=127.0.0.1:${server.port}`,
      CLI,
      url,
    ]),
    EXIT_CODES.writeError,
  );
});

Deno.test("curl diff: -H with CR LF: curl sends two fields, h1 refuses and sends nothing", async () => {
  if (noCurl()) return;
  await using server = okServer();
  const pair = await both(server, [
    "-H",
    "X: a\r\nInjected: 1",
    `http://127.0.0.1:${server.port}/`,
  ]);
  assert.equal(pair.curl.code, 0);
  assert.match(pair.curl.requests[0]!.head, /\r\nInjected: 1\r\n/);
  assert.equal(pair.h1.code, EXIT_CODES.other);
  assert.equal(pair.h1.requests.length, 0);
  assert.match(pair.h1.stderr, /CR or LF/);
});

Deno.test("curl diff: a URL without a scheme: curl assumes http://, h1 exits 3 naming it", async () => {
  if (noCurl()) return;
  await using server = okServer();
  const pair = await both(server, [`127.0.0.1:${server.port}/noscheme`]);
  assert.equal(pair.curl.code, 0);
  assert.equal(pair.curl.requests.length, 1);
  assert.equal(pair.h1.code, EXIT_CODES.badUrl);
  assert.equal(pair.h1.requests.length, 0);
  assert.match(pair.h1.stderr, /127\.0\.0\.1:\d+\/noscheme/);
});

// ---------------------------------------------------------------------------
// Bugs.

// Fixed bug: -i/-I must print the response head's bytes as received, as curl does
// (RFC 9110 §5.5: field values may carry obs-text; h1 keeps them as Latin-1
// text). A UTF-8 `X-Name: café` (63 61 66 c3 a9) is printed by curl as those
// bytes; h1 prints 63 61 66 c3 83 c2 a9 ("cafÃ\u0083Â©"): cli.ts encodes the
// Latin-1 head string with TextEncoder (UTF-8), so every byte >= 0x80 is
// doubled into mojibake (Content-Disposition filenames, Link, reason phrases).
Deno.test({
  name: "curl diff: -i prints non-ASCII header bytes as received",
  async fn() {
    if (noCurl()) return;
    await using server = rawServer(async (_req, conn) => {
      await send(
        conn,
        "HTTP/1.1 200 Gr\xfc\xdf\r\nX-Name: caf\xc3\xa9\r\nX-Latin: \xe9\r\nContent-Length: 2\r\n\r\nok",
      );
      return "keep";
    });
    const pair = await both(server, ["-i", `http://127.0.0.1:${server.port}/`]);
    assert.equal(pair.h1.code, 0);
    assert.equal(
      fromLatin1(pair.curl.stdout),
      "HTTP/1.1 200 Gr\xfc\xdf\r\nX-Name: caf\xc3\xa9\r\nX-Latin: \xe9\r\nContent-Length: 2\r\n\r\nok",
    );
    assertSameBytes(pair.h1.stdout, pair.curl.stdout);
  },
});

// Fixed bug: `-H "X-Name: café"` should send the argument's UTF-8 bytes (63 61 66
// c3 a9), as curl (and `-d`, which h1 does send as UTF-8) does. h1 sends the
// Latin-1 byte e9 for é, and refuses any character above U+00FF (`-H
// "X-J: 日本"` exits 1: "character outside Latin-1"), because cli.ts hands
// the decoded argv string to request(), whose head is Latin-1 text.
Deno.test({
  name: "curl diff: -H values with non-ASCII text go out as their UTF-8 bytes",
  async fn() {
    if (noCurl()) return;
    await using server = okServer();
    for (const value of ["café", "日本"]) {
      const pair = await both(server, [
        "-H",
        `X-Name: ${value}`,
        `http://127.0.0.1:${server.port}/`,
      ]);
      const utf8 = fromLatin1(new TextEncoder().encode(value));
      assert.match(
        pair.curl.requests[0]!.head,
        new RegExp(`X-Name: ${utf8}\r\n`),
      );
      assert.equal(pair.h1.code, 0, pair.h1.stderr);
      assertSameRequests(pair);
    }
  },
});

// Fixed bug: curl's `-H "Name:"` (nothing after the colon) removes that
// field, including the ones curl adds itself (`-H "Content-Type:"` with -d,
// `-H "User-Agent:"`). h1 sent the field with an empty value instead.
// Known difference (README): `-H "Host:"` keeps h1's Host (curl removes
// it), since RFC 9112 §3.2 says a request MUST carry the URL's authority.
Deno.test({
  name:
    "curl diff: -H 'Name:' removes the field as in curl, never sends it empty",
  async fn() {
    if (noCurl()) return;
    await using server = okServer();
    const url = `http://127.0.0.1:${server.port}/`;
    for (
      const args of [
        ["-d", "x=1", "-H", "Content-Type:", url],
        ["-H", "X-Gone:", url],
        ["-H", "X-Gone: 1", "-H", "X-Gone:", url],
        ["-H", "User-Agent:", "-H", "Accept:", url],
      ]
    ) {
      const pair = await both(server, args);
      assert.doesNotMatch(pair.curl.requests[0]!.head, /: \r\n/);
      assert.equal(pair.h1.code, 0);
      assert.doesNotMatch(pair.h1.requests[0]!.head, /:[ \t]*\r\n/);
      assertSameRequests(pair);
    }
    const pair = await both(server, ["-H", "Host:", url]);
    assert.doesNotMatch(pair.curl.requests[0]!.head, /\r\nHost:/i);
    assert.match(
      pair.h1.requests[0]!.head,
      new RegExp(`\r\nHost: 127\\.0\\.0\\.1:${server.port}\r\n`),
    );
  },
});

// Fixed bug: with -i curl prints every interim 1xx head (e.g. `103 Early Hints`)
// before the final head, byte for byte; h1 collects them
// (HTTPResponse.informational, README "Client") but cli.ts:370-379 prints
// only the final head, so -i output hides responses the server did send.
Deno.test({
  name: "curl diff: -i prints 1xx interim heads before the final one",
  async fn() {
    if (noCurl()) return;
    await using server = rawServer(async (_req, conn) => {
      await send(
        conn,
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + OK,
      );
      return "keep";
    });
    const pair = await both(server, ["-i", `http://127.0.0.1:${server.port}/`]);
    assert.equal(
      fromLatin1(pair.curl.stdout),
      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + OK,
    );
    assert.equal(pair.h1.code, 0);
    assertSameBytes(pair.h1.stdout, pair.curl.stdout);
  },
});

// Fixed bug: `-i -L` (and `-I -L`) in curl prints the head of every response in
// the chain, redirects included, so the user sees the hops; h1 prints only
// the last head (request() hides the redirect responses from cli.ts).
Deno.test({
  name: "curl diff: -i -L prints each redirect's head, as curl",
  async fn() {
    if (noCurl()) return;
    await using server = rawServer(async (req, conn) => {
      if (req.target === "/from") {
        await send(
          conn,
          "HTTP/1.1 302 Found\r\nLocation: /to\r\nContent-Length: 0\r\n\r\n",
        );
      } else await send(conn, OK);
      return "keep";
    });
    const pair = await both(server, [
      "-i",
      "-L",
      `http://127.0.0.1:${server.port}/from`,
    ]);
    assert.equal(
      fromLatin1(pair.curl.stdout),
      "HTTP/1.1 302 Found\r\nLocation: /to\r\nContent-Length: 0\r\n\r\n" + OK,
    );
    assert.equal(pair.h1.code, 0);
    assertSameBytes(pair.h1.stdout, pair.curl.stdout);
  },
});

// Fixed bug: `curl -o FILE` leaves an (empty) FILE after a successful transfer
// with no body (204, 304, HEAD); h1 opens the file only inside
// `if (response.body !== null ...)` (cli.ts:386-403), so after exit 0 the
// file does not exist, and `h1 -o f URL && cat f` fails.
Deno.test({
  name: "curl diff: -o creates an empty file for a 204 reply",
  async fn() {
    if (noCurl()) return;
    await using server = rawServer(async (_req, conn) => {
      await send(conn, "HTTP/1.1 204 No Content\r\n\r\n");
      return "keep";
    });
    await using dir = await tempDir();
    const url = `http://127.0.0.1:${server.port}/`;
    const curlFile = `${dir.path}/curl`;
    const h1File = `${dir.path}/h1`;
    assert.equal((await runCurl(["-o", curlFile, url])).code, 0);
    assert.deepEqual(await readOrNull(curlFile), new Uint8Array(0));
    const h1 = await runH1(["-o", h1File, url], {
      net: [`127.0.0.1:${server.port}`],
      write: [h1File],
    });
    assert.equal(h1.code, 0);
    assert.deepEqual(await readOrNull(h1File), new Uint8Array(0));
  },
});

// Fixed bug: curl's -i/-I include the head in "the output", so with `-o FILE`
// the head goes into FILE before the body and stdout stays empty. h1 writes
// the head to stdout and only the body to FILE (cli.ts:378 always writes
// to io.stdout), so the saved file lacks the head the user asked to include.
Deno.test({
  name: "curl diff: -i -o writes head and body into the file, as curl",
  async fn() {
    if (noCurl()) return;
    await using server = okServer();
    await using dir = await tempDir();
    const url = `http://127.0.0.1:${server.port}/`;
    const curlFile = `${dir.path}/curl`;
    const h1File = `${dir.path}/h1`;
    const curl = await runCurl(["-i", "-o", curlFile, url]);
    assert.equal(curl.stdout.length, 0);
    assert.equal(fromLatin1((await readOrNull(curlFile))!), OK);
    const h1 = await runH1(["-i", "-o", h1File, url], {
      net: [`127.0.0.1:${server.port}`],
      write: [h1File],
    });
    assert.equal(h1.code, 0);
    assert.equal(fromLatin1(h1.stdout), "");
    assert.equal(fromLatin1((await readOrNull(h1File))!), OK);
  },
});

// Fixed bug: `-o -` means stdout in curl. h1 opens a file literally named "-" in
// the working directory and prints nothing (cli.ts:388-394), so a curl
// habit silently litters the directory and the pipe gets no data.
Deno.test({
  name: "curl diff: -o - writes the body to stdout",
  async fn() {
    if (noCurl()) return;
    await using server = okServer();
    await using dir = await tempDir();
    const pair = await both(
      server,
      ["-o", "-", `http://127.0.0.1:${server.port}/`],
      { cwd: dir.path, write: [dir.path] },
    );
    assert.equal(fromLatin1(pair.curl.stdout), "ok");
    assert.equal(pair.h1.code, 0);
    assert.equal(await readOrNull(`${dir.path}/-`), null);
    assert.equal(fromLatin1(pair.h1.stdout), "ok");
  },
});

// Known difference (README): `-X delete` goes out as `DELETE`. request()
// upper-cases the six methods Fetch normalises (delete, get, head,
// options, post, put), and the CLI is built on it; curl sends the method
// as typed (methods are case-sensitive, RFC 9110 §9.1). Other methods keep
// their case in both.
Deno.test({
  name: "curl diff: -X upper-cases the six Fetch methods, keeps others",
  async fn() {
    if (noCurl()) return;
    await using server = okServer();
    const url = `http://127.0.0.1:${server.port}/x`;
    const pair = await both(server, ["-X", "delete", url]);
    assert.equal(norm(pair.curl.requests[0]!).line, "delete /x HTTP/1.1");
    assert.equal(pair.h1.code, 0);
    assert.equal(norm(pair.h1.requests[0]!).line, "DELETE /x HTTP/1.1");
    const other = await both(server, ["-X", "purge", url]);
    assert.equal(other.h1.code, 0);
    assertSameRequests(other);
  },
});

// Fixed bug: a Location whose bytes are not UTF-8 (`Location: /caf\xe9`, Latin-1)
// is followed by curl (and Go) to the same bytes, percent-encoded:
// `GET /caf%e9`. h1 (request.ts locationOf, fallback `return first`) hands
// the Latin-1 string to `new URL`, which encodes é as UTF-8, and requests
// `/caf%C3%A9`: a different resource than the server named. Fix: on that
// fallback, percent-encode each byte >= 0x80 before parsing.
Deno.test({
  name: "curl diff: -L keeps a non-UTF-8 Location's bytes",
  async fn() {
    if (noCurl()) return;
    await using server = rawServer(async (req, conn) => {
      if (req.target === "/latin") {
        await send(
          conn,
          "HTTP/1.1 302 Found\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\n\r\n",
        );
      } else await send(conn, OK);
      return "keep";
    });
    const pair = await both(server, [
      "-L",
      `http://127.0.0.1:${server.port}/latin`,
    ]);
    assert.equal(
      upperEscapes(norm(pair.curl.requests[1]!).line),
      "GET /caf%E9 HTTP/1.1",
    );
    assert.equal(pair.h1.code, 0);
    assert.equal(
      upperEscapes(norm(pair.h1.requests[1]!).line),
      "GET /caf%E9 HTTP/1.1",
    );
  },
});

// Fixed bug: a 0 time limit means "no limit" in curl (`-m 0`, `--connect-timeout
// 0`), and h1's own --connect-timeout 0 also does not limit; but
// `--timeout 0` becomes AbortSignal.timeout(0) (cli.ts:363-365) and every
// request fails at once with exit 28, before anything is sent.
Deno.test({
  name: "curl diff: --timeout 0 means no limit, as curl -m 0",
  async fn() {
    if (noCurl()) return;
    await using server = okServer();
    const url = `http://127.0.0.1:${server.port}/`;
    const pair = await both(server, ["--timeout", "0", url], {}, [
      "-m",
      "0",
      url,
    ]);
    assert.equal(pair.curl.code, 0);
    assert.equal(pair.h1.code, 0, pair.h1.stderr);
    assert.equal(fromLatin1(pair.h1.stdout), "ok");
  },
});

// Fixed bug: h1's CLI sent no User-Agent (and no Accept); curl sends
// `User-Agent: curl/<version>` and `Accept: */*`, and RFC 9110 §10.1.5 says
// a user agent SHOULD send User-Agent. Servers that require one (GitHub's
// API answers 403 without it) failed with h1 where curl works. h1 now sends
// `User-Agent: h1/<deno.json version>` and `Accept: */*`; -H replaces them.
Deno.test({
  name: "curl diff: the CLI sends a User-Agent and Accept like curl",
  async fn() {
    if (noCurl()) return;
    const version = H1_VERSION;
    await using server = okServer();
    const url = `http://127.0.0.1:${server.port}/`;
    const pair = await both(server, [url]);
    assert.match(pair.curl.requests[0]!.head, /\r\nUser-Agent: curl\/\S+\r\n/);
    assert.equal(pair.h1.code, 0);
    assert.match(
      pair.h1.requests[0]!.head,
      new RegExp(
        `\r\nUser-Agent: h1/${
          version.replaceAll(".", "\\.")
        }\r\nAccept: \\*/\\*\r\n`,
      ),
    );
    const mine = await both(server, ["-H", "User-Agent: probe/1", url]);
    assert.equal(mine.h1.code, 0);
    assert.equal(
      mine.h1.requests[0]!.head.match(/User-Agent: [^\r]*/g)?.join(),
      "User-Agent: probe/1",
    );
    assertSameRequests(mine);
  },
});

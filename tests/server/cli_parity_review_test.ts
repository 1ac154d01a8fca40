// Parity review of server/cli.ts against a real `python3 -m http.server`:
// both run as subprocesses on free ports of 127.0.0.1 over the same temp
// directory, and the raw bytes, the start-up line, the access log and the
// exit behaviour are compared. Expected behaviour is Python's unless the
// README documents a difference (ETag / Range / 412 extras, mime-db types,
// 127.0.0.1 as default bind, HTTP/0.9 → 400, one-line start-up errors,
// the symlink policy). Three ignored tests hold differences the README now
// lists (charset on text types, a missing -d directory, non-UTF-8 names).
// Skips cleanly when python3 is absent.
import assert from "node:assert/strict";
import { join } from "node:path";

const CLI_PATH = new URL("../../server/cli.ts", import.meta.url).pathname;
const IS_POSIX = Deno.build.os !== "windows";
const SERVING = /^Serving HTTP on (\S+) port (\d+) \(http:\/\/\S+\/\) \.\.\.$/;
// Python's default SIGINT handler is installed explicitly: a child started
// from a non-interactive shell's background job inherits SIGINT ignored,
// and `python -m http.server` would then never see Ctrl-C.
const PY_MAIN =
  "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); runpy.run_module('http.server', run_name='__main__', alter_sys=True)";

async function hasPython(): Promise<boolean> {
  try {
    const out = await new Deno.Command("python3", {
      args: ["-c", "import http.server"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

const PYTHON = IS_POSIX && await hasPython();

/** Whether ::1 can be bound (asked of python: the test lacks net on ::1). */
async function hasIpv6Loopback(): Promise<boolean> {
  if (!PYTHON) return false;
  const out = await new Deno.Command("python3", {
    args: [
      "-c",
      "import socket; socket.socket(socket.AF_INET6).bind(('::1', 0))",
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

const IPV6 = await hasIpv6Loopback();

/** GET `path` from [::1]:`port` through python (HTTP/1.0, to EOF). */
async function fetchIpv6(port: number, path: string): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: [
      "-c",
      "import socket,sys; s=socket.create_connection(('::1', int(sys.argv[1])), timeout=3); s.sendall(('GET %s HTTP/1.0\\r\\n\\r\\n' % sys.argv[2]).encode()); d=b''\nwhile True:\n  c=s.recv(65536)\n  if not c: break\n  d+=c\nsys.stdout.buffer.write(d)",
      String(port),
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

function fromLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

/** Collects a stream's lines as they arrive. */
class Lines {
  lines: string[] = [];
  #partial = "";
  done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (this.#partial + chunk).split("\n");
        this.#partial = parts.pop()!;
        this.lines.push(...parts);
      }
      if (this.#partial !== "") this.lines.push(this.#partial);
    })().catch(() => {});
  }
  async waitFor(pattern: RegExp, timeoutMs = 4000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = this.lines.find((line) => pattern.test(line));
      if (hit !== undefined) return hit;
      await delay(10);
    }
    return null;
  }
  async waitForCount(n: number, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < n && Date.now() < deadline) await delay(10);
  }
}

interface Server extends AsyncDisposable {
  name: "h1" | "python";
  port: number;
  /** The start-up line, or null when none came. */
  serving: string | null;
  stdout: Lines;
  stderr: Lines;
  child: Deno.ChildProcess;
  /** Sends `signal` and waits for the exit (killed after 3 s). */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

function wrap(
  name: "h1" | "python",
  child: Deno.ChildProcess,
  port: number,
): Server {
  const stdout = new Lines(child.stdout);
  const stderr = new Lines(child.stderr);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 3000);
    try {
      const s = await status;
      await stdout.done;
      await stderr.done;
      return s;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    name,
    port,
    serving: null,
    stdout,
    stderr,
    child,
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
    },
  };
}

/** The CLI as `deno task serve` runs it, adjusted to `root` and a port. */
function spawnH1(args: string[], permissions: string[]): Server {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, CLI_PATH, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  return wrap("h1", child, Number(args[0]));
}

function spawnPython(args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command("python3", {
    args: ["-u", "-c", PY_MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  return wrap("python", child, Number(args[0]));
}

/** Starts h1 and Python on `root`, each on its own free port. */
async function startBoth(
  root: string,
  extra: string[] = [],
  options: { bind?: string; env?: Record<string, string> } = {},
): Promise<[Server, Server]> {
  const bind = options.bind ?? "127.0.0.1";
  const netHost = bind.includes(":") ? `[${bind}]` : bind;
  const h1Port = freePort();
  const pyPort = freePort();
  const h1 = wrap(
    "h1",
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        `--allow-net=${netHost}:${h1Port}`,
        `--allow-read=${root}`,
        CLI_PATH,
        String(h1Port),
        "--bind",
        bind,
        "-d",
        root,
        ...extra,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
    }).spawn(),
    h1Port,
  );
  const py = spawnPython(
    [String(pyPort), "--bind", bind, "--directory", root, ...extra],
    options.env,
  );
  h1.serving = await h1.stdout.waitFor(SERVING);
  py.serving = await py.stdout.waitFor(SERVING);
  if (h1.serving === null || py.serving === null) {
    await h1.stop("SIGKILL");
    await py.stop("SIGKILL");
    throw new Error(
      `did not start: h1=${h1.stderr.lines.join("|")} py=${
        py.stderr.lines.join("|")
      }`,
    );
  }
  return [h1, py];
}

interface Exchange {
  text: string;
  eof: boolean;
}

/**
 * Sends each request in turn on one connection and reads after each until
 * EOF or `idleMs` of silence.
 */
async function talk(
  port: number,
  requests: string[],
  { idleMs = 400, hostname = "127.0.0.1" } = {},
): Promise<Exchange[]> {
  const conn = await Deno.connect({ hostname, port });
  const results: Exchange[] = [];
  // One read in flight at a time: a read abandoned at an idle timeout is
  // picked up again for the next request instead of eating its reply.
  let pending: Promise<Uint8Array | null> | null = null;
  const next = () => {
    const buf = new Uint8Array(65536);
    return conn.read(buf).then((n) => n === null ? null : buf.slice(0, n))
      .catch(() => null);
  };
  try {
    for (const request of requests) {
      await conn.write(latin1(request));
      const chunks: Uint8Array[] = [];
      let eof = false;
      while (true) {
        pending ??= next();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const got = await Promise.race([
          pending,
          new Promise<"idle">((resolve) => {
            timer = setTimeout(() => resolve("idle"), idleMs);
          }),
        ]);
        clearTimeout(timer);
        if (got === "idle") break;
        pending = null;
        if (got === null) {
          eof = true;
          break;
        }
        chunks.push(got);
      }
      const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      results.push({ text: fromLatin1(all), eof });
      if (eof) break;
    }
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  return results;
}

/** One request on its own connection; the whole reply (until EOF). */
async function fetchRaw(port: number, request: string): Promise<string> {
  const [first] = await talk(port, [request], { idleMs: 2000 });
  return first?.text ?? "";
}

/** Drops the headers that must differ: Server and Date. */
function normalize(reply: string): string {
  return reply
    .replace(
      /^Server: SimpleHTTP\/0\.6 \S+\r\n/m,
      "Server: SimpleHTTP/0.6 X\r\n",
    )
    .replace(/^Date: [^\r]*\r\n/m, "Date: X\r\n");
}

/** Drops h1's documented extras (ETag, Accept-Ranges). */
function dropExtras(reply: string): string {
  return reply.replace(/^(ETag|Accept-Ranges): [^\r]*\r\n/gm, "");
}

function head(reply: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of reply.split("\r\n\r\n")[0]!.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    map.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return map;
}

function statusOf(reply: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1] ?? "0");
}

/** Log lines with the date replaced, so two servers' logs compare. */
function logLines(server: Server): string[] {
  return server.stderr.lines.map((line) =>
    line.replace(/\[\d{2}\/\w{3}\/\d{4} \d{2}:\d{2}:\d{2}\]/, "[DATE]")
  );
}

async function makeSite(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "h1_cli_parity_" });
  const files: Record<string, string> = {
    "a.txt": "hi\n",
    "B.txt": "B",
    "c.TXT": "c",
    ".hidden": "h",
    "_under": "u",
    "100%.txt": "%",
    "<&>'\".txt": "x",
    "sp ace.txt": "s",
    "ünï.txt": "u",
    "f.js": "1",
    "f.mjs": "1",
    "f.json": "{}",
    "f.wasm": "\0asm",
    "f.svg": "<svg/>",
    "f.css": "a{}",
    "f.html": "<p>",
    "f.png": "p",
    "f.gz": "g",
    "f.zip": "z",
    "f.pdf": "p",
    "noext": "n",
  };
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(root, name), text);
  }
  await Deno.mkdir(join(root, "Dir"));
  await Deno.mkdir(join(root, "sub"));
  await Deno.writeTextFile(join(root, "sub", "index.html"), "<p>idx</p>");
  await Deno.mkdir(join(root, "dü"));
  await Deno.writeTextFile(join(root, "dü", "x y.txt"), "x");
  await Deno.symlink(join(root, "a.txt"), join(root, "link.txt"));
  await Deno.symlink(join(root, "sub"), join(root, "linkdir"));
  await Deno.symlink(join(root, "missing"), join(root, "dangling"));
  return root;
}

async function withSite(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await makeSite();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const GET = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

Deno.test({
  name:
    "cli parity: start-up line, printed before serving, and access log lines match python",
  ignore: !PYTHON,
  async fn() {
    await withSite(async (root) => {
      const [h1, py] = await startBoth(root);
      await using _h1 = h1;
      await using _py = py;
      for (const s of [h1, py]) {
        assert.equal(
          s.serving,
          `Serving HTTP on 127.0.0.1 port ${s.port} (http://127.0.0.1:${s.port}/) ...`,
        );
        // The line means "ready": the very next connect is served.
        assert.equal(statusOf(await fetchRaw(s.port, GET("/a.txt"))), 200);
        await fetchRaw(s.port, GET("/nope"));
        await fetchRaw(s.port, GET("/sub?x=1"));
        await fetchRaw(s.port, `HEAD /sub/ HTTP/1.0\r\n\r\n`);
        await fetchRaw(
          s.port,
          `POST /a.txt HTTP/1.0\r\nContent-Length: 0\r\n\r\n`,
        );
        await s.stderr.waitForCount(7);
      }
      assert.deepEqual(logLines(h1), logLines(py));
      assert.deepEqual(logLines(h1), [
        '127.0.0.1 - - [DATE] "GET /a.txt HTTP/1.1" 200 -',
        "127.0.0.1 - - [DATE] code 404, message File not found",
        '127.0.0.1 - - [DATE] "GET /nope HTTP/1.1" 404 -',
        '127.0.0.1 - - [DATE] "GET /sub?x=1 HTTP/1.1" 301 -',
        '127.0.0.1 - - [DATE] "HEAD /sub/ HTTP/1.0" 200 -',
        "127.0.0.1 - - [DATE] code 501, message Unsupported method ('POST')",
        '127.0.0.1 - - [DATE] "POST /a.txt HTTP/1.0" 501 -',
      ]);
      assert.equal(h1.stdout.lines.length, 1);
    });
  },
});

Deno.test({
  name: "cli parity: the access log date is local time, like python's",
  ignore: !PYTHON,
  async fn() {
    await withSite(async (root) => {
      const env = { TZ: "Asia/Tokyo" };
      const [h1, py] = await startBoth(root, [], { env });
      await using _h1 = h1;
      await using _py = py;
      for (const s of [h1, py]) {
        await fetchRaw(s.port, GET("/a.txt"));
        await s.stderr.waitForCount(1);
      }
      const stamp = (s: Server) =>
        /\[(\d{2}\/\w{3}\/\d{4} \d{2}):/.exec(s.stderr.lines[0] ?? "")?.[1];
      assert.ok(stamp(py) !== undefined);
      assert.equal(stamp(h1), stamp(py));
    });
  },
});

Deno.test({
  name:
    "cli parity: listing bytes (case-insensitive sort, dotfiles, @ for links, escaping, quoting)",
  ignore: !PYTHON,
  async fn() {
    await withSite(async (root) => {
      const [h1, py] = await startBoth(root);
      await using _h1 = h1;
      await using _py = py;
      for (
        const path of ["/", "/d%C3%BC/", "/Dir/", "/d%C3%BC/?q=%3Cx%3E"]
      ) {
        const ours = normalize(await fetchRaw(h1.port, GET(path)));
        const theirs = normalize(await fetchRaw(py.port, GET(path)));
        assert.equal(ours, theirs, path);
      }
      const listing = await fetchRaw(h1.port, GET("/"));
      assert.match(listing, /<li><a href="\.hidden">\.hidden<\/a><\/li>/);
      assert.match(listing, /<li><a href="linkdir\/">linkdir@<\/a><\/li>/);
      assert.match(listing, /<li><a href="100%25\.txt">100%\.txt<\/a><\/li>/);
    });
  },
});

Deno.test({
  name:
    "cli parity: 404, 301 (with query), 501 and HEAD replies match python byte for byte",
  ignore: !PYTHON,
  async fn() {
    await withSite(async (root) => {
      const [h1, py] = await startBoth(root);
      await using _h1 = h1;
      await using _py = py;
      const requests = [
        GET("/nope.txt"),
        GET("/sub"),
        GET("/sub?a=1&b=%20"),
        GET("/linkdir"),
        GET("//sub"),
        GET("/sub/.."),
        GET("/a.txt/"),
        `GET /nope HTTP/1.0\r\n\r\n`,
        `HEAD /nope HTTP/1.0\r\n\r\n`,
        `POST /a.txt HTTP/1.0\r\nContent-Length: 0\r\n\r\n`,
        `DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n`,
        GET("/sub/"),
        `HEAD /sub/ HTTP/1.0\r\n\r\n`,
        `HEAD / HTTP/1.0\r\n\r\n`,
      ];
      for (const request of requests) {
        const ours = dropExtras(normalize(await fetchRaw(h1.port, request)));
        const theirs = normalize(await fetchRaw(py.port, request));
        if (/\.txt|\/sub\/ /.test(request) && statusOf(theirs) === 200) {
          // Files: only the charset may differ (see the ignored test below).
          assert.equal(
            ours.replace(/; charset=utf-8\r\n/, "\r\n"),
            theirs,
            request,
          );
        } else {
          assert.equal(ours, theirs, request);
        }
      }
      const notFound = head(await fetchRaw(h1.port, GET("/nope")));
      assert.equal(notFound.get("content-type"), "text/html;charset=utf-8");
      assert.equal(notFound.get("connection"), "close");
      assert.equal(notFound.get("content-length"), "335");
    });
  },
});

Deno.test({
  name:
    "cli parity: If-Modified-Since gives 304 for the same date forms as python",
  ignore: !PYTHON,
  async fn() {
    await withSite(async (root) => {
      const [h1, py] = await startBoth(root);
      await using _h1 = h1;
      await using _py = py;
      const lm = head(await fetchRaw(py.port, GET("/a.txt"))).get(
        "last-modified",
      )!;
      assert.equal(
        head(await fetchRaw(h1.port, GET("/a.txt"))).get("last-modified"),
        lm,
      );
      const forms = [
        lm,
        "Wed, 02 Dec 2099 03:24:15",
        "Wed, 02 Dec 2099 03:24:15 +0000",
        "Wed, 02 Dec 2099 03:24:15 +0900",
        "Wednesday, 02-Dec-99 03:24:15 GMT",
        "Wed Dec  2 03:24:15 2099",
        "wed, 02 dec 2099 03:24:15 gmt",
        "Wed, 2 Dec 2099 3:24:15 GMT",
        "Wed, 02 Dec 2099 03:24:15 UTC",
        "Wed, 02 Dec 99 03:24:15 GMT",
        "garbage",
        "Wed, 02 Dec 1969 03:24:15 GMT",
      ];
      for (const ims of forms) {
        const request = GET("/a.txt", `If-Modified-Since: ${ims}\r\n`);
        assert.equal(
          statusOf(await fetchRaw(h1.port, request)),
          statusOf(await fetchRaw(py.port, request)),
          ims,
        );
      }
      // An index page is conditional too.
      const request = GET("/sub/", `If-Modified-Since: ${lm}\r\n`);
      assert.equal(statusOf(await fetchRaw(h1.port, request)), 304);
      assert.equal(statusOf(await fetchRaw(py.port, request)), 304);
    });
  },
});

const TYPED = [
  "f.js",
  "f.mjs",
  "f.json",
  "f.wasm",
  "f.svg",
  "f.css",
  "f.html",
  "a.txt",
  "c.TXT",
  "f.png",
  "f.gz",
  "f.zip",
  "f.pdf",
  "noext",
  "_under",
  ".hidden",
];

Deno.test({
  name: "cli parity: Content-Type media types agree with python's guesses",
  ignore: !PYTHON,
  async fn() {
    await withSite(async (root) => {
      const [h1, py] = await startBoth(root);
      await using _h1 = h1;
      await using _py = py;
      for (const name of TYPED) {
        const request = `HEAD /${encodeURIComponent(name)} HTTP/1.0\r\n\r\n`;
        const ours = head(await fetchRaw(h1.port, request)).get("content-type");
        const theirs = head(await fetchRaw(py.port, request)).get(
          "content-type",
        );
        assert.equal(ours?.split(";")[0], theirs?.split(";")[0], name);
      }
    });
  },
});

Deno.test({
  // Known difference (README): h1 appends "; charset=utf-8" to text/*, JS and JSON
  // files (server/_mime.ts does it on purpose, but the README only says the
  // types come from mime-db). python3 -m http.server sends the bare type:
  // "text/plain", "text/javascript", "application/json", "text/html".
  name:
    "cli parity: Content-Type of text files is python's exactly (no charset)",
  ignore: true,
  async fn() {
    await withSite(async (root) => {
      const [h1, py] = await startBoth(root);
      await using _h1 = h1;
      await using _py = py;
      for (const name of ["a.txt", "f.js", "f.json", "f.html", "f.css"]) {
        const request = `HEAD /${name} HTTP/1.0\r\n\r\n`;
        assert.equal(
          head(await fetchRaw(h1.port, request)).get("content-type"),
          head(await fetchRaw(py.port, request)).get("content-type"),
          name,
        );
      }
    });
  },
});

Deno.test({
  name:
    "cli parity: HTTP/1.0 default closes after one reply; -p HTTP/1.1 keeps alive until Connection: close",
  ignore: !PYTHON,
  async fn() {
    await withSite(async (root) => {
      {
        const [h1, py] = await startBoth(root);
        await using _h1 = h1;
        await using _py = py;
        for (const s of [h1, py]) {
          const [first] = await talk(s.port, [GET("/a.txt")]);
          assert.match(first!.text, /^HTTP\/1\.0 200 OK\r\n/, s.name);
          assert.equal(first!.eof, true, s.name);
        }
      }
      const [h1, py] = await startBoth(root, ["-p", "HTTP/1.1"]);
      await using _h1 = h1;
      await using _py = py;
      for (const s of [h1, py]) {
        const replies = await talk(s.port, [
          GET("/a.txt"),
          `GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`,
          GET("/sub"),
          GET("/a.txt", "Connection: close\r\n"),
        ]);
        assert.equal(replies.length, 4, s.name);
        assert.deepEqual(
          replies.map((r) => [statusOf(r.text), r.eof]),
          [[200, false], [200, false], [301, false], [200, true]],
          s.name,
        );
        for (const r of replies) {
          assert.match(r.text, /^HTTP\/1\.1 /, s.name);
          assert.doesNotMatch(r.text, /^Connection: keep-alive/im, s.name);
        }
        // An error reply ends the connection in both.
        const [notFound] = await talk(s.port, [GET("/nope")]);
        assert.equal(notFound!.eof, true, s.name);
      }
    });
  },
});

Deno.test({
  name:
    "cli parity: SIGINT prints 'Keyboard interrupt received, exiting.' and exits 0, even with a stalled download",
  ignore: !PYTHON,
  async fn() {
    await withSite(async (root) => {
      await Deno.writeFile(join(root, "big.bin"), new Uint8Array(20_000_000));
      const [h1, py] = await startBoth(root, ["-p", "HTTP/1.1"]);
      await using _h1 = h1;
      await using _py = py;
      for (const s of [h1, py]) {
        // One client stalls mid-download, one sits idle on keep-alive.
        const stalled = await Deno.connect({
          hostname: "127.0.0.1",
          port: s.port,
        });
        await stalled.write(latin1(GET("/big.bin")));
        await stalled.read(new Uint8Array(100));
        await talk(s.port, [GET("/a.txt")], { idleMs: 100 });
        const started = Date.now();
        const status = await s.stop("SIGINT");
        stalled.close();
        assert.equal(status.code, 0, s.name);
        assert.ok(Date.now() - started < 2000, s.name);
        assert.deepEqual(s.stdout.lines, [
          `Serving HTTP on 127.0.0.1 port ${s.port} (http://127.0.0.1:${s.port}/) ...`,
          "",
          "Keyboard interrupt received, exiting.",
        ], s.name);
      }
    });
  },
});

Deno.test({
  name: "cli parity: -b ::1 prints a bracketed URL and logs ::1",
  ignore: !IPV6,
  async fn() {
    await withSite(async (root) => {
      const [h1, py] = await startBoth(root, [], { bind: "::1" });
      await using _h1 = h1;
      await using _py = py;
      for (const s of [h1, py]) {
        assert.equal(
          s.serving,
          `Serving HTTP on ::1 port ${s.port} (http://[::1]:${s.port}/) ...`,
        );
        assert.equal(statusOf(await fetchIpv6(s.port, "/a.txt")), 200);
        await s.stderr.waitForCount(1);
      }
      assert.deepEqual(logLines(h1), logLines(py));
      assert.match(
        logLines(h1)[0]!,
        /^::1 - - \[DATE\] "GET \/a\.txt HTTP\/1\.0" 200 -$/,
      );
    });
  },
});

Deno.test({
  name: "cli parity: a non-numeric port is a usage error with exit code 2",
  ignore: !PYTHON,
  async fn() {
    for (const bad of ["abc", "1e3", "0x50"]) {
      const py = await new Deno.Command("python3", {
        args: ["-m", "http.server", bad],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const h1 = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", CLI_PATH, bad],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(py.code, 2, bad);
      assert.equal(h1.code, 2, bad);
      for (const out of [py, h1]) {
        const text = new TextDecoder().decode(out.stderr);
        assert.match(text, /^usage: /, bad);
        assert.ok(text.includes(": error: argument port: invalid "), bad);
        assert.ok(text.includes(bad), bad);
      }
    }
  },
});

Deno.test({
  // Known difference (README): `-d` naming a missing directory. python3 -m
  // http.server starts, prints "Serving HTTP on ..." and answers every
  // request 404; h1 prints 'Cannot serve "<dir>": no such directory; pass
  // an existing one with -d' and exits 1. The README lists only "a port in
  // use or a missing permission" as one-line exit-1 failures. (h1's
  // behaviour is arguably better: then document it and drop this test.)
  name: "cli parity: --directory naming a missing directory still serves (404)",
  ignore: true,
  async fn() {
    const parent = await Deno.makeTempDir({ prefix: "h1_cli_parity_" });
    const missing = join(parent, "nope");
    try {
      const port = freePort();
      await using h1 = spawnH1(
        [String(port), "-d", missing],
        [`--allow-net=127.0.0.1:${port}`, `--allow-read=${parent}`],
      );
      h1.serving = await h1.stdout.waitFor(SERVING, 3000);
      assert.equal(
        h1.serving,
        `Serving HTTP on 127.0.0.1 port ${port} (http://127.0.0.1:${port}/) ...`,
        h1.stderr.lines.join("\n"),
      );
      assert.equal(statusOf(await fetchRaw(port, GET("/"))), 404);
    } finally {
      await Deno.remove(parent, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "cli parity (python side): --directory naming a missing directory serves 404",
  ignore: !PYTHON,
  async fn() {
    const parent = await Deno.makeTempDir({ prefix: "h1_cli_parity_" });
    try {
      const port = freePort();
      await using py = spawnPython([
        String(port),
        "-b",
        "127.0.0.1",
        "-d",
        join(parent, "nope"),
      ]);
      assert.ok(await py.stdout.waitFor(SERVING));
      assert.equal(statusOf(await fetchRaw(port, GET("/"))), 404);
    } finally {
      await Deno.remove(parent, { recursive: true });
    }
  },
});

Deno.test({
  // Known difference (README): a file name that is not valid UTF-8 (possible on
  // Linux). Python lists it with the raw byte in the text and the
  // surrogate-escaped href "bad%ED%B3%BF.txt", and that href serves the
  // file (200). h1 lists "bad\uFFFD.txt" with href "bad%EF%BF%BD.txt",
  // which answers 404: the link in h1's own listing is dead, and the
  // listing bytes differ from Python's.
  name:
    "cli parity: a non-UTF-8 file name is listed like python and its link works",
  ignore: true,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "h1_cli_parity_" });
    try {
      // Create "bad\xff.txt" through python (Deno paths are strings).
      const made = await new Deno.Command("python3", {
        args: [
          "-c",
          "import os,sys; open(os.path.join(os.fsencode(sys.argv[1]), b'bad\\xff.txt'), 'wb').write(b'x')",
          root,
        ],
      }).output();
      assert.ok(made.success);
      const [h1, py] = await startBoth(root);
      await using _h1 = h1;
      await using _py = py;
      const ours = normalize(await fetchRaw(h1.port, GET("/")));
      const theirs = normalize(await fetchRaw(py.port, GET("/")));
      const href = /href="(bad[^"]*)"/.exec(ours)?.[1] ?? "";
      assert.equal(statusOf(await fetchRaw(h1.port, GET(`/${href}`))), 200);
      assert.equal(ours, theirs);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

// Adversarial review of static file serving, over real sockets: serveDir()
// behind serve() (Web face) and SimpleHTTPRequestHandler behind HTTPServer
// (Python face). Expected behaviour comes from RFC 9110 and CPython's
// http.server. The review found two bugs (HEAD on an error declared length 0;
// an If-Range list counted as a match), fixed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { HTTPServer } from "../../server/http_server.ts";
import { SimpleHTTPRequestHandler } from "../../server/simple_request_handler.ts";
import { serveDir, type ServeDirOptions } from "../../server/static.ts";
import { withServer } from "./_python_face.ts";
import { fetchRaw, RawClient, type RawResponse, startServer } from "./_raw.ts";

const SECRET = "TOP-SECRET-OUTSIDE-ROOT";
const IS_WINDOWS = Deno.build.os === "windows";
// mkfifo needs --allow-run, which the usual test command does not grant.
const CAN_MKFIFO = !IS_WINDOWS &&
  (await Deno.permissions.query({ name: "run", command: "mkfifo" }))
      .state === "granted";

interface Site {
  outer: string;
  root: string;
}

/**
 * outer/secret.txt            never served (outside the root)
 * outer/root2/secret.txt      a sibling whose name starts like the root
 * outer/root/                 fsRoot
 * outer/root/a.txt            "0123456789"
 * outer/root/empty.txt        ""
 * outer/root/sub/f.txt        "sub"
 * outer/root/d d/             a directory whose name needs encoding
 */
async function withSite(fn: (site: Site) => Promise<void>): Promise<void> {
  const outer = await Deno.makeTempDir({ prefix: "h1_adv_static_" });
  try {
    const root = join(outer, "root");
    await Deno.mkdir(join(root, "sub"), { recursive: true });
    await Deno.mkdir(join(root, "d d"));
    await Deno.mkdir(join(outer, "root2"));
    await Deno.writeTextFile(join(outer, "secret.txt"), SECRET);
    await Deno.writeTextFile(join(outer, "root2", "secret.txt"), SECRET);
    await Deno.writeTextFile(join(root, "a.txt"), "0123456789");
    await Deno.writeTextFile(join(root, "empty.txt"), "");
    await Deno.writeTextFile(join(root, "sub", "f.txt"), "sub");
    await fn({ outer, root });
  } finally {
    await Deno.remove(outer, { recursive: true });
  }
}

/** Runs `fn` with a port for the Web face (serveDir behind serve()). */
async function withWeb(
  root: string,
  fn: (port: number) => Promise<void>,
  options: Partial<ServeDirOptions> = {},
): Promise<void> {
  await using server = startServer((req) =>
    serveDir(req, { fsRoot: root, ...options })
  );
  await fn(server.addr.port);
}

/** Runs `fn` with a port for the Python face (SimpleHTTPRequestHandler). */
async function withPy(
  root: string,
  fn: (port: number) => Promise<void>,
  options: Partial<ServeDirOptions> = {},
): Promise<void> {
  const Handler = SimpleHTTPRequestHandler.partial({
    directory: root,
    ...options,
  });
  await withServer(Handler, ({ port }) => fn(port), { Server: HTTPServer });
}

/** Both faces, one after the other. */
async function withBoth(
  root: string,
  fn: (port: number, face: "web" | "py") => Promise<void>,
  options: Partial<ServeDirOptions> = {},
): Promise<void> {
  await withWeb(root, (port) => fn(port, "web"), options);
  await withPy(root, (port) => fn(port, "py"), options);
}

function request(
  method: string,
  target: string,
  headers: Record<string, string> = {},
): string {
  let text = `${method} ${target} HTTP/1.1\r\nHost: x\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    text += `${name}: ${value}\r\n`;
  }
  return text + "Connection: close\r\n\r\n";
}

function send(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return fetchRaw(port, request(method, target, headers), method);
}

// ------------------------------------------------------------- traversal

// Python's translate_path decodes once and normalises "." / ".." without
// ever leaving the directory; h1 additionally refuses NUL, backslash and
// malformed UTF-8 with 400. None of these may ever reach outside the root.
const TRAVERSALS = [
  "/../secret.txt",
  "/../../../../../../etc/passwd",
  "/%2e%2e/secret.txt",
  "/%2E%2E/secret.txt",
  "/.%2e/secret.txt",
  "/%2e%2e%2fsecret.txt",
  "/..%2fsecret.txt",
  "/..%2F..%2F..%2Fetc%2Fpasswd",
  "/sub/..%2f..%2fsecret.txt",
  "/%252e%252e/secret.txt",
  "/%252e%252e%252fsecret.txt",
  "/..;/secret.txt",
  "/..%3b/secret.txt",
  "//etc/passwd",
  "///../secret.txt",
  "/%2fetc/passwd",
  "/a.txt/../../secret.txt",
  "/../root2/secret.txt",
  "/..%2froot2%2fsecret.txt",
  "/sub/../../secret.txt?x=../../secret.txt",
  "/../secret.txt#frag",
  "http://x/../secret.txt",
  "http://x/%2e%2e/secret.txt",
  "/..%20/secret.txt",
  "/.. /secret.txt".replace(" ", "%20"),
  "/...%2fsecret.txt",
];

Deno.test("adversarial traversal targets never leave the root (both faces)", async () => {
  await withSite(async ({ root }) => {
    await withBoth(root, async (port, face) => {
      for (const target of TRAVERSALS) {
        const res = await send(port, "GET", target);
        assert.notEqual(res.status, 200, `${face} ${target}`);
        assert.ok(!res.text.includes(SECRET), `${face} ${target}`);
        assert.ok(!res.text.includes(root), `${face} ${target} leaks path`);
      }
    });
  });
});

Deno.test("adversarial NUL, backslash and overlong UTF-8 are refused with 400 (both faces)", async () => {
  await withSite(async ({ root }) => {
    await withBoth(root, async (port, face) => {
      for (
        const target of [
          "/a.txt%00",
          "/a.txt%00.html",
          "/%00../secret.txt",
          "/..%5csecret.txt",
          "/..%5C..%5Csecret.txt",
          "/%c0%ae%c0%ae/secret.txt", // overlong "." is not valid UTF-8
          "/%c0%af",
          "/%e0%80%ae%e0%80%ae/secret.txt",
          "/%ff",
          "/%",
          "/%2",
          "/%zz",
        ]
      ) {
        const res = await send(port, "GET", target);
        assert.equal(res.status, 400, `${face} ${target}`);
        assert.ok(!res.text.includes(SECRET), `${face} ${target}`);
      }
    });
  });
});

Deno.test("adversarial decoded names are literal: double encoding, trailing dot and space", async () => {
  await withSite(async ({ root }) => {
    await Deno.writeTextFile(join(root, "%2e%2e"), "literal");
    await withBoth(root, async (port, face) => {
      // Decoded exactly once: "%252e%252e" names the file "%2e%2e".
      const literal = await send(port, "GET", "/%252e%252e");
      assert.equal(literal.status, 200, face);
      assert.equal(literal.text, "literal", face);
      // POSIX names are exact: "a.txt." and "a.txt " are other files.
      for (const target of ["/a.txt.", "/a.txt%20", "/A.TXT", "/a.txt%2e"]) {
        const res = await send(port, "GET", target);
        assert.equal(res.status, 404, `${face} ${target}`);
      }
      // "a.txt;x" is a name, not a path parameter.
      assert.equal((await send(port, "GET", "/a.txt;x")).status, 404, face);
      // Query and fragment are not part of the path.
      const q = await send(port, "GET", "/a.txt?../../secret.txt");
      assert.equal(q.status, 200, face);
      assert.equal(q.text, "0123456789", face);
    });
  });
});

Deno.test("adversarial over-long names and deep paths are 404, not 500", async () => {
  await withSite(async ({ root }) => {
    await withBoth(root, async (port, face) => {
      const long = await send(port, "GET", "/" + "a".repeat(1000));
      assert.equal(long.status, 404, face);
      const deep = await send(port, "GET", "/" + "a/".repeat(1500) + "x");
      assert.equal(deep.status, 404, face);
      const dots = await send(port, "GET", "/" + "../".repeat(1500) + "a.txt");
      assert.equal(dots.status, 200, face);
      assert.equal(dots.text, "0123456789", face);
    });
  });
});

// ------------------------------------------------------------- symlinks

Deno.test({
  name:
    "adversarial symlink policy: within-root refuses links out (incl. a sibling sharing the root's prefix)",
  ignore: IS_WINDOWS,
  fn: async () => {
    await withSite(async ({ outer, root }) => {
      await Deno.symlink(join(outer, "secret.txt"), join(root, "abs"));
      await Deno.symlink("../secret.txt", join(root, "rel"));
      await Deno.symlink(join(outer, "root2"), join(root, "sib"));
      await Deno.symlink(outer, join(root, "up"));
      await Deno.symlink(join(root, "sub"), join(root, "inner"));
      await Deno.symlink("loop", join(root, "loop"));
      await Deno.mkdir(join(root, "idx"));
      await Deno.symlink(
        join(outer, "secret.txt"),
        join(root, "idx", "index.html"),
      );
      await withBoth(root, async (port, face) => {
        for (
          const target of [
            "/abs",
            "/rel",
            "/sib/secret.txt",
            "/sib/",
            "/up/secret.txt",
            "/up/",
            "/up",
            "/loop",
          ]
        ) {
          const res = await send(port, "GET", target);
          assert.equal(res.status, 404, `${face} ${target}`);
          assert.ok(!res.text.includes(SECRET), `${face} ${target}`);
        }
        const inner = await send(port, "GET", "/inner/f.txt");
        assert.equal(inner.status, 200, face);
        assert.equal(inner.text, "sub", face);
        // An index page that links out counts as absent: the listing.
        const idx = await send(port, "GET", "/idx/");
        assert.equal(idx.status, 200, face);
        assert.ok(!idx.text.includes(SECRET), face);
        assert.ok(idx.text.includes("Directory listing for /idx/"), face);
      });
    });
  },
});

Deno.test({
  name:
    "adversarial symlink policy: refuse blocks even inner links; follow is Python's",
  ignore: IS_WINDOWS,
  fn: async () => {
    await withSite(async ({ outer, root }) => {
      await Deno.symlink(join(root, "sub"), join(root, "inner"));
      await Deno.symlink("a.txt", join(root, "alias.txt"));
      await Deno.symlink(join(outer, "secret.txt"), join(root, "abs"));
      await withBoth(root, async (port, face) => {
        for (const target of ["/inner/f.txt", "/alias.txt", "/abs"]) {
          const res = await send(port, "GET", target);
          assert.equal(res.status, 404, `${face} refuse ${target}`);
        }
        assert.equal((await send(port, "GET", "/a.txt")).status, 200, face);
      }, { symlinks: "refuse" });
      await withBoth(root, async (port, face) => {
        const res = await send(port, "GET", "/abs");
        assert.equal(res.status, 200, face);
        assert.equal(res.text, SECRET, face);
      }, { symlinks: "follow" });
    });
  },
});

// ------------------------------------------------------------- special files

Deno.test({
  name: "adversarial a FIFO is 404 without blocking, also as an index page",
  ignore: !CAN_MKFIFO,
  fn: async () => {
    await withSite(async ({ root }) => {
      const made = await new Deno.Command("mkfifo", {
        args: [join(root, "fifo"), join(root, "sub", "index.html")],
      }).output().catch(() => null);
      if (made === null || !made.success) return; // no mkfifo here
      await withBoth(root, async (port, face) => {
        const fifo = await send(port, "GET", "/fifo");
        assert.equal(fifo.status, 404, face);
        // Python checks os.path.isfile(index): a FIFO is no index page.
        const dir = await send(port, "GET", "/sub/");
        assert.equal(dir.status, 200, face);
        assert.ok(dir.text.includes("Directory listing for /sub/"), face);
      });
    });
  },
});

// ------------------------------------------------------------- redirects

Deno.test("adversarial directory without slash: 301 with a same-origin Location (both faces)", async () => {
  await withSite(async ({ root }) => {
    await Deno.mkdir(join(root, "evil.com"));
    await withBoth(root, async (port, face) => {
      const cases: Array<[string, string]> = [
        ["/sub", "/sub/"],
        ["/sub?x=1&y=%20", "/sub/?x=1&y=%20"],
        ["/d%20d", "/d%20d/"],
        ["/d%20d?q=a%20b", "/d%20d/?q=a%20b"],
        ["/sub%2f", "/sub%2f/"],
        // CVE-2021-28861: never a protocol-relative "//host/" Location.
        ["//evil.com", "/evil.com/"],
        ["///evil.com?x", "/evil.com/?x"],
        ["http://x//evil.com", "/evil.com/"],
      ];
      for (const [target, location] of cases) {
        const res = await send(port, "GET", target);
        assert.equal(res.status, 301, `${face} ${target}`);
        assert.equal(
          res.headers.get("location"),
          location,
          `${face} ${target}`,
        );
        assert.ok(!res.headers.get("location")!.startsWith("//"));
        const head = await send(port, "HEAD", target);
        assert.equal(head.status, 301, `${face} HEAD ${target}`);
        assert.equal(head.headers.get("location"), location, face);
      }
    });
  });
});

// ------------------------------------------------------------- ranges

Deno.test("adversarial Range edge cases follow RFC 9110 §14 (both faces)", async () => {
  await withSite(async ({ root }) => {
    await withBoth(root, async (port, face) => {
      const get = (range: string, path = "/a.txt") =>
        send(port, "GET", path, { Range: range });
      // §14.1.2: first byte only.
      let res = await get("bytes=0-0");
      assert.equal(res.status, 206, face);
      assert.equal(res.headers.get("content-range"), "bytes 0-0/10");
      assert.equal(res.text, "0");
      // Last byte via an open range, and a last-pos past the end is clamped.
      res = await get("bytes=9-");
      assert.equal(res.headers.get("content-range"), "bytes 9-9/10", face);
      res = await get("bytes=8-99999999999999999999");
      assert.equal(res.headers.get("content-range"), "bytes 8-9/10", face);
      assert.equal(res.text, "89", face);
      // §14.1.1: a suffix longer than the file selects the whole file.
      res = await get("bytes=-100");
      assert.equal(res.status, 206, face);
      assert.equal(res.headers.get("content-range"), "bytes 0-9/10", face);
      assert.equal(res.text, "0123456789", face);
      // Unsatisfiable: suffix-length 0, first-pos at/after the end, and any
      // range of an empty file → 416 with Content-Range: bytes */length.
      for (
        const [range, path, len] of [
          ["bytes=-0", "/a.txt", 10],
          ["bytes=10-", "/a.txt", 10],
          ["bytes=10-20", "/a.txt", 10],
          ["bytes=10-20,30-", "/a.txt", 10],
          ["bytes=0-", "/empty.txt", 0],
          ["bytes=0-0", "/empty.txt", 0],
        ] as const
      ) {
        res = await get(range, path);
        assert.equal(res.status, 416, `${face} ${range} ${path}`);
        assert.equal(res.headers.get("content-range"), `bytes */${len}`);
        assert.ok(!res.text.includes("0123456789"), face);
      }
      // Whitespace around members and a case-insensitive unit (§14.1).
      res = await get("BYTES=1-2");
      assert.equal(res.status, 206, face);
      assert.equal(res.text, "12", face);
      res = await get("bytes=1-2 ,\t");
      assert.equal(res.status, 206, face);
      assert.equal(res.text, "12", face);
      // An unsatisfiable member beside a satisfiable one is dropped.
      res = await get("bytes=1-2,50-60");
      assert.equal(res.status, 206, face);
      assert.equal(res.headers.get("content-range"), "bytes 1-2/10", face);
      // §14.2: syntactically invalid or unknown units → ignore Range → 200.
      for (
        const range of [
          "items=0-1",
          "bytes=5-2",
          "bytes=0-1,x",
          "bytes=+1-2",
          "bytes=0x1-2",
          "bytes=-",
          "bytes=1-2-3",
          "bytes",
          "",
        ]
      ) {
        res = await get(range);
        assert.equal(res.status, 200, `${face} ${JSON.stringify(range)}`);
        assert.equal(res.text, "0123456789", `${face} ${range}`);
        assert.equal(res.headers.get("content-range"), null, face);
      }
    });
  });
});

/** Splits a multipart/byteranges body into its parts, strictly (RFC 2046). */
function parseByteranges(
  body: string,
  boundary: string,
): Array<{ headers: Record<string, string>; data: string }> {
  const delimiter = `--${boundary}`;
  assert.ok(body.startsWith(delimiter + "\r\n"), "starts with the boundary");
  assert.ok(body.endsWith(`\r\n${delimiter}--\r\n`), "ends with the close");
  const inner = body.slice(0, -(`\r\n${delimiter}--\r\n`.length));
  const chunks = inner.split(`\r\n${delimiter}\r\n`);
  chunks[0] = chunks[0]!.slice(delimiter.length + 2);
  return chunks.map((chunk) => {
    const end = chunk.indexOf("\r\n\r\n");
    assert.ok(end >= 0, "part has a head");
    const headers: Record<string, string> = {};
    for (const line of chunk.slice(0, end).split("\r\n")) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1)
        .trim();
    }
    return { headers, data: chunk.slice(end + 4) };
  });
}

Deno.test("adversarial multipart/byteranges framing is exact (both faces)", async () => {
  await withSite(async ({ root }) => {
    // Bytes that look like framing inside the file must not confuse it.
    const content = "--x\r\n\r\n--y--\r\nABCDEFGHIJ";
    await Deno.writeTextFile(join(root, "m.txt"), content);
    await withBoth(root, async (port, face) => {
      const res = await send(port, "GET", "/m.txt", {
        Range: "bytes=0-4, -3,10-12",
      });
      assert.equal(res.status, 206, face);
      assert.equal(res.headers.get("content-range"), null, face);
      const type = res.headers.get("content-type")!;
      const m = /^multipart\/byteranges; boundary=([0-9A-Za-z'()+_,\-./:=?]+)$/
        .exec(type);
      assert.ok(m, type);
      assert.equal(Number(res.headers.get("content-length")), res.body.length);
      const parts = parseByteranges(res.text, m[1]!);
      assert.equal(parts.length, 3, face);
      const len = content.length;
      const expect = [
        [0, 4],
        [len - 3, len - 1],
        [10, 12],
      ];
      parts.forEach((part, i) => {
        const [s, e] = expect[i]!;
        assert.equal(
          part.headers["content-range"],
          `bytes ${s}-${e}/${len}`,
          face,
        );
        assert.equal(part.headers["content-type"], "text/plain; charset=utf-8");
        assert.equal(part.data, content.slice(s, e! + 1), face);
      });
      // RFC 9110 §15.3.7: a 206 carries the validators a 200 would.
      assert.ok(res.headers.get("etag"), face);
      assert.ok(res.headers.get("last-modified"), face);
    });
  });
});

// ------------------------------------------------------------- conditionals

async function validators(port: number) {
  const res = await send(port, "GET", "/a.txt");
  return {
    etag: res.headers.get("etag")!,
    lastModified: res.headers.get("last-modified")!,
  };
}

Deno.test("adversarial If-None-Match / If-Modified-Since per RFC 9110 §13 (both faces)", async () => {
  await withSite(async ({ root }) => {
    await Deno.utime(join(root, "a.txt"), 1_000_000_000, 1_000_000_000);
    await withBoth(root, async (port, face) => {
      const { etag, lastModified } = await validators(port);
      assert.equal(lastModified, "Sun, 09 Sep 2001 01:46:40 GMT", face);
      const notModified = async (headers: Record<string, string>) => {
        for (const method of ["GET", "HEAD"]) {
          const res = await send(port, method, "/a.txt", headers);
          const what = `${face} ${method} ${JSON.stringify(headers)}`;
          assert.equal(res.status, 304, what);
          assert.equal(res.body.length, 0, what);
          // §15.4.5: the validators a 200 would have carried.
          assert.equal(res.headers.get("etag"), etag, what);
          assert.equal(res.headers.get("last-modified"), lastModified, what);
          assert.equal(res.headers.get("content-range"), null, what);
        }
      };
      const full = async (headers: Record<string, string>) => {
        const res = await send(port, "GET", "/a.txt", headers);
        assert.equal(res.status, 200, `${face} ${JSON.stringify(headers)}`);
        assert.equal(res.text, "0123456789");
      };
      // §13.1.2: a list; weak comparison; "*" matches any current file.
      await notModified({ "If-None-Match": `"nope", ${etag}` });
      await notModified({ "If-None-Match": `W/${etag}` });
      await notModified({ "If-None-Match": "*" });
      await notModified({ "If-None-Match": `"a,b", ${etag}` });
      await full({ "If-None-Match": `"nope"` });
      await full({ "If-None-Match": etag.replaceAll('"', "") });
      // §13.2.2: If-None-Match present → If-Modified-Since is ignored.
      await full({
        "If-None-Match": `"nope"`,
        "If-Modified-Since": lastModified,
      });
      // §13.1.3: IMS in any of the three date formats; a later date matches.
      await notModified({ "If-Modified-Since": lastModified });
      await notModified({
        "If-Modified-Since": "Sunday, 09-Sep-01 01:46:40 GMT",
      });
      await notModified({ "If-Modified-Since": "Sun Sep  9 01:46:40 2001" });
      await notModified({
        "If-Modified-Since": "Mon, 10 Sep 2001 00:00:00 GMT",
      });
      await full({ "If-Modified-Since": "Sun, 09 Sep 2001 01:46:39 GMT" });
      // §13.1.3: invalid dates and lists are ignored.
      await full({ "If-Modified-Since": "garbage" });
      await full({ "If-Modified-Since": "Sun, 31 Sep 2001 01:46:40 GMT" });
      await full({ "If-Modified-Since": `${lastModified}, ${lastModified}` });
      // 304 wins over a Range (§13.2.2 step 4 comes before If-Range/Range).
      await notModified({ "If-None-Match": etag, Range: "bytes=0-1" });
    });
  });
});

Deno.test("adversarial If-Match / If-Unmodified-Since per RFC 9110 §13 (both faces)", async () => {
  await withSite(async ({ root }) => {
    await Deno.utime(join(root, "a.txt"), 1_000_000_000, 1_000_000_000);
    await withBoth(root, async (port, face) => {
      const { etag } = await validators(port);
      const status = async (headers: Record<string, string>) =>
        (await send(port, "GET", "/a.txt", headers)).status;
      // §13.1.1: strong comparison; a weak tag never matches.
      assert.equal(await status({ "If-Match": `W/${etag}` }), 412, face);
      assert.equal(await status({ "If-Match": `"x", ${etag}` }), 200, face);
      assert.equal(await status({ "If-Match": "*" }), 200, face);
      // §13.2.2 step 1 runs before step 3: 412 beats a matching INM.
      assert.equal(
        await status({ "If-Match": `"x"`, "If-None-Match": etag }),
        412,
        face,
      );
      // §13.1.4: IUS is ignored with If-Match present, or when not a date.
      assert.equal(
        await status({
          "If-Match": etag,
          "If-Unmodified-Since": "Sun, 09 Sep 2001 01:46:39 GMT",
        }),
        200,
        face,
      );
      assert.equal(
        await status({
          "If-Unmodified-Since": "Sun, 09 Sep 2001 01:46:39 GMT",
        }),
        412,
        face,
      );
      assert.equal(await status({ "If-Unmodified-Since": "soon" }), 200, face);
      // §13.2.1: preconditions are ignored when the answer would be 404.
      assert.equal(
        (await send(port, "GET", "/missing", { "If-Match": "*" })).status,
        404,
        face,
      );
    });
  });
});

Deno.test("adversarial If-Range with an entity tag and with a date (both faces)", async () => {
  await withSite(async ({ root }) => {
    await Deno.utime(join(root, "a.txt"), 1_000_000_000, 1_000_000_000);
    await withBoth(root, async (port, face) => {
      const { etag, lastModified } = await validators(port);
      const ranged = async (ifRange: string) =>
        (await send(port, "GET", "/a.txt", {
          Range: "bytes=0-1",
          "If-Range": ifRange,
        })).status;
      // §13.1.5: strong match or exact date → the range; else the whole.
      assert.equal(await ranged(etag), 206, face);
      assert.equal(await ranged(lastModified), 206, face);
      assert.equal(await ranged(`W/${etag}`), 200, face);
      assert.equal(await ranged(`"other"`), 200, face);
      assert.equal(await ranged("Sun, 09 Sep 2001 01:46:41 GMT"), 200, face);
      assert.equal(await ranged("Sun, 09 Sep 2001 01:46:39 GMT"), 200, face);
      assert.equal(await ranged("*"), 200, face);
      assert.equal(await ranged("not a validator"), 200, face);
    });
  });
});

// If-Range takes exactly one entity-tag or one HTTP-date (RFC 9110
// §13.1.5: `If-Range = entity-tag / HTTP-date`, and "Otherwise, the condition
// is false"): a list or trailing junk must not select the partial content.
Deno.test({
  name:
    "adversarial If-Range holding a list or trailing junk is false (both faces)",
  fn: async () => {
    await withSite(async ({ root }) => {
      await withBoth(root, async (port, face) => {
        const { etag } = await validators(port);
        for (const ifRange of [`${etag}, "x"`, `"x", ${etag}`, `${etag}junk`]) {
          const res = await send(port, "GET", "/a.txt", {
            Range: "bytes=0-1",
            "If-Range": ifRange,
          });
          assert.equal(res.status, 200, `${face} If-Range: ${ifRange}`);
          assert.equal(res.text, "0123456789", face);
        }
      });
    });
  },
});

// ------------------------------------------------------------- HEAD, methods

Deno.test("adversarial HEAD sends GET's headers and no body for files and listings (both faces)", async () => {
  await withSite(async ({ root }) => {
    await Deno.writeFile(join(root, "big.bin"), new Uint8Array(200_000));
    await withBoth(root, async (port, face) => {
      for (const target of ["/a.txt", "/big.bin", "/empty.txt", "/", "/sub/"]) {
        const get = await send(port, "GET", target);
        const head = await send(port, "HEAD", target);
        assert.equal(head.status, get.status, `${face} ${target}`);
        assert.equal(head.body.length, 0, `${face} ${target}`);
        for (
          const name of [
            "content-type",
            "content-length",
            "etag",
            "last-modified",
            "accept-ranges",
          ]
        ) {
          assert.equal(
            head.headers.get(name),
            get.headers.get(name),
            `${face} ${target} ${name}`,
          );
        }
        assert.equal(
          Number(get.headers.get("content-length")),
          get.body.length,
          `${face} ${target}`,
        );
      }
      // A HEAD on a keep-alive connection must not leave body bytes behind.
      await using client = await RawClient.connect(port);
      await client.send(
        "HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n" +
          "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      if (face === "web") {
        const [head, get] = await client.responses(["HEAD", "GET"]);
        assert.equal(head!.status, 200);
        assert.equal(get!.text, "0123456789");
      } else {
        // The Python face speaks HTTP/1.0 by default and closes after one.
        const head = await client.response("HEAD");
        assert.equal(head.status, 200);
        assert.equal(head.body.length, 0);
      }
    });
  });
});

// RFC 9110 §8.6: a server "MUST NOT send Content-Length in such a response
// unless its field value equals the decimal number of octets that would have
// been sent in the content of a response if the same request had used the
// GET method"; §9.3.2: HEAD SHOULD carry the same header fields as GET. So
// serveDir's error answers to HEAD declare the GET body's length and type.
Deno.test({
  name: "adversarial serveDir HEAD on an error declares GET's length or none",
  fn: async () => {
    await withSite(async ({ root }) => {
      await withWeb(root, async (port) => {
        const cases: Array<[string, Record<string, string>]> = [
          ["/missing", {}],
          ["/a.txt%00", {}],
          ["/a.txt", { "If-Match": `"nope"` }],
        ];
        for (const [target, headers] of cases) {
          const get = await send(port, "GET", target, headers);
          const head = await send(port, "HEAD", target, headers);
          assert.equal(head.status, get.status, target);
          const length = head.headers.get("content-length");
          assert.ok(
            length === null || length === get.headers.get("content-length"),
            `${target}: HEAD content-length ${length}, GET ${
              get.headers.get("content-length")
            }`,
          );
          assert.equal(
            head.headers.get("content-type"),
            get.headers.get("content-type"),
            target,
          );
        }
      });
    });
  },
});

Deno.test("adversarial other methods: 405 + Allow (Web), 501 (Python); keep-alive survives", async () => {
  await withSite(async ({ root }) => {
    await withWeb(root, async (port) => {
      for (
        const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"]
      ) {
        const res = await send(port, method, "/a.txt");
        assert.equal(res.status, 405, method);
        // RFC 9110 §15.5.6: a 405 MUST carry Allow.
        assert.equal(res.headers.get("allow"), "GET, HEAD", method);
        assert.ok(!res.text.includes("0123456789"), method);
      }
      // A refused request's body is consumed, not read as the next request.
      await using client = await RawClient.connect(port);
      await client.send(
        "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
          "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      const [post, get] = await client.responses(["POST", "GET"]);
      assert.equal(post!.status, 405);
      assert.equal(get!.status, 200);
      assert.equal(get!.text, "0123456789");
    });
    await withPy(root, async (port) => {
      // CPython: no do_POST etc. → 501 "Unsupported method".
      for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
        const res = await send(port, method, "/a.txt");
        assert.equal(res.status, 501, method);
        assert.ok(!res.text.includes("0123456789"), method);
      }
    });
  });
});

// ------------------------------------------------------------- listings

Deno.test("adversarial listing escapes hostile names and percent-encodes hrefs (both faces)", async () => {
  await withSite(async ({ root }) => {
    const names = [
      "<script>alert(1).txt",
      "<img src=x onerror=alert(1)>.txt",
      'q"uote.txt',
      "amp&amp;.txt",
      "x' onmouseover='alert(1).txt",
      "hash#frag.txt",
      "what?q=1.txt",
      "100%.txt",
      "tab\tnl.txt",
      "caf\u00e9.txt",
    ];
    for (const name of names) await Deno.writeTextFile(join(root, name), "h");
    await Deno.mkdir(join(root, "<dir>"));
    await withBoth(root, async (port, face) => {
      const res = await send(port, "GET", "/");
      assert.equal(res.status, 200, face);
      const html = res.text;
      assert.ok(!html.includes("<script>"), face);
      assert.ok(!html.includes("<img"), face);
      assert.ok(!html.includes("<dir>"), face);
      // Every href is a quoted, fully percent-encoded relative reference:
      // no quote, angle bracket, space, "#", "?", "&" or "'" inside.
      const hrefs = [...html.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)];
      // + a.txt, empty.txt, d d/, sub/ and <dir>/.
      assert.equal(hrefs.length, names.length + 5, face);
      for (const [, href] of hrefs) {
        assert.match(href!, /^[A-Za-z0-9_.\-~/%]+$/, `${face} ${href}`);
      }
      assert.ok(
        html.includes(
          '<a href="%3Cscript%3Ealert%281%29.txt">' +
            "&lt;script&gt;alert(1).txt</a>",
        ),
        face,
      );
      assert.ok(html.includes('<a href="q%22uote.txt">q"uote.txt</a>'), face);
      assert.ok(
        html.includes('<a href="amp%26amp%3B.txt">amp&amp;amp;.txt</a>'),
        face,
      );
      assert.ok(html.includes('<a href="%3Cdir%3E/">&lt;dir&gt;/</a>'), face);
      assert.ok(html.includes('<a href="caf%C3%A9.txt">caf\u00e9.txt</a>'));
      // Each href, resolved against the listing, fetches that very file.
      for (const [, href] of hrefs) {
        if (href!.endsWith("/")) continue;
        const file = await send(port, "GET", "/" + href);
        assert.equal(file.status, 200, `${face} /${href}`);
      }
    });
  });
});

Deno.test("adversarial listing title escapes a hostile request path (both faces)", async () => {
  await withSite(async ({ root }) => {
    await withBoth(root, async (port, face) => {
      const res = await send(
        port,
        "GET",
        "/sub/?%3C/title%3E%3Cscript%3Ex%3C/script%3E&a=%22",
      );
      assert.equal(res.status, 200, face);
      assert.ok(!res.text.includes("<script>"), face);
      assert.ok(!res.text.includes("</title><"), face);
      assert.ok(
        res.text.includes(
          "<title>Directory listing for /sub/?&lt;/title&gt;&lt;script&gt;x" +
            '&lt;/script&gt;&amp;a="</title>',
        ),
        face,
      );
    });
  });
});

// ------------------------------------------------------------- changes

Deno.test("adversarial a file truncated while streaming ends the connection, no hang (both faces)", async () => {
  await withSite(async ({ root }) => {
    const path = join(root, "big.bin");
    await withBoth(root, async (port, face) => {
      await Deno.writeFile(path, new Uint8Array(2_000_000).fill(0x41));
      await using client = await RawClient.connect(port);
      await client.send(
        "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n",
      );
      await client.readUntil((t) => t.includes("\r\n\r\n"), 1000);
      await Deno.truncate(path, 100_000);
      // Content-Length promised 2 MB: the server must close rather than
      // pad, hang, or start another response on this connection.
      assert.ok(await client.waitClosed(1500), `${face}: still open`);
      const text = client.text;
      const bodyStart = text.indexOf("\r\n\r\n") + 4;
      assert.ok(text.length - bodyStart < 2_000_000, face);
      assert.ok(/content-length: 2000000/i.test(text), face);
    });
  });
});

Deno.test("adversarial a file replaced between requests gets new validators (both faces)", async () => {
  await withSite(async ({ root }) => {
    const path = join(root, "a.txt");
    await Deno.utime(path, 1_000_000_000, 1_000_000_000);
    await withBoth(root, async (port, face) => {
      const { etag } = await validators(port);
      await Deno.writeTextFile(path, "changed!!");
      await Deno.utime(path, 1_000_000_100, 1_000_000_100);
      const res = await send(port, "GET", "/a.txt", {
        "If-None-Match": etag,
        Range: "bytes=0-1",
        "If-Range": etag,
      });
      // Stale validators: full new content (no 304, no stale range).
      assert.equal(res.status, 200, face);
      assert.equal(res.text, "changed!!", face);
      assert.notEqual(res.headers.get("etag"), etag, face);
      await Deno.writeTextFile(path, "0123456789");
      await Deno.utime(path, 1_000_000_000, 1_000_000_000);
    });
  });
});

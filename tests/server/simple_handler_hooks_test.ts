// SimpleHTTPRequestHandler's overridable hooks (CPython 3.12 http/server.py):
// each override must change the bytes on the wire, over a real socket.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ProtocolError } from "../../http1/errors.ts";
import { ThreadingHTTPServer } from "../../server/http_server.ts";
import {
  type SimpleHandlerBody,
  SimpleHTTPRequestHandler,
} from "../../server/simple_request_handler.ts";
import { withServer } from "./_python_face.ts";
import { fetchRaw, type RawResponse } from "./_raw.ts";

const encoder = new TextEncoder();

interface Site {
  /** The served directory. */
  root: string;
  /** A sibling directory outside `root`. */
  outside: string;
}

// <base>/site is served; <base>/secret.txt and <base>/other/ are outside it.
async function withSite(body: (site: Site) => Promise<void>): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "h1_hooks_" });
  try {
    await Deno.writeTextFile(`${base}/secret.txt`, "TOP SECRET");
    const root = `${base}/site`;
    const outside = `${base}/other`;
    await Deno.mkdir(`${root}/docs`, { recursive: true });
    await Deno.mkdir(outside);
    await Deno.writeTextFile(`${root}/hello.txt`, "hello\n");
    await Deno.writeTextFile(`${root}/notes.MD`, "# notes\n");
    await Deno.writeTextFile(`${root}/a.TXT`, "upper\n");
    await Deno.writeTextFile(`${root}/b.Txt`, "mixed\n");
    await Deno.writeFile(`${root}/data.gz`, new Uint8Array([0x1f, 0x8b]));
    await Deno.writeTextFile(`${root}/docs/index.html`, "<p>index</p>");
    await Deno.writeTextFile(`${root}/docs/home.html`, "<p>home</p>");
    await Deno.writeTextFile(`${outside}/asset.css`, "p{color:red}");
    await body({ root, outside });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

async function serving(
  Handler: typeof SimpleHTTPRequestHandler,
  body: (
    get: (target: string, method?: string) => Promise<RawResponse>,
  ) => Promise<void>,
): Promise<void> {
  await withServer(
    Handler,
    ({ port }) =>
      body((target, method = "GET") =>
        fetchRaw(port, `${method} ${target} HTTP/1.0\r\n\r\n`, method)
      ),
    { Server: ThreadingHTTPServer },
  );
}

Deno.test("SimpleHTTPRequestHandler.translate_path override chooses the file served", async () => {
  await withSite(async ({ root, outside }) => {
    const seen: string[] = [];
    class Handler extends SimpleHTTPRequestHandler {
      override directory = root;
      override translate_path(path: string): string {
        seen.push(path);
        if (path.startsWith("/assets/")) {
          return join(outside, path.slice("/assets/".length).split("?")[0]!);
        }
        return super.translate_path(path);
      }
    }
    await serving(Handler, async (get) => {
      const asset = await get("/assets/asset.css?v=2");
      assert.equal(asset.status, 200);
      assert.equal(asset.text, "p{color:red}");
      assert.equal(
        asset.headers.get("content-type"),
        "text/css; charset=utf-8",
      );
      const plain = await get("/hello.txt");
      assert.equal(plain.text, "hello\n");
      // The override sees this.path as received: encoded, with its query.
      assert.deepEqual(seen, ["/assets/asset.css?v=2", "/hello.txt"]);
    });
  });
});

Deno.test("SimpleHTTPRequestHandler.translate_path default keeps traversal checks under an override", async () => {
  await withSite(async ({ root }) => {
    class Handler extends SimpleHTTPRequestHandler {
      override directory = root;
      // "/v1/x" means "/x"; everything else goes through super as well.
      override translate_path(path: string): string {
        return super.translate_path(path.replace(/^\/v1(?=\/)/, ""));
      }
    }
    await serving(Handler, async (get) => {
      assert.equal((await get("/v1/hello.txt")).text, "hello\n");
      for (
        const target of [
          "/v1/../secret.txt",
          "/v1/%2e%2e/%2e%2e/secret.txt",
          "/v1/..%2f..%2fsecret.txt",
          "/v1/%252e%252e/secret.txt",
        ]
      ) {
        const res = await get(target);
        assert.equal(res.status, 404, target);
        assert.doesNotMatch(res.text, /TOP SECRET/, target);
      }
      for (const target of ["/v1/a%00b", "/v1/..%5csecret.txt", "/v1/%zz"]) {
        const res = await get(target);
        assert.equal(res.status, 400, target);
        assert.doesNotMatch(res.text, /TOP SECRET/, target);
      }
      // Python (Issue17324): a file named with a trailing slash is not found.
      assert.equal((await get("/v1/hello.txt/")).status, 404);
    });
  });
});

Deno.test("SimpleHTTPRequestHandler.translate_path override returning NUL gets 400, not a crash", async () => {
  await withSite(async ({ root }) => {
    class Handler extends SimpleHTTPRequestHandler {
      override directory = root;
      override translate_path(path: string): string {
        if (path === "/nul") return `${root}/hello.txt\0.png`;
        if (path === "/bad") throw new ProtocolError("No", "BAD_TARGET", 400);
        if (path === "/gone") throw new Deno.errors.NotFound("gone");
        if (path === "/deny") throw new Deno.errors.PermissionDenied("no");
        return super.translate_path(path);
      }
    }
    await serving(Handler, async (get) => {
      const nul = await get("/nul");
      assert.equal(nul.status, 400);
      assert.equal(nul.reason, "NUL byte in path");
      assert.doesNotMatch(nul.text, /hello/);
      assert.equal((await get("/bad")).status, 400);
      assert.equal((await get("/gone")).status, 404);
      assert.equal((await get("/deny")).status, 403);
      // The server is still serving.
      assert.equal((await get("/hello.txt")).text, "hello\n");
    });
  });
});

Deno.test("SimpleHTTPRequestHandler.guess_type override sets the Content-type", async () => {
  await withSite(async ({ root }) => {
    const seen: string[] = [];
    class Handler extends SimpleHTTPRequestHandler {
      override directory = root;
      override guess_type(path: string): string {
        seen.push(path);
        return path.endsWith(".txt") ? "text/x-custom" : super.guess_type(path);
      }
    }
    await serving(Handler, async (get) => {
      const res = await get("/hello.txt");
      assert.equal(res.fields[2]?.join(": "), "Content-type: text/x-custom");
      assert.equal(res.text, "hello\n");
      // It gets the file system path, as Python's does.
      assert.deepEqual(seen, [join(root, "hello.txt")]);
      const index = await get("/docs/");
      assert.equal(
        index.headers.get("content-type"),
        "text/html; charset=utf-8",
      );
    });
  });
});

Deno.test("SimpleHTTPRequestHandler.extensions_map is consulted first, as written then lower-cased", async () => {
  await withSite(async ({ root }) => {
    class Handler extends SimpleHTTPRequestHandler {
      override directory = root;
      override extensions_map = {
        ...SimpleHTTPRequestHandler.extensions_map,
        ".md": "text/markdown",
        ".TXT": "text/x-upper",
        ".txt": "text/x-lower",
      };
    }
    await serving(Handler, async (get) => {
      const type = async (target: string) =>
        (await get(target)).headers.get("content-type");
      assert.equal(await type("/notes.MD"), "text/markdown");
      assert.equal(await type("/a.TXT"), "text/x-upper");
      assert.equal(await type("/b.Txt"), "text/x-lower");
      assert.equal(await type("/hello.txt"), "text/x-lower");
      // Python's own entries are kept by the spread.
      assert.equal(await type("/data.gz"), "application/gzip");
    });
  });
  // Python's class-attribute style: override the static map.
  await withSite(async ({ root }) => {
    class Handler extends SimpleHTTPRequestHandler {
      static override extensions_map = { ".gz": "application/x-gzip" };
      override directory = root;
    }
    await serving(Handler, async (get) => {
      const gz = await get("/data.gz");
      assert.equal(gz.headers.get("content-type"), "application/x-gzip");
    });
  });
  // The default map is Python's, and unlisted types fall back to mime-db.
  await withSite(async ({ root }) => {
    const Handler = SimpleHTTPRequestHandler.partial({ directory: root });
    await serving(Handler, async (get) => {
      const gz = await get("/data.gz");
      assert.equal(gz.headers.get("content-type"), "application/gzip");
      const md = await get("/notes.MD");
      assert.equal(
        md.headers.get("content-type"),
        "text/markdown; charset=utf-8",
      );
    });
  });
});

Deno.test("SimpleHTTPRequestHandler.index_pages chooses the index page", async () => {
  await withSite(async ({ root }) => {
    class Home extends SimpleHTTPRequestHandler {
      override directory = root;
      override index_pages = ["missing.html", "home.html"];
    }
    await serving(Home, async (get) => {
      assert.equal((await get("/docs/")).text, "<p>home</p>");
    });
    class NoIndex extends SimpleHTTPRequestHandler {
      override directory = root;
      override index_pages: string[] = [];
    }
    await serving(NoIndex, async (get) => {
      const res = await get("/docs/");
      assert.match(res.text, /<title>Directory listing for \/docs\/<\/title>/);
      assert.match(res.text, /<a href="home\.html">home\.html<\/a>/);
    });
    // Default: index.html.
    const Default = SimpleHTTPRequestHandler.partial({ directory: root });
    await serving(Default, async (get) => {
      assert.equal((await get("/docs/")).text, "<p>index</p>");
    });
  });
});

Deno.test("SimpleHTTPRequestHandler.list_directory override renders its own listing", async () => {
  await withSite(async ({ root }) => {
    const seen: string[] = [];
    class Handler extends SimpleHTTPRequestHandler {
      override directory = root;
      override index_pages: string[] = [];
      override async list_directory(
        path: string,
      ): Promise<SimpleHandlerBody | null> {
        seen.push(path);
        if (path.endsWith("docs")) return await super.list_directory(path);
        const names: string[] = [];
        for await (const entry of Deno.readDir(path)) names.push(entry.name);
        const body = encoder.encode(JSON.stringify(names.sort()));
        this.send_response(200);
        this.send_header("Content-type", "application/json");
        this.send_header("Content-Length", body.length);
        this.end_headers();
        return body;
      }
    }
    await serving(Handler, async (get) => {
      const res = await get("/");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.deepEqual(JSON.parse(res.text), [
        "a.TXT",
        "b.Txt",
        "data.gz",
        "docs",
        "hello.txt",
        "notes.MD",
      ]);
      const head = await get("/", "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), String(res.body.length));
      assert.equal(head.body.length, 0);
      // super.list_directory is Python's page.
      const docs = await get("/docs/");
      assert.match(docs.text, /^<!DOCTYPE HTML>\n/);
      assert.match(docs.text, /<li><a href="index\.html">index\.html<\/a>/);
      assert.deepEqual(seen, [root, root, join(root, "docs")]);
    });
  });
});

Deno.test("SimpleHTTPRequestHandler.send_head and copyfile overrides change the response", async () => {
  await withSite(async ({ root }) => {
    const big = new Uint8Array(200_000).fill(0x61); // "a" × 200 000
    await Deno.writeFile(`${root}/big.txt`, big);
    class Handler extends SimpleHTTPRequestHandler {
      override directory = root;
      override async send_head(): Promise<SimpleHandlerBody | null> {
        if (this.path.startsWith("/docs")) {
          this.send_error(403, "Private");
          return null;
        }
        return await super.send_head();
      }
      // Upper-cases ASCII letters on the way out, chunk by chunk.
      override async copyfile(
        source: SimpleHandlerBody,
        outputfile: { write(b: Uint8Array): number | Promise<number> },
      ): Promise<void> {
        await super.copyfile(source, {
          write: (b: Uint8Array) =>
            outputfile.write(b.map((c) => c >= 0x61 && c <= 0x7a ? c - 32 : c)),
        });
      }
    }
    await serving(Handler, async (get) => {
      const denied = await get("/docs/");
      assert.equal(denied.status, 403);
      assert.equal(denied.reason, "Private");
      assert.equal((await get("/hello.txt")).text, "HELLO\n");
      const large = await get("/big.txt"); // streamed, not inlined
      assert.equal(large.body.length, big.length);
      assert.ok(large.body.every((c) => c === 0x41));
    });
  });
});

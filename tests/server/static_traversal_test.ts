// Path traversal vectors for the static file server, one named test each.
// Both faces are exercised: serveDir() (the URL parser has already seen the
// path) and resolveStatic() with the raw request target, as the Python face
// passes it.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  resolveStatic,
  type ResolveStaticOptions,
  serveDir,
  type ServeDirOptions,
  type StaticResult,
} from "../../server/static.ts";
import { resolveUrlPath } from "../../server/_static_path.ts";

const SECRET = "TOP-SECRET-CONTENT";

interface Fixture {
  outer: string;
  root: string;
}

/**
 * outer/secret.txt                 must never be served
 * outer/root/                      fsRoot
 * outer/root/sub/file.txt          "inside"
 * outer/root/%2e%2e/x.txt          a directory literally named "%2e%2e"
 */
async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const outer = await Deno.makeTempDir({ prefix: "h1_traversal_" });
  try {
    const root = join(outer, "root");
    await Deno.mkdir(join(root, "sub"), { recursive: true });
    await Deno.mkdir(join(root, "%2e%2e"));
    await Deno.writeTextFile(join(outer, "secret.txt"), SECRET);
    await Deno.writeTextFile(join(root, "sub", "file.txt"), "inside");
    await Deno.writeTextFile(join(root, "%2e%2e", "x.txt"), "literal");
    await fn({ outer, root });
  } finally {
    await Deno.remove(outer, { recursive: true });
  }
}

function rawGet(
  root: string,
  target: string,
  options: Partial<ResolveStaticOptions> = {},
): Promise<StaticResult> {
  return resolveStatic(
    { method: "GET", target, header: () => null },
    { fsRoot: root, ...options },
  );
}

async function webGet(
  root: string,
  path: string,
  options: Partial<ServeDirOptions> = {},
): Promise<{ status: number; body: string }> {
  const res = await serveDir(new Request("http://x" + path), {
    fsRoot: root,
    ...options,
  });
  return { status: res.status, body: await res.text() };
}

function bodyText(result: StaticResult): string {
  return result.body instanceof Uint8Array
    ? new TextDecoder().decode(result.body)
    : "";
}

async function assertRefused(
  root: string,
  target: string,
  status: number,
): Promise<void> {
  const result = await rawGet(root, target);
  assert.equal(result.status, status, `raw ${target}`);
  assert.ok(!bodyText(result).includes(SECRET), `raw ${target}`);
  assert.ok(!(result.message ?? "").includes(root), `raw ${target}`);
  const web = await webGet(root, target);
  assert.notEqual(web.status, 200, `web ${target}`);
  assert.ok(!web.body.includes(SECRET), `web ${target}`);
  assert.ok(!web.body.includes(root), `web ${target}`);
}

Deno.test("resolveStatic traversal dotdot stays in the root", async () => {
  await withFixture(async ({ root }) => {
    for (
      const target of [
        "/../secret.txt",
        "/../../../../../../etc/passwd",
        "/sub/../../secret.txt",
        "/./.././secret.txt",
      ]
    ) {
      await assertRefused(root, target, 404);
    }
    // ".." is normalised like Python's posixpath.normpath, not refused.
    const inside = await rawGet(root, "/x/../sub/file.txt");
    assert.equal(inside.status, 200);
    assert.equal(bodyText(inside), "inside");
  });
});

Deno.test("resolveStatic traversal encoded_dotdot stays in the root", async () => {
  await withFixture(async ({ root }) => {
    for (
      const target of [
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
      ]
    ) {
      await assertRefused(root, target, 404);
    }
  });
});

Deno.test("resolveStatic traversal encoded_slash stays in the root", async () => {
  await withFixture(async ({ root }) => {
    for (
      const target of [
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
      ]
    ) {
      await assertRefused(root, target, 404);
    }
    // Like Python, a decoded "/" separates names.
    const inside = await rawGet(root, "/sub%2Ffile.txt");
    assert.equal(inside.status, 200);
    assert.equal(bodyText(inside), "inside");
  });
});

Deno.test("resolveStatic traversal backslash is refused with 400", async () => {
  await withFixture(async ({ root }) => {
    for (
      const target of [
        "/..\\secret.txt",
        "/..%5csecret.txt",
        "/sub%5C..%5C..%5Csecret.txt",
      ]
    ) {
      await assertRefused(root, target, 400);
    }
  });
});

Deno.test("resolveStatic traversal nul_byte is refused with 400", async () => {
  await withFixture(async ({ root }) => {
    for (
      const target of ["/sub/file.txt%00.html", "/%00", "/../secret.txt%00"]
    ) {
      await assertRefused(root, target, 400);
    }
  });
});

Deno.test("resolveStatic traversal double_encoding decodes exactly once", async () => {
  await withFixture(async ({ root }) => {
    for (
      const target of [
        "/%252e%252e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/..%252fsecret.txt",
      ]
    ) {
      await assertRefused(root, target, 404);
    }
    // "%252e%252e" names the directory literally called "%2e%2e".
    const literal = await rawGet(root, "/%252e%252e/x.txt");
    assert.equal(literal.status, 200);
    assert.equal(bodyText(literal), "literal");
  });
});

Deno.test("resolveStatic traversal absolute_path stays in the root", async () => {
  await withFixture(async ({ outer, root }) => {
    for (
      const target of [
        "//etc/passwd",
        "/%2Fetc%2Fpasswd",
        `/${outer}/secret.txt`,
        `/${encodeURIComponent(join(outer, "secret.txt"))}`,
        "/C:/Windows/win.ini",
        "/C:%5CWindows%5Cwin.ini",
      ]
    ) {
      const result = await rawGet(root, target);
      assert.ok(result.status === 404 || result.status === 400, target);
      assert.ok(!bodyText(result).includes(SECRET), target);
    }
    // absolute-form request target (RFC 9112 §3.2.2)
    const absolute = await rawGet(root, "http://evil.example/../secret.txt");
    assert.equal(absolute.status, 404);
  });
});

Deno.test("resolveUrlPath traversal absolute_path refuses Windows drive letters", () => {
  for (
    const path of [
      "/C:/Windows/win.ini",
      "/c:",
      "/sub/D:foo",
      "/file.txt::$DATA",
    ]
  ) {
    assert.equal(resolveUrlPath(path, true).ok, false, path);
  }
  // On POSIX a colon is an ordinary file name character.
  assert.deepEqual(resolveUrlPath("/C:/x", false), {
    ok: true,
    segments: ["C:", "x"],
    trailingSlash: false,
  });
});

Deno.test("resolveStatic traversal symlink_escape is refused by default", {
  ignore: Deno.build.os === "windows",
}, async () => {
  await withFixture(async ({ outer, root }) => {
    await Deno.symlink(join(outer, "secret.txt"), join(root, "escape.txt"));
    await Deno.symlink(outer, join(root, "escape_dir"));
    await Deno.symlink("../secret.txt", join(root, "relative.txt"));
    for (
      const target of [
        "/escape.txt",
        "/escape_dir/secret.txt",
        "/relative.txt",
        "/escape_dir/",
      ]
    ) {
      await assertRefused(root, target, 404);
    }
    // A link whose target stays inside the root is followed.
    await Deno.symlink(join(root, "sub", "file.txt"), join(root, "inside.txt"));
    const inside = await rawGet(root, "/inside.txt");
    assert.equal(inside.status, 200);
    assert.equal(bodyText(inside), "inside");
    // "refuse" refuses even that; "follow" follows everything, like Python.
    const refused = await rawGet(root, "/inside.txt", { symlinks: "refuse" });
    assert.equal(refused.status, 404);
    const plain = await rawGet(root, "/sub/file.txt", { symlinks: "refuse" });
    assert.equal(plain.status, 200);
    const followed = await rawGet(root, "/escape.txt", { symlinks: "follow" });
    assert.equal(followed.status, 200);
    assert.equal(bodyText(followed), SECRET);
  });
});

Deno.test(
  "resolveStatic traversal symlink_escape skips an escaping index.html",
  {
    ignore: Deno.build.os === "windows",
  },
  async () => {
    await withFixture(async ({ outer, root }) => {
      await Deno.symlink(
        join(outer, "secret.txt"),
        join(root, "sub", "index.html"),
      );
      const web = await webGet(root, "/sub/");
      assert.equal(web.status, 200);
      assert.ok(!web.body.includes(SECRET));
      assert.match(web.body, /index\.html@/); // listed, like Python, not served
    });
  },
);

Deno.test("resolveStatic serves from a root that is itself a symlink", {
  ignore: Deno.build.os === "windows",
}, async () => {
  await withFixture(async ({ outer, root }) => {
    const alias = join(outer, "alias");
    await Deno.symlink(root, alias);
    const result = await rawGet(alias, "/sub/file.txt");
    assert.equal(result.status, 200);
    assert.equal(bodyText(result), "inside");
    const escape = await rawGet(alias, "/../secret.txt");
    assert.equal(escape.status, 404);
  });
});

Deno.test(
  "resolveStatic traversal translatePath hook keeps the symlink policy inside the root",
  {
    ignore: Deno.build.os === "windows",
  },
  async () => {
    await withFixture(async ({ outer, root }) => {
      await Deno.symlink(join(outer, "secret.txt"), join(root, "escape.txt"));
      // A naive hook: no decoding, no checks. Inside the root the symlink
      // policy still applies.
      const translatePath = (target: string) => join(root, target);
      const escape = await rawGet(root, "/escape.txt", { translatePath });
      assert.equal(escape.status, 404);
      assert.ok(!bodyText(escape).includes(SECRET));
      const inside = await rawGet(root, "/sub/file.txt", { translatePath });
      assert.equal(bodyText(inside), "inside");
      // A trailing "/" on the hook's result means "a directory": a file is 404.
      const slash = await rawGet(root, "/sub/file.txt/", { translatePath });
      assert.equal(slash.status, 404);
    });
  },
);

Deno.test("resolveStatic traversal translatePath hook is trusted outside the root, except for NUL", async () => {
  await withFixture(async ({ outer, root }) => {
    // Like Python's translate_path, an override decides: a path outside
    // the root is served as given.
    const outside = await rawGet(root, "/anything", {
      translatePath: () => join(outer, "secret.txt"),
    });
    assert.equal(outside.status, 200);
    assert.equal(bodyText(outside), SECRET);
    for (
      const path of [
        join(root, "sub", "file.txt\0.png"),
        join(outer, "secret.txt\0"),
        "\0",
      ]
    ) {
      const nul = await rawGet(root, "/x", { translatePath: () => path });
      assert.equal(nul.status, 400, JSON.stringify(path));
      assert.equal(nul.message, "NUL byte in path");
      assert.equal(nul.body, null);
    }
  });
});

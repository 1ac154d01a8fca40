// Compares serveDir() with a real `python3 -m http.server` on the same
// directory: listing bytes, redirects, Last-Modified, 304 and bodies.
// Skips cleanly when python3 is absent.
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveDir } from "../../server/static.ts";

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

const PYTHON = await hasPython();

/** Starts python3 -m http.server on port 0 and returns its base URL. */
async function startPython(dir: string) {
  const child = new Deno.Command("python3", {
    args: [
      "-u",
      "-m",
      "http.server",
      "0",
      "--bind",
      "127.0.0.1",
      "--directory",
      dir,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let port = 0;
  for (let i = 0; i < 50 && port === 0; i++) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value;
    const m = /port (\d+)/.exec(seen);
    if (m) port = Number(m[1]);
  }
  return {
    base: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
    },
  };
}

Deno.test({
  name: "serveDir matches python3 -m http.server byte for byte",
  ignore: !PYTHON || Deno.build.os === "windows",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "h1_pycompare_" });
    try {
      const names = [
        "<a&b>.txt",
        "space name.txt",
        "ünïcødé.txt",
        "100%.txt",
        "B.txt",
        "a.txt",
        "quote\"'.txt",
        "hash#.txt",
        "q?.txt",
        "_under",
        "tilde~-.txt",
      ];
      for (const n of names) await Deno.writeTextFile(join(root, n), n);
      await Deno.mkdir(join(root, "sub dir"));
      await Deno.writeTextFile(join(root, "sub dir", "inner.txt"), "inner");
      await Deno.symlink(join(root, "sub dir"), join(root, "link"));
      await Deno.symlink(join(root, "a.txt"), join(root, "filelink.txt"));
      await Deno.symlink(join(root, "missing"), join(root, "dangling"));

      await using py = await startPython(root);
      assert.ok(!py.base.endsWith(":0"), "python server did not start");
      const paths = [
        "/",
        "/sub%20dir/",
        "/sub%20dir/?q=%3Cx%3E&y=1",
        "/sub%20dir",
        "/sub%20dir?x=1",
        "/a.txt",
        "/%3Ca%26b%3E.txt",
        "/%C3%BCn%C3%AFc%C3%B8d%C3%A9.txt",
        "/nope.txt",
      ];
      for (const path of paths) {
        const theirs = await fetch(py.base + path, { redirect: "manual" });
        const theirBody = await theirs.text();
        const ours = await serveDir(new Request("http://x" + path), {
          fsRoot: root,
          symlinks: "follow",
        });
        const ourBody = await ours.text();
        assert.equal(ours.status, theirs.status, path);
        assert.equal(
          ours.headers.get("location"),
          theirs.headers.get("location"),
          path,
        );
        assert.equal(
          ours.headers.get("last-modified"),
          theirs.headers.get("last-modified"),
          path,
        );
        if (theirs.status === 200) {
          assert.equal(ourBody, theirBody, path);
          assert.equal(
            ours.headers.get("content-length"),
            theirs.headers.get("content-length"),
            path,
          );
          // Python sends no charset for plain files; types otherwise agree.
          assert.equal(
            ours.headers.get("content-type")?.split(";")[0],
            theirs.headers.get("content-type")?.split(";")[0],
            path,
          );
        }
      }
      // If-Modified-Since → 304 on both.
      const lm = (await fetch(py.base + "/a.txt", { method: "HEAD" })).headers
        .get("last-modified")!;
      const init = { headers: { "if-modified-since": lm } };
      const theirs = await fetch(py.base + "/a.txt", init);
      await theirs.body?.cancel();
      const ours = await serveDir(new Request("http://x/a.txt", init), {
        fsRoot: root,
      });
      assert.equal(theirs.status, 304);
      assert.equal(ours.status, 304);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

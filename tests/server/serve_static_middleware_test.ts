import assert from "node:assert/strict";
import { serveStatic } from "../../server/middleware/serve_static.ts";
import { Router } from "../../server/router.ts";

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/hello.txt`, "hello file");
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function app(root: string): Router {
  return new Router()
    .use(serveStatic({ fsRoot: root, urlRoot: "/static" }))
    .get("/static/*", () => new Response("route"))
    .post("/static/hello.txt", () => new Response("posted"));
}

Deno.test("serveStatic serves a file under urlRoot, HEAD included", async () => {
  await withRoot(async (root) => {
    const res = await app(root).request("/static/hello.txt");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await res.text(), "hello file");
    const head = await app(root).request("/static/hello.txt", {
      method: "HEAD",
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "10");
  });
});

Deno.test("serveStatic falls through to next() for a missing path", async () => {
  await withRoot(async (root) => {
    const res = await app(root).request("/static/missing.txt");
    assert.equal(await res.text(), "route");
    const outside = await app(root).request("/other");
    assert.equal(outside.status, 404);
  });
});

Deno.test("serveStatic falls through to next() for POST", async () => {
  await withRoot(async (root) => {
    const res = await app(root).request("/static/hello.txt", {
      method: "POST",
    });
    assert.equal(await res.text(), "posted");
  });
});

import assert from "node:assert/strict";
import { Router } from "../../server/router.ts";
import type { Context } from "../../server/middleware.ts";
import { HttpError, json, PayloadTooLargeError } from "../../server/body.ts";

/** A handler that reports which pattern answered and with which params. */
function report(pattern: string) {
  return (ctx: Context) =>
    Response.json({ pattern, params: ctx.params }, {
      headers: { "x-route": pattern },
    });
}

function on(router: Router, method: string, pattern: string): Router {
  return router.on(method, pattern, report(pattern));
}

// Registration order deliberately scrambles precedence (wildcard first).
const main = new Router();
for (
  const [method, pattern] of [
    ["GET", "/order/*"],
    ["GET", "/order/:id"],
    ["GET", "/order/fixed"],
    ["GET", "/"],
    ["GET", "/users/:name"],
    ["GET", "/users/:id{\\d+}"],
    ["GET", "/users"],
    ["GET", "/users/new"],
    ["POST", "/users/:id"],
    ["DELETE", "/users/:id{\\d+}"],
    ["GET", "/users/:id/posts/:postId"],
    ["GET", "/posts/:id?"],
    ["GET", "/archive/:year{\\d{4}}/:month{\\d{2}}?"],
    ["GET", "/files/*"],
    ["GET", "/assets/*path"],
    ["GET", "/assets/logo.png"],
    ["PUT", "/things/:id"],
    ["GET", "/explicit-head"],
    ["HEAD", "/explicit-head"],
    ["GET", "/explicit-options"],
    ["OPTIONS", "/explicit-options"],
    ["ALL", "/any"],
    ["GET", "/a/:x/c"],
    ["GET", "/a/b/:y"],
    ["GET", "/b/static/x"],
    ["POST", "/b/:p/y"],
    ["GET", "/slash/"],
  ] as const
) on(main, method, pattern);

const redirect = new Router({ trailingSlash: "redirect" });
on(redirect, "GET", "/docs");
on(redirect, "POST", "/guide/");
const redirect301 = new Router({
  trailingSlash: "redirect",
  redirectStatus: 301,
});
on(redirect301, "GET", "/docs");

const ignore = new Router({ trailingSlash: "ignore" });
on(ignore, "GET", "/docs");
on(ignore, "GET", "/guide/");
on(ignore, "GET", "/");

const caseless = new Router({ caseSensitive: false });
on(caseless, "GET", "/About/Team");
on(caseless, "GET", "/u/:Name");

const api = new Router()
  .use(async (_ctx, next) => {
    const res = await next();
    res.headers.set("x-api", "1");
    return res;
  });
on(api, "GET", "/");
on(api, "GET", "/items/:id");
on(api, "POST", "/items");
const nested = new Router();
on(nested, "GET", "/deep/*");
api.route("/nested", nested);
const repos = new Router();
on(repos, "GET", "/repos/:repo");
const mounted = new Router().route("/api", api).mount("/orgs/:org", repos);
on(mounted, "GET", "/api/status");

const ROUTERS = { main, redirect, redirect301, ignore, caseless, mounted };

interface Case {
  name: string;
  router?: keyof typeof ROUTERS;
  method?: string;
  path: string;
  status: number;
  pattern?: string;
  params?: Record<string, string>;
  allow?: string;
  location?: string;
  header?: [string, string];
}

const CASES: Case[] = [
  // Static, params, precedence (static > constrained > param > wildcard).
  { name: "root", path: "/", status: 200, pattern: "/", params: {} },
  { name: "static", path: "/users", status: 200, pattern: "/users" },
  {
    name: "static beats param",
    path: "/users/new",
    status: 200,
    pattern: "/users/new",
  },
  {
    name: "constraint beats plain param",
    path: "/users/42",
    status: 200,
    pattern: "/users/:id{\\d+}",
    params: { id: "42" },
  },
  {
    name: "constraint miss falls to plain param",
    path: "/users/ada",
    status: 200,
    pattern: "/users/:name",
    params: { name: "ada" },
  },
  {
    name: "param is percent-decoded",
    path: "/users/j%C3%B6rg",
    status: 200,
    params: { name: "jörg" },
  },
  {
    name: "two params",
    path: "/users/7/posts/9",
    status: 200,
    params: { id: "7", postId: "9" },
  },
  {
    name: "static beats wildcard",
    path: "/order/fixed",
    status: 200,
    pattern: "/order/fixed",
  },
  {
    name: "param beats wildcard",
    path: "/order/7",
    status: 200,
    pattern: "/order/:id",
    params: { id: "7" },
  },
  {
    name: "wildcard takes deeper paths",
    path: "/order/7/8",
    status: 200,
    pattern: "/order/*",
    params: { "*": "7/8" },
  },
  {
    name: "static beats named wildcard",
    path: "/assets/logo.png",
    status: 200,
    pattern: "/assets/logo.png",
  },
  {
    name: "named wildcard",
    path: "/assets/css/a%20b.css",
    status: 200,
    params: { path: "css/a b.css" },
  },
  {
    name: "wildcard without rest",
    path: "/files",
    status: 200,
    params: { "*": "" },
  },
  {
    name: "wildcard with empty rest",
    path: "/files/",
    status: 200,
    params: { "*": "" },
  },
  {
    name: "wildcard rest",
    path: "/files/a/b.txt",
    status: 200,
    params: { "*": "a/b.txt" },
  },
  {
    name: "backtrack from static into param",
    method: "POST",
    path: "/b/static/y",
    status: 200,
    pattern: "/b/:p/y",
    params: { p: "static" },
  },
  {
    name: "static branch first",
    path: "/a/b/c",
    status: 200,
    pattern: "/a/b/:y",
    params: { y: "c" },
  },
  {
    name: "backtrack static then param",
    path: "/a/z/c",
    status: 200,
    pattern: "/a/:x/c",
    params: { x: "z" },
  },
  // Optional segments.
  {
    name: "optional absent",
    path: "/posts",
    status: 200,
    pattern: "/posts/:id?",
    params: {},
  },
  {
    name: "optional present",
    path: "/posts/3",
    status: 200,
    params: { id: "3" },
  },
  { name: "optional no extra segment", path: "/posts/3/x", status: 404 },
  {
    name: "constrained optional present",
    path: "/archive/2024/05",
    status: 200,
    params: { year: "2024", month: "05" },
  },
  {
    name: "constrained optional absent",
    path: "/archive/2024",
    status: 200,
    params: { year: "2024" },
  },
  { name: "constrained optional miss", path: "/archive/2024/5", status: 404 },
  { name: "constraint miss", path: "/archive/24", status: 404 },
  // 404 and 405 with Allow.
  { name: "unknown path", path: "/nope", status: 404 },
  {
    name: "empty segment is not a param",
    path: "/users//posts/1",
    status: 404,
  },
  { name: "strict trailing slash", path: "/users/", status: 404 },
  { name: "strict slash route needs slash", path: "/slash", status: 404 },
  { name: "strict slash route", path: "/slash/", status: 200 },
  { name: "case sensitive by default", path: "/Users", status: 404 },
  {
    name: "405 on static",
    method: "PATCH",
    path: "/users",
    status: 405,
    allow: "GET, HEAD, OPTIONS",
  },
  {
    name: "405 unions every matching branch",
    method: "PUT",
    path: "/users/5",
    status: 405,
    allow: "GET, HEAD, POST, DELETE, OPTIONS",
  },
  {
    name: "405 respects constraints",
    method: "DELETE",
    path: "/users/ada",
    status: 405,
    allow: "GET, HEAD, POST, OPTIONS",
  },
  {
    name: "405 without GET has no HEAD",
    method: "GET",
    path: "/things/1",
    status: 405,
    allow: "PUT, OPTIONS",
  },
  {
    name: "method falls through to other branch",
    method: "DELETE",
    path: "/users/5",
    status: 200,
    pattern: "/users/:id{\\d+}",
  },
  {
    name: "POST to param branch",
    method: "POST",
    path: "/users/new",
    status: 200,
    pattern: "/users/:id",
    params: { id: "new" },
  },
  {
    name: "405 on wildcard",
    method: "POST",
    path: "/files/x",
    status: 405,
    allow: "GET, HEAD, OPTIONS",
  },
  // HEAD and OPTIONS.
  {
    name: "HEAD from GET",
    method: "HEAD",
    path: "/users/42",
    status: 200,
    header: ["x-route", "/users/:id{\\d+}"],
  },
  {
    name: "explicit HEAD wins",
    method: "HEAD",
    path: "/explicit-head",
    status: 200,
    header: ["x-route", "/explicit-head"],
  },
  {
    name: "HEAD without GET",
    method: "HEAD",
    path: "/things/1",
    status: 405,
    allow: "PUT, OPTIONS",
  },
  {
    name: "automatic OPTIONS",
    method: "OPTIONS",
    path: "/users/5",
    status: 204,
    allow: "GET, HEAD, POST, DELETE, OPTIONS",
  },
  {
    name: "automatic OPTIONS on 404 path",
    method: "OPTIONS",
    path: "/nope",
    status: 404,
  },
  {
    name: "explicit OPTIONS wins",
    method: "OPTIONS",
    path: "/explicit-options",
    status: 200,
    pattern: "/explicit-options",
  },
  {
    name: "ALL takes any method",
    method: "PATCH",
    path: "/any",
    status: 200,
    pattern: "/any",
  },
  {
    name: "ALL takes OPTIONS",
    method: "OPTIONS",
    path: "/any",
    status: 200,
    pattern: "/any",
  },
  {
    name: "custom method on ALL",
    method: "PROPFIND",
    path: "/any",
    status: 200,
  },
  // Trailing slash modes.
  {
    name: "redirect adds nothing when exact",
    router: "redirect",
    path: "/docs",
    status: 200,
  },
  {
    name: "redirect removes slash",
    router: "redirect",
    path: "/docs/",
    status: 308,
    location: "/docs",
  },
  {
    name: "redirect keeps query",
    router: "redirect",
    path: "/docs/?q=1",
    status: 308,
    location: "/docs?q=1",
  },
  {
    name: "redirect adds slash",
    router: "redirect",
    method: "POST",
    path: "/guide",
    status: 308,
    location: "/guide/",
  },
  {
    name: "redirect 301 option",
    router: "redirect301",
    path: "/docs/",
    status: 301,
    location: "/docs",
  },
  {
    name: "redirect only when target exists",
    router: "redirect",
    path: "/other/",
    status: 404,
  },
  {
    name: "redirect prefers 405 over redirect",
    router: "redirect",
    method: "DELETE",
    path: "/docs",
    status: 405,
    allow: "GET, HEAD, OPTIONS",
  },
  {
    name: "ignore without slash",
    router: "ignore",
    path: "/docs",
    status: 200,
    pattern: "/docs",
  },
  {
    name: "ignore with slash",
    router: "ignore",
    path: "/docs/",
    status: 200,
    pattern: "/docs",
  },
  {
    name: "ignore slash pattern without slash",
    router: "ignore",
    path: "/guide",
    status: 200,
    pattern: "/guide/",
  },
  {
    name: "ignore keeps root",
    router: "ignore",
    path: "/",
    status: 200,
    pattern: "/",
  },
  // Case sensitivity.
  {
    name: "caseless static",
    router: "caseless",
    path: "/about/TEAM",
    status: 200,
    pattern: "/About/Team",
  },
  {
    name: "caseless keeps param case",
    router: "caseless",
    path: "/U/Ada",
    status: 200,
    params: { Name: "Ada" },
  },
  // Mounting.
  {
    name: "mounted root",
    router: "mounted",
    path: "/api",
    status: 200,
    pattern: "/",
    header: ["x-api", "1"],
  },
  {
    name: "mounted param",
    router: "mounted",
    path: "/api/items/5",
    status: 200,
    pattern: "/items/:id",
    params: { id: "5" },
  },
  {
    name: "mounted 405",
    router: "mounted",
    method: "DELETE",
    path: "/api/items",
    status: 405,
    allow: "POST, OPTIONS",
  },
  {
    name: "nested mount",
    router: "mounted",
    path: "/api/nested/deep/x/y",
    status: 200,
    params: { "*": "x/y" },
    header: ["x-api", "1"],
  },
  {
    name: "param prefix mount",
    router: "mounted",
    path: "/orgs/deno/repos/h1",
    status: 200,
    params: { org: "deno", repo: "h1" },
  },
  {
    name: "parent route beside mount",
    router: "mounted",
    path: "/api/status",
    status: 200,
    pattern: "/api/status",
  },
  {
    name: "sub middleware stays on sub routes",
    router: "mounted",
    path: "/api/status",
    status: 200,
    header: ["x-api", ""],
  },
];

for (const c of CASES) {
  const method = c.method ?? "GET";
  Deno.test(`Router conformance: ${c.name} (${method} ${c.path})`, async () => {
    const router = ROUTERS[c.router ?? "main"];
    const res = await router.request(c.path, { method });
    const body = await res.text();
    assert.equal(res.status, c.status, body);
    if (c.allow !== undefined) assert.equal(res.headers.get("allow"), c.allow);
    if (c.location !== undefined) {
      assert.equal(res.headers.get("location"), c.location);
    }
    if (c.header !== undefined) {
      assert.equal(res.headers.get(c.header[0]) ?? "", c.header[1]);
    }
    if (method === "HEAD" || res.status === 204) assert.equal(body, "");
    if (c.pattern !== undefined || c.params !== undefined) {
      const got = JSON.parse(body) as { pattern: string; params: unknown };
      if (c.pattern !== undefined) assert.equal(got.pattern, c.pattern);
      if (c.params !== undefined) assert.deepEqual(got.params, c.params);
    }
  });
}

Deno.test("Router.match is pure and reports handlers, params and Allow", () => {
  let calls = 0;
  const handler = () => {
    calls++;
    return new Response();
  };
  const r = new Router().get("/u/:id", handler).post("/u/:id", handler);
  const hit = r.match("GET", "/u/1");
  assert.equal(hit.kind, "found");
  if (hit.kind !== "found") return;
  assert.deepEqual(hit.params, { id: "1" });
  assert.deepEqual(hit.allowed, ["GET", "HEAD", "POST", "OPTIONS"]);
  assert.equal(hit.handlers[0], handler);
  assert.equal(hit.pattern, "/u/:id");
  assert.deepEqual(r.match("PUT", "/u/1"), {
    kind: "method-not-allowed",
    allowed: ["GET", "HEAD", "POST", "OPTIONS"],
  });
  assert.deepEqual(r.match("GET", "/x"), { kind: "not-found" });
  assert.equal(calls, 0);
});

Deno.test("Router rejects bad or duplicate patterns", () => {
  const r = new Router().get("/a", report("/a"));
  assert.throws(() => r.get("/a", report("/a")), /already registered/);
  assert.throws(() => r.get("a", report("a")), /must start with/);
  assert.throws(() => r.get("/*/x", report("x")), /must be last/);
  assert.throws(
    () => r.get("/:a?/b", report("x")),
    /optional params must come last/,
  );
  assert.throws(() => r.get("/:1bad", report("x")), /bad param name/);
  assert.throws(() => r.get("/:id{[}", report("x")), /bad constraint/);
  assert.throws(() => r.get("/b"), /no handler/);
});

Deno.test("Router.fetch works unbound and takes info", async () => {
  const r = new Router().get(
    "/",
    (ctx) => new Response(ctx.info?.remoteAddr?.hostname ?? "none"),
  );
  const { fetch } = r;
  const res = await fetch(new Request("http://h/"), {
    remoteAddr: { hostname: "10.0.0.1", port: 1 },
  });
  assert.equal(await res.text(), "10.0.0.1");
});

Deno.test("Router.request accepts a path, a URL or a Request", async () => {
  const r = new Router().get(
    "/q",
    (ctx) => new Response(ctx.url.searchParams.get("a") ?? ""),
  );
  assert.equal(await (await r.request("/q?a=1")).text(), "1");
  assert.equal(await (await r.request("http://example.com/q?a=2")).text(), "2");
  assert.equal(
    await (await r.request(new URL("http://example.com/q?a=3"))).text(),
    "3",
  );
  assert.equal(
    await (await r.request(new Request("http://e/q?a=4"))).text(),
    "4",
  );
});

Deno.test("Router runs route middleware in order and the last next() reaches notFound", async () => {
  const seen: string[] = [];
  const r = new Router()
    .notFound(() => new Response("custom 404", { status: 404 }))
    .get("/chain", async (_ctx, next) => {
      seen.push("mw");
      return await next();
    }, (_ctx) => {
      seen.push("handler");
      return new Response("done");
    })
    .get("/fallthrough", (_ctx, next) => next());
  assert.equal(await (await r.request("/chain")).text(), "done");
  assert.deepEqual(seen, ["mw", "handler"]);
  const res = await r.request("/fallthrough");
  assert.equal(res.status, 404);
  assert.equal(await res.text(), "custom 404");
  assert.equal(await (await r.request("/zzz")).text(), "custom 404");
});

Deno.test("Router use() middleware sees 404, 405 and OPTIONS too", async () => {
  const statuses: number[] = [];
  const r = new Router()
    .use(async (_ctx, next) => {
      const res = await next();
      statuses.push(res.status);
      return res;
    })
    .get("/a", () => new Response("a"));
  for (
    const [method, path] of [["GET", "/a"], ["GET", "/b"], ["POST", "/a"], [
      "OPTIONS",
      "/a",
    ]]
  ) {
    await (await r.request(path!, { method: method! })).body?.cancel();
  }
  assert.deepEqual(statuses, [200, 404, 405, 204]);
});

Deno.test("Router default error hook hides the error and maps HttpError", async () => {
  const r = new Router()
    .get("/boom", () => {
      throw new Error("stack secret");
    })
    .get("/teapot", () => {
      throw new HttpError(418, "teapot", "I am a teapot");
    })
    .post(
      "/json",
      async (ctx) => Response.json(await json(ctx.req, { maxBytes: 8 })),
    );
  const boom = await r.request("/boom");
  assert.equal(boom.status, 500);
  assert.equal(await boom.text(), "Internal Server Error");
  const teapot = await r.request("/teapot");
  assert.equal(teapot.status, 418);
  assert.equal(await teapot.text(), "I am a teapot");
  const big = await r.request("/json", {
    method: "POST",
    body: '{"a":"123456789"}',
  });
  assert.equal(big.status, 413);
  await big.body?.cancel();
  const bad = await r.request("/json", { method: "POST", body: "{a" });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /^Cannot parse JSON body/);
});

Deno.test("Router onError hook gets the error; a throwing hook yields 500", async () => {
  let caught: unknown;
  const r = new Router()
    .get("/x", () => {
      throw new PayloadTooLargeError("Too big", 1);
    })
    .onError((err) => {
      caught = err;
      return new Response("handled", { status: 599 });
    });
  assert.equal((await r.request("/x")).status, 599);
  assert.ok(caught instanceof PayloadTooLargeError);
  r.onError(() => {
    throw new Error("hook broke");
  });
  const res = await r.request("/x");
  assert.equal(res.status, 500);
  assert.equal(await res.text(), "Internal Server Error");
});

Deno.test("Router strips HEAD bodies and cancels them", async () => {
  let cancelled = false;
  const r = new Router().get("/s", () =>
    new Response(
      new ReadableStream({
        pull(c) {
          c.enqueue(new Uint8Array(8));
        },
        cancel() {
          cancelled = true;
        },
      }),
      { headers: { "content-type": "application/octet-stream" } },
    ));
  const res = await r.request("/s", { method: "HEAD" });
  assert.equal(res.body, null);
  assert.equal(res.headers.get("content-type"), "application/octet-stream");
  await Promise.resolve();
  assert.equal(cancelled, true);
});

Deno.test("Router state is per request and typed", async () => {
  const r = new Router<{ n?: number }>()
    .use(async (ctx, next) => {
      ctx.state.n = (ctx.state.n ?? 0) + 1;
      return await next();
    })
    .get("/", (ctx) => new Response(String(ctx.state.n)));
  assert.equal(await (await r.request("/")).text(), "1");
  assert.equal(await (await r.request("/")).text(), "1");
});

Deno.test("Router mount copies routes at call time", async () => {
  const sub = new Router().get("/a", report("/a"));
  const app = new Router().route("/s", sub);
  sub.get("/b", report("/b"));
  assert.equal((await app.request("/s/a")).status, 200);
  assert.equal((await app.request("/s/b")).status, 404);
});

Deno.test("Router matches many routes without confusing them", () => {
  const r = new Router();
  for (let i = 0; i < 200; i++) {
    r.get(`/r${i}/:id`, report(`/r${i}/:id`));
    r.get(`/r${i}/static`, report(`/r${i}/static`));
  }
  for (let i = 0; i < 200; i += 17) {
    const hit = r.match("GET", `/r${i}/x${i}`);
    assert.ok(hit.kind === "found" && hit.pattern === `/r${i}/:id`);
    assert.deepEqual(hit.params, { id: `x${i}` });
    const s = r.match("GET", `/r${i}/static`);
    assert.ok(s.kind === "found" && s.pattern === `/r${i}/static`);
  }
});

Deno.test("Router answers 501 to a method no route has and HTTP does not define (RFC 9110 §9.1)", async () => {
  const app = new Router()
    .get("/a", () => new Response("a"))
    .on("PROPFIND", "/dav", () => new Response("dav"));
  for (const path of ["/a", "/nowhere"]) {
    const res = await app.request(path, { method: "FOO" });
    assert.equal(res.status, 501);
    assert.equal(await res.text(), "Not Implemented");
  }
  // A method some route has: the usual 405 / 404 elsewhere.
  assert.equal(
    await (await app.request("/dav", { method: "PROPFIND" })).text(),
    "dav",
  );
  assert.equal((await app.request("/a", { method: "PROPFIND" })).status, 405);
  assert.equal(
    (await app.request("/nowhere", { method: "PROPFIND" })).status,
    404,
  );
  // Standard methods keep 405 and 404.
  assert.equal((await app.request("/a", { method: "PATCH" })).status, 405);
  assert.equal(
    (await app.request("/nowhere", { method: "DELETE" })).status,
    404,
  );
  // all() takes any method.
  const any = new Router().all("/x", (ctx) => new Response(ctx.req.method));
  assert.equal(
    await (await any.request("/x", { method: "FOO" })).text(),
    "FOO",
  );
});

import assert from "node:assert/strict";
import {
  compose,
  Context,
  type Middleware,
  withMiddleware,
} from "../../server/middleware.ts";
import { Router } from "../../server/router.ts";
import { text } from "../../server/body.ts";
import { accessLog } from "../../server/middleware/access_log.ts";
import { cors } from "../../server/middleware/cors.ts";
import { bodyLimit } from "../../server/middleware/body_limit.ts";
import { timeout } from "../../server/middleware/timeout.ts";
import { basicAuth } from "../../server/middleware/basic_auth.ts";
import {
  compress,
  negotiateEncoding,
} from "../../server/middleware/compress.ts";

const ok = () => new Response("ok");

Deno.test("compose runs layers as an onion and allows early answers", async () => {
  const seen: string[] = [];
  const layer = (name: string): Middleware => async (_ctx, next) => {
    seen.push(`>${name}`);
    const res = await next();
    seen.push(`<${name}`);
    return res;
  };
  const stop: Middleware = () => new Response("stopped", { status: 403 });
  const ctx = new Context(new Request("http://h/"));
  const end = () => Promise.resolve(new Response("end"));
  assert.equal(
    await (await compose([layer("a"), layer("b")])(ctx, end)).text(),
    "end",
  );
  assert.deepEqual(seen, [">a", ">b", "<b", "<a"]);
  const res = await compose([layer("c"), stop, layer("never")])(ctx, end);
  assert.equal(res.status, 403);
  assert.deepEqual(seen.slice(4), [">c", "<c"]);
});

Deno.test("compose rejects a second next() call", async () => {
  const twice: Middleware = async (_ctx, next) => {
    await next();
    return await next();
  };
  const end = () => Promise.resolve(new Response());
  const ctx = new Context(new Request("http://h/"));
  await assert.rejects(compose([twice])(ctx, end), /next\(\) twice/);
  await assert.rejects(
    compose([twice, (_c, n) => n()])(ctx, end),
    /next\(\) twice/,
  );
});

Deno.test("withMiddleware hands ctx.req to the handler and maps HttpError", async () => {
  const handler = withMiddleware(
    async (req) => new Response(await text(req)),
    bodyLimit({ maxBytes: 3 }),
  );
  const small = await handler(
    new Request("http://h/", { method: "POST", body: "abc" }),
  );
  assert.equal(await small.text(), "abc");
  const stream = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode("ab"));
      c.enqueue(new TextEncoder().encode("cd"));
      c.close();
    },
  });
  const big = await handler(
    new Request("http://h/", { method: "POST", body: stream }),
  );
  assert.equal(big.status, 413);
  const crash = withMiddleware(() => {
    throw new Error("secret");
  });
  const res = await crash(new Request("http://h/"));
  assert.equal(res.status, 500);
  assert.equal(await res.text(), "Internal Server Error");
});

Deno.test("Context.url is lazy, cached and follows a replaced request", () => {
  const ctx = new Context(new Request("http://h/a?x=1"));
  const first = ctx.url;
  assert.equal(ctx.url, first);
  ctx.req = new Request("http://h/b");
  assert.equal(ctx.url.pathname, "/b");
});

Deno.test("accessLog writes NCSA common log lines, including for errors", async () => {
  const lines: string[] = [];
  const log = accessLog({
    write: (l) => lines.push(l),
    now: () => new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
  });
  const app = new Router().use(log)
    .get(
      "/sized",
      () => new Response("12345", { headers: { "content-length": "5" } }),
    )
    .get("/boom", () => {
      throw new Error("x");
    });
  const info = { remoteAddr: { hostname: "192.0.2.1", port: 1234 } };
  await (await app.fetch(new Request("http://h/sized?q=a%20b"), info)).text();
  await (await app.fetch(
    new Request("http://h/boom", {
      headers: { authorization: "Basic " + btoa("ada:pw") },
    }),
  )).text();
  await (await app.fetch(
    new Request("http://h/missing", { method: "POST" }),
    info,
  )).text();
  assert.deepEqual(lines, [
    '192.0.2.1 - - [02/Jan/2024:03:04:05 +0000] "GET /sized?q=a%20b HTTP/1.1" 200 5',
    '- - ada [02/Jan/2024:03:04:05 +0000] "GET /boom HTTP/1.1" 500 -',
    '192.0.2.1 - - [02/Jan/2024:03:04:05 +0000] "POST /missing HTTP/1.1" 404 -',
  ]);
});

Deno.test("cors adds headers to simple requests and answers preflights", async () => {
  const app = new Router()
    .use(
      cors({
        origin: ["https://a.example"],
        credentials: true,
        exposeHeaders: ["x-id"],
        maxAgeSeconds: 600,
      }),
    )
    .get("/r", ok)
    .put("/r", ok);
  const simple = await app.request("/r", {
    headers: { origin: "https://a.example" },
  });
  assert.equal(
    simple.headers.get("access-control-allow-origin"),
    "https://a.example",
  );
  assert.equal(simple.headers.get("access-control-allow-credentials"), "true");
  assert.equal(simple.headers.get("access-control-expose-headers"), "x-id");
  assert.equal(simple.headers.get("vary"), "Origin");
  const pre = await app.request("/r", {
    method: "OPTIONS",
    headers: {
      origin: "https://a.example",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "x-token",
    },
  });
  assert.equal(pre.status, 204);
  assert.equal(
    pre.headers.get("access-control-allow-methods"),
    "GET, HEAD, PUT, POST, PATCH, DELETE",
  );
  assert.equal(pre.headers.get("access-control-allow-headers"), "x-token");
  assert.equal(pre.headers.get("access-control-max-age"), "600");
  assert.equal(
    pre.headers.get("vary"),
    "Origin, Access-Control-Request-Headers",
  );
  const refused = await app.request("/r", {
    headers: { origin: "https://evil.example" },
  });
  assert.equal(refused.headers.get("access-control-allow-origin"), null);
  assert.equal(refused.status, 200);
  const refusedPre = await app.request("/r", {
    method: "OPTIONS",
    headers: {
      origin: "https://evil.example",
      "access-control-request-method": "PUT",
    },
  });
  assert.equal(refusedPre.status, 204);
  assert.equal(refusedPre.headers.get("access-control-allow-methods"), null);
  // A plain OPTIONS (not a preflight) still reaches the router's automatic answer.
  const plain = await app.request("/r", { method: "OPTIONS" });
  assert.equal(plain.headers.get("allow"), "GET, HEAD, PUT, OPTIONS");
});

Deno.test("cors wildcard needs no Vary and copes with immutable headers", async () => {
  const upstream = await fetchLikeResponse();
  const handler = withMiddleware(() => upstream, cors());
  const res = await handler(
    new Request("http://h/", { headers: { origin: "https://x.example" } }),
  );
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.equal(res.headers.get("vary"), null);
  assert.equal(await res.text(), "body");
});

/** A Response with immutable headers, like one from fetch() or Response.error(). */
function fetchLikeResponse(): Promise<Response> {
  const res = new Response("body");
  Object.defineProperty(res, "headers", {
    value: new Proxy(res.headers, {
      get(target, prop) {
        if (prop === "set" || prop === "append" || prop === "delete") {
          return () => {
            throw new TypeError("Headers are immutable");
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }),
  });
  return Promise.resolve(res);
}

Deno.test("bodyLimit answers 413 from Content-Length or streamed bytes", async () => {
  let reached = 0;
  const app = new Router().use(bodyLimit({ maxBytes: 5 })).post(
    "/",
    async (ctx) => {
      reached++;
      return new Response(await ctx.req.text());
    },
  );
  const declared = await app.request("/", {
    method: "POST",
    headers: { "content-length": "6" },
    body: "123456",
  });
  assert.equal(declared.status, 413);
  assert.equal(reached, 0);
  let n = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      if (++n > 1000) c.close();
      else c.enqueue(new Uint8Array(4));
    },
  }, { highWaterMark: 0 });
  const streamedRes = await app.request("/", { method: "POST", body: endless });
  assert.equal(streamedRes.status, 413);
  assert.ok(n < 10, `pulled ${n} chunks`);
  assert.equal(
    await (await app.request("/", { method: "POST", body: "12345" })).text(),
    "12345",
  );
  assert.equal((await app.request("/", { method: "POST" })).status, 200);
  assert.throws(() => bodyLimit({ maxBytes: -1 }), RangeError);
});

Deno.test("timeout answers 503 or 504 and aborts ctx.signal", async () => {
  let aborted = false;
  const slow = (ctx: Context) =>
    new Promise<Response>((resolve) => {
      ctx.signal.addEventListener("abort", () => {
        aborted = true;
        resolve(new Response("late"));
      });
    });
  const app = new Router()
    .get("/slow", timeout({ ms: 5 }), slow)
    .get("/gw", timeout({ ms: 5, status: 504 }), slow)
    .get("/fast", timeout({ ms: 1000 }), ok);
  const res = await app.request("/slow");
  assert.equal(res.status, 503);
  await res.body?.cancel();
  assert.equal(aborted, true);
  const gw = await app.request("/gw");
  assert.equal(gw.status, 504);
  await gw.body?.cancel();
  // A fast handler clears the timer (the leak sanitizer would catch a stray one).
  assert.equal(await (await app.request("/fast")).text(), "ok");
});

Deno.test("timeout follows the client's abort", async () => {
  const controller = new AbortController();
  let reason: unknown;
  const app = new Router().get(
    "/",
    timeout({ ms: 1000 }),
    (ctx) =>
      new Promise<Response>((resolve) => {
        ctx.signal.addEventListener("abort", () => {
          reason = ctx.signal.reason;
          resolve(new Response("gone"));
        });
        controller.abort("client left");
      }),
  );
  await (await app.request(
    new Request("http://h/", { signal: controller.signal }),
  )).text();
  assert.equal(reason, "client left");
});

Deno.test("basicAuth demands credentials and checks them", async () => {
  const app = new Router().use(
    basicAuth({ realm: 'my "realm"', users: { ada: "lovelace", bob: "pw" } }),
  ).get("/", ok);
  const none = await app.request("/");
  assert.equal(none.status, 401);
  assert.equal(
    none.headers.get("www-authenticate"),
    'Basic realm="my \\"realm\\"", charset="UTF-8"',
  );
  const auth = (s: string) => ({ headers: { authorization: s } });
  assert.equal(
    (await app.request("/", auth("Basic " + btoa("ada:lovelace")))).status,
    200,
  );
  assert.equal(
    (await app.request("/", auth("basic " + btoa("bob:pw")))).status,
    200,
  );
  assert.equal(
    (await app.request("/", auth("Basic " + btoa("ada:pw")))).status,
    401,
  );
  assert.equal(
    (await app.request("/", auth("Basic " + btoa("eve:lovelace")))).status,
    401,
  );
  assert.equal(
    (await app.request("/", auth("Basic !!!notbase64"))).status,
    401,
  );
  assert.equal((await app.request("/", auth("Bearer abc"))).status, 401);
  assert.equal(
    (await app.request("/", auth("Basic " + btoa("nocolon")))).status,
    401,
  );
  const custom = new Router().use(
    basicAuth({ verify: (u, p) => u === "x" && p === "y:z" }),
  ).get("/", ok);
  assert.equal(
    (await custom.request("/", auth("Basic " + btoa("x:y:z")))).status,
    200,
  );
  assert.throws(() => basicAuth({}), TypeError);
});

Deno.test("negotiateEncoding honours q-values", () => {
  assert.equal(negotiateEncoding(null), null);
  assert.equal(negotiateEncoding("gzip, deflate"), "gzip");
  assert.equal(negotiateEncoding("gzip;q=0.5, deflate;q=0.8"), "deflate");
  assert.equal(negotiateEncoding("gzip;q=0, deflate;q=0"), null);
  assert.equal(negotiateEncoding("identity"), null);
  assert.equal(negotiateEncoding("*"), "gzip");
  assert.equal(negotiateEncoding("x-gzip"), "gzip");
  assert.equal(negotiateEncoding("GZIP ; Q=0.3"), "gzip");
});

Deno.test("compress encodes eligible bodies and skips the rest", async () => {
  const big = "hello ".repeat(500);
  const app = new Router().use(compress())
    .get(
      "/big",
      () =>
        new Response(big, {
          headers: { etag: '"v1"', "content-length": String(big.length) },
        }),
    )
    .get(
      "/small",
      () => new Response("tiny", { headers: { "content-length": "4" } }),
    )
    .get(
      "/png",
      () =>
        new Response(new Uint8Array(5000), {
          headers: { "content-type": "image/png" },
        }),
    )
    .get(
      "/encoded",
      () => new Response(big, { headers: { "content-encoding": "br" } }),
    )
    .get(
      "/notransform",
      () => new Response(big, { headers: { "cache-control": "no-transform" } }),
    )
    .get("/empty", () => new Response(null, { status: 204 }));
  const gz = { headers: { "accept-encoding": "gzip;q=0.9, deflate;q=0.1" } };
  const res = await app.request("/big", gz);
  assert.equal(res.headers.get("content-encoding"), "gzip");
  assert.equal(res.headers.get("content-length"), null);
  assert.equal(res.headers.get("vary"), "Accept-Encoding");
  assert.equal(res.headers.get("etag"), 'W/"v1"');
  assert.equal(
    await new Response(res.body!.pipeThrough(new DecompressionStream("gzip")))
      .text(),
    big,
  );
  const df = await app.request("/big", {
    headers: { "accept-encoding": "deflate" },
  });
  assert.equal(df.headers.get("content-encoding"), "deflate");
  assert.equal(
    await new Response(df.body!.pipeThrough(new DecompressionStream("deflate")))
      .text(),
    big,
  );
  const plain = await app.request("/big");
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.equal(plain.headers.get("vary"), "Accept-Encoding");
  assert.equal(await plain.text(), big);
  for (const path of ["/small", "/png", "/encoded", "/notransform", "/empty"]) {
    const r = await app.request(path, gz);
    assert.notEqual(r.headers.get("content-encoding"), "gzip", path);
    await r.body?.cancel();
  }
  const head = await app.request("/big", { method: "HEAD", ...gz });
  assert.equal(head.headers.get("content-encoding"), null);
});

/**
 * {@linkcode serveStatic}: `serveDir()` as middleware, falling through to
 * the routes behind it when no file answers.
 *
 * @module
 */

import type { Middleware } from "../middleware.ts";
import { serveDir, type ServeDirOptions } from "../static.ts";

/** Options of {@linkcode serveStatic}: those of `serveDir()`. */
export type ServeStaticOptions = ServeDirOptions;

/**
 * Serves files under `fsRoot` at `urlRoot` for GET and HEAD requests
 * through `serveDir()` (index files, listings, ranges, conditional
 * requests). Other methods, and paths with no file (404, including paths
 * outside `urlRoot`), go on to `next()`; other answers (403, 301, 304,
 * 416) are returned as they are.
 *
 * @param options `fsRoot`, `urlRoot` and the other `serveDir()` options.
 * @returns The middleware.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Router } from "../router.ts";
 * import { serveStatic } from "./serve_static.ts";
 *
 * const root = await Deno.makeTempDir();
 * try {
 *   await Deno.writeTextFile(`${root}/app.js`, "1;");
 *   const app = new Router()
 *     .use(serveStatic({ fsRoot: root, urlRoot: "/assets" }))
 *     .get("/assets/*", () => new Response("route"));
 *   assert.equal(await (await app.request("/assets/app.js")).text(), "1;");
 *   assert.equal(await (await app.request("/assets/nope.js")).text(), "route");
 * } finally {
 *   await Deno.remove(root, { recursive: true });
 * }
 * ```
 */
export function serveStatic<S extends object = Record<string, unknown>>(
  options: ServeStaticOptions,
): Middleware<S> {
  return async (ctx, next) => {
    const method = ctx.req.method;
    // Only GET and HEAD read files; serveDir would answer 405 to the rest.
    if (method !== "GET" && method !== "HEAD") return await next();
    const res = await serveDir(ctx.req, options);
    // Not a file here (404), or a path no file could have (400: a
    // backslash, bad percent-encoding): the routes may still answer it.
    if (res.status === 404 || res.status === 405 || res.status === 400) {
      await res.body?.cancel();
      return await next();
    }
    return res;
  };
}

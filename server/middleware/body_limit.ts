/**
 * {@linkcode bodyLimit}: refuse request bodies over a size, declared or streamed.
 *
 * @module
 */

import { limitStream, PayloadTooLargeError } from "../body.ts";
import type { Middleware } from "../middleware.ts";

/** Options for {@linkcode bodyLimit}. */
export interface BodyLimitOptions {
  /** Most request body bytes (413 beyond). */
  maxBytes: number;
}

/**
 * Answers 413 at once when `Content-Length` exceeds `maxBytes`; otherwise
 * replaces `ctx.req` with a request whose body errors with
 * {@linkcode PayloadTooLargeError} once more than `maxBytes` stream in, which
 * the router's error hook (or {@linkcode withMiddleware}) turns into 413.
 *
 * @param options The limit.
 * @returns The middleware.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Router } from "../router.ts";
 * import { bodyLimit } from "./body_limit.ts";
 *
 * const app = new Router().use(bodyLimit({ maxBytes: 4 }))
 *   .post("/", async (ctx) => new Response(await ctx.req.text()));
 * assert.equal((await app.request("/", { method: "POST", body: "12345" })).status, 413);
 * assert.equal(await (await app.request("/", { method: "POST", body: "1234" })).text(), "1234");
 * ```
 */
export function bodyLimit<S extends object = Record<string, unknown>>(
  options: BodyLimitOptions,
): Middleware<S> {
  const { maxBytes } = options;
  if (!(maxBytes >= 0) || !Number.isFinite(maxBytes)) {
    throw new RangeError(
      `Cannot use maxBytes ${maxBytes}: expected a finite number >= 0`,
    );
  }
  return async (ctx, next) => {
    const req = ctx.req;
    if (req.body === null) return await next();
    const declared = Number(req.headers.get("content-length") ?? NaN);
    if (declared > maxBytes) {
      await req.body.cancel().catch(() => {});
      const err = new PayloadTooLargeError(
        `Request body is larger than ${maxBytes} bytes`,
        maxBytes,
      );
      return new Response(err.message, {
        status: 413,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          connection: "close",
        },
      });
    }
    ctx.req = new Request(req, { body: limitStream(req.body, maxBytes) });
    return await next();
  };
}

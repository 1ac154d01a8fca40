/**
 * {@linkcode timeout}: give up on slow handlers.
 *
 * @module
 */

import type { Middleware } from "../middleware.ts";

/** Options for {@linkcode timeout}. */
export interface TimeoutOptions {
  /** Milliseconds the inner layers get before the timeout answer. */
  ms: number;
  /** Status to answer: 503 (default) or 504 for proxies. */
  status?: 503 | 504;
}

// The longest delay setTimeout keeps (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Answers `status` (503 by default) when the inner layers take longer than
 * `ms`, and aborts `ctx.signal` (also aborted when the client's request
 * signal aborts) so the handler can stop its work.
 *
 * @param options Budget and status.
 * @returns The middleware.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Router } from "../router.ts";
 * import { timeout } from "./timeout.ts";
 *
 * const app = new Router().use(timeout({ ms: 10 })).get("/slow", (ctx) =>
 *   new Promise<Response>((resolve) => {
 *     ctx.signal.addEventListener("abort", () => resolve(new Response("late")));
 *   }));
 * assert.equal((await app.request("/slow")).status, 503);
 * ```
 */
export function timeout<S extends object = Record<string, unknown>>(
  options: TimeoutOptions,
): Middleware<S> {
  const { ms, status = 503 } = options;
  // setTimeout takes at most 2^31-1 ms; beyond, it fires at once.
  if (!(ms >= 0) || !(ms <= MAX_TIMER_MS)) {
    throw new RangeError(
      `Cannot use timeout ${ms} ms: expected a number from 0 to ${MAX_TIMER_MS}`,
    );
  }
  return async (ctx, next) => {
    const controller = new AbortController();
    const outer = ctx.signal;
    const onOuterAbort = () => controller.abort(outer.reason);
    if (outer.aborted) controller.abort(outer.reason);
    else outer.addEventListener("abort", onOuterAbort, { once: true });
    ctx.signal = controller.signal;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const expired = new Promise<Response>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(
          new DOMException(`Request took longer than ${ms} ms`, "TimeoutError"),
        );
        resolve(
          new Response(
            status === 504 ? "Gateway Timeout" : "Service Unavailable",
            {
              status,
              headers: { "content-type": "text/plain; charset=utf-8" },
            },
          ),
        );
      }, ms);
    });
    const work = next();
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
      outer.removeEventListener("abort", onOuterAbort);
      // The handler may still run after a time-out: its ctx.signal stays
      // the aborted one, so work it starts later sees it gave up.
      if (!timedOut) ctx.signal = outer;
      // The loser keeps running; swallow its late failure.
      work.then((res) => {
        if (timedOut) res.body?.cancel().catch(() => {});
      }, () => {});
    }
  };
}

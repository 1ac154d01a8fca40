/**
 * The onion model shared by {@linkcode Router} and plain Web handlers:
 * {@linkcode Context}, {@linkcode Middleware}, {@linkcode compose} and
 * {@linkcode withMiddleware}.
 *
 * ```
 * request ─► mw1 ─► mw2 ─► handler
 * response ◄─ mw1 ◄─ mw2 ◄─┘      each layer may answer early or wrap next()
 * ```
 *
 * Shipped layers live in `server/middleware/`: `accessLog`, `cors`,
 * `bodyLimit`, `timeout`, `basicAuth`, `compress`.
 *
 * @module
 */

import { errorResponse } from "./body.ts";
import type { ErrorHandler } from "./router.ts";

/** Path parameters captured by a route pattern, already percent-decoded. */
export type Params = Record<string, string>;

/**
 * What the server engine knows about the connection; structurally compatible
 * with `Deno.ServeHandlerInfo`. Every field is optional so tests may omit it.
 */
export interface HandlerInfo {
  /** The peer's address, when the engine knows it. */
  readonly remoteAddr?: {
    readonly hostname: string;
    readonly port: number;
    readonly transport?: string;
  };
}

/** A Web handler: the shape `serve()` accepts. */
export type WebHandler = (
  req: Request,
  info?: HandlerInfo,
) => Response | Promise<Response>;

/** Calls the next layer; resolves to the response it produced. */
export type Next = () => Promise<Response>;

/**
 * Per-request state handed to every middleware and route handler.
 *
 * @typeParam S Shape of {@linkcode Context.state}, shared by the middleware
 * that fill it and the handlers that read it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Context } from "./middleware.ts";
 *
 * const ctx = new Context<{ user?: string }>(new Request("http://h/a?b=1"));
 * ctx.state.user = "ada";
 * assert.equal(ctx.url.searchParams.get("b"), "1");
 * assert.deepEqual(ctx.params, {});
 * ```
 */
export class Context<S extends object = Record<string, unknown>> {
  /** The request; middleware may replace it (e.g. to limit its body). */
  req: Request;
  /** Path parameters of the matched route; `{}` outside a route. */
  params: Params = {};
  /** Per-request state, empty at the start of each request. */
  state: S;
  /** Connection details from the engine, if it gave any. */
  readonly info: HandlerInfo | undefined;
  /**
   * Aborts when the client goes away or a timeout middleware gives up;
   * pass it to slow work (`fetch`, database calls).
   */
  signal: AbortSignal;
  #url: URL | undefined;

  /**
   * Creates a new `Context`.
   *
   * @param req The incoming request.
   * @param info Connection details from the engine.
   */
  constructor(req: Request, info?: HandlerInfo) {
    this.req = req;
    this.info = info;
    this.state = {} as S;
    this.signal = req.signal;
  }

  /** The request URL, parsed on first use and cached. */
  get url(): URL {
    if (this.#url === undefined || this.#url.href !== this.req.url) {
      this.#url = new URL(this.req.url);
    }
    return this.#url;
  }
}

/**
 * One onion layer. Call `next()` at most once to run the inner layers, or
 * return a response without calling it to answer early.
 */
export type Middleware<S extends object = Record<string, unknown>> = (
  ctx: Context<S>,
  next: Next,
) => Response | Promise<Response>;

/** A composed chain: like a middleware, with `next` for what comes after. */
export type ComposedMiddleware<S extends object = Record<string, unknown>> = (
  ctx: Context<S>,
  next: Next,
) => Promise<Response>;

/**
 * Folds middleware into one, outermost first.
 *
 * With `onError`, an error is turned into a response where it is thrown, as
 * Hono does: the layers outside see that response come back from `next()`
 * (so CORS headers and the access log apply to error responses too), never
 * the throw. Without it, errors propagate.
 *
 * @param middleware Layers in the order requests meet them.
 * @param onError Turns a thrown error into a response; if it throws too,
 *   the answer is a plain 500.
 * @returns A function that runs the chain and then `next`.
 * @throws {Error} At run time, if a layer calls `next()` twice.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { compose, Context } from "./middleware.ts";
 *
 * const seen: string[] = [];
 * const run = compose([
 *   async (_ctx, next) => { seen.push("a"); const r = await next(); seen.push("a'"); return r; },
 *   async (_ctx, next) => { seen.push("b"); return await next(); },
 * ]);
 * const res = await run(new Context(new Request("http://h/")), () => {
 *   seen.push("end");
 *   return Promise.resolve(new Response("ok"));
 * });
 * assert.equal(await res.text(), "ok");
 * assert.deepEqual(seen, ["a", "b", "end", "a'"]);
 * ```
 */
export function compose<S extends object>(
  middleware: readonly Middleware<S>[],
  onError?: ErrorHandler<S>,
): ComposedMiddleware<S> {
  const layers = [...middleware];
  // Runs one layer (or the end of the chain), answering its error in place.
  const guarded = onError === undefined
    ? async (_ctx: Context<S>, run: () => Response | Promise<Response>) =>
      await run()
    : async (ctx: Context<S>, run: () => Response | Promise<Response>) => {
      try {
        return await run();
      } catch (err) {
        try {
          return await onError(err, ctx);
        } catch {
          return errorResponse(undefined);
        }
      }
    };
  if (layers.length === 0) {
    return async (ctx, next) => await guarded(ctx, next);
  }
  if (layers.length === 1) {
    const only = layers[0]!;
    return async (ctx, next) => {
      let called = false;
      return await guarded(ctx, () =>
        only(ctx, () => {
          if (called) {
            return Promise.reject(new Error("Cannot call next() twice"));
          }
          called = true;
          return guarded(ctx, next);
        }));
    };
  }
  return (ctx, next) => {
    let index = -1;
    const step = async (i: number): Promise<Response> => {
      if (i <= index) throw new Error("Cannot call next() twice");
      index = i;
      const layer = layers[i];
      if (layer === undefined) return await guarded(ctx, next);
      return await guarded(ctx, () => layer(ctx, () => step(i + 1)));
    };
    return step(0);
  };
}

/**
 * Puts middleware in front of any Web handler, router or not.
 *
 * The handler receives `ctx.req`, so a body limit or a rewritten request
 * reaches it. An {@linkcode HttpError} (for example a body over its limit)
 * becomes its status; any other error becomes a plain 500.
 *
 * @param handler The Web handler to wrap.
 * @param middleware Layers, outermost first.
 * @returns A Web handler.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { withMiddleware } from "./middleware.ts";
 *
 * const handler = withMiddleware(
 *   () => new Response("hi"),
 *   async (_ctx, next) => {
 *     const res = await next();
 *     res.headers.set("x-layer", "1");
 *     return res;
 *   },
 * );
 * const res = await handler(new Request("http://h/"));
 * assert.equal(res.headers.get("x-layer"), "1");
 * assert.equal(await res.text(), "hi");
 * ```
 */
export function withMiddleware<S extends object = Record<string, unknown>>(
  handler: WebHandler,
  ...middleware: Middleware<S>[]
): (req: Request, info?: HandlerInfo) => Promise<Response> {
  const run = compose(middleware, errorResponse);
  return async (req, info) => {
    const ctx = new Context<S>(req, info);
    try {
      return await run(ctx, async () => await handler(ctx.req, info));
    } catch (err) {
      return errorResponse(err);
    }
  };
}

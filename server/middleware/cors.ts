/**
 * {@linkcode cors}: Cross-Origin Resource Sharing headers and preflights.
 *
 * @module
 */

import type { Middleware } from "../middleware.ts";

/** Options for {@linkcode cors}. */
export interface CorsOptions {
  /**
   * Allowed origins: `"*"` (default), one origin, a list, or a function
   * returning the origin to echo (or `null` to refuse).
   */
  origin?: string | readonly string[] | ((origin: string) => string | null);
  /** Methods a preflight allows. Default GET, HEAD, PUT, POST, PATCH, DELETE. */
  methods?: readonly string[];
  /** Request headers a preflight allows; default: echo Access-Control-Request-Headers. */
  allowHeaders?: readonly string[];
  /** Response headers scripts may read. */
  exposeHeaders?: readonly string[];
  /**
   * Send `Access-Control-Allow-Credentials: true`; the allowed origin is
   * then echoed, never `*`. Needs an `origin` other than `"*"`: a list, one
   * origin, or a function (`(o) => o` to allow every origin, on purpose).
   */
  credentials?: boolean;
  /** Seconds a preflight may be cached. */
  maxAgeSeconds?: number;
}

const DEFAULT_METHODS = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"];

function withHeaders(
  res: Response,
  set: Record<string, string>,
  vary: string | null,
): Response {
  let out = res;
  try {
    for (const [k, v] of Object.entries(set)) out.headers.set(k, v);
    if (vary !== null) appendVary(out.headers, vary);
  } catch {
    // Immutable headers (a fetched Response): copy once.
    out = new Response(res.body, res);
    for (const [k, v] of Object.entries(set)) out.headers.set(k, v);
    if (vary !== null) appendVary(out.headers, vary);
  }
  return out;
}

/**
 * Adds `value` to `Vary` unless it is already there.
 *
 * @param headers Response headers (mutable).
 * @param value A header name.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendVary } from "./cors.ts";
 *
 * const h = new Headers({ vary: "Accept" });
 * appendVary(h, "Origin");
 * appendVary(h, "origin");
 * assert.equal(h.get("vary"), "Accept, Origin");
 * ```
 */
export function appendVary(headers: Headers, value: string): void {
  const current = headers.get("vary");
  if (current === null || current.trim() === "") {
    headers.set("vary", value);
    return;
  }
  const names = current.split(",").map((s) => s.trim().toLowerCase());
  if (names.includes("*") || names.includes(value.toLowerCase())) return;
  headers.set("vary", `${current}, ${value}`);
}

/**
 * Answers CORS preflights (`OPTIONS` with `Origin` and
 * `Access-Control-Request-Method`) with 204 and adds
 * `Access-Control-Allow-Origin` to other responses. A refused origin gets
 * no CORS headers (the browser then blocks it), and its preflight a bare 204.
 *
 * @param options Origins, methods, headers, credentials, max age.
 * @returns The middleware.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Router } from "../router.ts";
 * import { cors } from "./cors.ts";
 *
 * const app = new Router().use(cors({ origin: "https://a.example" }))
 *   .post("/api", () => new Response("ok"));
 * const pre = await app.request("/api", {
 *   method: "OPTIONS",
 *   headers: { origin: "https://a.example", "access-control-request-method": "POST" },
 * });
 * assert.equal(pre.status, 204);
 * assert.equal(pre.headers.get("access-control-allow-origin"), "https://a.example");
 * ```
 */
export function cors<S extends object = Record<string, unknown>>(
  options: CorsOptions = {},
): Middleware<S> {
  const { origin = "*", credentials = false } = options;
  if (credentials && origin === "*") {
    // Echoing every Origin with credentials lets any site read responses
    // sent with the user's cookies (CWE-942); Hono and Express send "*",
    // which browsers refuse. Say so at start-up instead.
    throw new TypeError(
      'Cannot use cors({ credentials: true }) with origin "*": name the origins allowed (a list or a function)',
    );
  }
  const methods = (options.methods ?? DEFAULT_METHODS).join(", ");
  const expose = options.exposeHeaders?.join(", ");
  const allowFor = (requestOrigin: string): string | null => {
    if (typeof origin === "function") return origin(requestOrigin);
    if (typeof origin === "string") {
      if (origin === "*") return "*";
      return origin === requestOrigin ? origin : null;
    }
    return origin.includes(requestOrigin) ? requestOrigin : null;
  };
  // A fixed "*" answer does not depend on the Origin; anything else does.
  const vary = origin === "*" && !credentials ? null : "Origin";
  return async (ctx, next) => {
    const requestOrigin = ctx.req.headers.get("origin");
    if (requestOrigin === null) {
      // The answer depends on Origin even when there is none: a cache must
      // not serve this response to a CORS request (Fetch §3.2.5).
      const res = await next();
      return vary === null ? res : withHeaders(res, {}, vary);
    }
    const allowed = allowFor(requestOrigin);
    const isPreflight = ctx.req.method === "OPTIONS" &&
      ctx.req.headers.has("access-control-request-method");
    if (isPreflight) {
      const headers = new Headers();
      if (vary !== null) headers.set("vary", "Origin");
      if (allowed !== null) {
        headers.set("access-control-allow-origin", allowed);
        headers.set("access-control-allow-methods", methods);
        const asked = ctx.req.headers.get("access-control-request-headers");
        const allowHeaders = options.allowHeaders?.join(", ") ?? asked;
        if (allowHeaders) {
          headers.set("access-control-allow-headers", allowHeaders);
        }
        if (options.allowHeaders === undefined && asked) {
          appendVary(headers, "Access-Control-Request-Headers");
        }
        if (credentials) {
          headers.set("access-control-allow-credentials", "true");
        }
        if (options.maxAgeSeconds !== undefined) {
          headers.set("access-control-max-age", String(options.maxAgeSeconds));
        }
      }
      return new Response(null, { status: 204, headers });
    }
    const res = await next();
    if (allowed === null) {
      return vary === null ? res : withHeaders(res, {}, vary);
    }
    const set: Record<string, string> = {
      "access-control-allow-origin": allowed,
    };
    if (credentials) set["access-control-allow-credentials"] = "true";
    if (expose) set["access-control-expose-headers"] = expose;
    return withHeaders(res, set, vary);
  };
}

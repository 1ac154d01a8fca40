/**
 * {@linkcode Router}: a pure path router compiled to a segment tree, usable
 * as a Web handler (`serve(router.fetch)`) and testable without sockets
 * (`router.request("/path")`).
 *
 * Pattern syntax, one segment at a time:
 *
 * | segment        | matches                                   | param        |
 * | -------------- | ----------------------------------------- | ------------ |
 * | `users`        | exactly `users`                           |              |
 * | `:id`          | any non-empty segment                     | `id`         |
 * | `:id{\\d+}`    | a segment whose decoded value fits regexp | `id`         |
 * | `:id?`         | the segment, or nothing (last ones only)  | `id` or none |
 * | `*` / `*rest`  | the rest of the path, possibly empty      | `*` / `rest` |
 *
 * Precedence, whatever the registration order: at each segment a static
 * segment beats a constrained param, which beats a plain param, which beats
 * a wildcard. If the best branch has no handler for the method, the next
 * branch is tried, so `GET /users/new` and `POST /users/:id` coexist.
 *
 * Paths are matched as sent (percent-encoded, query stripped); param and
 * wildcard values are percent-decoded, and constraints test decoded values.
 *
 * Extension point for other handler faces: a route handler is any
 * `(ctx, next?) => Response | Promise<Response>` ({@linkcode Handler}). An
 * adapter that runs a `BaseHTTPRequestHandler` subclass on `ctx.req` and
 * returns its `Response` can be registered like any function:
 * `router.get("/legacy/*", fromRequestHandler(MyHandler))` (adapter to come).
 *
 * @module
 */

import { staticBodyLength } from "./_static_response_body.ts";
import { errorResponse } from "./body.ts";
import {
  compose,
  type ComposedMiddleware,
  Context,
  type HandlerInfo,
  type Middleware,
  type Params,
} from "./middleware.ts";

/**
 * A route handler: a middleware whose `next()` leads to the not-found hook.
 * The extension point for other handler faces: anything that can be wrapped
 * as `(ctx) => Response | Promise<Response>` can be routed, e.g. a future
 * adapter running a `BaseHTTPRequestHandler` subclass on `ctx.req`.
 */
export type Handler<S extends object = Record<string, unknown>> = Middleware<S>;

/** The not-found hook: answers requests no route claims. */
export type NotFoundHandler<S extends object = Record<string, unknown>> = (
  ctx: Context<S>,
) => Response | Promise<Response>;

/** The error hook: turns a thrown value into a response. */
export type ErrorHandler<S extends object = Record<string, unknown>> = (
  err: unknown,
  ctx: Context<S>,
) => Response | Promise<Response>;

// RFC 9110 §9.3 and RFC 5789's PATCH: methods a miss answers 404 or 405 to.
const STANDARD_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

/** What to do with a path that differs from a route only by a trailing `/`. */
export type TrailingSlash = "strict" | "redirect" | "ignore";

/** Options for {@linkcode Router}. */
export interface RouterOptions {
  /**
   * `"strict"` (default): `/a` and `/a/` are different paths.
   * `"redirect"`: a miss that would match with the slash added or removed
   * answers {@linkcode RouterOptions.redirectStatus} to that path.
   * `"ignore"`: one trailing slash is dropped from patterns and paths.
   */
  trailingSlash?: TrailingSlash;
  /** Status for trailing-slash redirects: 308 (default, keeps the method) or 301. */
  redirectStatus?: 301 | 308;
  /**
   * Compare static segments case-sensitively (default `true`, as RFC 3986
   * says). When `false`, ASCII letters fold; params keep their case.
   */
  caseSensitive?: boolean;
}

/** The outcome of {@linkcode Router.match}. */
export type MatchResult<S extends object = Record<string, unknown>> =
  | {
    kind: "found";
    /** The route's handlers as registered, with mounted middleware first. */
    handlers: readonly Handler<S>[];
    /** Decoded path parameters (read-only; shared when empty). */
    params: Readonly<Params>;
    /** Methods the matched path allows, for `Allow`. */
    allowed: readonly string[];
    /** The pattern that matched. */
    pattern: string;
  }
  | { kind: "method-not-allowed"; allowed: readonly string[] }
  | { kind: "redirect"; location: string }
  | { kind: "not-found" };

interface Route<S extends object> {
  pattern: string;
  method: string;
  handlers: readonly Handler<S>[];
  run: ComposedMiddleware<S>;
  names: readonly string[]; // param names, in capture order
  node: Node<S>; // where the route ends; its `allowed` is read at match time
  found: MatchResult<S> | null; // cached result for param-less routes
}

interface ParamEdge<S extends object> {
  key: string; // constraint source, "" for none
  constraint: RegExp | null;
  node: Node<S>;
}

interface StaticEdge<S extends object> {
  text: string;
  node: Node<S>;
}

interface Node<S extends object> {
  statics: Map<string, Node<S>> | null; // segment → child (registration, 405)
  // The same children for matching without slicing: non-empty segments
  // bucketed by first char code, compared in place with startsWith().
  buckets: Map<number, StaticEdge<S>[]> | null;
  empty: Node<S> | null; // child for the empty segment (a trailing slash)
  params: ParamEdge<S>[] | null; // constrained first, plain last
  wildcard: Node<S> | null;
  routes: Map<string, Route<S>> | null; // method (or "ALL") → route
  allowed: readonly string[];
}

interface Registration<S extends object> {
  method: string;
  pattern: string;
  handlers: readonly Handler<S>[];
}

const METHOD_ORDER = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
];
const NAME_RE = /^[A-Za-z_$][\w$]*$/;
const TEXT = { "content-type": "text/plain; charset=utf-8" };
const EMPTY_PARAMS: Readonly<Params> = Object.freeze({});

function newNode<S extends object>(): Node<S> {
  return {
    statics: null,
    buckets: null,
    empty: null,
    params: null,
    wildcard: null,
    routes: null,
    allowed: [],
  };
}

function sortMethods(methods: Iterable<string>): string[] {
  return [...new Set(methods)].sort((a, b) => {
    const ia = METHOD_ORDER.indexOf(a);
    const ib = METHOD_ORDER.indexOf(b);
    if (ia !== -1 || ib !== -1) {
      return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
    }
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

function decode(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Path of an absolute URL string, without query or fragment, cheaply. */
function pathOf(url: string): string {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme === -1 ? 0 : scheme + 3);
  if (start === -1) return "/";
  let end = url.length;
  let escaped = false;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
    if (c === 37 /* % */) escaped = true;
  }
  const path = url.slice(start, end);
  return escaped ? upperEscapes(path) : path;
}

// RFC 3986 §6.2.2.1: the hex digits of a percent-escape are equal in either
// case; routes hold them upper-case, as URL writes the ones it makes.
function upperEscapes(path: string): string {
  return path.replace(
    /%[0-9a-f][0-9a-f]|%[0-9A-F][0-9a-f]|%[0-9a-f][0-9A-F]/g,
    (e) => e.toUpperCase(),
  );
}

/** Splits a pattern into segments, keeping `/` inside `{…}` constraints. */
function splitPattern(pattern: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 1;
  for (let i = 1; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") i++;
    else if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === "/" && depth === 0) {
      out.push(pattern.slice(start, i));
      start = i + 1;
    }
  }
  out.push(pattern.slice(start));
  return out;
}

type Segment =
  | { kind: "static"; text: string }
  | { kind: "param"; name: string; constraint: string; optional: boolean }
  | { kind: "wildcard"; name: string };

function parseSegment(seg: string, pattern: string): Segment {
  if (seg.startsWith(":")) {
    let rest = seg.slice(1);
    let optional = false;
    if (rest.endsWith("?")) {
      optional = true;
      rest = rest.slice(0, -1);
    }
    let constraint = "";
    const brace = rest.indexOf("{");
    if (brace !== -1) {
      if (!rest.endsWith("}")) {
        throw new TypeError(
          `Cannot parse route "${pattern}": unclosed "{" in "${seg}"`,
        );
      }
      constraint = rest.slice(brace + 1, -1);
      rest = rest.slice(0, brace);
      try {
        new RegExp(constraint);
      } catch (cause) {
        throw new TypeError(
          `Cannot parse route "${pattern}": bad constraint "${constraint}"`,
          { cause },
        );
      }
    }
    if (!NAME_RE.test(rest)) {
      throw new TypeError(
        `Cannot parse route "${pattern}": bad param name "${rest}"`,
      );
    }
    return { kind: "param", name: rest, constraint, optional };
  }
  if (seg.startsWith("*")) {
    const name = seg.length === 1 ? "*" : seg.slice(1);
    if (name !== "*" && !NAME_RE.test(name)) {
      throw new TypeError(
        `Cannot parse route "${pattern}": bad wildcard name "${name}"`,
      );
    }
    return { kind: "wildcard", name };
  }
  return { kind: "static", text: encodeStaticSegment(seg) };
}

// A static segment as it arrives in req.url: percent-encoded as URL
// serializes a path ("/café" is "/caf%C3%A9", "/a b" is "/a%20b"), or it
// could never match. Text already encoded ("%20") is kept.
function encodeStaticSegment(seg: string): string {
  if (/^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/.test(seg)) return seg;
  if (seg === "." || seg === "..") return upperEscapes(seg);
  const escaped = seg.replace(/[?#\\]/g, (c) => encodeURIComponent(c));
  return upperEscapes(new URL(`http://h/${escaped}`).pathname.slice(1));
}

/** Expands optional params: `/a/:b?/:c?` → `/a`, `/a/:b`, `/a/:b/:c`. */
function expand(segments: Segment[], pattern: string): Segment[][] {
  const firstOptional = segments.findIndex((s) =>
    s.kind === "param" && s.optional
  );
  if (firstOptional === -1) return [segments];
  for (let i = firstOptional; i < segments.length; i++) {
    const s = segments[i]!;
    if (!(s.kind === "param" && s.optional)) {
      throw new TypeError(
        `Cannot parse route "${pattern}": optional params must come last`,
      );
    }
  }
  const out: Segment[][] = [];
  for (let n = firstOptional; n <= segments.length; n++) {
    const variant = segments.slice(0, n);
    // `/:id?` without the param is the root, which is the empty segment.
    out.push(variant.length === 0 ? [{ kind: "static", text: "" }] : variant);
  }
  return out;
}

/**
 * A router: register routes, then call {@linkcode Router.match} (pure) or
 * {@linkcode Router.fetch} (a Web handler).
 *
 * Behaviour around the routes:
 * - no route's path matches → the not-found hook (default 404);
 * - the path matches but not the method → 405 with `Allow`;
 * - a method no route has and HTTP does not define → 501 (RFC 9110 §9.1);
 * - `HEAD` uses the `GET` route when there is no `HEAD` route, and every
 *   `HEAD` response has its body dropped;
 * - `OPTIONS` without an `OPTIONS` route → 204 with `Allow`;
 * - a thrown {@linkcode HttpError} → its status; anything else → plain 500
 *   (change with {@linkcode Router.onError}).
 *
 * @typeParam S Shape of `ctx.state`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Router } from "./router.ts";
 *
 * const app = new Router()
 *   .get("/users/:id{\\d+}", (ctx) => Response.json({ id: ctx.params.id }))
 *   .get("/users/me", () => new Response("me"));
 *
 * assert.deepEqual(await (await app.request("/users/42")).json(), { id: "42" });
 * assert.equal(await (await app.request("/users/me")).text(), "me");
 * const res = await app.request("/users/42", { method: "DELETE" });
 * assert.equal(res.status, 405);
 * assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS");
 * ```
 */
export class Router<S extends object = Record<string, unknown>> {
  readonly #root: Node<S> = newNode();
  readonly #statics = new Map<string, Node<S>>(); // full static path → node
  readonly #registrations: Registration<S>[] = [];
  readonly #middleware: Middleware<S>[] = [];
  readonly #trailingSlash: TrailingSlash;
  readonly #redirectStatus: 301 | 308;
  readonly #caseSensitive: boolean;
  #chain: ComposedMiddleware<S> | null = null;
  #notFound: NotFoundHandler<S> = () =>
    new Response("Not Found", { status: 404, headers: TEXT });
  #onError: ErrorHandler<S> = (err) => errorResponse(err);
  // Methods some route was added for.
  readonly #methods = new Set<string>();
  // Mounted routers that have middleware: it also wraps this router's own
  // answers (404, 405, automatic OPTIONS, redirects) for paths under the
  // prefix, as a Hono sub-app's does, so a mounted cors() or basicAuth()
  // sees a preflight or an unknown path there too.
  readonly #mounts: Mount<S>[] = [];

  /**
   * Creates a new `Router`.
   *
   * @param options Trailing-slash and case handling.
   */
  constructor(options: RouterOptions = {}) {
    this.#trailingSlash = options.trailingSlash ?? "strict";
    this.#redirectStatus = options.redirectStatus ?? 308;
    this.#caseSensitive = options.caseSensitive ?? true;
    this.fetch = this.fetch.bind(this);
    this.request = this.request.bind(this);
  }

  /**
   * Registers handlers for one or more methods.
   *
   * @param method A method (`"GET"`), a list, or `"ALL"` for any method.
   * @param pattern A path pattern (see the module docs).
   * @param handlers Route middleware then the handler, run in order.
   * @returns This router, for chaining.
   * @throws {TypeError} A bad pattern, or the same method and pattern twice.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().on(["PROPFIND"], "/dav/*", (ctx) => new Response(ctx.params["*"]));
   * assert.equal(await (await app.request("/dav/a/b", { method: "PROPFIND" })).text(), "a/b");
   * ```
   */
  on(
    method: string | readonly string[],
    pattern: string,
    ...handlers: Handler<S>[]
  ): this {
    if (handlers.length === 0) {
      throw new TypeError(`Cannot add route "${pattern}": no handler given`);
    }
    for (const m of typeof method === "string" ? [method] : method) {
      this.#add(internMethod(m), pattern, handlers);
    }
    return this;
  }

  /**
   * Registers a `GET` route (also answers `HEAD`).
   * @param pattern Path pattern.
   * @param handlers Route middleware then the handler.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().get("/", () => new Response("home"));
   * assert.equal((await app.request("/", { method: "HEAD" })).status, 200);
   * ```
   */
  get(pattern: string, ...handlers: Handler<S>[]): this {
    return this.on("GET", pattern, ...handlers);
  }
  /**
   * Registers a `POST` route.
   * @param pattern Path pattern.
   * @param handlers Route middleware then the handler.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().post("/", () => new Response(null, { status: 201 }));
   * assert.equal((await app.request("/", { method: "POST" })).status, 201);
   * ```
   */
  post(pattern: string, ...handlers: Handler<S>[]): this {
    return this.on("POST", pattern, ...handlers);
  }
  /**
   * Registers a `PUT` route.
   * @param pattern Path pattern.
   * @param handlers Route middleware then the handler.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().put("/a", () => new Response("put"));
   * assert.equal(await (await app.request("/a", { method: "PUT" })).text(), "put");
   * ```
   */
  put(pattern: string, ...handlers: Handler<S>[]): this {
    return this.on("PUT", pattern, ...handlers);
  }
  /**
   * Registers a `PATCH` route.
   * @param pattern Path pattern.
   * @param handlers Route middleware then the handler.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().patch("/a", () => new Response("patch"));
   * assert.equal(await (await app.request("/a", { method: "PATCH" })).text(), "patch");
   * ```
   */
  patch(pattern: string, ...handlers: Handler<S>[]): this {
    return this.on("PATCH", pattern, ...handlers);
  }
  /**
   * Registers a `DELETE` route.
   * @param pattern Path pattern.
   * @param handlers Route middleware then the handler.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().delete("/a/:id", () => new Response(null, { status: 204 }));
   * assert.equal((await app.request("/a/1", { method: "DELETE" })).status, 204);
   * ```
   */
  delete(pattern: string, ...handlers: Handler<S>[]): this {
    return this.on("DELETE", pattern, ...handlers);
  }
  /**
   * Registers an explicit `HEAD` route (wins over the automatic one).
   * @param pattern Path pattern.
   * @param handlers Route middleware then the handler.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().head("/a", () => new Response(null, { headers: { x: "1" } }));
   * assert.equal((await app.request("/a", { method: "HEAD" })).headers.get("x"), "1");
   * ```
   */
  head(pattern: string, ...handlers: Handler<S>[]): this {
    return this.on("HEAD", pattern, ...handlers);
  }
  /**
   * Registers an explicit `OPTIONS` route (wins over the automatic 204).
   * @param pattern Path pattern.
   * @param handlers Route middleware then the handler.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().options("/a", () => new Response("opts"));
   * assert.equal(await (await app.request("/a", { method: "OPTIONS" })).text(), "opts");
   * ```
   */
  options(pattern: string, ...handlers: Handler<S>[]): this {
    return this.on("OPTIONS", pattern, ...handlers);
  }
  /**
   * Registers a route for every method (used when no method-specific route
   * for the same pattern exists).
   * @param pattern Path pattern.
   * @param handlers Route middleware then the handler.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().all("/any", (ctx) => new Response(ctx.req.method));
   * assert.equal(await (await app.request("/any", { method: "PUT" })).text(), "PUT");
   * ```
   */
  all(pattern: string, ...handlers: Handler<S>[]): this {
    return this.on("ALL", pattern, ...handlers);
  }

  /**
   * Adds middleware that runs for every request this router answers,
   * including 404, 405, redirects and automatic `OPTIONS`, in the order
   * added, before the route's own handlers.
   *
   * @param middleware Layers, outermost first.
   * @returns This router.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().use(async (_ctx, next) => {
   *   const res = await next();
   *   res.headers.set("x-powered-by", "h1");
   *   return res;
   * });
   * assert.equal((await app.request("/nope")).headers.get("x-powered-by"), "h1");
   * ```
   */
  use(...middleware: Middleware<S>[]): this {
    this.#middleware.push(...middleware);
    this.#chain = null;
    return this;
  }

  /**
   * Copies `sub`'s routes under `prefix`. The sub-router's `use()`
   * middleware wraps each copied route; its hooks and options are not
   * used (this router's apply). Routes added to `sub` later are not seen.
   *
   * @param prefix A static or patterned prefix such as `/api` or `/orgs/:org`.
   * @param sub The router to mount.
   * @returns This router.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const api = new Router().get("/users/:id", (ctx) => new Response(ctx.params.id));
   * const app = new Router().route("/api", api);
   * assert.equal(await (await app.request("/api/users/7")).text(), "7");
   * ```
   */
  route<T extends object>(prefix: string, sub: Router<T>): this {
    const base = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
    if (base !== "" && !base.startsWith("/")) {
      throw new TypeError(
        `Cannot mount at "${prefix}": prefix must start with "/"`,
      );
    }
    const mw = sub.#middleware as unknown as Middleware<S>[];
    for (const r of sub.#registrations) {
      const pattern = r.pattern === "/" && base !== ""
        ? base
        : base + r.pattern;
      this.#add(r.method, pattern, [
        ...mw,
        ...(r.handlers as unknown as Handler<S>[]),
      ]);
    }
    const fold = (text: string) => this.#fold(text);
    const onError: ErrorHandler<S> = (err, ctx) => this.#onError(err, ctx);
    // The sub-router's own mounts too; the longest prefix is tried first.
    for (const inner of sub.#mounts) {
      this.#mounts.push(
        new Mount<S>(
          base + inner.prefix,
          [
            ...mw,
            ...(inner.middleware as unknown as Middleware<S>[]),
          ],
          fold,
          onError,
        ),
      );
    }
    if (mw.length > 0) {
      this.#mounts.push(
        new Mount<S>(base === "" ? "/" : base, mw, fold, onError),
      );
    }
    this.#mounts.sort((a, b) => b.depth - a.depth);
    return this;
  }

  /** Alias of {@linkcode Router.route}.
   * @param prefix Mount point.
   * @param sub The router to mount.
   * @returns This router.
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().mount("/v1", new Router().get("/", () => new Response("v1")));
   * assert.equal(await (await app.request("/v1")).text(), "v1");
   * ```
   */
  mount<T extends object>(prefix: string, sub: Router<T>): this {
    return this.route(prefix, sub);
  }

  /**
   * Sets the handler for requests no route matches (default: 404 text).
   * Also reached when the last route handler calls `next()`.
   *
   * @param handler The not-found handler.
   * @returns This router.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().notFound(() => Response.json({ error: "nope" }, { status: 404 }));
   * assert.deepEqual(await (await app.request("/x")).json(), { error: "nope" });
   * ```
   */
  notFound(handler: NotFoundHandler<S>): this {
    this.#notFound = handler;
    return this;
  }

  /**
   * Sets the handler for thrown errors. The default answers an
   * {@linkcode HttpError}'s status and message, else a plain 500 without
   * the stack. If the hook itself throws, the answer is a plain 500.
   *
   * @param handler The error handler.
   * @returns This router.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router()
   *   .get("/boom", () => { throw new Error("secret"); })
   *   .onError(() => new Response("oops", { status: 500 }));
   * assert.equal(await (await app.request("/boom")).text(), "oops");
   * ```
   */
  onError(handler: ErrorHandler<S>): this {
    this.#onError = handler;
    return this;
  }

  /**
   * Matches a method and path against the routes. Pure: no I/O, no handler
   * runs. `path` is the URL path as sent (percent-encoded, no query).
   *
   * @param method The request method.
   * @param path The request path, starting with `/`.
   * @returns What the router would do.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().get("/files/*path", () => new Response());
   * const hit = app.match("GET", "/files/a/b%20c");
   * assert.equal(hit.kind, "found");
   * assert.deepEqual(hit.kind === "found" && hit.params, { path: "a/b c" });
   * assert.deepEqual(app.match("POST", "/files/x"), {
   *   kind: "method-not-allowed",
   *   allowed: ["GET", "HEAD", "OPTIONS"],
   * });
   * ```
   */
  match(method: string, path: string): MatchResult<S> {
    const normal = path.includes("%") ? upperEscapes(path) : path;
    const route = this.#find(method, normal);
    if (route === null) return this.#miss(normal);
    if (route.names.length === 0) {
      return route.found ??= {
        kind: "found",
        handlers: route.handlers,
        params: EMPTY_PARAMS,
        allowed: route.node.allowed,
        pattern: route.pattern,
      };
    }
    return new Found(route, matchedPath, CAPS.slice(0, capsLength));
  }

  /**
   * The router as a Web handler; bound, so `serve(router.fetch)` works.
   *
   * @param req The request.
   * @param info Connection details from the engine.
   * @returns The response.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const { fetch } = new Router().get("/", () => new Response("hi"));
   * assert.equal(await (await fetch(new Request("http://h/"))).text(), "hi");
   * ```
   */
  async fetch(req: Request, info?: HandlerInfo): Promise<Response> {
    const ctx = new Context<S>(req, info);
    let res: Response;
    try {
      this.#chain ??= compose(
        this.#middleware,
        (err, ctx) => this.#onError(err, ctx),
      );
      res = await this.#chain(ctx, () => this.#dispatch(ctx));
      if (!(res instanceof Response)) {
        // A handler (or middleware) that returned nothing: the engine would
        // answer 500; say why through onError, as a throw would.
        throw new TypeError(
          `Cannot answer ${req.method} ${ctx.url.pathname}: a handler returned ${
            res === null ? "null" : typeof res
          }, not a Response`,
        );
      }
      // What serve() refuses too (Response.error(), a 1xx, a body already
      // read): through onError here, so router.request() answers as a
      // socket would.
      if (res.status < 200 || res.bodyUsed) {
        throw new TypeError(
          `Cannot answer ${req.method} ${ctx.url.pathname}: ${
            res.bodyUsed
              ? "the Response's body was already used"
              : `status ${res.status} is not a final response`
          }`,
        );
      }
    } catch (err) {
      try {
        res = await this.#onError(err, ctx);
      } catch {
        res = errorResponse(undefined);
      }
    }
    // Measured before `res.body` is read: reading it turns a string body
    // into a stream, whose length is not known.
    const length = req.method === "HEAD" ? staticBodyLength(res) : null;
    if (req.method === "HEAD" && res.body !== null) {
      // RFC 9110 §9.3.2: HEAD gets GET's header section, never a body, and
      // §8.6: the length GET would have sent, or none (never a wrong 0).
      res.body.cancel().catch(() => {});
      const headers = new Headers(res.headers);
      if (length !== null && !headers.has("content-length")) {
        headers.set("content-length", String(length));
      }
      res = new Response(null, {
        status: res.status,
        statusText: res.statusText,
        headers,
      });
    }
    return res;
  }

  /**
   * Runs a request through the router with no sockets, like Hono's
   * `app.request`. A path gets the origin `http://localhost`.
   *
   * @param input A path (`"/a?b=1"`), an absolute URL, or a `Request`.
   * @param init Request options (method, headers, body).
   * @returns The response.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { Router } from "./router.ts";
   *
   * const app = new Router().post("/echo", async (ctx) => new Response(await ctx.req.text()));
   * const res = await app.request("/echo", { method: "POST", body: "hi" });
   * assert.equal(await res.text(), "hi");
   * ```
   */
  request(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    let req: Request;
    if (input instanceof Request) req = init ? new Request(input, init) : input;
    else if (
      typeof input === "string" && !/^[A-Za-z][A-Za-z0-9+.\-]*:/.test(input)
    ) {
      // A path, relative ones too ("users", "?a=1", ""), as Hono's
      // app.request takes them.
      const path = input.startsWith("/") ? input : `/${input}`;
      req = new Request(`http://localhost${path}`, init);
    } else req = new Request(input, init);
    return this.fetch(req);
  }

  async #dispatch(ctx: Context<S>): Promise<Response> {
    const req = ctx.req;
    const path = pathOf(req.url);
    const route = this.#find(req.method, path);
    if (route !== null) {
      ctx.params = paramsOf(route.names, matchedPath, CAPS);
      return await route.run(ctx, async () => await this.#notFound(ctx));
    }
    for (const mount of this.#mounts) {
      const params = mount.paramsFor(path);
      if (params === null) continue;
      // As on the mount's own routes, its middleware sees the prefix's
      // params (a per-org check on /orgs/:org guards the 404 too).
      ctx.params = params;
      return await mount.run(ctx, () => this.#answerMiss(ctx, path));
    }
    return await this.#answerMiss(ctx, path);
  }

  // No route: 501 for an unknown method, a trailing-slash redirect, 405
  // (or 204 to OPTIONS) with Allow, else the not-found handler.
  async #answerMiss(ctx: Context<S>, path: string): Promise<Response> {
    const req = ctx.req;
    // RFC 9110 §9.1: a method nobody here knows (not a standard one, on no
    // route) is 501, as Python's handler answers a missing do_X.
    if (!STANDARD_METHODS.has(req.method) && !this.#methods.has(req.method)) {
      return new Response("Not Implemented", { status: 501, headers: TEXT });
    }
    const miss = this.#miss(path);
    switch (miss.kind) {
      case "redirect": {
        // The client's own path (its escapes as sent), the slash toggled
        // as #miss found it.
        const url = new URL(req.url);
        const raw = url.pathname;
        url.pathname = raw.endsWith("/") && miss.location.length < path.length
          ? raw.slice(0, -1)
          : raw + "/";
        return new Response(null, {
          status: this.#redirectStatus,
          headers: { location: url.pathname + url.search },
        });
      }
      case "method-not-allowed": {
        const allow = miss.allowed.join(", ");
        if (req.method === "OPTIONS") {
          return new Response(null, { status: 204, headers: { allow } });
        }
        return new Response("Method Not Allowed", {
          status: 405,
          headers: { ...TEXT, allow },
        });
      }
      default:
        return await this.#notFound(ctx);
    }
  }

  #normalize(path: string): string {
    if (
      this.#trailingSlash === "ignore" && path.length > 1 && path.endsWith("/")
    ) {
      return path.slice(0, -1);
    }
    return path;
  }

  #add(method: string, pattern: string, handlers: readonly Handler<S>[]): void {
    this.#methods.add(method);
    if (!pattern.startsWith("/")) {
      throw new TypeError(
        `Cannot parse route "${pattern}": must start with "/"`,
      );
    }
    const segments = splitPattern(this.#normalize(pattern)).map((s) =>
      parseSegment(s, pattern)
    );
    segments.forEach((s, i) => {
      if (s.kind === "wildcard" && i !== segments.length - 1) {
        throw new TypeError(
          `Cannot parse route "${pattern}": "*" must be last`,
        );
      }
    });
    const run = compose(handlers, (err, ctx) => this.#onError(err, ctx));
    for (const variant of expand(segments, pattern)) {
      let node = this.#root;
      const names: string[] = [];
      let isStatic = true;
      for (const seg of variant) {
        if (seg.kind === "static") {
          const key = this.#fold(seg.text);
          node.statics ??= new Map();
          let next = node.statics.get(key);
          if (next === undefined) {
            node.statics.set(key, next = newNode());
            if (key === "") node.empty = next;
            else {
              node.buckets ??= new Map();
              const code = key.charCodeAt(0);
              const bucket = node.buckets.get(code);
              const edge = { text: key, node: next };
              if (bucket === undefined) node.buckets.set(code, [edge]);
              else bucket.push(edge);
            }
          }
          node = next;
        } else if (seg.kind === "param") {
          isStatic = false;
          names.push(seg.name);
          node.params ??= [];
          let edge = node.params.find((e) => e.key === seg.constraint);
          if (edge === undefined) {
            edge = {
              key: seg.constraint,
              constraint: seg.constraint === ""
                ? null
                : new RegExp(`^(?:${seg.constraint})$`),
              node: newNode(),
            };
            node.params.push(edge);
            // Constrained edges first, in registration order; the plain one last.
            node.params.sort((a, b) =>
              (a.key === "" ? 1 : 0) - (b.key === "" ? 1 : 0)
            );
          }
          node = edge.node;
        } else {
          isStatic = false;
          names.push(seg.name);
          node = node.wildcard ??= newNode();
        }
      }
      node.routes ??= new Map();
      if (node.routes.has(method)) {
        throw new TypeError(
          `Cannot add route ${method} "${pattern}": already registered`,
        );
      }
      node.routes.set(method, {
        pattern,
        method,
        handlers,
        run,
        names,
        node,
        found: null,
      });
      // `allowed` changes below; drop results cached with the old one.
      for (const r of node.routes.values()) r.found = null;
      const methods = [...node.routes.keys()].filter((m) => m !== "ALL");
      if (methods.includes("GET")) methods.push("HEAD");
      methods.push("OPTIONS");
      node.allowed = Object.freeze(sortMethods(methods));
      if (isStatic) {
        const full = "/" +
          variant.map((s) => s.kind === "static" ? s.text : "").join("/");
        this.#statics.set(
          this.#fold(full),
          node,
        );
      }
    }
    this.#registrations.push({ method, pattern, handlers });
  }

  /** Case folding for static text: ASCII only, so lengths never change. */
  #fold(text: string): string {
    return this.#caseSensitive ? text : asciiLower(text);
  }

  /**
   * The best route for `method` at `rawPath`, or `null`. Captures are left
   * in {@linkcode CAPS} as start/end offsets into the (normalized) path,
   * {@linkcode capsLength} long: matching is synchronous, so one scratch
   * array serves every call.
   */
  #find(method: string, rawPath: string): Route<S> | null {
    capsLength = 0;
    let path = rawPath;
    if (
      this.#trailingSlash === "ignore" && path.length > 1 &&
      path.charCodeAt(path.length - 1) === 47
    ) path = path.slice(0, -1);
    matchedPath = path;
    const cmp = this.#caseSensitive ? path : asciiLower(path);
    const fast = this.#statics.get(cmp);
    if (fast !== undefined) {
      const route = pick(fast, method);
      if (route !== undefined) return route;
    }
    if (path.charCodeAt(0) !== 47) return null;
    return this.#walk(this.#root, path, cmp, 1, method);
  }

  #walk(
    node: Node<S>,
    path: string,
    cmp: string,
    pos: number,
    method: string,
  ): Route<S> | null {
    let end = path.indexOf("/", pos);
    const last = end === -1;
    if (last) end = path.length;
    const len = end - pos;
    const depth = capsLength;
    // 1. Static children, compared in place.
    let child: Node<S> | null = null;
    if (len === 0) child = node.empty;
    else if (node.buckets !== null) {
      const bucket = node.buckets.get(cmp.charCodeAt(pos));
      if (bucket !== undefined) {
        for (let i = 0; i < bucket.length; i++) {
          const edge = bucket[i]!;
          if (edge.text.length === len && cmp.startsWith(edge.text, pos)) {
            child = edge.node;
            break;
          }
        }
      }
    }
    if (child !== null) {
      const hit = last
        ? this.#terminal(child, path, method)
        : this.#walk(child, path, cmp, end + 1, method);
      if (hit !== null) return hit;
      capsLength = depth;
    }
    // 2. Params: constrained edges, then the plain one.
    if (node.params !== null && len !== 0) {
      const params = node.params;
      for (let i = 0; i < params.length; i++) {
        const edge = params[i]!;
        if (
          edge.constraint !== null &&
          !edge.constraint.test(decode(path.slice(pos, end)))
        ) continue;
        CAPS[capsLength++] = pos;
        CAPS[capsLength++] = end;
        const hit = last
          ? this.#terminal(edge.node, path, method)
          : this.#walk(edge.node, path, cmp, end + 1, method);
        if (hit !== null) return hit;
        capsLength = depth;
      }
    }
    // 3. The wildcard takes the rest.
    if (node.wildcard !== null) {
      const route = pick(node.wildcard, method);
      if (route !== undefined) {
        CAPS[capsLength++] = pos;
        CAPS[capsLength++] = path.length;
        return route;
      }
    }
    return null;
  }

  /** At the node for the last segment: its route, or its wildcard's with `""`. */
  #terminal(node: Node<S>, path: string, method: string): Route<S> | null {
    const route = pick(node, method);
    if (route !== undefined) return route;
    if (node.wildcard !== null) {
      const wild = pick(node.wildcard, method);
      if (wild !== undefined) {
        CAPS[capsLength++] = path.length;
        CAPS[capsLength++] = path.length;
        return wild;
      }
    }
    return null;
  }

  /** Slow path after a miss: 405 with the union of allowed methods, a redirect, or 404. */
  #miss(rawPath: string): MatchResult<S> {
    const allowed = this.#allowedFor(rawPath);
    if (allowed.length > 0) return { kind: "method-not-allowed", allowed };
    if (this.#trailingSlash === "redirect" && rawPath.length > 1) {
      const other = rawPath.endsWith("/")
        ? rawPath.slice(0, -1)
        : rawPath + "/";
      if (this.#allowedFor(other).length > 0) {
        return { kind: "redirect", location: other };
      }
    }
    return { kind: "not-found" };
  }

  #allowedFor(rawPath: string): string[] {
    const path = this.#normalize(rawPath);
    if (path.charCodeAt(0) !== 47) return [];
    const found = new Set<string>();
    this.#collect(this.#root, path, 1, found);
    return found.size === 0 ? [] : sortMethods(found);
  }

  #collect(node: Node<S>, path: string, pos: number, found: Set<string>): void {
    let end = path.indexOf("/", pos);
    const last = end === -1;
    if (last) end = path.length;
    const seg = path.slice(pos, end);
    const visit = (child: Node<S>) => {
      if (last) {
        for (const m of child.allowed) found.add(m);
        if (child.wildcard !== null) {
          for (const m of child.wildcard.allowed) found.add(m);
        }
      } else this.#collect(child, path, end + 1, found);
    };
    const child = node.statics?.get(
      this.#fold(seg),
    );
    if (child !== undefined) visit(child);
    if (node.params !== null && seg !== "") {
      for (const edge of node.params) {
        if (edge.constraint === null || edge.constraint.test(decode(seg))) {
          visit(edge.node);
        }
      }
    }
    if (node.wildcard !== null) {
      for (const m of node.wildcard.allowed) found.add(m);
    }
  }
}

// A mounted router's prefix and middleware (see Router.#mounts).
class Mount<S extends object> {
  readonly prefix: string;
  readonly middleware: readonly Middleware<S>[];
  readonly depth: number;
  readonly #segments: Segment[];
  readonly #fold: (text: string) => string;
  readonly #run: ComposedMiddleware<S>;

  constructor(
    prefix: string,
    middleware: readonly Middleware<S>[],
    fold: (text: string) => string,
    onError: ErrorHandler<S>,
  ) {
    this.prefix = prefix;
    this.middleware = middleware;
    this.#fold = fold;
    // Errors become responses where they are thrown, as in a route's chain.
    this.#run = compose(middleware, onError);
    this.#segments = prefix === "/"
      ? []
      : prefix.slice(1).split("/").map((seg) => {
        const parsed = parseSegment(seg, prefix);
        return parsed.kind === "static"
          ? { kind: "static", text: fold(parsed.text) }
          : parsed;
      });
    this.depth = this.#segments.length;
  }

  // The prefix's params when `path` is the prefix or below it (":param"
  // segments take any non-empty segment, "*" the rest), else null.
  paramsFor(path: string): Params | null {
    const parts = path.split("/");
    const params: Params = {};
    for (let i = 0; i < this.#segments.length; i++) {
      const want = this.#segments[i]!;
      if (want.kind === "wildcard") return params;
      const seg = parts[i + 1];
      if (seg === undefined) return null;
      if (want.kind === "param") {
        if (seg === "") return null;
        params[want.name] = decode(seg);
      } else if (this.#fold(seg) !== want.text) return null;
    }
    return params;
  }

  run(ctx: Context<S>, next: () => Promise<Response>): Promise<Response> {
    return this.#run(ctx, next);
  }
}

function pick<S extends object>(
  node: Node<S>,
  method: string,
): Route<S> | undefined {
  const routes = node.routes;
  if (routes === null) return undefined;
  return routes.get(method) ??
    (method === "HEAD" ? routes.get("GET") : undefined) ??
    routes.get("ALL");
}

function paramsOf(
  names: readonly string[],
  path: string,
  caps: readonly number[],
): Params {
  const params: Params = {};
  for (let i = 0; i < names.length; i++) {
    params[names[i]!] = decode(path.slice(caps[2 * i]!, caps[2 * i + 1]!));
  }
  return params;
}

/** ASCII-only lower case: keeps offsets valid between a path and its folded copy. */
function asciiLower(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      return text.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    }
  }
  return text;
}

// Scratch space for #find: capture offsets and the path they index.
const CAPS: number[] = [];
let capsLength = 0;
let matchedPath = "";

/** A found match whose params are built on first read, like Hono's. */
class Found<S extends object> {
  readonly kind = "found" as const;
  readonly handlers: readonly Handler<S>[];
  readonly allowed: readonly string[];
  readonly pattern: string;
  readonly #names: readonly string[];
  readonly #path: string;
  readonly #caps: readonly number[];
  #params: Params | undefined;

  constructor(route: Route<S>, path: string, caps: readonly number[]) {
    this.handlers = route.handlers;
    this.allowed = route.node.allowed;
    this.pattern = route.pattern;
    this.#names = route.names;
    this.#path = path;
    this.#caps = caps;
  }

  get params(): Readonly<Params> {
    return this.#params ??= paramsOf(this.#names, this.#path, this.#caps);
  }
}

/** Upper-cases a method and returns the shared literal for standard ones. */
function internMethod(method: string): string {
  const upper = method.toUpperCase();
  return METHOD_ORDER.find((m) => m === upper) ?? upper;
}

/**
 * h1: a hand-written HTTP/1.1 server and client for Deno, with no
 * `Deno.serve`, `node:http` or `fetch` inside.
 *
 * - `http1/`: the sans-IO protocol core (parsers, framing, serializers).
 * - `server/`: `serve()`, router, middleware, static files.
 * - `net/`: TCP and UDP helpers with typed errors.
 * - `client/`: `HTTPConnection`, a keep-alive pool and `request()`, fetch-less.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestParser } from "./mod.ts";
 *
 * const parser = new RequestParser();
 * parser.receive(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
 * assert.equal(parser.next().kind, "head");
 * ```
 *
 * @module
 */

export * from "./http1/mod.ts";
export * from "./server/mod.ts";
export * from "./net/mod.ts";
export * from "./client/mod.ts";

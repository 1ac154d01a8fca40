/**
 * The h1 server: `serve()` (a `Deno.serve` drop-in) on h1's own engine, the
 * router and middleware, body helpers and static files.
 *
 * @example Usage
 * ```ts ignore
 * import { Router, serve } from "./mod.ts";
 *
 * const app = new Router().get("/hello/:name", (ctx) =>
 *   new Response(`Hello, ${ctx.params.name}`));
 * serve({ port: 8000, hostname: "127.0.0.1" }, app.fetch);
 * ```
 *
 * @module
 */

export * from "./serve.ts";
export { BodyDiscardedError } from "./_connection.ts";
export * from "./http_server.ts";
export * from "./request_handler.ts";
export * from "./simple_request_handler.ts";
export * from "./options.ts";
export * from "./access_log.ts";
export * from "./static.ts";
export * from "./router.ts";
export * from "./middleware.ts";
export * from "./body.ts";
export {
  type MultipartEvent,
  type MultipartLimits,
  MultipartParser,
  type MultipartPart,
  parseBoundary,
} from "./multipart.ts";
export * from "./middleware/access_log.ts";
export * from "./middleware/cors.ts";
export * from "./middleware/body_limit.ts";
export * from "./middleware/timeout.ts";
export * from "./middleware/basic_auth.ts";
export * from "./middleware/compress.ts";
export * from "./memory_conn.ts";
export * from "./python_route.ts";
export * from "./middleware/serve_static.ts";

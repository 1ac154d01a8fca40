/**
 * h1's HTTP/1.1 client, without `fetch`: Python's `http.client` surface
 * (`HTTPConnection`, `HTTPSConnection`, `HTTPResponse`, its exceptions), a
 * keep-alive `Pool` with optional pipelining, `request()` returning a Web
 * `Response`, and structured traces that can be replayed.
 *
 * @example Usage
 * ```ts ignore
 * import { HTTPConnection } from "./mod.ts";
 *
 * const conn = new HTTPConnection("localhost", 8080);
 * await conn.request("GET", "/");
 * const response = await conn.getresponse();
 * console.log(response.status, response.reason);
 * console.log(await response.read());
 * conn.close();
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./http_message.ts";
export * from "./http_response.ts";
export * from "./http_connection.ts";
export * from "./pool.ts";
export * from "./request.ts";
export * from "./trace.ts";
export {
  parseTrace,
  type ReplayOptions,
  type ReplayResult,
  replayTrace,
} from "./replay.ts";

/**
 * The sans-IO HTTP/1.1 protocol core: incremental parsers, framing rules,
 * serializers and status texts. Pure functions and state machines only: no
 * sockets, no timers, nothing awaits. The server and client are thin I/O
 * loops around it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestParser, serializeResponseHead } from "./mod.ts";
 *
 * const parser = new RequestParser();
 * parser.receive(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
 * const head = parser.next();
 * assert.ok(head.kind === "head" && head.method === "GET");
 * const reply = serializeResponseHead(200, [["Content-Length", "0"]]);
 * assert.ok(reply.length > 0);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./limits.ts";
export * from "./events.ts";
export * from "./framing.ts";
export * from "./headers.ts";
export * from "./request_parser.ts";
export * from "./response_parser.ts";
export * from "./serializer.ts";
export * from "./chunked.ts";
export * from "./status.ts";

/**
 * Limits and timeouts of the server engine, shared by both handler faces.
 *
 * @module
 */

import type { Limits } from "../http1/limits.ts";

/**
 * I/O limits and timeouts of a server. Every field has a safe default in
 * {@linkcode DEFAULT_SERVER_LIMITS}; pass only what you change.
 */
export interface ServerLimits {
  /** Parser limits (start line 414, head 431, header count 431, chunk lines, trailers). */
  parser: Partial<Limits>;
  /** Time from the first byte of a request (or the end of the last response) to its complete head; past it: 408 and close. */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection waits for its next request; advertised as `Keep-Alive: timeout=N`. */
  keepAliveTimeoutMs: number;
  /** Time to receive a whole request body once its head arrived; past it: 408 and close. */
  requestTimeoutMs: number;
  /** Largest request body a handler can read (413 when declared larger, an error in the body stream when it grows larger). */
  maxBodyBytes: number;
  /** Unread request body the server discards to keep a connection alive; more and the connection closes. */
  maxDrainBytes: number;
  /** Open connections at most; further ones are closed at once. */
  maxConnections: number;
  /** Requests served on one connection before it is closed (the last response says `Connection: close`); 0 = no limit. */
  maxRequestsPerConnection: number;
  /** How long `shutdown()` lets in-flight requests finish before closing their connections. */
  shutdownTimeoutMs: number;
  /**
   * After an error response (or one that left request bytes unread), how long
   * the server keeps reading and discarding what the client still sends
   * before it closes (RFC 9112 §9.6 "staged close"), so the client can read
   * the response instead of getting a reset.
   */
  lingerTimeoutMs: number;
}

/**
 * The defaults: modelled on Node.js and nginx, tightened where they leave
 * memory unbounded.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SERVER_LIMITS } from "./options.ts";
 *
 * assert.equal(DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs, 5_000);
 * ```
 */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  parser: {},
  // Node.js: 60 s; a slow-drip (Slowloris) client should not pin a socket that long.
  headersTimeoutMs: 30_000,
  // Node.js' default; shorter than most clients' idle timeouts so the server closes first.
  keepAliveTimeoutMs: 5_000,
  // Node.js: 300 s; covers large uploads on slow links.
  requestTimeoutMs: 300_000,
  // Bodies stream, so this bounds a handler that buffers them (json(), arrayBuffer()).
  maxBodyBytes: 64 * 1024 * 1024,
  // A few small unread bodies are cheaper to skip than a new TCP handshake.
  maxDrainBytes: 256 * 1024,
  // Well under a raised fd limit; an idle connection costs about 12 KiB (bench/RESULTS.md).
  maxConnections: 16_384,
  // No cap, as in Node.js, Go and Deno.serve: a cap costs well-behaved
  // clients a reconnect and bounds nothing an idle timeout does not.
  maxRequestsPerConnection: 0,
  shutdownTimeoutMs: 10_000,
  // Go waits 500 ms; nginx reads for up to 5 s between packets. Loopback and
  // LAN clients finish sending within this; a slow uploader is cut off.
  lingerTimeoutMs: 2_000,
});

/**
 * Merges partial limits over the defaults.
 *
 * @param limits The fields to change.
 * @returns Complete limits.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveServerLimits } from "./options.ts";
 *
 * assert.equal(resolveServerLimits({ maxBodyBytes: 10 }).maxBodyBytes, 10);
 * ```
 */
export function resolveServerLimits(
  limits: Partial<ServerLimits> = {},
): Readonly<ServerLimits> {
  const merged = { ...DEFAULT_SERVER_LIMITS, ...limits };
  for (const [name, value] of Object.entries(merged)) {
    if (name === "parser") continue;
    if (typeof value !== "number" || !(value >= 0)) {
      throw new RangeError(
        `Cannot use server limit "${name}" = ${value}: not a number >= 0`,
      );
    }
  }
  return Object.freeze(merged);
}

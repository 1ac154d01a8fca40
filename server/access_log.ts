/**
 * Access log entries and the NCSA Common Log Format.
 *
 * @module
 */

import type { ProtocolError } from "../http1/errors.ts";
import { MONTH_ABBREVIATIONS, pad2 } from "./_http_date.ts";

/** One served request, as the access-log hook receives it. */
export interface AccessLogEntry {
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
  /** When the request head arrived. */
  time: Date;
  /** The method; "" when the request line could not be parsed. */
  method: string;
  /** The request-target as sent; "" when unparsed. */
  target: string;
  /** "HTTP/1.0" or "HTTP/1.1"; "" when unparsed. */
  version: string;
  /** The response status. */
  status: number;
  /** Response body bytes sent (head excluded), or null when unknown. */
  bodyBytes: number | null;
  /** Milliseconds from head to the end of the response. */
  durationMs: number;
  /** The authenticated user, when a middleware set one. */
  user?: string | undefined;
  /**
   * Set when the engine answered by itself: a malformed request, a limit or
   * a timeout (`status` is `error.statusHint`).
   */
  error?: ProtocolError | undefined;
  /**
   * Set when an `onUpgrade` hook took the socket; `status` is then 101 (or
   * 200 for CONNECT), what the hook is expected to send.
   */
  upgraded?: boolean | undefined;
}

/**
 * Formats a date as the Common Log Format does: `10/Oct/2000:13:55:36 +0000` (UTC).
 *
 * @param date The time.
 * @returns The formatted time, without brackets.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatLogTime } from "./access_log.ts";
 *
 * assert.equal(formatLogTime(new Date(Date.UTC(2000, 9, 10, 13, 55, 36))), "10/Oct/2000:13:55:36 +0000");
 * ```
 */
export function formatLogTime(date: Date): string {
  return `${pad2(date.getUTCDate())}/${
    MONTH_ABBREVIATIONS[date.getUTCMonth()]
  }/${date.getUTCFullYear()}:${pad2(date.getUTCHours())}:${
    pad2(date.getUTCMinutes())
  }:${pad2(date.getUTCSeconds())} +0000`;
}

/**
 * Formats an entry in the NCSA Common Log Format:
 * `host ident authuser [date] "request-line" status bytes`.
 *
 * @param entry The served request.
 * @returns One log line, without a newline.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCommonLog } from "./access_log.ts";
 *
 * const line = formatCommonLog({
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5000 },
 *   time: new Date(Date.UTC(2000, 9, 10, 13, 55, 36)),
 *   method: "GET", target: "/a.gif", version: "HTTP/1.0",
 *   status: 200, bodyBytes: 2326, durationMs: 1,
 * });
 * assert.equal(line, '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a.gif HTTP/1.0" 200 2326');
 * ```
 */
export function formatCommonLog(entry: AccessLogEntry): string {
  const requestLine = entry.method === ""
    ? "-"
    : `${entry.method} ${entry.target} ${entry.version}`;
  return `${entry.remoteAddr.hostname} - ${entry.user ?? "-"} [${
    formatLogTime(entry.time)
  }] "${requestLine}" ${entry.status} ${entry.bodyBytes ?? "-"}`;
}

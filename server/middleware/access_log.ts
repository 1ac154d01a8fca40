/**
 * {@linkcode accessLog}: one NCSA Common Log Format line per request.
 *
 * @module
 */

import { formatCommonLog } from "../access_log.ts";
import type { Middleware } from "../middleware.ts";
import { parseBasicAuth } from "./basic_auth.ts";

/** Options for {@linkcode accessLog}. */
export interface AccessLogOptions {
  /** Where lines go (without newline); default: stderr. */
  write?: (line: string) => void;
  /** Clock, for tests; default `() => new Date()`. */
  now?: () => Date;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function basicUser(req: Request): string {
  // The name as basicAuth() reads it (UTF-8, RFC 7617 §2.1).
  const user = parseBasicAuth(req.headers.get("authorization"))?.[0] ?? "";
  // Attacker-chosen bytes: no controls (ESC, NUL, DEL, C1) reach a log or
  // the terminal showing it (CWE-117), nor a quote or space that would
  // break the line's fields.
  return user === ""
    ? "-"
    // deno-lint-ignore no-control-regex
    : user.replace(/[\x00-\x20\x7f-\x9f"\\\s]/g, "_").slice(0, 64);
}

/**
 * Logs `host ident authuser [date] "request" status bytes` per request.
 * `bytes` is the response `Content-Length` header, or `-` when the handler
 * did not set one (a Web `Response` built from a string has none: the engine
 * frames it later).
 * A handler that throws is logged as 500 and the error is rethrown.
 *
 * @param options Sink and clock.
 * @returns The middleware.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { withMiddleware } from "../middleware.ts";
 * import { accessLog } from "./access_log.ts";
 *
 * const lines: string[] = [];
 * const handler = withMiddleware(() => new Response("hello"), accessLog({
 *   write: (line) => lines.push(line),
 *   now: () => new Date(Date.UTC(2000, 9, 10, 13, 55, 36)),
 * }));
 * await handler(new Request("http://h/a?b=1"), { remoteAddr: { hostname: "127.0.0.1", port: 5000 } });
 * assert.deepEqual(lines, ['127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a?b=1 HTTP/1.1" 200 -']);
 * ```
 */
export function accessLog<S extends object = Record<string, unknown>>(
  options: AccessLogOptions = {},
): Middleware<S> {
  const write = options.write ?? writeStderr;
  const now = options.now ?? (() => new Date());
  return async (ctx, next) => {
    const started = now();
    const req = ctx.req;
    let status = 500;
    let size: number | null = null;
    try {
      const res = await next();
      status = res.status;
      const length = res.headers.get("content-length");
      if (length !== null && /^\d+$/.test(length)) size = Number(length);
      else if (res.body === null) size = 0;
      return res;
    } finally {
      const url = req.url;
      const scheme = url.indexOf("://");
      const slash = url.indexOf("/", scheme === -1 ? 0 : scheme + 3);
      const target = (slash === -1 ? "/" : url.slice(slash)).replace(
        /["\\\s]/g,
        (c) => encodeURIComponent(c),
      );
      const addr = ctx.info?.remoteAddr;
      write(formatCommonLog({
        remoteAddr: {
          transport: "tcp",
          hostname: addr?.hostname ?? "-",
          port: addr?.port ?? 0,
        },
        time: started,
        method: req.method,
        target,
        version: "HTTP/1.1",
        status,
        bodyBytes: size,
        durationMs: now().getTime() - started.getTime(),
        user: basicUser(req),
      }));
    }
  };
}

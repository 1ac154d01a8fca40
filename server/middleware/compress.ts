/**
 * {@linkcode compress}: gzip or deflate responses with `CompressionStream`.
 *
 * @module
 */

import type { Middleware } from "../middleware.ts";
import { appendVary } from "./cors.ts";
import { staticResponseParts } from "../_static_response_body.ts";

/** Codings this middleware can produce. */
export type Coding = "gzip" | "deflate";

/** Options for {@linkcode compress}. */
export interface CompressOptions {
  /** Skip bodies whose `Content-Length` is below this. Default 1024. */
  minBytes?: number;
  /** Which content types to compress. Default: text, JSON, JS, XML, SVG, wasm. */
  filter?: (contentType: string) => boolean;
}

const COMPRESSIBLE =
  /^(text\/|application\/(json|javascript|xml|wasm|[^;]*\+(json|xml))|image\/svg\+xml)/i;

/**
 * Picks the coding to use from `Accept-Encoding` (RFC 9110 §12.5.3), honouring
 * q-values; ties prefer gzip. `identity`-only or `q=0` everywhere → `null`.
 *
 * @param acceptEncoding The header value, or `null`.
 * @returns `"gzip"`, `"deflate"` or `null`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { negotiateEncoding } from "./compress.ts";
 *
 * assert.equal(negotiateEncoding("deflate, gzip;q=0.5"), "deflate");
 * assert.equal(negotiateEncoding("*;q=0.1, gzip;q=0"), "deflate");
 * assert.equal(negotiateEncoding("br"), null);
 * ```
 */
export function negotiateEncoding(
  acceptEncoding: string | null,
): Coding | null {
  if (acceptEncoding === null) return null;
  const q = new Map<string, number>();
  for (const item of acceptEncoding.split(",")) {
    const [rawName, ...params] = item.split(";");
    const name = rawName!.trim().toLowerCase();
    if (name === "") continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m !== null) weight = Math.min(1, Math.max(0, Number(m[1]) || 0));
    }
    q.set(name, weight);
  }
  const star = q.get("*");
  const weightOf = (c: Coding) =>
    q.get(c) ?? (c === "gzip" ? q.get("x-gzip") : undefined) ?? star ?? 0;
  const gzip = weightOf("gzip");
  const deflate = weightOf("deflate");
  if (gzip <= 0 && deflate <= 0) return null;
  const best = Math.max(gzip, deflate);
  // RFC 9110 §12.5.3: identity is acceptable unless refused, and a client
  // may prefer it ("gzip;q=0.1, identity").
  if ((q.get("identity") ?? 0) > best) return null;
  return gzip >= deflate ? "gzip" : "deflate";
}

/**
 * Compresses response bodies per `Accept-Encoding`. Skips `HEAD`, bodiless
 * and 204/206/304 responses, bodies already encoded, `Cache-Control:
 * no-transform`, small bodies (below `minBytes`) and types the filter
 * rejects. Sets `Vary: Accept-Encoding` on every compressible response,
 * drops `Content-Length` and weakens a strong `ETag`.
 *
 * @param options Size threshold and type filter.
 * @returns The middleware.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Router } from "../router.ts";
 * import { compress } from "./compress.ts";
 *
 * const app = new Router().use(compress()).get("/", () => new Response("a".repeat(5000)));
 * const res = await app.request("/", { headers: { "accept-encoding": "gzip" } });
 * assert.equal(res.headers.get("content-encoding"), "gzip");
 * const plain = await new Response(res.body!.pipeThrough(new DecompressionStream("gzip"))).text();
 * assert.equal(plain.length, 5000);
 * ```
 */
export function compress<S extends object = Record<string, unknown>>(
  options: CompressOptions = {},
): Middleware<S> {
  const minBytes = options.minBytes ?? 1024;
  const filter = options.filter ?? ((type: string) => COMPRESSIBLE.test(type));
  return async (ctx, next) => {
    const res = await next();
    if (res.status === 304) return notModified(ctx.req, res, filter, minBytes);
    // Untouched: the router measures a HEAD's body as it was built.
    if (ctx.req.method === "HEAD") return res;
    // A string or bytes body has a size before Content-Length is set; read
    // it before `res.body` turns that body into a stream.
    const declared = res.headers.get("content-length");
    const length = declared !== null
      ? Number(declared)
      : knownBodyLength(res, minBytes);
    if (res.body === null) return res;
    if (res.status === 204 || res.status === 206) return res;
    const headers = res.headers;
    const type = headers.get("content-type") ?? "";
    if (!filter(type)) return res;
    if (headers.has("content-encoding")) return res;
    if (/\bno-transform\b/i.test(headers.get("cache-control") ?? "")) {
      return res;
    }
    const out = new Headers(headers);
    appendVary(out, "Accept-Encoding");
    const coding = negotiateEncoding(ctx.req.headers.get("accept-encoding"));
    if (coding === null || (length !== null && length < minBytes)) {
      return new Response(res.body, {
        status: res.status,
        statusText: res.statusText,
        headers: out,
      });
    }
    out.set("content-encoding", coding);
    out.delete("content-length");
    // Ranges of the encoded bytes are not served (a Range request gets the
    // identity bytes), so the encoded response must not advertise them.
    out.delete("accept-ranges");
    weakenEtag(out);
    return new Response(res.body.pipeThrough(new CompressionStream(coding)), {
      status: res.status,
      statusText: res.statusText,
      headers: out,
    });
  };
}

// The encoded body is not byte-for-byte the identity one: its ETag is weak.
function weakenEtag(headers: Headers): void {
  const etag = headers.get("etag");
  if (etag !== null && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`);
}

// RFC 9110 §15.4.5: a 304 carries the ETag and Vary the 200 would have had.
// The 200 would have been encoded when the client takes a coding and the
// type (and length, when the 304 gives them) would have passed.
function notModified(
  req: Request,
  res: Response,
  filter: (type: string) => boolean,
  minBytes: number,
): Response {
  const headers = res.headers;
  const type = headers.get("content-type");
  const length = headers.get("content-length");
  const out = new Headers(headers);
  appendVary(out, "Accept-Encoding");
  if (
    negotiateEncoding(req.headers.get("accept-encoding")) !== null &&
    (type === null || filter(type)) &&
    (length === null || Number(length) >= minBytes) &&
    !/\bno-transform\b/i.test(headers.get("cache-control") ?? "")
  ) {
    // Nor the identity length or byte ranges the encoded 200 would not have.
    weakenEtag(out);
    out.delete("content-length");
    out.delete("accept-ranges");
  }
  return new Response(null, {
    status: 304,
    statusText: res.statusText,
    headers: out,
  });
}

// The size of a string or bytes body, without reading it, else null (a
// stream). A string of `atLeast` UTF-16 units or more has at least that
// many bytes: it is not encoded just to be measured.
function knownBodyLength(res: Response, atLeast: number): number | null {
  const body = staticResponseParts(res)?.body;
  if (body === undefined || body === null) return null;
  if (typeof body !== "string") return body.length;
  return body.length >= atLeast ? body.length : encoder.encode(body).length;
}

const encoder = new TextEncoder();

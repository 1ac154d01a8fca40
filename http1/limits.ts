/**
 * Upper bounds the parsers enforce.
 *
 * @module
 */

/**
 * Upper bounds the parsers enforce; crossing one throws a `ProtocolError`
 * whose `statusHint` is given with each field.
 */
export interface Limits {
  /**
   * Longest request line or status line, CRLF excluded (414 for a request:
   * in practice only the target makes a request line long).
   */
  maxStartLineBytes: number;
  /**
   * Longest head: start line, fields, empty line and all CRLFs (431). For
   * responses, also the total of the interim (1xx) heads before a final one.
   */
  maxHeadBytes: number;
  /** Most header fields in one head (431). */
  maxHeaderCount: number;
  /** Longest chunk-size line, chunk extensions included (400). */
  maxChunkLineBytes: number;
  /** Largest trailer section after the last chunk (431). */
  maxTrailerBytes: number;
}

/**
 * Defaults chosen to fit real browsers and API clients with room to spare
 * while keeping the memory one connection can pin small.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_LIMITS } from "./mod.ts";
 *
 * assert.equal(DEFAULT_LIMITS.maxHeaderCount, 100);
 * ```
 */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  // Browsers cap URLs near 8 KiB in practice (and nginx's default line buffer is 8 KiB).
  maxStartLineBytes: 8 * 1024,
  // Node.js uses 16 KiB: a large cookie jar plus auth headers fit; more is abuse.
  maxHeadBytes: 16 * 1024,
  // Browsers send 10 to 20 fields; 100 matches Go, hyper and Node.
  maxHeaderCount: 100,
  // A hex size plus a few short extensions; unbounded extensions are a DoS vector.
  maxChunkLineBytes: 1024,
  // Trailers are rare and small (checksums, timing); cap them like a small head.
  maxTrailerBytes: 8 * 1024,
});

/**
 * Merges partial limits over the defaults, once, at construction time.
 *
 * @param limits Fields to override.
 * @returns A complete, frozen set of limits.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveLimits } from "./mod.ts";
 *
 * assert.equal(resolveLimits({ maxHeaderCount: 10 }).maxHeaderCount, 10);
 * ```
 */
export function resolveLimits(limits: Partial<Limits> = {}): Readonly<Limits> {
  // One resolved object per options object: every connection's parser shares it.
  const cached = resolvedCache.get(limits);
  if (cached !== undefined) return cached;
  const resolved = resolveUncached(limits);
  resolvedCache.set(limits, resolved);
  return resolved;
}

const resolvedCache = new WeakMap<Partial<Limits>, Readonly<Limits>>();

function resolveUncached(limits: Partial<Limits>): Readonly<Limits> {
  const merged = { ...DEFAULT_LIMITS, ...limits };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(
        `Cannot use limit "${name}" = ${value}: not a positive integer`,
      );
    }
  }
  return Object.freeze(merged);
}

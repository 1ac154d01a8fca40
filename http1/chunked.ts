/**
 * The chunked transfer coding, encoding side (decoding lives in the parsers).
 *
 * @module
 */

import { encodeLatin1, type FieldInput } from "./serializer.ts";
import { assertValidField, trimFieldValue } from "./serializer.ts";

const CRLF = new Uint8Array([0x0d, 0x0a]);
const LAST_CHUNK = new Uint8Array([0x30, 0x0d, 0x0a, 0x0d, 0x0a]);

/**
 * Frames bytes as one chunk (RFC 9112 §7.1): hex size, CRLF, data, CRLF.
 * An empty input would end the body, so it yields an empty array instead.
 *
 * @param data The chunk's bytes.
 * @returns The framed chunk (a copy).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeChunk } from "./mod.ts";
 *
 * const chunk = encodeChunk(new TextEncoder().encode("hello"));
 * assert.equal(new TextDecoder().decode(chunk), "5\r\nhello\r\n");
 * ```
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array(0);
  const size = encodeLatin1(data.length.toString(16));
  const out = new Uint8Array(size.length + 2 + data.length + 2);
  out.set(size, 0);
  out.set(CRLF, size.length);
  out.set(data, size.length + 2);
  out.set(CRLF, size.length + 2 + data.length);
  return out;
}

/**
 * The chunk header alone ("5\r\n"), for writing a large chunk's data without
 * copying it: write the header, the data, then {@linkcode CHUNK_END}.
 *
 * @param size The chunk's size, above zero.
 * @returns The header's bytes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeChunkHeader } from "./mod.ts";
 *
 * assert.equal(new TextDecoder().decode(encodeChunkHeader(255)), "ff\r\n");
 * ```
 */
export function encodeChunkHeader(size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new RangeError(`Cannot frame a chunk of ${size} bytes`);
  }
  return encodeLatin1(size.toString(16) + "\r\n");
}

/** The CRLF that ends a chunk's data. */
export const CHUNK_END: Uint8Array = CRLF;

/**
 * The last chunk and trailer section that end a chunked body.
 *
 * @param trailers Trailer fields to send, validated like headers.
 * @returns The bytes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeLastChunk } from "./mod.ts";
 *
 * assert.equal(new TextDecoder().decode(encodeLastChunk()), "0\r\n\r\n");
 * assert.equal(
 *   new TextDecoder().decode(encodeLastChunk([["Digest", "x"]])),
 *   "0\r\nDigest: x\r\n\r\n",
 * );
 * ```
 */
export function encodeLastChunk(trailers?: FieldInput): Uint8Array {
  if (trailers === undefined) return LAST_CHUNK;
  let text = "0\r\n";
  for (const [name, raw] of trailers) {
    const value = trimFieldValue(raw);
    assertValidField(name, value);
    text += name + ": " + value + "\r\n";
  }
  return encodeLatin1(text + "\r\n");
}

/**
 * Read exactly n bytes from a socket without reading past them.
 *
 * @module
 */

import { netAddressOf } from "./_address.ts";
import { withTimeout } from "./_deadline.ts";
import type { Reader, ReadOptions } from "./buffered_reader.ts";
import { TimeoutError, toNetError, UnexpectedEofError } from "./errors.ts";

/**
 * Reads exactly `n` bytes from `reader`, asking each `read` for no more than
 * is still missing, so the bytes after them stay in the socket for the next
 * reader (asyncio's `readexactly`; Python's `recv` loop).
 *
 * After a `TimeoutError` the read in flight is abandoned and its bytes are
 * lost: close the connection, or use `BufferedReader.readExactly`, which
 * keeps them.
 *
 * @param reader The socket to read from.
 * @param n How many bytes to read.
 * @param options Timeout for the whole call, in milliseconds.
 * @returns A fresh array of length `n`.
 * @throws {UnexpectedEofError} When the peer closes first.
 * @throws {TimeoutError} When the bytes do not all arrive in time.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { readExactly } from "./read_exactly.ts";
 * import { UnexpectedEofError } from "./errors.ts";
 *
 * const source = new TextEncoder().encode("abcdef");
 * let offset = 0;
 * const reader = {
 *   read(p: Uint8Array): Promise<number | null> {
 *     if (offset === source.length) return Promise.resolve(null);
 *     const n = Math.min(2, p.length, source.length - offset);
 *     p.set(source.subarray(offset, offset + n));
 *     offset += n;
 *     return Promise.resolve(n);
 *   },
 * };
 * assert.deepEqual(await readExactly(reader, 5), source.subarray(0, 5));
 * await assert.rejects(readExactly(reader, 2), UnexpectedEofError);
 * ```
 */
export async function readExactly(
  reader: Reader,
  n: number,
  options: ReadOptions = {},
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Cannot read ${n} bytes: not a non-negative integer`);
  }
  const { timeoutMs } = options;
  const peer = netAddressOf(reader.remoteAddr);
  const started = performance.now();
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    let count: number | null;
    try {
      count = await withTimeout(
        reader.read(out.subarray(got)),
        timeoutMs === undefined
          ? undefined
          : timeoutMs - (performance.now() - started),
        () => new TimeoutError("read", timeoutMs, peer),
      );
    } catch (error) {
      throw toNetError(error, peer);
    }
    if (count === null) throw new UnexpectedEofError(out.slice(0, got), n);
    got += count;
  }
  return out;
}

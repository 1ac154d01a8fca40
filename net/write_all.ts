/**
 * Write every byte to a socket (Python's `sendall`).
 *
 * @module
 */

import { netAddressOf } from "./_address.ts";
import { withTimeout } from "./_deadline.ts";
import { TimeoutError, toNetError } from "./errors.ts";

/** Anything with `write(p)`, such as a `Deno.Conn`. */
export interface Writer {
  /** Writes some of `p`; resolves to how many bytes were taken. */
  write(p: Uint8Array): Promise<number>;
  /** The peer's address, used in error messages when present. */
  readonly remoteAddr?: Deno.Addr;
}

/** Options for {@linkcode writeAll}. */
export interface WriteAllOptions {
  /**
   * Throw `TimeoutError` if the peer has not taken every byte by then, in
   * milliseconds. The connection is then in an unknown state: close it.
   */
  timeoutMs?: number;
}

/**
 * Writes all of `bytes`, looping over short writes (Python's `sendall`).
 *
 * @param writer The socket to write to.
 * @param bytes What to send.
 * @param options Timeout for the whole call.
 * @returns Resolves once the OS has taken every byte.
 * @throws {ConnectionResetError} When the peer has gone away.
 * @throws {TimeoutError} When the peer stops reading for too long.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeAll } from "./write_all.ts";
 *
 * const received: number[] = [];
 * const writer = {
 *   write(p: Uint8Array): Promise<number> {
 *     received.push(p[0]!); // takes one byte per call
 *     return Promise.resolve(1);
 *   },
 * };
 * await writeAll(writer, new Uint8Array([1, 2, 3]));
 * assert.deepEqual(received, [1, 2, 3]);
 * ```
 */
export async function writeAll(
  writer: Writer,
  bytes: Uint8Array,
  options: WriteAllOptions = {},
): Promise<void> {
  const { timeoutMs } = options;
  const peer = netAddressOf(writer.remoteAddr);
  const started = performance.now();
  let written = 0;
  while (written < bytes.length) {
    try {
      written += await withTimeout(
        writer.write(bytes.subarray(written)),
        timeoutMs === undefined
          ? undefined
          : timeoutMs - (performance.now() - started),
        () => new TimeoutError("write", timeoutMs, peer),
      );
    } catch (error) {
      throw toNetError(error, peer);
    }
  }
}

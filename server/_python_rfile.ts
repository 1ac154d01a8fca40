/**
 * `BaseHTTPRequestHandler.rfile`: the request body as a Python binary file.
 *
 * @module
 */

import { concatBytes } from "../http1/_chars.ts";

/** Where the body comes from: the engine's exchange, or anything alike. */
export interface BodySource {
  /** The next piece of body, or null at its end. */
  readBody(): Promise<Uint8Array | null>;
}

const EMPTY = new Uint8Array(0);
const LF = 0x0a;

/**
 * The request body, readable like Python's `rfile`: `read(n)`, `read1(n)`,
 * `readline(limit)`, `readlines()`, and `for await` over lines. Unlike
 * Python's `rfile` (the raw socket), it holds only this request's body,
 * already de-chunked, and `read()` returns at the body's end instead of
 * waiting for the client to close: reading past the body cannot hang a
 * keep-alive connection. Every method returns an empty array at the end.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RFile } from "./_python_rfile.ts";
 *
 * const chunks = ["line 1\nli", "ne 2\nrest"].map((s) => new TextEncoder().encode(s));
 * const rfile = new RFile({ readBody: async () => chunks.shift() ?? null });
 * const text = (b: Uint8Array) => new TextDecoder().decode(b);
 * assert.equal(text(await rfile.readline()), "line 1\n");
 * assert.equal(text(await rfile.read(4)), "line");
 * assert.equal(text(await rfile.read()), " 2\nrest");
 * assert.equal((await rfile.read()).length, 0);
 * ```
 */
export class RFile implements AsyncIterable<Uint8Array> {
  readonly #source: BodySource;
  #buffer: Uint8Array = EMPTY;
  #eof = false;

  /**
   * Reads from `source`.
   *
   * @param source Hands out the body in pieces.
   */
  constructor(source: BodySource) {
    this.#source = source;
  }

  // Refills an empty buffer; false at the end of the body.
  async #fill(): Promise<boolean> {
    while (this.#buffer.length === 0) {
      if (this.#eof) return false;
      const chunk = await this.#source.readBody();
      if (chunk === null) {
        this.#eof = true;
        return false;
      }
      this.#buffer = chunk;
    }
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /**
   * Reads `size` bytes, fewer only at the end of the body; with no size (or
   * a negative one), reads the rest of the body.
   *
   * @param size How many bytes to read.
   * @returns The bytes; empty at the end.
   */
  async read(size = -1): Promise<Uint8Array> {
    if (size === 0) return EMPTY;
    const parts: Uint8Array[] = [];
    let length = 0;
    while (size < 0 || length < size) {
      if (!await this.#fill()) break;
      const want = size < 0 ? this.#buffer.length : size - length;
      const part = this.#take(Math.min(want, this.#buffer.length));
      parts.push(part);
      length += part.length;
    }
    return parts.length === 0 ? EMPTY : concatBytes(parts, length);
  }

  /**
   * Reads at most `size` bytes with at most one read from the socket (what
   * is buffered, or one piece).
   *
   * @param size Most bytes to return; negative for whatever is available.
   * @returns The bytes; empty at the end.
   */
  async read1(size = -1): Promise<Uint8Array> {
    if (size === 0) return EMPTY;
    if (!await this.#fill()) return EMPTY;
    return this.#take(size < 0 ? this.#buffer.length : size);
  }

  /**
   * Reads one line, up to and including `\n`, or at most `limit` bytes.
   *
   * @param limit Most bytes to return; negative for no limit.
   * @returns The line; empty at the end.
   */
  async readline(limit = -1): Promise<Uint8Array> {
    if (limit === 0) return EMPTY;
    const parts: Uint8Array[] = [];
    let length = 0;
    while (limit < 0 || length < limit) {
      if (!await this.#fill()) break;
      const room = limit < 0 ? this.#buffer.length : limit - length;
      const window = this.#buffer.subarray(0, room);
      const lf = window.indexOf(LF);
      const part = this.#take(lf === -1 ? window.length : lf + 1);
      parts.push(part);
      length += part.length;
      if (lf !== -1) break;
    }
    return parts.length === 0 ? EMPTY : concatBytes(parts, length);
  }

  /**
   * Reads the remaining lines.
   *
   * @param hint Stop once the lines read total this many bytes; negative for all.
   * @returns The lines, each with its `\n`.
   */
  async readlines(hint = -1): Promise<Uint8Array[]> {
    const lines: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) break;
      lines.push(line);
      total += line.length;
      if (hint > 0 && total >= hint) break;
    }
    return lines;
  }

  /** The remaining lines, as `for line in rfile` yields them. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }
}

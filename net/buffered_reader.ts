/**
 * A buffered reader over a socket: lines, exact byte counts and per-call
 * timeouts, keeping the bytes it read ahead for the next call.
 *
 * @module
 */

import { netAddressOf } from "./_address.ts";
import { withTimeout } from "./_deadline.ts";
import {
  LimitOverrunError,
  TimeoutError,
  toNetError,
  UnexpectedEofError,
} from "./errors.ts";

/** Anything with `read(p)`, such as a `Deno.Conn`. */
export interface Reader {
  /** Reads into `p`; resolves to the byte count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** The peer's address, used in error messages when present. */
  readonly remoteAddr?: Deno.Addr;
}

/** Options for {@linkcode BufferedReader}. */
export interface BufferedReaderOptions {
  /** Bytes asked of each underlying `read`. */
  bufferSize?: number;
  /** Default timeout of every call, in milliseconds (Python's `settimeout`). */
  timeoutMs?: number;
}

/** Options for one read call. */
export interface ReadOptions {
  /** Throw `TimeoutError` if the whole call takes longer, in milliseconds. */
  timeoutMs?: number;
}

/** Options for {@linkcode BufferedReader.readLine}. */
export interface ReadLineOptions extends ReadOptions {
  /** Longest line accepted, in bytes before the newline. */
  maxBytes?: number;
}

/** Default {@linkcode BufferedReaderOptions.bufferSize}: one read's worth. */
export const DEFAULT_BUFFER_SIZE = 16 * 1024;
/** Default {@linkcode ReadLineOptions.maxBytes}: far above any chat line. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

// When a call must be done by (performance.now() ms), and its limit.
type Deadline = { at: number; ms: number };

// A U+FEFF at the start of a line is text, not a byte-order mark (Python's
// decode('utf-8') keeps it too).
const DECODER = new TextDecoder("utf-8", { ignoreBOM: true });
const LF = 0x0a;
const CR = 0x0d;

/**
 * Reads lines, exact byte counts or whatever arrived from a socket, with
 * per-call timeouts like Python's `socket.settimeout`.
 *
 * A timed-out call leaves the reader usable: the read in flight is kept and
 * its bytes go to the next call, so nothing is lost (unlike racing
 * `conn.read` against a timer yourself). Do not read the underlying conn
 * directly once a `BufferedReader` wraps it: the reader may hold bytes ahead.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { BufferedReader } from "./buffered_reader.ts";
 *
 * const chunks = ["HEL", "LO\r\nwor", "ld\n12345"].map((s) =>
 *   new TextEncoder().encode(s)
 * );
 * const reader = new BufferedReader({
 *   read(p: Uint8Array): Promise<number | null> {
 *     const chunk = chunks.shift();
 *     if (chunk === undefined) return Promise.resolve(null);
 *     p.set(chunk);
 *     return Promise.resolve(chunk.length);
 *   },
 * });
 * assert.equal(await reader.readLine(), "HELLO");
 * assert.equal(await reader.readLine(), "world");
 * assert.deepEqual(await reader.readExactly(3), new TextEncoder().encode("123"));
 * assert.equal(await reader.readLine(), "45");
 * assert.equal(await reader.readLine(), null);
 * ```
 */
export class BufferedReader {
  /** Default timeout for calls that pass none, in ms; `undefined` waits forever. */
  timeoutMs: number | undefined;
  #reader: Reader;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  // The underlying read in flight; its bytes are taken in (once) when it
  // settles, whoever waits on it, and its error is each waiter's.
  #pending: Promise<unknown> | undefined;
  // Calls run one at a time, in the order made (as Python's buffered
  // reader takes a lock): two at once would both take the same bytes.
  #turn: Promise<unknown> = Promise.resolve();
  readonly #initialSize: number;

  /**
   * Creates a new `BufferedReader`.
   *
   * @param reader The socket (or any `Reader`) to read from.
   * @param options Buffer size and default timeout.
   */
  constructor(reader: Reader, options: BufferedReaderOptions = {}) {
    const size = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new RangeError(
        `Cannot use bufferSize ${size}: expected a whole number of bytes >= 1`,
      );
    }
    this.#reader = reader;
    this.#buf = new Uint8Array(size);
    this.#initialSize = size;
    this.timeoutMs = options.timeoutMs;
  }

  /** How many bytes are read ahead and waiting. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Reads whatever is available: buffered bytes, else one underlying read.
   *
   * @param options Timeout for this call.
   * @returns A fresh copy of the bytes, or `null` at end of stream.
   * @throws {TimeoutError} When nothing arrives in time.
   */
  read(options: ReadOptions = {}): Promise<Uint8Array | null> {
    return this.#inTurn(options, (deadline) => this.#read(deadline));
  }

  async #read(deadline: Deadline | undefined): Promise<Uint8Array | null> {
    // A read of 0 bytes is not the end of the stream: read again.
    while (this.buffered === 0 && !this.#eof) await this.#fill(deadline);
    if (this.buffered === 0) return null;
    const bytes = this.#buf.slice(this.#start, this.#end);
    // Not back to 0: a read kept from a timed-out call is still filling the
    // buffer after #end (#fill rewinds once nothing is pending).
    this.#start = this.#end;
    this.#shrinkIfDrained();
    return bytes;
  }

  /**
   * Reads exactly `n` bytes (asyncio's `readexactly`).
   *
   * @param n How many bytes to read.
   * @param options Timeout for the whole call.
   * @returns A fresh array of length `n`.
   * @throws {UnexpectedEofError} When the stream ends first; the bytes that
   *   did arrive are in `partial`.
   * @throws {TimeoutError} When the bytes do not all arrive in time.
   */
  readExactly(n: number, options: ReadOptions = {}): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n < 0) {
      return Promise.reject(
        new RangeError(`Cannot read ${n} bytes: not a non-negative integer`),
      );
    }
    return this.#inTurn(
      options,
      (deadline) => this.#readExactly(n, deadline),
    );
  }

  // Nothing is taken until all n bytes are here (asyncio's readexactly
  // does the same): a call that times out leaves every byte for the next.
  async #readExactly(
    n: number,
    deadline: Deadline | undefined,
  ): Promise<Uint8Array> {
    while (this.buffered < n && !this.#eof) await this.#fill(deadline, n);
    const take = Math.min(n, this.buffered);
    const out = this.#buf.slice(this.#start, this.#start + take);
    this.#start += take;
    this.#shrinkIfDrained();
    if (take < n) throw new UnexpectedEofError(out, n);
    return out;
  }

  /**
   * Reads one line, ending in `\n` or `\r\n`, and decodes it as UTF-8.
   * A last line without a newline is returned at end of stream.
   *
   * @param options Timeout for the whole call and the longest line accepted.
   * @returns The line without its ending, or `null` at end of stream.
   * @throws {LimitOverrunError} When more than `maxBytes` arrive without a
   *   newline; close the connection, the rest of the line is still unread.
   * @throws {TimeoutError} When no full line arrives in time.
   */
  readLine(options: ReadLineOptions = {}): Promise<string | null> {
    return this.#inTurn(
      options,
      (deadline) => this.#readLine(deadline, options.maxBytes),
    );
  }

  async #readLine(
    deadline: Deadline | undefined,
    maxBytes = DEFAULT_MAX_LINE_BYTES,
  ): Promise<string | null> {
    let scanned = this.#start;
    while (true) {
      const at = this.#buf.subarray(scanned, this.#end).indexOf(LF);
      if (at !== -1) {
        const lf = scanned + at;
        const stop = lf > this.#start && this.#buf[lf - 1] === CR ? lf - 1 : lf;
        if (stop - this.#start > maxBytes) {
          throw new LimitOverrunError(maxBytes);
        }
        const line = DECODER.decode(this.#buf.subarray(this.#start, stop));
        this.#start = lf + 1;
        this.#shrinkIfDrained();
        return line;
      }
      scanned = this.#end;
      // One more byte than the limit may be the CR of a CRLF ending.
      if (this.buffered > maxBytes + 1) throw new LimitOverrunError(maxBytes);
      if (this.#eof) {
        if (this.buffered === 0) return null;
        // No newline is coming, so no CR either: the limit is exact.
        if (this.buffered > maxBytes) throw new LimitOverrunError(maxBytes);
        const line = DECODER.decode(this.#buf.subarray(this.#start, this.#end));
        this.#start = this.#end = 0;
        this.#shrinkIfDrained();
        return line;
      }
      const offset = this.#start;
      await this.#fill(deadline, maxBytes + 2);
      scanned -= offset - this.#start;
    }
  }

  // Runs `call` once the calls before it are done. The call's time limit
  // starts now: waiting for its turn counts (a call with 50 ms behind one
  // that waits for ever still fails after 50 ms).
  #inTurn<T>(
    options: ReadOptions,
    call: (deadline: Deadline | undefined) => Promise<T>,
  ): Promise<T> {
    const deadline = this.#deadline(options);
    const before = this.#turn;
    const result = (async () => {
      if (deadline === undefined) await before;
      else {
        await withTimeout(
          before,
          deadline.at - performance.now(),
          () => this.#timeoutError(deadline),
        );
      }
      return await call(deadline);
    })();
    // The next call waits for both: this one may give up before the one
    // ahead of it is done.
    this.#turn = Promise.allSettled([before, result]);
    return result;
  }

  #timeoutError(deadline: Deadline): TimeoutError {
    return new TimeoutError(
      "read",
      deadline.ms,
      netAddressOf(this.#reader.remoteAddr),
    );
  }

  // A buffer grown for one long line or readExactly goes back to its first
  // size once it is empty and no read is filling it.
  #shrinkIfDrained(): void {
    if (
      this.#start === this.#end && this.#pending === undefined &&
      this.#buf.length > this.#initialSize
    ) {
      this.#buf = new Uint8Array(this.#initialSize);
      this.#start = this.#end = 0;
    }
  }

  #deadline(options: ReadOptions): Deadline | undefined {
    const ms = options.timeoutMs ?? this.timeoutMs;
    return ms === undefined ? undefined : { at: performance.now() + ms, ms };
  }

  // Reads once more into the free tail, compacting or growing the buffer
  // (up to `growTo` bytes) first. A read still pending from a timed-out call
  // is awaited instead of starting another, so its bytes land in order.
  async #fill(deadline: Deadline | undefined, growTo = 0): Promise<void> {
    if (this.#pending === undefined) {
      if (this.#start === this.#end) this.#start = this.#end = 0;
      if (this.#end === this.#buf.length) {
        if (this.#start > 0) {
          this.#buf.copyWithin(0, this.#start, this.#end);
          this.#end -= this.#start;
          this.#start = 0;
        } else {
          const size = Math.max(growTo, this.#buf.length + 1);
          const grown = new Uint8Array(Math.min(this.#buf.length * 2, size));
          grown.set(this.#buf);
          this.#buf = grown;
        }
      }
      const target = this.#buf.subarray(this.#end);
      const peer = netAddressOf(this.#reader.remoteAddr);
      const pending: Promise<unknown> = this.#reader.read(target).then(
        (n) => {
          if (this.#pending === pending) this.#pending = undefined;
          if (n === null) this.#eof = true;
          else this.#end += n;
        },
        (error: unknown) => {
          if (this.#pending === pending) this.#pending = undefined;
          throw toNetError(error, peer);
        },
      );
      // A timed-out caller may never look at it again.
      pending.catch(() => {});
      this.#pending = pending;
    }
    const pending = this.#pending;
    if (deadline === undefined) {
      await pending;
      return;
    }
    await withTimeout(
      pending,
      deadline.at - performance.now(),
      () => this.#timeoutError(deadline),
    );
  }
}

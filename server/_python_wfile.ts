/**
 * `BaseHTTPRequestHandler.wfile`: the response bytes, written in order.
 *
 * @module
 */

import { encodeLatin1 } from "../http1/serializer.ts";

/** Where the bytes go: the engine's exchange, or anything alike. */
export interface ByteSink {
  /** Queues bytes; returns a promise only when it flushed on the way. */
  write(bytes: Uint8Array): Promise<void> | undefined;
  /** Queues Latin-1 text (a response head) without copying it first. */
  writeText?(text: string): Promise<void> | undefined;
  /** Sends everything queued; flushes run one after another. */
  flush(): Promise<void>;
}

/** Waits for queued writes; resolves with the first write error, if any. */
export const SETTLE: unique symbol = Symbol("settle");
/** `wfile[SETTLED]`: true when no write is in flight (then no await needed). */
export const SETTLED: unique symbol = Symbol("settled");
/** `wfile[WRITE_ERROR]`: the first write error, or null. */
export const WRITE_ERROR: unique symbol = Symbol("writeError");
/** Queues a response head given as Latin-1 text. */
export const WRITE_HEAD: unique symbol = Symbol("writeHead");

const encoder = new TextEncoder();

/**
 * The response stream, writable like Python's `wfile`. `write()` queues the
 * bytes exactly as given (no framing is added) and returns their count; when
 * the queue is large enough to go out it returns a promise instead, which
 * you may await to pace a large response (`await this.wfile.write(...)`
 * works either way). Writes keep their order even when not awaited.
 * `flush()` sends what is queued. A string is written as UTF-8.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { WFile } from "./_python_wfile.ts";
 *
 * const sent: string[] = [];
 * const wfile = new WFile({
 *   write: (b) => void sent.push(new TextDecoder().decode(b)),
 *   flush: async () => {},
 * });
 * assert.equal(await wfile.write("Hello, "), 7);
 * wfile.write(new TextEncoder().encode("world!"));
 * await wfile.flush();
 * assert.equal(sent.join(""), "Hello, world!");
 * ```
 */
export class WFile {
  readonly #sink: ByteSink;
  // The latest flush in progress, wrapped so it never rejects.
  #busy: Promise<void> | null = null;
  #error: unknown = null;
  #written = 0;

  /**
   * Writes to `sink`.
   *
   * @param sink Receives the bytes in order.
   */
  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  /**
   * Queues bytes for the client.
   *
   * @param data Bytes, or a string to send as UTF-8.
   * @returns How many bytes, or a promise of it while the queue drains.
   */
  write(data: Uint8Array | string): number | Promise<number> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (this.#error !== null) return this.#fail();
    this.#written += bytes.length;
    // The sink queues synchronously, so writes stay in order even when the
    // caller does not await; a returned promise is the queue draining.
    const flushing = this.#sink.write(bytes);
    if (flushing === undefined) return bytes.length;
    return this.#result(this.#track(flushing), bytes.length);
  }

  /**
   * Sends everything queued to the client.
   *
   * @returns Resolves once written.
   */
  flush(): Promise<void> {
    if (this.#error !== null) return this.#fail();
    return this.#result(this.#track(this.#sink.flush()));
  }

  /** Queues a head (Latin-1 text); returns like `write()`. */
  [WRITE_HEAD](text: string): void {
    if (this.#error !== null) return;
    this.#written += text.length;
    const flushing = this.#sink.writeText !== undefined
      ? this.#sink.writeText(text)
      : this.#sink.write(encodeLatin1(text));
    if (flushing !== undefined) this.#track(flushing);
  }

  /** Whether no write is in flight: `[WRITE_ERROR]` is then final. */
  get [SETTLED](): boolean {
    return this.#busy === null;
  }

  /** The first write error, or null. */
  get [WRITE_ERROR](): unknown {
    return this.#error;
  }

  /** Waits for queued writes; resolves with the first write error or null. */
  async [SETTLE](): Promise<unknown> {
    while (this.#busy !== null) await this.#busy;
    return this.#error;
  }

  // Flushes run one after another, so the latest one settles last.
  #track(work: Promise<void>): Promise<void> {
    const settled: Promise<void> = work.then(
      () => {
        if (this.#busy === settled) this.#busy = null;
      },
      (error) => {
        this.#error ??= error;
        if (this.#busy === settled) this.#busy = null;
      },
    );
    this.#busy = settled;
    return settled;
  }

  #result(settled: Promise<void>): Promise<void>;
  #result(settled: Promise<void>, value: number): Promise<number>;
  #result(settled: Promise<void>, value?: number): Promise<number | void> {
    const out = settled.then(() => {
      if (this.#error !== null) throw this.#error;
      return value;
    });
    // A caller that does not await must not cause an unhandled rejection;
    // the error is kept and reported when the handler returns.
    out.catch(() => {});
    return out;
  }

  #fail(): Promise<never> {
    const out = Promise.reject(this.#error);
    out.catch(() => {});
    return out;
  }
}

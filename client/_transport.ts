/*
 * One client socket: a reused read buffer feeding the http1 ResponseParser,
 * writes that loop over short writes, per-read timeouts, and (when tracing)
 * a tap that recovers each response head's raw bytes. Internal to client/.
 *
 *   state    on                              next state
 *   ───────  ──────────────────────────────  ──────────
 *   open     next(): parser event            open
 *   open     read timeout                    open (the read stays pending)
 *   open     close() / socket error          closed
 */

import { ResponseParser } from "../http1/response_parser.ts";
import type { ResponseEvent } from "../http1/events.ts";
import type { Limits } from "../http1/limits.ts";
import {
  ConnectionResetError,
  TimeoutError,
  toNetError,
} from "../net/errors.ts";
import { connectTcp } from "../net/tcp.ts";
import { type BoundAddress, dialBound } from "./_bound_conn.ts";
import {
  ConnectTimeout,
  HTTPException,
  ReadTimeout,
  RemoteDisconnected,
} from "./errors.ts";
import { encodeLatin1Into } from "./_head.ts";

/** Default size of the reused read buffer. */
export const READ_BUFFER_BYTES = 64 * 1024;
/** Size of the reused output buffer; larger writes get their own. */
export const WRITE_BUFFER_BYTES = 4096;

/**
 * Opens a TCP connection with Nagle off, from `source` when given; a connect
 * timeout becomes the client's `ConnectTimeout` (with net's `TimeoutError`
 * as its cause).
 */
export async function dialTcp(
  address: { hostname: string; port: number },
  timeoutMs: number | undefined,
  source: BoundAddress | null = null,
): Promise<Deno.Conn> {
  try {
    // Deno.connect cannot choose the local address; node:net can.
    if (source !== null) return await dialBound(address, source, timeoutMs);
    return await connectTcp({
      ...address,
      noDelay: true,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  } catch (error) {
    if (error instanceof TimeoutError) {
      throw new ConnectTimeout(timeoutMs, address, { cause: error });
    }
    throw error;
  }
}

/**
 * Runs a TLS handshake that a timeout or a signal can end: on either the
 * socket is closed (which ends the handshake) and the timeout's
 * `ConnectTimeout` or the signal's reason is thrown. A server that accepts
 * TCP and never answers the ClientHello would otherwise hold the caller for
 * as long as it likes.
 */
export async function handshakeWithin(
  tls: Deno.TlsConn,
  address: { hostname: string; port: number },
  timeoutMs: number | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const handshake = tls.handshake();
  if (timeoutMs === undefined && signal === undefined) {
    await handshake;
    return;
  }
  handshake.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => reject(new ConnectTimeout(timeoutMs, address)),
        Math.max(0, timeoutMs),
      );
    }
    if (signal !== undefined) {
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    await Promise.race([handshake, stopped]);
  } catch (error) {
    try {
      tls.close();
    } catch {
      // Already closed.
    }
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

let nextId = 1;

/** Options for {@linkcode Transport}. */
export interface TransportOptions {
  /** Parser limits. */
  limits?: Partial<Limits> | undefined;
  /** Keep raw received bytes so heads can be traced byte for byte. */
  tap?: boolean | undefined;
  /** Size of the read buffer. */
  readBufferBytes?: number | undefined;
  /**
   * After a write fails because the server reset or closed the connection
   * (an early 413 to an upload it will not read), keep the socket open for
   * reading: the response it sent first is still there to read (RFC 9112
   * §9.5: a client sending a body should watch for an early response).
   * Writes fail from then on, and the connection carries nothing more.
   */
  readAfterWriteFailure?: boolean | undefined;
}

// What a closed transport reads into: nothing.
const CLOSED_BUFFER = new Uint8Array(0);

/** A socket plus its response parser. */
export class Transport {
  /** Unique per process, for traces. */
  readonly id: number = nextId++;
  /** The socket. */
  readonly conn: Deno.Conn;
  /** The parser; call expectResponseTo() for each request written. */
  readonly parser: ResponseParser;
  /** The server, for messages. */
  readonly address: { hostname: string; port: number };
  /** "host:port" for messages. */
  readonly peer: string;
  /** Exchanges completed on this socket (0 while the first is running). */
  exchanges = 0;
  /** Set once closed, by us or by an error. */
  closed = false;
  /** Why it was closed when the server ended the connection after a message. */
  closedAfterMessage = false;
  /** When connecting started and how long it took, for traces. */
  readonly connectMs: number;

  /** Why the first failed write failed, or null. */
  writeError: unknown = null;
  readonly #readAfterWriteFailure: boolean;

  /** Called (once) just before the socket is next read; pipelined writes wait for it. */
  onBeforeRead: (() => void) | null = null;

  #buf: Uint8Array;
  // Output buffer reused by writeParts() while no write is using it (a new
  // ArrayBuffer per request costs more than encoding the head).
  #out: Uint8Array | null = null;
  #outBusy = false;
  #pendingRead: Promise<number | null> | null = null;
  // Set while an idle read (watchIdle) waits with nobody's request on it.
  #idleWatch: (() => void) | null = null;
  #pushback: ResponseEvent | null = null;
  #tap: Uint8Array[] | null;
  #tapBase = 0;
  #received = 0;

  /**
   * Creates a new `Transport`.
   *
   * @param conn A connected socket (TCP or TLS).
   * @param address The server, for messages.
   * @param connectMs How long connecting took.
   * @param options Limits and tracing.
   */
  constructor(
    conn: Deno.Conn,
    address: { hostname: string; port: number },
    connectMs: number,
    options: TransportOptions = {},
  ) {
    this.conn = conn;
    this.address = address;
    this.peer = address.hostname.includes(":")
      ? `[${address.hostname}]:${address.port}`
      : `${address.hostname}:${address.port}`;
    this.connectMs = connectMs;
    this.parser = new ResponseParser(
      options.limits === undefined ? {} : { limits: options.limits },
    );
    this.#buf = new Uint8Array(options.readBufferBytes ?? READ_BUFFER_BYTES);
    this.#tap = options.tap ? [] : null;
    this.#readAfterWriteFailure = options.readAfterWriteFailure ?? false;
  }

  /** Whether a new request may be written: open, and no write failed. */
  get writable(): boolean {
    return !this.closed && this.writeError === null;
  }

  /**
   * Writes every byte.
   *
   * @param bytes What to send.
   * @returns Resolves once the OS has taken every byte.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.writeError !== null) return Promise.reject(this.writeError);
    if (this.closed) {
      return Promise.reject(
        new RemoteDisconnected(
          `Cannot write to ${this.peer}: the connection is closed`,
        ),
      );
    }
    // Fast path: one write takes it all (small heads and bodies).
    return this.conn.write(bytes).then(
      (n) => n === bytes.length ? undefined : this.#writeRest(bytes, n),
      (error) => this.#writeFailed(error),
    );
  }

  /**
   * Writes request heads (Latin-1 text) and bodies, in order, as one write:
   * through a reused buffer when they fit and no other write is using it.
   *
   * @param parts Head text and body bytes.
   * @returns Resolves once the OS has taken every byte.
   */
  writeParts(parts: readonly (string | Uint8Array)[]): Promise<void> {
    let size = 0;
    for (let i = 0; i < parts.length; i++) size += parts[i]!.length;
    const pooled = !this.#outBusy && size <= WRITE_BUFFER_BYTES &&
      this.writable;
    const out = pooled
      ? this.#out ??= new Uint8Array(WRITE_BUFFER_BYTES)
      : new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (typeof part === "string") encodeLatin1Into(part, out, at);
      else out.set(part, at);
      at += part.length;
    }
    if (!pooled) return this.write(out);
    const bytes = out.subarray(0, size);
    this.#outBusy = true;
    return this.conn.write(bytes).then(
      (n) => {
        if (n === bytes.length) {
          this.#outBusy = false;
          return;
        }
        return this.#writeRest(bytes, n).finally(() => {
          this.#outBusy = false;
        });
      },
      (error) => {
        this.#outBusy = false;
        this.#writeFailed(error);
      },
    );
  }

  async #writeRest(bytes: Uint8Array, written: number): Promise<void> {
    try {
      while (written < bytes.length) {
        written += await this.conn.write(bytes.subarray(written));
      }
    } catch (error) {
      this.#writeFailed(error);
    }
  }

  #writeFailed(error: unknown): never {
    const mapped = toNetError(error, this.address);
    this.writeError ??= mapped;
    // The server reset or closed: what it sent before is still readable,
    // and the read ends with the reset or EOF, so it cannot hang.
    const peerGone = mapped instanceof ConnectionResetError ||
      error instanceof Deno.errors.BrokenPipe;
    if (!(this.#readAfterWriteFailure && peerGone)) this.close();
    throw mapped;
  }

  /** Puts a head event back so the next `poll()` returns it. */
  unread(event: ResponseEvent): void {
    this.#pushback = event;
  }

  /** Raw bytes of the last head event `poll()` returned (tap on), else null. */
  get lastHeadRaw(): Uint8Array | null {
    return this.#lastHeadRaw;
  }

  /**
   * The next event when the buffered bytes allow it, without any I/O. Data
   * events are views into the read buffer, valid until the next `fill()`.
   *
   * @returns The event, or null when a read is needed.
   */
  poll(): ResponseEvent | null {
    if (this.closed) throw this.#closedError();
    if (this.#pushback !== null) {
      const event = this.#pushback;
      this.#pushback = null;
      return event;
    }
    if (this.#tap === null) {
      const event = this.parser.next();
      return event.kind === "need-data" ? null : event;
    }
    const before = this.#received - this.parser.bufferedBytes;
    const event = this.parser.next();
    if (event.kind === "need-data") return null;
    const after = this.#received - this.parser.bufferedBytes;
    if (event.kind === "head") {
      this.#lastHeadRaw = this.#tapSlice(before, after);
    }
    this.#pruneTap(after);
    return event;
  }

  /**
   * The next parser event, reading as needed.
   *
   * @param timeoutMs Per-read timeout; on expiry a `ReadTimeout` is thrown
   *   and the read stays pending for the next call.
   * @returns A head, data, end, paused or closed event (never need-data).
   */
  async next(timeoutMs?: number): Promise<ResponseEvent> {
    for (;;) {
      const event = this.poll();
      if (event !== null) return event;
      await this.fill(timeoutMs);
    }
  }

  #lastHeadRaw: Uint8Array | null = null;

  #tapSlice(from: number, to: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, to - from));
    let base = this.#tapBase;
    for (const chunk of this.#tap!) {
      const end = base + chunk.length;
      if (end > from && base < to) {
        const s = Math.max(from, base) - base;
        const e = Math.min(to, end) - base;
        out.set(chunk.subarray(s, e), base + s - from);
      }
      base = end;
    }
    return out;
  }

  #pruneTap(consumed: number): void {
    const tap = this.#tap;
    if (tap === null) return;
    while (tap.length > 0 && this.#tapBase + tap[0]!.length <= consumed) {
      this.#tapBase += tap.shift()!.length;
    }
  }

  /**
   * Reads once from the socket into the parser (EOF included).
   *
   * @param timeoutMs Per-read timeout.
   */
  fill(timeoutMs?: number): Promise<void> {
    if (this.closed) return Promise.reject(this.#closedError());
    if (this.#pendingRead === null && this.onBeforeRead !== null) {
      const hook = this.onBeforeRead;
      this.onBeforeRead = null;
      hook();
    }
    const read = this.#pendingRead ??= this.conn.read(this.#buf);
    // Without a timeout, no async layer of our own on the read.
    if (timeoutMs === undefined || timeoutMs === Infinity) {
      return read.then(this.#onRead, this.#onReadError);
    }
    return this.#fillWithin(read, timeoutMs);
  }

  async #fillWithin(
    read: Promise<number | null>,
    timeoutMs: number,
  ): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, timeoutMs));
    });
    let won: number | null | "timeout";
    try {
      won = await Promise.race([read, expired]);
    } catch (error) {
      return this.#onReadError(error);
    } finally {
      clearTimeout(timer);
    }
    // The read stays pending for the next call.
    if (won === "timeout") throw new ReadTimeout(timeoutMs, this.address);
    this.#onRead(won);
  }

  readonly #onRead = (n: number | null): void => {
    this.#pendingRead = null;
    if (n === null) {
      this.parser.receiveEof();
      return;
    }
    const chunk = this.#buf.subarray(0, n);
    if (this.#tap !== null) this.#tap.push(chunk.slice());
    this.#received += n;
    this.parser.receive(chunk);
  };

  readonly #onReadError = (error: unknown): void => {
    // A TLS server that closes without close_notify: rustls reports it as
    // an error, but for HTTP it is the end of the stream (RFC 8446 §6.1
    // truncation; Python, curl and Node read it so). The parser then says
    // whether the message was complete (a close-delimited body) or not
    // (IncompleteRead, RemoteDisconnected).
    if (error instanceof Deno.errors.UnexpectedEof && !this.closed) {
      this.#onRead(null);
      return;
    }
    throw this.#readError(error);
  };

  // A failed read closes the socket; returns what to throw.
  #readError(error: unknown): unknown {
    this.#pendingRead = null;
    const closedByUs = this.closed;
    this.close();
    if (closedByUs) {
      return new RemoteDisconnected(
        `Cannot read from ${this.peer}: the connection was closed`,
        { cause: error },
      );
    }
    const mapped = toNetError(error, this.address);
    if (mapped !== error) return mapped;
    // Anything else (a TLS record that fails to decrypt, an alert) is
    // named, and says where.
    return new HTTPException(
      `Cannot read from ${this.peer}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      "HTTP_EXCEPTION",
      { cause: error },
    );
  }

  #closedError(): RemoteDisconnected {
    return new RemoteDisconnected(
      this.closedAfterMessage
        ? `Remote end ${this.peer} closed the connection after the previous response`
        : `Cannot read from ${this.peer}: the connection is closed`,
    );
  }

  /**
   * Starts reading while the connection sits idle between requests, so a
   * server that closes it (or sends anything unasked, such as a 408 before
   * closing) is noticed before a request is written to it: the socket is
   * closed and `onGone` called. The read does not keep the process alive.
   * A request that takes the connection calls {@linkcode Transport.claim},
   * and the read then serves its response. Go's Transport and undici keep
   * reading idle connections the same way.
   *
   * @param onGone Called once if the connection ends while idle.
   */
  watchIdle(onGone: () => void): void {
    if (
      this.closed || this.#pendingRead !== null ||
      this.parser.bufferedBytes > 0 || this.onBeforeRead !== null
    ) return;
    const read = this.conn.read(this.#buf);
    this.#pendingRead = read;
    this.#idleWatch = onGone;
    this.conn.unref();
    const settled = () => {
      if (this.#idleWatch !== onGone || this.#pendingRead !== read) return;
      // Anything at all while idle: the server closed, reset, or spoke
      // unasked. The connection cannot carry another exchange.
      this.#idleWatch = null;
      this.#pendingRead = null;
      this.closedAfterMessage = true;
      this.close();
      onGone();
    };
    read.then(settled, settled);
  }

  /** A request takes the connection: an idle read now reads its response. */
  claim(): void {
    if (this.#idleWatch === null) return;
    this.#idleWatch = null;
    this.conn.ref();
  }

  /** Whether a read is under way. */
  get reading(): boolean {
    return this.#pendingRead !== null;
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Let a deferred write fail now rather than wait forever.
    const hook = this.onBeforeRead;
    this.onBeforeRead = null;
    hook?.();
    try {
      this.conn.close();
    } catch {
      // Already closed by the runtime.
    }
    // A read still pending settles with an error once the socket closes;
    // nobody awaits it any more, so keep it from becoming unhandled.
    this.#pendingRead?.catch(() => {});
    // A Response kept after its body was read holds this transport: not its
    // buffers (the read buffer, bytes the parser kept, the trace tap).
    this.#buf = CLOSED_BUFFER;
    this.#out = null;
    this.#tap = null;
    this.parser.takeBuffered();
  }
}

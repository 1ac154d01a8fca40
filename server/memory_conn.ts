/**
 * {@linkcode MemoryConn}: an in-memory duplex connection shaped like
 * `Deno.Conn`, and {@linkcode exchangeRaw}, which runs the real server
 * engine and `http1/` parser over one with raw bytes and no sockets.
 *
 * Each end queues what its peer wrote; a write waits while the peer has
 * more than {@linkcode MEMORY_CONN_HIGH_WATER_BYTES} unread, so a slow
 * reader slows the writer as a socket would.
 *
 * @module
 */

import { concatBytes } from "../http1/_chars.ts";
import { Engine } from "./_engine.ts";
import {
  type ServeHandler,
  type ServeOptions,
  webDispatch,
  webEngineOptions,
} from "./serve.ts";

/** Unread bytes an end holds before its peer's writes wait. */
export const MEMORY_CONN_HIGH_WATER_BYTES = 64 * 1024;

const LOOPBACK = "127.0.0.1";
let nextPort = 40000;

// One direction of the duplex: bytes written by one end, read by the other.
class Pipe {
  chunks: Uint8Array[] = [];
  bytes = 0;
  // Every byte ever pushed.
  pushed = 0;
  // The writer closed (or half-closed): reads end after the queue drains.
  writeClosed = false;
  // The reader closed: writes fail, queued bytes are dropped.
  readClosed = false;
  #readWaiters: Array<() => void> = [];
  #writeWaiters: Array<() => void> = [];

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.bytes += bytes.length;
    this.pushed += bytes.length;
    this.#wake(this.#readWaiters);
  }

  take(into: Uint8Array): number {
    let n = 0;
    while (n < into.length && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const count = Math.min(chunk.length, into.length - n);
      into.set(chunk.subarray(0, count), n);
      n += count;
      if (count === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(count);
    }
    this.bytes -= n;
    if (this.bytes <= MEMORY_CONN_HIGH_WATER_BYTES) {
      this.#wake(this.#writeWaiters);
    }
    return n;
  }

  // Resolves when readable bytes, EOF or a close may have arrived.
  readable(): Promise<void> {
    return new Promise((resolve) => this.#readWaiters.push(resolve));
  }

  // Resolves when the reader drained below the mark or went away.
  writable(): Promise<void> {
    return new Promise((resolve) => this.#writeWaiters.push(resolve));
  }

  closeWrite(): void {
    this.writeClosed = true;
    this.#wake(this.#readWaiters);
    this.#wake(this.#writeWaiters);
  }

  closeRead(): void {
    this.readClosed = true;
    this.chunks = [];
    this.bytes = 0;
    this.#wake(this.#readWaiters);
    this.#wake(this.#writeWaiters);
  }

  #wake(waiters: Array<() => void>): void {
    if (waiters.length === 0) return;
    const all = waiters.splice(0);
    for (const resolve of all) resolve();
  }
}

/**
 * One end of an in-memory duplex connection: `read`, `write`, `close`,
 * `closeWrite`, `readable`/`writable` and loopback addresses, as the
 * server engine uses a `Deno.Conn`. Make a connected pair with
 * {@linkcode memoryConnPair}. Reads after the peer's `close()` or
 * `closeWrite()` return null once the queue is empty; writes after the
 * peer's `close()` throw `Deno.errors.BrokenPipe`; any call on a closed
 * end throws `Deno.errors.BadResource`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryConnPair } from "./memory_conn.ts";
 *
 * const [a, b] = memoryConnPair();
 * await a.write(new TextEncoder().encode("ping"));
 * a.closeWrite();
 * const buf = new Uint8Array(16);
 * const n = await b.read(buf);
 * assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "ping");
 * assert.equal(await b.read(buf), null);
 * a.close();
 * b.close();
 * ```
 */
export class MemoryConn implements Deno.Conn<Deno.NetAddr> {
  /** This end's address: 127.0.0.1 and a made-up port. */
  readonly localAddr: Deno.NetAddr;
  /** The other end's address. */
  readonly remoteAddr: Deno.NetAddr;
  readonly #in: Pipe;
  readonly #out: Pipe;
  #closed = false;
  #ref = true;
  // Reads waiting for the peer's bytes.
  #waiting = 0;
  /**
   * Called each time a read on this end has to wait for the peer's bytes:
   * what is there has been read and the reader wants more (`pythonHandler`
   * lets a request body go then).
   */
  onReadWait: (() => void) | null = null;
  // While a read waits and this end is ref'd, a timer keeps the process
  // alive, as a pending read on a socket does (an engine timeout can then
  // fire with nothing else running).
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array<ArrayBufferLike>> | undefined;

  /**
   * Use {@linkcode memoryConnPair}; the constructor is internal.
   *
   * @param inbound Bytes the peer writes.
   * @param outbound Bytes this end writes.
   * @param localAddr This end's address.
   * @param remoteAddr The peer's address.
   * @internal
   */
  constructor(
    inbound: unknown,
    outbound: unknown,
    localAddr: Deno.NetAddr,
    remoteAddr: Deno.NetAddr,
  ) {
    this.#in = inbound as Pipe;
    this.#out = outbound as Pipe;
    this.localAddr = localAddr;
    this.remoteAddr = remoteAddr;
  }

  /** Whether `close()` was called on this end. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many bytes this end has written in all. */
  get bytesWritten(): number {
    return this.#out.pushed;
  }

  /** How many bytes this end wrote that the peer has not read yet. */
  get unreadBytes(): number {
    return this.#out.bytes;
  }

  /**
   * Reads what the peer wrote, waiting until some bytes or EOF arrive.
   *
   * @param p Where to copy the bytes.
   * @returns How many bytes were read, or null at EOF.
   * @throws {Deno.errors.BadResource} When this end is closed.
   * @throws {Deno.errors.Interrupted} When this end is closed while the
   *   read waits, as for a `Deno.Conn`.
   */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) throw closedError("read");
    for (;;) {
      if (p.length === 0) return 0;
      if (this.#in.bytes > 0) return this.#in.take(p);
      if (this.#in.writeClosed) return null;
      this.onReadWait?.();
      this.#waiting++;
      this.#holdProcess();
      try {
        await this.#in.readable();
      } finally {
        this.#waiting--;
        this.#holdProcess();
      }
      if (this.#closed) {
        throw new Deno.errors.Interrupted(
          "Cannot read: the connection was closed",
        );
      }
    }
  }

  // A timer while a read waits and this end is ref'd; none otherwise.
  #holdProcess(): void {
    const hold = this.#waiting > 0 && this.#ref;
    if (hold && this.#keepAlive === undefined) {
      this.#keepAlive = setInterval(() => {}, 1 << 30);
    } else if (!hold && this.#keepAlive !== undefined) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  /**
   * Queues a copy of `p` for the peer, waiting first while the peer holds
   * too much unread.
   *
   * @param p The bytes to send.
   * @returns `p.length`: a write is all or nothing.
   * @throws {Deno.errors.BrokenPipe} When the peer closed or this end
   *   called `closeWrite()`.
   */
  async write(p: Uint8Array): Promise<number> {
    for (;;) {
      if (this.#closed) throw closedError("write");
      if (this.#out.readClosed || this.#out.writeClosed) {
        throw new Deno.errors.BrokenPipe(
          "Cannot write: the peer closed the connection",
        );
      }
      if (this.#out.bytes <= MEMORY_CONN_HIGH_WATER_BYTES) break;
      await this.#out.writable();
    }
    if (p.length > 0) this.#out.push(p.slice());
    return p.length;
  }

  /** Closes both directions: the peer reads EOF and its writes fail. */
  close(): void {
    if (this.#closed) throw closedError("close");
    this.#closed = true;
    this.#out.closeWrite();
    this.#in.closeRead();
  }

  /** Half-closes: the peer reads EOF once it has read what was written. */
  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("closeWrite"));
    this.#out.closeWrite();
    return Promise.resolve();
  }

  /** Does nothing: there is no Nagle delay in memory. */
  setNoDelay(_noDelay?: boolean): void {}

  /** Does nothing: there is no idle peer to probe. */
  setKeepAlive(_keepAlive?: boolean): void {}

  /** A read waiting on this end keeps the process alive (the default). */
  ref(): void {
    this.#ref = true;
    this.#holdProcess();
  }

  /** A read waiting on this end does not keep the process alive. */
  unref(): void {
    this.#ref = false;
    this.#holdProcess();
  }

  /** The inbound bytes as a stream (made on first use). */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const buffer = new Uint8Array(16 * 1024);
        let n: number | null;
        try {
          n = await this.read(buffer);
        } catch {
          n = null;
        }
        if (n === null) controller.close();
        else controller.enqueue(buffer.slice(0, n));
      },
      cancel: () => {
        if (!this.#closed) this.close();
      },
    });
    return this.#readable;
  }

  /** The outbound side as a stream (made on first use); closing it half-closes. */
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    this.#writable ??= new WritableStream<Uint8Array<ArrayBufferLike>>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: async () => {
        if (!this.#closed) await this.closeWrite();
      },
      abort: () => {
        if (!this.#closed) this.close();
      },
    });
    return this.#writable;
  }

  /** Closes the end unless already closed, for `using`. */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }
}

function closedError(what: string): Deno.errors.BadResource {
  return new Deno.errors.BadResource(
    `Cannot ${what}: the connection is closed`,
  );
}

/** Options of {@linkcode memoryConnPair}: the two ends' addresses. */
export interface MemoryConnPairOptions {
  /** The client end's address (default 127.0.0.1, a made-up port). */
  clientAddr?: Deno.NetAddr;
  /** The server end's address (default 127.0.0.1, a made-up port). */
  serverAddr?: Deno.NetAddr;
}

/**
 * Makes two connected {@linkcode MemoryConn} ends: what one writes, the
 * other reads. Both have 127.0.0.1 addresses with distinct made-up ports
 * unless `options` names them.
 *
 * @param options The ends' addresses.
 * @returns The client end and the server end; disposing the pair closes both.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryConnPair } from "./memory_conn.ts";
 *
 * using pair = memoryConnPair();
 * const [client, server] = pair;
 * assert.deepEqual(client.remoteAddr, server.localAddr);
 * await server.write(new Uint8Array([1, 2]));
 * const buf = new Uint8Array(4);
 * assert.equal(await client.read(buf), 2);
 * ```
 */
export function memoryConnPair(
  options: MemoryConnPairOptions = {},
): [MemoryConn, MemoryConn] & Disposable {
  const toServer = new Pipe();
  const toClient = new Pipe();
  const clientAddr = options.clientAddr ?? netAddr();
  const serverAddr = options.serverAddr ?? netAddr();
  const client = new MemoryConn(toClient, toServer, clientAddr, serverAddr);
  const server = new MemoryConn(toServer, toClient, serverAddr, clientAddr);
  const pair = [client, server] as [MemoryConn, MemoryConn] & Disposable;
  pair[Symbol.dispose] = () => {
    client[Symbol.dispose]();
    server[Symbol.dispose]();
  };
  return pair;
}

function netAddr(): Deno.NetAddr {
  nextPort = nextPort >= 65535 ? 40000 : nextPort + 1;
  return { transport: "tcp", hostname: LOOPBACK, port: nextPort };
}

/** Options of {@linkcode exchangeRaw}: those of `serve()` that apply without a socket. */
export interface ExchangeRawOptions extends
  Pick<
    ServeOptions,
    "limits" | "onError" | "onUpgrade" | "onAccess" | "onInternalError"
  > {
  /**
   * Write the raw bytes in pieces of this many bytes (rounded down, at
   * least 1; default or 0: one write), to drive the engine's parser across
   * read boundaries.
   */
  chunkBytes?: number;
  /** Serve as if over TLS (request URLs use https). Default false. */
  secure?: boolean;
}

/**
 * Runs the real server engine with `serve()`'s Web dispatch over a
 * {@linkcode MemoryConn}: writes `raw` as the client and returns every byte
 * the server wrote until it closed the connection. The client half-closes
 * once the engine has read every byte and waits for more of a request, as
 * a client that has nothing more to send: a streamed response is read to
 * its end first (a half-close while it streams would read as the client
 * leaving).
 * Pipelined requests, keep-alive, framing and the engine's canned 4xx
 * answers all behave as over a socket; no socket is opened.
 *
 * @param handler The Web handler, as `serve()` takes it.
 * @param raw The client's bytes; a string is sent as Latin-1.
 * @param options Engine limits, `onError` and the like; `chunkBytes`.
 * @returns All response bytes, in order.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { exchangeRaw } from "./memory_conn.ts";
 *
 * const out = await exchangeRaw(
 *   (req) => new Response(new URL(req.url).pathname),
 *   "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
 * );
 * const text = new TextDecoder().decode(out);
 * assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
 * assert.ok(text.indexOf("\r\n\r\n/a") < text.indexOf("\r\n\r\n/b"));
 * ```
 */
export async function exchangeRaw(
  handler: ServeHandler,
  raw: Uint8Array | string,
  options: ExchangeRawOptions = {},
): Promise<Uint8Array> {
  const bytes = typeof raw === "string" ? encodeLatin1Loose(raw) : raw;
  const engine = new Engine(
    webDispatch(handler, options),
    webEngineOptions(options),
  );
  const [client, server] = memoryConnPair();
  const chunk = options.chunkBytes;
  // A fraction below 1 is one byte (0 would never advance).
  const step = chunk !== undefined && chunk > 0
    ? Math.max(1, Math.floor(chunk))
    : Math.max(1, bytes.length);
  let halfClosed = false;
  const halfClose = () => {
    if (halfClosed || client.closed) return;
    halfClosed = true;
    client.closeWrite().catch(() => {});
  };
  const allWritten = () => client.bytesWritten === bytes.length;
  // The engine is done with the connection, or handed it to onUpgrade (no
  // more HTTP): the client has nothing more to say once all is written.
  let released = false;
  const served = engine.serveConnection(
    server,
    options.secure ?? false,
    () => {
      if (allWritten() && client.unreadBytes === 0) halfClose();
    },
  ).then(() => {
    released = true;
    if (allWritten()) halfClose();
  });
  // Write and read at once: a large pipelined batch would otherwise wait on
  // responses nobody reads.
  const writing = (async () => {
    try {
      for (let at = 0; at < bytes.length; at += step) {
        await client.write(bytes.subarray(at, at + step));
      }
      if (released || bytes.length === 0) halfClose();
    } catch {
      // The server closed early (a canned 4xx); what it wrote is the answer.
    }
  })();
  const parts: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await client.read(buffer);
      if (n === null) break;
      parts.push(buffer.slice(0, n));
      total += n;
    }
  } finally {
    client[Symbol.dispose]();
    await writing;
    await served;
  }
  return concatBytes(parts, total);
}

// Latin-1 keeps one byte per character so tests can write any octet;
// characters above U+00FF are sent as UTF-8 rather than truncated.
function encodeLatin1Loose(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) return new TextEncoder().encode(text);
  }
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

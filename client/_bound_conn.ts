/*
 * A `Deno.Conn` over a `node:net` / `node:tls` socket, for Python's
 * `source_address`: `Deno.connect` cannot choose the local address, but
 * Deno's `node:net` can (`localAddress`, `localPort`). Internal to client/.
 *
 *   state     on                                 next state
 *   ────────  ─────────────────────────────────  ──────────
 *   open      'data' (buffer; pause when full)   open
 *   open      'end' / reset                      eof (reads drain, then null)
 *   open      'error'                            failed (writes reject)
 *   open      closeWrite()                       open, writes reject
 *   any       close()                            closed (read/write: BadResource)
 *   open      startTlsBound()                    closed here; the TLS adapter owns the socket
 *
 * Errors map to the `Deno.errors` classes `Deno.connect` gives, with the node
 * error as `cause`; connect errors then go through `toNetError` like
 * `connectTcp`'s, so both dial paths fail alike.
 */

import net from "node:net";
import tls from "node:tls";
import { TimeoutError, toNetError } from "../net/errors.ts";

/** Unread bytes at which the socket is paused (backpressure). */
const HIGH_WATER_BYTES = 64 * 1024;
/** Unread bytes below which a paused socket resumes. */
const LOW_WATER_BYTES = 16 * 1024;
/** Chunk size of the `readable` stream. */
const STREAM_CHUNK_BYTES = 16 * 1024;

/** A host and port, as `Deno.connect` takes them. */
export interface BoundAddress {
  /** Host name or IP literal; "" as a source means any local address. */
  hostname: string;
  /** Port; 0 as a source means any free port. */
  port: number;
}

/** Options for {@linkcode startTlsBound}. */
export interface StartTlsBoundOptions {
  /** Name the certificate must carry (DNS name or IP literal); also the SNI. */
  hostname: string;
  /**
   * PEM roots to trust. Unlike `Deno.startTls`, these replace the default
   * store (node's `ca` semantics); without them the default store is used.
   */
  caCerts?: string[] | undefined;
  /** ALPN protocols to offer. */
  alpnProtocols?: string[] | undefined;
}

interface PendingRead {
  p: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (error: Error) => void;
}

/**
 * The adapter: `Deno.Conn` reads and writes over a node socket, with a
 * bounded read buffer. One class for TCP and TLS.
 */
class NodeSocketConn implements Deno.TcpConn, Deno.TlsConn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  /** Resolves once node has released the socket ('close'). */
  readonly released: Promise<void>;

  // The socket we read and write (TLS or plain) and the TCP one under it.
  readonly #socket: net.Socket;
  readonly #tcp: net.Socket;
  readonly #alpnProtocol: string | null;
  readonly #pausable: boolean;
  readonly #chunks: Uint8Array[] = [];
  #offset = 0;
  #buffered = 0;
  #paused = false;
  #eof = false;
  #error: Error | null = null;
  #writeEnded = false;
  #closed = false;
  #read: PendingRead | null = null;
  readonly #writes = new Set<(error: Error) => void>();
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  readonly #onData = (chunk: Uint8Array): void => this.#received(chunk);
  readonly #onEnd = (): void => this.#ended();
  readonly #onError = (error: Error): void => this.#failed(error);
  readonly #onClose = (): void => this.#ended();

  constructor(
    socket: net.Socket,
    tcp: net.Socket,
    alpnProtocol: string | null,
  ) {
    this.#socket = socket;
    this.#tcp = tcp;
    this.#alpnProtocol = alpnProtocol;
    // Known limit: Deno 2.9's node:tls drops the end of stream when a paused
    // TLS socket resumes (no 'end', no 'close'; every read would hang), so
    // TLS conns are never paused: unread TLS bytes buffer without bound
    // until read (README, Client: source_address).
    this.#pausable = socket === tcp;
    this.localAddr = netAddr(tcp.localAddress, tcp.localPort);
    this.remoteAddr = netAddr(tcp.remoteAddress, tcp.remotePort);
    this.released = socket.destroyed && socket.closed
      ? Promise.resolve()
      : new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(badResource());
    if (this.#read !== null) {
      return Promise.reject(new Deno.errors.Busy("Another read is pending"));
    }
    if (p.length === 0) return Promise.resolve(0);
    if (this.#buffered > 0) return Promise.resolve(this.#copyInto(p));
    const settled = this.#settledRead();
    if (settled !== undefined) return settled;
    return new Promise((resolve, reject) => {
      this.#read = { p, resolve, reject };
    });
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(badResource());
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#writeEnded) return Promise.reject(brokenPipe());
    if (p.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      this.#writes.add(reject);
      // Resolve on node's callback, once the bytes left p: the caller may
      // reuse p right after (Transport does), and node keeps a view of it.
      this.#socket.write(p, (error) => {
        if (!this.#writes.delete(reject)) return;
        if (error) reject(this.#error ?? toDenoError(error));
        else resolve(p.length);
      });
    });
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(badResource());
    if (this.#writeEnded) return Promise.resolve();
    this.#writeEnded = true;
    return new Promise((resolve) => {
      this.#socket.end(() => resolve());
    });
  }

  close(): void {
    if (this.#closed) throw badResource();
    this.#closed = true;
    this.#detach();
    this.#socket.destroy();
  }

  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  setNoDelay(noDelay = true): void {
    this.#tcp.setNoDelay(noDelay);
  }

  setKeepAlive(keepAlive = true): void {
    this.#tcp.setKeepAlive(keepAlive);
  }

  ref(): void {
    this.#socket.ref();
    if (this.#tcp !== this.#socket) this.#tcp.ref();
  }

  unref(): void {
    this.#socket.unref();
    if (this.#tcp !== this.#socket) this.#tcp.unref();
  }

  /** The handshake ran in `startTlsBound`; this reports its outcome. */
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return Promise.resolve({ alpnProtocol: this.#alpnProtocol });
  }

  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#readable ??= new ReadableStream({
      pull: async (controller) => {
        const chunk = new Uint8Array(STREAM_CHUNK_BYTES);
        const n = await this.read(chunk);
        if (n === null) controller.close();
        else controller.enqueue(chunk.subarray(0, n));
      },
      cancel: () => this[Symbol.dispose](),
    });
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream({
      write: async (chunk) => {
        let written = 0;
        while (written < chunk.length) {
          written += await this.write(chunk.subarray(written));
        }
      },
      close: () => this.closeWrite(),
      abort: () => this[Symbol.dispose](),
    });
  }

  /** Hands the socket to a new owner (TLS); this conn acts closed after. */
  takeSocket(): net.Socket {
    if (this.#closed) throw badResource();
    if (this.#buffered > 0 || this.#read !== null) {
      throw new Deno.errors.Busy(
        "Cannot start TLS: the connection has unread bytes or a pending read",
      );
    }
    this.#closed = true;
    this.#detach();
    return this.#socket;
  }

  #detach(): void {
    const socket = this.#socket;
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onClose);
    socket.off("error", this.#onError);
    // Errors after close (a late reset) must not become uncaught exceptions.
    socket.on("error", ignore);
    this.#chunks.length = 0;
    this.#buffered = 0;
    // Deno: a read pending when the conn is closed fails with Interrupted.
    const interrupted = new Deno.errors.Interrupted("operation canceled");
    const read = this.#read;
    this.#read = null;
    read?.reject(interrupted);
    for (const reject of this.#writes) reject(interrupted);
    this.#writes.clear();
  }

  #received(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const read = this.#read;
    if (read !== null && this.#buffered === 0) {
      // Straight into the waiting reader; keep only what does not fit.
      const n = Math.min(read.p.length, chunk.length);
      read.p.set(n === chunk.length ? chunk : chunk.subarray(0, n));
      this.#read = null;
      if (n < chunk.length) this.#push(chunk.subarray(n));
      read.resolve(n);
      return;
    }
    this.#push(chunk);
  }

  #push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (
      this.#pausable && !this.#paused && this.#buffered >= HIGH_WATER_BYTES
    ) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #copyInto(p: Uint8Array): number {
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const head = this.#chunks[0]!;
      const take = Math.min(p.length - n, head.length - this.#offset);
      p.set(head.subarray(this.#offset, this.#offset + take), n);
      n += take;
      this.#offset += take;
      if (this.#offset === head.length) {
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    this.#buffered -= n;
    if (this.#paused && this.#buffered < LOW_WATER_BYTES && !this.#eof) {
      this.#paused = false;
      this.#socket.resume();
    }
    return n;
  }

  // A read with nothing buffered: EOF, an error, or undefined to wait.
  #settledRead(): Promise<number | null> | undefined {
    if (this.#eof) return Promise.resolve(null);
    const error = this.#error;
    if (error === null) return undefined;
    // Deno's TCP read reports a reset or broken pipe as end of stream.
    if (isPeerGone(error)) return Promise.resolve(null);
    return Promise.reject(error);
  }

  #ended(): void {
    this.#eof = true;
    this.#wake();
  }

  #failed(error: Error): void {
    this.#error ??= toDenoError(error);
    for (const reject of this.#writes) reject(this.#error);
    this.#writes.clear();
    this.#wake();
  }

  #wake(): void {
    const read = this.#read;
    if (read === null || this.#buffered > 0) return;
    const settled = this.#settledRead();
    if (settled === undefined) return;
    this.#read = null;
    settled.then(read.resolve, read.reject);
  }
}

/**
 * Opens a TCP connection from a chosen local address (Python's
 * `source_address`) with Nagle off, as a `Deno.TcpConn`.
 *
 * @param address The server.
 * @param source Local address to bind: hostname "" for any, port 0 for any.
 * @param timeoutMs Give up after this long with net's `TimeoutError`.
 * @returns The connected socket.
 * @throws {TimeoutError} When `timeoutMs` passes first.
 * @throws {ConnectionRefusedError} And the other `toNetError` classes, as
 *   `connectTcp` throws them.
 * @throws {Deno.errors.AddrNotAvailable} When the source is not an address
 *   of this host.
 * @throws {Deno.errors.AddrInUse} When the source port is taken.
 * @throws {Deno.errors.NotCapable} Without net permission for the source
 *   address (`--allow-net=<source host>`), besides the one for the server.
 */
export function dialBound(
  address: BoundAddress,
  source: BoundAddress,
  timeoutMs: number | undefined,
): Promise<Deno.TcpConn> {
  const options: net.NetConnectOpts = {
    host: address.hostname,
    port: address.port,
    allowHalfOpen: true, // Deno conns stay writable after the peer's FIN
    noDelay: true,
  };
  if (source.hostname !== "") {
    options.localAddress = source.hostname;
    // Resolve the server in the source's family: a v4 source cannot reach
    // a v6 address.
    const family = net.isIP(source.hostname);
    if (family !== 0) options.family = family;
  }
  if (source.port !== 0) {
    options.localPort = source.port;
    options.localAddress ??= net.isIP(address.hostname) === 6
      ? "::"
      : "0.0.0.0";
  }
  if (options.localAddress !== undefined) {
    try {
      checkBindPermission(options.localAddress, source.port);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect(options);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (error: unknown): void => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("error", onError);
      if (error === undefined) {
        socket.setNoDelay(true);
        resolve(new NodeSocketConn(socket, socket, null));
        return;
      }
      socket.on("error", ignore);
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => finish(undefined);
    const onError = (error: Error): void => {
      const mapped = toDenoError(error, source);
      finish(isBindError(mapped) ? mapped : toNetError(mapped, address));
    };
    socket.once("connect", onConnect);
    socket.once("error", onError);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        finish(new TimeoutError("connect", timeoutMs, address));
      }, Math.max(0, timeoutMs));
    }
  });
}

/**
 * Upgrades a conn from {@linkcode dialBound} to TLS and completes the
 * handshake, verifying the certificate and the host name.
 *
 * @param conn A conn `dialBound` returned; it is consumed (closed) here.
 * @param options Server name, extra roots, ALPN.
 * @returns The TLS conn; its `handshake()` reports the ALPN result.
 * @throws {Deno.errors.InvalidData} When the certificate does not verify.
 * @throws {TypeError} When `conn` did not come from `dialBound`.
 */
export async function startTlsBound(
  conn: Deno.Conn,
  options: StartTlsBoundOptions,
): Promise<Deno.TlsConn> {
  if (!(conn instanceof NodeSocketConn)) {
    throw new TypeError(
      "Cannot start TLS: the conn did not come from dialBound",
    );
  }
  const tcp = conn.takeSocket();
  const { hostname, caCerts, alpnProtocols } = options;
  const tlsOptions: tls.ConnectionOptions = {
    socket: tcp,
    // Node checks the certificate against `host` and refuses an IP literal
    // as SNI (RFC 6066 §3), so an IP goes in `host` only.
    host: hostname,
    rejectUnauthorized: true,
  };
  if (net.isIP(hostname) === 0) tlsOptions.servername = hostname;
  if (caCerts !== undefined) tlsOptions.ca = caCerts;
  if (alpnProtocols !== undefined) tlsOptions.ALPNProtocols = alpnProtocols;
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    let secure: tls.TLSSocket;
    try {
      secure = tls.connect(tlsOptions);
    } catch (error) {
      tcp.destroy();
      reject(error);
      return;
    }
    const onSecure = (): void => {
      secure.off("error", onError);
      resolve(secure);
    };
    const onError = (error: Error): void => {
      secure.off("secureConnect", onSecure);
      secure.on("error", ignore);
      secure.destroy();
      tcp.destroy();
      reject(toDenoError(error, undefined, true));
    };
    secure.once("secureConnect", onSecure);
    secure.once("error", onError);
  });
  const alpn = socket.alpnProtocol;
  return new NodeSocketConn(
    socket,
    tcp,
    typeof alpn === "string" ? alpn : null,
  );
}

/**
 * Whether a conn came from {@linkcode dialBound} (or `startTlsBound`), so
 * TLS goes through `startTlsBound` rather than `Deno.startTls`.
 *
 * @param conn Any conn.
 * @returns True for this module's adapters.
 */
export function isBoundConn(conn: Deno.Conn): boolean {
  return conn instanceof NodeSocketConn;
}

/**
 * Waits until node has released a conn's socket, so leak sanitizers see it
 * gone; resolves at once for other conns.
 *
 * @param conn A conn, closed or about to be.
 * @returns Resolves on the node socket's 'close'.
 */
export function boundConnReleased(conn: Deno.Conn): Promise<void> {
  return conn instanceof NodeSocketConn ? conn.released : Promise.resolve();
}

// Deno 2.9's node:net checks the permission to bind the local address in a
// tick of its own and throws there, out of reach of the socket's 'error'
// handler (an uncaught error ends the process); check it first instead.
function checkBindPermission(hostname: string, port: number): void {
  const host = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  const descriptor = { name: "net", host } as const;
  let { state } = Deno.permissions.querySync(descriptor);
  if (state === "prompt") {
    state = Deno.permissions.requestSync(descriptor).state;
  }
  if (state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Requires net access to "${host}" to bind the source address, run again with the --allow-net flag`,
    );
  }
}

function ignore(): void {}

function netAddr(
  hostname: string | undefined,
  port: number | undefined,
): Deno.NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

function badResource(): Error {
  return new Deno.errors.BadResource("Bad resource ID");
}

function brokenPipe(cause?: unknown): Error {
  return withCode(
    new Deno.errors.BrokenPipe("Broken pipe (os error 32)", { cause }),
    "EPIPE",
  );
}

function withCode(error: Error, code: string): Error {
  Object.defineProperty(error, "code", { value: code, enumerable: true });
  return error;
}

function isPeerGone(error: Error): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe;
}

function isBindError(error: unknown): boolean {
  return error instanceof Deno.errors.AddrNotAvailable ||
    error instanceof Deno.errors.AddrInUse;
}

// Node reports certificate failures with OpenSSL-style codes; Deno's TLS
// handshake reports them as InvalidData.
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/;

/**
 * The `Deno.errors` class `Deno.connect` or a Deno conn would throw for a
 * node socket error; node's error stays as `cause`. Unknown errors (DNS
 * failures, permissions) come back unchanged: `toNetError` reads their code.
 */
function toDenoError(
  error: Error,
  source?: BoundAddress,
  handshaking = false,
): Error {
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  const options = { cause: error };
  const at = source === undefined
    ? ""
    : `${source.hostname || "*"}:${source.port}`;
  switch (code) {
    case "ECONNREFUSED":
      return withCode(
        new Deno.errors.ConnectionRefused(
          "Connection refused (os error 111)",
          options,
        ),
        code,
      );
    case "ECONNRESET":
      return withCode(
        new Deno.errors.ConnectionReset(
          "Connection reset by peer (os error 104)",
          options,
        ),
        code,
      );
    case "ECONNABORTED":
      return withCode(
        new Deno.errors.ConnectionAborted(
          "Software caused connection abort (os error 103)",
          options,
        ),
        code,
      );
    case "EPIPE":
    case "ERR_STREAM_WRITE_AFTER_END":
    case "ERR_STREAM_DESTROYED":
      return brokenPipe(error);
    case "ETIMEDOUT":
      return withCode(
        new Deno.errors.TimedOut(
          "Connection timed out (os error 110)",
          options,
        ),
        code,
      );
    case "EADDRINUSE":
      return withCode(
        new Deno.errors.AddrInUse(
          `Cannot bind source address ${at}: it is already in use`,
          options,
        ),
        code,
      );
    case "EADDRNOTAVAIL":
      return withCode(
        new Deno.errors.AddrNotAvailable(
          `Cannot bind source address ${at}: not an address of this host`,
          options,
        ),
        code,
      );
    case "EINVAL":
      // Deno's node:net reports bind(2)'s EADDRNOTAVAIL as EINVAL.
      if (syscall === "bind") {
        return withCode(
          new Deno.errors.AddrNotAvailable(
            `Cannot bind source address ${at}: not an address of this host`,
            options,
          ),
          "EADDRNOTAVAIL",
        );
      }
      return error;
  }
  if (handshaking && typeof code === "string" && TLS_CODE.test(code)) {
    return new Deno.errors.InvalidData(
      `invalid peer certificate: ${error.message}`,
      options,
    );
  }
  return error;
}

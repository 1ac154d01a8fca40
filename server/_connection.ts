/*
 * One accepted socket's life: read, parse, dispatch, write, repeat.
 *
 *   phase     on                                   next
 *   ────────  ───────────────────────────────────  ─────────────────────────
 *   head      complete request head                dispatch
 *   head      idle / headers deadline passes       closed (408 if bytes came)
 *   head      EOF at a message boundary            closed
 *   dispatch  face returns, body drained           head (keep-alive) | closed
 *   dispatch  face takes the socket over           detached (not closed here)
 *   any       ProtocolError                        canned 4xx/5xx, closed
 *
 * Responses to pipelined requests stay in `#pending` until the parser needs
 * more bytes, so they leave in one write, in request order.
 */

import { ProtocolError } from "../http1/errors.ts";
import type { RequestHead } from "../http1/events.ts";
import { RequestParser } from "../http1/request_parser.ts";
import { encodeLatin1 } from "../http1/serializer.ts";
import { reasonPhrase } from "../http1/status.ts";
import { httpDateNow } from "./_http_date.ts";
import type { ServerLimits } from "./options.ts";

// Idle keep-alive connections each hold their read buffer (a pending read
// needs one), so it is small; most request heads fit. When a read fills it,
// the next reads of that burst (big heads, pipelined batches) get a fresh
// larger buffer.
const HEAD_BUFFER_BYTES = 1024;
const BURST_BUFFER_BYTES = 16 * 1024;
const BODY_BUFFER_BYTES = 64 * 1024;
// Body pieces smaller than this are copied out of the body buffer, which is
// then read into again; larger ones are handed on as views of it. A trickled
// body thus never pins a whole buffer per byte, and what a piece keeps alive
// is at most 4× its size.
const BODY_COPY_BELOW_BYTES = 16 * 1024;
const FLUSH_AT_BYTES = 64 * 1024;
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
const OUT_BUFFER_BYTES = 16 * 1024;
const SMALL_WRITE_BYTES = 4 * 1024;
const MAX_POOLED_BUFFERS = 1024;
// Where lingering connections discard input; shared, nobody reads it.
const LINGER_SCRATCH = new Uint8Array(16 * 1024);
const encoder = new TextEncoder();
// What #exchangeOnce decided.
const KEEP = 0;
const CLOSE = 1;
const LINGER = 2;
const DETACHED = 3;
type Next = typeof KEEP | typeof CLOSE | typeof LINGER | typeof DETACHED;
// Output buffers of connections that are between requests, for reuse.
const outBufferPool: Uint8Array[] = [];
// The fewest buffers the pool held since the last trim: that many sat
// unused for the whole interval.
let outBufferPoolLowWater = 0;
let outBufferPoolTrimmedAt = 0;
const OUT_BUFFER_TRIM_MS = 1000;

function takeOutBuffer(): Uint8Array {
  const out = outBufferPool.pop();
  if (out === undefined) return new Uint8Array(OUT_BUFFER_BYTES);
  if (outBufferPool.length < outBufferPoolLowWater) {
    outBufferPoolLowWater = outBufferPool.length;
  }
  return out;
}

/**
 * Frees the pooled output buffers no response needed since the last call.
 * A burst of many connections answered at once fills the pool (500 at
 * once leave 8 MiB); the engines' deadline sweeps call this, and once a
 * second the pool shrinks back to what the steady load uses.
 */
export function trimOutBufferPool(now: number): void {
  // Several servers in one process each sweep; the pool is shared.
  if (now - outBufferPoolTrimmedAt < OUT_BUFFER_TRIM_MS) return;
  outBufferPoolTrimmedAt = now;
  outBufferPool.length -= outBufferPoolLowWater;
  outBufferPoolLowWater = outBufferPool.length;
}

/** What a handler face does with one request. */
/**
 * What a handler face does with one request: undefined when it finished
 * synchronously (no promise, no microtask turn), else a promise.
 */
export type Dispatch = (
  head: RequestHead,
  exchange: Exchange,
) => Promise<void> | undefined;

/** A response the engine sent on its own (a malformed request, a timeout). */
export interface CannedResponse {
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
  /** The request's head when it parsed, else null (a bad request line). */
  head: RequestHead | null;
  /** Why: its `statusHint` is the status sent. */
  error: ProtocolError;
  /** Response body bytes sent. */
  bodyBytes: number;
  /** When the engine answered (ms since the epoch). */
  time: number;
}

/** The engine-wide state a connection consults. */
export interface EngineState {
  readonly limits: Readonly<ServerLimits>;
  readonly shuttingDown: boolean;
  /** The face hands Upgrade and CONNECT requests' sockets to a hook. */
  readonly takesUpgrades: boolean;
  /** Called with errors the engine swallowed (peer resets, failed writes). */
  reportError(error: unknown): void;
  /** Called after the engine answered a request itself. */
  reportCanned(response: CannedResponse): void;
  /** Called once when a connection's run() ends (no await frame per connection). */
  connectionEnded(connection: Connection): void;
}

/** The raw socket and the bytes read past the request head, for upgrades. */
export interface TakenOverConnection {
  /** The socket, now owned by the caller. */
  conn: Deno.Conn;
  /** Bytes already read after the head (the start of the new protocol). */
  buffered: Uint8Array;
}

/**
 * The engine's side of one request, as a handler face sees it: read the body,
 * write bytes, decide whether the connection lives on.
 */
export class Exchange {
  readonly #connection: Connection;
  /** Set to end the connection after this exchange. */
  closeAfter = false;
  /** Bytes written for this exchange so far (head included). */
  bytesWritten = 0;

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  /** The peer's address. */
  get remoteAddr(): Deno.NetAddr {
    return this.#connection.remoteAddr;
  }

  /** The local address the request arrived on. */
  get localAddr(): Deno.NetAddr {
    return this.#connection.localAddr;
  }

  /** Whether this connection is TLS. */
  get secure(): boolean {
    return this.#connection.secure;
  }

  /** Whether the connection may carry another request after this one. */
  get keepAlive(): boolean {
    return !this.closeAfter && this.#connection.mayKeepAlive();
  }

  /**
   * Whether the engine ends the connection after this exchange for a
   * reason of its own, whatever the request and face say: a shutdown under
   * way, or the last of `maxRequestsPerConnection`.
   */
  get engineCloses(): boolean {
    return this.#connection.engineCloses();
  }

  /**
   * Whether more of a declared request body is unread than the engine will
   * drain after the response. A response sent complete at that point (the
   * handler answered without reading the upload: a 401, a 413) ends the
   * connection, and must say so (RFC 9112 §9.6; Go does the same): else a
   * keep-alive client sends its next request on a socket being torn down,
   * and gets a reset. A streamed response may still read the body (an
   * echo), so it is not decided then.
   */
  get unreadBodyOverDrainLimit(): boolean {
    return this.#connection.unreadBodyOverDrainLimit();
  }

  /** The keep-alive timeout to advertise, in whole seconds. */
  get keepAliveTimeoutSeconds(): number {
    return Math.floor(this.#connection.limits.keepAliveTimeoutMs / 1000);
  }

  /**
   * The next piece of the request body (sends `100 Continue` first if the
   * client asked for it), or null at its end.
   */
  readBody(): Promise<Uint8Array | null> {
    return this.#connection.readBody(this);
  }

  /**
   * The face decides keep-alive from the request itself (Python's
   * `close_connection`, which a handler may change): the client's
   * `Connection` field and version no longer end the connection on their
   * own. The engine's own reasons (limits, shutdown, a body it cannot
   * drain) still do; `closeAfter` says the face's choice.
   */
  ownKeepAlive(): void {
    this.#connection.ownKeepAlive();
  }

  /**
   * The face answers `Expect: 100-continue` itself (Python's
   * `handle_expect_100()`): reading the body sends no `100 Continue` of the
   * engine's. Call {@linkcode Exchange.continueSent} when the face sends one.
   */
  ownContinue(): void {
    this.#connection.ownContinue();
  }

  /** The face has sent `100 Continue` (see {@linkcode Exchange.ownContinue}). */
  continueSent(): void {
    this.#connection.continueSent();
  }

  /** Whether the whole request body has been read. */
  get bodyDone(): boolean {
    return this.#connection.bodyDone;
  }

  /** Why reading the request body failed (the engine answers it), or null. */
  get bodyError(): ProtocolError | null {
    return this.#connection.bodyError;
  }

  /** Queues bytes for the peer; large amounts are flushed on the way. */
  write(bytes: Uint8Array): Promise<void> | undefined {
    this.bytesWritten += bytes.length;
    return this.#connection.write(bytes);
  }

  /** Queues head text (Latin-1); no allocation when it fits the buffer. */
  writeText(text: string): Promise<void> | undefined {
    this.bytesWritten += text.length;
    return this.#connection.writeText(text);
  }

  /** Sends everything queued. */
  flush(): Promise<void> {
    return this.#connection.flush();
  }

  /**
   * Calls `onGone` once if the peer closes or resets the connection before
   * this exchange ends (Go's request context, `Deno.serve`'s
   * `request.signal`). Watching costs one extra read, started once the
   * request body has been read; bytes it brings (a pipelined request) are
   * kept for the next exchange.
   */
  watchPeerGone(onGone: () => void): void {
    this.#connection.watchPeerGone(onGone);
  }

  /**
   * Takes the raw socket over (WebSocket, CONNECT tunnels): the engine stops
   * reading, flushes what it queued and never touches the socket again.
   */
  async takeOver(): Promise<TakenOverConnection> {
    return await this.#connection.takeOver();
  }
}

/** One accepted socket. Created and run by the engine. */
export class Connection {
  readonly conn: Deno.Conn;
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly secure: boolean;
  readonly limits: Readonly<ServerLimits>;
  readonly #engine: EngineState;
  readonly #dispatch: Dispatch;
  readonly #parser: RequestParser;
  readonly #headBuffer = new Uint8Array(HEAD_BUFFER_BYTES);
  #burst = false;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #out: Uint8Array | null = null;
  #outStart = 0;
  #outEnd = 0;
  #flushing: Promise<void> | null = null;
  #requests = 0;
  #closed = false;
  #detached = false;
  #idle = false;
  // Deadline bookkeeping, checked by the engine's sweep.
  #deadline = 0;
  #deadlineKind: "idle" | "head" | "body" | null = null;
  // The current request's body.
  #head: RequestHead | null = null;
  #bodyDone = true;
  #bodyBytes = 0;
  // The buffer body reads go into while no view of it was handed out.
  #bodyBuffer: Uint8Array | null = null;
  // The body read under way: a second reader (the engine draining a body a
  // handler stopped reading mid-read) waits on it instead of reading too.
  #bodyFill: Promise<boolean> | null = null;
  #continueSent = false;
  #continueOwnedByFace = false;
  #keepAliveOwnedByFace = false;
  #responseStarted = false;
  #bodyError: ProtocolError | null = null;
  // Peer-gone watching for the current exchange (see Exchange.watchPeerGone).
  #onPeerGone: (() => void) | null = null;
  #peerGone = false;
  #readAhead: Promise<boolean> | null = null;
  // The exchange whose face may read the request body: none once the
  // response is done (the engine drains what is left) or the next request
  // has begun, so a late read never takes bytes that are not its own.
  #faceExchange: Exchange | null = null;
  /**
   * Called before the engine waits on the socket for more of a request (its
   * head or body), not for a watch that only looks for the peer leaving.
   * `exchangeRaw` half-closes its client then, once every byte is read.
   */
  onNeedBytes: (() => void) | null = null;

  constructor(
    conn: Deno.Conn,
    engine: EngineState,
    dispatch: Dispatch,
    secure: boolean,
  ) {
    this.conn = conn;
    this.remoteAddr = conn.remoteAddr as Deno.NetAddr;
    this.localAddr = conn.localAddr as Deno.NetAddr;
    this.secure = secure;
    this.#engine = engine;
    this.limits = engine.limits;
    this.#dispatch = dispatch;
    this.#parser = new RequestParser({ limits: engine.limits.parser });
  }

  /** Whether the connection waits for a request with nothing buffered. */
  get idle(): boolean {
    return this.#idle;
  }

  get bodyDone(): boolean {
    return this.#bodyDone;
  }

  get bodyError(): ProtocolError | null {
    return this.#bodyError;
  }

  engineCloses(): boolean {
    const max = this.limits.maxRequestsPerConnection;
    return this.#engine.shuttingDown || (max !== 0 && this.#requests >= max);
  }

  mayKeepAlive(): boolean {
    const head = this.#head;
    return head !== null &&
      (head.keepAlive || this.#keepAliveOwnedByFace) &&
      // A CONNECT the face answered itself ends the connection (a 2xx
      // would have begun a tunnel nobody runs): say so.
      head.upgrade !== "connect" &&
      !this.engineCloses() && this.#bodyError === null &&
      // RFC 9110 §10.1.1: a final response sent before the client got its
      // 100 Continue ends the exchange; the body it may still send cannot be
      // told from the next request, so say the connection closes.
      !this.#awaitingContinue();
  }

  // More of a declared body is unread than the engine will drain after the
  // response: if the handler is done with it, the connection will close.
  unreadBodyOverDrainLimit(): boolean {
    const head = this.#head;
    return head !== null && !this.#bodyDone &&
      head.framing.kind === "length" &&
      head.framing.length - this.#bodyBytes > this.limits.maxDrainBytes;
  }

  // The client holds its body back until we send 100 Continue.
  #awaitingContinue(): boolean {
    const head = this.#head;
    return head !== null && head.expectContinue && !this.#continueSent &&
      !this.#bodyDone && head.framing.kind !== "none";
  }

  /** Closes the socket now; a pending read ends the loop. */
  close(): void {
    if (this.#closed || this.#detached) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed by the peer or a failed write.
    }
    this.#notifyPeerGone();
  }

  watchPeerGone(onGone: () => void): void {
    if (this.#peerGone || this.#closed) {
      onGone();
      return;
    }
    const before = this.#onPeerGone;
    this.#onPeerGone = before === null ? onGone : () => {
      before();
      onGone();
    };
    this.#maybeReadAhead();
  }

  #notifyPeerGone(): void {
    this.#peerGone = true;
    const onGone = this.#onPeerGone;
    this.#onPeerGone = null;
    onGone?.();
  }

  // While a watched handler runs, keep one read pending so a close is seen.
  // Not when a hook may take the socket: its bytes are the hook's. That is
  // the case for an Upgrade request, and for one already buffered behind
  // this request (a read still pending when the hook takes the socket
  // would swallow the new protocol's next bytes).
  #maybeReadAhead(): void {
    this.#takeEmptyBodyEnd();
    if (
      this.#onPeerGone === null || this.#readAhead !== null ||
      !this.#bodyDone || this.#detached || this.#closed ||
      this.#parser.eofReceived ||
      (this.#engine.takesUpgrades &&
        (this.#head?.upgrade != null || this.#parser.bufferedBytes > 0))
    ) {
      return;
    }
    const reading = this.#fill(new Uint8Array(HEAD_BUFFER_BYTES)).then(
      (alive) => {
        this.#readAhead = null;
        if (!alive || this.#parser.eofReceived) this.#notifyPeerGone();
        return alive;
      },
    );
    this.#readAhead = reading;
  }

  /** Called by the engine's sweep: enforce the current deadline. */
  checkDeadline(now: number): void {
    // Waiting with nothing buffered: what the last head needed can go.
    if (this.#idle) this.#parser.releaseScratch();
    if (this.#deadlineKind === null || now < this.#deadline) return;
    const kind = this.#deadlineKind;
    this.#deadlineKind = null;
    if (kind === "head" && this.#parser.bufferedBytes > 0) {
      // A slow-drip head: tell the client why before closing.
      void this.#sendCannedAndClose(
        new ProtocolError(
          "Cannot wait longer for the request head",
          "HEAD_TIMEOUT",
          408,
        ),
      );
      return;
    }
    if (kind === "body") {
      this.#bodyError = new ProtocolError(
        "Cannot wait longer for the request body",
        "BODY_TIMEOUT",
        408,
      );
      if (!this.#responseStarted) {
        // Say why (the handler's read fails with this error), then close.
        void this.#sendCannedAndClose(this.#bodyError);
        return;
      }
    }
    this.close();
  }

  #setDeadline(kind: "idle" | "head" | "body", ms: number): void {
    this.#deadlineKind = kind;
    this.#deadline = Date.now() + ms;
  }

  /** Serves requests until the connection ends. Never throws. */
  async run(): Promise<void> {
    try {
      (this.conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // TLS connections before the handshake may not support it.
    }
    // Whether the client may still be sending when we end: then close in
    // stages so our last response is not lost to a reset.
    let linger = false;
    try {
      while (!this.#closed) {
        // Only a boolean lives in this frame across the idle read: the last
        // head and exchange are unreachable while the connection waits.
        // Per-response backpressure: with a full output buffer (or a write
        // still going), wait for the socket before the next pipelined
        // request runs, so a client that stops reading is not answered
        // without bound from what one read brought.
        if (this.#pendingBytes >= FLUSH_AT_BYTES || this.#flushing !== null) {
          await this.flush();
        }
        // The next head: parsed from what is buffered (a pipelined one) or
        // read here. Both this and the exchange answer synchronously when
        // they can (every await costs a promise and a microtask turn per
        // request), and the socket is read in this frame, not a helper's:
        // an idle connection holds one async frame of ours, not two.
        let got = this.#headFromBuffer();
        if (got === null) {
          // The idle (or first-head) deadline is armed once per head, not
          // per read: reads that bring only the empty lines the parser
          // skips (RFC 9112 §2.2) must not keep a connection alive for ever.
          let armed = false;
          // Part of the head came: the headers deadline is set.
          let begun = false;
          const parser = this.#parser;
          while (got === null) {
            if (this.#pendingBytes > 0) {
              await this.flush();
              // A peer-gone watch may have brought a head while we flushed.
              got = this.#headFromBuffer();
              if (got !== null) break;
            }
            if (parser.bufferedBytes === 0) {
              if (this.#engine.shuttingDown) break;
              if (!armed) {
                armed = true;
                this.#armIdleDeadline();
              }
            } else if (!begun) {
              begun = true;
              this.#headBegun();
            }
            this.onNeedBytes?.();
            if (this.#readAhead !== null) {
              // A peer-gone watch is reading already; take what it brings.
              if (!await this.#readAhead) break;
            } else {
              const buffer = this.#burst
                ? new Uint8Array(BURST_BUFFER_BYTES)
                : this.#headBuffer;
              let n: number | null;
              try {
                n = await this.conn.read(buffer);
              } catch (error) {
                this.#readFailed(error);
                break;
              }
              if (!this.#accept(buffer, n)) break;
            }
            got = this.#headFromBuffer();
            // Part of a head came: it must be complete within the headers
            // timeout. (A head that came whole needs no deadline, nor a
            // clock read, before it is handled.)
            if (got === null && !begun && parser.bufferedBytes > 0) {
              begun = true;
              this.#headBegun();
            }
          }
        }
        if (!got) break;
        let next = this.#exchangeOnce();
        if (typeof next !== "number") next = await next;
        if (next === DETACHED) return;
        if (next !== KEEP) {
          linger = next === LINGER;
          break;
        }
        this.#head = null;
      }
      await this.flush();
    } catch (error) {
      if (error instanceof ProtocolError) {
        await this.#sendCanned(error);
        linger = true;
      } else if (!this.#closed) {
        this.#engine.reportError(error);
      }
    } finally {
      this.#deadlineKind = null;
      if (linger && !this.#closed && !this.#peerGone) {
        await this.#lingeringClose();
      }
      this.close();
      // A Request the application keeps must not keep this connection's
      // buffers: drop them (the output buffer goes back to the pool unless
      // a write still uses it).
      this.#bodyBuffer = null;
      this.#parser.takeBuffered(); // and the parser's view of the last read
      this.#pending = [];
      this.#pendingBytes = 0;
      if (this.#flushing === null) this.#releaseOut();
      else this.#out = null;
      this.#engine.connectionEnded(this);
    }
  }

  // One request after its head was read: dispatch, then decide the
  // connection. Synchronous when the face answered synchronously.
  #exchangeOnce(): Next | Promise<Next> {
    const head = this.#head!;
    this.#requests++;

    const exchange = new Exchange(this);
    this.#faceExchange = exchange;
    this.#startBody();
    const rejection = this.#rejectEarly(head);
    if (rejection !== null) {
      return this.#sendCanned(rejection).then(() => LINGER);
    }
    let dispatched: Promise<void> | undefined;
    try {
      dispatched = this.#dispatch(head, exchange);
    } finally {
      if (dispatched === undefined) this.#onPeerGone = null;
    }
    if (dispatched !== undefined) {
      return this.#afterDispatchSettles(dispatched, head, exchange);
    }
    return this.#afterDispatch(head, exchange);
  }

  async #afterDispatchSettles(
    dispatched: Promise<void>,
    head: RequestHead,
    exchange: Exchange,
  ): Promise<Next> {
    try {
      await dispatched;
    } finally {
      this.#onPeerGone = null;
    }
    return await this.#afterDispatch(head, exchange);
  }

  #afterDispatch(head: RequestHead, exchange: Exchange): Next | Promise<Next> {
    this.#faceExchange = null;
    if (this.#detached) return DETACHED;
    if (this.#bodyError !== null && exchange.bytesWritten === 0) {
      return this.#sendCanned(this.#bodyError).then(() => LINGER);
    }
    this.#takeEmptyBodyEnd();
    if (!exchange.keepAlive || head.upgrade === "connect") {
      return this.#closeKind();
    }
    if (this.#bodyDone) return KEEP;
    return this.#finishBody().then((drained) =>
      drained ? KEEP : this.#closeKind()
    );
  }

  // Input left unread when we stop: close in stages (see #lingeringClose).
  #closeKind(): Next {
    return !this.#bodyDone || this.#parser.bufferedBytes > 0 ? LINGER : CLOSE;
  }

  // A request without a body, or whose declared length the face has read
  // to the last byte without asking again: take the parser's end event now
  // (no I/O), so the body counts as read.
  #takeEmptyBodyEnd(): void {
    const framing = this.#head?.framing;
    if (
      !this.#bodyDone && framing !== undefined &&
      (framing.kind === "none" ||
        (framing.kind === "length" && this.#bodyBytes === framing.length)) &&
      this.#parser.next().kind === "end"
    ) {
      this.#bodyDone = true;
      if (this.#deadlineKind === "body") this.#deadlineKind = null;
    }
  }

  // RFC 9112 §9.6: half-close, then read and discard what the client still
  // sends until it closes too (or lingerTimeoutMs passes). Closing with
  // unread input would send a reset, which can destroy our last response
  // in the client's receive buffer before it reads it.
  async #lingeringClose(): Promise<void> {
    if (this.#closed || this.#parser.eofReceived) return;
    try {
      await this.flush();
      await this.conn.closeWrite();
    } catch {
      return;
    }
    const timer = setTimeout(() => this.close(), this.limits.lingerTimeoutMs);
    Deno.unrefTimer(timer);
    try {
      // One read at a time: a peer-gone watch may still be reading.
      if (this.#readAhead !== null) await this.#readAhead;
      while (
        !this.#closed && !this.#parser.eofReceived &&
        await this.conn.read(LINGER_SCRATCH) !== null
      ) {
        // Discarded.
      }
    } catch {
      // Reset or closed by the timer: done either way.
    } finally {
      clearTimeout(timer);
    }
  }

  // 413 before the handler runs when the declared length is over the limit;
  // 417 for an expectation other than 100-continue (RFC 9110 §10.1.1).
  #rejectEarly(head: RequestHead): ProtocolError | null {
    const framing = head.framing;
    if (
      framing.kind === "length" && framing.length > this.limits.maxBodyBytes
    ) {
      return new ProtocolError(
        `Cannot accept a body of ${framing.length} bytes: the limit is ${this.limits.maxBodyBytes}`,
        "BODY_TOO_LARGE",
        413,
      );
    }
    // RFC 9110 §10.1.1: an expectation in an HTTP/1.0 request is ignored.
    if (
      !head.expectContinue && head.version === "HTTP/1.1" &&
      head.headers.indexOf("expect") !== -1
    ) {
      return new ProtocolError(
        `Cannot meet expectation "${head.headers.get("expect")!.slice(0, 64)}"`,
        "EXPECTATION_FAILED",
        417,
      );
    }
    return null;
  }

  // A parsed head (true), the end of the connection (false), or null when
  // the parser needs more bytes.
  #headFromBuffer(): boolean | null {
    const parser = this.#parser;
    for (;;) {
      const event = parser.next();
      switch (event.kind) {
        case "head":
          this.#idle = false;
          this.#deadlineKind = null;
          this.#head = event;
          return true;
        case "closed":
          return false;
        case "paused":
          // An Upgrade nobody took: keep speaking HTTP (RFC 9110 §7.8).
          parser.resume();
          continue;
        case "need-data":
          return null;
        default:
          throw new Error(`Unexpected parser event "${event.kind}" in head`);
      }
    }
  }

  // Waiting for the next head with nothing buffered.
  #armIdleDeadline(): void {
    this.#releaseOut();
    this.#idle = true;
    const first = this.#requests === 0;
    this.#setDeadline(
      first ? "head" : "idle",
      first ? this.limits.headersTimeoutMs : this.limits.keepAliveTimeoutMs,
    );
  }

  // The first bytes of a head are in: the headers timeout starts.
  #headBegun(): void {
    this.#idle = false;
    this.#setDeadline("head", this.limits.headersTimeoutMs);
  }

  // Reads once into `buffer` and feeds the parser; false when the socket is gone.
  async #fill(buffer: Uint8Array): Promise<boolean> {
    let n: number | null;
    try {
      n = await this.conn.read(buffer);
    } catch (error) {
      this.#readFailed(error);
      return false;
    }
    return this.#accept(buffer, n);
  }

  #readFailed(error: unknown): void {
    if (!this.#closed) this.#engine.reportError(error);
    // close(), not just the flag: a read that failed on its own (reset,
    // TLS alert) leaves the socket open, and run()'s final close() skips
    // a connection already marked closed.
    this.close();
  }

  // Feeds what a read brought to the parser; false when the socket is gone.
  #accept(buffer: Uint8Array, n: number | null): boolean {
    if (this.#closed) return false;
    if (n === null) {
      this.#parser.receiveEof();
      return true;
    }
    this.#burst = n === buffer.length;
    this.#parser.receive(buffer.subarray(0, n));
    return true;
  }

  #startBody(): void {
    this.#responseStarted = false;
    this.#bodyDone = false;
    this.#bodyBytes = 0;
    this.#continueSent = false;
    this.#continueOwnedByFace = false;
    this.#keepAliveOwnedByFace = false;
    this.#bodyError = null;
  }

  ownKeepAlive(): void {
    this.#keepAliveOwnedByFace = true;
  }

  ownContinue(): void {
    this.#continueOwnedByFace = true;
  }

  continueSent(): void {
    this.#continueSent = true;
  }

  /**
   * The next piece of the body: for `reader`, a face's exchange, or for the
   * engine (null) draining it after the face is done.
   */
  async readBody(reader: Exchange | null): Promise<Uint8Array | null> {
    // A socket handed to a hook carries no other request, so its request's
    // body (read before the hand-over) has ended for whoever asks.
    if (this.#detached && this.#bodyDone) return null;
    this.#assertReader(reader);
    if (this.#bodyDone) return null;
    if (this.#bodyError !== null) throw this.#bodyError;
    if (!this.#continueOwnedByFace && this.#awaitingContinue()) {
      // RFC 9110 §10.1.1: 100 Continue only once the handler wants the body,
      // and never after the final response's head (§15.2: 1xx come first).
      this.#continueSent = true;
      if (!this.#responseStarted) {
        this.#queue(CONTINUE);
        await this.flush();
      }
    }
    const parser = this.#parser;
    for (;;) {
      let event;
      try {
        event = parser.next();
      } catch (error) {
        if (error instanceof ProtocolError) {
          this.#bodyError = error;
          // The client ended its side mid-body: it is gone (request.signal).
          if (error.code === "UNEXPECTED_EOF") this.#notifyPeerGone();
        }
        throw error;
      }
      switch (event.kind) {
        case "data": {
          this.#bodyBytes += event.data.length;
          if (this.#bodyBytes > this.limits.maxBodyBytes) {
            this.#bodyError = new ProtocolError(
              `Cannot accept a body over ${this.limits.maxBodyBytes} bytes`,
              "BODY_TOO_LARGE",
              413,
            );
            throw this.#bodyError;
          }
          // Views into the reused head buffer must be copied, and so are
          // small pieces of the body buffer (it is then reused); a large
          // piece is handed on as it is, and its buffer never read into again.
          const data = event.data;
          if (
            data.buffer === this.#headBuffer.buffer ||
            data.length < BODY_COPY_BELOW_BYTES
          ) return data.slice();
          if (data.buffer === this.#bodyBuffer?.buffer) this.#bodyBuffer = null;
          return data;
        }
        case "end":
          this.#bodyDone = true;
          if (this.#deadlineKind === "body") this.#deadlineKind = null;
          this.#maybeReadAhead();
          return null;
        case "need-data": {
          if (this.#deadlineKind !== "body") {
            this.#setDeadline("body", this.limits.requestTimeoutMs);
          }
          // Responses queued for earlier pipelined requests (or this one's
          // streamed head) go out before we block on the client.
          if (this.#pendingBytes > 0) await this.flush();
          this.onNeedBytes?.();
          if (this.#readAhead !== null) {
            // A peer-gone watch is reading already: its bytes go to the
            // parser; a second read would wait for bytes it took.
            await this.#readAhead;
            this.#assertReader(reader);
            continue;
          }
          let filling = this.#bodyFill;
          if (filling === null) {
            filling = this.#bodyFill = this.#fill(
              this.#bodyBuffer ??= new Uint8Array(BODY_BUFFER_BYTES),
            );
          }
          const filled = await filling;
          if (this.#bodyFill === filling) this.#bodyFill = null;
          // Another reader may have taken the bytes, or the end, meanwhile.
          this.#assertReader(reader);
          if (this.#bodyDone) return null;
          if (!filled) {
            const error = this.#bodyError ?? new ProtocolError(
              "Cannot read the request body: connection closed",
              "UNEXPECTED_EOF",
            );
            this.#bodyError = error;
            throw error;
          }
          continue;
        }
        default:
          throw new Error(`Unexpected parser event "${event.kind}" in body`);
      }
    }
  }

  #assertReader(reader: Exchange | null): void {
    if (reader !== null && reader !== this.#faceExchange) {
      throw new BodyDiscardedError();
    }
  }

  // After the face is done: discard an unread body within maxDrainBytes so the
  // connection can be reused. Returns false when it must close instead.
  async #finishBody(): Promise<boolean> {
    if (this.#bodyDone) return true;
    if (this.#awaitingContinue()) {
      // The client may be holding the body back for our 100; don't wait for it.
      return false;
    }
    let drained = 0;
    try {
      for (;;) {
        const chunk = await this.readBody(null);
        if (chunk === null) return true;
        drained += chunk.length;
        if (drained > this.limits.maxDrainBytes) return false;
      }
    } catch {
      return false;
    }
  }

  // Output staging. Small writes are copied into a pooled buffer (`#out`,
  // filled from #outStart to #outEnd); larger ones are queued by reference.
  // `#pending` holds the sealed pieces in order. Allocating an ArrayBuffer
  // costs about a microsecond in Deno, more than the rest of a small
  // response, so a steady keep-alive connection allocates none.
  #seal(): void {
    if (this.#out !== null && this.#outEnd > this.#outStart) {
      this.#pending.push(this.#out.subarray(this.#outStart, this.#outEnd));
      this.#outStart = this.#outEnd;
    }
  }

  #queue(bytes: Uint8Array): void {
    this.#seal();
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
  }

  // Copies bytes into the pooled buffer if they fit; false when they do not.
  #stage(bytes: Uint8Array): boolean {
    if (bytes.length > SMALL_WRITE_BYTES) return false;
    const out = this.#out ??= takeOutBuffer();
    if (out.length - this.#outEnd < bytes.length) return false;
    out.set(bytes, this.#outEnd);
    this.#outEnd += bytes.length;
    this.#pendingBytes += bytes.length;
    return true;
  }

  /** Queues a head (Latin-1 text, every character below U+0100). */
  writeText(text: string): Promise<void> | undefined {
    const out = this.#out ??= takeOutBuffer();
    const room = out.length - this.#outEnd;
    if (text.length <= room) {
      const { read, written } = encoder.encodeInto(
        text,
        out.subarray(this.#outEnd),
      );
      if (read === text.length && written === read) {
        // All ASCII: UTF-8 and Latin-1 agree.
        this.#responseStarted = true;
        this.#outEnd += written;
        this.#pendingBytes += written;
        return this.#flushIfFull();
      }
    }
    return this.write(encodeLatin1(text));
  }

  write(bytes: Uint8Array): Promise<void> | undefined {
    if (bytes.length === 0) return undefined;
    this.#responseStarted = true;
    if (!this.#stage(bytes)) this.#queue(bytes);
    return this.#flushIfFull();
  }

  // Gives the output buffer back to the pool between requests, so idle
  // keep-alive connections hold no output memory.
  #releaseOut(): void {
    const out = this.#out;
    if (out === null || this.#pendingBytes > 0 || this.#flushing !== null) {
      return;
    }
    this.#out = null;
    this.#outStart = this.#outEnd = 0;
    if (outBufferPool.length < MAX_POOLED_BUFFERS) outBufferPool.push(out);
  }

  #flushIfFull(): Promise<void> | undefined {
    if (this.#pendingBytes >= FLUSH_AT_BYTES) {
      const flushed = this.flush();
      // Callers may not await this flush; a failure must not become an
      // unhandled rejection (that ends the process). The next flush reports
      // the closed connection again.
      flushed.catch(() => {});
      return flushed;
    }
    return undefined;
  }

  flush(): Promise<void> {
    // One write loop at a time: a second flush started while a partial
    // write is in progress would interleave its bytes with the first's.
    if (this.#flushing !== null) return this.#flushAfterCurrent();
    if (this.#pendingBytes === 0) return Promise.resolve();
    return this.#flushNow();
  }

  async #flushAfterCurrent(): Promise<void> {
    while (this.#flushing !== null) {
      try {
        await this.#flushing;
      } catch {
        // Its own caller sees that error; this flush finds #closed set.
      }
    }
    if (this.#pendingBytes > 0) await this.#flushNow();
  }

  // Writes everything queued as one buffer. The common case (the OS takes it
  // all at once) is one promise on top of the socket write, no async frame.
  #flushNow(): Promise<void> {
    this.#seal();
    let out: Uint8Array;
    if (this.#pending.length === 1) {
      out = this.#pending[0]!;
    } else {
      out = new Uint8Array(this.#pendingBytes);
      let at = 0;
      for (const part of this.#pending) {
        out.set(part, at);
        at += part.length;
      }
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#closed) return Promise.reject(new ConnectionClosedError());
    let writing: Promise<number>;
    try {
      writing = this.conn.write(out);
    } catch (error) {
      return Promise.reject(this.#writeFailed(error));
    }
    const flushing = writing.then(
      (n) => n === out.length ? this.#wrote() : this.#writeRest(out, n),
      (error) => {
        throw this.#writeFailed(error);
      },
    );
    this.#flushing = flushing;
    return flushing;
  }

  async #writeRest(out: Uint8Array, written: number): Promise<void> {
    try {
      while (written < out.length) {
        written += await this.conn.write(out.subarray(written));
      }
    } catch (error) {
      throw this.#writeFailed(error);
    }
    this.#wrote();
  }

  #wrote(): void {
    this.#flushing = null;
    // Everything staged so far is out: reuse the buffer from its start.
    if (this.#pendingBytes === 0) this.#outStart = this.#outEnd = 0;
  }

  // A peer that vanished mid-write ends this connection, not the server.
  #writeFailed(error: unknown): ConnectionClosedError {
    this.#flushing = null;
    this.close();
    return new ConnectionClosedError(error);
  }

  async takeOver(): Promise<TakenOverConnection> {
    await this.flush();
    // A request without content has read all of it: the hook may still
    // read its (empty) body after this.
    this.#takeEmptyBodyEnd();
    this.#detached = true;
    // The application's socket now: referenced as any other (an unref'd
    // engine unrefs only its own reads).
    this.conn.ref();
    this.#deadlineKind = null;
    return { conn: this.conn, buffered: this.#parser.takeBuffered() };
  }

  async #sendCannedAndClose(error: ProtocolError): Promise<void> {
    await this.#sendCanned(error);
    this.close();
  }

  // Queues a canned error response after whatever is queued, flushes, and
  // tells the engine. The caller closes.
  async #sendCanned(error: ProtocolError): Promise<void> {
    if (this.#closed) return;
    const status = error.statusHint;
    const body = `${reasonPhrase(status)}: ${error.message}\n`;
    const bytes = new TextEncoder().encode(body);
    // RFC 9110 §6.6.1: a 4xx from a server with a clock carries Date.
    const head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n` +
      `Date: ${httpDateNow()}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
    // Whatever is queued (responses to earlier pipelined requests) was
    // complete and goes out first, in order.
    this.#queue(new TextEncoder().encode(head));
    // RFC 9110 §9.3.2: the answer to HEAD has the length, not the content.
    const isHead =
      (this.#head?.method ?? this.#parser.rejectedHeadMethod) === "HEAD";
    if (!isHead) this.#queue(bytes);
    try {
      await this.flush();
    } catch {
      // The peer is gone; nothing more to tell it.
      return;
    }
    this.#engine.reportCanned({
      remoteAddr: this.remoteAddr,
      head: this.#head,
      error,
      bodyBytes: isHead ? 0 : bytes.length,
      time: Date.now(),
    });
  }
}

/**
 * Thrown into a handler that reads its request body after its response was
 * done: the engine has discarded the rest (or the connection moved on to the
 * next request), so the handler gets an error, never a cut-short body or
 * another request's bytes. Read the body before answering.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { BodyDiscardedError, exchangeRaw } from "../mod.ts";
 *
 * let late: Promise<unknown> = Promise.resolve();
 * await exchangeRaw((req) => {
 *   // Answered first, read later: too late.
 *   late = new Promise((resolve) => setTimeout(resolve, 10))
 *     .then(() => req.text()).catch((error) => error);
 *   return new Response("accepted", { status: 202 });
 * }, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
 * assert.ok(await late instanceof BodyDiscardedError);
 * ```
 */
export class BodyDiscardedError extends Error {
  /** Machine-readable reason. */
  readonly code = "BODY_DISCARDED";
  /** Creates the error; its message says to read the body first. */
  constructor() {
    super(
      "Cannot read the request body: the response was already sent and the rest of the body discarded; read the body before answering",
    );
    this.name = "BodyDiscardedError";
  }
}

/** Thrown into a face when the peer went away while it was writing. */
export class ConnectionClosedError extends Error {
  /** Machine-readable reason. */
  readonly code = "CONNECTION_CLOSED";
  constructor(cause?: unknown) {
    super("Cannot write: the connection is closed", { cause });
    this.name = "ConnectionClosedError";
  }
}

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
import { reasonPhrase } from "../http1/status.ts";
import type { ServerLimits } from "./options.ts";

const HEAD_BUFFER_BYTES = 4 * 1024;
const BODY_BUFFER_BYTES = 64 * 1024;
const FLUSH_AT_BYTES = 64 * 1024;
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** What a handler face does with one request. */
export type Dispatch = (head: RequestHead, exchange: Exchange) => Promise<void>;

/** The engine-wide state a connection consults. */
export interface EngineState {
  readonly limits: Readonly<ServerLimits>;
  readonly shuttingDown: boolean;
  /** Called with errors the engine swallowed (peer resets, failed writes). */
  reportError(error: unknown): void;
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

  /** The keep-alive timeout to advertise, in whole seconds. */
  get keepAliveTimeoutSeconds(): number {
    return Math.floor(this.#connection.limits.keepAliveTimeoutMs / 1000);
  }

  /**
   * The next piece of the request body (sends `100 Continue` first if the
   * client asked for it), or null at its end.
   */
  readBody(): Promise<Uint8Array | null> {
    return this.#connection.readBody();
  }

  /** Whether the whole request body has been read. */
  get bodyDone(): boolean {
    return this.#connection.bodyDone;
  }

  /** Queues bytes for the peer; large amounts are flushed on the way. */
  write(bytes: Uint8Array): Promise<void> | undefined {
    this.bytesWritten += bytes.length;
    return this.#connection.write(bytes);
  }

  /** Sends everything queued. */
  flush(): Promise<void> {
    return this.#connection.flush();
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
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
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
  #continueSent = false;
  #bodyError: ProtocolError | null = null;

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

  mayKeepAlive(): boolean {
    const max = this.limits.maxRequestsPerConnection;
    return this.#head !== null && this.#head.keepAlive &&
      !this.#engine.shuttingDown && (max === 0 || this.#requests < max);
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
  }

  /** Called by the engine's sweep: enforce the current deadline. */
  checkDeadline(now: number): void {
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
    try {
      while (!this.#closed) {
        const head = await this.#readHead();
        if (head === null) break;
        this.#requests++;
        const exchange = new Exchange(this);
        this.#startBody();
        const rejection = this.#rejectEarly(head);
        if (rejection !== null) {
          await this.#sendCannedAndClose(rejection);
          break;
        }
        await this.#dispatch(head, exchange);
        if (this.#detached) return;
        if (this.#bodyError !== null && exchange.bytesWritten === 0) {
          await this.#sendCannedAndClose(this.#bodyError);
          break;
        }
        const keep = exchange.keepAlive && head.upgrade !== "connect" &&
          await this.#finishBody();
        if (!keep) break;
        this.#head = null;
      }
      await this.flush();
    } catch (error) {
      if (error instanceof ProtocolError) {
        await this.#sendCannedAndClose(error);
      } else if (!this.#closed) {
        this.#engine.reportError(error);
      }
    } finally {
      this.#deadlineKind = null;
      this.close();
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
    if (!head.expectContinue && head.headers.indexOf("expect") !== -1) {
      return new ProtocolError(
        `Cannot meet expectation "${head.headers.get("expect")!.slice(0, 64)}"`,
        "EXPECTATION_FAILED",
        417,
      );
    }
    return null;
  }

  async #readHead(): Promise<RequestHead | null> {
    const parser = this.#parser;
    let waitingSince = false;
    for (;;) {
      const event = parser.next();
      switch (event.kind) {
        case "head":
          this.#idle = false;
          this.#deadlineKind = null;
          this.#head = event;
          return event;
        case "closed":
          return null;
        case "paused":
          // An Upgrade nobody took: keep speaking HTTP (RFC 9110 §7.8).
          parser.resume();
          continue;
        case "need-data":
          break;
        default:
          throw new Error(`Unexpected parser event "${event.kind}" in head`);
      }
      if (this.#pendingBytes > 0) await this.flush();
      if (this.#engine.shuttingDown && parser.bufferedBytes === 0) return null;
      if (parser.bufferedBytes === 0) {
        this.#idle = true;
        this.#setDeadline(
          this.#requests === 0 ? "head" : "idle",
          this.#requests === 0
            ? this.limits.headersTimeoutMs
            : this.limits.keepAliveTimeoutMs,
        );
      } else if (!waitingSince) {
        waitingSince = true;
        this.#idle = false;
        this.#setDeadline("head", this.limits.headersTimeoutMs);
      }
      if (!await this.#fill(this.#headBuffer)) return null;
      if (parser.bufferedBytes > 0 && !waitingSince) {
        waitingSince = true;
        this.#idle = false;
        this.#setDeadline("head", this.limits.headersTimeoutMs);
      }
    }
  }

  // Reads once into `buffer` and feeds the parser; false when the socket is gone.
  async #fill(buffer: Uint8Array): Promise<boolean> {
    let n: number | null;
    try {
      n = await this.conn.read(buffer);
    } catch (error) {
      if (!this.#closed) this.#engine.reportError(error);
      this.#closed = true;
      return false;
    }
    if (this.#closed) return false;
    if (n === null) {
      this.#parser.receiveEof();
      return true;
    }
    this.#parser.receive(buffer.subarray(0, n));
    return true;
  }

  #startBody(): void {
    this.#bodyDone = false;
    this.#bodyBytes = 0;
    this.#continueSent = false;
    this.#bodyError = null;
  }

  async readBody(): Promise<Uint8Array | null> {
    if (this.#bodyDone) return null;
    if (this.#bodyError !== null) throw this.#bodyError;
    const head = this.#head!;
    if (head.expectContinue && !this.#continueSent) {
      // RFC 9110 §10.1.1: 100 Continue only once the handler wants the body.
      this.#continueSent = true;
      this.#queue(CONTINUE);
      await this.flush();
    }
    const parser = this.#parser;
    for (;;) {
      let event;
      try {
        event = parser.next();
      } catch (error) {
        if (error instanceof ProtocolError) this.#bodyError = error;
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
          // Views into the reused head buffer must be copied; fresh body
          // buffers are handed on as they are.
          return event.data.buffer === this.#headBuffer.buffer
            ? event.data.slice()
            : event.data;
        }
        case "end":
          this.#bodyDone = true;
          if (this.#deadlineKind === "body") this.#deadlineKind = null;
          return null;
        case "need-data": {
          if (this.#deadlineKind !== "body") {
            this.#setDeadline("body", this.limits.requestTimeoutMs);
          }
          if (!await this.#fill(new Uint8Array(BODY_BUFFER_BYTES))) {
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

  // After the face is done: discard an unread body within maxDrainBytes so the
  // connection can be reused. Returns false when it must close instead.
  async #finishBody(): Promise<boolean> {
    if (this.#bodyDone) return true;
    const head = this.#head!;
    if (head.expectContinue && !this.#continueSent) {
      // The client may be holding the body back for our 100; don't wait for it.
      return false;
    }
    let drained = 0;
    try {
      for (;;) {
        const chunk = await this.readBody();
        if (chunk === null) return true;
        drained += chunk.length;
        if (drained > this.limits.maxDrainBytes) return false;
      }
    } catch {
      return false;
    }
  }

  #queue(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
  }

  write(bytes: Uint8Array): Promise<void> | undefined {
    if (bytes.length === 0) return undefined;
    this.#queue(bytes);
    if (this.#pendingBytes >= FLUSH_AT_BYTES) return this.flush();
    return undefined;
  }

  async flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
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
    if (this.#closed) throw new ConnectionClosedError();
    try {
      let written = 0;
      while (written < out.length) {
        written += await this.conn.write(out.subarray(written));
      }
    } catch (error) {
      // A peer that vanished mid-write ends this connection, not the server.
      this.close();
      throw new ConnectionClosedError(error);
    }
  }

  async takeOver(): Promise<TakenOverConnection> {
    await this.flush();
    this.#detached = true;
    this.#deadlineKind = null;
    return { conn: this.conn, buffered: this.#parser.takeBuffered() };
  }

  async #sendCannedAndClose(error: ProtocolError): Promise<void> {
    if (this.#closed) return;
    const status = error.statusHint;
    const body = `${reasonPhrase(status)}: ${error.message}\n`;
    const bytes = new TextEncoder().encode(body);
    const head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#queue(new TextEncoder().encode(head));
    this.#queue(bytes);
    try {
      await this.flush();
    } catch {
      // The peer is gone; nothing more to tell it.
    }
    this.close();
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

/**
 * `HTTPResponse`: one response read off a connection, with Python's
 * `http.client.HTTPResponse` surface.
 *
 *   state    on                                  next state
 *   ───────  ──────────────────────────────────  ──────────
 *   new      begin(): 1xx heads skipped          new
 *   new      begin(): final head                 body | done
 *   body     read…(): data                       body
 *   body     read…(): end of body                done (connection released)
 *   body     close() / error                     done (connection closed)
 *
 * @module
 */

import { concatBytes } from "../http1/_chars.ts";
import type { ResponseEvent } from "../http1/events.ts";
import { ProtocolError } from "../http1/errors.ts";
import { FieldList } from "../http1/headers.ts";
import type { Transport } from "./_transport.ts";
import { debugReplyText, type LineSink } from "./_sink.ts";
import {
  fromProtocolError,
  HTTPException,
  IncompleteRead,
  ReadTimeout,
  RemoteDisconnected,
} from "./errors.ts";
import { HTTPMessage } from "./http_message.ts";
import type { TraceExchange } from "./trace.ts";

const EMPTY = new Uint8Array(0);
// What `headers` holds until the head is read; HTTPMessage is read-only, so
// one instance serves every response (building one per response showed up
// in profiles).
const NO_FIELDS = new HTTPMessage(FieldList.from([]));

/** An interim (1xx) response seen before the final one, e.g. 103 Early Hints. */
export interface InformationalResponse {
  /** The status, 100 to 199. */
  status: number;
  /** The reason phrase. */
  reason: string;
  /** Its header fields (e.g. `Link` for 103). */
  headers: HTTPMessage;
}

/**
 * What a response reads from and reports to; made by `HTTPConnection` and
 * `Pool`, not by hand.
 *
 * @internal
 */
export interface ResponseChannel {
  /** The socket and parser. */
  transport: Transport;
  /** The request method (a HEAD response has no body). */
  method: string;
  /** Per-read timeout in milliseconds, or undefined. */
  readTimeoutMs: number | undefined;
  /** The body was read to its end; `keepAlive` says whether to reuse. */
  onEnd(keepAlive: boolean): void;
  /** The response was closed early or failed: the socket cannot be reused. */
  onAbandon(error: unknown): void;
  /** Trace of this exchange, or null. */
  trace: TraceExchange | null;
  /** Python-style debug output, or null. */
  debug: LineSink | null;
  /** Interim responses already read (while waiting for 100 Continue). */
  informational?: InformationalResponse[];
  /** The connection must close after this response (body not sent). */
  forceClose?: boolean;
}

/**
 * A response (Python's `http.client.HTTPResponse`): status, headers, and a
 * body read with `read()`, `read1()`, `readinto()`, `readline()` or
 * `for await`. Bodies framed by Content-Length, chunked (trailers in
 * `trailers`) or the connection's close are de-framed; HEAD, 204 and 304
 * responses have none. Interim 1xx responses are skipped and listed in
 * `informational`. Get one from `HTTPConnection.getresponse()`.
 *
 * @example Usage
 * ```ts ignore
 * import { HTTPConnection } from "./http_connection.ts";
 *
 * const conn = new HTTPConnection("localhost", 8080);
 * await conn.request("GET", "/");
 * const response = await conn.getresponse();
 * console.log(response.status, response.reason, response.getheader("Content-Type"));
 * for await (const chunk of response) console.log(chunk.length);
 * conn.close();
 * ```
 */
export class HTTPResponse implements AsyncIterable<Uint8Array> {
  /** The status code, e.g. 200. */
  status = 0;
  /** The reason phrase, e.g. "OK". */
  reason = "";
  /** 10 for HTTP/1.0, 11 for HTTP/1.1 (as in Python). */
  version: 10 | 11 = 11;
  /** The header fields, all values kept. */
  headers: HTTPMessage = NO_FIELDS;
  /** Trailer fields of a chunked body, once it has been read to its end. */
  trailers: HTTPMessage | null = null;
  /** Interim responses (100, 103 …) received before this one. */
  readonly informational: InformationalResponse[];
  /** Whether the connection closes after this response. */
  will_close = false;
  /** Whether the body is chunked. */
  chunked = false;
  /** Body bytes still to come when Content-Length was given, else null. */
  length: number | null = null;
  /** The request method this answers. */
  readonly method: string;

  readonly #channel: ResponseChannel;
  #pending: Uint8Array | null = null;
  #done = false;
  #closed = false;
  #keepAlive = false;

  /**
   * Made by `HTTPConnection.getresponse()` and `Pool`; call `begin()` next.
   *
   * @param channel The socket and callbacks.
   */
  constructor(channel: ResponseChannel) {
    this.#channel = channel;
    this.method = channel.method;
    this.informational = channel.informational ?? [];
  }

  /** Python's alias for `headers`. */
  get msg(): HTTPMessage {
    return this.headers;
  }

  /**
   * Whether the rest of a Content-Length body has already been received,
   * so reading it needs no I/O.
   */
  get bodyBuffered(): boolean {
    if (this.#done) return true;
    const transport = this.#channel.transport;
    return this.length !== null && !transport.closed &&
      transport.parser.bufferedBytes >= this.length;
  }

  /** Whether the body has been read to its end or the response closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Python's `isclosed()`.
   *
   * @returns Whether the response is closed.
   */
  isclosed(): boolean {
    return this.#closed;
  }

  // Maps a failure, gives up the socket and records it; returns what to throw.
  #fail(error: unknown, inBody: boolean): unknown {
    const peer = this.#channel.transport.peer;
    let mapped = error;
    if (
      inBody && error instanceof ProtocolError &&
      error.code === "UNEXPECTED_EOF"
    ) {
      mapped = new IncompleteRead(EMPTY, this.length, { cause: error });
    } else {
      mapped = fromProtocolError(error, peer);
    }
    this.#pending = null;
    this.#done = true;
    this.#closed = true;
    this.#channel.onAbandon(mapped);
    this.#channel.trace?.fail(mapped);
    return mapped;
  }

  /**
   * Reads the status line and headers, skipping interim 1xx responses.
   * Called by `getresponse()`.
   *
   * @param headTimeoutMs Total time allowed for the head; without it the
   *   channel's per-read timeout applies.
   */
  async begin(headTimeoutMs?: number): Promise<void> {
    const channel = this.#channel;
    const deadline = headTimeoutMs === undefined
      ? undefined
      : performance.now() + headTimeoutMs;
    for (;;) {
      let timeout = deadline === undefined
        ? channel.readTimeoutMs
        : Math.max(0, deadline - performance.now());
      let event: ResponseEvent;
      let raw: Uint8Array | null;
      const transport = channel.transport;
      try {
        let polled: ResponseEvent | null;
        while ((polled = transport.poll()) === null) {
          await transport.fill(timeout);
          if (deadline !== undefined) {
            timeout = Math.max(0, deadline - performance.now());
          }
        }
        event = polled;
        raw = event.kind === "head" ? transport.lastHeadRaw : null;
      } catch (error) {
        // Name the whole head timeout, not what was left of it.
        throw this.#fail(
          error instanceof ReadTimeout && headTimeoutMs !== undefined
            ? new ReadTimeout(headTimeoutMs, transport.address, {
              cause: error,
            })
            : error,
          false,
        );
      }
      if (event.kind === "closed") {
        throw this.#fail(
          new RemoteDisconnected(
            `Remote end ${channel.transport.peer} closed connection without response`,
          ),
          false,
        );
      }
      if (event.kind !== "head") {
        throw this.#fail(
          new HTTPException(
            `Cannot read a response from ${channel.transport.peer}: got ${event.kind} before the status line`,
          ),
          false,
        );
      }
      const headers = new HTTPMessage(event.headers);
      channel.debug?.write(debugReplyText(event));
      if (event.status < 200 && event.status !== 101) {
        this.informational.push({
          status: event.status,
          reason: event.reason,
          headers,
        });
        channel.trace?.head(raw, event.status, false);
        continue;
      }
      channel.trace?.head(raw, event.status, true);
      this.status = event.status;
      // Python strips the reason phrase ("200  OK " reads "OK").
      this.reason = event.reason.trim();
      this.version = event.version === "HTTP/1.0" ? 10 : 11;
      this.headers = headers;
      this.#keepAlive = event.keepAlive && event.status !== 101 &&
        channel.forceClose !== true;
      this.will_close = !this.#keepAlive;
      this.chunked = event.framing.kind === "chunked";
      this.length = event.framing.kind === "length"
        ? event.framing.length
        : event.framing.kind === "none"
        ? 0
        : null;
      if (event.framing.kind === "none") {
        // No body: take the end event now so the connection is free at once.
        try {
          const end = await channel.transport.next(timeout);
          this.#finish(end.kind === "end" ? end.trailers : null);
        } catch (error) {
          throw this.#fail(error, true);
        }
      }
      return;
    }
  }

  #finish(trailers: FieldList | null): void {
    if (trailers !== null) this.trailers = new HTTPMessage(trailers);
    this.#done = true;
    this.#closed = true;
    this.#channel.trace?.end();
    // RFC 9112 §6.3: bytes after the last response asked for are no response
    // (a HEAD or 204 with a body, a short Content-Length): a client MUST NOT
    // read them as one, so the connection is not reused.
    const parser = this.#channel.transport.parser;
    const unsolicited = parser.bufferedBytes > 0 && parser.outstanding === 0;
    this.#channel.onEnd(this.#keepAlive && !unsolicited);
  }

  // The next piece of body without I/O: a view (valid until the next read),
  // null at the end of the body, or undefined when a socket read is needed.
  #pollChunk(): Uint8Array | null | undefined {
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      if (this.length !== null) this.length -= pending.length;
      return pending;
    }
    if (this.#done) return null;
    const transport = this.#channel.transport;
    for (;;) {
      let event: ResponseEvent | null;
      try {
        event = transport.poll();
      } catch (error) {
        throw this.#fail(error, true);
      }
      if (event === null) return undefined;
      if (event.kind === "data") {
        const n = event.data.length;
        if (this.length !== null) this.length -= n;
        this.#channel.trace?.body(n);
        if (n === 0) continue;
        return event.data;
      }
      this.#finish(event.kind === "end" ? event.trailers : null);
      return null;
    }
  }

  // Puts back the part of a piece the caller did not take: `length` counts
  // bytes not yet handed out, as Python's does.
  #keep(rest: Uint8Array): void {
    this.#pending = rest;
    if (this.length !== null) this.length += rest.length;
  }

  // The next piece of body as a view (valid until the next call), or null.
  async #nextChunk(): Promise<Uint8Array | null> {
    for (;;) {
      // Parse what is buffered before awaiting a read.
      const chunk = this.#pollChunk();
      if (chunk !== undefined) return chunk;
      try {
        await this.#channel.transport.fill(this.#channel.readTimeoutMs);
      } catch (error) {
        throw this.#fail(error, true);
      }
    }
  }

  /**
   * Reads the body: all of it (then the response is closed), or up to `amt`
   * bytes (fewer only at the end of the body).
   *
   * @param amt How many bytes at most; omit to read everything.
   * @returns The bytes; empty at the end of the body.
   * @throws {IncompleteRead} When the connection closes early; `partial`
   *   holds the bytes read by this call.
   */
  read(amt?: number): Promise<Uint8Array> {
    if (amt !== undefined && amt >= 0) return this.#readAmount(amt);
    // Not async: a small body usually arrives with its head, and taking it
    // without an await per piece is most of a sequential request's cost.
    const parts: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const chunk = this.#pollChunk();
        if (chunk === undefined) break;
        if (chunk === null) return Promise.resolve(concatBytes(parts, total));
        parts.push(chunk.slice());
        total += chunk.length;
      }
    } catch (error) {
      return Promise.reject(withPartial(error, parts, total));
    }
    return this.#readRest(parts, total);
  }

  async #readAmount(amt: number): Promise<Uint8Array> {
    const out = new Uint8Array(amt);
    const n = await this.readinto(out);
    return n === amt ? out : out.slice(0, n);
  }

  async #readRest(parts: Uint8Array[], total: number): Promise<Uint8Array> {
    try {
      for (;;) {
        const chunk = await this.#nextChunk();
        if (chunk === null) break;
        parts.push(chunk.slice());
        total += chunk.length;
      }
    } catch (error) {
      throw withPartial(error, parts, total);
    }
    return concatBytes(parts, total);
  }

  /**
   * Reads up to `buffer.length` body bytes into `buffer`.
   *
   * @param buffer Where to put them.
   * @returns How many bytes were read; 0 at the end of the body.
   */
  async readinto(buffer: Uint8Array): Promise<number> {
    let n = 0;
    try {
      while (n < buffer.length) {
        const chunk = await this.#nextChunk();
        if (chunk === null) break;
        const take = Math.min(chunk.length, buffer.length - n);
        buffer.set(take === chunk.length ? chunk : chunk.subarray(0, take), n);
        if (take < chunk.length) this.#keep(chunk.subarray(take));
        n += take;
      }
    } catch (error) {
      if (error instanceof IncompleteRead) {
        throw new IncompleteRead(buffer.slice(0, n), error.expected, {
          cause: error.cause,
        });
      }
      throw error;
    }
    // The last byte of a Content-Length body: take its end now (no I/O),
    // so the response closes and the connection takes the next request,
    // as Python's read(amt) does.
    if (this.length === 0 && this.#pending === null && !this.#done) {
      try {
        this.#pollChunk();
      } catch {
        // The next read reports it; these bytes were read whole.
      }
    }
    return n;
  }

  /**
   * Reads what one socket read brought, at most `n` bytes (Python's
   * `read1`): returns as soon as any body bytes are available.
   *
   * @param n Most bytes to return; negative for no limit.
   * @returns The bytes; empty at the end of the body.
   */
  async read1(n = -1): Promise<Uint8Array> {
    const chunk = await this.#nextChunk();
    if (chunk === null) return EMPTY;
    if (n >= 0 && chunk.length > n) {
      this.#keep(chunk.subarray(n));
      return chunk.slice(0, n);
    }
    return chunk.slice();
  }

  /**
   * Reads one line of the body, up to and including "\n".
   *
   * @param limit Most bytes to return; negative for no limit.
   * @returns The line; empty at the end of the body.
   */
  async readline(limit = -1): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (limit < 0 || total < limit) {
      const chunk = await this.#nextChunk();
      if (chunk === null) break;
      const room = limit < 0
        ? chunk.length
        : Math.min(chunk.length, limit - total);
      const lf = chunk.subarray(0, room).indexOf(0x0a);
      const take = lf === -1 ? room : lf + 1;
      parts.push(chunk.slice(0, take));
      total += take;
      if (take < chunk.length) this.#keep(chunk.subarray(take));
      if (lf !== -1) break;
    }
    return concatBytes(parts, total);
  }

  /**
   * The value of a header; repeated fields joined with ", " (Python's
   * `getheader`).
   *
   * @param name Case-insensitive field name.
   * @param defaultValue Returned when absent.
   * @returns The value or `defaultValue`.
   */
  getheader<D = null>(name: string, defaultValue?: D): string | D {
    const values = this.headers.fields.getAll(name);
    return values.length === 0
      ? (defaultValue ?? null) as D
      : values.join(", ");
  }

  /**
   * Every header as a name/value pair, in wire order (Python's `getheaders`).
   *
   * @returns The pairs.
   */
  getheaders(): [string, string][] {
    return this.headers.items();
  }

  /**
   * Closes the response. Unread body bytes cannot be skipped safely, so the
   * connection is closed too when the body was not read to its end.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#done) {
      this.#done = true;
      this.#pending = null;
      this.#channel.onAbandon(null);
      this.#channel.trace?.fail(
        new HTTPException("Response closed before its body was read"),
      );
    }
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The body in pieces as they arrive (copies); closes on early exit. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      for (;;) {
        const chunk = await this.#nextChunk();
        if (chunk === null) return;
        yield chunk.slice();
      }
    } finally {
      if (!this.#done) this.close();
    }
  }
}

// An IncompleteRead carrying the bytes this read() call got; other errors as they are.
function withPartial(
  error: unknown,
  parts: Uint8Array[],
  total: number,
): unknown {
  return error instanceof IncompleteRead
    ? new IncompleteRead(concatBytes(parts, total), error.expected, {
      cause: error.cause,
    })
    : error;
}

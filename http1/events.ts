/**
 * What the parsers hand out.
 *
 * @module
 */

import type { BodyFraming } from "./framing.ts";
import type { FieldList } from "./headers.ts";

/** The HTTP versions h1 speaks; HTTP/1.x with x > 1 is treated as 1.1. */
export type HttpVersion = "HTTP/1.0" | "HTTP/1.1";

/**
 * A parsed request head.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestParser } from "./mod.ts";
 *
 * const parser = new RequestParser();
 * parser.receive(new TextEncoder().encode("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
 * const head = parser.next();
 * assert.ok(head.kind === "head");
 * assert.equal(head.target, "/a");
 * assert.equal(head.keepAlive, true);
 * ```
 */
export interface RequestHead {
  /** Tells a head from the other events. */
  readonly kind: "head";
  /** The method token, case as sent (methods are case-sensitive). */
  readonly method: string;
  /** The request-target as sent: origin, absolute, authority or asterisk form. */
  readonly target: string;
  /** The protocol version. */
  readonly version: HttpVersion;
  /** The header fields. */
  readonly headers: FieldList;
  /** Whether the connection may carry another request after this one. */
  readonly keepAlive: boolean;
  /** How the body is delimited. */
  readonly framing: BodyFraming;
  /** `Expect: 100-continue` was sent. */
  readonly expectContinue: boolean;
  /**
   * The protocol asked for with `Upgrade` + `Connection: upgrade` (lower
   * case), `"connect"` for a CONNECT request, else null. After such a
   * message the parser pauses.
   */
  readonly upgrade: string | null;
}

/**
 * A parsed response head. Heads with a status below 200 are interim: no body
 * and no end event follow them, the final response does.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ResponseParser } from "./mod.ts";
 *
 * const parser = new ResponseParser();
 * parser.expectResponseTo("GET");
 * parser.receive(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n"));
 * const head = parser.next();
 * assert.ok(head.kind === "head");
 * assert.equal(head.status, 204);
 * ```
 */
export interface ResponseHead {
  /** Tells a head from the other events. */
  readonly kind: "head";
  /** The three-digit status code. */
  readonly status: number;
  /** The reason phrase, possibly empty. */
  readonly reason: string;
  /** The protocol version. */
  readonly version: HttpVersion;
  /** The header fields. */
  readonly headers: FieldList;
  /** Whether the connection may carry another exchange after this one. */
  readonly keepAlive: boolean;
  /** How the body is delimited. */
  readonly framing: BodyFraming;
}

/**
 * A piece of body, already de-chunked: a view into the bytes given to
 * `receive()`, valid until the caller reuses them. Copy it to keep it.
 */
export interface DataEvent {
  /** Tells a data event from the others. */
  readonly kind: "data";
  /** The body bytes. */
  readonly data: Uint8Array;
}

/** The end of one message; `trailers` holds a chunked body's trailer fields. */
export interface EndEvent {
  /** Tells an end event from the others. */
  readonly kind: "end";
  /** Trailer fields, or null when there were none. */
  readonly trailers: FieldList | null;
}

/** Returned by `next()` when the parser needs more bytes. */
export interface NeedData {
  /** Tells need-data from the other events. */
  readonly kind: "need-data";
}

/**
 * Returned by `next()` after a CONNECT or Upgrade request, a 101 response or
 * a 2xx answer to CONNECT: the bytes that follow are not HTTP. Call
 * `resume()` to keep parsing HTTP, or `takeBuffered()` to hand the bytes on.
 */
export interface Paused {
  /** Tells paused from the other events. */
  readonly kind: "paused";
}

/** Returned by `next()` once the peer has closed at a message boundary. */
export interface Closed {
  /** Tells closed from the other events. */
  readonly kind: "closed";
}

/** The single {@linkcode NeedData} value. */
export const NEED_DATA: NeedData = Object.freeze({ kind: "need-data" });
/** The single {@linkcode Paused} value. */
export const PAUSED: Paused = Object.freeze({ kind: "paused" });
/** The single {@linkcode Closed} value. */
export const CLOSED: Closed = Object.freeze({ kind: "closed" });

/** What `RequestParser.next()` returns. */
export type RequestEvent =
  | RequestHead
  | DataEvent
  | EndEvent
  | NeedData
  | Paused
  | Closed;

/** What `ResponseParser.next()` returns. */
export type ResponseEvent =
  | ResponseHead
  | DataEvent
  | EndEvent
  | NeedData
  | Paused
  | Closed;

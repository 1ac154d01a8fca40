/**
 * Errors raised by the protocol core.
 *
 * @module
 */

/** Status codes a server answers when a peer's bytes are rejected. */
export type ProtocolStatusHint =
  | 400
  | 408
  | 413
  | 414
  | 417
  | 431
  | 501
  | 505;

/** Machine-readable reasons for a {@linkcode ProtocolError}. */
export type ProtocolErrorCode =
  | "BAD_REQUEST_LINE"
  | "BAD_STATUS_LINE"
  | "BAD_METHOD"
  | "BAD_TARGET"
  | "BAD_VERSION"
  | "UNSUPPORTED_VERSION"
  | "BAD_HEADER_NAME"
  | "BAD_HEADER_VALUE"
  | "OBSOLETE_LINE_FOLDING"
  | "BARE_CR"
  | "BARE_LF"
  | "MISSING_HOST"
  | "DUPLICATE_HOST"
  | "BAD_HOST"
  | "BAD_CONTENT_LENGTH"
  | "CONFLICTING_CONTENT_LENGTH"
  | "CONTENT_LENGTH_WITH_TRANSFER_ENCODING"
  | "CONNECT_WITH_CONTENT"
  | "BAD_TRANSFER_ENCODING"
  | "UNSUPPORTED_TRANSFER_ENCODING"
  | "BAD_CHUNK"
  | "START_LINE_TOO_LONG"
  | "HEAD_TOO_LARGE"
  | "TOO_MANY_HEADERS"
  | "TOO_MANY_INTERIM_RESPONSES"
  | "CHUNK_LINE_TOO_LONG"
  | "TRAILERS_TOO_LARGE"
  | "UNEXPECTED_EOF"
  | "BODY_TOO_LARGE"
  | "BODY_TIMEOUT"
  | "HEAD_TIMEOUT"
  | "EXPECTATION_FAILED"
  | "UNEXPECTED_RESPONSE";

/**
 * The peer sent bytes we will not accept. `statusHint` is the status a server
 * should answer with (followed by closing the connection); `code` says why.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProtocolError, RequestParser } from "./mod.ts";
 *
 * const parser = new RequestParser();
 * parser.receive(new TextEncoder().encode("GET / HTTP/2.0\r\n\r\n"));
 * assert.throws(() => parser.next(), (e) => e instanceof ProtocolError && e.statusHint === 505);
 * ```
 */
export class ProtocolError extends SyntaxError {
  /** The status a server should answer with. */
  readonly statusHint: ProtocolStatusHint;
  /** Why the bytes were rejected. */
  readonly code: ProtocolErrorCode;

  /**
   * Creates a protocol error.
   *
   * @param message What was wrong, sentence case, input quoted (at most 64 bytes).
   * @param code Machine-readable reason.
   * @param statusHint Status to answer; 400 unless a more specific one applies.
   */
  constructor(
    message: string,
    code: ProtocolErrorCode,
    statusHint: ProtocolStatusHint = 400,
  ) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.statusHint = statusHint;
  }
}

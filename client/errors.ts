/**
 * The client's errors, named as in Python's `http.client`, plus timeouts.
 *
 * Protocol failures are {@linkcode HTTPException}s with a `code`; socket
 * failures (refused, unreachable, unknown host, reset) are `net/` errors
 * (`ConnectionRefusedError`, `HostUnreachableError`, …) whose messages name
 * the peer; timeouts are {@linkcode ConnectTimeout} and
 * {@linkcode ReadTimeout}, subclasses of `net/`'s `TimeoutError`.
 *
 * @module
 */

import { ProtocolError } from "../http1/errors.ts";
import { TimeoutError } from "../net/errors.ts";

/** What went wrong, machine-readable; a `ProtocolError` code when wrapping one. */
export type HTTPExceptionCode =
  | "HTTP_EXCEPTION"
  | "NOT_CONNECTED"
  | "INVALID_URL"
  | "UNKNOWN_PROTOCOL"
  | "UNKNOWN_TRANSFER_ENCODING"
  | "INCOMPLETE_READ"
  | "IMPROPER_CONNECTION_STATE"
  | "CANNOT_SEND_REQUEST"
  | "CANNOT_SEND_HEADER"
  | "RESPONSE_NOT_READY"
  | "BAD_STATUS_LINE"
  | "LINE_TOO_LONG"
  | "REMOTE_DISCONNECTED"
  | "TOO_MANY_REDIRECTS"
  | "TUNNEL_FAILED"
  | "TLS_HANDSHAKE_FAILED"
  | ProtocolError["code"];

/**
 * Base class of every protocol-level client error (Python's
 * `http.client.HTTPException`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { HTTPException, IncompleteRead } from "./errors.ts";
 *
 * const error = new IncompleteRead(new Uint8Array(3), 7);
 * assert.ok(error instanceof HTTPException);
 * assert.equal(error.code, "INCOMPLETE_READ");
 * ```
 */
export class HTTPException extends Error {
  /** Why it failed. */
  readonly code: HTTPExceptionCode;

  /**
   * Creates a new `HTTPException`.
   *
   * @param message Sentence case, action first.
   * @param code Machine-readable reason.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(
    message: string,
    code: HTTPExceptionCode = "HTTP_EXCEPTION",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HTTPException";
    this.code = code;
  }
}

/**
 * An operation needed a connection that is not open (Python's `NotConnected`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotConnected } from "./errors.ts";
 *
 * assert.equal(new NotConnected().code, "NOT_CONNECTED");
 * ```
 */
export class NotConnected extends HTTPException {
  /**
   * Creates a new `NotConnected`.
   *
   * @param message What needed the connection.
   */
  constructor(message = "Cannot send: not connected and auto_open is off") {
    super(message, "NOT_CONNECTED");
    this.name = "NotConnected";
  }
}

/**
 * A URL or host/port could not be used (Python's `InvalidURL`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidURL } from "./errors.ts";
 *
 * assert.match(new InvalidURL("Cannot parse port \"x\"").message, /port/);
 * ```
 */
export class InvalidURL extends HTTPException {
  /**
   * Creates a new `InvalidURL`.
   *
   * @param message What is wrong with it.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, "INVALID_URL", options);
    this.name = "InvalidURL";
  }
}

/**
 * The server answered with a protocol version we do not speak (Python's
 * `UnknownProtocol`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownProtocol } from "./errors.ts";
 *
 * assert.equal(new UnknownProtocol("HTTP/2.0").version, "HTTP/2.0");
 * ```
 */
export class UnknownProtocol extends HTTPException {
  /** The version as sent. */
  readonly version: string;

  /**
   * Creates a new `UnknownProtocol`.
   *
   * @param version The version as sent.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(version: string, options?: ErrorOptions) {
    super(
      `Cannot read the response: unknown protocol version ${version}`,
      "UNKNOWN_PROTOCOL",
      options,
    );
    this.name = "UnknownProtocol";
    this.version = version;
  }
}

/**
 * The response used a transfer coding we cannot decode (Python's
 * `UnknownTransferEncoding`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownTransferEncoding } from "./errors.ts";
 *
 * assert.equal(new UnknownTransferEncoding("x").code, "UNKNOWN_TRANSFER_ENCODING");
 * ```
 */
export class UnknownTransferEncoding extends HTTPException {
  /**
   * Creates a new `UnknownTransferEncoding`.
   *
   * @param message What was sent.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, "UNKNOWN_TRANSFER_ENCODING", options);
    this.name = "UnknownTransferEncoding";
  }
}

/**
 * The connection closed before the whole body arrived (Python's
 * `IncompleteRead`): `partial` holds what did, `expected` how many more
 * bytes were announced (null for chunked or unknown lengths).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { IncompleteRead } from "./errors.ts";
 *
 * const error = new IncompleteRead(new Uint8Array(3), 7);
 * assert.equal(error.message, "IncompleteRead(3 bytes read, 7 more expected)");
 * ```
 */
export class IncompleteRead extends HTTPException {
  /** The body bytes that arrived (in this read call). */
  readonly partial: Uint8Array;
  /** How many more bytes were expected, when the length was known. */
  readonly expected: number | null;

  /**
   * Creates a new `IncompleteRead`.
   *
   * @param partial Bytes read before the connection closed.
   * @param expected How many more were announced, or null.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(
    partial: Uint8Array,
    expected: number | null = null,
    options?: ErrorOptions,
  ) {
    super(
      expected === null
        ? `IncompleteRead(${partial.length} bytes read)`
        : `IncompleteRead(${partial.length} bytes read, ${expected} more expected)`,
      "INCOMPLETE_READ",
      options,
    );
    this.name = "IncompleteRead";
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * A call came in the wrong state (Python's `ImproperConnectionState`); the
 * base of {@linkcode CannotSendRequest} and {@linkcode ResponseNotReady}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { CannotSendRequest, ImproperConnectionState } from "./errors.ts";
 *
 * assert.ok(new CannotSendRequest("Request-sent") instanceof ImproperConnectionState);
 * ```
 */
export class ImproperConnectionState extends HTTPException {
  /**
   * Creates a new `ImproperConnectionState`.
   *
   * @param message What was attempted and in which state.
   * @param code Subclass code.
   */
  constructor(
    message: string,
    code: HTTPExceptionCode = "IMPROPER_CONNECTION_STATE",
  ) {
    super(message, code);
    this.name = "ImproperConnectionState";
  }
}

/**
 * A request was started while another is still being sent or awaited
 * (Python's `CannotSendRequest`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { CannotSendRequest } from "./errors.ts";
 *
 * assert.match(new CannotSendRequest("Request-sent").message, /Request-sent/);
 * ```
 */
export class CannotSendRequest extends ImproperConnectionState {
  /** The connection state at the time, e.g. "Request-sent". */
  readonly state: string;

  /**
   * Creates a new `CannotSendRequest`.
   *
   * @param state The connection state at the time.
   */
  constructor(state: string) {
    super(
      `Cannot send a request in state "${state}": call getresponse() and read the response first`,
      "CANNOT_SEND_REQUEST",
    );
    this.name = "CannotSendRequest";
    this.state = state;
  }
}

/**
 * A header was added after the head was sent (Python's `CannotSendHeader`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { CannotSendHeader } from "./errors.ts";
 *
 * assert.equal(new CannotSendHeader().code, "CANNOT_SEND_HEADER");
 * ```
 */
export class CannotSendHeader extends ImproperConnectionState {
  constructor() {
    super(
      "Cannot send a header: call putrequest() first, and before endheaders()",
      "CANNOT_SEND_HEADER",
    );
    this.name = "CannotSendHeader";
  }
}

/**
 * `getresponse()` was called with no request sent, or while the previous
 * response is still unread (Python's `ResponseNotReady`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ResponseNotReady } from "./errors.ts";
 *
 * assert.equal(new ResponseNotReady("Idle").state, "Idle");
 * ```
 */
export class ResponseNotReady extends ImproperConnectionState {
  /** The connection state at the time. */
  readonly state: string;

  /**
   * Creates a new `ResponseNotReady`.
   *
   * @param state The connection state at the time.
   */
  constructor(state: string) {
    super(
      `Cannot get a response in state "${state}": send a request first and read the previous response to its end`,
      "RESPONSE_NOT_READY",
    );
    this.name = "ResponseNotReady";
    this.state = state;
  }
}

/**
 * The server's status line (or head) could not be parsed (Python's
 * `BadStatusLine`); `line` holds what was received, at most 64 bytes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { BadStatusLine } from "./errors.ts";
 *
 * assert.equal(new BadStatusLine("SPDY/9 200").line, "SPDY/9 200");
 * ```
 */
export class BadStatusLine extends HTTPException {
  /** The offending line, or a description. */
  readonly line: string;

  /**
   * Creates a new `BadStatusLine`.
   *
   * @param line The offending line.
   * @param message Overrides the default message.
   * @param options Pass the underlying error as `cause`.
   * @param code Subclass code.
   */
  constructor(
    line: string,
    message = `Cannot parse status line ${JSON.stringify(line.slice(0, 64))}`,
    options?: ErrorOptions,
    code: HTTPExceptionCode = "BAD_STATUS_LINE",
  ) {
    super(message, code, options);
    this.name = "BadStatusLine";
    this.line = line;
  }
}

/**
 * The server closed the connection before sending any response (Python's
 * `RemoteDisconnected`). On a reused keep-alive connection this usually
 * means the server timed it out; idempotent requests are retried once.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { BadStatusLine, RemoteDisconnected } from "./errors.ts";
 *
 * assert.ok(new RemoteDisconnected() instanceof BadStatusLine);
 * ```
 */
export class RemoteDisconnected extends BadStatusLine {
  /**
   * Creates a new `RemoteDisconnected`.
   *
   * @param message What happened, naming the peer.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(
    message = "Remote end closed connection without response",
    options?: ErrorOptions,
  ) {
    super("", message, options, "REMOTE_DISCONNECTED");
    this.name = "RemoteDisconnected";
  }
}

/**
 * A status line, header line or head went past its limit (Python's
 * `LineTooLong`); raise the matching field of `limits` to accept it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineTooLong } from "./errors.ts";
 *
 * assert.equal(new LineTooLong("header line").line_type, "header line");
 * ```
 */
export class LineTooLong extends HTTPException {
  /** Which line: "status line", "header line", "chunk size" or "trailer". */
  readonly line_type: string;

  /**
   * Creates a new `LineTooLong`.
   *
   * @param line_type Which line.
   * @param message Overrides the default message.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(line_type: string, message?: string, options?: ErrorOptions) {
    super(
      message ?? `Got more than the limit for ${line_type}`,
      "LINE_TOO_LONG",
      options,
    );
    this.name = "LineTooLong";
    this.line_type = line_type;
  }
}

/**
 * `redirect: "follow"` met more redirects than `maxRedirects`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { TooManyRedirects } from "./errors.ts";
 *
 * assert.equal(new TooManyRedirects("http://a/", 20).limit, 20);
 * ```
 */
export class TooManyRedirects extends HTTPException {
  /** The limit that was reached. */
  readonly limit: number;

  /**
   * Creates a new `TooManyRedirects`.
   *
   * @param url The URL of the last redirect.
   * @param limit The limit that was reached.
   */
  constructor(url: string, limit: number) {
    super(
      `Cannot follow more than ${limit} redirects: last was to "${
        url.slice(0, 64)
      }"`,
      "TOO_MANY_REDIRECTS",
    );
    this.name = "TooManyRedirects";
    this.limit = limit;
  }
}

/**
 * The connection was not established within the timeout (a `TimeoutError`
 * from `net/`, code `ETIMEDOUT`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectTimeout } from "./errors.ts";
 *
 * const error = new ConnectTimeout(500, { hostname: "10.0.0.1", port: 80 });
 * assert.match(error.message, /^Connection to 10\.0\.0\.1:80 timed out after 500 ms/);
 * ```
 */
export class ConnectTimeout extends TimeoutError {
  /**
   * Creates a new `ConnectTimeout`.
   *
   * @param timeoutMs The timeout that expired.
   * @param address The server.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(
    timeoutMs: number | undefined,
    address: { hostname: string; port: number },
    options?: ErrorOptions,
  ) {
    super("connect", timeoutMs, address, options);
    this.name = "ConnectTimeout";
  }
}

/**
 * The server sent nothing for longer than the read timeout (a `TimeoutError`
 * from `net/`, code `ETIMEDOUT`). The connection is closed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReadTimeout } from "./errors.ts";
 *
 * const error = new ReadTimeout(200, { hostname: "127.0.0.1", port: 8080 });
 * assert.equal(error.code, "ETIMEDOUT");
 * ```
 */
export class ReadTimeout extends TimeoutError {
  /**
   * Creates a new `ReadTimeout`.
   *
   * @param timeoutMs The timeout that expired.
   * @param address The server.
   * @param options Pass the underlying error as `cause`.
   */
  constructor(
    timeoutMs: number | undefined,
    address: { hostname: string; port: number },
    options?: ErrorOptions,
  ) {
    super("read", timeoutMs, address, options);
    this.name = "ReadTimeout";
  }
}

/**
 * Turns a `ProtocolError` from the response parser into the matching client
 * error, keeping it as `cause`. Other errors come back unchanged.
 *
 * @param error What the parser threw.
 * @param peer "host:port" for messages.
 * @returns The client error.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProtocolError } from "../http1/errors.ts";
 * import { BadStatusLine, fromProtocolError } from "./errors.ts";
 *
 * const cause = new ProtocolError("Cannot parse status line \"x\"", "BAD_STATUS_LINE");
 * const error = fromProtocolError(cause, "127.0.0.1:80");
 * assert.ok(error instanceof BadStatusLine);
 * assert.equal(error.cause, cause);
 * ```
 */
export function fromProtocolError(error: unknown, peer: string): unknown {
  if (!(error instanceof ProtocolError)) return error;
  const options = { cause: error };
  const detail = `${error.message} (from ${peer})`;
  switch (error.code) {
    case "BAD_STATUS_LINE":
    case "BAD_VERSION": {
      // The parser folds "HTTP/2.0" into BAD_STATUS_LINE; keep Python's class.
      const major = /Cannot speak HTTP version ([0-9]+\.[0-9]+)/.exec(
        error.message,
      );
      if (major !== null) {
        return new UnknownProtocol(`HTTP/${major[1]}`, options);
      }
      const quoted = /"([^"]*)"/.exec(error.message)?.[1] ?? "";
      return new BadStatusLine(quoted, detail, options);
    }
    case "UNSUPPORTED_VERSION": {
      const version = /HTTP\/[0-9.]+/.exec(error.message)?.[0] ?? "unknown";
      return new UnknownProtocol(version, options);
    }
    case "START_LINE_TOO_LONG":
      return new LineTooLong("status line", detail, options);
    case "HEAD_TOO_LARGE":
    case "TOO_MANY_INTERIM_RESPONSES":
      return new LineTooLong("header line", detail, options);
    case "CHUNK_LINE_TOO_LONG":
      return new LineTooLong("chunk size", detail, options);
    case "TRAILERS_TOO_LARGE":
      return new LineTooLong("trailer", detail, options);
    case "UNSUPPORTED_TRANSFER_ENCODING":
    case "BAD_TRANSFER_ENCODING":
      return new UnknownTransferEncoding(detail, options);
    case "UNEXPECTED_EOF":
      // Bytes arrived, so this is not a clean disconnect (never retried).
      return new BadStatusLine(
        "",
        `Remote end ${peer} closed the connection inside the response head`,
        options,
      );
    default:
      return new HTTPException(detail, error.code, options);
  }
}

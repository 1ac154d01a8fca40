/**
 * `BaseHTTPRequestHandler`: Python's `http.server` handler API on h1's
 * engine, so code from a Python tutorial ports line by line.
 *
 * @module
 */

import { ProtocolError } from "../http1/errors.ts";
import type { HttpVersion, RequestHead } from "../http1/events.ts";
import {
  assertValidField,
  encodeLatin1,
  statusLine,
} from "../http1/serializer.ts";
import { STATUS_DESCRIPTION, STATUS_TEXT } from "../http1/status.ts";
import type { Exchange } from "./_connection.ts";
import { httpDateNow } from "./_http_date.ts";
import {
  escapeHtmlText,
  escapeLogControls,
  logDateTime,
  pyFormat,
  pyRepr,
} from "./_python_format.ts";
import { HTTPMessage } from "./_python_message.ts";
import { RFile } from "./_python_rfile.ts";
import { ERROR_HEADERS, RUN } from "./_python_symbols.ts";
import {
  SETTLE,
  SETTLED,
  WFile,
  WRITE_ERROR,
  WRITE_HEAD,
} from "./_python_wfile.ts";
import type { HTTPServer } from "./http_server.ts";

export type { HTTPMessage as RequestHeaders } from "./_python_message.ts";
export type { RFile } from "./_python_rfile.ts";
export type { WFile } from "./_python_wfile.ts";

/**
 * What a handler is constructed with as `request` (Python passes the
 * socket): the parsed request head and the engine's side of the exchange.
 */
export interface HandlerRequest {
  /** The parsed request head. */
  readonly head: RequestHead;
  /**
   * Reads the body, writes the response, decides keep-alive.
   *
   * @internal
   */
  readonly exchange: Exchange;
}

/** A client address as Python's `(host, port)` tuple. */
export type ClientAddress = [host: string, port: number];

/** A handler class as `HTTPServer` takes it (Python's `RequestHandlerClass`). */
export type RequestHandlerClass = new (
  request: HandlerRequest,
  client_address: ClientAddress,
  server: HTTPServer,
) => BaseHTTPRequestHandler;

/**
 * Python's `http.server.DEFAULT_ERROR_MESSAGE` (3.11), with `%(code)d`,
 * `%(message)s` and `%(explain)s` filled in by `send_error()`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_ERROR_MESSAGE } from "./request_handler.ts";
 *
 * assert.ok(DEFAULT_ERROR_MESSAGE.includes("<p>Error code: %(code)d</p>"));
 * ```
 */
export const DEFAULT_ERROR_MESSAGE = `<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: %(code)d</p>
        <p>Message: %(message)s.</p>
        <p>Error code explanation: %(code)s - %(explain)s.</p>
    </body>
</html>
`;

/**
 * Python's `http.server.DEFAULT_ERROR_CONTENT_TYPE`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_ERROR_CONTENT_TYPE } from "./request_handler.ts";
 *
 * assert.equal(DEFAULT_ERROR_CONTENT_TYPE, "text/html;charset=utf-8");
 * ```
 */
export const DEFAULT_ERROR_CONTENT_TYPE = "text/html;charset=utf-8";

/**
 * Python's `BaseHTTPRequestHandler.responses`: status code to
 * `[short message, long explanation]`, from Python 3.11's `HTTPStatus`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESPONSES } from "./request_handler.ts";
 *
 * assert.deepEqual(RESPONSES[404], ["Not Found", "Nothing matches the given URI"]);
 * ```
 */
export const RESPONSES: Readonly<
  Record<number, readonly [string, string]>
> = Object.freeze(
  Object.fromEntries(
    [...STATUS_TEXT].map(([code, text]) => [
      code,
      Object.freeze([text, STATUS_DESCRIPTION.get(code) ?? ""] as const),
    ]),
  ),
);

const SYS_VERSION = `Deno/${Deno.version.deno}`;
const CRLF_IN = /[\r\n]/;
const LATIN1_ONLY = /^[\0-\xff]*$/;

/**
 * Python's `http.server.BaseHTTPRequestHandler`. Subclass it and add a
 * `do_<METHOD>()` per method (`do_GET`, `do_POST`, ...), sync or async; a
 * request whose method has none gets 501, as in Python. Inside, the Python
 * names work as in Python: `command`, `path`, `headers`, `rfile`, `wfile`,
 * `send_response()`, `send_header()`, `end_headers()`, `send_error()`,
 * `log_message()`. Methods return Promises where Python blocks.
 *
 * Differences from Python, all deliberate:
 * - One instance per request (Python: per connection); the engine parses
 *   the request and answers malformed ones itself (`ProtocolError` → 4xx).
 * - `rfile` is this request's body only, de-chunked; `read()` stops at its
 *   end. An unread body is discarded by the engine (up to
 *   `maxDrainBytes`), so keep-alive survives handlers that ignore it.
 * - `wfile` writes are queued and sent when the handler returns (or on
 *   `flush()`); the bytes are exactly what the handler wrote, no framing is
 *   added. Keep-alive needs `protocol_version = "HTTP/1.1"` and a
 *   `Content-Length` you send yourself, as in Python.
 * - `send_header()` rejects CR, LF and other controls (`TypeError`).
 * - A `do_X` that throws: 500 via `send_error()` if nothing was written
 *   yet, else the connection is dropped; either way the server's
 *   `handle_error()` prints the exception, as Python's does.
 *
 * @example Usage
 * ```ts ignore
 * import { BaseHTTPRequestHandler, HTTPServer } from "../mod.ts";
 *
 * class MyHandler extends BaseHTTPRequestHandler {
 *   do_GET() {
 *     this.send_response(200);
 *     this.send_header("Content-type", "text/html");
 *     this.end_headers();
 *     this.wfile.write(new TextEncoder().encode("Hello, world!"));
 *   }
 * }
 *
 * const httpd = new HTTPServer(["localhost", 8080], MyHandler);
 * await httpd.serve_forever();
 * ```
 */
export class BaseHTTPRequestHandler {
  /** The request this handler answers (Python: the socket). */
  readonly request: HandlerRequest;
  /** The client's `[host, port]`. */
  readonly client_address: ClientAddress;
  /** The server that created this handler. */
  readonly server: HTTPServer;
  /** The request body, readable like a Python binary file. */
  rfile: RFile;
  /** The response stream; what is written goes to the client as is. */
  wfile: WFile;
  /** The request method, e.g. "GET". */
  command = "";
  /** The request target, e.g. "/index.html?q=1". */
  path = "";
  /** The request's version, e.g. "HTTP/1.1". */
  request_version: string;
  /** The request line without CRLF, e.g. "GET / HTTP/1.1". */
  requestline = "";
  /** The request headers (case-insensitive lookups). */
  headers: HTTPMessage;
  /** Close the connection after this response (set by `parse_request()` and `send_header("Connection", ...)`). */
  close_connection = true;
  /** The version in the status line; "HTTP/1.1" allows keep-alive. */
  protocol_version = "HTTP/1.0";
  /** First word of the `Server` header. */
  server_version = "BaseHTTP/0.6";
  /** Second word of the `Server` header (Python: "Python/3.x.y"). */
  sys_version: string = SYS_VERSION;
  /** Body template of `send_error()`, Python `%`-style. */
  error_message_format: string = DEFAULT_ERROR_MESSAGE;
  /** `Content-Type` of `send_error()` pages. */
  error_content_type: string = DEFAULT_ERROR_CONTENT_TYPE;
  /** Status code → `[short message, long explanation]`. */
  responses: Readonly<Record<number, readonly [string, string]>> = RESPONSES;
  /** The version assumed before the request line is parsed. */
  default_request_version = "HTTP/0.9";
  /** @internal Extra headers for the next `send_error()` page. */
  [ERROR_HEADERS]?: ReadonlyArray<readonly [string, string]>;
  readonly #wfile: WFile;
  #headersBuffer: string[] = [];
  #interim = false;
  // The handler sent a Connection field of its own: its word stands.
  #sentConnection = false;

  /**
   * Made by the server for each request; subclasses rarely call it.
   *
   * @param request The parsed head and the engine's exchange.
   * @param client_address The client's `[host, port]`.
   * @param server The server.
   */
  constructor(
    request: HandlerRequest,
    client_address: ClientAddress,
    server: HTTPServer,
  ) {
    this.request = request;
    this.client_address = client_address;
    this.server = server;
    // Expect: 100-continue is Python's to answer (parse_request and
    // handle_expect_100), never the engine's on its own.
    request.exchange.ownContinue();
    // So is keep-alive: close_connection, which the handler may change.
    request.exchange.ownKeepAlive();
    this.rfile = new RFile(request.exchange);
    this.#wfile = new WFile(request.exchange);
    this.wfile = this.#wfile;
    this.headers = new HTTPMessage(request.head.headers);
    this.request_version = this.default_request_version;
  }

  /** The request line as received, with its CRLF, as Latin-1 bytes. */
  get raw_requestline(): Uint8Array {
    return encodeLatin1(this.requestline + "\r\n");
  }

  /** Runs before `handle()`; override to prepare per-request state. */
  setup(): void | Promise<void> {}

  /** Answers the request: `handle_one_request()`. */
  async handle(): Promise<void> {
    await this.handle_one_request();
  }

  /** Runs after `handle()`, even when it threw. */
  finish(): void | Promise<void> {}

  /**
   * Parses the request (done by the engine; this fills in `command`,
   * `path`, `request_version`, `requestline`, `headers` and
   * `close_connection`) and calls `do_<command>()`, or sends 501.
   *
   * @returns Resolves when the method returned.
   */
  async handle_one_request(): Promise<void> {
    if (!this.parse_request()) return;
    const method = (this as unknown as Record<string, unknown>)[
      "do_" + this.command
    ];
    if (typeof method !== "function") {
      this.send_error(501, `Unsupported method (${pyRepr(this.command)})`);
      return;
    }
    await method.call(this);
  }

  /**
   * Fills in the request attributes from the parsed head and decides
   * keep-alive as Python does; answers `Expect: 100-continue` through
   * `handle_expect_100()`.
   *
   * @returns False when the request must not be dispatched.
   */
  parse_request(): boolean {
    const head = this.request.head;
    this.command = head.method;
    this.request_version = head.version;
    this.requestline = `${head.method} ${head.target} ${head.version}`;
    // Python 3.11 (gh-87389): "//x" must not look like a host to redirects.
    this.path = head.target.startsWith("//")
      ? "/" + head.target.replace(/^\/+/, "")
      : head.target;
    this.close_connection = !(head.version >= "HTTP/1.1" &&
      this.protocol_version >= "HTTP/1.1");
    const conntype = (this.headers.get("Connection") ?? "").toLowerCase();
    if (conntype === "close") this.close_connection = true;
    else if (
      conntype === "keep-alive" && this.protocol_version >= "HTTP/1.1"
    ) {
      this.close_connection = false;
    }
    const expect = (this.headers.get("Expect") ?? "").toLowerCase();
    if (
      expect === "100-continue" && this.protocol_version >= "HTTP/1.1" &&
      this.request_version >= "HTTP/1.1"
    ) {
      if (!this.handle_expect_100()) return false;
    }
    return true;
  }

  /**
   * Answers `Expect: 100-continue` before `do_X()` runs: sends
   * `100 Continue` and returns true. Override to refuse (send an error and
   * return false, and the method is not called).
   *
   * @returns Whether to go on with the request.
   */
  handle_expect_100(): boolean {
    this.send_response_only(100);
    this.end_headers();
    return true;
  }

  /**
   * Sends an error response with Python's HTML page: status line, `Server`,
   * `Date`, `Connection: close`, `Content-Type`, `Content-Length`, body
   * (no body for HEAD, 1xx, 204, 205 and 304). Logs it with `log_error()`.
   *
   * @param code The status code.
   * @param message Short message (default: the reason phrase).
   * @param explain Long explanation (default: from `responses`).
   */
  send_error(code: number, message?: string, explain?: string): void {
    const [shortmsg, longmsg] = this.responses[code] ?? ["???", "???"];
    const msg = message ?? shortmsg;
    const why = explain ?? longmsg;
    this.log_error("code %d, message %s", code, msg);
    this.send_response(code, msg);
    this.send_header("Connection", "close");
    let body: Uint8Array | null = null;
    // RFC 9110 §6.4.1 (Python's comment cites RFC 7230/7231): no body for
    // 1xx, 204, 205 and 304.
    if (code >= 200 && code !== 204 && code !== 205 && code !== 304) {
      const content = pyFormat(this.error_message_format, {
        code,
        message: escapeHtmlText(msg),
        explain: escapeHtmlText(why),
      });
      body = new TextEncoder().encode(content);
      this.send_header("Content-Type", this.error_content_type);
      this.send_header("Content-Length", body.length);
    }
    for (const [name, value] of this[ERROR_HEADERS] ?? []) {
      this.send_header(name, value);
    }
    this.end_headers();
    if (this.command !== "HEAD" && body !== null && body.length > 0) {
      this.wfile.write(body);
    }
  }

  /**
   * Starts a response: logs the request, buffers the status line, then the
   * `Server` and `Date` headers.
   *
   * @param code The status code.
   * @param message The reason phrase (default from `responses`).
   */
  send_response(code: number, message?: string): void {
    this.log_request(code);
    this.send_response_only(code, message);
    this.send_header("Server", this.version_string());
    this.send_header("Date", this.date_time_string());
  }

  /**
   * Buffers just the status line (no `Server`, `Date` or log line).
   *
   * @param code The status code.
   * @param message The reason phrase (default from `responses`).
   */
  send_response_only(code: number, message?: string): void {
    if (!Number.isInteger(code)) {
      throw new RangeError(`Cannot send status ${code}: not an integer`);
    }
    const phrase = message ?? this.responses[code]?.[0] ?? "";
    if (CRLF_IN.test(phrase)) {
      throw new TypeError("Cannot send a reason phrase with CR or LF");
    }
    // Python encodes the status line as strict Latin-1 (UnicodeEncodeError).
    if (!LATIN1_ONLY.test(phrase)) {
      throw new TypeError(
        `Cannot send reason phrase ${
          pyRepr(phrase)
        }: it has characters outside Latin-1`,
      );
    }
    // The core builds the line: status 100..999, no control character in
    // the reason (RFC 9112 §4), and protocol_version (a public field)
    // HTTP/1.0 or HTTP/1.1, so it cannot carry a line break.
    const line = statusLine(code, {
      reason: phrase,
      version: this.protocol_version as HttpVersion,
    });
    this.#interim = code < 200;
    this.#sentConnection = false;
    this.#headersBuffer.push(line);
  }

  /**
   * Buffers a header line; `Connection: close` / `keep-alive` also set
   * `close_connection`, as in Python.
   *
   * @param keyword The header name, sent as given.
   * @param value The value (numbers are converted).
   * @throws {TypeError} When the name is not a token or the value has CR, LF or controls.
   */
  send_header(keyword: string, value: string | number): void {
    const text = String(value);
    assertValidField(keyword, text);
    this.#headersBuffer.push(`${keyword}: ${text}\r\n`);
    if (keyword.toLowerCase() === "connection") {
      this.#sentConnection = true;
      const lower = text.toLowerCase();
      if (lower === "close") this.close_connection = true;
      else if (lower === "keep-alive") this.close_connection = false;
    }
  }

  /**
   * Ends the head with a blank line and queues it (`flush_headers()`). When
   * the engine will close the connection after this response (the
   * `maxRequestsPerConnection`-th request, a shutdown under way, or more of
   * an unread upload than the engine drains) and the handler meant to keep
   * it, `Connection: close` is added first, so the client is told (RFC 9112
   * §9.6).
   */
  end_headers(): void {
    const exchange = this.request.exchange;
    if (
      !this.#interim && !this.close_connection && !this.#sentConnection &&
      (exchange.engineCloses || exchange.unreadBodyOverDrainLimit)
    ) {
      this.#headersBuffer.push("Connection: close\r\n");
      this.close_connection = true;
    }
    this.#headersBuffer.push("\r\n");
    this.flush_headers();
  }

  /**
   * Queues the buffered head to `wfile`; an interim (1xx) head is sent at
   * once, since the client is waiting for it.
   */
  flush_headers(): void {
    if (this.#headersBuffer.length === 0) return;
    const text = this.#headersBuffer.join("");
    this.#headersBuffer = [];
    if (this.wfile === this.#wfile) this.#wfile[WRITE_HEAD](text);
    else {
      // A wfile replaced in setup() (to count or capture) sees the head too,
      // as Python's self.wfile.write(b"".join(self._headers_buffer)). Its
      // failures surface where the response is settled, as for the body.
      const written = this.wfile.write(encodeLatin1(text));
      if (written instanceof Promise) written.catch(() => {});
    }
    if (this.#interim) {
      this.#interim = false;
      if (text.startsWith(" 100 ", this.protocol_version.length)) {
        this.request.exchange.continueSent();
      }
      this.wfile.flush().catch(() => {});
    }
  }

  /**
   * Logs the request line with its status, as Python's access log does.
   *
   * @param code The status (default "-").
   * @param size The body size (default "-").
   */
  log_request(code: number | string = "-", size: number | string = "-"): void {
    this.log_message(
      '"%s" %s %s',
      this.requestline,
      String(code),
      String(size),
    );
  }

  /**
   * Logs an error; same as `log_message()`, override to treat errors apart.
   *
   * @param format A `%`-style format.
   * @param args Its arguments.
   */
  log_error(format: string, ...args: unknown[]): void {
    this.log_message(format, ...args);
  }

  /**
   * Writes `host - - [date] message` to the server's log (stderr by
   * default), control characters escaped as in Python 3.11.
   *
   * @param format A `%`-style format, e.g. `"%s %d"`.
   * @param args Its arguments.
   */
  log_message(format: string, ...args: unknown[]): void {
    const message = pyFormat(format, args);
    this.server.log_write(
      `${this.address_string()} - - [${this.log_date_time_string()}] ${
        escapeLogControls(message)
      }\n`,
    );
  }

  /**
   * The `Server` header value.
   *
   * @returns `server_version + " " + sys_version`, e.g. "BaseHTTP/0.6 Deno/2.9.6".
   */
  version_string(): string {
    return this.server_version + " " + this.sys_version;
  }

  /**
   * An HTTP date (RFC 9110 IMF-fixdate) for a `Date` header.
   *
   * @param timestamp Seconds since the epoch (default now).
   * @returns E.g. "Sun, 22 Nov 2026 10:00:00 GMT".
   */
  date_time_string(timestamp?: number): string {
    if (timestamp === undefined) return httpDateNow();
    return new Date(Math.floor(timestamp) * 1000).toUTCString();
  }

  /**
   * The current local time for the log, e.g. "22/Nov/2026 10:00:00".
   *
   * @returns The formatted time.
   */
  log_date_time_string(): string {
    return logDateTime();
  }

  /**
   * The client's address for the log.
   *
   * @returns The client's host.
   */
  address_string(): string {
    return this.client_address[0];
  }

  /** @internal Runs setup/handle/finish and applies the exception policy. */
  async [RUN](): Promise<void> {
    const exchange = this.request.exchange;
    let failure: unknown = undefined;
    let threw = false;
    // setup() and finish() are awaited only when they return something
    // (an async override): an await costs a microtask turn per request.
    try {
      const setup = this.setup();
      if (setup !== undefined) await setup;
      try {
        await this.handle();
      } finally {
        const finish = this.finish();
        if (finish !== undefined) await finish;
      }
    } catch (error) {
      threw = true;
      failure = error;
    }
    const wfile = this.#wfile;
    const writeError = wfile[SETTLED]
      ? wfile[WRITE_ERROR]
      : await wfile[SETTLE]();
    if (!threw) {
      exchange.closeAfter = writeError !== null || this.close_connection;
      return;
    }
    exchange.closeAfter = true;
    if (failure instanceof ProtocolError) {
      // The body could not be read: the engine answers it (413, 408, 400)
      // when nothing was written, as for every other face.
      this.log_error("%s", failure.message);
      return;
    }
    // Only this connection's own end is "the client left": an error from
    // another socket the handler used (an upstream reset, a certificate it
    // refused) is the handler's failure, and gets the 500.
    if (
      writeError !== null ||
      (failure instanceof Error && failure.name === "ConnectionClosedError")
    ) return;
    if (this.#wfile.bytesWritten === 0) {
      this.#headersBuffer = [];
      this[ERROR_HEADERS] = [];
      try {
        this.send_error(500);
      } catch {
        // An overridden send_error that throws: the connection just closes.
      }
      await this.#wfile[SETTLE]();
    }
    exchange.closeAfter = true;
    this.server.handle_error(this.request, this.client_address, failure);
  }
}

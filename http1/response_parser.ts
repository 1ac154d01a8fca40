/**
 * The incremental HTTP/1.1 response parser used by the client.
 *
 * @module
 */

import {
  bytesEqualLatin1,
  decodeLatin1,
  FIELD_VALUE_CHAR,
  quoteInput,
  SP,
} from "./_chars.ts";
import { MessageParser, type ParsedHead } from "./_message_parser.ts";
import { ProtocolError } from "./errors.ts";
import type { ResponseEvent, ResponseHead } from "./events.ts";
import { responseFraming } from "./framing.ts";
import type { FieldList } from "./headers.ts";
import type { Limits } from "./limits.ts";
import { parseVersion } from "./request_parser.ts";

/** Options for {@linkcode ResponseParser}. */
export interface ResponseParserOptions {
  /** Limits to override; the rest come from `DEFAULT_LIMITS`. */
  limits?: Partial<Limits>;
  /**
   * Accept a bare LF as a line ending (RFC 9112 §2.2 allows it). Default true:
   * a client gains nothing by refusing an old server's responses, and a
   * response cannot smuggle a request.
   */
  allowBareLf?: boolean;
}

/**
 * Parses HTTP/1.x responses. Because a response's framing depends on the
 * request (HEAD, CONNECT), call {@linkcode ResponseParser.expectResponseTo}
 * once per request sent, in order; pipelined responses are matched to them.
 * Interim 1xx heads are handed out before the final head; a 101 or a 2xx to
 * CONNECT pauses the parser after its end event.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ResponseParser } from "./mod.ts";
 *
 * const parser = new ResponseParser();
 * parser.expectResponseTo("GET");
 * parser.receive(new TextEncoder().encode(
 *   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
 * ));
 * const head = parser.next();
 * assert.ok(head.kind === "head" && head.status === 200);
 * const data = parser.next();
 * assert.ok(data.kind === "data");
 * assert.equal(new TextDecoder().decode(data.data), "abc");
 * assert.equal(parser.next().kind, "end");
 * ```
 */
export class ResponseParser extends MessageParser<ResponseHead> {
  readonly #methods: string[] = [];
  #lastReason = "";

  /**
   * Creates a parser for one connection's responses.
   *
   * @param options Limits and line-ending leniency.
   */
  constructor(options: ResponseParserOptions = {}) {
    super(options.limits, options.allowBareLf ?? true);
  }

  /**
   * Records that a request with this method was sent, so its response is
   * framed right (a HEAD response has no body, whatever it says).
   *
   * @param method The request method.
   */
  expectResponseTo(method: string): void {
    this.#methods.push(method);
  }

  /** How many requests are still waiting for their final response. */
  get outstanding(): number {
    return this.#methods.length;
  }

  /**
   * Parses as far as the bytes allow and returns the next event.
   *
   * @returns A head, data or end event, or need-data, paused or closed.
   */
  override next(): ResponseEvent {
    return super.next();
  }

  /** A user agent unfolds obs-fold in a response (RFC 9112 §5.2). */
  protected override get unfoldsObsFold(): boolean {
    return true;
  }

  /** Responses never skip leading empty lines (RFC 9112 §2.2 is for requests). */
  protected override get skipsLeadingEmptyLines(): boolean {
    return false;
  }

  /**
   * A status line that is too long is a bad response, not a long URI.
   *
   * @returns Always 400.
   */
  protected override startLineTooLongStatus(): 400 {
    return 400;
  }

  /** Forgets the method of the request whose response just ended. */
  protected override onMessageEnd(): void {
    this.#methods.shift();
  }

  /**
   * Parses the status line and fields of one complete head.
   *
   * @param bytes Bytes holding a stable copy of the head.
   * @param base Where the status line begins in `bytes`.
   * @param lineEnd Where the status line's content ends in `bytes`.
   * @param headers The head's validated fields.
   * @returns The head, its framing, and whether to pause after it.
   */
  protected override parseHead(
    bytes: Uint8Array,
    base: number,
    lineEnd: number,
    headers: FieldList,
  ): ParsedHead<ResponseHead> {
    // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
    // Quoted for error messages only: quoting on every response costs.
    const line = (): string => quoteInput(bytes, base, lineEnd);
    if (lineEnd - base < 12 || bytes[base + 8] !== SP) {
      throw new ProtocolError(
        `Cannot parse status line ${line()}`,
        "BAD_STATUS_LINE",
      );
    }
    let version;
    try {
      version = parseVersion(bytes, base, base + 8);
    } catch (cause) {
      throw new ProtocolError(
        `Cannot parse status line ${line()}: ${(cause as Error).message}`,
        "BAD_STATUS_LINE",
      );
    }
    let status = 0;
    for (let i = base + 9; i < base + 12; i++) {
      const d = bytes[i]! - 0x30;
      if (d < 0 || d > 9) {
        throw new ProtocolError(
          `Cannot parse status code in ${line()}`,
          "BAD_STATUS_LINE",
        );
      }
      status = status * 10 + d;
    }
    if (status < 100) {
      throw new ProtocolError(
        `Cannot accept status code ${status}: below 100`,
        "BAD_STATUS_LINE",
      );
    }
    // Some servers omit the SP before an empty reason; accept that.
    const reasonStart = base + 13;
    if (lineEnd > base + 12 && bytes[base + 12] !== SP) {
      throw new ProtocolError(
        `Cannot parse status line ${line()}`,
        "BAD_STATUS_LINE",
      );
    }
    for (let i = reasonStart; i < lineEnd; i++) {
      if (FIELD_VALUE_CHAR[bytes[i]!] === 0) {
        throw new ProtocolError(
          `Cannot parse reason phrase in ${line()}`,
          "BAD_STATUS_LINE",
        );
      }
    }
    // Servers repeat their reason phrases ("OK"): reuse the string.
    let reason = "";
    if (lineEnd > reasonStart) {
      reason = this.#lastReason;
      if (!bytesEqualLatin1(bytes, reasonStart, lineEnd, reason)) {
        reason = this.#lastReason = decodeLatin1(bytes, reasonStart, lineEnd);
      }
    }
    const method = this.#methods[0] ?? "GET";
    const framing = responseFraming(headers, status, method);
    const interim = status < 200 && status !== 101;

    let keepAlive = version === "HTTP/1.1";
    if (headers.hasToken("connection", "close")) keepAlive = false;
    else if (
      version === "HTTP/1.0" && headers.hasToken("connection", "keep-alive")
    ) {
      keepAlive = true;
    }
    if (framing.kind === "close") keepAlive = false;
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty
    // framing; close the connection after it, whatever Connection says.
    if (
      version === "HTTP/1.0" && headers.indexOf("transfer-encoding") !== -1
    ) {
      keepAlive = false;
    }

    return {
      head: {
        kind: "head",
        status,
        reason,
        version,
        headers,
        keepAlive,
        framing,
      },
      framing,
      interim,
      pauseAfter: status === 101 ||
        (method === "CONNECT" && status >= 200 && status < 300),
    };
  }
}

/**
 * How a message's body is delimited.
 *
 * @module
 */

import { trimOws } from "./_chars.ts";
import { ProtocolError } from "./errors.ts";
import type { HttpVersion } from "./events.ts";
import { type FieldList, splitTokens } from "./headers.ts";

/**
 * How a message body ends, decided from the head alone (RFC 9112 §6.3).
 *
 * - `none`: no body (HEAD responses, 1xx/204/304, requests without framing).
 * - `length`: exactly `length` bytes (Content-Length).
 * - `chunked`: chunked transfer coding, ending with a zero-size chunk.
 * - `close`: everything until the connection closes (responses only).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BodyFraming } from "./mod.ts";
 *
 * const framing: BodyFraming = { kind: "length", length: 5 };
 * assert.equal(framing.kind, "length");
 * ```
 */
export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  | { readonly kind: "close" };

/** The framing of a message without a body. */
export const NO_BODY: BodyFraming = Object.freeze({ kind: "none" });
/** The framing of a chunked message. */
export const CHUNKED: BodyFraming = Object.freeze({ kind: "chunked" });
/** The framing of a close-delimited response. */
export const CLOSE_DELIMITED: BodyFraming = Object.freeze({ kind: "close" });

/** Largest Content-Length accepted: 2^53 - 1 (15 decimal digits are always safe). */
const MAX_CONTENT_LENGTH_DIGITS = 16;

/**
 * One Content-Length value as a number: 1*DIGIT (RFC 9110 §8.6), at most
 * 16 digits and a safe integer; null for anything else (a sign, spaces, a
 * list, "abc"). The rule {@linkcode parseContentLength} applies to each
 * element, for code that sends a length it was given.
 *
 * @param text The value, without surrounding whitespace.
 * @returns The length, or null when `text` is not one.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { contentLengthValue } from "./mod.ts";
 *
 * assert.equal(contentLengthValue("42"), 42);
 * assert.equal(contentLengthValue("+42"), null);
 * assert.equal(contentLengthValue("4, 4"), null);
 * ```
 */
export function contentLengthValue(text: string): number | null {
  if (
    text.length === 0 || text.length > MAX_CONTENT_LENGTH_DIGITS ||
    !/^[0-9]+$/.test(text)
  ) {
    return null;
  }
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Reads the Content-Length of a message, RFC 9110 §8.6 and RFC 9112 §6.3:
 * digits only, overflow-safe; identical repeated values (as separate fields or
 * a comma list) fold into one; differing values are rejected.
 *
 * @param headers The message's fields.
 * @returns The length, or null when there is no Content-Length field.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { FieldList, parseContentLength } from "./mod.ts";
 *
 * assert.equal(parseContentLength(FieldList.from([["Content-Length", "5, 5"]])), 5);
 * assert.throws(() => parseContentLength(FieldList.from([["Content-Length", "5, 6"]])));
 * ```
 */
export function parseContentLength(headers: FieldList): number | null {
  let i = headers.indexOf("content-length");
  if (i === -1) return null;
  let length: number | null = null;
  for (; i !== -1; i = headers.indexOf("content-length", i + 1)) {
    for (const part of headers.value(i).split(",")) {
      // RFC 9110 §5.6.1: only SP and HTAB surround list elements; trim() would
      // also drop U+00A0 and accept "\xa05" as 5 (a smuggling gap).
      const text = trimOws(part);
      const value = contentLengthValue(text);
      if (value === null) {
        throw new ProtocolError(
          `Cannot parse Content-Length "${text.slice(0, 64)}": ${
            /^[0-9]+$/.test(text) ? "too large" : "not a decimal number"
          }`,
          "BAD_CONTENT_LENGTH",
        );
      }
      if (length !== null && length !== value) {
        // RFC 9112 §6.3 (5): differing lengths mean unrecoverable framing.
        throw new ProtocolError(
          `Cannot choose between Content-Length values ${length} and ${value}`,
          "CONFLICTING_CONTENT_LENGTH",
        );
      }
      length = value;
    }
  }
  return length;
}

/**
 * The transfer codings of a message, lower-cased, in the order applied
 * (RFC 9112 §6.1), or null when there is no Transfer-Encoding field.
 *
 * @param headers The message's fields.
 * @returns The codings, or null.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { FieldList, parseTransferEncoding } from "./mod.ts";
 *
 * const codings = parseTransferEncoding(
 *   FieldList.from([["Transfer-Encoding", "gzip, Chunked"]]),
 * );
 * assert.deepEqual(codings, ["gzip", "chunked"]);
 * ```
 */
export function parseTransferEncoding(headers: FieldList): string[] | null {
  let i = headers.indexOf("transfer-encoding");
  if (i === -1) return null;
  const codings: string[] = [];
  for (; i !== -1; i = headers.indexOf("transfer-encoding", i + 1)) {
    codings.push(...splitTokens(headers.value(i)));
  }
  return codings;
}

/**
 * Decides how a request body is framed (RFC 9112 §6.3 and §6.1), rejecting
 * every ambiguity that lets two parsers disagree (request smuggling).
 *
 * @param headers The request's fields.
 * @param version The request's HTTP version.
 * @returns The body framing.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { FieldList, requestFraming } from "./mod.ts";
 *
 * const framing = requestFraming(
 *   FieldList.from([["Transfer-Encoding", "chunked"]]),
 *   "HTTP/1.1",
 * );
 * assert.equal(framing.kind, "chunked");
 * ```
 */
export function requestFraming(
  headers: FieldList,
  version: HttpVersion,
): BodyFraming {
  const codings = parseTransferEncoding(headers);
  if (codings !== null) {
    if (headers.indexOf("content-length") !== -1) {
      // RFC 9112 §6.1: Content-Length with Transfer-Encoding invites smuggling.
      throw new ProtocolError(
        "Cannot accept both Content-Length and Transfer-Encoding",
        "CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
      );
    }
    if (version === "HTTP/1.0") {
      // RFC 9112 §6.1: treat Transfer-Encoding in HTTP/1.0 as faulty framing.
      throw new ProtocolError(
        "Cannot accept Transfer-Encoding in an HTTP/1.0 request",
        "BAD_TRANSFER_ENCODING",
      );
    }
    checkCodings(codings, true);
    return CHUNKED;
  }
  const length = parseContentLength(headers);
  return length === null || length === 0 ? NO_BODY : { kind: "length", length };
}

/**
 * Decides how a response body is framed (RFC 9112 §6.3).
 *
 * @param headers The response's fields.
 * @param status The status code.
 * @param requestMethod The method of the request it answers.
 * @returns The body framing.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { FieldList, responseFraming } from "./mod.ts";
 *
 * const headers = FieldList.from([["Content-Length", "10"]]);
 * assert.equal(responseFraming(headers, 200, "HEAD").kind, "none");
 * assert.equal(responseFraming(headers, 200, "GET").kind, "length");
 * ```
 */
export function responseFraming(
  headers: FieldList,
  status: number,
  requestMethod: string,
): BodyFraming {
  // RFC 9112 §6.3 (1), (2): these never have a body, whatever the fields say.
  if (
    requestMethod === "HEAD" || status < 200 || status === 204 ||
    status === 304 || (requestMethod === "CONNECT" && status < 300)
  ) {
    return NO_BODY;
  }
  const codings = parseTransferEncoding(headers);
  if (codings !== null) {
    if (headers.indexOf("content-length") !== -1) {
      throw new ProtocolError(
        "Cannot accept both Content-Length and Transfer-Encoding",
        "CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
      );
    }
    // RFC 9112 §6.3 (4): chunked last means chunked; otherwise read until close.
    return checkCodings(codings, false) ? CHUNKED : CLOSE_DELIMITED;
  }
  const length = parseContentLength(headers);
  if (length === null) return CLOSE_DELIMITED;
  return length === 0 ? NO_BODY : { kind: "length", length };
}

// Returns whether the codings end in chunked. For requests, anything but a
// final "chunked" is rejected (400), and other codings are not implemented (501).
function checkCodings(codings: string[], isRequest: boolean): boolean {
  const chunkedAt = codings.indexOf("chunked");
  if (chunkedAt !== -1 && chunkedAt !== codings.length - 1) {
    // RFC 9112 §6.1: chunked MUST NOT be applied more than once and must be last.
    throw new ProtocolError(
      `Cannot parse Transfer-Encoding "${
        codings.join(", ").slice(0, 64)
      }": chunked is not the final coding`,
      "BAD_TRANSFER_ENCODING",
    );
  }
  if (!isRequest) {
    // De-chunking "gzip, chunked" would hand out gzip as the content: a
    // recipient that cannot decode a transfer coding must not pretend it
    // did (Go refuses these too). Without a final chunked, the body runs
    // to the close and is passed on as it came, as Python and fetch do.
    if (
      chunkedAt > 0 &&
      codings.some((coding, i) => i < chunkedAt && coding !== "identity")
    ) {
      throw new ProtocolError(
        `Cannot decode Transfer-Encoding "${
          codings.slice(0, -1).join(", ").slice(0, 64)
        }": only chunked is implemented`,
        "UNSUPPORTED_TRANSFER_ENCODING",
      );
    }
    return chunkedAt !== -1;
  }
  if (chunkedAt === -1) {
    throw new ProtocolError(
      `Cannot frame a request with Transfer-Encoding "${
        codings.join(", ").slice(0, 64)
      }": chunked must be the final coding`,
      "BAD_TRANSFER_ENCODING",
    );
  }
  if (codings.length > 1) {
    // RFC 9112 §6.1: a server SHOULD answer 501 to codings it does not understand.
    throw new ProtocolError(
      `Cannot decode Transfer-Encoding "${
        codings.slice(0, -1).join(", ").slice(0, 64)
      }": not implemented`,
      "UNSUPPORTED_TRANSFER_ENCODING",
      501,
    );
  }
  return true;
}

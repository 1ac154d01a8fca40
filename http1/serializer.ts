/**
 * Turning heads into bytes, with header injection ruled out.
 *
 * @module
 */

import { FIELD_VALUE_CHAR, TARGET_CHAR, TCHAR, trimOws } from "./_chars.ts";
import type { HttpVersion } from "./events.ts";
import { reasonPhrase } from "./status.ts";

/** Header fields as the serializers take them: name/value pairs in order. */
export type FieldInput = Iterable<readonly [string, string]>;

const encoder = new TextEncoder();
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Checks a header name and value given by the application. A name must be a
 * token; a value must not contain CR, LF, NUL or other controls except HTAB
 * (RFC 9110 §5.5), so nobody can inject a header or split a response.
 *
 * @param name The field name.
 * @param value The field value.
 * @throws {TypeError} When either is invalid.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertValidField } from "./mod.ts";
 *
 * assert.throws(() => assertValidField("X", "a\r\nSet-Cookie: evil"), TypeError);
 * ```
 */
export function assertValidField(name: string, value: string): void {
  // Servers send the same fields again and again (Server, Content-Type, a
  // Date that changes once a second): skip what was just checked.
  if (checkedFields.get(name) === value) return;
  checkField(name, value);
  if (checkedFields.size >= MAX_CHECKED_FIELDS) checkedFields.clear();
  checkedFields.set(name, value);
}

// The last valid value checked for each field name, a bounded memo.
const checkedFields = new Map<string, string>();
const MAX_CHECKED_FIELDS = 64;

function checkField(name: string, value: string): void {
  if (name.length === 0) {
    throw new TypeError("Cannot send a header with an empty name");
  }
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) {
      throw new TypeError(
        `Cannot send header name "${name.slice(0, 64)}": not a token`,
      );
    }
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // FIELD_VALUE_CHAR as comparisons (cheaper than the table here): SP,
    // HTAB, VCHAR and obs-text up to U+00FF.
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) {
      throw new TypeError(
        `Cannot send value of header "${name.slice(0, 64)}": ${
          c === 0x0d || c === 0x0a
            ? "CR or LF"
            : c === 0
            ? "NUL"
            : c > 0xff
            ? "character outside Latin-1"
            : "control character"
        } at index ${i}`,
      );
    }
  }
}

/**
 * Trims a field value for sending: only SP and HTAB (RFC 9110 §5.5 OWS).
 * `String.prototype.trim()` would also drop CR, LF, VT and U+00A0, sending
 * a quietly different value where {@linkcode assertValidField} should
 * refuse it.
 *
 * @param value The value as given.
 * @returns It without leading and trailing SP and HTAB.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { trimFieldValue } from "./mod.ts";
 *
 * assert.equal(trimFieldValue(" \ta b\t "), "a b");
 * assert.equal(trimFieldValue("a\r\n"), "a\r\n");
 * ```
 */
export function trimFieldValue(value: string): string {
  return trimOws(value);
}

// Appends "name: value\r\n" for each field, validated, trimming the value.
function appendFields(head: string, headers: FieldInput): string {
  for (const [name, raw] of headers) {
    const value = trimFieldValue(raw);
    assertValidField(name, value);
    head += name + ": " + value + "\r\n";
  }
  return head;
}

/**
 * Encodes a head string: ASCII through the native encoder, anything else as
 * Latin-1 (the wire form of a ByteString).
 *
 * @param head The head text, every character at most U+00FF.
 * @returns Its bytes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeLatin1 } from "./mod.ts";
 *
 * assert.deepEqual(encodeLatin1("é"), new Uint8Array([0xe9]));
 * ```
 */
export function encodeLatin1(head: string): Uint8Array {
  if (!NON_ASCII.test(head)) return encoder.encode(head);
  const bytes = new Uint8Array(head.length);
  for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i);
  return bytes;
}

/**
 * Serializes a request head: request line, fields, empty line.
 *
 * @param method The method token.
 * @param target The request-target (path and query, or absolute URL).
 * @param headers The fields, in order; `Host` is the caller's job.
 * @param version The protocol version.
 * @returns The head's bytes.
 * @throws {TypeError} For an invalid method, target, name or value.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { serializeRequestHead } from "./mod.ts";
 *
 * const bytes = serializeRequestHead("GET", "/", [["Host", "a"]]);
 * assert.equal(new TextDecoder().decode(bytes), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * ```
 */
export function serializeRequestHead(
  method: string,
  target: string,
  headers: FieldInput,
  version: HttpVersion = "HTTP/1.1",
): Uint8Array {
  for (let i = 0; i < method.length; i++) {
    if (TCHAR[method.charCodeAt(i)] !== 1 || method.charCodeAt(i) > 0xff) {
      throw new TypeError(
        `Cannot send method "${method.slice(0, 64)}": not a token`,
      );
    }
  }
  if (method.length === 0) throw new TypeError("Cannot send an empty method");
  let targetOk = target.length > 0;
  for (let i = 0; i < target.length && targetOk; i++) {
    const c = target.charCodeAt(i);
    // A fragment ("#") is never sent (RFC 9112 §3.2, RFC 3986 §3.5).
    targetOk = c < 0x80 && TARGET_CHAR[c] === 1 && c !== 0x23;
  }
  if (!targetOk) {
    throw new TypeError(
      `Cannot send request-target "${
        target.slice(0, 64)
      }": empty, or has spaces, controls, "#" or non-ASCII characters (percent-encode them)`,
    );
  }
  checkVersion(version);
  return encodeLatin1(
    appendFields(method + " " + target + " " + version + "\r\n", headers) +
      "\r\n",
  );
}

/** Options for {@linkcode serializeResponseHead}. */
export interface ResponseHeadOptions {
  /** The reason phrase; defaults to the standard one for the status. */
  reason?: string;
  /** The protocol version; default "HTTP/1.1". */
  version?: HttpVersion;
}

/**
 * Serializes a response head: status line, fields, empty line.
 *
 * @param status A status code from 100 to 999.
 * @param headers The fields, in order.
 * @param options Reason phrase and version.
 * @returns The head's bytes.
 * @throws {RangeError} For a status outside 100..999.
 * @throws {TypeError} For an invalid reason, name or value.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { serializeResponseHead } from "./mod.ts";
 *
 * const bytes = serializeResponseHead(404, [["Content-Length", "0"]]);
 * assert.equal(
 *   new TextDecoder().decode(bytes),
 *   "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
 * );
 * ```
 */
export function serializeResponseHead(
  status: number,
  headers: FieldInput,
  options: ResponseHeadOptions = {},
): Uint8Array {
  return encodeLatin1(
    appendFields(statusLine(status, options), headers) + "\r\n",
  );
}

/**
 * The status line with its CRLF, validated ("HTTP/1.1 200 OK\r\n").
 *
 * @param status A status code from 100 to 999.
 * @param options Reason phrase and version.
 * @returns The line.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { statusLine } from "./mod.ts";
 *
 * assert.equal(statusLine(200), "HTTP/1.1 200 OK\r\n");
 * ```
 */
export function statusLine(
  status: number,
  options: ResponseHeadOptions = {},
): string {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(
      `Cannot send status ${status}: must be an integer from 100 to 999`,
    );
  }
  const reason = options.reason ?? reasonPhrase(status);
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE_CHAR[c] !== 1) {
      throw new TypeError(
        `Cannot send reason phrase "${reason.slice(0, 64)}": control character`,
      );
    }
  }
  const version = options.version ?? "HTTP/1.1";
  checkVersion(version);
  return version + " " + status + " " + reason + "\r\n";
}

// The type says HTTP/1.0 or HTTP/1.1; plain JavaScript callers get checked.
function checkVersion(version: string): void {
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new TypeError(
      `Cannot send version ${
        JSON.stringify(version.slice(0, 64))
      }: only HTTP/1.0 and HTTP/1.1`,
    );
  }
}

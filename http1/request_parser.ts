/**
 * The incremental, strict HTTP/1.1 request parser.
 *
 * @module
 */

import {
  bytesEqualLatin1,
  decodeLatin1,
  quoteInput,
  SP,
  TARGET_CHAR,
  TCHAR,
} from "./_chars.ts";
import { MessageParser, type ParsedHead } from "./_message_parser.ts";
import { ProtocolError } from "./errors.ts";
import type { HttpVersion, RequestEvent, RequestHead } from "./events.ts";
import { requestFraming } from "./framing.ts";
import type { FieldList } from "./headers.ts";
import type { Limits } from "./limits.ts";

/** Options for {@linkcode RequestParser}. */
export interface RequestParserOptions {
  /** Limits to override; the rest come from `DEFAULT_LIMITS`. */
  limits?: Partial<Limits>;
}

const COMMON_METHODS = [
  "GET",
  "POST",
  "PUT",
  "HEAD",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "CONNECT",
  "TRACE",
];
// Methods as bytes, for returning interned strings without decoding.
const COMMON_METHOD_BYTES = COMMON_METHODS.map((m) =>
  Uint8Array.from(m, (c) => c.charCodeAt(0))
);

// RFC 3986 §3.2.2 reg-name / IP-literal characters plus ":" for the port.
const HOST_CHAR = new Uint8Array(256);
for (
  const c
    of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:%[]"
) {
  HOST_CHAR[c.charCodeAt(0)] = 1;
}
// RFC 9112 §3.2.2 / RFC 9110 §4.2: absolute-form targets name an http(s)
// origin, so "scheme://" is required; without "//", "example.com:80" would
// read as a URI with scheme "example.com" (authority-form outside CONNECT).
const SCHEME_PATTERN = /^[A-Za-z][A-Za-z0-9+\-.]*:\/\//;
// RFC 9112 §3.2.3: authority-form is uri-host ":" port.
const AUTHORITY_PATTERN =
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+):[0-9]{1,5}$/;

/**
 * Parses HTTP/1.1 requests from bytes that may arrive split anywhere, several
 * pipelined requests per buffer included. Strict by default (RFC 9112, RFC
 * 9110): anything two parsers could read differently is rejected with a
 * `ProtocolError` carrying the status to answer. A bare LF line ending is
 * rejected too (RFC 9112 §2.2 allows either; accepting it has enabled
 * smuggling behind proxies that do not).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestParser } from "./mod.ts";
 *
 * const parser = new RequestParser();
 * parser.receive(new TextEncoder().encode(
 *   "POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello",
 * ));
 * const head = parser.next();
 * assert.ok(head.kind === "head");
 * assert.equal(head.method, "POST");
 * const data = parser.next();
 * assert.ok(data.kind === "data");
 * assert.equal(new TextDecoder().decode(data.data), "hello");
 * assert.equal(parser.next().kind, "end");
 * assert.equal(parser.next().kind, "need-data");
 * ```
 */
export class RequestParser extends MessageParser<RequestHead> {
  /**
   * The method of a head refused after its request line was read (a bad
   * framing field, say), else null: an error answer to HEAD then leaves out
   * its content (RFC 9110 §9.3.2).
   */
  rejectedHeadMethod: string | null = null;
  #lastTarget = "";
  // The last Host value that passed checkHost: clients repeat it.
  #lastHost = "";

  /**
   * Creates a parser for one connection's requests.
   *
   * @param options Limits to override.
   */
  constructor(options: RequestParserOptions = {}) {
    super(options.limits, false);
  }

  /**
   * Parses as far as the bytes allow and returns the next event.
   *
   * @returns A head, data or end event, or need-data, paused or closed.
   */
  override next(): RequestEvent {
    return super.next();
  }

  /**
   * Parses the request line and fields of one complete head.
   *
   * @param bytes Bytes holding a stable copy of the head.
   * @param base Where the request line begins in `bytes`.
   * @param lineEnd Where the request line's content ends in `bytes`.
   * @param headers The head's validated fields.
   * @returns The head, its framing, and whether to pause after it.
   */
  protected override parseHead(
    bytes: Uint8Array,
    base: number,
    lineEnd: number,
    headers: FieldList,
  ): ParsedHead<RequestHead> {
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
    let i = base;
    while (i < lineEnd && TCHAR[bytes[i]!] === 1) i++;
    if (i === base || bytes[i] !== SP) {
      throw new ProtocolError(
        `Cannot parse request line ${
          quoteInput(bytes, base, lineEnd)
        }: bad method`,
        i === base ? "BAD_REQUEST_LINE" : "BAD_METHOD",
      );
    }
    const method = decodeMethod(bytes, base, i);
    this.rejectedHeadMethod = method; // until the head is complete
    const targetStart = ++i;
    while (i < lineEnd && TARGET_CHAR[bytes[i]!] === 1) i++;
    if (i === targetStart || bytes[i] !== SP) {
      throw new ProtocolError(
        `Cannot parse request line ${
          quoteInput(bytes, base, lineEnd)
        }: bad request-target`,
        i === lineEnd ? "BAD_REQUEST_LINE" : "BAD_TARGET",
      );
    }
    // Clients repeat targets (polling, pipelined batches): reuse the string.
    let target = this.#lastTarget;
    if (!bytesEqualLatin1(bytes, targetStart, i, target)) {
      target = this.#lastTarget = decodeLatin1(bytes, targetStart, i);
    }
    const version = parseVersion(bytes, i + 1, lineEnd);
    checkTargetForm(method, target);

    this.#lastHost = checkHost(headers, version, this.#lastHost);
    const framing = requestFraming(headers, version);
    // RFC 9110 §9.3.6: "A CONNECT request message does not have content."
    // Framing one by Content-Length or chunked would end the message where
    // another parser (llhttp, a proxy) starts the tunnel: a smuggling gap.
    if (method === "CONNECT" && framing.kind !== "none") {
      throw new ProtocolError(
        "Cannot accept a CONNECT request with content (RFC 9110 §9.3.6)",
        "CONNECT_WITH_CONTENT",
      );
    }

    let keepAlive = version === "HTTP/1.1";
    let upgrade: string | null = null;
    if (headers.indexOf("connection") !== -1) {
      // RFC 9112 §9.3: "close" ends the connection; 1.0 needs "keep-alive".
      if (headers.hasToken("connection", "close")) keepAlive = false;
      else if (
        version === "HTTP/1.0" && headers.hasToken("connection", "keep-alive")
      ) {
        keepAlive = true;
      }
      // RFC 9110 §7.8: a server MUST ignore Upgrade in an HTTP/1.0 request.
      if (version === "HTTP/1.1" && headers.hasToken("connection", "upgrade")) {
        const wanted = headers.get("upgrade");
        if (wanted !== null && wanted !== "") upgrade = wanted.toLowerCase();
      }
    }
    if (method === "CONNECT") upgrade = "connect";

    let expectContinue = false;
    if (version === "HTTP/1.1" && headers.indexOf("expect") !== -1) {
      // RFC 9110 §10.1.1: 100-continue is the only defined expectation, and a
      // server MUST ignore it in an HTTP/1.0 request.
      expectContinue = headers.get("expect")!.toLowerCase() === "100-continue";
    }

    this.rejectedHeadMethod = null;
    return {
      head: {
        kind: "head",
        method,
        target,
        version,
        headers,
        keepAlive,
        framing,
        expectContinue,
        upgrade,
      },
      framing,
      interim: false,
      pauseAfter: upgrade !== null,
    };
  }
}

function decodeMethod(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  outer: for (let m = 0; m < COMMON_METHOD_BYTES.length; m++) {
    const known = COMMON_METHOD_BYTES[m]!;
    if (known.length !== length) continue;
    for (let k = 0; k < length; k++) {
      if (known[k] !== bytes[start + k]) continue outer;
    }
    return COMMON_METHODS[m]!;
  }
  return decodeLatin1(bytes, start, end);
}

/**
 * RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT. A major version other
 * than 1 gets 505; minor versions above 1 are answered as 1.1 (RFC 9110 §6.2).
 */
export function parseVersion(
  bytes: Uint8Array,
  start: number,
  end: number,
): HttpVersion {
  const ok = end - start === 8 && bytes[start] === 0x48 &&
    bytes[start + 1] === 0x54 && bytes[start + 2] === 0x54 &&
    bytes[start + 3] === 0x50 && bytes[start + 4] === 0x2f &&
    isDigit(bytes[start + 5]!) && bytes[start + 6] === 0x2e &&
    isDigit(bytes[start + 7]!);
  if (!ok) {
    throw new ProtocolError(
      `Cannot parse HTTP version ${quoteInput(bytes, start, end)}`,
      "BAD_VERSION",
    );
  }
  const major = bytes[start + 5]! - 0x30;
  const minor = bytes[start + 7]! - 0x30;
  if (major !== 1) {
    throw new ProtocolError(
      `Cannot speak HTTP version ${major}.${minor}: only HTTP/1.x is supported`,
      "UNSUPPORTED_VERSION",
      505,
    );
  }
  return minor === 0 ? "HTTP/1.0" : "HTTP/1.1";
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

// RFC 9112 §3.2: the four request-target forms, each allowed only where it fits.
function checkTargetForm(method: string, target: string): void {
  const first = target.charCodeAt(0);
  if (method === "CONNECT") {
    if (!AUTHORITY_PATTERN.test(target)) {
      throw new ProtocolError(
        `Cannot parse CONNECT target "${
          target.slice(0, 64)
        }": expected host:port`,
        "BAD_TARGET",
      );
    }
    return;
  }
  if (first === 0x2f /* "/" */) return;
  if (target === "*") {
    if (method === "OPTIONS") return;
    throw new ProtocolError(
      `Cannot accept target "*" for method ${method}: only OPTIONS`,
      "BAD_TARGET",
    );
  }
  const scheme = SCHEME_PATTERN.exec(target);
  if (scheme !== null) {
    // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid (and
    // URL would take the path's first segment for the host instead).
    const afterSlashes = target.slice(scheme[0].length);
    const authorityEnd = afterSlashes.search(/[/?#]/);
    const authority = authorityEnd === -1
      ? afterSlashes
      : afterSlashes.slice(0, authorityEnd);
    const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
    if (hostPort === "" || hostPort.startsWith(":")) {
      throw new ProtocolError(
        `Cannot accept request-target "${
          target.slice(0, 64)
        }": its authority has no host`,
        "BAD_TARGET",
      );
    }
    return;
  }
  throw new ProtocolError(
    `Cannot parse request-target "${
      target.slice(0, 64)
    }": not origin, absolute, authority or asterisk form`,
    "BAD_TARGET",
  );
}

// RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without a
// Host field, to any request with more than one, and to one whose value is
// not uri-host [ ":" port ] (RFC 3986 §3.2.2). Returns the value to remember
// as known good (`known` itself when the bytes match it: no decoding).
function checkHost(
  headers: FieldList,
  version: HttpVersion,
  known: string,
): string {
  const first = headers.indexOf("host");
  if (first === -1) {
    if (version === "HTTP/1.1") {
      throw new ProtocolError(
        "Cannot accept an HTTP/1.1 request without a Host header",
        "MISSING_HOST",
      );
    }
    return known;
  }
  if (headers.indexOf("host", first + 1) !== -1) {
    throw new ProtocolError(
      "Cannot accept a request with more than one Host header",
      "DUPLICATE_HOST",
    );
  }
  if (headers.valueEquals(first, known)) return known;
  const value = headers.value(first);
  if (!headers.valueBytesIn(first, HOST_CHAR) || !isUriHostPort(value)) {
    throw new ProtocolError(
      `Cannot parse Host "${value.slice(0, 64)}": not a host[:port]`,
      "BAD_HOST",
    );
  }
  return value;
}

// RFC 3986 §3.2.2-3: reg-name (unreserved, sub-delims, "%" HEXDIG HEXDIG;
// IPv4 addresses are reg-names too) or an IP-literal, then [":" *DIGIT].
const REG_NAME_PORT =
  /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(?::[0-9]*)?$/;
const IP_LITERAL_PORT = /^\[([^\]]*)\](?::[0-9]*)?$/;
const IPV_FUTURE = /^[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;
const H16 = /^[0-9A-Fa-f]{1,4}$/;
const IPV4 =
  /^(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;

function isUriHostPort(value: string): boolean {
  if (value.charCodeAt(0) !== 0x5b /* "[" */) return REG_NAME_PORT.test(value);
  const literal = IP_LITERAL_PORT.exec(value);
  if (literal === null) return false;
  const inner = literal[1]!;
  return isIpv6(inner) || IPV_FUTURE.test(inner);
}

// RFC 3986 §3.2.2 IPv6address: eight 16-bit pieces, or fewer around one
// "::"; the last two may be written as an IPv4 address.
function isIpv6(text: string): boolean {
  const gap = text.indexOf("::");
  if (gap !== -1 && text.indexOf("::", gap + 1) !== -1) return false;
  const sides = gap === -1 ? [text] : [text.slice(0, gap), text.slice(gap + 2)];
  let pieces = 0;
  for (let s = 0; s < sides.length; s++) {
    const side = sides[s]!;
    if (side === "") continue;
    const parts = side.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = s === sides.length - 1 && i === parts.length - 1;
      if (last && part.includes(".")) {
        if (!IPV4.test(part)) return false;
        pieces += 2;
      } else if (H16.test(part)) {
        pieces++;
      } else {
        return false;
      }
    }
  }
  return gap === -1 ? pieces === 8 : pieces <= 7;
}

// Field-line parsing shared by heads and trailer sections (RFC 9112 §5).

import {
  COLON,
  CR,
  FIELD_VALUE_CHAR,
  HTAB,
  LF,
  quoteInput,
  SP,
  TCHAR,
} from "./_chars.ts";
import { ProtocolError } from "./errors.ts";

/**
 * The position of the first LF in `bytes[from, limit)`, or -1. A byte loop:
 * `subarray(from, limit).indexOf()` costs a typed-array view per line, more
 * than scanning a header line, and `indexOf` alone has no end bound.
 */
export function findLf(bytes: Uint8Array, from: number, limit: number): number {
  for (let i = from; i < limit; i++) {
    if (bytes[i] === LF) return i;
  }
  return -1;
}

/**
 * Finds the end of the line starting at `from` in `bytes[from, limit)`.
 * Returns [contentEnd, nextLineStart], or null when no LF is there yet.
 * RFC 9112 §2.2: a bare LF is accepted only where `allowBareLf` says so.
 */
export function findLineEnd(
  bytes: Uint8Array,
  from: number,
  limit: number,
  allowBareLf: boolean,
): [number, number] | null {
  const at = findLf(bytes, from, limit);
  if (at === -1) return null;
  if (at > from && bytes[at - 1] === CR) return [at - 1, at + 1];
  if (!allowBareLf) {
    throw new ProtocolError(
      "Cannot parse line ending: bare LF without CR",
      "BARE_LF",
    );
  }
  return [at, at + 1];
}

/**
 * Parses field lines in `bytes[from, end)` up to (not including) the empty
 * line, appending nameStart, nameEnd, valueStart, valueEnd to `offsets`.
 * Returns whether every value byte is ASCII (then UTF-8 decoding is Latin-1).
 * Validation follows RFC 9112 §5 and RFC 9110 §5.5. With `unfoldObsFold`
 * (a user agent reading a response's trailers, §5.2), an obs-fold line
 * continues the field before it and becomes one SP in `bytes`.
 */
export function parseFieldLines(
  bytes: Uint8Array,
  from: number,
  end: number,
  maxCount: number,
  allowBareLf: boolean,
  offsets: number[],
  unfoldObsFold = false,
): boolean {
  let pos = from;
  let ascii = true;
  let folded = false;
  while (pos < end) {
    const line = findLineEnd(bytes, pos, end, allowBareLf);
    if (line === null) break;
    const [lineEnd, next] = line;
    if (lineEnd === pos) break; // the empty line that ends the section
    const first = bytes[pos];
    if (unfoldObsFold && (first === SP || first === HTAB)) {
      folded = true;
      if (!extendFoldedField(bytes, pos, lineEnd, offsets, 0)) ascii = false;
    } else if (!parseFieldLine(bytes, pos, lineEnd, offsets, 0)) {
      ascii = false;
    }
    if (offsets.length > maxCount * 4) {
      throw new ProtocolError(
        `Cannot accept more than ${maxCount} header fields`,
        "TOO_MANY_HEADERS",
        431,
      );
    }
    pos = next;
  }
  if (folded) unfold(bytes, offsets);
  return ascii;
}

/**
 * Parses the field line `bytes[start, end)` (`end` is where its CRLF or LF
 * begins), appending nameStart, nameEnd, valueStart, valueEnd, each minus
 * `base`, to `offsets`. Returns whether the value is ASCII; throws
 * `ProtocolError` for a line RFC 9112 §5 does not allow.
 */
export function parseFieldLine(
  bytes: Uint8Array,
  start: number,
  end: number,
  offsets: number[],
  base: number,
): boolean {
  const first = bytes[start]!;
  if (first === SP || first === HTAB) {
    // RFC 9112 §5.2: obs-fold is deprecated; a server MUST reject it or unfold.
    throw new ProtocolError(
      `Cannot parse header line ${
        quoteInput(bytes, start, end)
      }: obsolete line folding`,
      "OBSOLETE_LINE_FOLDING",
    );
  }
  let i = start;
  while (i < end && TCHAR[bytes[i]!] === 1) i++;
  if (i === end || bytes[i] !== COLON || i === start) {
    // bytes[end] is the line's own CR: a field line without a colon is a bad
    // name, not a bare CR (RFC 9112 §5: field-line = field-name ":" ...).
    const b = i < end ? bytes[i] : undefined;
    // RFC 9112 §5.1: no whitespace is allowed between field name and colon.
    const why = b === SP || b === HTAB
      ? "whitespace before the colon"
      : b === CR
      ? "bare CR"
      : i === start
      ? "empty or invalid field name"
      : i === end
      ? "no colon"
      : "invalid character in field name";
    throw new ProtocolError(
      `Cannot parse header line ${quoteInput(bytes, start, end)}: ${why}`,
      b === CR ? "BARE_CR" : "BAD_HEADER_NAME",
    );
  }
  const nameEnd = i++;
  while (i < end && (bytes[i] === SP || bytes[i] === HTAB)) i++;
  const valueStart = i;
  let seen = 0;
  for (; i < end; i++) {
    seen |= bytes[i]!;
    if (FIELD_VALUE_CHAR[bytes[i]!] === 0) {
      // RFC 9110 §5.5: CR, LF and NUL are invalid in field values.
      const b = bytes[i];
      throw new ProtocolError(
        `Cannot parse value of header ${quoteInput(bytes, start, nameEnd)}: ${
          b === CR ? "bare CR" : `control character 0x${b!.toString(16)}`
        }`,
        b === CR ? "BARE_CR" : "BAD_HEADER_VALUE",
      );
    }
  }
  pushField(bytes, start, nameEnd, valueStart, end, offsets, base);
  return seen < 0x80;
}

/**
 * Takes the obs-fold line `bytes[start, end)` (it begins with SP or HTAB) as
 * more of the last field's value, as RFC 9112 §5.2 asks of a user agent
 * reading a response: the value now ends where this line's content ends;
 * the caller replaces the CR LF between with SP in its copy of the head.
 * Returns whether the added text is ASCII; throws `ProtocolError` for a
 * fold with no field before it or an invalid character.
 */
export function extendFoldedField(
  bytes: Uint8Array,
  start: number,
  end: number,
  offsets: number[],
  base: number,
): boolean {
  if (offsets.length === 0) {
    throw new ProtocolError(
      `Cannot parse header line ${
        quoteInput(bytes, start, end)
      }: folded onto no field`,
      "OBSOLETE_LINE_FOLDING",
    );
  }
  let i = start;
  while (i < end && (bytes[i] === SP || bytes[i] === HTAB)) i++;
  const contentStart = i;
  let seen = 0;
  for (; i < end; i++) {
    const b = bytes[i]!;
    seen |= b;
    if (FIELD_VALUE_CHAR[b] === 0) {
      throw new ProtocolError(
        `Cannot parse folded header line ${quoteInput(bytes, start, end)}: ${
          b === CR ? "bare CR" : `control character 0x${b.toString(16)}`
        }`,
        b === CR ? "BARE_CR" : "BAD_HEADER_VALUE",
      );
    }
  }
  let contentEnd = end;
  while (
    contentEnd > contentStart &&
    (bytes[contentEnd - 1] === SP || bytes[contentEnd - 1] === HTAB)
  ) contentEnd--;
  if (contentEnd === contentStart) return true; // Only whitespace: nothing to add.
  const last = offsets.length - 4;
  // An empty value so far starts with this line's text.
  if (offsets[last + 2] === offsets[last + 3]) {
    offsets[last + 2] = contentStart - base;
  }
  offsets[last + 3] = contentEnd - base;
  return seen < 0x80;
}

// Appends a field's four offsets (minus `base`), the value without its
// trailing whitespace (RFC 9110 §5.5: OWS is not part of the value).
function pushField(
  bytes: Uint8Array,
  start: number,
  nameEnd: number,
  valueStart: number,
  end: number,
  offsets: number[],
  base: number,
): void {
  let valueEnd = end;
  while (
    valueEnd > valueStart &&
    (bytes[valueEnd - 1] === SP || bytes[valueEnd - 1] === HTAB)
  ) valueEnd--;
  offsets.push(
    start - base,
    nameEnd - base,
    valueStart - base,
    valueEnd - base,
  );
}

/**
 * The fast path for one field line starting at `start`: a token name, a
 * colon, a value of field-value characters, then CRLF (or a bare LF where
 * `allowBareLf` says so), all before `limit`. Appends the four offsets minus
 * `base` and returns where the next line starts, or `-(next + 1)` (at most
 * -2) when the value has a non-ASCII byte. Returns -1, appending nothing, for any other
 * line (invalid, or not complete before `limit`): the caller finds the line
 * end and lets {@linkcode parseFieldLine} say what is wrong.
 */
export function scanFieldLine(
  bytes: Uint8Array,
  start: number,
  limit: number,
  allowBareLf: boolean,
  offsets: number[],
  base: number,
): number {
  let i = start;
  while (i < limit && TCHAR[bytes[i]!] === 1) i++;
  if (i === start || i >= limit || bytes[i] !== COLON) return -1;
  const nameEnd = i++;
  while (i < limit && (bytes[i] === SP || bytes[i] === HTAB)) i++;
  const valueStart = i;
  let seen = 0;
  let b = 0;
  while (i < limit && FIELD_VALUE_CHAR[b = bytes[i]!] === 1) {
    seen |= b;
    i++;
  }
  let next: number;
  if (i + 1 < limit && b === CR && bytes[i + 1] === LF) next = i + 2;
  else if (i < limit && b === LF && allowBareLf) next = i + 1;
  else return -1;
  pushField(bytes, start, nameEnd, valueStart, i, offsets, base);
  return seen < 0x80 ? next : -next - 1;
}

/**
 * RFC 9112 §5.2: each obs-fold in a value (OWS CRLF RWS) becomes one SP.
 * Values that took in fold lines (see {@linkcode extendFoldedField}) span
 * them; `bytes` must be the caller's own copy: each value is closed up in
 * place and its end offset moved.
 */
export function unfold(bytes: Uint8Array, offsets: number[]): void {
  for (let k = 0; k < offsets.length; k += 4) {
    const start = offsets[k + 2]!;
    const end = offsets[k + 3]!;
    let w = start;
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      if (b !== LF) {
        bytes[w++] = b;
        continue;
      }
      while (
        w > start &&
        (bytes[w - 1] === CR || bytes[w - 1] === SP || bytes[w - 1] === HTAB)
      ) w--;
      while (i + 1 < end && (bytes[i + 1] === SP || bytes[i + 1] === HTAB)) i++;
      bytes[w++] = SP;
    }
    offsets[k + 3] = w;
  }
}

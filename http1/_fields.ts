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
  const lf = bytes.subarray(from, limit).indexOf(LF);
  if (lf === -1) return null;
  const at = from + lf;
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
 * Validation follows RFC 9112 §5 and RFC 9110 §5.5.
 */
export function parseFieldLines(
  bytes: Uint8Array,
  from: number,
  end: number,
  maxCount: number,
  allowBareLf: boolean,
  offsets: number[],
): boolean {
  let pos = from;
  let ascii = true;
  while (pos < end) {
    const line = findLineEnd(bytes, pos, end, allowBareLf);
    if (line === null) break;
    const [lineEnd, next] = line;
    if (lineEnd === pos) break; // the empty line that ends the section
    if (!parseFieldLine(bytes, pos, lineEnd, offsets)) ascii = false;
    if (offsets.length > maxCount * 4) {
      throw new ProtocolError(
        `Cannot accept more than ${maxCount} header fields`,
        "TOO_MANY_HEADERS",
        431,
      );
    }
    pos = next;
  }
  return ascii;
}

function parseFieldLine(
  bytes: Uint8Array,
  start: number,
  end: number,
  offsets: number[],
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
  let valueEnd = end;
  while (
    valueEnd > valueStart &&
    (bytes[valueEnd - 1] === SP || bytes[valueEnd - 1] === HTAB)
  ) valueEnd--;
  offsets.push(start, nameEnd, valueStart, valueEnd);
  return seen < 0x80;
}

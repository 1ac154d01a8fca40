// Byte tables for the hot path: one lookup per byte, no regular expressions.

/** Carriage return. */
export const CR = 0x0d;
/** Line feed. */
export const LF = 0x0a;
/** Space. */
export const SP = 0x20;
/** Horizontal tab. */
export const HTAB = 0x09;
/** Colon. */
export const COLON = 0x3a;

function table(accept: (byte: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = accept(b) ? 1 : 0;
  return t;
}

const TCHAR_PUNCTUATION = "!#$%&'*+-.^_`|~";

/** RFC 9110 §5.6.2: tchar, the characters of a token (methods, field names). */
export const TCHAR: Uint8Array = table((b) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) ||
  (b >= 0x61 && b <= 0x7a) || TCHAR_PUNCTUATION.includes(String.fromCharCode(b))
);

/**
 * RFC 9110 §5.5: field-value characters: VCHAR, obs-text, SP and HTAB.
 * CR, LF, NUL and every other control character are excluded.
 */
export const FIELD_VALUE_CHAR: Uint8Array = table((b) =>
  b === SP || b === HTAB || (b >= 0x21 && b <= 0x7e) || b >= 0x80
);

/**
 * RFC 9112 §3.2 / RFC 3986: bytes allowed in a request-target. Visible ASCII
 * only: controls, space, DEL and non-ASCII bytes must be percent-encoded.
 */
export const TARGET_CHAR: Uint8Array = table((b) => b >= 0x21 && b <= 0x7e);

/** Hex digit value plus one (0 = not a hex digit). */
export const HEX_VALUE: Uint8Array = table(() => false);
for (let b = 0; b < 256; b++) {
  const c = String.fromCharCode(b);
  const v = parseInt(c, 16);
  if (/[0-9a-fA-F]/.test(c)) HEX_VALUE[b] = v + 1;
}

/**
 * Decodes bytes as Latin-1 (ISO 8859-1): one byte, one UTF-16 code unit, as
 * the Fetch standard's ByteString expects for header values.
 */
export function decodeLatin1(
  bytes: Uint8Array,
  start: number,
  end: number,
): string {
  const length = end - start;
  if (length <= 0) return "";
  // One character (a "/" target): no typed-array view for `apply`.
  if (length === 1) return String.fromCharCode(bytes[start]!);
  if (length < 512) {
    return String.fromCharCode.apply(
      null,
      bytes.subarray(start, end) as unknown as number[],
    );
  }
  let out = "";
  for (let i = start; i < end; i += 512) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 512)) as unknown as number[],
    );
  }
  return out;
}

/**
 * Whether `bytes[start, end)` holds exactly the Latin-1 encoding of `text`:
 * comparing is cheaper than decoding, so a repeated value (the same target
 * or Host on every request of a connection) can reuse its string.
 */
export function bytesEqualLatin1(
  bytes: Uint8Array,
  start: number,
  end: number,
  text: string,
): boolean {
  if (end - start !== text.length) return false;
  for (let i = start, k = 0; i < end; i++, k++) {
    if (bytes[i] !== text.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Trims optional whitespace (RFC 9110 §5.6.3: OWS = *( SP / HTAB )) from both
 * ends. Not `String.prototype.trim()`: that also strips U+00A0 and other
 * characters a field value may carry, so " 5\xa0" would read as "5" here but
 * not in another parser (a smuggling gap).
 */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/** Lower-cases one ASCII letter byte; other bytes are returned as they are. */
export function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** Quotes at most 64 bytes of peer input for an error message. */
export function quoteInput(
  bytes: Uint8Array,
  start: number,
  end: number,
): string {
  const cut = Math.min(end, start + 64);
  let s = "";
  for (let i = start; i < cut; i++) {
    const b = bytes[i]!;
    s += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c
      ? String.fromCharCode(b)
      : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `"${s}${end > cut ? "…" : ""}"`;
}

/**
 * The pieces joined into one array (the piece itself when there is one).
 *
 * @param parts The pieces, in order.
 * @param total Their summed length, when the caller has counted it.
 * @returns The joined bytes.
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  total?: number,
): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = total ?? 0;
  if (total === undefined) { for (const part of parts) length += part.length; }
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

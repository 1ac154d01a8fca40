/**
 * Parsed header fields, decoded only when read.
 *
 * @module
 */

import {
  bytesEqualLatin1,
  decodeLatin1,
  lowerByte,
  trimOws,
} from "./_chars.ts";

const asciiDecoder = new TextDecoder();
// Before the section is decoded, values this short are built byte by byte.
const SHORT_SLICE_CHARS = 8;
// Sections longer than this hand out copies, not slices (see #slice): what a
// kept value can pin stays under about 2 KiB.
const PIN_SECTION_CHARS = 2048;

/**
 * The header (or trailer) fields of one parsed message, in wire order, with
 * names as sent. Names and values are decoded from the head's bytes only when
 * read, so a server that never looks at `Accept-Language` never pays for it.
 * Lookups are case-insensitive. Values are Latin-1 strings with surrounding
 * whitespace removed, as the Fetch standard's `Headers` holds them.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestParser } from "./mod.ts";
 *
 * const parser = new RequestParser();
 * parser.receive(new TextEncoder().encode(
 *   "GET / HTTP/1.1\r\nHost: a\r\nSet-Cookie: x=1\r\nset-cookie: y=2\r\n\r\n",
 * ));
 * const head = parser.next();
 * assert.ok(head.kind === "head");
 * assert.equal(head.headers.get("HOST"), "a");
 * assert.deepEqual(head.headers.getAll("Set-Cookie"), ["x=1", "y=2"]);
 * ```
 */
export class FieldList implements Iterable<[string, string]> {
  readonly #bytes: Uint8Array;
  // Four numbers a field: nameStart, nameEnd, valueStart, valueEnd.
  readonly #offsets: readonly number[];
  readonly #ascii: boolean;
  // For an ASCII head: the whole field section decoded once, on first read;
  // names and values are then slices of it (V8 shares slices, no copies).
  #text: string | null = null;
  #textBase = 0;

  /**
   * Wraps already-validated field positions; parsers build these.
   *
   * @param bytes The bytes the offsets point into (not to be changed later).
   * @param offsets nameStart, nameEnd, valueStart, valueEnd for each field.
   * @param ascii Every byte the offsets cover is below 0x80.
   */
  constructor(bytes: Uint8Array, offsets: readonly number[], ascii = false) {
    this.#bytes = bytes;
    this.#offsets = offsets;
    this.#ascii = ascii;
  }

  /**
   * Builds a list from name/value pairs (for tests and hand-made messages).
   *
   * @param pairs Field names and values; not validated.
   * @returns The field list.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { FieldList } from "./mod.ts";
   *
   * assert.equal(FieldList.from([["A", "1"]]).get("a"), "1");
   * ```
   */
  static from(pairs: Iterable<readonly [string, string]>): FieldList {
    const encoder = new TextEncoder();
    const parts: Uint8Array[] = [];
    const offsets: number[] = [];
    let length = 0;
    for (const [name, value] of pairs) {
      const n = encoder.encode(name);
      const v = Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff);
      offsets.push(
        length,
        length + n.length,
        length + n.length,
        length + n.length + v.length,
      );
      parts.push(n, v);
      length += n.length + v.length;
    }
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    return new FieldList(bytes, offsets);
  }

  /** How many fields there are (repeated names count once each). */
  get size(): number {
    return this.#offsets.length >> 2;
  }

  /**
   * The name of field `index`, as sent.
   *
   * @param index Zero-based position in wire order.
   * @returns The name.
   */
  name(index: number): string {
    const o = index << 2;
    return this.#slice(this.#offsets[o]!, this.#offsets[o + 1]!);
  }

  #slice(start: number, end: number): string {
    if (!this.#ascii) return decodeLatin1(this.#bytes, start, end);
    if (this.#text === null) {
      if (end - start <= SHORT_SLICE_CHARS) {
        // A short first read (the client's Content-Length): a few one-byte
        // characters cost far less than decoding the whole section.
        const bytes = this.#bytes;
        let text = "";
        for (let i = start; i < end; i++) {
          text += String.fromCharCode(bytes[i]!);
        }
        return text;
      }
      const offsets = this.#offsets;
      this.#textBase = offsets[0]!;
      this.#text = asciiDecoder.decode(
        this.#bytes.subarray(this.#textBase, offsets[offsets.length - 1]!),
      );
    }
    // V8 keeps a section alive for any slice of it of 13 characters or
    // more: from a large section, such values are decoded on their own, so
    // a value the application keeps does not pin the whole head (an
    // attacker could pad heads to inflate every value an app stores).
    if (end - start >= 13 && this.#text.length > PIN_SECTION_CHARS) {
      return decodeLatin1(this.#bytes, start, end);
    }
    return this.#text.slice(start - this.#textBase, end - this.#textBase);
  }

  /**
   * The value of field `index`, whitespace-trimmed.
   *
   * @param index Zero-based position in wire order.
   * @returns The value.
   */
  value(index: number): string {
    const o = index << 2;
    return this.#slice(this.#offsets[o + 2]!, this.#offsets[o + 3]!);
  }

  /**
   * Whether the value of field `index` is exactly `text`, compared on the
   * bytes without decoding the value (cheaper than `value(index) === text`).
   *
   * @param index Zero-based position in wire order.
   * @param text The value to compare with (case-sensitive).
   * @returns True when they are equal.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { FieldList } from "./mod.ts";
   *
   * const fields = FieldList.from([["Host", "example.com"]]);
   * assert.equal(fields.valueEquals(0, "example.com"), true);
   * assert.equal(fields.valueEquals(0, "Example.com"), false);
   * ```
   */
  valueEquals(index: number, text: string): boolean {
    const o = index << 2;
    return bytesEqualLatin1(
      this.#bytes,
      this.#offsets[o + 2]!,
      this.#offsets[o + 3]!,
      text,
    );
  }

  /**
   * Finds the position of the first field named `lowerName` at or after `from`.
   *
   * @param lowerName The field name in lower case.
   * @param from Where to start looking.
   * @returns The field's index, or -1.
   */
  indexOf(lowerName: string, from = 0): number {
    const bytes = this.#bytes;
    const offsets = this.#offsets;
    const length = lowerName.length;
    outer: for (let o = from << 2; o < offsets.length; o += 4) {
      const start = offsets[o]!;
      if (offsets[o + 1]! - start !== length) continue;
      for (let k = 0; k < length; k++) {
        if (lowerByte(bytes[start + k]!) !== lowerName.charCodeAt(k)) {
          continue outer;
        }
      }
      return o >> 2;
    }
    return -1;
  }

  /**
   * Whether a field with this name is present.
   *
   * @param name Case-insensitive field name.
   * @returns True when present.
   */
  has(name: string): boolean {
    return this.indexOf(name.toLowerCase()) !== -1;
  }

  /**
   * The value of a field; repeated fields are joined with ", " as RFC 9110
   * §5.3 allows (use {@linkcode FieldList.getAll} for `Set-Cookie`).
   *
   * @param name Case-insensitive field name.
   * @returns The combined value, or null when absent.
   */
  get(name: string): string | null {
    const lower = name.toLowerCase();
    let i = this.indexOf(lower);
    if (i === -1) return null;
    let value = this.value(i);
    while ((i = this.indexOf(lower, i + 1)) !== -1) {
      value += ", " + this.value(i);
    }
    return value;
  }

  /**
   * Every value of a field, one entry per field line, in wire order.
   *
   * @param name Case-insensitive field name.
   * @returns The values (empty when absent).
   */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const values: string[] = [];
    for (
      let i = this.indexOf(lower);
      i !== -1;
      i = this.indexOf(lower, i + 1)
    ) {
      values.push(this.value(i));
    }
    return values;
  }

  /**
   * Whether a comma-separated field contains `token` (RFC 9110 §5.6.1),
   * compared case-insensitively on the bytes, without decoding the value.
   *
   * @param lowerName The field name in lower case.
   * @param lowerToken The token in lower case.
   * @returns True when any field of that name lists the token.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { FieldList } from "./mod.ts";
   *
   * const fields = FieldList.from([["Connection", "Keep-Alive, Upgrade"]]);
   * assert.equal(fields.hasToken("connection", "upgrade"), true);
   * assert.equal(fields.hasToken("connection", "close"), false);
   * ```
   */
  hasToken(lowerName: string, lowerToken: string): boolean {
    const bytes = this.#bytes;
    const offsets = this.#offsets;
    const length = lowerToken.length;
    for (
      let i = this.indexOf(lowerName);
      i !== -1;
      i = this.indexOf(lowerName, i + 1)
    ) {
      const end = offsets[(i << 2) + 3]!;
      let at = offsets[(i << 2) + 2]!;
      while (at <= end) {
        let stop = at;
        while (stop < end && bytes[stop] !== 0x2c /* "," */) stop++;
        let from = at;
        let to = stop;
        // Only SP and HTAB are list whitespace (RFC 9110 §5.6.1).
        while (from < to && (bytes[from] === 0x20 || bytes[from] === 0x09)) {
          from++;
        }
        while (
          to > from && (bytes[to - 1] === 0x20 || bytes[to - 1] === 0x09)
        ) {
          to--;
        }
        if (to - from === length) {
          let k = 0;
          while (
            k < length &&
            lowerByte(bytes[from + k]!) === lowerToken.charCodeAt(k)
          ) k++;
          if (k === length) return true;
        }
        at = stop + 1;
      }
    }
    return false;
  }

  /**
   * Whether every byte of field `index`'s value is allowed by `table`.
   *
   * @param index Zero-based position in wire order.
   * @param table 256 entries, 1 for an allowed byte.
   * @returns True when all bytes are allowed.
   */
  valueBytesIn(index: number, table: Uint8Array): boolean {
    const o = index << 2;
    const end = this.#offsets[o + 3]!;
    for (let at = this.#offsets[o + 2]!; at < end; at++) {
      if (table[this.#bytes[at]!] !== 1) return false;
    }
    return true;
  }

  /**
   * Copies the fields into a Web `Headers` object.
   *
   * @returns A new `Headers` with every field appended in wire order.
   */
  toHeaders(): Headers {
    const headers = new Headers();
    for (let i = 0; i < this.size; i++) {
      headers.append(this.name(i), this.value(i));
    }
    return headers;
  }

  /** Name/value pairs in wire order, names as sent. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (let i = 0; i < this.size; i++) yield [this.name(i), this.value(i)];
  }
}

/** Splits a comma-separated field value into trimmed, lower-cased, non-empty tokens. */
export function splitTokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(",")) {
    // RFC 9110 §5.6.1: list elements are separated by OWS "," OWS; only SP and
    // HTAB are whitespace (a trailing U+00A0 must not turn into "chunked").
    const token = trimOws(part).toLowerCase();
    if (token !== "") out.push(token);
  }
  return out;
}

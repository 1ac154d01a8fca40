/**
 * A sans-IO `multipart/form-data` parser (RFC 7578, RFC 2046 §5.1): push
 * bytes in, get part events out, with every limit checked as bytes arrive.
 *
 * ```
 * state      on                         → next
 * preamble   "--B" (after CRLF)         → delimiter
 * delimiter  "--"                       → epilogue (done)
 * delimiter  [ \t]* CRLF                → head
 * head       CRLF CRLF                  → body      emits "head"
 * body       CRLF "--B"                 → delimiter emits "data"*, "end"
 * epilogue   anything                   → epilogue  (ignored)
 * ```
 *
 * @module
 */

import { BadRequestError, PayloadTooLargeError } from "./body.ts";

/** One part's head, as announced by its header block. */
export interface MultipartPart {
  /** The form field name from `Content-Disposition`. */
  name: string;
  /** The file name, present only for file parts. */
  filename?: string;
  /** The part's `Content-Type`, if it sent one. */
  contentType?: string;
  /**
   * All header fields of the part: lowercased names, UTF-8 decoded values
   * (browsers send file names as raw UTF-8, which `Headers` would refuse).
   */
  headers: Map<string, string>;
}

/** What {@linkcode MultipartParser.push} reports, in body order. */
export type MultipartEvent =
  | { kind: "head"; part: MultipartPart }
  | { kind: "data"; part: MultipartPart; data: Uint8Array }
  | { kind: "end"; part: MultipartPart };

/** Limits checked by {@linkcode MultipartParser}; all default to unbounded-ish values below. */
export interface MultipartLimits {
  /** Most parts (413). Default 1000. */
  maxParts: number;
  /** Most bytes in one file part (413). Default 10 MiB. */
  maxFileBytes: number;
  /** Most bytes in one non-file part (413). Default 1 MiB. */
  maxFieldBytes: number;
  /** Most bytes in one part's header block (413). Default 8 KiB. */
  maxPartHeadBytes: number;
}

const DEFAULT_MULTIPART_LIMITS: Readonly<MultipartLimits> = Object.freeze({
  maxParts: 1000,
  maxFileBytes: 10 * 1024 * 1024,
  maxFieldBytes: 1024 * 1024,
  maxPartHeadBytes: 8 * 1024,
});

type State =
  | "preamble"
  | "delimiter"
  | "close"
  | "head"
  | "body"
  | "epilogue";

const CR = 13;
const LF = 10;
const DASH = 45;
const EMPTY = new Uint8Array(0);
const HEAD_END = new Uint8Array([CR, LF, CR, LF]);

// RFC 2046 §5.1.1: 1–70 characters from bchars, not ending in a space.
const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/**
 * Reads the `boundary` parameter of a `multipart/*` content type.
 *
 * @param contentType The `Content-Type` header value.
 * @returns The boundary, or `null` if missing or invalid.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBoundary } from "./multipart.ts";
 *
 * assert.equal(parseBoundary('multipart/form-data; boundary="a b"'), "a b");
 * assert.equal(parseBoundary("multipart/form-data"), null);
 * ```
 */
export function parseBoundary(contentType: string): string | null {
  const params = parseParams(contentType.slice(contentType.indexOf(";") + 1));
  if (!contentType.includes(";")) return null;
  const boundary = params.get("boundary");
  return boundary !== undefined && BOUNDARY_RE.test(boundary) ? boundary : null;
}

/**
 * Parses `multipart/form-data` from chunks of any size.
 *
 * Pushed chunks are referenced, not copied, by emitted `data` events: do not
 * reuse a buffer after pushing it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { MultipartParser } from "./multipart.ts";
 *
 * const body = '--X\r\nContent-Disposition: form-data; name="a"\r\n\r\nhi\r\n--X--\r\n';
 * const parser = new MultipartParser("X");
 * const events = [...parser.push(new TextEncoder().encode(body)), ...parser.finish()];
 * assert.deepEqual(events.map((e) => e.kind), ["head", "data", "end"]);
 * assert.equal(events[0]!.part.name, "a");
 * ```
 */
export class MultipartParser {
  readonly #delimiter: Uint8Array; // CRLF "--" boundary
  readonly #limits: MultipartLimits;
  #state: State = "preamble";
  #buf: Uint8Array;
  // Storage #buf was appended into, and where its bytes end: a part head
  // trickled in byte by byte grows it in place, not by a copy per byte.
  #store: Uint8Array | null = null;
  #storeEnd = 0;
  // How much of a part head in #buf has been searched for its end.
  #headScanned = 0;
  // #buf (in "body") starts with the CRLF that ended the part's head: it is
  // also the CRLF of the next delimiter when the part's body is empty.
  #bodyLeadsWithCrlf = false;
  #part: MultipartPart | undefined;
  #partBytes = 0;
  #parts = 0;

  /**
   * Creates a new `MultipartParser`.
   *
   * @param boundary The boundary from the content type (see {@linkcode parseBoundary}).
   * @param limits Limits to enforce.
   */
  constructor(boundary: string, limits: Partial<MultipartLimits> = {}) {
    this.#delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
    // Left out (or undefined): the default, never "no limit".
    this.#limits = {
      maxParts: limits.maxParts ?? DEFAULT_MULTIPART_LIMITS.maxParts,
      maxFileBytes: limits.maxFileBytes ??
        DEFAULT_MULTIPART_LIMITS.maxFileBytes,
      maxFieldBytes: limits.maxFieldBytes ??
        DEFAULT_MULTIPART_LIMITS.maxFieldBytes,
      maxPartHeadBytes: limits.maxPartHeadBytes ??
        DEFAULT_MULTIPART_LIMITS.maxPartHeadBytes,
    };
    for (const [key, value] of Object.entries(this.#limits)) {
      if (!(value >= 0)) {
        throw new RangeError(
          `Cannot use ${key} ${value}: expected a number >= 0`,
        );
      }
    }
    // The first delimiter may open the body without a CRLF before it.
    this.#buf = new Uint8Array([CR, LF]);
  }

  /**
   * Feeds bytes; returns the events they complete.
   *
   * @param chunk The next bytes of the body.
   * @returns Events, possibly none.
   * @throws {BadRequestError} Malformed multipart.
   * @throws {PayloadTooLargeError} A limit was crossed.
   */
  push(chunk: Uint8Array): MultipartEvent[] {
    if (chunk.byteLength === 0) return [];
    if (this.#state === "epilogue") return [];
    this.#buf = this.#buf.byteLength === 0 ? chunk : this.#append(chunk);
    const events: MultipartEvent[] = [];
    while (this.#step(events));
    return events;
  }

  /**
   * Signals the end of the body.
   *
   * @returns Always empty; kept for symmetry with {@linkcode MultipartParser.push}.
   * @throws {BadRequestError} The closing boundary never came.
   */
  finish(): MultipartEvent[] {
    // A close delimiter with only padding after it ends the body too.
    if (this.#state !== "epilogue" && this.#state !== "close") {
      throw new BadRequestError(
        "Cannot parse multipart body: it ended before the closing boundary",
        "bad_multipart",
      );
    }
    return [];
  }

  /** Runs one transition; `false` when more bytes are needed. */
  #step(events: MultipartEvent[]): boolean {
    const buf = this.#buf;
    const delim = this.#delimiter;
    switch (this.#state) {
      case "preamble": {
        const at = indexOfBytes(buf, delim, 0);
        if (at === -1) {
          // Keep only what could still begin a delimiter.
          const keep = Math.min(buf.byteLength, delim.byteLength - 1);
          this.#buf = buf.subarray(buf.byteLength - keep);
          return false;
        }
        this.#buf = buf.subarray(at + delim.byteLength);
        this.#state = "delimiter";
        return true;
      }
      case "delimiter": {
        if (buf.byteLength < 2) return false;
        if (buf[0] === DASH && buf[1] === DASH) {
          this.#buf = buf.subarray(2);
          this.#state = "close";
          return true;
        }
        // RFC 2046 §5.1.1: transport padding (spaces, tabs) before the CRLF.
        const i = paddingEnd(buf);
        if (i + 2 > buf.byteLength) return false;
        if (buf[i] !== CR || buf[i + 1] !== LF) {
          throw malformed("a boundary is not followed by CRLF");
        }
        this.#buf = buf.subarray(i + 2);
        this.#state = "head";
        this.#headScanned = 0;
        return true;
      }
      case "close": {
        // RFC 2046 §5.1.1: after the close delimiter, only padding, then
        // CRLF (and the epilogue) or the end of the body. "--B--x" is no
        // close delimiter: refused rather than taken as the end, which
        // would drop the parts after it unseen.
        const i = paddingEnd(buf);
        if (
          i === buf.byteLength || (i + 1 === buf.byteLength && buf[i] === CR)
        ) {
          return false;
        }
        if (buf[i] !== CR || buf[i + 1] !== LF) {
          throw malformed("the closing boundary is not followed by CRLF");
        }
        this.#state = "epilogue";
        this.#buf = EMPTY;
        return false;
      }
      case "head": {
        let headEnd: number;
        if (buf.byteLength >= 2 && buf[0] === CR && buf[1] === LF) {
          headEnd = 0;
        } else {
          // Resume where the last search stopped (a trickled head would
          // otherwise be searched from its start once per byte).
          headEnd = indexOfBytes(
            buf,
            HEAD_END,
            Math.max(0, this.#headScanned - 3),
          );
          this.#headScanned = buf.byteLength;
        }
        const max = this.#limits.maxPartHeadBytes;
        if (headEnd === -1) {
          if (buf.byteLength > max + 4) throw headTooLarge(max);
          return false;
        }
        // The body starts after the empty line; the CRLF before it stays
        // in front, as it may also begin the next delimiter (an empty body).
        const bodyStart = headEnd === 0 ? 0 : headEnd + 2;
        if (headEnd > max) throw headTooLarge(max);
        if (++this.#parts > this.#limits.maxParts) {
          throw new PayloadTooLargeError(
            `Multipart body has more than ${this.#limits.maxParts} parts`,
            this.#limits.maxParts,
            "too_many_parts",
          );
        }
        const part = parsePartHead(buf.subarray(0, headEnd));
        this.#part = part;
        this.#partBytes = 0;
        this.#buf = buf.subarray(bodyStart);
        this.#bodyLeadsWithCrlf = true;
        this.#state = "body";
        events.push({ kind: "head", part });
        return true;
      }
      case "body": {
        const part = this.#part!;
        // Bytes in front that are the head's CRLF, not content.
        const lead = this.#bodyLeadsWithCrlf ? 2 : 0;
        const at = indexOfBytes(buf, delim, 0);
        if (at === -1) {
          const safe = buf.byteLength - (delim.byteLength - 1);
          if (safe > lead) {
            this.#emit(events, part, buf.subarray(lead, safe));
            this.#buf = buf.subarray(safe);
            this.#bodyLeadsWithCrlf = false;
          }
          return false;
        }
        // at 0 with the lead: the head's CRLF began the delimiter, so the
        // part is empty (RFC 2046 §5.1.1 allows a body-part of headers only).
        if (at > lead) this.#emit(events, part, buf.subarray(lead, at));
        this.#bodyLeadsWithCrlf = false;
        events.push({ kind: "end", part });
        this.#part = undefined;
        this.#buf = buf.subarray(at + delim.byteLength);
        this.#state = "delimiter";
        return true;
      }
      case "epilogue":
        this.#buf = EMPTY;
        return false;
    }
  }

  // #buf followed by `chunk`: appended in place when #buf ends where the
  // storage's bytes do and there is room (no copy of what came before),
  // else copied once into storage twice the size. Views handed out lie
  // before #buf and are never written over.
  #append(chunk: Uint8Array): Uint8Array {
    const buf = this.#buf;
    const store = this.#store;
    const length = buf.byteLength + chunk.byteLength;
    if (
      store !== null && buf.buffer === store.buffer &&
      buf.byteOffset + buf.byteLength === this.#storeEnd &&
      this.#storeEnd + chunk.byteLength <= store.byteLength
    ) {
      store.set(chunk, this.#storeEnd);
      this.#storeEnd += chunk.byteLength;
      return store.subarray(buf.byteOffset, this.#storeEnd);
    }
    const next = new Uint8Array(Math.max(length * 2, 4096));
    next.set(buf, 0);
    next.set(chunk, buf.byteLength);
    this.#store = next;
    this.#storeEnd = length;
    return next.subarray(0, length);
  }

  #emit(events: MultipartEvent[], part: MultipartPart, data: Uint8Array): void {
    this.#partBytes += data.byteLength;
    const isFile = part.filename !== undefined;
    const max = isFile ? this.#limits.maxFileBytes : this.#limits.maxFieldBytes;
    if (this.#partBytes > max) {
      throw new PayloadTooLargeError(
        `${isFile ? "File" : "Field"} "${
          part.name.slice(0, 64)
        }" is larger than ${max} bytes`,
        max,
        isFile ? "file_too_large" : "field_too_large",
      );
    }
    events.push({ kind: "data", part, data });
  }
}

// RFC 2046 §5.1.1: where the transport padding (spaces, tabs) after a
// boundary ends; a bounded amount of it.
function paddingEnd(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.byteLength && (buf[i] === 32 || buf[i] === 9)) i++;
  if (i > 64) throw malformed("too much padding after a boundary");
  return i;
}

function malformed(detail: string): BadRequestError {
  return new BadRequestError(
    `Cannot parse multipart body: ${detail}`,
    "bad_multipart",
  );
}

function headTooLarge(max: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `Multipart part header block is larger than ${max} bytes`,
    max,
    "part_head_too_large",
  );
}

function parsePartHead(raw: Uint8Array): MultipartPart {
  const headers = new Map<string, string>();
  const source = new TextDecoder().decode(raw);
  for (const line of source.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) {
      throw malformed(`part header line "${line.slice(0, 64)}" is invalid`);
    }
    const value = line.slice(colon + 1).trim();
    const prior = headers.get(name);
    headers.set(name, prior === undefined ? value : `${prior}, ${value}`);
  }
  const disposition = headers.get("content-disposition");
  if (disposition === undefined) {
    throw malformed("a part has no Content-Disposition header");
  }
  const kind = disposition.split(";", 1)[0]!.trim().toLowerCase();
  if (kind !== "form-data") {
    throw malformed(
      `a part's Content-Disposition is "${kind.slice(0, 64)}", not form-data`,
    );
  }
  const params = parseParams(
    disposition.slice(disposition.indexOf(";") + 1),
    (key) => {
      // RFC 6266 §4.1: a parameter given twice makes the field invalid, and
      // parsers disagree on which to take (a WAF may have checked the other).
      if (key === "name" || key === "filename" || key === "filename*") {
        throw malformed(`a part's Content-Disposition repeats "${key}"`);
      }
    },
  );
  const name = params.get("name");
  if (name === undefined || !disposition.includes(";")) {
    throw malformed("a part's Content-Disposition has no name");
  }
  const part: MultipartPart = { name, headers };
  // RFC 6266 §4.3: filename* when it can be decoded, else filename. Either
  // makes the part a file, even when neither name can be read: its bytes
  // are a file's, not text.
  const star = params.get("filename*");
  const filename = (star === undefined ? undefined : decodeExtValue(star)) ??
    params.get("filename") ?? (star === undefined ? undefined : "");
  if (filename !== undefined) part.filename = baseName(filename);
  const type = headers.get("content-type");
  if (type !== undefined) part.contentType = type;
  return part;
}

// RFC 7578 §4.2: directory parts of a file name are not passed on (busboy's
// default too): "../../etc/passwd" is "passwd", "C:\\x\\a.txt" is
// "a.txt", so a name joined to an upload directory stays in it. A name that
// is only dots says nothing and becomes "".
function baseName(name: string): string {
  const base = name.slice(
    Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1,
  );
  return /^\.+$/.test(base) ? "" : base;
}

// RFC 8187 ext-value: charset'lang'pct-encoded, UTF-8 or ISO-8859-1; any
// other charset, or bytes that are not valid in it, give undefined.
function decodeExtValue(value: string): string | undefined {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (match === null) return undefined;
  const charset = match[1]!.toLowerCase();
  const encoded = match[2]!;
  if (charset === "utf-8") {
    try {
      return decodeURIComponent(encoded);
    } catch {
      return undefined;
    }
  }
  if (charset !== "iso-8859-1") return undefined;
  if (/%(?![0-9A-Fa-f]{2})/.test(encoded)) return undefined;
  return encoded.replace(
    /%([0-9A-Fa-f]{2})/g,
    (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  );
}

/**
 * Parses `; a=b; c="d \" e"` header parameters; names are lowercased. The
 * first of a repeated name is kept, and `onRepeat` hears of the others.
 */
function parseParams(
  source: string,
  onRepeat?: (key: string) => void,
): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const n = source.length;
  while (i < n) {
    while (
      i < n && (source[i] === ";" || source[i] === " " || source[i] === "\t")
    ) i++;
    const eq = source.indexOf("=", i);
    if (eq === -1) break;
    const semi = source.indexOf(";", i);
    if (semi !== -1 && semi < eq) {
      i = semi;
      continue;
    }
    const key = source.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < n && (source[i] === " " || source[i] === "\t")) i++;
    let value = "";
    if (source[i] === '"') {
      i++;
      while (i < n && source[i] !== '"') {
        // Only \" and \\ are escapes: browsers send other backslashes as
        // they are (a field named a\b, an old IE's C:\path\name.txt).
        if (
          source[i] === "\\" &&
          (source[i + 1] === '"' || source[i + 1] === "\\")
        ) i++;
        value += source[i];
        i++;
      }
      i++; // closing quote
    } else {
      const end = source.indexOf(";", i);
      value = source.slice(i, end === -1 ? n : end).trim();
      i = end === -1 ? n : end;
    }
    if (key !== "" && !out.has(key)) out.set(key, value);
    else if (key !== "") onRepeat?.(key);
  }
  return out;
}

function indexOfBytes(
  hay: Uint8Array,
  needle: Uint8Array,
  from: number,
): number {
  const first = needle[0]!;
  const n = needle.byteLength;
  const last = hay.byteLength - n;
  let i = hay.indexOf(first, from);
  while (i !== -1 && i <= last) {
    let j = 1;
    while (j < n && hay[i + j] === needle[j]) j++;
    if (j === n) return i;
    i = hay.indexOf(first, i + 1);
  }
  return -1;
}

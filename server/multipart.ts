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

type State = "preamble" | "delimiter" | "head" | "body" | "epilogue";

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
    this.#limits = { ...DEFAULT_MULTIPART_LIMITS, ...limits };
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
    this.#buf = this.#buf.byteLength === 0 ? chunk : concat(this.#buf, chunk);
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
    if (this.#state !== "epilogue") {
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
          this.#state = "epilogue";
          this.#buf = EMPTY;
          return false;
        }
        // RFC 2046 §5.1.1: transport padding (spaces, tabs) before the CRLF.
        let i = 0;
        while (i < buf.byteLength && (buf[i] === 32 || buf[i] === 9)) i++;
        if (i > 64) throw malformed("too much padding after a boundary");
        if (i + 2 > buf.byteLength) return false;
        if (buf[i] !== CR || buf[i + 1] !== LF) {
          throw malformed("a boundary is not followed by CRLF");
        }
        this.#buf = buf.subarray(i + 2);
        this.#state = "head";
        return true;
      }
      case "head": {
        let headEnd: number;
        let bodyStart: number;
        if (buf.byteLength >= 2 && buf[0] === CR && buf[1] === LF) {
          headEnd = 0;
          bodyStart = 2;
        } else {
          headEnd = indexOfBytes(buf, HEAD_END, 0);
          bodyStart = headEnd + 4;
        }
        const max = this.#limits.maxPartHeadBytes;
        if (headEnd === -1) {
          if (buf.byteLength > max + 4) throw headTooLarge(max);
          return false;
        }
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
        this.#state = "body";
        events.push({ kind: "head", part });
        return true;
      }
      case "body": {
        const part = this.#part!;
        const at = indexOfBytes(buf, delim, 0);
        if (at === -1) {
          const safe = buf.byteLength - (delim.byteLength - 1);
          if (safe > 0) {
            this.#emit(events, part, buf.subarray(0, safe));
            this.#buf = buf.subarray(safe);
          }
          return false;
        }
        if (at > 0) this.#emit(events, part, buf.subarray(0, at));
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
  const params = parseParams(disposition.slice(disposition.indexOf(";") + 1));
  const name = params.get("name");
  if (name === undefined || !disposition.includes(";")) {
    throw malformed("a part's Content-Disposition has no name");
  }
  const part: MultipartPart = { name, headers };
  // RFC 6266 §4.3: filename* when it can be decoded, else filename.
  const star = params.get("filename*");
  const filename = (star === undefined ? undefined : decodeExtValue(star)) ??
    params.get("filename");
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

/** Parses `; a=b; c="d \" e"` header parameters; names are lowercased. */
function parseParams(source: string): Map<string, string> {
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
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
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

/**
 * Byte ranges (RFC 9110 §14): parsing the Range header against a file size,
 * and laying out a multipart/byteranges body (§14.6). Pure.
 *
 * @module
 */

/** An inclusive byte range, already clamped to the file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a Range header asks for. */
export type RangeRequest =
  | { kind: "ignore" }
  | { kind: "unsatisfiable" }
  | { kind: "ranges"; ranges: ByteRange[] };

/** More ranges than this in one request is treated as abuse: send it all. */
export const MAX_RANGES = 64;

const SPEC = /^(\d*)-(\d*)$/;

/**
 * Parses a Range header for a representation of `size` bytes. Syntax errors
 * and other units are ignored (the whole file is sent, §14.2); a set of only
 * unsatisfiable ranges gives 416. Like Go's net/http, a set of ranges whose
 * total exceeds the file, or more than MAX_RANGES of them, is ignored too:
 * overlapping ranges only amplify the response.
 *
 * @param value the Range header value, e.g. "bytes=0-99,-5"
 * @param size the file size in bytes
 * @returns the satisfiable ranges in request order, or why there are none
 */
export function parseRange(value: string, size: number): RangeRequest {
  const eq = value.indexOf("=");
  if (eq < 0 || value.slice(0, eq).trim().toLowerCase() !== "bytes") {
    return { kind: "ignore" };
  }
  const specs = value.slice(eq + 1).split(",");
  if (specs.length > MAX_RANGES) return { kind: "ignore" };
  const ranges: ByteRange[] = [];
  let total = 0;
  let any = false;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === "") continue; // #rule allows empty list members
    const m = SPEC.exec(spec);
    if (m === null || (m[1] === "" && m[2] === "")) return { kind: "ignore" };
    any = true;
    let start: number;
    let end: number;
    if (m[1] === "") {
      // suffix-range "-N": the last N bytes.
      const n = Number(m[2]);
      if (n === 0 || size === 0) continue;
      start = Math.max(0, size - n);
      end = size - 1;
    } else {
      start = Number(m[1]);
      const last = m[2] === "" ? Infinity : Number(m[2]);
      // §14.1.1: last-pos below first-pos makes the whole header invalid.
      if (!Number.isSafeInteger(start) || last < start) {
        return { kind: "ignore" };
      }
      if (start >= size) continue;
      end = Math.min(last, size - 1);
    }
    total += end - start + 1;
    ranges.push({ start, end });
  }
  if (!any) return { kind: "ignore" };
  if (ranges.length === 0) return { kind: "unsatisfiable" };
  if (total > size) return { kind: "ignore" };
  return { kind: "ranges", ranges };
}

/** One piece of a response body: literal bytes or a slice of the file. */
export type BodySegment =
  | { kind: "bytes"; bytes: Uint8Array<ArrayBuffer> }
  | { kind: "file"; start: number; end: number };

const encoder = new TextEncoder();

/**
 * Lays out a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1): each
 * part has its own Content-Type and Content-Range, and the final boundary
 * ends with "--". The file slices are read later, streaming.
 *
 * @param ranges the ranges, in the order to send them
 * @param size the file size in bytes
 * @param contentType the file's Content-Type
 * @param boundary the multipart boundary (no leading dashes)
 * @returns the body segments and their total length
 */
export function layoutMultipart(
  ranges: readonly ByteRange[],
  size: number,
  contentType: string,
  boundary: string,
): { segments: BodySegment[]; length: number } {
  const segments: BodySegment[] = [];
  let length = 0;
  ranges.forEach(({ start, end }, i) => {
    const head = encoder.encode(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\n` +
        `Content-Type: ${contentType}\r\n` +
        `Content-Range: bytes ${start}-${end}/${size}\r\n\r\n`,
    );
    segments.push({ kind: "bytes", bytes: head });
    segments.push({ kind: "file", start, end: end + 1 });
    length += head.length + end - start + 1;
  });
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  segments.push({ kind: "bytes", bytes: tail });
  length += tail.length;
  return { segments, length };
}

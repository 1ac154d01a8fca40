/**
 * Validators and conditional requests for static files (RFC 9110 §8.8, §13):
 * HTTP dates, entity tags, and the precondition order of §13.2.2. Pure.
 *
 * @module
 */

/** Reads one request header by name (case-insensitive), or null. */
export type HeaderGetter = (name: string) => string | null;

const MONTHS = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];

// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" and RFC 850
// "Sunday, 06-Nov-94 08:49:37 GMT"; like Python's email.utils, a missing or
// zero-offset zone means UTC, and any other offset is not understood.
const RFC_DATE =
  /^\s*(?:[a-z]+,?\s+)?(\d{1,2})[\s-]+([a-z]{3})[\s-]+(\d{2}|\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*(?:gmt|utc|ut|z|[+-]0000))?\s*$/i;
// asctime "Sun Nov  6 08:49:37 1994", always UTC.
const ASCTIME =
  /^\s*[a-z]{3}\s+([a-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})\s*$/i;

function utc(
  year: number,
  monthName: string,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | null {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  if (month < 0 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls "Feb 30" over into March; refuse instead.
  return new Date(ms).getUTCDate() === day ? ms : null;
}

/**
 * Parses an HTTP-date in any of the three formats of RFC 9110 §5.6.7.
 *
 * @param value a header value such as "Sun, 06 Nov 1994 08:49:37 GMT"
 * @returns milliseconds since the epoch, or null when not a date
 */
export function parseHttpDate(value: string): number | null {
  let m = RFC_DATE.exec(value);
  if (m !== null) {
    let year = Number(m[3]);
    // Python's email.utils rule for two-digit years.
    if (m[3]!.length === 2) year += year > 68 ? 1900 : 2000;
    return utc(
      year,
      m[2]!,
      Number(m[1]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6] ?? 0),
    );
  }
  m = ASCTIME.exec(value);
  if (m !== null) {
    return utc(
      Number(m[6]),
      m[1]!,
      Number(m[2]),
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
    );
  }
  return null;
}

/**
 * Formats an IMF-fixdate, the form HTTP senders must use.
 *
 * @param ms milliseconds since the epoch
 * @returns e.g. "Sun, 06 Nov 1994 08:49:37 GMT"
 */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/**
 * An entity tag from file metadata (size and modification time), as nginx
 * and Apache do: cheap, and it changes whenever either changes.
 *
 * @param size file size in bytes
 * @param mtimeMs modification time in milliseconds
 * @param weak prefix with W/
 * @returns a quoted entity tag
 */
export function makeEtag(size: number, mtimeMs: number, weak: boolean): string {
  const tag = `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
  return weak ? `W/${tag}` : tag;
}

interface EntityTag {
  weak: boolean;
  opaque: string;
}

function parseEtag(tag: string): EntityTag | null {
  const weak = tag.startsWith("W/");
  const opaque = weak ? tag.slice(2) : tag;
  if (opaque.length < 2 || !opaque.startsWith('"') || !opaque.endsWith('"')) {
    return null;
  }
  return { weak, opaque };
}

/**
 * Parses an If-Match / If-None-Match value: "*" or a comma-separated list of
 * entity tags (commas may appear inside the quotes). Malformed members are
 * skipped.
 */
function parseEtagList(value: string): "*" | EntityTag[] {
  if (value.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  let i = 0;
  while (i < value.length) {
    while (
      i < value.length && (value[i] === " " || value[i] === "\t" ||
        value[i] === ",")
    ) i++;
    if (i >= value.length) break;
    const start = i;
    if (value.startsWith("W/", i)) i += 2;
    if (value[i] === '"') {
      const close = value.indexOf('"', i + 1);
      if (close < 0) break;
      i = close + 1;
    } else {
      while (i < value.length && value[i] !== ",") i++;
    }
    const tag = parseEtag(value.slice(start, i));
    if (tag !== null) tags.push(tag);
  }
  return tags;
}

/**
 * Weak comparison (RFC 9110 §8.8.3.2), used by If-None-Match.
 *
 * @param header the If-None-Match value
 * @param etag the current entity tag
 * @returns whether any listed tag matches
 */
export function etagMatchesWeak(header: string, etag: string): boolean {
  const list = parseEtagList(header);
  if (list === "*") return true;
  const current = parseEtag(etag);
  return current !== null && list.some((t) => t.opaque === current.opaque);
}

/**
 * Strong comparison (RFC 9110 §8.8.3.2), used by If-Match and If-Range: both
 * tags must be strong and equal.
 *
 * @param header the If-Match value (or one If-Range entity tag)
 * @param etag the current entity tag, or null when there is none
 * @returns whether any listed tag matches
 */
export function etagMatchesStrong(
  header: string,
  etag: string | null,
): boolean {
  const list = parseEtagList(header);
  if (list === "*") return etag !== null;
  const current = etag === null ? null : parseEtag(etag);
  if (current === null || current.weak) return false;
  return list.some((t) => !t.weak && t.opaque === current.opaque);
}

/** The validators of the selected representation. */
export interface Validators {
  /** Current entity tag, or null when none is sent. */
  etag: string | null;
  /** Last-Modified in milliseconds, whole seconds, or null when unknown. */
  lastModifiedMs: number | null;
}

/** Outcome of §13.2.2 steps 1 to 4. */
export type Precondition = "proceed" | "not-modified" | "failed";

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and
 * If-Modified-Since in the order of RFC 9110 §13.2.2, for GET or HEAD on an
 * existing file. If-None-Match takes precedence over If-Modified-Since, as
 * in Python's SimpleHTTPRequestHandler.
 *
 * @param header request header getter
 * @param v the file's validators
 * @returns "proceed", "not-modified" (304) or "failed" (412)
 */
export function evaluatePreconditions(
  header: HeaderGetter,
  v: Validators,
): Precondition {
  const ifMatch = header("if-match");
  if (ifMatch !== null) {
    // A file exists here, so "*" always matches.
    if (ifMatch.trim() !== "*" && !etagMatchesStrong(ifMatch, v.etag)) {
      return "failed";
    }
  } else {
    const ius = header("if-unmodified-since");
    const date = ius === null ? null : parseHttpDate(ius);
    if (date !== null && v.lastModifiedMs !== null && v.lastModifiedMs > date) {
      return "failed";
    }
  }
  const ifNoneMatch = header("if-none-match");
  if (ifNoneMatch !== null) {
    return v.etag !== null && etagMatchesWeak(ifNoneMatch, v.etag) ||
        ifNoneMatch.trim() === "*"
      ? "not-modified"
      : "proceed";
  }
  const ims = header("if-modified-since");
  const date = ims === null ? null : parseHttpDate(ims);
  if (date !== null && v.lastModifiedMs !== null && v.lastModifiedMs <= date) {
    return "not-modified";
  }
  return "proceed";
}

/**
 * Whether an If-Range value still describes the file (RFC 9110 §13.1.5): a
 * strong entity tag match, or a date equal to Last-Modified. When false the
 * Range header is ignored and the whole file is sent.
 *
 * @param value the If-Range header value
 * @param v the file's validators
 * @returns whether the range request may be honoured
 */
export function ifRangeMatches(value: string, v: Validators): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith("W/")) {
    // RFC 9110 §13.1.5: If-Range = entity-tag / HTTP-date, one strong tag
    // compared strongly; a list or anything else makes the condition false.
    const tag = parseEtag(trimmed);
    const current = v.etag === null ? null : parseEtag(v.etag);
    return tag !== null && !tag.weak &&
      !tag.opaque.slice(1, -1).includes('"') &&
      current !== null && !current.weak && current.opaque === tag.opaque;
  }
  const date = parseHttpDate(trimmed);
  return date !== null && v.lastModifiedMs !== null &&
    date === v.lastModifiedMs;
}

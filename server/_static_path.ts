/**
 * URL path → safe relative path segments, for static file serving. Pure: no
 * file system access (string work only). `locateUrlPath()` joins the
 * segments under the root and checks containment again (defence in depth);
 * it is also the default of `SimpleHTTPRequestHandler.translate_path`.
 *
 * @module
 */

import { join, relative, sep } from "node:path";

/** A request path turned into segments that cannot leave the root. */
export type UrlPathResult =
  | { ok: true; segments: string[]; trailingSlash: boolean }
  | { ok: false; reason: string };

/**
 * Decodes a raw URL path (no query) exactly once and splits it into plain
 * names. Like Python's `SimpleHTTPRequestHandler.translate_path`, "." and
 * empty segments are dropped and ".." removes the previous segment (never
 * going above the root), so "/a/../../b" means "/b". Refused (`ok: false`,
 * answered 400): malformed percent-encoding or invalid UTF-8, NUL, backslash
 * (never a separator, so a path means the same on every OS), and on Windows
 * any ":" (drive letters such as "C:", alternate data streams).
 *
 * Double encoding stays literal: "%252e%252e" decodes once to the name
 * "%2e%2e", which is an ordinary (missing) file, not "..".
 *
 * @param rawPath the path part of the request target, still percent-encoded
 * @param windows apply the Windows rules (default: false)
 * @returns the segments, or why the path was refused
 */
export function resolveUrlPath(
  rawPath: string,
  windows = false,
): UrlPathResult {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, reason: "Malformed percent-encoding in path" };
  }
  if (decoded.includes("\0")) {
    return { ok: false, reason: "NUL byte in path" };
  }
  if (decoded.includes("\\")) {
    return { ok: false, reason: "Backslash in path" };
  }
  const segments: string[] = [];
  for (const word of decoded.split("/")) {
    if (word === "" || word === ".") continue;
    if (word === "..") {
      segments.pop();
      continue;
    }
    if (windows && word.includes(":")) {
      return { ok: false, reason: "Colon in path" };
    }
    segments.push(word);
  }
  // Python checks the trailing slash on the raw path (Issue17324).
  return { ok: true, segments, trailingSlash: rawPath.endsWith("/") };
}

/** A request target split for static serving. */
export interface SplitTarget {
  /** The path, still percent-encoded, without query or fragment. */
  path: string;
  /** The query without "?", or "". */
  query: string;
  /** Path and query as Python's listing shows them (fragment dropped). */
  display: string;
}

// "scheme://authority" at the start of an absolute-form target.
const ABSOLUTE_FORM_PREFIX = /^[A-Za-z][A-Za-z0-9+.\-]*:\/\/[^/?]*/;

/**
 * Splits a request target into path and query: drops a fragment, turns an
 * absolute-form target into its path, and collapses leading slashes.
 *
 * @param target the request target as received
 * @returns path, query and the listing's display text
 */
export function splitTarget(target: string): SplitTarget {
  let t = target;
  const hash = t.indexOf("#");
  if (hash >= 0) t = t.slice(0, hash);
  if (!t.startsWith("/")) {
    // absolute-form (RFC 9112 §3.2.2), e.g. from a proxy-style request:
    // its path as sent, checked as an origin-form one is (URL would turn
    // a backslash into "/" and resolve dot segments first).
    const authority = ABSOLUTE_FORM_PREFIX.exec(t);
    t = authority === null ? t : t.slice(authority[0].length);
    if (!t.startsWith("/")) t = "/" + t;
  }
  // "//evil.example/" must not become a protocol-relative Location
  // (CVE-2021-28861); Python 3.11 collapses leading slashes the same way.
  if (t.startsWith("//")) t = "/" + t.replace(/^\/+/, "");
  const q = t.indexOf("?");
  return q < 0
    ? { path: t, query: "", display: t }
    : { path: t.slice(0, q), query: t.slice(q + 1), display: t };
}

/**
 * Whether `path` is `root` or lies below it (both absolute, normalised).
 *
 * @param root the directory
 * @param path the candidate
 * @returns true when inside
 */
export function isInside(root: string, path: string): boolean {
  return path === root ||
    path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Where a URL path points on disk, or why it points nowhere. */
export type LocatedPath =
  | { ok: true; fsPath: string; trailingSlash: boolean }
  | { ok: false; status: number; reason: string };

/**
 * Maps a URL path (no query) under `urlRoot` to a file system path under
 * `root`, with every check of {@linkcode resolveUrlPath} plus containment:
 * the default of `translate_path`.
 *
 * @param path the URL path, still percent-encoded
 * @param root the served directory, absolute
 * @param urlRoot URL prefix that maps to `root` ("" or undefined: none)
 * @param windows apply the Windows rules
 * @returns the path (without a trailing separator), or 400/404 and why
 */
export function locateUrlPath(
  path: string,
  root: string,
  urlRoot: string | undefined,
  windows: boolean,
): LocatedPath {
  const below = belowUrlRoot(path, normaliseUrlRoot(urlRoot));
  if (below === null) {
    return { ok: false, status: 404, reason: "File not found" };
  }
  const parsed = resolveUrlPath(below, windows);
  if (!parsed.ok) return { ok: false, status: 400, reason: parsed.reason };
  const fsPath = join(root, ...parsed.segments);
  // Defence in depth: resolveUrlPath already removed every "..".
  if (!isInside(root, fsPath)) {
    return { ok: false, status: 404, reason: "File not found" };
  }
  return { ok: true, fsPath, trailingSlash: parsed.trailingSlash };
}

// The part of an encoded URL path below the URL root ("" or "/…"), or null
// when the path is not under it. The root is given as text ("my files",
// "/ünï") or already encoded; each segment of the path is compared both
// ways, so "/my%20files/a" and "/my files/a" are both under "my files".
function belowUrlRoot(path: string, prefix: string): string | null {
  if (prefix === "") return path;
  const want = prefix.slice(1).split("/");
  const parts = path.split("/");
  if (parts.length <= want.length) return null;
  for (let i = 0; i < want.length; i++) {
    const segment = parts[i + 1]!;
    if (segment !== want[i] && decodedOrNull(segment) !== want[i]) return null;
  }
  return parts.length === want.length + 1
    ? ""
    : "/" + parts.slice(want.length + 1).join("/");
}

function decodedOrNull(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function normaliseUrlRoot(urlRoot: string | undefined): string {
  if (urlRoot === undefined) return "";
  const trimmed = urlRoot.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "" : "/" + trimmed;
}

/**
 * The path segments of `fsPath` below `root`, or null when it is not
 * inside `root` (a path a `translate_path` override chose elsewhere).
 *
 * @param root the served directory, absolute
 * @param fsPath an absolute, normalised path
 * @returns the names from `root` down to `fsPath`, or null
 */
export function segmentsBelow(root: string, fsPath: string): string[] | null {
  if (!isInside(root, fsPath)) return null;
  return relative(root, fsPath).split(sep).filter((s) => s !== "");
}

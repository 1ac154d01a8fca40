/**
 * URL path → safe relative path segments, for static file serving. Pure: no
 * file system access. static.ts joins the segments under the root and then
 * checks containment again (defence in depth).
 *
 * @module
 */

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

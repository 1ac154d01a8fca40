/**
 * The HTML directory listing of Python's SimpleHTTPRequestHandler
 * (`list_directory`), byte for byte: same sort, escaping, quoting and
 * markup. Pure: the caller reads the directory.
 *
 * @module
 */

/** One directory entry, as the listing needs it. */
export interface ListingEntry {
  name: string;
  /** A directory, or a symbolic link to one (Python's os.path.isdir). */
  isDirectory: boolean;
  isSymlink: boolean;
}

/**
 * Compares strings by code point, as Python does (JS `<` compares UTF-16
 * units, which orders astral characters differently).
 */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

/**
 * Sorts entries like `list.sort(key=lambda a: a.lower())`: stable,
 * case-insensitive by lower-cased name.
 *
 * @param entries entries in directory order
 * @returns a new sorted array
 */
export function sortLikePython<T extends { name: string }>(
  entries: readonly T[],
): T[] {
  const keyed = entries.map((e) => ({ e, key: e.name.toLowerCase() }));
  keyed.sort((a, b) => compareCodePoints(a.key, b.key));
  return keyed.map((k) => k.e);
}

/**
 * `html.escape(s, quote=False)`: only &, < and >.
 *
 * @param s text
 * @returns escaped text
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const encoder = new TextEncoder();
const HEX = "0123456789ABCDEF";

/**
 * `urllib.parse.quote(s)`: UTF-8, everything but letters, digits, "_.-~"
 * and "/" percent-encoded in upper-case hex.
 *
 * @param s text
 * @returns the quoted text
 */
export function quoteUrl(s: string): string {
  let out = "";
  for (const b of encoder.encode(s)) {
    const safe = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x2e || b === 0x2d ||
      b === 0x7e || b === 0x2f;
    out += safe ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

const decoder = new TextDecoder(); // not fatal: bad UTF-8 becomes U+FFFD

/**
 * `urllib.parse.unquote(s)`: lenient, for display only. Valid %XX runs are
 * decoded as UTF-8 (invalid sequences become U+FFFD); anything else stays.
 *
 * @param s percent-encoded text
 * @returns decoded text
 */
export function unquoteLenient(s: string): string {
  return s.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    }
    return decoder.decode(bytes);
  });
}

/**
 * Renders Python's listing page. `requestPath` is the request target as
 * received (path and query, still encoded): Python titles the page with it.
 *
 * @param requestPath the raw request target, e.g. "/docs/?x=1"
 * @param entries directory entries, already sorted
 * @returns the HTML text (UTF-8 when encoded)
 */
export function renderListing(
  requestPath: string,
  entries: readonly ListingEntry[],
): string {
  const displayPath = escapeHtml(unquoteLenient(requestPath));
  const title = `Directory listing for ${displayPath}`;
  const r = [
    "<!DOCTYPE HTML>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<title>${title}</title>\n</head>`,
    `<body>\n<h1>${title}</h1>`,
    "<hr>\n<ul>",
  ];
  for (const { name, isDirectory, isSymlink } of entries) {
    let displayName = name;
    let linkName = name;
    if (isDirectory) {
      displayName = name + "/";
      linkName = name + "/";
    }
    // A link to a directory displays with "@" and links with "/".
    if (isSymlink) displayName = name + "@";
    r.push(
      `<li><a href="${quoteUrl(linkName)}">${escapeHtml(displayName)}</a></li>`,
    );
  }
  r.push("</ul>\n<hr>\n</body>\n</html>\n");
  return r.join("\n");
}

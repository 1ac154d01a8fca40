/**
 * File extension → Content-Type, built once from the pinned mime-db
 * database. Internal to server/: static.ts uses it, and so may the Python
 * face (SimpleHTTPRequestHandler.guess_type).
 *
 * @module
 */

// mime-db is plain JSON behind a CommonJS index.js; importing it as a module
// (not with a JSON import attribute) is what works for an npm: specifier.
// The house rule is pinned npm: specifiers in library code (no import map).
import db from "npm:mime-db@1.54.0";

interface MimeEntry {
  source?: string;
  charset?: string;
  extensions?: string[];
}

// Several types claim some extensions (mp4, xml, js, wav, ico). Rank by who
// registered the type, then prefer a media top-level type over the catch-all
// "application/" (mp4 → video/mp4, like Python). "text/" gets no such bonus:
// xml and rtf stay application/*, as in Python, so no charset overrides the
// encoding an XML declaration names.
const SOURCE_RANK: Readonly<Record<string, number>> = {
  iana: 3,
  apache: 2,
  nginx: 1,
};

function rank(type: string, entry: MimeEntry): number {
  const source = SOURCE_RANK[entry.source ?? ""] ?? 0;
  const media = !type.startsWith("application/") && !type.startsWith("text/");
  return source * 2 + (media ? 1 : 0);
}

function buildTable(): Map<string, string> {
  const entries = db as unknown as Record<string, MimeEntry>;
  const best = new Map<string, { type: string; score: number }>();
  for (const [type, entry] of Object.entries(entries)) {
    for (const ext of entry.extensions ?? []) {
      const score = rank(type, entry);
      const seen = best.get(ext);
      if (seen === undefined || score > seen.score) {
        best.set(ext, { type, score });
      }
    }
  }
  const table = new Map<string, string>();
  for (const [ext, { type }] of best) {
    const entry = entries[type];
    // Text and the UTF-8 JSON/JS family are sent with an explicit charset so
    // browsers do not guess (RFC 8259 §8.1, HTML's "sniffing" rules).
    const utf8 = type.startsWith("text/") || entry?.charset === "UTF-8";
    table.set(ext, utf8 ? `${type}; charset=utf-8` : type);
  }
  return table;
}

const TABLE: ReadonlyMap<string, string> = buildTable();

/** What a file of unknown type is sent as. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/**
 * The extension of a file name or path with its dot (".gz"), or "" when
 * there is none: Python's `posixpath.splitext(path)[1]`, where a name that
 * only starts with dots (".bashrc") has no extension.
 *
 * @param path a file name or a path ("/" or "\\" separated)
 * @returns ".ext" as written (case kept), or ""
 */
export function extensionOf(path: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  // No dot, or only leading dots (".bashrc", "..."): no extension.
  if (dot <= 0 || /^\.+$/.test(name.slice(0, dot + 1))) return "";
  return name.slice(dot);
}

/**
 * The Content-Type for a file name or path, from its last extension
 * (case-insensitive, see {@linkcode extensionOf});
 * `application/octet-stream` when unknown.
 *
 * @param path a file name or a "/"-separated path
 * @returns a Content-Type value, with `; charset=utf-8` for text types
 */
export function contentTypeFor(path: string): string {
  const ext = extensionOf(path);
  if (ext === "") return DEFAULT_CONTENT_TYPE;
  return TABLE.get(ext.slice(1).toLowerCase()) ?? DEFAULT_CONTENT_TYPE;
}

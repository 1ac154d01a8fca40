/**
 * Static files for both faces: `serveDir()` / `serveFile()` answer a Web
 * `Request`, and `resolveStatic()` is the one implementation beneath them,
 * which the Python face (`SimpleHTTPRequestHandler`) calls with its own
 * method, path and headers.
 *
 * Behaviour follows Python's `SimpleHTTPRequestHandler` (index.html, the
 * same HTML listing, 301 to add a directory's trailing slash,
 * Last-Modified / If-Modified-Since) plus ETag / If-None-Match, If-Match,
 * If-Unmodified-Since, Range (single, multipart/byteranges, 416), If-Range,
 * HEAD, and bodies streamed in 64 KiB chunks.
 *
 * Path safety: the path is percent-decoded exactly once; ".", "..", and
 * empty segments are normalised away (never above the root, as in Python);
 * NUL, backslashes, malformed encoding (and ":" on Windows) are refused with
 * 400; the joined path is checked to lie inside `fsRoot`.
 *
 * Symlink policy (`symlinks` option): "within-root" (default) follows a
 * symbolic link only when its real path stays inside the real `fsRoot`,
 * else 404; "follow" follows every link (Python's behaviour); "refuse"
 * answers 404 for any path that goes through a link. Listings show links
 * with "@" like Python whatever the policy. Checks happen before the file
 * is opened, so someone who can swap links inside the root while requests
 * run can race them.
 *
 * @module
 */

import { join, resolve, sep } from "node:path";
import { contentTypeFor } from "./_mime.ts";
import { resolveUrlPath } from "./_static_path.ts";
import {
  evaluatePreconditions,
  formatHttpDate,
  type HeaderGetter,
  ifRangeMatches,
  makeEtag,
} from "./_static_conditional.ts";
import {
  type BodySegment,
  layoutMultipart,
  parseRange,
} from "./_static_range.ts";
import {
  type ListingEntry,
  renderListing,
  sortLikePython,
} from "./_static_listing.ts";

export type { HeaderGetter } from "./_static_conditional.ts";

/** How symbolic links under the root are treated; see the module doc. */
export type SymlinkPolicy = "within-root" | "follow" | "refuse";

/** Options shared by `serveFile()` and `serveDir()`. */
export interface ServeFileOptions {
  /** Extra headers on every response, errors included. */
  headers?: HeadersInit;
  /** Add `Access-Control-Allow-Origin: *` and allow the Range header. */
  enableCors?: boolean;
  /** Send an ETag from size and mtime: true/"strong" (default), "weak", false. */
  etag?: boolean | "strong" | "weak";
  /** Content-Type for a file path (default: mime-db by extension). */
  contentType?: (filePath: string) => string;
}

/** Options of `serveDir()` and `resolveStatic()`. */
export interface ServeDirOptions extends ServeFileOptions {
  /** Directory to serve; relative paths resolve against the cwd. */
  fsRoot: string;
  /** URL prefix that maps to `fsRoot`, e.g. "/static"; others get 404. */
  urlRoot?: string;
  /** Render an HTML listing for directories without an index (true). */
  showDirListing?: boolean;
  /** Serve index.html (then index.htm) for a directory (true). */
  showIndex?: boolean;
  /** Symbolic link policy (default "within-root"). */
  symlinks?: SymlinkPolicy;
}

/** A request as `resolveStatic()` needs it, from either face. */
export interface StaticRequest {
  /** The request method, e.g. "GET" (case-sensitive). */
  method: string;
  /** The request target as received: path and query, still encoded. */
  target: string;
  /** Reads a request header (case-insensitive), or null. */
  header: HeaderGetter;
}

/** What to answer; the caller writes it in its own style. */
export interface StaticResult {
  /** The status code to answer with. */
  status: number;
  /**
   * Headers in sending order. File responses use Python's spelling and
   * order ("Content-type", "Content-Length", "Last-Modified") first.
   */
  headers: Array<[string, string]>;
  /**
   * The body: bytes, a stream that owns an open file (read it to the end
   * or cancel it, which closes the file), or null (HEAD, 304, errors).
   */
  body:
    | Uint8Array<ArrayBuffer>
    | ReadableStream<Uint8Array<ArrayBuffer>>
    | null;
  /**
   * For status ≥ 400: a short reason for an error page, free of file
   * system paths (Python's wording where Python has one); otherwise null.
   */
  message: string | null;
}

const IS_WINDOWS = Deno.build.os === "windows";
const INDEX_FILES = ["index.html", "index.htm"];
/** Read size for streamed bodies: memory per response stays below this. */
export const STATIC_CHUNK_BYTES = 64 * 1024;
// Bodies up to this size are read at once and the file closed straight away.
const INLINE_MAX_BYTES = 64 * 1024;
const encoder = new TextEncoder();

class StaticFsError extends Error {
  readonly status: 403 | 404;
  constructor(status: 403 | 404) {
    super(status === 403 ? "Permission denied" : "File not found");
    this.name = "StaticFsError";
    this.status = status;
  }
}

/**
 * The status a file system error means for a client: 404 for a missing
 * path (or one through a file, or a link loop), 403 for permission denied,
 * null for anything else (a server fault, to be thrown).
 *
 * @param err an error thrown by a Deno file system call
 * @returns 403, 404 or null
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { fsErrorStatus } from "./static.ts";
 *
 * assert.equal(fsErrorStatus(new Deno.errors.NotFound("gone")), 404);
 * assert.equal(fsErrorStatus(new Deno.errors.PermissionDenied("no")), 403);
 * assert.equal(fsErrorStatus(new Error("disk on fire")), null);
 * ```
 */
export function fsErrorStatus(err: unknown): 403 | 404 | null {
  if (
    err instanceof Deno.errors.NotFound ||
    err instanceof Deno.errors.NotADirectory ||
    err instanceof Deno.errors.FilesystemLoop ||
    err instanceof Deno.errors.IsADirectory
  ) return 404;
  if (err instanceof Deno.errors.PermissionDenied) return 403;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENAMETOOLONG" || code === "ENOENT" || code === "ENOTDIR") {
    return 404;
  }
  if (code === "EACCES" || code === "EPERM") return 403;
  return null;
}

function fsError(err: unknown): never {
  const status = fsErrorStatus(err);
  throw status === null ? err : new StaticFsError(status);
}

function extraHeaders(options: ServeFileOptions): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (options.headers !== undefined) {
    for (const pair of new Headers(options.headers)) out.push(pair);
  }
  if (options.enableCors === true) {
    out.push(["Access-Control-Allow-Origin", "*"]);
    out.push([
      "Access-Control-Allow-Headers",
      "Origin, X-Requested-With, Content-Type, Accept, Range",
    ]);
  }
  return out;
}

function failure(
  status: number,
  message: string,
  extra: Array<[string, string]>,
  headers: Array<[string, string]> = [],
): StaticResult {
  return { status, headers: [...headers, ...extra], body: null, message };
}

function isInside(root: string, path: string): boolean {
  return path === root ||
    path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Applies the symlink policy; throws StaticFsError(404) when refused. */
async function checkSymlinks(
  root: string,
  segments: readonly string[],
  policy: SymlinkPolicy,
): Promise<void> {
  if (policy === "follow") return;
  let realRoot: string;
  let real: string;
  try {
    realRoot = await Deno.realPath(root);
    real = await Deno.realPath(join(root, ...segments));
  } catch (err) {
    fsError(err);
  }
  const ok = policy === "within-root"
    ? isInside(realRoot, real)
    : real === join(realRoot, ...segments);
  if (!ok) throw new StaticFsError(404);
}

function splitTarget(
  target: string,
): { path: string; query: string; display: string } {
  let t = target;
  const hash = t.indexOf("#");
  if (hash >= 0) t = t.slice(0, hash);
  if (!t.startsWith("/")) {
    // absolute-form (RFC 9112 §3.2.2), e.g. from a proxy-style request.
    try {
      const url = new URL(t);
      t = url.pathname + url.search;
    } catch {
      t = "/" + t;
    }
  }
  // "//evil.example/" must not become a protocol-relative Location
  // (CVE-2021-28861); Python 3.11 collapses leading slashes the same way.
  if (t.startsWith("//")) t = "/" + t.replace(/^\/+/, "");
  const q = t.indexOf("?");
  return q < 0
    ? { path: t, query: "", display: t }
    : { path: t.slice(0, q), query: t.slice(q + 1), display: t };
}

function normaliseUrlRoot(urlRoot: string | undefined): string {
  if (urlRoot === undefined) return "";
  const trimmed = urlRoot.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "" : "/" + trimmed;
}

/**
 * Answers a GET or HEAD for a path under a directory: the one static file
 * implementation behind `serveDir()` and `SimpleHTTPRequestHandler`. Other
 * methods get 405 with `Allow: GET, HEAD`. Errors come back as results
 * (`message` set, `body` null) for 400, 403, 404, 405, 412 and 416; other
 * file system failures are thrown.
 *
 * @param request method, raw target and a header getter
 * @param options root directory and behaviour
 * @returns status, ordered headers and body
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveStatic } from "./static.ts";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/a.txt`, "hello");
 * const res = await resolveStatic(
 *   { method: "GET", target: "/a.txt", header: () => null },
 *   { fsRoot: root },
 * );
 * assert.equal(res.status, 200);
 * assert.deepEqual(res.headers[0], ["Content-type", "text/plain; charset=utf-8"]);
 * assert.deepEqual(res.body, new TextEncoder().encode("hello"));
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function resolveStatic(
  request: StaticRequest,
  options: ServeDirOptions,
): Promise<StaticResult> {
  const extra = extraHeaders(options);
  const { method, header } = request;
  if (method !== "GET" && method !== "HEAD") {
    return failure(405, "Method not allowed", extra, [["Allow", "GET, HEAD"]]);
  }
  const { path, query, display } = splitTarget(request.target);
  const urlRoot = normaliseUrlRoot(options.urlRoot);
  if (
    urlRoot !== "" && path !== urlRoot && !path.startsWith(urlRoot + "/")
  ) {
    return failure(404, "File not found", extra);
  }
  const parsed = resolveUrlPath(path.slice(urlRoot.length), IS_WINDOWS);
  if (!parsed.ok) return failure(400, parsed.reason, extra);
  const root = resolve(options.fsRoot);
  const fsPath = join(root, ...parsed.segments);
  // Defence in depth: resolveUrlPath already removed every "..".
  if (!isInside(root, fsPath)) return failure(404, "File not found", extra);
  const policy = options.symlinks ?? "within-root";
  try {
    await checkSymlinks(root, parsed.segments, policy);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(fsPath);
    } catch (err) {
      fsError(err);
    }
    if (info.isDirectory) {
      if (!path.endsWith("/")) {
        // Python: redirect like Apache, keeping the query.
        const location = path + "/" + (query === "" ? "" : "?" + query);
        return {
          status: 301,
          headers: [["Location", location], ["Content-Length", "0"], ...extra],
          body: null,
          message: null,
        };
      }
      if (options.showIndex !== false) {
        for (const name of INDEX_FILES) {
          const segments = [...parsed.segments, name];
          const indexPath = join(root, ...segments);
          const indexInfo = await Deno.stat(indexPath).catch(() => null);
          if (indexInfo?.isFile !== true) continue;
          // An index the symlink policy refuses counts as absent.
          const allowed = await checkSymlinks(root, segments, policy).then(
            () => true,
            () => false,
          );
          if (!allowed) continue;
          return await fileResult(method, header, indexPath, options, extra);
        }
      }
      if (options.showDirListing === false) {
        return failure(404, "File not found", extra);
      }
      return await listingResult(method, display, fsPath, extra);
    }
    // Python (Issue17324): "file.txt/" is not the file.
    if (!info.isFile || parsed.trailingSlash) {
      return failure(404, "File not found", extra);
    }
    return await fileResult(method, header, fsPath, options, extra);
  } catch (err) {
    if (err instanceof StaticFsError) {
      return failure(err.status, err.message, extra);
    }
    throw err;
  }
}

async function listingResult(
  method: string,
  display: string,
  dirPath: string,
  extra: Array<[string, string]>,
): Promise<StaticResult> {
  const entries: ListingEntry[] = [];
  try {
    for await (const e of Deno.readDir(dirPath)) {
      let isDirectory = e.isDirectory;
      if (e.isSymlink) {
        // Python's os.path.isdir follows the link; a dangling one is no dir.
        const target = await Deno.stat(join(dirPath, e.name)).catch(() => null);
        isDirectory = target?.isDirectory === true;
      }
      entries.push({ name: e.name, isDirectory, isSymlink: e.isSymlink });
    }
  } catch (err) {
    // Python answers 404 "No permission to list directory" here; a Web
    // server says 403.
    fsError(err);
  }
  const html = encoder.encode(renderListing(display, sortLikePython(entries)));
  return {
    status: 200,
    headers: [
      ["Content-type", "text/html; charset=utf-8"],
      ["Content-Length", String(html.length)],
      ...extra,
    ],
    body: method === "HEAD" ? null : html,
    message: null,
  };
}

async function fileResult(
  method: string,
  header: HeaderGetter,
  filePath: string,
  options: ServeFileOptions,
  extra: Array<[string, string]>,
): Promise<StaticResult> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(filePath, { read: true });
  } catch (err) {
    fsError(err);
  }
  let owned = false; // true once a stream owns (and will close) the file
  try {
    // fstat the open file, like Python: size and mtime match what is read.
    const stat = await file.stat();
    if (!stat.isFile) throw new StaticFsError(404);
    const size = stat.size;
    const mtimeMs = stat.mtime?.getTime() ?? null;
    const lastModifiedMs = mtimeMs === null
      ? null
      : Math.floor(mtimeMs / 1000) * 1000;
    const etagMode = options.etag ?? true;
    const etag = etagMode === false || mtimeMs === null
      ? null
      : makeEtag(size, mtimeMs, etagMode === "weak");
    const validators = { etag, lastModifiedMs };
    const validatorHeaders: Array<[string, string]> = [];
    if (lastModifiedMs !== null) {
      validatorHeaders.push(["Last-Modified", formatHttpDate(lastModifiedMs)]);
    }
    if (etag !== null) validatorHeaders.push(["ETag", etag]);

    const precondition = evaluatePreconditions(header, validators);
    if (precondition === "failed") {
      return failure(412, "Precondition failed", extra);
    }
    if (precondition === "not-modified") {
      // RFC 9110 §15.4.5: a 304 carries the validators a 200 would.
      return {
        status: 304,
        headers: [...validatorHeaders, ...extra],
        body: null,
        message: null,
      };
    }

    const contentType = (options.contentType ?? contentTypeFor)(filePath);
    let status = 200;
    let type = contentType;
    let length = size;
    let segments: BodySegment[] = [{ kind: "file", start: 0, end: size }];
    const rangeHeaders: Array<[string, string]> = [];
    const range = header("range");
    const ifRange = header("if-range");
    // RFC 9110 §14.2: range handling is defined for GET only.
    if (
      method === "GET" && range !== null &&
      (ifRange === null || ifRangeMatches(ifRange, validators))
    ) {
      const request = parseRange(range, size);
      if (request.kind === "unsatisfiable") {
        return failure(416, "Range not satisfiable", extra, [
          ["Content-Range", `bytes */${size}`],
          ["Accept-Ranges", "bytes"],
          ...validatorHeaders,
        ]);
      }
      if (request.kind === "ranges") {
        status = 206;
        const ranges = request.ranges;
        if (ranges.length === 1) {
          const { start, end } = ranges[0]!;
          segments = [{ kind: "file", start, end: end + 1 }];
          length = end - start + 1;
          rangeHeaders.push(["Content-Range", `bytes ${start}-${end}/${size}`]);
        } else {
          const boundary = randomBoundary();
          const layout = layoutMultipart(ranges, size, contentType, boundary);
          segments = layout.segments;
          length = layout.length;
          type = `multipart/byteranges; boundary=${boundary}`;
        }
      }
    }
    const headers: Array<[string, string]> = [
      // Python's spelling and order, so the Python face matches it.
      ["Content-type", type],
      ["Content-Length", String(length)],
      ...validatorHeaders,
      ["Accept-Ranges", "bytes"],
      ...rangeHeaders,
      ...extra,
    ];
    let body: StaticResult["body"] = null;
    if (method !== "HEAD") {
      if (length <= INLINE_MAX_BYTES) {
        body = await readSegments(file, segments, length);
      } else {
        body = streamSegments(file, segments);
        owned = true;
      }
    }
    return { status, headers, body, message: null };
  } finally {
    if (!owned) file.close();
  }
}

function randomBoundary(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function shrank(): Error {
  return new Error("Cannot send file: it became shorter while being read");
}

async function readSegments(
  file: Deno.FsFile,
  segments: readonly BodySegment[],
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(length);
  let at = 0;
  for (const seg of segments) {
    if (seg.kind === "bytes") {
      out.set(seg.bytes, at);
      at += seg.bytes.length;
      continue;
    }
    await file.seek(seg.start, Deno.SeekMode.Start);
    const stop = at + seg.end - seg.start;
    while (at < stop) {
      const n = await file.read(out.subarray(at, stop));
      if (n === null) throw shrank();
      at += n;
    }
  }
  return out;
}

/**
 * A pull stream over the segments: one read of at most STATIC_CHUNK_BYTES
 * per pull and nothing read ahead (highWaterMark 0), so memory stays
 * constant whatever the file size. The file is closed after the last
 * byte, on error, or when the consumer cancels.
 */
function streamSegments(
  file: Deno.FsFile,
  segments: readonly BodySegment[],
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let index = 0;
  let pos = -1; // file offset within the current file segment, -1 = not seeked
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  // Steps past finished segments; true when the body is complete.
  const advance = (): boolean => {
    for (;;) {
      const seg = segments[index];
      if (seg === undefined) return true;
      if (seg.kind !== "file" || pos < seg.end) return false;
      index++;
      pos = -1;
    }
  };
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      try {
        if (advance()) {
          close();
          controller.close();
          return;
        }
        const seg = segments[index]!;
        if (seg.kind === "bytes") {
          index++;
          controller.enqueue(seg.bytes);
        } else {
          if (pos < 0) {
            await file.seek(seg.start, Deno.SeekMode.Start);
            pos = seg.start;
          }
          const buf = new Uint8Array(
            Math.min(STATIC_CHUNK_BYTES, seg.end - pos),
          );
          const n = await file.read(buf);
          if (n === null) throw shrank();
          pos += n;
          controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
        }
        if (advance()) {
          close();
          controller.close();
        }
      } catch (err) {
        close();
        controller.error(err);
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}

function toResponse(result: StaticResult, method: string): Response {
  const headers = new Headers(result.headers);
  let body = result.body;
  if (result.message !== null && method !== "HEAD") {
    const text = encoder.encode(result.message + "\n");
    headers.set("content-type", "text/plain; charset=utf-8");
    headers.set("content-length", String(text.length));
    body = text;
  }
  return new Response(body, { status: result.status, headers });
}

/**
 * Serves files under `fsRoot` for a Web `Request`, like Python's
 * `SimpleHTTPRequestHandler`: index.html, an HTML listing, 301 to add a
 * directory's slash, conditional requests, ranges and HEAD. See the module
 * doc for path safety and the symlink policy. Error responses have a short
 * text/plain body without file system paths.
 *
 * @param req the request (its URL path and headers are used)
 * @param options `fsRoot` and behaviour
 * @returns the response; a streamed body holds the file open until read
 * to the end or cancelled
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveDir } from "./static.ts";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/index.html`, "<h1>hi</h1>");
 * const res = await serveDir(new Request("http://localhost/"), {
 *   fsRoot: root,
 * });
 * assert.equal(res.status, 200);
 * assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
 * assert.equal(await res.text(), "<h1>hi</h1>");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function serveDir(
  req: Request,
  options: ServeDirOptions,
): Promise<Response> {
  const url = new URL(req.url);
  const result = await resolveStatic({
    method: req.method,
    target: url.pathname + url.search,
    header: (name) => req.headers.get(name),
  }, options);
  return toResponse(result, req.method);
}

/**
 * Serves one file for a Web `Request`, with the same conditional, range
 * and HEAD handling as `serveDir()`; no path checks (the caller chose the
 * path), symbolic links followed. 404 when it is missing or not a file.
 *
 * @param req the request (its method and headers are used)
 * @param filePath the file to send
 * @param options headers, CORS, ETag and Content-Type choices
 * @returns the response
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveFile } from "./static.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, '{"a":1}');
 * const res = await serveFile(
 *   new Request("http://localhost/", { headers: { range: "bytes=1-3" } }),
 *   path,
 * );
 * assert.equal(res.status, 206);
 * assert.equal(res.headers.get("content-range"), "bytes 1-3/7");
 * assert.equal(await res.text(), '"a"');
 * await Deno.remove(path);
 * ```
 */
export async function serveFile(
  req: Request,
  filePath: string,
  options: ServeFileOptions = {},
): Promise<Response> {
  const extra = extraHeaders(options);
  const header: HeaderGetter = (name) => req.headers.get(name);
  let result: StaticResult;
  if (req.method !== "GET" && req.method !== "HEAD") {
    result = failure(405, "Method not allowed", extra, [[
      "Allow",
      "GET, HEAD",
    ]]);
  } else {
    try {
      result = await fileResult(req.method, header, filePath, options, extra);
    } catch (err) {
      if (!(err instanceof StaticFsError)) throw err;
      result = failure(err.status, err.message, extra);
    }
  }
  return toResponse(result, req.method);
}

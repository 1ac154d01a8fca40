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
 * 400; the joined path is checked to lie inside `fsRoot`. A `translatePath`
 * hook (`resolveStatic()` only; `SimpleHTTPRequestHandler.translate_path`)
 * replaces these checks: its result is trusted like Python's, except that a
 * path with NUL is still refused with 400.
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
import { ProtocolError } from "../http1/errors.ts";
import { contentTypeFor } from "./_mime.ts";
import {
  isInside,
  type LocatedPath,
  locateUrlPath,
  segmentsBelow,
  splitTarget,
} from "./_static_path.ts";
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
  /** Serve an index page (see `indexPages`) for a directory (true). */
  showIndex?: boolean;
  /** Index page names, tried in order (["index.html", "index.htm"]). */
  indexPages?: readonly string[];
  /** Symbolic link policy (default "within-root"). */
  symlinks?: SymlinkPolicy;
}

/**
 * Options of `resolveStatic()`: `serveDir()`'s plus the hooks through which
 * `SimpleHTTPRequestHandler` lets a subclass override `translate_path` and
 * `list_directory` (its `guess_type` arrives as `contentType`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveStatic } from "./static.ts";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/v2.txt`, "second");
 * const res = await resolveStatic(
 *   { method: "GET", target: "/latest", header: () => null },
 *   { fsRoot: root, translatePath: () => `${root}/v2.txt` },
 * );
 * assert.deepEqual(res.body, new TextEncoder().encode("second"));
 * const nul = await resolveStatic(
 *   { method: "GET", target: "/x", header: () => null },
 *   { fsRoot: root, translatePath: () => `${root}/v2.txt\0` },
 * );
 * assert.equal(nul.status, 400);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export interface ResolveStaticOptions extends ServeDirOptions {
  /**
   * Maps the raw request target (path and query, still encoded) to a file
   * system path, replacing the URL checks and `urlRoot`. The result is
   * trusted, except that NUL is refused with 400; a trailing "/" means the
   * URL named a directory (a file there is 404). The symlink policy applies
   * to results inside `fsRoot`; paths elsewhere are served as given. Throw
   * `ProtocolError` to answer its `statusHint` (e.g. 400), or a
   * `Deno.errors.NotFound` / `PermissionDenied` to answer 404 / 403.
   */
  translatePath?: (target: string) => string;
  /**
   * Answers for a directory without an index page (when `showDirListing`
   * is not false); default `resolveListing()`.
   */
  listDirectory?: (dirPath: string) => Promise<StaticResult>;
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
const INDEX_PAGES: readonly string[] = ["index.html", "index.htm"];
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

// Deno checks FsFile.stat() against the file's resolved path: under a
// directory reached through a symlink, with --allow-read granted on the
// link's path, the open succeeds and the fstat is refused (NotCapable).
// The path's own stat is allowed, and names the same file.
async function statOpenFile(
  file: Deno.FsFile,
  filePath: string,
): Promise<Deno.FileInfo> {
  try {
    return await file.stat();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable)) throw err;
    return await Deno.stat(filePath);
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

/**
 * Answers a GET or HEAD for a path under a directory: the one static file
 * implementation behind `serveDir()` and `SimpleHTTPRequestHandler`. Other
 * methods get 405 with `Allow: GET, HEAD`. Errors come back as results
 * (`message` set, `body` null) for 400, 403, 404, 405, 412 and 416; other
 * file system failures are thrown.
 *
 * @param request method, raw target and a header getter
 * @param options root directory, behaviour and hooks
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
  options: ResolveStaticOptions,
): Promise<StaticResult> {
  const extra = extraHeaders(options);
  const { method, header } = request;
  if (method !== "GET" && method !== "HEAD") {
    return failure(405, "Method not allowed", extra, [["Allow", "GET, HEAD"]]);
  }
  const { path, query } = splitTarget(request.target);
  const root = resolve(options.fsRoot);
  const located = options.translatePath === undefined
    ? locateUrlPath(path, root, options.urlRoot, IS_WINDOWS)
    : translateWith(options.translatePath, request.target);
  if (!located.ok) return failure(located.status, located.reason, extra);
  const { fsPath, trailingSlash } = located;
  // null: a translatePath hook chose a path outside the root; it is trusted
  // and no symlink policy applies to it.
  const below = segmentsBelow(root, fsPath);
  const policy = options.symlinks ?? "within-root";
  const allowed = async (segments: readonly string[] | null) => {
    if (segments !== null) await checkSymlinks(root, segments, policy);
  };
  try {
    await allowed(below);
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
        for (const name of options.indexPages ?? INDEX_PAGES) {
          const indexPath = join(fsPath, name);
          const indexInfo = await Deno.stat(indexPath).catch(() => null);
          if (indexInfo?.isFile !== true) continue;
          // An index the symlink policy refuses counts as absent.
          const ok = await allowed(below && [...below, name]).then(
            () => true,
            () => false,
          );
          if (!ok) continue;
          return await fileResult(method, header, indexPath, options, extra);
        }
      }
      if (options.showDirListing === false) {
        return failure(404, "File not found", extra);
      }
      if (options.listDirectory !== undefined) {
        return await options.listDirectory(fsPath);
      }
      return await listingResult(request, fsPath, extra);
    }
    // Python (Issue17324): "file.txt/" is not the file.
    if (!info.isFile || trailingSlash) {
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

/** Runs a translatePath hook; its refusals become 400 / 403 / 404. */
function translateWith(
  translatePath: (target: string) => string,
  target: string,
): LocatedPath {
  let fsPath: string;
  try {
    fsPath = translatePath(target);
  } catch (err) {
    if (err instanceof ProtocolError) {
      return { ok: false, status: err.statusHint, reason: err.message };
    }
    const status = fsErrorStatus(err);
    if (status === null) throw err;
    return { ok: false, status, reason: new StaticFsError(status).message };
  }
  // Trusted, but a NUL would reach the OS as a truncated path: refuse it.
  if (fsPath.includes("\0")) {
    return { ok: false, status: 400, reason: "NUL byte in path" };
  }
  if (fsPath === "") {
    return { ok: false, status: 404, reason: "File not found" };
  }
  return {
    ok: true,
    fsPath: resolve(fsPath),
    trailingSlash: fsPath.endsWith("/") || fsPath.endsWith(sep),
  };
}

/**
 * The directory listing answer `resolveStatic()` gives by default: Python's
 * HTML page (200; no body for HEAD), or 403 / 404 when the directory
 * cannot be read. Hooks (`listDirectory`) can call it to wrap the default.
 *
 * @param request method and raw target (the page is titled with the target)
 * @param dirPath the directory to list
 * @param options extra headers and CORS, as for `serveFile()`
 * @returns status, ordered headers and body
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveListing } from "./static.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "a");
 * const res = await resolveListing(
 *   { method: "GET", target: "/files/", header: () => null },
 *   dir,
 * );
 * assert.equal(res.status, 200);
 * const html = new TextDecoder().decode(res.body as Uint8Array);
 * assert.ok(html.includes("<title>Directory listing for /files/</title>"));
 * assert.ok(html.includes('<li><a href="a.txt">a.txt</a></li>'));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function resolveListing(
  request: StaticRequest,
  dirPath: string,
  options: ServeFileOptions = {},
): Promise<StaticResult> {
  const extra = extraHeaders(options);
  try {
    return await listingResult(request, dirPath, extra);
  } catch (err) {
    if (err instanceof StaticFsError) {
      return failure(err.status, err.message, extra);
    }
    throw err;
  }
}

async function listingResult(
  request: StaticRequest,
  dirPath: string,
  extra: Array<[string, string]>,
): Promise<StaticResult> {
  const { method } = request;
  const { display } = splitTarget(request.target);
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
    const stat = await statOpenFile(file, filePath);
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
  if (result.message !== null) {
    const text = encoder.encode(result.message + "\n");
    headers.set("content-type", "text/plain; charset=utf-8");
    // HEAD gets the headers GET would, body length included, and no body
    // (RFC 9110 §9.3.2, §8.6), as for files.
    headers.set("content-length", String(text.length));
    body = method === "HEAD" ? null : text;
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

/**
 * `SimpleHTTPRequestHandler`: Python's static file handler, on the same
 * implementation as `serveDir()` (`resolveStatic()` in `static.ts`), with
 * Python's overridable hooks: `send_head`, `translate_path`, `guess_type`
 * and `extensions_map`, `index_pages`, `list_directory` and `copyfile`.
 *
 * @module
 */

import { resolve } from "node:path";
import { ProtocolError } from "../http1/errors.ts";
import { contentTypeFor, extensionOf } from "./_mime.ts";
import { ERROR_HEADERS } from "./_python_symbols.ts";
import type { WFile } from "./_python_wfile.ts";
import { locateUrlPath, splitTarget } from "./_static_path.ts";
import { BaseHTTPRequestHandler } from "./request_handler.ts";
import {
  resolveListing,
  resolveStatic,
  type ServeDirOptions,
  type StaticRequest,
  type StaticResult,
} from "./static.ts";

/** Options of {@linkcode SimpleHTTPRequestHandler.partial}. */
export interface SimpleHandlerOptions
  extends Omit<ServeDirOptions, "fsRoot" | "indexPages"> {
  /** Directory to serve (default: the current working directory). */
  directory?: string;
}

/**
 * What `send_head()` and `list_directory()` return once the head is sent:
 * Python's file object. Bytes, or a stream that owns an open file (read it
 * to the end or cancel it, which closes the file); null when there is
 * nothing to copy (errors, redirects, 304, HEAD).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SimpleHandlerBody } from "./simple_request_handler.ts";
 *
 * const body: SimpleHandlerBody = new TextEncoder().encode("<p>hi</p>");
 * assert.equal(body instanceof Uint8Array, true);
 * ```
 */
export type SimpleHandlerBody = Uint8Array | ReadableStream<Uint8Array>;

const IS_WINDOWS = Deno.build.os === "windows";
const EXTENSIONS_MAP: Readonly<Record<string, string>> = Object.freeze({
  // Python's _encodings_map_default: compressed files are sent as such,
  // never as the type of what they contain.
  ".gz": "application/gzip",
  ".Z": "application/octet-stream",
  ".bz2": "application/x-bzip2",
  ".xz": "application/x-xz",
});
const INDEX_PAGES: readonly string[] = Object.freeze([
  "index.html",
  "index.htm",
]);
// What the listDirectory hook hands back once list_directory() has sent the
// head itself; send_head() never sends it.
const LISTED: StaticResult = {
  status: 200,
  headers: [],
  body: null,
  message: null,
};

async function closeBody(body: SimpleHandlerBody): Promise<void> {
  // A finished stream ignores cancel(); a still-locked one rejects: ignore.
  if (body instanceof ReadableStream) await body.cancel().catch(() => {});
}

/**
 * Python's `http.server.SimpleHTTPRequestHandler`: answers GET and HEAD
 * with files under `directory` (index.html, Python's HTML listing, 301 for
 * a directory without its slash, `Last-Modified` / `If-Modified-Since`),
 * plus what `serveDir()` adds (ETag, Range, symlink policy; see
 * `static.ts`). Other methods get 501, as in Python.
 *
 * Python passes the directory with `functools.partial(Handler,
 * directory=...)`; here use `SimpleHTTPRequestHandler.partial({ directory })`
 * or a subclass that sets `directory`.
 *
 * Override the same methods as in Python (CPython 3.12 `http/server.py`):
 * `translate_path(path)` (URL → file path), `guess_type(path)` and
 * `extensions_map` (Content-Type), `index_pages`, `list_directory(path)`
 * (the page for a directory without an index), `send_head()` and
 * `copyfile(source, outputfile)`. Those that do I/O return Promises.
 *
 * @example Usage
 * ```ts ignore
 * import { SimpleHTTPRequestHandler, ThreadingHTTPServer } from "../mod.ts";
 *
 * const Handler = SimpleHTTPRequestHandler.partial({ directory: "./public" });
 * const httpd = new ThreadingHTTPServer(["127.0.0.1", 8000], Handler);
 * await httpd.serve_forever();
 * ```
 *
 * @example Overriding hooks
 * ```ts
 * import assert from "node:assert/strict";
 * import { SimpleHTTPRequestHandler } from "./simple_request_handler.ts";
 *
 * class Handler extends SimpleHTTPRequestHandler {
 *   override directory = "./public";
 *   override extensions_map = {
 *     ...SimpleHTTPRequestHandler.extensions_map,
 *     ".md": "text/markdown",
 *   };
 *   override index_pages = ["index.md", "index.html"];
 *   override translate_path(path: string): string {
 *     // "/v1/x" serves "./public/x".
 *     return super.translate_path(path.replace(/^\/v1(?=\/)/, ""));
 *   }
 * }
 * assert.ok(Handler.prototype instanceof SimpleHTTPRequestHandler);
 * ```
 */
export class SimpleHTTPRequestHandler extends BaseHTTPRequestHandler {
  /** Python: "SimpleHTTP/" + `http.server.__version__`. */
  override server_version = "SimpleHTTP/0.6";
  /** Directory to serve; empty means the current working directory. */
  directory = "";
  /** Options passed on to the static file implementation. */
  staticOptions: Omit<ServeDirOptions, "fsRoot" | "indexPages"> = {};
  /**
   * Python's class attribute: extension (with its dot) → Content-Type,
   * `.gz`, `.Z`, `.bz2` and `.xz` as in Python. Each handler copies its
   * class's map into `extensions_map`, so a subclass may override either.
   */
  static extensions_map: Readonly<Record<string, string>> = EXTENSIONS_MAP;
  /**
   * Extension (with its dot) → Content-Type, consulted by `guess_type()`
   * before the built-in table: first as written, then lower-cased. Extend
   * it with `override extensions_map = { ...SimpleHTTPRequestHandler
   * .extensions_map, ".md": "text/markdown" }`.
   */
  extensions_map: Readonly<Record<string, string>> =
    (this.constructor as typeof SimpleHTTPRequestHandler).extensions_map;
  /** Index page names tried in order for a directory (Python 3.12). */
  index_pages: readonly string[] = INDEX_PAGES;

  /**
   * A subclass with `directory` and static options set: Python's
   * `functools.partial(SimpleHTTPRequestHandler, directory=...)`.
   *
   * @param options The directory and `serveDir()` options.
   * @returns A handler class to give the server.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { SimpleHTTPRequestHandler } from "./simple_request_handler.ts";
   *
   * const Handler = SimpleHTTPRequestHandler.partial({ directory: "/srv", showDirListing: false });
   * assert.ok(Handler.prototype instanceof SimpleHTTPRequestHandler);
   * ```
   */
  static partial<T extends typeof SimpleHTTPRequestHandler>(
    this: T,
    options: SimpleHandlerOptions,
  ): T {
    const { directory, ...staticOptions } = options;
    const Base = this as typeof SimpleHTTPRequestHandler;
    const Partial = class extends Base {
      constructor(...args: ConstructorParameters<typeof Base>) {
        super(...args);
        if (directory !== undefined) this.directory = directory;
        this.staticOptions = { ...this.staticOptions, ...staticOptions };
      }
    };
    return Partial as unknown as T;
  }

  /** Sends the file, index page or listing for `path`. */
  async do_GET(): Promise<void> {
    const body = await this.send_head();
    if (body === null) return;
    try {
      await this.copyfile(body, this.wfile);
    } finally {
      await closeBody(body);
    }
  }

  /** Same as GET without the body. */
  async do_HEAD(): Promise<void> {
    const body = await this.send_head();
    if (body !== null) await closeBody(body);
  }

  /**
   * Common code for GET and HEAD, as in Python: sends the status and
   * headers (or the error page) and returns the body for `copyfile()`, or
   * null when there is nothing more to send. Calls `translate_path()`,
   * `guess_type()`, `list_directory()` and reads `index_pages`.
   *
   * @returns The body to copy (the caller must close it), or null.
   *
   * @example Usage
   * ```ts ignore
   * import { SimpleHTTPRequestHandler } from "../mod.ts";
   *
   * class Handler extends SimpleHTTPRequestHandler {
   *   // Everything under /private answers 403 before any file is touched.
   *   override async send_head() {
   *     if (this.path.startsWith("/private")) {
   *       this.send_error(403);
   *       return null;
   *     }
   *     return await super.send_head();
   *   }
   * }
   * ```
   */
  async send_head(): Promise<SimpleHandlerBody | null> {
    const listing = { done: false, body: null as SimpleHandlerBody | null };
    const result = await resolveStatic(this.#staticRequest(), {
      ...this.staticOptions,
      fsRoot: this.directory || Deno.cwd(),
      indexPages: this.index_pages,
      contentType: (path) => this.guess_type(path),
      translatePath: (target) => this.translate_path(target),
      listDirectory: async (dirPath) => {
        listing.body = await this.list_directory(dirPath);
        listing.done = true;
        return LISTED;
      },
    });
    if (listing.done) return listing.body;
    return this.#sendResult(result);
  }

  /**
   * Sends the page for a directory without an index page, as in Python:
   * it sends the head itself (with `send_response`, `send_header`,
   * `end_headers`, or `send_error`) and returns the body to copy, or null.
   * The default is Python's HTML listing, byte for byte; 403 or 404 when
   * the directory cannot be read.
   *
   * @param path The directory, as `translate_path()` returned it.
   * @returns The body to copy (the caller closes it), or null.
   *
   * @example Usage
   * ```ts ignore
   * import { SimpleHTTPRequestHandler } from "../mod.ts";
   *
   * class Handler extends SimpleHTTPRequestHandler {
   *   override async list_directory(path: string) {
   *     const names: string[] = [];
   *     for await (const entry of Deno.readDir(path)) names.push(entry.name);
   *     const body = new TextEncoder().encode(JSON.stringify(names.sort()));
   *     this.send_response(200);
   *     this.send_header("Content-type", "application/json");
   *     this.send_header("Content-Length", body.length);
   *     this.end_headers();
   *     return body;
   *   }
   * }
   * ```
   */
  async list_directory(path: string): Promise<SimpleHandlerBody | null> {
    const result = await resolveListing(
      this.#staticRequest(),
      path,
      this.staticOptions,
    );
    return this.#sendResult(result);
  }

  /**
   * Maps the request path (`this.path`: path and query, still encoded) to
   * a file system path under `directory`, as Python does; a trailing "/"
   * is kept (a file there is 404). The default keeps every check of
   * `serveDir()`: it decodes once, drops ".", ".." and empty segments
   * (never leaving `directory`), honours `urlRoot`, and throws a
   * `ProtocolError` (answered 400) for NUL, backslash or malformed
   * encoding, or `Deno.errors.NotFound` (404) outside `urlRoot`.
   *
   * An override is trusted, like Python's: its path may lie anywhere
   * (outside `directory` no symlink policy applies), but one with NUL is
   * refused with 400. It may throw `ProtocolError` or
   * `Deno.errors.NotFound` / `PermissionDenied` to answer 400 / 404 / 403.
   *
   * @param path The request path, e.g. "/docs/a%20b.txt?x=1".
   * @returns The file system path.
   * @throws {ProtocolError} When the path is malformed or holds NUL or "\".
   *
   * @example Usage
   * ```ts ignore
   * import { SimpleHTTPRequestHandler } from "../mod.ts";
   *
   * class Handler extends SimpleHTTPRequestHandler {
   *   override translate_path(path: string): string {
   *     // "/assets/*" comes from another directory.
   *     if (path.startsWith("/assets/")) {
   *       return "/opt/assets/" + path.slice(8).split(/[?#]/)[0];
   *     }
   *     return super.translate_path(path);
   *   }
   * }
   * ```
   */
  translate_path(path: string): string {
    const root = resolve(this.directory || Deno.cwd());
    const { path: urlPath } = splitTarget(path);
    const located = locateUrlPath(
      urlPath,
      root,
      this.staticOptions.urlRoot,
      IS_WINDOWS,
    );
    if (!located.ok) {
      if (located.status === 400) {
        throw new ProtocolError(located.reason, "BAD_TARGET", 400);
      }
      throw new Deno.errors.NotFound(located.reason);
    }
    return located.trailingSlash ? located.fsPath + "/" : located.fsPath;
  }

  /**
   * The Content-Type for a file path, as in Python: `extensions_map` by
   * extension as written, then lower-cased, then the built-in table
   * (mime-db, text types with `; charset=utf-8`; or the `contentType`
   * option), else `application/octet-stream`.
   *
   * @param path The file path `translate_path()` gave (or an index page).
   * @returns A Content-Type value.
   *
   * @example Usage
   * ```ts ignore
   * import { SimpleHTTPRequestHandler } from "../mod.ts";
   *
   * class Handler extends SimpleHTTPRequestHandler {
   *   override guess_type(path: string): string {
   *     return path.endsWith(".log") ? "text/plain; charset=latin-1" : super.guess_type(path);
   *   }
   * }
   * ```
   */
  guess_type(path: string): string {
    const ext = extensionOf(path);
    const map = this.extensions_map;
    if (Object.hasOwn(map, ext)) return map[ext]!;
    const lower = ext.toLowerCase();
    if (Object.hasOwn(map, lower)) return map[lower]!;
    return (this.staticOptions.contentType ?? contentTypeFor)(path);
  }

  /**
   * Copies a body from `send_head()` to `outputfile` (`wfile`), as
   * Python's `shutil.copyfileobj`: bytes at once, a stream chunk by chunk,
   * awaiting each write so memory stays flat. The caller closes `source`.
   *
   * @param source The body to copy.
   * @param outputfile Where to write, usually `this.wfile`.
   * @returns Resolves once every chunk was queued.
   *
   * @example Usage
   * ```ts
   * import assert from "node:assert/strict";
   * import { SimpleHTTPRequestHandler } from "./simple_request_handler.ts";
   *
   * const written: string[] = [];
   * const out = { write: (b: Uint8Array) => written.push(new TextDecoder().decode(b)) };
   * const source = ReadableStream.from([new TextEncoder().encode("a"), new TextEncoder().encode("b")]);
   * await SimpleHTTPRequestHandler.prototype.copyfile(source, out);
   * assert.deepEqual(written, ["a", "b"]);
   * ```
   */
  async copyfile(
    source: SimpleHandlerBody,
    outputfile: Pick<WFile, "write">,
  ): Promise<void> {
    if (source instanceof Uint8Array) {
      await outputfile.write(source);
      return;
    }
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        // Awaiting keeps memory flat: at most one queue of chunks in flight.
        await outputfile.write(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    } finally {
      reader.releaseLock();
    }
  }

  #staticRequest(): StaticRequest {
    const headers = this.headers;
    return {
      method: this.command,
      target: this.path,
      header: (name) => headers.get_all(name)?.join(", ") ?? null,
    };
  }

  // Sends a result's head (or Python's error page) and returns its body.
  async #sendResult(result: StaticResult): Promise<SimpleHandlerBody | null> {
    const body = result.body;
    if (result.status >= 400) {
      if (body instanceof ReadableStream) await body.cancel();
      // Python's error page, with the extra headers (Content-Range for 416,
      // CORS) before its blank line.
      this[ERROR_HEADERS] = result.headers.filter(([name]) => {
        const lower = name.toLowerCase();
        return lower !== "content-length" && lower !== "content-type";
      });
      try {
        this.send_error(result.status, result.message ?? undefined);
      } finally {
        this[ERROR_HEADERS] = [];
      }
      return null;
    }
    try {
      this.send_response(result.status);
      for (const [name, value] of result.headers) this.send_header(name, value);
      this.end_headers();
    } catch (error) {
      if (body instanceof ReadableStream) await body.cancel();
      throw error;
    }
    return body;
  }
}

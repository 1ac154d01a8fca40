/**
 * `SimpleHTTPRequestHandler`: Python's static file handler, on the same
 * implementation as `serveDir()` (`resolveStatic()` in `static.ts`).
 *
 * @module
 */

import { ERROR_HEADERS } from "./_python_symbols.ts";
import { BaseHTTPRequestHandler } from "./request_handler.ts";
import { resolveStatic, type ServeDirOptions } from "./static.ts";

/** Options of {@linkcode SimpleHTTPRequestHandler.partial}. */
export interface SimpleHandlerOptions extends Omit<ServeDirOptions, "fsRoot"> {
  /** Directory to serve (default: the current working directory). */
  directory?: string;
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
 * @example Usage
 * ```ts ignore
 * import { SimpleHTTPRequestHandler, ThreadingHTTPServer } from "../mod.ts";
 *
 * const Handler = SimpleHTTPRequestHandler.partial({ directory: "./public" });
 * const httpd = new ThreadingHTTPServer(["127.0.0.1", 8000], Handler);
 * await httpd.serve_forever();
 * ```
 */
export class SimpleHTTPRequestHandler extends BaseHTTPRequestHandler {
  /** Python: "SimpleHTTP/" + `http.server.__version__`. */
  override server_version = "SimpleHTTP/0.6";
  /** Directory to serve; empty means the current working directory. */
  directory = "";
  /** Options passed on to the static file implementation. */
  staticOptions: Omit<ServeDirOptions, "fsRoot"> = {};

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
    await this.#send();
  }

  /** Same as GET without the body. */
  async do_HEAD(): Promise<void> {
    await this.#send();
  }

  async #send(): Promise<void> {
    const headers = this.headers;
    const result = await resolveStatic({
      method: this.command,
      target: this.path,
      header: (name) => headers.get_all(name)?.join(", ") ?? null,
    }, { ...this.staticOptions, fsRoot: this.directory || Deno.cwd() });
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
      return;
    }
    try {
      this.send_response(result.status);
      for (const [name, value] of result.headers) this.send_header(name, value);
      this.end_headers();
    } catch (error) {
      if (body instanceof ReadableStream) await body.cancel();
      throw error;
    }
    if (body === null) return;
    if (this.command === "HEAD") {
      if (body instanceof ReadableStream) await body.cancel();
      return;
    }
    if (body instanceof Uint8Array) {
      await this.wfile.write(body);
      return;
    }
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        // Awaiting keeps memory flat: at most one queue of chunks in flight.
        await this.wfile.write(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    } finally {
      reader.releaseLock();
    }
  }
}

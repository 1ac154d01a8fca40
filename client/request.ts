/**
 * `request()`: a fetch-like call on h1's own pool, returning a Web
 * `Response` whose body streams from the socket. No `fetch` inside.
 *
 * @module
 */

import { HTTPException, InvalidURL, TooManyRedirects } from "./errors.ts";
import type { HTTPResponse } from "./http_response.ts";
import { Pool } from "./pool.ts";
import type { RequestBody } from "./_body.ts";
import type { HeadersInput } from "./http_connection.ts";

/** Options for {@linkcode request}. */
export interface ClientRequestInit {
  /** The method (default "GET"). */
  method?: string;
  /** Header fields. */
  headers?: HeadersInput;
  /** The body: text, bytes, a stream, an iterable, a Blob, URLSearchParams or a file. */
  body?: RequestBody | null;
  /**
   * "manual" (default, like `http.client`): a 3xx is returned as is.
   * "follow": follow up to `maxRedirects` redirects, then throw
   * `TooManyRedirects`. "error": throw on any redirect.
   */
  redirect?: "manual" | "follow" | "error";
  /** Most redirects followed with `redirect: "follow"` (default 20). */
  maxRedirects?: number;
  /** Aborts the whole exchange, body included: use `AbortSignal.timeout(ms)` for a total timeout. */
  signal?: AbortSignal;
  /** Time allowed to connect. */
  connectTimeoutMs?: number;
  /** Time allowed for the response head once the request is written. */
  headersTimeoutMs?: number;
  /** Time allowed between two reads of the body. */
  bodyTimeoutMs?: number;
  /** The pool to use (default: one shared pool for the process). */
  pool?: Pool;
  /**
   * With `redirect: "follow"`, called with each redirect response (its
   * head; the body is discarded afterwards) and the URL about to be
   * requested, before it is: to log the hops, as `curl -i -L` prints them.
   * A throw (or rejection) stops there and is what `request()` rejects
   * with.
   */
  onRedirect?: (response: HTTPResponse, next: URL) => void | Promise<void>;
}

let sharedPool: Pool | null = null;

/**
 * The pool `request()` uses when none is given.
 *
 * @returns The shared pool.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultPool } from "./request.ts";
 *
 * assert.equal(defaultPool(), defaultPool());
 * ```
 */
export function defaultPool(): Pool {
  return sharedPool ??= new Pool();
}

const ORIGINALS = new WeakMap<Response, HTTPResponse>();

/**
 * The `HTTPResponse` behind a `Response` from {@linkcode request}: the
 * version and the header fields as sent (names in their original case).
 *
 * @param response A response `request()` returned.
 * @returns The underlying response, or undefined for other responses.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { responseOf } from "./request.ts";
 *
 * assert.equal(responseOf(new Response("x")), undefined);
 * ```
 */
export function responseOf(response: Response): HTTPResponse | undefined {
  return ORIGINALS.get(response);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([204, 205, 304]);
const MAX_DRAIN_BYTES = 64 * 1024;
const EAGER_BODY_BYTES = 16 * 1024;

/**
 * Sends a request and returns a Web `Response` with a streamed body, like
 * `fetch` but over h1's pool: redirects are not followed unless asked,
 * errors are h1's typed errors, and connect, head and body-idle timeouts
 * are options (total time: `signal: AbortSignal.timeout(ms)`).
 *
 * @param url An absolute http: or https: URL.
 * @param init Method, headers, body, redirects, timeouts, pool.
 * @returns The response; read or cancel its body to free the connection.
 *
 * @example Usage
 * ```ts ignore
 * import { request } from "./request.ts";
 *
 * const response = await request("http://127.0.0.1:8080/", {
 *   redirect: "follow",
 *   headersTimeoutMs: 5000,
 *   signal: AbortSignal.timeout(30_000),
 * });
 * console.log(response.status, await response.text());
 * ```
 */
export async function request(
  url: string | URL,
  init: ClientRequestInit = {},
): Promise<Response> {
  const pool = init.pool ?? defaultPool();
  let current: URL;
  try {
    current = new URL(url);
  } catch (cause) {
    throw new InvalidURL(
      `Cannot parse URL ${JSON.stringify(String(url).slice(0, 64))}`,
      { cause },
    );
  }
  let method = normaliseMethod(init.method ?? "GET");
  if (method.toUpperCase() === "CONNECT") {
    // Fetch forbids it too: a 2xx to CONNECT is a tunnel, not a response.
    throw new TypeError(
      "Cannot send CONNECT with request(): use HTTPConnection.set_tunnel()",
    );
  }
  let headers: [string, string][] = fieldsOf(init.headers);
  // The Authorization value taken from the URL's user:pass@, if any.
  let fromUrl: string | null = null;
  [current, fromUrl] = takeCredentials(current, headers, fromUrl);
  let body = init.body ?? null;
  if (ArrayBuffer.isView(body)) {
    // As fetch: the bytes as they are now; the caller may reuse its buffer
    // before a connection is free to send them.
    body = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
      .slice();
  } else if (body instanceof ArrayBuffer) {
    body = new Uint8Array(body.slice(0));
  } else if (typeof body === "string" && !hasField(headers, "content-type")) {
    headers.push(["Content-Type", "text/plain;charset=UTF-8"]);
  }
  const limit = init.maxRedirects ?? 20;
  const signal = init.signal;
  for (let redirects = 0;; redirects++) {
    signal?.throwIfAborted();
    if (current.protocol !== "http:" && current.protocol !== "https:") {
      throw new InvalidURL(
        `Cannot request ${current.protocol} URLs: only http: and https:`,
      );
    }
    const response = await pool.request(current.origin, {
      method,
      path: requestTarget(current),
      headers,
      body,
      signal,
      connectTimeoutMs: init.connectTimeoutMs,
      headersTimeoutMs: init.headersTimeoutMs,
      bodyTimeoutMs: init.bodyTimeoutMs,
    });
    const location = locationOf(response);
    const mode = init.redirect ?? "manual";
    if (
      !REDIRECTS.has(response.status) || location === null || mode === "manual"
    ) {
      return await toWebResponse(response, current, redirects > 0, signal);
    }
    if (mode === "error") {
      response.close();
      throw new HTTPException(
        `Cannot follow redirect ${response.status} to "${
          location.slice(0, 64)
        }": redirect is "error"`,
      );
    }
    let next: URL;
    try {
      next = new URL(location, current);
    } catch (cause) {
      response.close();
      throw new InvalidURL(
        `Cannot follow redirect to ${JSON.stringify(location.slice(0, 64))}`,
        { cause },
      );
    }
    if (redirects >= limit) {
      response.close();
      throw new TooManyRedirects(next.href, limit);
    }
    if (init.onRedirect !== undefined) {
      try {
        await init.onRedirect(response, next);
      } catch (error) {
        response.close();
        throw error;
      }
    }
    await discard(response);
    // Fetch standard, HTTP-redirect fetch: 303 (and 301/302 after POST) become GET.
    if (
      (response.status === 303 && method !== "GET" && method !== "HEAD") ||
      ((response.status === 301 || response.status === 302) &&
        method === "POST")
    ) {
      method = "GET";
      body = null;
      headers = headers.filter(([n]) =>
        !/^(content-|transfer-encoding$)/i.test(n)
      );
    } else if (body !== null && !isReplayable(body)) {
      throw new HTTPException(
        `Cannot follow redirect ${response.status}: the streamed body cannot be sent again`,
      );
    }
    if (next.origin !== current.origin) {
      // Credentials do not cross origins.
      headers = headers.filter(([n]) =>
        !/^(authorization|cookie|proxy-authorization|host)$/i.test(n)
      );
      fromUrl = null;
    }
    [current, fromUrl] = takeCredentials(next, headers, fromUrl);
  }
}

// curl's way with user:pass@ in a URL (and fetch's, for a redirect to
// one): Basic credentials for that origin (dropped, like any
// Authorization, on a cross-origin redirect), unless the caller set
// Authorization; never in the request-target. `fromUrl` is the value an
// earlier URL's credentials gave: a redirect naming others replaces it.
// Returns the URL without them, and the value they gave.
function takeCredentials(
  url: URL,
  headers: [string, string][],
  fromUrl: string | null,
): [URL, string | null] {
  if (url.username === "" && url.password === "") return [url, fromUrl];
  const value = basicCredentials(url);
  const at = headers.findIndex(([n]) => n.toLowerCase() === "authorization");
  if (at === -1) headers.push(["Authorization", value]);
  else if (fromUrl !== null && headers[at]![1] === fromUrl) {
    headers[at] = [headers[at]![0], value];
  } else return [stripCredentials(url), fromUrl]; // the caller's own wins
  return [stripCredentials(url), value];
}

function stripCredentials(url: URL): URL {
  const bare = new URL(url);
  bare.username = "";
  bare.password = "";
  return bare;
}

function hasField(headers: [string, string][], lowerName: string): boolean {
  return headers.some(([n]) => n.toLowerCase() === lowerName);
}

// Path and query as the URL has them: an empty query ("/p?") is kept, as
// fetch sends it (URL.search is "" for it and for none).
function requestTarget(url: URL): string {
  const path = url.pathname || "/";
  if (url.search !== "") return path + url.search;
  const hashAt = url.href.indexOf("#");
  const href = hashAt === -1 ? url.href : url.href.slice(0, hashAt);
  return href.endsWith("?") ? path + "?" : path;
}

function basicCredentials(url: URL): string {
  const pair = `${decodeURIComponent(url.username)}:${
    decodeURIComponent(url.password)
  }`;
  const bytes = new TextEncoder().encode(pair);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

// The Location to follow: the first field (it is single-valued, RFC 9110
// §10.2.2; repeated lines must not be joined with ","), its bytes read as
// UTF-8 when they are UTF-8, as browsers, curl and Go do (h1 keeps field
// values as Latin-1 text). Bytes that are not UTF-8 are percent-encoded as
// they are (curl and Go do too): URL would encode the Latin-1 characters
// as UTF-8, naming another resource.
function locationOf(response: HTTPResponse): string | null {
  const all = response.headers.get_all("location");
  const first = all === null ? undefined : all[0];
  if (first === undefined) return null;
  let wide = false;
  for (let i = 0; i < first.length && !wide; i++) {
    wide = first.charCodeAt(i) > 0x7f;
  }
  if (!wide) return first;
  const bytes = Uint8Array.from(first, (c) => c.charCodeAt(0));
  try {
    return utf8.decode(bytes);
  } catch {
    let escaped = "";
    for (const b of bytes) {
      escaped += b > 0x7f
        ? "%" + b.toString(16).toUpperCase()
        : String.fromCharCode(b);
    }
    return escaped;
  }
}

function normaliseMethod(method: string): string {
  const upper = method.toUpperCase();
  // Fetch normalises these six; other methods keep their case.
  return ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].includes(upper)
    ? upper
    : method;
}

function isReplayable(body: RequestBody): boolean {
  return typeof body === "string" || body instanceof Uint8Array ||
    body instanceof ArrayBuffer || body instanceof URLSearchParams ||
    body instanceof Blob || body instanceof FormData;
}

async function discard(response: HTTPResponse): Promise<void> {
  if (response.length !== null && response.length <= MAX_DRAIN_BYTES) {
    try {
      await response.read();
      return;
    } catch {
      // Fall through: closing drops the connection.
    }
  }
  response.close();
}

// A small body already read, handed out only while the signal is not
// aborted (nothing waits on it, so no listener is needed).
function abortableBytes(
  bytes: Uint8Array,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (signal.aborted) {
        controller.error(signal.reason);
        return;
      }
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  }, { highWaterMark: 0 });
}

function fieldsOf(headers: HeadersInput | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (headers === undefined) return out;
  if (headers instanceof Headers) {
    headers.forEach((value, name) => out.push([name, value]));
  } else if (Symbol.iterator in headers) {
    for (
      const [n, v] of headers as Iterable<readonly [string, string | number]>
    ) {
      out.push([n, String(v)]);
    }
  } else {
    for (const [n, v] of Object.entries(headers)) out.push([n, String(v)]);
  }
  return out;
}

async function toWebResponse(
  response: HTTPResponse,
  url: URL,
  redirected: boolean,
  signal: AbortSignal | undefined,
): Promise<Response> {
  if (response.status < 200) {
    response.close();
    throw new HTTPException(
      `Cannot represent status ${response.status} as a Response: use HTTPConnection for protocol upgrades`,
    );
  }
  const nullBody = response.method === "HEAD" ||
    NULL_BODY.has(response.status);
  let body: ReadableStream<Uint8Array> | Uint8Array | null = null;
  if (nullBody) {
    if (!response.closed) response.close();
  } else if (
    response.length !== null && response.length <= EAGER_BODY_BYTES &&
    response.bodyBuffered
  ) {
    // A small body that arrived with the head: take it now (no I/O) and
    // skip a JS stream.
    let bytes: Uint8Array;
    try {
      bytes = await response.read();
    } catch (error) {
      throw signal?.aborted ? signal.reason : error;
    }
    // The signal covers the body too: after an abort, reading it fails,
    // as fetch's does.
    body = signal === undefined ? bytes : abortableBytes(bytes, signal);
  } else {
    body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const chunk = await response.read1();
          if (chunk.length === 0) controller.close();
          else controller.enqueue(chunk);
        } catch (error) {
          controller.error(signal?.aborted ? signal.reason : error);
        }
      },
      cancel() {
        response.close();
      },
    }, { highWaterMark: 0 });
  }
  // RFC 9110 §15: a status past 599 is invalid, and a client treats it as
  // a 5xx. Response cannot be made with one, so it is made as a 500 that
  // reports the status received (and ok false).
  const invalid = response.status > 599;
  const web = new Response(body as BodyInit | null, {
    status: invalid ? 500 : response.status,
    statusText: response.reason,
    headers: response.getheaders(),
  });
  if (invalid) Object.defineProperty(web, "status", { value: response.status });
  // What fetch says of a response from the network.
  Object.defineProperty(web, "type", { value: "basic" });
  // Fetch: a Response's URL is serialized without its fragment.
  const bare = new URL(url);
  bare.hash = "";
  Object.defineProperty(web, "url", { value: bare.href });
  Object.defineProperty(web, "redirected", { value: redirected });
  ORIGINALS.set(web, response);
  return web;
}

// Builds the Web Request a handler sees from a parsed head.

import type { RequestHead } from "../http1/events.ts";
import { FieldList } from "../http1/headers.ts";
import type { Exchange } from "./_connection.ts";

// The last Host value that made a valid URL, and the last URL built: a
// connection (and often a whole server) sees the same Host and targets again
// and again, and comparing bytes costs less than decoding and checking them.
let lastHost = "";
let lastUrl = "";
let lastUrlTarget = "";
let lastUrlHost = "";
let lastUrlSecure = false;

// The Host field's value; the cached string when the bytes match it.
function hostValue(headers: FieldList): string | null {
  const index = headers.indexOf("host");
  if (index === -1) return null;
  if (headers.valueEquals(index, lastHost)) return lastHost;
  // The parser rejects a second Host field, so this is the one value.
  return headers.value(index);
}

/** The absolute URL of a request (RFC 9112 §3.3: reconstructing the target URI). */
export function requestUrl(head: RequestHead, exchange: Exchange): string {
  const target = head.target;
  const scheme = exchange.secure ? "https://" : "http://";
  // Serialized as any other (a numeric or upper-case host, a default or
  // zero-padded port), so a proxy that checks req.url dials what it checked.
  if (head.method === "CONNECT") return serialized(scheme + target + "/");
  if (target.charCodeAt(0) !== 0x2f /* "/" */ && target !== "*") {
    return serialized(target); // absolute-form
  }
  let host = hostValue(head.headers);
  if (host === null || host === "") {
    const local = exchange.localAddr;
    host =
      (local.hostname.includes(":") ? `[${local.hostname}]` : local.hostname) +
      ":" + local.port;
  }
  const secure = exchange.secure;
  if (
    target === lastUrlTarget && host === lastUrlHost &&
    secure === lastUrlSecure
  ) return lastUrl;
  let url = scheme + host + (target === "*" ? "/*" : target);
  if (!isSerialized(host, target, secure)) url = serialized(url);
  lastUrl = url;
  lastUrlTarget = target;
  lastUrlHost = host;
  lastUrlSecure = secure;
  return url;
}

// req.url is what a real Request reports: the URL serialized, with dot
// segments (also written %2e) removed, the host lower-cased, a default port
// dropped. A router matching on it then sees the path new URL(req.url) does,
// so "/admin/../public" cannot reach an /admin route that a guard on the
// parsed path let through. Nearly every request is in that form already;
// only the others pay for URL.
const PLAIN_TARGET = /^[A-Za-z0-9\-._~!$&()*+,;=:@\/?%]*$/;
const DOT_SEGMENT = /\/(?:\.|%2e)/i;
const PLAIN_HOST = /^[a-z0-9.\-]*(?::[1-9][0-9]*)?$/;
// A host whose last label is a number is an IPv4 address to URL, which
// writes it as a canonical dotted quad ("2130706433", "0x7f.1" and
// "127.000.000.001" all become "127.0.0.1").
const NUMERIC_LABEL = /(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)\.?(?::|$)/;
const CANONICAL_IPV4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?::|$)/;

function isSerialized(host: string, target: string, secure: boolean): boolean {
  return PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target) &&
    PLAIN_HOST.test(host) && !host.endsWith(secure ? ":443" : ":80") &&
    (!NUMERIC_LABEL.test(host) || CANONICAL_IPV4.test(host));
}

function serialized(url: string): string {
  try {
    // URL reads a backslash in an http: URL as "/", a browser's habit: a
    // server that did would serve /sub\index.html as /sub/index.html, a
    // path a proxy's prefix rules never saw. Kept as the byte it is.
    // Only the path's: in the query URL keeps a backslash as it is.
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    return new URL(
      path.replaceAll("\\", "%5C") + (query === -1 ? "" : url.slice(query)),
    ).href;
  } catch {
    return url; // createWebRequest answers 400 for it
  }
}

/** The request body as a stream that reads from the socket only when pulled. */
export function requestBody(exchange: Exchange): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await exchange.readBody();
      if (chunk === null) controller.close();
      else controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

/**
 * A `Request` whose URL, headers and body are built only when read. Most
 * handlers look at the method and URL only; building a real Request (URL
 * parsing, a validated Headers copy, a body stream) costs more than parsing
 * the bytes did. Anything not defined here builds the real Request once and
 * delegates to it, so it behaves as a Request in every respect, and
 * `instanceof Request` holds.
 */
class LazyRequest {
  readonly #head: RequestHead;
  readonly #exchange: Exchange;
  #url: string | null = null;
  #headers: Headers | null = null;
  #real: Request | null = null;
  #abort: AbortController | null = null;

  constructor(head: RequestHead, exchange: Exchange) {
    this.#head = head;
    this.#exchange = exchange;
  }

  /** The head and exchange behind `req` when the engine made it, else undefined. */
  static partsOf(
    req: unknown,
  ): { head: RequestHead; exchange: Exchange } | undefined {
    return typeof req === "object" && req !== null && #head in req
      ? {
        head: (req as LazyRequest).#head,
        exchange: (req as LazyRequest).#exchange,
      }
      : undefined;
  }

  /**
   * Aborts when the client closes or resets the connection before the
   * response is done (as `Deno.serve` without its legacy abort-on-success;
   * use `info.completed` to learn that the response was sent).
   */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      const abort = new AbortController();
      this.#abort = abort;
      this.#exchange.watchPeerGone(() =>
        abort.abort(
          new DOMException("The client closed the connection", "AbortError"),
        )
      );
    }
    return this.#abort.signal;
  }

  get method(): string {
    return this.#head.method;
  }

  get url(): string {
    return this.#url ??= requestUrl(this.#head, this.#exchange);
  }

  get headers(): Headers {
    if (this.#real !== null) return this.#real.headers;
    if (this.#headers === null) {
      // append() one by one: faster than new Headers(pairs) in Deno 2.9.
      const headers = new Headers();
      for (const [name, value] of fieldPairs(this.#head.headers)) {
        headers.append(name, value);
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** The real Request, built once on first use of anything else. */
  materialize(): Request {
    if (this.#real !== null) return this.#real;
    const head = this.#head;
    // Name/value pairs convert several times faster than a Headers object
    // (about 5 against 19 us for a browser's eleven fields in Deno 2.9).
    const init: RequestInit = {
      headers: this.#headers ?? fieldPairs(head.headers),
    };
    // Copies of the real Request (clone(), new Request(req)) follow it.
    if (this.#abort !== null) init.signal = this.#abort.signal;
    // Other methods than GET and HEAD get a stream even when it is empty,
    // as from Deno.serve.
    this.#real = requestWithMethod(
      this.url,
      head.method,
      init,
      () => requestBody(this.#exchange),
    );
    return this.#real;
  }
}

/**
 * A Request for any method a server may receive. Fetch refuses CONNECT,
 * TRACE and TRACK in `new Request()` (they are Deno.serve's to hand out,
 * not a client's to send): such a Request is built as a POST and given its
 * method afterwards. GET and HEAD (any case: Request upper-cases them)
 * cannot carry a body in a Request; the engine drains any, and `body` is
 * not asked for.
 */
export function requestWithMethod(
  url: string,
  method: string,
  init: RequestInit,
  body: () => BodyInit,
): Request {
  const upper = method.toUpperCase();
  const forbidden = upper === "CONNECT" || upper === "TRACE" ||
    upper === "TRACK";
  init.method = forbidden ? "POST" : method;
  if (upper !== "GET" && upper !== "HEAD") init.body = body();
  const request = new Request(url, init);
  if (forbidden) setInnerMethod(request, method);
  return request;
}

// Deno keeps a Request's method in its inner request (the symbol slot
// described "request"); where that is not so, the Request stays a POST, and
// only a copy of it says so (the handler's req.method is h1's own).
let innerRequestSlot: symbol | null | undefined;
function setInnerMethod(request: Request, method: string): void {
  innerRequestSlot ??=
    Object.getOwnPropertySymbols(request).find((s) =>
      s.description === "request"
    ) ?? null;
  if (innerRequestSlot === null) return;
  const inner = (request as unknown as Record<symbol, { method?: unknown }>)[
    innerRequestSlot
  ];
  if (inner !== undefined && typeof inner.method === "string") {
    inner.method = method;
  }
}

// The fields as name/value pairs for Headers. Repeated Cookie fields become
// one, joined with "; " as Deno.serve (and RFC 9113 §8.2.3) do: Headers
// would join them with ", ", which a cookie parser reads as part of a value.
function fieldPairs(fields: FieldList): [string, string][] {
  const pairs: [string, string][] = [];
  let cookie = -1;
  for (let i = 0; i < fields.size; i++) {
    const name = fields.name(i);
    if (name.length === 6 && name.toLowerCase() === "cookie") {
      if (cookie !== -1) {
        pairs[cookie]![1] += "; " + fields.value(i);
        continue;
      }
      cookie = pairs.length;
    }
    pairs.push([name, fields.value(i)]);
  }
  return pairs;
}

// Every other Request member delegates to the materialized Request.
for (
  const [name, descriptor] of Object.entries(
    Object.getOwnPropertyDescriptors(Request.prototype),
  )
) {
  if (name === "constructor" || name in LazyRequest.prototype) continue;
  const delegate: PropertyDescriptor = { configurable: true };
  if (descriptor.get !== undefined) {
    delegate.get = function (this: LazyRequest) {
      return Reflect.get(Request.prototype, name, this.materialize());
    };
  } else if (typeof descriptor.value === "function") {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    delegate.value = function (this: LazyRequest, ...args: unknown[]) {
      return method.apply(this.materialize(), args);
    };
    delegate.writable = true;
  } else {
    continue;
  }
  Object.defineProperty(LazyRequest.prototype, name, delegate);
}
for (const symbol of Object.getOwnPropertySymbols(Request.prototype)) {
  const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, symbol);
  if (typeof descriptor?.value !== "function") continue;
  const method = descriptor.value as (...args: unknown[]) => unknown;
  Object.defineProperty(LazyRequest.prototype, symbol, {
    configurable: true,
    writable: true,
    value: function (this: LazyRequest, ...args: unknown[]) {
      return method.apply(this.materialize(), args);
    },
  });
}
Object.setPrototypeOf(LazyRequest.prototype, Request.prototype);

// `new Request(req)`, `new Request(req, init)` and `fetch(req)` check that
// `req` is a real Request (Deno's WebIDL brand) and then read its internal
// slots. Deno exposes the brand symbol as Deno[Deno.internal].webidlBrand,
// and a real Request's slots are symbol properties: the lazy Request gets
// the brand, and each slot reads through to the materialized Request. This
// leans on Deno internals, so it is checked once at start-up; where it does
// not work, createWebRequest hands out real Requests (correct, slower).
let lazyIsBranded = brandLazyRequest();

/**
 * Turns lazy Requests off (real ones every time, the fallback) or back on,
 * for tests; returns whether they were on. Stays off where the brand check
 * failed at start-up.
 */
export function setLazyRequests(on: boolean): boolean {
  const was = lazyIsBranded;
  lazyIsBranded = on && brandWorks();
  return was;
}

function brandLazyRequest(): boolean {
  try {
    const internal = (Deno as unknown as { internal?: symbol }).internal;
    const internals = internal === undefined
      ? undefined
      : (Deno as unknown as Record<symbol, { webidlBrand?: unknown }>)[
        internal
      ];
    const brand = internals?.webidlBrand;
    if (typeof brand !== "symbol") return false;
    const prototype = LazyRequest.prototype as unknown as Record<
      symbol,
      unknown
    >;
    for (
      const slot of Object.getOwnPropertySymbols(new Request("http://h1/"))
    ) {
      if (slot === brand || slot in LazyRequest.prototype) continue;
      Object.defineProperty(prototype, slot, {
        configurable: true,
        get(this: LazyRequest) {
          return (this.materialize() as unknown as Record<symbol, unknown>)[
            slot
          ];
        },
        set(this: LazyRequest, value: unknown) {
          (this.materialize() as unknown as Record<symbol, unknown>)[slot] =
            value;
        },
      });
    }
    Object.defineProperty(prototype, brand, { value: brand });
    return brandWorks();
  } catch {
    return false;
  }
}

// The shim's self-test: copies of a lazy POST keep method, URL, headers.
function brandWorks(): boolean {
  const head: RequestHead = {
    kind: "head",
    method: "POST",
    target: "/probe?q=1",
    version: "HTTP/1.1",
    headers: FieldList.from([["Host", "h1.test"], ["X-Probe", "1"]]),
    keepAlive: true,
    framing: { kind: "none" },
    expectContinue: false,
    upgrade: null,
  };
  const exchange = {
    secure: false,
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
  } as unknown as Exchange;
  const copy = new Request(
    new LazyRequest(head, exchange) as unknown as Request,
    { headers: { "x-copy": "2" } },
  );
  const plain = new Request(
    new LazyRequest(head, exchange) as unknown as Request,
  );
  return copy.method === "POST" && copy.url === "http://h1.test/probe?q=1" &&
    copy.headers.get("x-copy") === "2" && plain.headers.get("x-probe") === "1";
}

// RFC 9110 §7.2 / RFC 3986 §3.2: uri-host [ ":" port ], the shapes URL accepts.
const HOST_HEADER =
  /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::([0-9]{0,5}))?$/;

// The parser has checked RFC 3986 syntax already; URL is stricter (a port
// over 65535, "1.2.3.4.5", an IDNA label it cannot map), and a Host it
// rejects must be a 400, not a req.url that throws in the handler. Called
// only for a Host other than the last good one.
function isUrlHost(host: string): boolean {
  const match = HOST_HEADER.exec(host);
  return match !== null &&
    (match[1] === undefined || Number(match[1]) <= 65535) &&
    (host === "" || URL.canParse(`http://${host}/`));
}

/**
 * What the engine read for a Request it made (not a copy of one): the
 * request's HTTP version, and its body as sent, a GET's too (a Request
 * cannot carry one). For `pythonHandler`, which passes the request on.
 *
 * @param req A Request a handler was given.
 * @returns The version and a body stream (null without content), or
 *   undefined for a Request the engine did not make.
 */
export function engineRequestParts(
  req: Request,
): { version: string; body: ReadableStream<Uint8Array> | null } | undefined {
  const parts = LazyRequest.partsOf(req);
  if (parts === undefined) return undefined;
  const { head, exchange } = parts;
  return {
    version: head.version,
    body: head.framing.kind === "none" ? null : requestBody(exchange),
  };
}

/**
 * The Request a handler sees for `head`: lazy, see {@linkcode LazyRequest}.
 * Checks up front, cheaply, that a URL can be built, so a bad Host or target
 * is a 400 rather than a handler crash.
 */
export function createWebRequest(
  head: RequestHead,
  exchange: Exchange,
): Request {
  const request = new LazyRequest(head, exchange);
  const first = head.target.charCodeAt(0);
  let valid: boolean;
  if (first === 0x2f || head.target === "*") {
    const host = hostValue(head.headers) ?? "";
    valid = host === lastHost || isUrlHost(host);
    if (valid) lastHost = host;
  } else {
    valid = URL.canParse(request.url);
  }
  if (!valid) {
    throw new TypeError(
      `Cannot build a URL from "${request.url.slice(0, 64)}"`,
    );
  }
  return lazyIsBranded ? request as unknown as Request : request.materialize();
}

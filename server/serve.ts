/**
 * `serve()`: a drop-in for `Deno.serve` on h1's own HTTP/1.1 engine.
 *
 * @module
 */

import { concatBytes } from "../http1/_chars.ts";
import type { RequestHead } from "../http1/events.ts";
import type {
  CannedResponse,
  Dispatch,
  Exchange,
  TakenOverConnection,
} from "./_connection.ts";

export type { TakenOverConnection } from "./_connection.ts";
import {
  ALPN_PROTOCOLS,
  Engine,
  type EngineOptions,
  guardSink,
} from "./_engine.ts";
import {
  reusePortAvailable,
  ReusePortUnavailableError,
} from "../net/errors.ts";
import { writeWebResponse } from "./_web_response.ts";
import { createWebRequest, requestWithMethod } from "./_web_request.ts";
import type { AccessLogEntry } from "./access_log.ts";
import type { ServerLimits } from "./options.ts";

/** What a handler learns about the request besides the Request itself. */
export interface ServeHandlerInfo {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** Resolves when the response has been sent (rejects if it could not be). */
  readonly completed: Promise<void>;
}

/** A Web-standard handler, as `Deno.serve` takes it. */
export type ServeHandler = (
  request: Request,
  info: ServeHandlerInfo,
) => Response | Promise<Response>;

/** Called for Upgrade and CONNECT requests when set: the socket is yours. */
export type UpgradeHandler = (
  request: Request,
  socket: TakenOverConnection,
  info: ServeHandlerInfo,
) => void | Promise<void>;

/** Options of {@linkcode serve}, a superset of `Deno.ServeTcpOptions`. */
export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. Default 8000. */
  port?: number;
  /** Address to bind. Default "0.0.0.0", as `Deno.serve`. */
  hostname?: string;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /**
   * Let several processes or workers bind the same port (Linux SO_REUSEPORT;
   * Deno 2.9 requires `--unstable-net` for it; without the flag `serve()`
   * throws `ReusePortUnavailableError`). See examples/multi_core.ts.
   */
  reusePort?: boolean;
  /** Called once listening; default prints `Listening on http://host:port/`. */
  onListen?: (localAddr: Deno.NetAddr) => void;
  /** Turns a handler's exception into a response; default logs it and sends 500. */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** PEM certificate chain: serve HTTPS through `Deno.listenTls`. */
  cert?: string;
  /** PEM private key for `cert`. */
  key?: string;
  /** Limits and timeouts; see `DEFAULT_SERVER_LIMITS`. */
  limits?: Partial<ServerLimits>;
  /** Take over Upgrade (WebSocket) and CONNECT requests' sockets. */
  onUpgrade?: UpgradeHandler;
  /** Called after each response with an access-log entry (see `formatCommonLog`). */
  onAccess?: (entry: AccessLogEntry) => void;
  /** Receives errors the engine handled itself (e.g. a failed accept). */
  onInternalError?: (error: unknown) => void;
}

/** {@linkcode ServeOptions} with the handler inside. */
export interface ServeInit extends ServeOptions {
  /** The request handler. */
  handler: ServeHandler;
}

const encoder = new TextEncoder();

function defaultOnListen(addr: Deno.NetAddr, secure: boolean): void {
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  Deno.stdout.writeSync(
    encoder.encode(
      `Listening on ${secure ? "https" : "http"}://${host}:${addr.port}/\n`,
    ),
  );
}

function writeErrorLine(what: string, error: unknown): void {
  Deno.stderr.writeSync(
    encoder.encode(
      `Error in ${what}: ${
        error instanceof Error ? error.stack ?? error.message : String(error)
      }\n`,
    ),
  );
}

function defaultOnError(error: unknown): Response {
  writeErrorLine("request handler", error);
  return new Response("Internal Server Error", {
    status: 500,
    headers: { "content-type": "text/plain;charset=UTF-8" },
  });
}

/**
 * A running server, as `serve()` returns it (shaped like `Deno.HttpServer`).
 */
export class WebServer implements AsyncDisposable {
  readonly #engine: Engine;
  readonly #listener: Deno.Listener;

  /** @internal Created by {@linkcode serve}. */
  constructor(engine: Engine, listener: Deno.Listener) {
    this.#engine = engine;
    this.#listener = listener;
  }

  /** The address the server listens on (with the real port when 0 was asked). */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /** Resolves when the server has shut down and every connection is closed. */
  get finished(): Promise<void> {
    return this.#engine.finished;
  }

  /**
   * Stops accepting, closes idle connections, lets in-flight requests finish
   * (their responses carry `Connection: close`), force-closes the rest after
   * `shutdownTimeoutMs`.
   *
   * @returns Resolves when every connection is gone.
   */
  shutdown(): Promise<void> {
    return this.#engine.shutdown();
  }

  /** Keeps the process alive while the server runs (the default). */
  ref(): void {
    this.#engine.ref();
    this.#listener.ref();
  }

  /** Lets the process exit while the server runs. */
  unref(): void {
    this.#engine.unref();
    this.#listener.unref();
  }

  /** Shuts down gracefully, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/**
 * Serves HTTP/1.1 with a Web-standard handler: a drop-in for `Deno.serve`,
 * running on h1's engine (`Deno.listen` / `Deno.listenTls`, h1's parser).
 * Call it as `serve(handler)`, `serve(options, handler)` or
 * `serve({ ...options, handler })`.
 *
 * @param optionsOrHandler Options (with or without `handler`), or the handler.
 * @param maybeHandler The handler, when options come first.
 * @returns The running server.
 *
 * @example Usage
 * ```ts ignore
 * import { serve } from "./serve.ts";
 *
 * const server = serve({ port: 8000, hostname: "127.0.0.1" }, (req) =>
 *   new Response(`Hello from ${new URL(req.url).pathname}`));
 * await server.finished;
 * ```
 */
export function serve(
  optionsOrHandler: ServeHandler | ServeOptions | ServeInit,
  maybeHandler?: ServeHandler,
): WebServer {
  let options: ServeOptions;
  let handler: ServeHandler | undefined;
  if (typeof optionsOrHandler === "function") {
    options = {};
    handler = optionsOrHandler;
  } else {
    options = optionsOrHandler;
    handler = maybeHandler ?? (optionsOrHandler as ServeInit).handler;
  }
  if (typeof handler !== "function") {
    throw new TypeError("Cannot serve without a handler function");
  }
  if (options.reusePort && !reusePortAvailable()) {
    throw new ReusePortUnavailableError();
  }
  const secure = options.cert !== undefined || options.key !== undefined;
  if (secure && (options.cert === undefined || options.key === undefined)) {
    throw new TypeError("Both 'cert' and 'key' must be provided");
  }
  const listenOptions = {
    port: options.port ?? 8000,
    hostname: options.hostname ?? "0.0.0.0",
    ...(options.reusePort ? { reusePort: true } : {}),
  };
  // The engine first: invalid limits throw before a port is bound.
  const engine = new Engine(
    webDispatch(handler, options),
    webEngineOptions(options),
  );
  const listener: Deno.Listener = secure
    ? Deno.listenTls({
      ...listenOptions,
      // RFC 7301: say which protocol this is, so a client offering h2
      // first settles on HTTP/1.1 (as nginx and Node do).
      alpnProtocols: ALPN_PROTOCOLS,
      cert: options.cert ?? "",
      key: options.key ?? "",
    })
    : Deno.listen({ ...listenOptions, transport: "tcp" });
  engine.start(listener, secure);
  const server = new WebServer(engine, listener);
  const addr = listener.addr as Deno.NetAddr;
  if (options.onListen) options.onListen(addr);
  else defaultOnListen(addr, secure);
  if (options.signal?.aborted) void server.shutdown();
  else {
    options.signal?.addEventListener("abort", () => void server.shutdown(), {
      once: true,
    });
  }
  return server;
}

/**
 * The engine options `serve()` derives from its own: limits, the internal
 * error sink, and canned 4xx/5xx responses reported to `onAccess`.
 *
 * @internal
 */
export function webEngineOptions(options: ServeOptions): EngineOptions {
  const onAccess = options.onAccess;
  return {
    ...(options.onUpgrade ? { takesUpgrades: true } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.onInternalError
      ? { onInternalError: options.onInternalError }
      : {}),
    ...(onAccess
      ? {
        onCannedResponse: (canned: CannedResponse) =>
          onAccess({
            remoteAddr: canned.remoteAddr,
            time: new Date(canned.time),
            method: canned.head?.method ?? "",
            target: canned.head?.target ?? "",
            version: canned.head?.version ?? "",
            status: canned.error.statusHint,
            bodyBytes: canned.bodyBytes,
            durationMs: 0,
            error: canned.error,
          }),
      }
      : {}),
  };
}

/**
 * The dispatch that runs a Web handler for each request.
 *
 * @internal
 */
export function webDispatch(
  handler: ServeHandler,
  options: ServeOptions,
): Dispatch {
  const onError = options.onError ?? defaultOnError;
  const onUpgrade = options.onUpgrade;
  const onInternalError = guardSink(
    options.onInternalError ?? defaultOnUpgradeError,
  );
  // A log hook that throws loses no response: its error is reported.
  const givenOnAccess = options.onAccess;
  const onAccess = givenOnAccess === undefined
    ? undefined
    : (entry: AccessLogEntry) => {
      try {
        givenOnAccess(entry);
      } catch (error) {
        onInternalError(error);
      }
    };

  // Ends an exchange: settles `completed` and writes the access log line.
  const finish = (
    exchange: Exchange,
    head: RequestHead,
    info: HandlerInfo,
    started: number,
    response: Response,
    bodyBytes: number,
    failed: boolean,
    failure: unknown,
  ): void => {
    if (failed) exchange.closeAfter = true;
    info.settle(failed ? failure : undefined);
    onAccess?.({
      remoteAddr: exchange.remoteAddr,
      time: new Date(started),
      method: head.method,
      target: head.target,
      version: head.version,
      status: response.status,
      bodyBytes,
      durationMs: Date.now() - started,
    });
  };

  // Writes the response; undefined when that finished synchronously (a
  // body in memory and nobody waiting on `completed`).
  const respond = (
    exchange: Exchange,
    head: RequestHead,
    info: HandlerInfo,
    started: number,
    response: Response,
    fromOnError = false,
  ): Promise<void> | undefined => {
    let written: number | Promise<number>;
    try {
      written = writeWebResponse(response, head, exchange);
    } catch (error) {
      if (exchange.bytesWritten === 0 && !fromOnError) {
        // Refused before a byte went out (a header value with a control
        // character): the handler's error, answered through onError.
        return respondLater(exchange, head, info, started, error, true);
      }
      finish(exchange, head, info, started, response, 0, true, error);
      return undefined;
    }
    if (typeof written === "number" && !info.observed) {
      finish(exchange, head, info, started, response, written, false, null);
      return undefined;
    }
    return finishWriting(
      exchange,
      head,
      info,
      started,
      response,
      written,
      fromOnError,
    );
  };

  const finishWriting = async (
    exchange: Exchange,
    head: RequestHead,
    info: HandlerInfo,
    started: number,
    response: Response,
    written: number | Promise<number>,
    fromOnError: boolean,
  ): Promise<void> => {
    let bodyBytes = 0;
    try {
      bodyBytes = await written;
      // `completed` means sent: push out what pipelining would still hold.
      if (info.observed) await exchange.flush();
    } catch (error) {
      if (exchange.bytesWritten === 0 && !fromOnError) {
        // As in respond(): refused before a byte went out.
        return await respondLater(exchange, head, info, started, error, true);
      }
      finish(exchange, head, info, started, response, bodyBytes, true, error);
      return;
    }
    finish(exchange, head, info, started, response, bodyBytes, false, null);
  };

  // The handler's answer was not a ready Response: await it, or turn its
  // failure into onError's response.
  const respondLater = async (
    exchange: Exchange,
    head: RequestHead,
    info: HandlerInfo,
    started: number,
    returned: unknown,
    thrown: boolean,
  ): Promise<void> => {
    let response: Response;
    // onError's answer is written as it is: if it fails too, nothing loops.
    let viaOnError = false;
    try {
      if (thrown) throw returned;
      response = await returned as Response;
      if (!(response instanceof Response)) {
        throw new TypeError("Handler must return a Response");
      }
      if (response.status === 101) {
        // Only Deno.upgradeWebSocket makes a 101 Response, and it needs
        // Deno.serve's own connection: say what to use instead.
        throw new TypeError(
          "Cannot switch protocols with Deno.upgradeWebSocket under h1's serve(): use the onUpgrade option, which hands over the socket",
        );
      }
      if (response.status < 200) {
        // Response.error() (status 0) is a network error, not an answer:
        // a 500 through onError, as Deno.serve does.
        throw new TypeError(
          `Handler returned a Response with status ${response.status} (${
            response.type === "error" ? "Response.error()" : "interim"
          }), which cannot be sent as a final response`,
        );
      }
    } catch (error) {
      if (exchange.bodyError !== null) {
        // The request body broke (too large, timed out, malformed): the
        // engine answers its canned 408/413/400 rather than a 500.
        info.settle(error);
        return;
      }
      response = await onErrorResponse(onError, error);
      viaOnError = true;
    }
    if (response.bodyUsed) {
      response = await onErrorResponse(
        onError,
        new TypeError("Handler returned a Response whose body was used"),
      );
      viaOnError = true;
    }
    await respond(exchange, head, info, started, response, viaOnError);
  };

  return (head, exchange) => {
    const started = onAccess ? Date.now() : 0;
    const info = new HandlerInfo(exchange.remoteAddr);
    let request: Request;
    try {
      request = createWebRequest(head, exchange);
    } catch {
      // The target or Host did not make a valid URL.
      exchange.closeAfter = true;
      return answerBadUrl(head, exchange);
    }
    if (head.upgrade !== null && onUpgrade !== undefined) {
      return upgrade(
        onUpgrade,
        onInternalError,
        onAccess,
        request,
        head,
        exchange,
        info,
        started,
      );
    }
    // A handler that answers synchronously is not awaited, and neither is
    // anything after it when the whole response is in memory: each await
    // costs a promise and a microtask turn per request.
    let returned: Response | Promise<Response>;
    try {
      returned = handler(request, info);
    } catch (error) {
      return respondLater(exchange, head, info, started, error, true);
    }
    // Statuses below 200 (Response.error()'s 0, a 101) are not the
    // handler's to send: respondLater turns them into errors.
    if (
      returned instanceof Response && !returned.bodyUsed &&
      returned.status >= 200
    ) {
      return respond(exchange, head, info, started, returned);
    }
    return respondLater(exchange, head, info, started, returned, false);
  };
}

async function answerBadUrl(
  head: RequestHead,
  exchange: Exchange,
): Promise<void> {
  await writeWebResponse(
    new Response("Bad Request: invalid request URL\n", { status: 400 }),
    head,
    exchange,
  );
}

async function upgrade(
  onUpgrade: UpgradeHandler,
  onInternalError: (error: unknown) => void,
  onAccess: ((entry: AccessLogEntry) => void) | undefined,
  request: Request,
  head: RequestHead,
  exchange: Exchange,
  info: HandlerInfo,
  started: number,
): Promise<void> {
  if (head.framing.kind !== "none") {
    // RFC 9110 §7.8: the protocol changes after the whole request message,
    // so its body is HTTP content (limits apply), and only the bytes after
    // it belong to the new protocol.
    request = await withBodyRead(request, exchange);
  }
  const socket = await exchange.takeOver();
  // The socket is the application's now: the engine neither waits for
  // it (shutdown and `finished` do not) nor closes it, unless the hook
  // fails. For the engine the request is complete.
  info.settle(undefined);
  void runUpgrade(onUpgrade, request, socket, info, onInternalError);
  onAccess?.({
    remoteAddr: exchange.remoteAddr,
    time: new Date(started),
    method: head.method,
    target: head.target,
    version: head.version,
    status: head.upgrade === "connect" ? 200 : 101,
    bodyBytes: null,
    durationMs: Date.now() - started,
    upgraded: true,
  });
}

// The `info` a handler gets: `completed` is built only when read, and the
// class keeps its getter on the prototype (an object literal with a getter
// costs a closure and a fresh shape per request).
class HandlerInfo implements ServeHandlerInfo {
  readonly remoteAddr: Deno.NetAddr;
  #completed: Promise<void> | null = null;
  #settle: ((error?: unknown) => void) | null = null;
  // The outcome once known, for a `completed` first read after the fact
  // (e.g. from a streaming body's last pull): it must not stay pending.
  #outcome: { error: unknown } | null = null;

  constructor(remoteAddr: Deno.NetAddr) {
    this.remoteAddr = remoteAddr;
  }

  get completed(): Promise<void> {
    if (this.#completed === null) {
      const outcome = this.#outcome;
      this.#completed = outcome === null
        ? new Promise<void>((resolve, reject) => {
          this.#settle = (error) =>
            error === undefined ? resolve() : reject(error);
        })
        : outcome.error === undefined
        ? Promise.resolve()
        : Promise.reject(outcome.error);
      this.#completed.catch(() => {});
    }
    return this.#completed;
  }

  /** Whether a handler asked for `completed`. */
  get observed(): boolean {
    return this.#completed !== null;
  }

  /** Records the outcome and settles `completed` if it was asked for. */
  settle(error: unknown): void {
    this.#outcome = { error };
    this.#settle?.(error);
  }
}

// A Request whose body (read to its end through the exchange) is in memory.
async function withBodyRead(
  request: Request,
  exchange: Exchange,
): Promise<Request> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (let chunk; (chunk = await exchange.readBody()) !== null;) {
    chunks.push(chunk);
    length += chunk.length;
  }
  // GET and HEAD cannot carry a body in a Request; the bytes are consumed.
  return requestWithMethod(
    request.url,
    request.method,
    { headers: request.headers },
    () => concatBytes(chunks, length) as Uint8Array<ArrayBuffer>,
  );
}

async function runUpgrade(
  onUpgrade: UpgradeHandler,
  request: Request,
  socket: TakenOverConnection,
  info: ServeHandlerInfo,
  onInternalError: (error: unknown) => void,
): Promise<void> {
  try {
    await onUpgrade(request, socket, info);
  } catch (error) {
    try {
      socket.conn.close();
    } catch {
      // The hook closed it already.
    }
    onInternalError(error);
  }
}

function defaultOnUpgradeError(error: unknown): void {
  writeErrorLine("upgrade handler", error);
}

async function onErrorResponse(
  onError: (error: unknown) => Response | Promise<Response>,
  error: unknown,
): Promise<Response> {
  try {
    const response = await onError(error);
    if (response instanceof Response) return response;
  } catch {
    // An onError that throws falls back to the plain 500.
  }
  return new Response("Internal Server Error", { status: 500 });
}

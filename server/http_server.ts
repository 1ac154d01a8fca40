/**
 * `HTTPServer` and `ThreadingHTTPServer`: Python's `http.server` servers on
 * h1's engine.
 *
 * Python's `HTTPServer` serves one connection at a time: while a client
 * holds a connection open, every other client waits. Browsers pre-open a
 * second socket (and keep the first alive), so with `protocol_version =
 * "HTTP/1.1"` a page can stall until the idle connection times out (here
 * `keepAliveTimeoutMs`, 5 s by default; in Python, forever). That is why
 * `python -m http.server` uses `ThreadingHTTPServer`, which serves
 * connections concurrently; so does h1's CLI. Use `HTTPServer` when you
 * want Python's serial behaviour, `ThreadingHTTPServer` for anything a
 * browser talks to.
 *
 * @module
 */

import type { RequestHead } from "../http1/events.ts";
import { toNetError } from "../net/errors.ts";
import type { Exchange } from "./_connection.ts";
import { ALPN_PROTOCOLS, Engine } from "./_engine.ts";
import { escapeLogControls, logDateTime, pyStr } from "./_python_format.ts";
import { RUN } from "./_python_symbols.ts";
import type { ServerLimits } from "./options.ts";
import type {
  ClientAddress,
  HandlerRequest,
  RequestHandlerClass,
} from "./request_handler.ts";

/** Options of {@linkcode HTTPServer} (Python's constructor has only `bind_and_activate`). */
export interface HTTPServerOptions {
  /** Limits and timeouts of the engine; see `DEFAULT_SERVER_LIMITS`. */
  limits?: Partial<ServerLimits>;
  /** PEM certificate chain: serve HTTPS. */
  cert?: string;
  /** PEM private key for `cert`. */
  key?: string;
  /** Bind in the constructor (default true, as in Python). */
  bind_and_activate?: boolean;
  /** Where log lines go (default: stderr, as Python's `sys.stderr`). */
  logWriter?: (text: string) => void;
}

const encoder = new TextEncoder();
const RETRY: unique symbol = Symbol("retry");
const TIMEOUT: unique symbol = Symbol("timeout");

function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stderr.writeSync(bytes.subarray(written));
  }
}

/**
 * Python's `http.server.HTTPServer`: binds in the constructor, serves one
 * connection at a time with `serve_forever()` (see the module doc for why
 * browsers want {@linkcode ThreadingHTTPServer}), one connection with
 * `handle_request()`. Methods return Promises where Python blocks.
 *
 * Deno sets `SO_REUSEADDR` on Unix listeners, so `allow_reuse_address` is
 * informational. A taken port throws `AddressInUseError` (code
 * `"EADDRINUSE"`) from `net/`.
 *
 * @example Usage
 * ```ts ignore
 * import { BaseHTTPRequestHandler, HTTPServer } from "../mod.ts";
 *
 * class MyHandler extends BaseHTTPRequestHandler {
 *   do_GET() {
 *     this.send_response(200);
 *     this.send_header("Content-type", "text/html");
 *     this.end_headers();
 *     this.wfile.write(new TextEncoder().encode("Hello, world!"));
 *   }
 * }
 *
 * await using httpd = new HTTPServer(["localhost", 8080], MyHandler);
 * await httpd.serve_forever();
 * ```
 */
export class HTTPServer implements AsyncDisposable {
  /** The handler class instantiated for every request. */
  readonly RequestHandlerClass: RequestHandlerClass;
  /** `[host, port]`; after binding, the real port (also when 0 was asked). */
  server_address: ClientAddress;
  /** Python sets SO_REUSEADDR from this; Deno always does on Unix. */
  allow_reuse_address = true;
  /** Seconds `handle_request()` waits for a connection; null = forever. */
  timeout: number | null = null;
  /** The listening socket, once bound. */
  socket: Deno.Listener | null = null;
  readonly #options: HTTPServerOptions;
  readonly #log: (text: string) => void;
  #engine: Engine | null = null;
  #accepting: Promise<Deno.Conn | null | typeof RETRY> | null = null;
  #serving: Promise<void> | null = null;
  #stop: (() => void) | null = null;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Binds `server_address` (unless `bind_and_activate` is false).
   *
   * @param server_address `[host, port]`; port 0 picks a free one.
   * @param RequestHandlerClass A `BaseHTTPRequestHandler` subclass.
   * @param options Limits, TLS, logging.
   * @throws {AddressInUseError} When the port is taken.
   */
  constructor(
    server_address: readonly [string, number],
    RequestHandlerClass: RequestHandlerClass,
    options: HTTPServerOptions = {},
  ) {
    this.server_address = [server_address[0], server_address[1]];
    this.RequestHandlerClass = RequestHandlerClass;
    this.#options = options;
    this.#log = options.logWriter ?? writeStderr;
    if (options.bind_and_activate ?? true) {
      this.server_bind();
      this.server_activate();
    }
  }

  /** The host name of the server (the local host name for a wildcard address). */
  get server_name(): string {
    const host = this.server_address[0];
    if (host === "" || host === "0.0.0.0" || host === "::") {
      try {
        return Deno.hostname();
      } catch {
        return host;
      }
    }
    return host;
  }

  /** The port the server listens on. */
  get server_port(): number {
    return this.server_address[1];
  }

  /** Whether the server speaks TLS. */
  get secure(): boolean {
    return this.#options.cert !== undefined || this.#options.key !== undefined;
  }

  /**
   * Binds the socket (`Deno.listen`, or `Deno.listenTls` with a cert) and
   * sets `server_address` to the bound address.
   *
   * @throws {AddressInUseError} When the port is taken.
   */
  server_bind(): void {
    const [hostname, port] = this.server_address;
    const host = hostname === "" ? "0.0.0.0" : hostname;
    try {
      this.socket = this.secure
        ? Deno.listenTls({
          hostname: host,
          port,
          transport: "tcp",
          cert: this.#options.cert ?? "",
          key: this.#options.key ?? "",
          alpnProtocols: ALPN_PROTOCOLS,
        })
        : Deno.listen({ hostname: host, port, transport: "tcp" });
    } catch (error) {
      throw toNetError(error, { hostname: host, port });
    }
    const addr = this.socket.addr as Deno.NetAddr;
    this.server_address = [addr.hostname, addr.port];
  }

  /** Starts listening; `Deno.listen` already did, so this does nothing. */
  server_activate(): void {}

  /**
   * Serves until `shutdown()`: accepts a connection, serves it to its end,
   * accepts the next (`ThreadingHTTPServer`: serves them concurrently).
   * `service_actions()` runs after each connection and, as in Python, every
   * `poll_interval` seconds while waiting for one.
   *
   * @param poll_interval Seconds between `service_actions()` calls while
   *   idle. Accepting is event-driven, so shutdown takes effect at once.
   * @returns Resolves after `shutdown()` once the loop has stopped.
   */
  async serve_forever(poll_interval = 0.5): Promise<void> {
    if (this.#serving !== null) {
      throw new Error("Cannot serve_forever(): the server is already serving");
    }
    // Each turn waits on promises of its own: racing one long-lived promise
    // (the stop signal, an accept across poll ticks) would add a reaction
    // to it per turn, each holding what that turn saw, for good.
    let stopRequested = false;
    let wake: (() => void) | null = null;
    this.#stop = () => {
      stopRequested = true;
      wake?.();
    };
    let watched: Promise<Deno.Conn | null | typeof RETRY> | null = null;
    let accepted: { value: Deno.Conn | null | typeof RETRY } | null = null;
    const pollMs = Math.max(1, Number(poll_interval) * 1000 || 0);
    const loop = async () => {
      for (;;) {
        const accepting = this.#acceptNext();
        if (accepting !== watched) {
          // One reaction per accept, however many turns it spans.
          watched = accepting;
          accepted = null;
          void accepting.then((value) => {
            if (watched !== accepting) return;
            accepted = { value };
            wake?.();
          });
        }
        if (accepted === null && !stopRequested) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, pollMs);
          });
          clearTimeout(timer);
          wake = null;
        }
        // Stop first: once shut down, a waiting connection stays queued.
        if (stopRequested) return;
        if (accepted === null) {
          // Python's select() timed out: the hook runs, the accept waits on.
          this.service_actions();
          continue;
        }
        const next: Deno.Conn | null | typeof RETRY = accepted.value;
        accepted = null;
        watched = null;
        this.#accepting = null;
        if (next === null) return;
        if (next !== RETRY) await this.#handleConnection(next);
        this.service_actions();
      }
    };
    this.#serving = loop();
    try {
      await this.#serving;
    } finally {
      this.#serving = null;
      this.#stop = null;
    }
  }

  /**
   * Stops `serve_forever()`: no new connections are accepted, idle ones are
   * closed, busy ones finish their response (then close). The socket stays
   * bound until `server_close()`. Do not await it inside a handler: like
   * Python's, it waits for that very request (`void this.server.shutdown()`).
   *
   * @returns Resolves when the loop has stopped and connections are done.
   */
  async shutdown(): Promise<void> {
    this.#stop?.();
    const engine = this.#engine;
    if (engine !== null) await engine.shutdown();
    await this.#serving;
    if (this.#engine === engine) this.#engine = null;
  }

  /**
   * Closes the listening socket; connections still running finish.
   *
   * Python's returns with the port free. Here the port is free once the
   * returned promise resolves: after `serve_forever()` or a timed-out
   * `handle_request()` an accept is pending, and Deno releases the socket
   * only once that accept has ended, a turn of the event loop later. Await
   * it before binding the same port again; otherwise there is no need to.
   *
   * @returns Resolves once the port is free.
   */
  server_close(): Promise<void> {
    if (this.#closed) return this.#closing ?? Promise.resolve();
    this.#closed = true;
    try {
      this.socket?.close();
    } catch {
      // Already closed.
    }
    // The pending accept ends with the listener; a connection it accepted
    // while nobody waited is closed.
    const accepting = this.#accepting;
    this.#closing = accepting === null ? Promise.resolve() : accepting.then(
      (conn) => {
        if (conn !== null && typeof conn === "object") closeQuietly(conn);
        // Deno drops the socket once the ended accept's op is released.
        return new Promise<void>((resolve) => setTimeout(resolve, 0));
      },
    );
    this.#accepting = null;
    void this.#engine?.shutdown();
    return this.#closing;
  }

  /**
   * Waits for one connection (at most `timeout` seconds, then
   * `handle_timeout()`) and serves it (`ThreadingHTTPServer`: starts it).
   *
   * @returns Resolves when done.
   */
  async handle_request(): Promise<void> {
    const timeout = this.timeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let next: Deno.Conn | null | typeof RETRY | typeof TIMEOUT;
    try {
      next = timeout === null ? await this.#acceptNext() : await Promise.race([
        this.#acceptNext(),
        new Promise<typeof TIMEOUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMEOUT), timeout * 1000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (next === TIMEOUT) {
      this.handle_timeout();
      return;
    }
    this.#accepting = null;
    if (next === null || next === RETRY) return;
    await this.#handleConnection(next);
  }

  /** Called when `handle_request()` times out; does nothing by default. */
  handle_timeout(): void {}

  /** Called after each connection in `serve_forever()`; a hook. */
  service_actions(): void {}

  /**
   * Decides whether to serve a connection; true by default.
   *
   * @param _conn The accepted connection.
   * @param _client_address The client's `[host, port]`.
   * @returns False to close it unanswered.
   */
  verify_request(_conn: Deno.Conn, _client_address: ClientAddress): boolean {
    return true;
  }

  /**
   * Serves one connection: to its end (`HTTPServer`), or in the background
   * (`ThreadingHTTPServer`).
   *
   * @param conn The accepted connection.
   * @param _client_address The client's `[host, port]`.
   * @returns Resolves when the connection is done (or started).
   */
  async process_request(
    conn: Deno.Conn,
    _client_address: ClientAddress,
  ): Promise<void> {
    const engine = this.#engineNow();
    if (this instanceof ThreadingHTTPServer) {
      if (engine.connectionCount >= engine.limits.maxConnections) {
        closeQuietly(conn);
        return;
      }
      void engine.serveConnection(conn, this.secure);
      return;
    }
    await engine.serveConnection(conn, this.secure);
  }

  /**
   * Answers one request: makes a `RequestHandlerClass` and runs it.
   *
   * @param request The parsed head and the engine's exchange.
   * @param client_address The client's `[host, port]`.
   * @returns Resolves when the handler is done.
   */
  async finish_request(
    request: HandlerRequest,
    client_address: ClientAddress,
  ): Promise<void> {
    const handler = new this.RequestHandlerClass(request, client_address, this);
    await handler[RUN]();
  }

  /**
   * Prints an exception from a handler, framed as Python's
   * `socketserver.BaseServer.handle_error` frames it.
   *
   * @param _request The request being answered.
   * @param client_address The client's `[host, port]`.
   * @param error What was thrown.
   */
  handle_error(
    _request: HandlerRequest | null,
    client_address: ClientAddress,
    error?: unknown,
  ): void {
    const detail = error instanceof Error
      ? error.stack ?? `${error.name}: ${error.message}`
      : pyStr(error);
    this.log_write(
      "-".repeat(40) + "\n" +
        `Exception occurred during processing of request from ${
          pyStr(client_address)
        }\n${detail}\n` + "-".repeat(40) + "\n",
    );
  }

  /**
   * Writes a log line to the server's log (stderr unless `logWriter` was given).
   *
   * @param text The text, with its newline.
   */
  log_write(text: string): void {
    this.#log(text);
  }

  /**
   * Shuts down, closes the socket and waits until the port is free, for
   * `await using`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const engine = this.#engine;
    await this.shutdown();
    await this.server_close();
    await engine?.finished;
  }

  #engineNow(): Engine {
    if (this.#engine === null) {
      this.#engine = new Engine(
        (head, exchange) => this.#dispatch(head, exchange),
        {
          ...(this.#options.limits ? { limits: this.#options.limits } : {}),
          onInternalError: (error) =>
            this.log_write(
              `Internal server error: ${
                error instanceof Error ? error.message : String(error)
              }\n`,
            ),
          // Python logs its own error replies with log_error and
          // log_request; the engine's canned replies get the same two lines.
          onCannedResponse: ({ remoteAddr, head, error }) => {
            const prefix = `${remoteAddr.hostname} - - [${logDateTime()}] `;
            const line = head === null
              ? "-"
              : `${head.method} ${head.target} ${head.version}`;
            this.log_write(
              prefix +
                escapeLogControls(
                  `code ${error.statusHint}, message ${error.message}`,
                ) + "\n" +
                prefix + escapeLogControls(`"${line}" ${error.statusHint} -`) +
                "\n",
            );
          },
        },
      );
      this.#engine.startSweep();
    }
    return this.#engine;
  }

  async #dispatch(head: RequestHead, exchange: Exchange): Promise<void> {
    const remote = exchange.remoteAddr;
    const client_address: ClientAddress = [remote.hostname, remote.port];
    const request: HandlerRequest = { head, exchange };
    try {
      await this.finish_request(request, client_address);
    } catch (error) {
      // A handler constructor (or an overridden finish_request) threw.
      exchange.closeAfter = true;
      this.handle_error(request, client_address, error);
    }
  }

  #acceptNext(): Promise<Deno.Conn | null | typeof RETRY> {
    if (this.#accepting !== null) return this.#accepting;
    const listener = this.socket;
    if (listener === null || this.#closed) return Promise.resolve(null);
    this.#accepting = listener.accept().then(
      (conn) => conn,
      async (error) => {
        if (this.#closed || error instanceof Deno.errors.BadResource) {
          return null;
        }
        // EMFILE and friends: report, back off briefly, keep serving.
        this.log_write(`Cannot accept a connection: ${error}\n`);
        await new Promise((resolve) => setTimeout(resolve, 10));
        return RETRY;
      },
    );
    return this.#accepting;
  }

  async #handleConnection(conn: Deno.Conn): Promise<void> {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const client_address: ClientAddress = [remote.hostname, remote.port];
    if (!this.verify_request(conn, client_address)) {
      closeQuietly(conn);
      return;
    }
    await this.process_request(conn, client_address);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * Python's `http.server.ThreadingHTTPServer`: like {@linkcode HTTPServer}
 * but serves connections concurrently (no threads: each connection is a
 * task on the event loop). What `python -m http.server` and h1's CLI use.
 *
 * @example Usage
 * ```ts ignore
 * import { SimpleHTTPRequestHandler, ThreadingHTTPServer } from "../mod.ts";
 *
 * const httpd = new ThreadingHTTPServer(["127.0.0.1", 8000], SimpleHTTPRequestHandler);
 * await httpd.serve_forever();
 * ```
 */
export class ThreadingHTTPServer extends HTTPServer {
  /** Python: handler threads do not block exit; kept for compatibility. */
  daemon_threads = true;
}

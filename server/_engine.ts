/*
 * The listener side of the server, shared by serve() and HTTPServer: accept
 * loop, connection set, deadline sweep and graceful shutdown.
 *
 *   state      on                         next
 *   ─────────  ─────────────────────────  ───────────────────────────────────
 *   serving    shutdown()                 draining: listener closed, idle
 *                                         connections closed, busy ones end
 *                                         after their response
 *   draining   last connection ends       finished
 *   draining   shutdownTimeoutMs passes   finished (the rest force-closed)
 */

import {
  type CannedResponse,
  Connection,
  type Dispatch,
  type EngineState,
  trimOutBufferPool,
} from "./_connection.ts";
import { resolveServerLimits, type ServerLimits } from "./options.ts";

/**
 * The ALPN protocols h1's TLS listeners offer (RFC 7301): a client that
 * offers h2 and http/1.1 settles on HTTP/1.1, and one that offers only
 * http/1.0 (curl --http1.0) is served too.
 */
export const ALPN_PROTOCOLS: string[] = ["http/1.1", "http/1.0"];

/** How the engine reports errors it handled itself. */
export type ErrorSink = (error: unknown) => void;

/** Options for {@linkcode Engine}. */
export interface EngineOptions {
  limits?: Partial<ServerLimits>;
  onInternalError?: ErrorSink;
  /** Told about each response the engine sent itself (for access logs). */
  onCannedResponse?: (response: CannedResponse) => void;
  /** The dispatch hands Upgrade and CONNECT sockets to a hook (`onUpgrade`). */
  takesUpgrades?: boolean;
}

/** Accepts connections from a listener and runs each with a dispatch. */
export class Engine implements EngineState {
  readonly limits: Readonly<ServerLimits>;
  readonly takesUpgrades: boolean;
  readonly #connections = new Set<Connection>();
  readonly #dispatch: Dispatch;
  readonly #onInternalError: ErrorSink;
  readonly #onCannedResponse: ((response: CannedResponse) => void) | undefined;
  readonly #finished: Promise<void>;
  #resolveFinished!: () => void;
  #listener: Deno.Listener | null = null;
  #secure = false;
  #shuttingDown = false;
  #acceptDone = true;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #forceTimer: ReturnType<typeof setTimeout> | undefined;
  #ref = true;

  constructor(dispatch: Dispatch, options: EngineOptions = {}) {
    this.limits = resolveServerLimits(options.limits);
    this.takesUpgrades = options.takesUpgrades ?? false;
    this.#dispatch = dispatch;
    const sink = options.onInternalError;
    this.#onInternalError = sink === undefined ? () => {} : guardSink(sink);
    this.#onCannedResponse = options.onCannedResponse;
    this.#finished = new Promise((resolve) => this.#resolveFinished = resolve);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Resolves once shutdown completed and every connection is gone. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /** How many connections are open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  connectionEnded(connection: Connection): void {
    this.#connections.delete(connection);
    this.#maybeFinish();
  }

  reportError(error: unknown): void {
    if (isPeerGone(error)) return;
    this.#onInternalError(error);
  }

  reportCanned(response: CannedResponse): void {
    try {
      this.#onCannedResponse?.(response);
    } catch (error) {
      this.#onInternalError(error);
    }
  }

  /** Starts accepting from `listener` in the background. */
  start(listener: Deno.Listener, secure: boolean): void {
    this.#listener = listener;
    this.#secure = secure;
    this.#acceptDone = false;
    const tick = Math.max(
      10,
      Math.min(
        1000,
        Math.floor(
          Math.min(
            this.limits.headersTimeoutMs,
            this.limits.keepAliveTimeoutMs,
            this.limits.requestTimeoutMs,
          ) / 4,
        ),
      ),
    );
    this.#sweep = setInterval(() => this.#checkDeadlines(), tick);
    if (!this.#ref) Deno.unrefTimer(this.#sweep as unknown as number);
    void this.#acceptLoop(listener);
  }

  /**
   * Runs one accepted connection to its end (HTTPServer's serial mode).
   * `onNeedBytes` is told each time the engine waits for more of a request
   * (see `Connection.onNeedBytes`).
   */
  serveConnection(
    conn: Deno.Conn,
    secure: boolean,
    onNeedBytes: (() => void) | null = null,
  ): Promise<void> {
    // Unref'd, the engine's reads keep no process alive (Deno.serve's
    // unref() does the same); writes under way still do.
    if (!this.#ref) conn.unref();
    const connection = new Connection(conn, this, this.#dispatch, secure);
    connection.onNeedBytes = onNeedBytes;
    this.#connections.add(connection);
    // run() never throws and calls connectionEnded() as it ends; no async
    // frame of ours waits on it per connection.
    return connection.run();
  }

  /** Runs the deadline sweep without a listener (HTTPServer drives accept itself). */
  startSweep(): void {
    if (this.#sweep !== undefined) return;
    this.#sweep = setInterval(() => this.#checkDeadlines(), 250);
    // Never what keeps the process alive: open connections' reads (and
    // serve_forever's accept) do, and with none, a script that ran
    // handle_request() ends, as Python's does.
    Deno.unrefTimer(this.#sweep as unknown as number);
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    try {
      for (;;) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch (error) {
          if (this.#shuttingDown || error instanceof Deno.errors.BadResource) {
            break;
          }
          // EMFILE and friends: report, back off briefly, keep serving.
          this.reportError(error);
          await new Promise((resolve) => setTimeout(resolve, 10));
          continue;
        }
        if (this.#connections.size >= this.limits.maxConnections) {
          try {
            conn.close();
          } catch { /* already gone */ }
          continue;
        }
        void this.serveConnection(conn, this.#secure);
      }
    } finally {
      this.#acceptDone = true;
      this.#maybeFinish();
    }
  }

  #checkDeadlines(): void {
    const now = Date.now();
    for (const connection of this.#connections) connection.checkDeadline(now);
    trimOutBufferPool(now);
  }

  /**
   * Stops accepting, closes idle connections at once and lets busy ones
   * finish their current response (sent with `Connection: close`).
   */
  shutdown(): Promise<void> {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      try {
        this.#listener?.close();
      } catch { /* already closed */ }
      for (const connection of this.#connections) {
        if (connection.idle) connection.close();
      }
      this.#forceTimer = setTimeout(() => {
        for (const connection of this.#connections) connection.close();
        // A handler (or a response stream) that never settles would keep its
        // connection in the set forever: past the deadline, stop waiting.
        this.#connections.clear();
        this.#maybeFinish();
      }, this.limits.shutdownTimeoutMs);
      if (!this.#ref) Deno.unrefTimer(this.#forceTimer as unknown as number);
      this.#maybeFinish();
    }
    return this.#finished;
  }

  #maybeFinish(): void {
    if (!this.#shuttingDown || !this.#acceptDone) return;
    if (this.#connections.size > 0) return;
    clearInterval(this.#sweep);
    clearTimeout(this.#forceTimer);
    this.#resolveFinished();
  }

  /** Keeps the process alive while serving (the default). */
  ref(): void {
    this.#ref = true;
    if (this.#sweep !== undefined) {
      Deno.refTimer(this.#sweep as unknown as number);
    }
    for (const connection of this.#connections) connection.conn.ref();
  }

  /** Lets the process exit even while serving. */
  unref(): void {
    this.#ref = false;
    if (this.#sweep !== undefined) {
      Deno.unrefTimer(this.#sweep as unknown as number);
    }
    for (const connection of this.#connections) connection.conn.unref();
  }
}

/**
 * The error hook, made safe to call: a hook that throws has nowhere left to
 * report to, so its error is dropped rather than left to end the process as
 * an unhandled rejection.
 */
export function guardSink(sink: ErrorSink): ErrorSink {
  return (error) => {
    try {
      sink(error);
    } catch {
      // Dropped; see above.
    }
  };
}

/** Errors that only mean the peer went away. */
export function isPeerGone(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionAborted ||
    // A TLS peer that sent garbage or left without close_notify.
    error instanceof Deno.errors.InvalidData ||
    error instanceof Deno.errors.UnexpectedEof ||
    (error instanceof Error && error.name === "ConnectionClosedError") ||
    (error instanceof Error &&
      /tls|handshake|certificate/i.test(error.message));
}

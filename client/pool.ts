/**
 * `Pool`: keep-alive connections per origin, with optional pipelining of
 * idempotent requests.
 *
 *   connection state  on                                next state
 *   ────────────────  ────────────────────────────────  ──────────
 *   dialing           connected                         busy
 *   busy              request written (pipelining)      busy (depth+1)
 *   busy              last response read to its end     idle
 *   idle              request                           busy
 *   idle              idleTimeoutMs passes              closed
 *   busy / idle       Connection: close, error, abort   closed
 *
 * @module
 */

import { encodeLatin1, requestHeadText } from "./_head.ts";
import type { Limits } from "../http1/limits.ts";
import { ConnectionResetError } from "../net/errors.ts";
import { contentLengthValue } from "../http1/framing.ts";
import { splitTokens } from "../http1/headers.ts";
import { dialTcp, handshakeWithin, Transport } from "./_transport.ts";
import {
  IDEMPOTENT_METHODS,
  prepareBody,
  type PreparedBody,
  type RequestBody,
  writeStream,
} from "./_body.ts";
import {
  ConnectTimeout,
  HTTPException,
  InvalidURL,
  RemoteDisconnected,
} from "./errors.ts";
import { HTTPResponse, type ResponseChannel } from "./http_response.ts";
import type { Trace, TraceExchange } from "./trace.ts";
import type { HeadersInput } from "./http_connection.ts";

/** Options for {@linkcode Pool}. */
export interface PoolOptions {
  /** Most open connections to one origin (default 10). */
  maxConnectionsPerOrigin?: number;
  /** Close a connection idle this long (default 4000 ms). */
  idleTimeoutMs?: number;
  /**
   * How many idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS, TRACE
   * with in-memory bodies) may be written on one connection before their
   * responses arrive (default 1: no pipelining). Responses are matched to
   * requests strictly in order; a response must be read to its end (or
   * closed) before the next one on its connection can be read.
   */
  pipelining?: number;
  /** Default connect timeout, TLS handshake included (none by default). */
  connectTimeoutMs?: number;
  /** Default time allowed for a response head after the request is written. */
  headersTimeoutMs?: number;
  /** Default time allowed between two reads of a response body. */
  bodyTimeoutMs?: number;
  /** Response parser limits. */
  limits?: Partial<Limits>;
  /** Extra trusted root certificates (PEM) for https origins. */
  caCerts?: string[];
  /** Record every exchange. */
  trace?: Trace | null;
}

/** One request for {@linkcode Pool.request}. */
export interface PoolRequest {
  /** The method (default "GET"). */
  method?: string;
  /** The request-target: path and query (default "/"). */
  path?: string;
  /** Header fields; `Host` and framing fields are added unless present. */
  headers?: HeadersInput;
  /** The body. */
  body?: RequestBody | null;
  /** Aborts the exchange (closing its connection). */
  signal?: AbortSignal | undefined;
  /** Overrides the pool's connect timeout. */
  connectTimeoutMs?: number | undefined;
  /** Overrides the pool's head timeout. */
  headersTimeoutMs?: number | undefined;
  /** Overrides the pool's body idle timeout. */
  bodyTimeoutMs?: number | undefined;
}

/** Counts for monitoring and tests. */
export interface PoolStats {
  /** Open connections, all origins. */
  connections: number;
  /** Of which idle. */
  idle: number;
  /** Requests waiting for a connection. */
  waiting: number;
}

interface PoolConn {
  transport: Transport;
  inFlight: number;
  pipelinable: boolean;
  closing: boolean;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  idleSince: number;
  // A response on this connection is being read (its turn in order); the
  // exchanges waiting for theirs, in the order their requests were written.
  reading: boolean;
  readQueue: (() => void)[];
  // A write is under way (or deferred); writes waiting for it, in order.
  writing: boolean;
  writeQueue: (() => Promise<void>)[];
  // Heads and bodies of in-memory requests waiting for the next write (one
  // write job is scheduled while this is not empty), and trace callbacks.
  outbox: (string | Uint8Array)[];
  outboxSent: (() => void)[];
}

interface Origin {
  key: string;
  hostname: string;
  port: number;
  tls: boolean;
  conns: PoolConn[];
  dialing: number;
  waiters: (() => void)[];
  // The Host field value.
  host: string;
  // Strings this origin was looked up by (#byString keys), to forget them.
  aliases: string[];
  // Requests inside #acquire for this origin (woken waiters included).
  acquiring: number;
}

interface Attempt {
  reused: boolean;
  // Not answered because the server ended the connection at a message
  // boundary after an earlier response (Connection: close, or a per-
  // connection request cap): it never processed this request.
  unanswered: boolean;
}

// Sends of one idempotent request that met a connection the server closed
// after earlier responses (pipelining past a maxRequestsPerSocket cap can
// need several); a request that met a stale idle connection gets one more.
const MAX_UNANSWERED_SENDS = 8;

/**
 * Keep-alive connections per origin (`scheme://host:port`), reused across
 * requests, capped by `maxConnectionsPerOrigin`, closed after
 * `idleTimeoutMs`. An idempotent request that meets a connection the server
 * closed while idle is sent again once on a new one; other requests never
 * are. With `pipelining > 1`, idempotent requests share busy connections.
 *
 * @example Usage
 * ```ts ignore
 * import { Pool } from "./pool.ts";
 *
 * using pool = new Pool({ maxConnectionsPerOrigin: 4, pipelining: 8 });
 * const responses = await Promise.all(
 *   ["/a", "/b", "/c"].map((path) => pool.request("http://127.0.0.1:8080", { path })),
 * );
 * for (const response of responses) console.log(response.status, await response.read());
 * ```
 */
export class Pool {
  readonly #origins = new Map<string, Origin>();
  // Origin strings as callers pass them, to skip URL parsing on reuse.
  readonly #byString = new Map<string, Origin>();
  readonly #max: number;
  readonly #idleTimeoutMs: number;
  // Aborted by close(): ends TLS handshakes still running.
  readonly #closing = new AbortController();
  readonly #depth: number;
  readonly #options: PoolOptions;
  #closed = false;

  /**
   * Creates a new `Pool`.
   *
   * @param options Limits on connections, pipelining and timeouts.
   */
  constructor(options: PoolOptions = {}) {
    this.#options = options;
    this.#max = options.maxConnectionsPerOrigin ?? 10;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 4000;
    this.#depth = options.pipelining ?? 1;
    if (!(this.#max >= 1) || !(this.#depth >= 1)) {
      throw new RangeError(
        "Cannot create a pool: maxConnectionsPerOrigin and pipelining must be at least 1",
      );
    }
  }

  /** Connection counts. */
  get stats(): PoolStats {
    let connections = 0, idle = 0, waiting = 0;
    for (const origin of this.#origins.values()) {
      connections += origin.conns.length;
      idle += origin.conns.filter((c) => c.inFlight === 0).length;
      waiting += origin.waiters.length;
    }
    return { connections, idle, waiting };
  }

  /**
   * Sends a request to `origin` and reads the response head.
   *
   * @param origin "http://host:port" or "https://host" (a path is ignored).
   * @param request Method, path, headers, body, signal and timeouts.
   * @returns The response; read its body to its end or close it, so the
   *   connection can be reused.
   */
  async request(
    origin: string | URL,
    request: PoolRequest = {},
  ): Promise<HTTPResponse> {
    if (this.#closed) {
      throw new HTTPException("Cannot send a request: the pool is closed");
    }
    const target = this.#origin(origin);
    const method = request.method ?? "GET";
    const path = request.path ?? "/";
    const prepared = prepareBody(request.body, 64 * 1024);
    const body = prepared instanceof Promise ? await prepared : prepared;
    const [head, chunked, framed, closes] = buildHead(
      target,
      method,
      path,
      request,
      body,
    );
    const replayable = body.stream === null;
    const idempotent = IDEMPOTENT_METHODS.has(method) && replayable;
    // RFC 9112 §9.6: after a request that says Connection: close, the
    // client sends nothing more on that connection: it is not pipelined
    // behind, nor reused.
    const pipelinable = idempotent && !closes;
    for (let attempt = 0;; attempt++) {
      const state: Attempt = { reused: false, unanswered: false };
      try {
        return await this.#exchange(
          // Looked up again: a failed attempt may have left the origin
          // with nothing, and so forgotten.
          attempt === 0 ? target : this.#origin(origin),
          method,
          path,
          head,
          framed,
          chunked,
          pipelinable,
          closes,
          request,
          state,
          attempt > 0,
        );
      } catch (error) {
        const stale = error instanceof RemoteDisconnected ||
          error instanceof ConnectionResetError;
        // RFC 9112 §9.3.2: requests a closed connection left unanswered
        // are sent again when that is safe (idempotent, body replayable).
        if (
          stale && idempotent && !request.signal?.aborted &&
          ((attempt === 0 && state.reused) ||
            (state.unanswered && attempt + 1 < MAX_UNANSWERED_SENDS))
        ) continue;
        if (request.signal?.aborted) throw request.signal.reason;
        throw error;
      }
    }
  }

  #origin(origin: string | URL): Origin {
    const cached = typeof origin === "string"
      ? this.#byString.get(origin)
      : undefined;
    if (cached !== undefined) return cached;
    let url: URL;
    try {
      url = new URL(origin);
    } catch (cause) {
      throw new InvalidURL(
        `Cannot parse origin ${JSON.stringify(String(origin).slice(0, 64))}`,
        { cause },
      );
    }
    const tls = url.protocol === "https:";
    if (!tls && url.protocol !== "http:") {
      throw new InvalidURL(
        `Cannot send to ${url.protocol} URLs: only http: and https: are supported`,
      );
    }
    const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const key = `${url.protocol}//${url.host}`;
    let entry = this.#origins.get(key);
    if (entry === undefined) {
      const defaultPort = tls ? 443 : 80;
      const h = hostname.includes(":") ? `[${hostname}]` : hostname;
      entry = {
        key,
        hostname,
        port,
        tls,
        conns: [],
        dialing: 0,
        waiters: [],
        host: port === defaultPort ? h : `${h}:${port}`,
        aliases: [],
        acquiring: 0,
      };
      this.#origins.set(key, entry);
    }
    if (typeof origin === "string" && this.#byString.size < 1024) {
      this.#byString.set(origin, entry);
      entry.aliases.push(origin);
    }
    return entry;
  }

  // An origin with no connection, dial or waiter left is dropped, as Go's
  // Transport and undici's Agent do: a pool that met many origins (one per
  // redirect, say) keeps nothing for them.
  #forget(origin: Origin): void {
    if (
      origin.conns.length > 0 || origin.dialing > 0 || origin.acquiring > 0 ||
      origin.waiters.length > 0 || this.#origins.get(origin.key) !== origin
    ) return;
    this.#origins.delete(origin.key);
    for (const alias of origin.aliases) {
      if (this.#byString.get(alias) === origin) this.#byString.delete(alias);
    }
  }

  async #dial(
    origin: Origin,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<PoolConn> {
    const address = { hostname: origin.hostname, port: origin.port };
    const started = performance.now();
    let conn: Deno.Conn = await untilAborted(
      dialTcp(address, timeoutMs),
      signal,
    );
    if (origin.tls) {
      const caCerts = this.#options.caCerts;
      const tls = await Deno.startTls(conn as Deno.TcpConn, {
        hostname: origin.hostname,
        ...(caCerts === undefined ? {} : { caCerts }),
      });
      // connectTimeoutMs covers the handshake too (curl's
      // --connect-timeout, Go's TLSHandshakeTimeout), and the request's
      // signal and close() end it.
      const stop = signal === undefined
        ? this.#closing.signal
        : AbortSignal.any([signal, this.#closing.signal]);
      try {
        await handshakeWithin(
          tls,
          address,
          timeoutMs === undefined
            ? undefined
            : timeoutMs - (performance.now() - started),
          stop,
        );
      } catch (cause) {
        try {
          tls.close();
        } catch {
          // Closed already, by handshakeWithin.
        }
        if (cause instanceof ConnectTimeout || stop.aborted) throw cause;
        throw new HTTPException(
          `Cannot complete the TLS handshake with ${origin.key}: ${
            (cause as Error).message
          }`,
          "TLS_HANDSHAKE_FAILED",
          { cause },
        );
      }
      conn = tls;
    }
    const transport = new Transport(
      conn,
      address,
      performance.now() - started,
      {
        limits: this.#options.limits,
        tap: this.#options.trace != null,
        readAfterWriteFailure: true,
      },
    );
    return {
      transport,
      inFlight: 0,
      pipelinable: true,
      closing: false,
      idleTimer: undefined,
      idleSince: 0,
      reading: false,
      readQueue: [],
      writing: false,
      writeQueue: [],
      outbox: [],
      outboxSent: [],
    };
  }

  // Claims a connection (synchronously, so no other request takes it).
  #claim(conn: PoolConn, pipelinable: boolean): PoolConn {
    conn.transport.claim();
    conn.inFlight++;
    if (!pipelinable) conn.pipelinable = false;
    return conn;
  }

  // Claims a connection without waiting, in the order #acquire tries: an
  // idle one; none while another may be dialled; else a pipelinable one.
  #claimNow(origin: Origin, pipelinable: boolean): PoolConn | null {
    const conns = origin.conns;
    for (let i = conns.length - 1; i >= 0; i--) {
      const c = conns[i]!;
      if (c.inFlight === 0 && !c.closing && c.transport.writable) {
        return this.#claim(c, pipelinable);
      }
    }
    if (conns.length + origin.dialing < this.#max) return null;
    if (this.#depth > 1 && pipelinable) {
      let best: PoolConn | null = null;
      for (const c of conns) {
        if (
          c.pipelinable && !c.closing && c.transport.writable &&
          c.inFlight < this.#depth &&
          (best === null || c.inFlight < best.inFlight)
        ) best = c;
      }
      if (best !== null) return this.#claim(best, true);
    }
    return null;
  }

  // Finds or opens a connection for one request, already claimed.
  async #acquire(
    origin: Origin,
    pipelinable: boolean,
    request: PoolRequest,
  ): Promise<[PoolConn, boolean]> {
    origin.acquiring++;
    try {
      return await this.#acquireNow(origin, pipelinable, request);
    } finally {
      origin.acquiring--;
      this.#forget(origin);
    }
  }

  async #acquireNow(
    origin: Origin,
    pipelinable: boolean,
    request: PoolRequest,
  ): Promise<[PoolConn, boolean]> {
    for (;;) {
      request.signal?.throwIfAborted();
      if (this.#closed) {
        throw new HTTPException("Cannot send a request: the pool is closed");
      }
      const claimed = this.#claimNow(origin, pipelinable);
      if (claimed !== null) return [claimed, false];
      if (origin.conns.length + origin.dialing < this.#max) {
        origin.dialing++;
        let conn: PoolConn;
        try {
          conn = await this.#dial(
            origin,
            request.connectTimeoutMs ?? this.#options.connectTimeoutMs,
            request.signal,
          );
        } finally {
          origin.dialing--;
          this.#wake(origin);
        }
        if (this.#closed) {
          conn.transport.close();
          continue;
        }
        origin.conns.push(conn);
        return [this.#claim(conn, pipelinable), true];
      }
      await new Promise<void>((resolve, reject) => {
        const signal = request.signal;
        const onAbort = () => {
          const i = origin.waiters.indexOf(wake);
          if (i !== -1) origin.waiters.splice(i, 1);
          reject(signal!.reason);
        };
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        origin.waiters.push(wake);
      });
    }
  }

  // Runs a write job now, or after the writes queued before it.
  #schedule(conn: PoolConn, job: () => Promise<void>): void {
    if (conn.writing) conn.writeQueue.push(job);
    else this.#runWrite(conn, job);
  }

  #runWrite(conn: PoolConn, job: () => Promise<void>): void {
    conn.writing = true;
    let written: Promise<void>;
    try {
      written = job();
    } catch (error) {
      written = Promise.reject(error);
    }
    // A failed write closes the socket (the exchanges see it when reading)
    // and records its error on the transport; nothing else to do here.
    const next = () => {
      const job = conn.writeQueue.shift();
      if (job === undefined) conn.writing = false;
      else this.#runWrite(conn, job);
    };
    written.then(next, next);
  }

  // Queues an in-memory request. Requests queued before the write starts
  // leave together; when pipelining, the write waits until the responses
  // already received are handled (the socket is about to be read), so one
  // read's worth of answers turns into one write of new requests.
  #enqueue(
    conn: PoolConn,
    head: string,
    body: Uint8Array | null,
    sent: (() => void) | null,
  ): void {
    const outbox = conn.outbox;
    const first = outbox.length === 0;
    // Heads in a row become one string: one encode for the batch.
    const last = outbox.length - 1;
    if (!first && typeof outbox[last] === "string") outbox[last] += head;
    else outbox.push(head);
    if (body !== null && body.length > 0) outbox.push(body);
    if (sent !== null) conn.outboxSent.push(sent);
    if (!first) return;
    const transport = conn.transport;
    const flush = (): Promise<void> => {
      const parts = conn.outbox;
      const done = conn.outboxSent;
      conn.outbox = [];
      conn.outboxSent = [];
      if (transport.closed) {
        return Promise.reject(
          new RemoteDisconnected(
            `Cannot write to ${transport.peer}: the connection was closed`,
          ),
        );
      }
      const written = transport.writeParts(parts);
      if (done.length === 0) return written;
      return written.then(() => {
        for (const callback of done) callback();
      });
    };
    if (
      this.#depth > 1 && !conn.writing && !transport.closed &&
      !transport.reading && transport.parser.bufferedBytes > 0
    ) {
      // Hold the writer until the socket is about to be read.
      conn.writing = true;
      transport.onBeforeRead = () => {
        conn.writing = false;
        this.#runWrite(conn, flush);
      };
    } else {
      this.#schedule(conn, flush);
    }
  }

  #wake(origin: Origin): void {
    const waiters = origin.waiters.splice(0);
    for (const wake of waiters) wake();
  }

  // One timer per idle period, not per request: when it fires on a
  // connection used since, it re-arms for the time left.
  #armIdle(origin: Origin, conn: PoolConn, ms: number): void {
    conn.idleTimer = setTimeout(() => {
      conn.idleTimer = undefined;
      if (conn.inFlight > 0 || conn.transport.closed) return;
      const left = conn.idleSince + this.#idleTimeoutMs - Date.now();
      if (left > 1) this.#armIdle(origin, conn, left);
      else this.#remove(origin, conn);
    }, ms);
    Deno.unrefTimer(conn.idleTimer as unknown as number);
  }

  // A connection with nothing in flight: idle timer, idle read.
  #becomeIdle(origin: Origin, conn: PoolConn): void {
    if (this.#closed) return;
    // Date.now(): performance.now() is a runtime call, once per request.
    conn.idleSince = Date.now();
    if (conn.idleTimer === undefined) {
      this.#armIdle(origin, conn, this.#idleTimeoutMs);
    }
    conn.transport.watchIdle(() => this.#remove(origin, conn));
  }

  #remove(origin: Origin, conn: PoolConn): void {
    clearTimeout(conn.idleTimer);
    conn.idleTimer = undefined;
    conn.transport.close();
    const i = origin.conns.indexOf(conn);
    if (i !== -1) origin.conns.splice(i, 1);
    this.#wake(origin);
    this.#forget(origin);
  }

  async #exchange(
    origin: Origin,
    method: string,
    path: string,
    head: string,
    body: PreparedBody,
    chunked: boolean,
    pipelinable: boolean,
    closes: boolean,
    request: PoolRequest,
    state: Attempt,
    retry: boolean,
  ): Promise<HTTPResponse> {
    const signal = request.signal;
    signal?.throwIfAborted();
    if (this.#closed) {
      throw new HTTPException("Cannot send a request: the pool is closed");
    }
    // Most requests find a connection without waiting: no await then.
    const now = this.#claimNow(origin, pipelinable);
    const [conn, fresh] = now !== null
      ? [now, false]
      : await this.#acquire(origin, pipelinable, request);
    if (signal?.aborted) {
      // Aborted while a connection was found or dialled: nothing was sent.
      conn.inFlight--;
      if (conn.inFlight === 0) {
        conn.pipelinable = true;
        this.#becomeIdle(origin, conn);
      }
      this.#wake(origin);
      throw signal.reason;
    }
    const transport = conn.transport;
    if (conn.inFlight > 1 || transport.exchanges > 0) state.reused = true;
    if (this.#depth > 1 && pipelinable) this.#wake(origin);

    const exchange: TraceExchange | null = this.#options.trace?.start(
      method,
      path,
      `${origin.tls ? "https" : "http"}://${transport.peer}`,
    ) ?? null;
    exchange?.connected(
      transport.id,
      state.reused,
      fresh ? transport.connectMs : null,
      retry,
    );

    // Order matters: the parser matches responses to requests as written,
    // and responses are read in the same order (readQueue).
    transport.parser.expectResponseTo(method);
    const myTurn = !conn.reading;
    let turn: Promise<void> | null = null;
    let takeTurn: (() => void) | null = null;
    if (myTurn) conn.reading = true;
    else {
      turn = new Promise<void>((resolve) => {
        takeTurn = resolve;
        conn.readQueue.push(resolve);
      });
    }
    // Whether this exchange holds the read turn (a waiter aborted before
    // its turn came has none to pass on).
    let holdsTurn = myTurn;
    const release = () => {
      if (!holdsTurn) return;
      holdsTurn = false;
      const next = conn.readQueue.shift();
      if (next === undefined) conn.reading = false;
      else next();
    };

    let settled = false;
    const onAbort = () => {
      // Our response is being read: the connection cannot carry on.
      if (holdsTurn) this.#remove(origin, conn);
      // Still waiting behind another caller's response: that one is read
      // in full first; the connection takes nothing new and closes when
      // our turn comes (see below).
      else conn.closing = true;
    };
    // ended: the response was read to its end (else it failed or was dropped).
    const settle = (ended: boolean, keepAlive: boolean) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      conn.inFlight--;
      if (conn.inFlight === 0) conn.pipelinable = true;
      if (!keepAlive) {
        conn.closing = true;
        // Requests pipelined behind this one fail as stale and are retried.
        if (ended) transport.closedAfterMessage = true;
        this.#remove(origin, conn);
        release();
        return;
      }
      release();
      transport.exchanges++;
      if (conn.inFlight === 0) this.#becomeIdle(origin, conn);
      this.#wake(origin);
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    // A body that failed to stream (not the socket: the transport records
    // that) is reported instead of what the read then meets.
    let bodyError: unknown = null;
    // Whether all of this request went out. A response can end first (a
    // 413 to an upload still being written): then the connection is not
    // kept, as RFC 9112 §9.5 asks of a client that stops sending a body
    // (and as Go's Transport does), or the next request would queue behind
    // an upload the server will reset.
    let written = false;
    if (body.stream === null && !chunked) {
      const bytes = body.bytes;
      this.#enqueue(
        conn,
        head,
        bytes,
        exchange === null ? () => written = true : () => {
          written = true;
          exchange.sent(encodeLatin1(head), bytes?.length ?? 0, bytes);
        },
      );
    } else {
      this.#schedule(conn, async () => {
        try {
          if (transport.closed) {
            throw new RemoteDisconnected(
              `Cannot write to ${transport.peer}: the connection was closed`,
            );
          }
          await transport.writeParts([head]);
          const source = body.bytes !== null ? [body.bytes] : body.stream;
          const n = source === null ? 0 : await writeStream(
            (b) => transport.write(b),
            source,
            chunked,
            chunked ? null : body.length,
          );
          written = true;
          exchange?.sent(encodeLatin1(head), n, body.bytes);
        } catch (error) {
          // The socket failed (the transport keeps what it already read:
          // an early response), or the body source did: then the server
          // would wait for the rest of the body, so give up the socket.
          if (error !== transport.writeError) {
            bodyError = error;
            transport.close();
          }
          throw error;
        }
      });
    }
    // Do not wait for the write before reading: a pipelined write may be
    // waiting for this very read (see #enqueue). A write the server cut
    // short (reset, closed) leaves the socket readable: a response it sent
    // first (an early 413) is the answer; else the read fails too, and the
    // write's error is reported.
    if (turn !== null) {
      // The abort does not wait for the response ahead to be read: that
      // may never happen while its caller holds it unread.
      const came = await untilTurnOrAbort(turn, signal);
      if (came) holdsTurn = true;
      else if (conn.readQueue.includes(takeTurn!)) {
        // Aborted before our turn: the caller hears now, and the socket,
        // whose next response would be ours, is closed when the turn comes,
        // after the responses ahead (other callers') were read.
        exchange?.fail(signal!.reason);
        conn.closing = true;
        void turn.then(() => {
          holdsTurn = true;
          settle(false, false);
        });
        throw signal!.reason;
      } else holdsTurn = true; // the turn came at the same moment
      if (signal?.aborted) {
        exchange?.fail(signal.reason);
        settle(false, false);
        throw signal.reason;
      }
    }
    const channel: ResponseChannel = {
      transport,
      method,
      readTimeoutMs: request.bodyTimeoutMs ?? this.#options.bodyTimeoutMs,
      onEnd: (keepAlive) =>
        settle(
          true,
          keepAlive && !closes && written && transport.writeError === null,
        ),
      onAbandon: () => settle(false, false),
      trace: exchange,
      debug: null,
    };
    const response = new HTTPResponse(channel);
    try {
      await response.begin(
        request.headersTimeoutMs ?? this.#options.headersTimeoutMs,
      );
    } catch (error) {
      state.unanswered = transport.closedAfterMessage;
      throw bodyError ?? transport.writeError ?? error;
    }
    return response;
  }

  /** Closes every connection; requests in flight fail. */
  close(): void {
    this.#closed = true;
    this.#closing.abort(
      new HTTPException("Cannot send a request: the pool is closed"),
    );
    for (const origin of this.#origins.values()) {
      for (const conn of [...origin.conns]) this.#remove(origin, conn);
      this.#wake(origin);
    }
    this.#origins.clear();
    this.#byString.clear();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

// The dial, unless the signal aborts first (then its socket, if it comes, is
// closed): Deno.connect takes no signal.
function untilAborted(
  dialing: Promise<Deno.Conn>,
  signal: AbortSignal | undefined,
): Promise<Deno.Conn> {
  if (signal === undefined) return dialing;
  if (signal.aborted) {
    dialing.then((conn) => conn.close(), () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<Deno.Conn>((resolve, reject) => {
    const onAbort = () => {
      dialing.then((conn) => conn.close(), () => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    dialing.then(
      (conn) => {
        signal.removeEventListener("abort", onAbort);
        // Aborted already: onAbort closes it.
        if (!signal.aborted) resolve(conn);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

// Resolves true when the read turn comes, false if the signal aborts first.
function untilTurnOrAbort(
  turn: Promise<void>,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (signal === undefined) return turn.then(() => true);
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => resolve(false);
    signal.addEventListener("abort", onAbort, { once: true });
    void turn.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    });
  });
}

// The head for one request, with Host and body framing added, whether the
// body goes chunked, and the body (its length set to a caller's
// Content-Length for a stream, so writing enforces it). Framing the caller
// set that the body would contradict is refused: a Content-Length the body
// does not match, or one beside Transfer-Encoding, would make the server
// read the rest as the next request (RFC 9112 §6.2, §11.2; Go refuses too).
function buildHead(
  origin: Origin,
  method: string,
  path: string,
  request: PoolRequest,
  body: PreparedBody,
): [string, boolean, PreparedBody, boolean] {
  const fields: [string, string][] = [];
  let host = false, length = false, te = false, type = false, closes = false;
  let declared = "";
  let coding = "";
  const add = (name: string, value: string) => {
    const lower = name.toLowerCase();
    if (lower === "host") host = true;
    else if (lower === "content-length") {
      if (length && value !== declared) {
        throw new TypeError(
          `Cannot send two different Content-Length values (${declared}, ${value})`,
        );
      }
      if (length) return;
      length = true;
      declared = value;
    } else if (lower === "transfer-encoding") {
      te = true;
      coding = value;
    } else if (lower === "content-type") type = true;
    else if (lower === "connection" && splitTokens(value).includes("close")) {
      closes = true;
    }
    fields.push([name, value]);
  };
  const headers = request.headers;
  if (headers === undefined) {
    // Nothing to look through.
  } else if (headers instanceof Headers) headers.forEach((v, n) => add(n, v));
  else if (Symbol.iterator in headers) {
    for (
      const [n, v] of headers as Iterable<readonly [string, string | number]>
    ) {
      add(n, String(v));
    }
  } else for (const [n, v] of Object.entries(headers)) add(n, String(v));
  if (!host) fields.unshift(["Host", origin.host]);
  if (!type && body.contentType !== null) {
    fields.push(["Content-Type", body.contentType]);
  }
  if (length && te) {
    throw new TypeError(
      "Cannot send both Content-Length and Transfer-Encoding (RFC 9112 §6.2)",
    );
  }
  if (te && !/(^|,)\s*chunked\s*$/i.test(coding)) {
    throw new TypeError(
      `Cannot send Transfer-Encoding "${coding}": h1 frames the body with chunked, which must come last`,
    );
  }
  if (length) {
    const want = contentLengthValue(declared);
    if (want === null) {
      throw new TypeError(
        `Cannot send Content-Length ${JSON.stringify(declared)}: not a length`,
      );
    }
    const have = body.length ?? (body.stream === null ? 0 : null);
    if (have !== null && have !== want) {
      throw new TypeError(
        `Cannot send Content-Length ${want} with a body of ${have} bytes`,
      );
    }
    if (have === null) body = { ...body, length: want };
  }
  let chunked = te;
  if (!length && !te) {
    if (body.length !== null) {
      fields.push(["Content-Length", String(body.length)]);
    } else if (body.stream !== null) {
      fields.push(["Transfer-Encoding", "chunked"]);
      chunked = true;
    } else if (method === "POST" || method === "PUT" || method === "PATCH") {
      fields.push(["Content-Length", "0"]);
    }
  }
  return [requestHeadText(method, path, fields), chunked, body, closes];
}

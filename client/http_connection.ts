/**
 * `HTTPConnection` and `HTTPSConnection`: Python's `http.client` connection
 * classes over Deno sockets and the h1 protocol core.
 *
 *   state             call                      next state
 *   ────────────────  ────────────────────────  ───────────────
 *   Idle              putrequest()              Request-started
 *   Request-started   putheader()               Request-started
 *   Request-started   endheaders() / request()  Request-sent
 *   Request-sent      getresponse()             Idle
 *   any               close()                   Idle (socket closed)
 *   other calls in the wrong state throw CannotSendRequest,
 *   CannotSendHeader or ResponseNotReady (ImproperConnectionState).
 *
 * @module
 */

import {
  assertValidField,
  serializeRequestHead,
  trimFieldValue,
} from "../http1/serializer.ts";
import { encodeLatin1, requestHeadText } from "./_head.ts";
import type { Limits } from "../http1/limits.ts";
import type { ResponseHead } from "../http1/events.ts";
import { ConnectionResetError } from "../net/errors.ts";
import { dialTcp, handshakeWithin, Transport } from "./_transport.ts";
import {
  type BoundAddress,
  isBoundConn,
  startTlsBound,
} from "./_bound_conn.ts";
import {
  type ByteWriter,
  debugReplyText,
  LineSink,
  pyBytesRepr,
} from "./_sink.ts";
import {
  IDEMPOTENT_METHODS,
  join,
  prepareBody,
  type PreparedBody,
  type RequestBody,
  writeStream,
} from "./_body.ts";
import {
  CannotSendHeader,
  CannotSendRequest,
  ConnectTimeout,
  HTTPException,
  ImproperConnectionState,
  InvalidURL,
  NotConnected,
  ReadTimeout,
  RemoteDisconnected,
  ResponseNotReady,
} from "./errors.ts";
import {
  HTTPResponse,
  type InformationalResponse,
  type ResponseChannel,
} from "./http_response.ts";
import { HTTPMessage } from "./http_message.ts";
import type { Trace, TraceExchange } from "./trace.ts";

export type { RequestBody };

/** Header fields as callers pass them. */
export type HeadersInput =
  | Record<string, string | number>
  | Iterable<readonly [string, string | number]>
  | Headers;

/** Options for {@linkcode HTTPConnection}. */
export interface HTTPConnectionOptions {
  /**
   * Seconds to wait for the connection and for each read, as in Python;
   * null or omitted waits forever.
   */
  timeout?: number | null;
  /**
   * Python's local address to bind, `[host, port]` (`""` any address, `0`
   * any port). `Deno.connect` cannot choose it, so such connections go
   * through `node:net` (grant `--allow-net` for that host too); over HTTPS,
   * `caCerts` then replaces the default roots rather than adding to them.
   */
  source_address?: readonly [string, number] | null;
  /** Bytes read at a time from a file body (default 8192, as in Python). */
  blocksize?: number;
  /** Response parser limits (status line, head size, header count …). */
  limits?: Partial<Limits>;
  /** How long `Expect: 100-continue` waits for the interim response (default 1000 ms). */
  continueTimeoutMs?: number;
  /** Record every exchange (raw heads, timings, reuse). */
  trace?: Trace | null;
  /** Where `set_debuglevel()` output goes (default `Deno.stderr`). */
  debugWriter?: ByteWriter;
}

/** Options for {@linkcode HTTPConnection.request} and `endheaders`. */
export interface SendOptions {
  /** Frame the body with the chunked coding (set automatically for streams). */
  encode_chunked?: boolean;
}

/** Options for {@linkcode HTTPConnection.putrequest}. */
export interface PutRequestOptions {
  /** Do not add a `Host` header. */
  skip_host?: boolean;
  /** Do not add `Accept-Encoding: identity`. */
  skip_accept_encoding?: boolean;
}

type State = "Idle" | "Request-started" | "Request-sent";

// What was sent last, to send again after a stale keep-alive connection.
interface SentRequest {
  method: string;
  target: string;
  // Latin-1 text, encoded into the socket's output buffer when written.
  head: string;
  body: PreparedBody;
  chunked: boolean;
  expectContinue: boolean;
  reused: boolean;
  retried: boolean;
}

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// deno-lint-ignore no-control-regex
const URL_FORBIDDEN = /[\x00-\x20\x7f]/;
const SMALL_BODY_BYTES = 64 * 1024;
// The default of request()'s `headers`, recognised without looking inside.
const NO_HEADERS: Record<string, string> = Object.freeze({});

/**
 * Python's `http.client.HTTPConnection`: one connection to one server, used
 * one request at a time. Calls that block in Python return Promises. It
 * connects lazily on the first request, keeps the connection alive between
 * requests, and reconnects when the server closed it; an idempotent request
 * that meets a connection the server closed while idle is sent again once.
 *
 * @example Usage
 * ```ts ignore
 * import { HTTPConnection } from "./http_connection.ts";
 *
 * const conn = new HTTPConnection("localhost", 8080);
 * await conn.request("GET", "/");
 * const response = await conn.getresponse();
 * console.log(response.status, response.reason);
 * console.log(await response.read());
 * conn.close();
 * ```
 */
export class HTTPConnection {
  /** The port used when none is given. */
  static default_port = 80;
  /** The host to connect to (the proxy when tunnelling). */
  readonly host: string;
  /** The port to connect to. */
  readonly port: number;
  /** Seconds for connecting and for each read, or null. */
  timeout: number | null;
  /** Bytes read at a time from a file body. */
  blocksize: number;
  /** The local `[host, port]` to connect from, or null (any). */
  readonly source_address: readonly [string, number] | null;
  /** Debug level set by `set_debuglevel()`. */
  debuglevel = 0;
  /** Connect on demand when sending (Python's `auto_open`). */
  auto_open = true;

  readonly #limits: Partial<Limits> | undefined;
  readonly #source: BoundAddress | null;
  readonly #continueTimeoutMs: number;
  readonly #trace: Trace | null;
  readonly #debugWriter: ByteWriter;
  #debug: LineSink | null = null;
  #transport: Transport | null = null;
  #state: State = "Idle";
  #response: HTTPResponse | null = null;
  // A getresponse() is waiting for the head.
  #awaitingResponse = false;
  #method = "";
  #target = "";
  #fields: [string, string][] = [];
  #sent: SentRequest | null = null;
  #exchange: TraceExchange | null = null;
  #interim: InformationalResponse[] = [];
  #forceClose = false;
  #tunnel: { host: string; port: number; headers: [string, string][] } | null =
    null;
  #connecting: Promise<Transport> | null = null;
  // Bumped by close(): a dial that finishes after it is dropped.
  #generation = 0;
  // The Host value for origin-form targets, validated once.
  #hostHeader: string | null = null;

  /**
   * Creates a connection; nothing is opened until the first request (or
   * `connect()`).
   *
   * @param host Host name or IP; "host:port" and "[v6]:port" work too.
   * @param port Port; defaults to the one in `host`, else 80 (443 for HTTPS).
   * @param options Timeout in seconds, limits, tracing.
   * @throws {InvalidURL} For a port that is not a number.
   */
  constructor(
    host: string,
    port?: number | null,
    options: HTTPConnectionOptions = {},
  ) {
    const [h, p] = splitHostPort(host, port ?? null, this.default_port);
    this.host = h;
    this.port = p;
    this.timeout = options.timeout ?? null;
    this.blocksize = options.blocksize ?? 8192;
    this.#limits = options.limits;
    this.#continueTimeoutMs = options.continueTimeoutMs ?? 1000;
    this.#trace = options.trace ?? null;
    this.#debugWriter = options.debugWriter ?? Deno.stderr;
    const source = options.source_address ?? null;
    this.source_address = source;
    this.#source = source !== null && (source[0] !== "" || source[1] !== 0)
      ? { hostname: source[0], port: source[1] }
      : null;
  }

  /** The port used when none is given (80; 443 for HTTPS). */
  get default_port(): number {
    return (this.constructor as typeof HTTPConnection).default_port;
  }

  /** The open socket, or null. */
  get sock(): Deno.Conn | null {
    return this.#transport?.closed === false ? this.#transport.conn : null;
  }

  /**
   * Turns Python's debug output on (`send:`, `reply:`, `header:` lines) for
   * levels above 0.
   *
   * @param level 0 for quiet.
   */
  set_debuglevel(level: number): void {
    this.debuglevel = level;
    this.#debug = level > 0 ? new LineSink(this.#debugWriter) : null;
  }

  /**
   * Resolves once all debug output so far is written.
   *
   * @returns A promise.
   */
  async flushDebug(): Promise<void> {
    await this.#debug?.flush();
  }

  /**
   * Sends requests through an HTTP proxy: `host`/`port` given to the
   * constructor are the proxy's, and `connect()` asks it to `CONNECT` to
   * this host and port first (Python's `set_tunnel`).
   *
   * @param host The target host ("host:port" works).
   * @param port The target port (default 80, 443 for HTTPS).
   * @param headers Extra CONNECT headers, e.g. `Proxy-Authorization`.
   * @throws {ImproperConnectionState} When already connected.
   */
  set_tunnel(
    host: string,
    port?: number | null,
    headers: HeadersInput = {},
  ): void {
    if (this.#transport !== null && !this.#transport.closed) {
      throw new ImproperConnectionState(
        "Cannot set up a tunnel for an established connection: call it before connect()",
      );
    }
    const [h, p] = splitHostPort(host, port ?? null, this.default_port);
    this.#tunnel = { host: h, port: p, headers: fieldsOf(headers) };
  }

  /**
   * Opens the connection (and tunnel and TLS, if any) unless it is open.
   *
   * @throws {ConnectTimeout} When `timeout` passes first.
   * @throws {ConnectionRefusedError} When nothing listens (from `net/`).
   */
  async connect(): Promise<void> {
    await this.#open();
  }

  async #open(): Promise<Transport> {
    const current = this.#transport;
    if (current !== null && !current.closed) return current;
    const generation = this.#generation;
    const connecting = this.#connecting ??= this.#dial().finally(() => {
      if (this.#connecting === connecting) this.#connecting = null;
    });
    const transport = await connecting;
    if (generation !== this.#generation) {
      // close() was called while connecting: the socket is nobody's.
      transport.close();
      throw new RemoteDisconnected(
        `Cannot send the request to ${this.host}:${this.port}: close() was called while connecting`,
      );
    }
    this.#transport = transport;
    return transport;
  }

  async #dial(): Promise<Transport> {
    const address = { hostname: this.host, port: this.port };
    const timeoutMs = this.timeout === null ? undefined : this.timeout * 1000;
    const started = performance.now();
    let conn: Deno.Conn = await dialTcp(address, timeoutMs, this.#source);
    try {
      let serverName = this.host;
      if (this.#tunnel !== null) {
        await this.#openTunnel(conn, address, timeoutMs);
        serverName = this.#tunnel.host;
      }
      conn = await this._wrapSocket(conn as Deno.TcpConn, serverName);
    } catch (error) {
      try {
        conn.close();
      } catch { /* already closed */ }
      throw error;
    }
    return new Transport(conn, address, performance.now() - started, {
      limits: this.#limits,
      tap: this.#trace !== null,
    });
  }

  /**
   * Hook for TLS: returns the socket requests go over. Plain HTTP returns it
   * unchanged.
   *
   * @param conn The connected TCP socket (through the tunnel, if any).
   * @param _serverName The host the requests are for.
   * @returns The socket to use.
   */
  protected _wrapSocket(
    conn: Deno.TcpConn,
    _serverName: string,
  ): Promise<Deno.Conn> {
    return Promise.resolve(conn);
  }

  async #openTunnel(
    conn: Deno.Conn,
    address: { hostname: string; port: number },
    timeoutMs: number | undefined,
  ): Promise<void> {
    const tunnel = this.#tunnel!;
    const authority = formatAuthority(tunnel.host, tunnel.port, 0);
    // The caller's Host, if given, replaces ours (a second one is a 400).
    const fields: [string, string][] =
      tunnel.headers.some(([name]) => name.toLowerCase() === "host")
        ? []
        : [["Host", authority]];
    for (const field of tunnel.headers) fields.push(field);
    const head = serializeRequestHead("CONNECT", authority, fields);
    const transport = new Transport(conn, address, 0, { limits: this.#limits });
    this.#debug?.write(`send: ${pyBytesRepr(head)}\n`);
    await transport.write(head);
    transport.parser.expectResponseTo("CONNECT");
    let head2: ResponseHead;
    for (;;) {
      const event = await transport.next(timeoutMs);
      if (event.kind === "closed") {
        throw new RemoteDisconnected(
          `Proxy ${transport.peer} closed the connection before answering CONNECT`,
        );
      }
      if (event.kind === "head" && event.status >= 200) {
        head2 = event;
        break;
      }
    }
    if (head2.status >= 300) {
      throw new HTTPException(
        `Cannot open a tunnel to ${authority} through proxy ${transport.peer}: ${head2.status} ${head2.reason}`,
        "TUNNEL_FAILED",
      );
    }
  }

  /**
   * Starts a request by hand: the request line plus `Host` and
   * `Accept-Encoding: identity` (Python's `putrequest`). Follow with
   * `putheader()` and `endheaders()`.
   *
   * @param method The method, e.g. "GET".
   * @param url The request-target, e.g. "/index.html?x=1".
   * @param options Skip the automatic headers.
   * @throws {CannotSendRequest} When a request is already under way.
   * @throws {InvalidURL} For control characters or spaces in `url`.
   */
  putrequest(
    method: string,
    url: string,
    options: PutRequestOptions = {},
  ): void {
    if (this.#response?.closed) this.#response = null;
    if (this.#state !== "Idle") throw new CannotSendRequest(this.#state);
    if (!METHOD.test(method)) {
      throw new TypeError(
        `Cannot send method ${
          JSON.stringify(method.slice(0, 64))
        }: not a token`,
      );
    }
    url ||= "/";
    if (URL_FORBIDDEN.test(url)) {
      throw new InvalidURL(
        `Cannot send URL ${
          JSON.stringify(url.slice(0, 64))
        }: it contains control characters or spaces (percent-encode them)`,
      );
    }
    this.#state = "Request-started";
    this.#method = method;
    this.#target = url;
    this.#fields = [];
    this.#interim = [];
    this.#forceClose = false;
    if (!options.skip_host) {
      let host: string;
      if (this.#tunnel !== null) {
        host = formatAuthority(
          this.#tunnel.host,
          this.#tunnel.port,
          this.default_port,
        );
      } else if (/^https?:\/\//i.test(url)) {
        try {
          host = new URL(url).host;
        } catch (cause) {
          this.#state = "Idle";
          throw new InvalidURL(
            `Cannot parse URL ${JSON.stringify(url.slice(0, 64))}`,
            { cause },
          );
        }
      } else {
        host = this.#hostHeader ??= formatAuthority(
          this.host,
          this.port,
          this.default_port,
        );
      }
      this.#fields.push(["Host", host]);
    }
    if (!options.skip_accept_encoding) {
      this.#fields.push(["Accept-Encoding", "identity"]);
    }
  }

  /**
   * Adds a header to the request being built (Python's `putheader`);
   * several values are joined with ", ".
   *
   * @param header The field name.
   * @param values Its value(s).
   * @throws {CannotSendHeader} Outside putrequest() … endheaders().
   * @throws {TypeError} For CR/LF or other controls (no header injection).
   */
  putheader(header: string, ...values: (string | number)[]): void {
    if (this.#state !== "Request-started") throw new CannotSendHeader();
    const value = values.map(String).join(", ");
    assertValidField(header, trimFieldValue(value));
    this.#fields.push([header, value]);
  }

  /**
   * Sends the head, and the body if given (Python's `endheaders`).
   *
   * @param message_body The body; see {@linkcode RequestBody}.
   * @param options Chunked framing.
   * @throws {CannotSendHeader} When no request was started.
   */
  async endheaders(
    message_body?: RequestBody | null,
    options: SendOptions = {},
  ): Promise<void> {
    if (this.#state !== "Request-started") throw new CannotSendHeader();
    this.#state = "Request-sent";
    let body: PreparedBody;
    try {
      const pending = prepareBody(message_body, this.blocksize);
      body = pending instanceof Promise ? await pending : pending;
    } catch (error) {
      this.#state = "Idle";
      throw error;
    }
    await this.#endheaders(body, options);
  }

  // Not async (nor are #transmit and #write): on the keep-alive path a
  // request is one write, and every async layer costs a promise and a turn.
  #endheaders(body: PreparedBody, options: SendOptions): Promise<void> {
    this.#state = "Request-sent";
    const expect = body.length !== 0 &&
      (body.bytes !== null || body.stream !== null) &&
      this.#fields.some(([n, v]) =>
        n.toLowerCase() === "expect" &&
        v.trim().toLowerCase() === "100-continue"
      );
    let head: string;
    try {
      head = requestHeadText(this.#method, this.#target, this.#fields);
    } catch (error) {
      this.#state = "Idle";
      return Promise.reject(error);
    }
    // RFC 9112 §9.6: after a request that says "close", the connection
    // carries no other, whether or not the response says so too.
    if (
      this.#fields.some(([n, v]) =>
        n.toLowerCase() === "connection" &&
        v.toLowerCase().split(",").some((token) => token.trim() === "close")
      )
    ) this.#forceClose = true;
    this.#sent = {
      method: this.#method,
      target: this.#target,
      head,
      body,
      chunked: options.encode_chunked === true,
      expectContinue: expect,
      reused: false,
      retried: false,
    };
    return this.#transmit(this.#sent);
  }

  // Connects if needed and writes one request; retries a stale connection once.
  #transmit(sent: SentRequest): Promise<void> {
    const open = this.#transport;
    if (open !== null && !open.closed) return this.#transmitOn(open, sent);
    if (!this.auto_open) {
      this.#state = "Idle";
      return Promise.reject(new NotConnected());
    }
    return this.#open().then(
      (transport) => this.#transmitOn(transport, sent),
      (error) => {
        this.#state = "Idle";
        throw error;
      },
    );
  }

  #transmitOn(transport: Transport, sent: SentRequest): Promise<void> {
    sent.reused = transport.exchanges > 0;
    if (this.#trace !== null) {
      this.#exchange = this.#trace.start(
        sent.method,
        sent.target,
        `${this.default_port === 443 ? "https" : "http"}://${transport.peer}`,
      );
      this.#exchange.connected(
        transport.id,
        sent.reused,
        sent.reused ? null : transport.connectMs,
        sent.retried,
      );
    } else this.#exchange = null;
    transport.parser.expectResponseTo(sent.method);
    return this.#write(transport, sent).then(undefined, (error) => {
      if (this.#mayRetry(sent, error)) {
        transport.close();
        sent.retried = true;
        return this.#transmit(sent);
      }
      this.#exchange?.fail(error);
      this.close();
      throw error;
    });
  }

  #mayRetry(sent: SentRequest, error: unknown): boolean {
    return sent.reused && !sent.retried && this.auto_open &&
      (error instanceof RemoteDisconnected ||
        error instanceof ConnectionResetError) &&
      IDEMPOTENT_METHODS.has(sent.method) && sent.body.stream === null;
  }

  #write(transport: Transport, sent: SentRequest): Promise<void> {
    const { body } = sent;
    const bytes = body.bytes;
    if (
      sent.expectContinue || sent.chunked || body.stream !== null ||
      (bytes !== null && bytes.length > SMALL_BODY_BYTES)
    ) return this.#writeInParts(transport, sent);
    // One write for head and small body: no Nagle/delayed-ACK stall.
    const exchange = this.#exchange;
    if (this.#debug === null && exchange === null) {
      return transport.writeParts(
        bytes === null ? [sent.head] : [sent.head, bytes],
      );
    }
    const head = encodeLatin1(sent.head);
    const out = bytes === null || bytes.length === 0 ? head : join(head, bytes);
    this.#debug?.write(`send: ${pyBytesRepr(out)}\n`);
    return transport.write(out).then(() => {
      exchange?.sent(head, bytes === null ? 0 : bytes.length, bytes);
    });
  }

  async #writeInParts(transport: Transport, sent: SentRequest): Promise<void> {
    const write = (bytes: Uint8Array): Promise<void> => {
      this.#debug?.write(`send: ${pyBytesRepr(bytes)}\n`);
      return transport.write(bytes);
    };
    const { body } = sent;
    const head = encodeLatin1(sent.head);
    if (sent.expectContinue) {
      await write(head);
      if (!(await this.#awaitContinue(transport))) {
        this.#exchange?.sent(head, 0, null);
        return;
      }
    } else {
      await write(head);
    }
    let sentBytes = 0;
    if (body.bytes !== null) {
      sentBytes = await writeStream(write, [body.bytes], sent.chunked, null);
    } else if (body.stream !== null) {
      sentBytes = await writeStream(
        write,
        body.stream,
        sent.chunked,
        sent.chunked ? null : body.length,
      );
    }
    this.#exchange?.sent(head, sentBytes, body.bytes);
  }

  // Waits a bounded time for 100 Continue. Returns false when the server
  // answered with a final status instead (the body is then not sent).
  async #awaitContinue(transport: Transport): Promise<boolean> {
    const deadline = performance.now() + this.#continueTimeoutMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return true;
      let event;
      try {
        event = await transport.next(left);
      } catch (error) {
        if (error instanceof ReadTimeout) return true;
        throw error;
      }
      if (event.kind !== "head") {
        transport.unread(event);
        return true;
      }
      if (event.status < 200) {
        // Interim heads (the 100 too) are listed on the response, traced
        // and printed as the response's own reader does with later ones.
        this.#interim.push({
          status: event.status,
          reason: event.reason,
          headers: new HTTPMessage(event.headers),
        });
        this.#debug?.write(debugReplyText(event));
        this.#exchange?.head(transport.lastHeadRaw, event.status, false);
        if (event.status === 100) return true;
        continue;
      }
      // RFC 9110 §10.1.1: a final status means the body is not wanted; the
      // announced body never follows, so the connection cannot be reused.
      transport.unread(event);
      this.#forceClose = true;
      return false;
    }
  }

  /**
   * Sends raw bytes on the connection (Python's `send`), e.g. a body after
   * `endheaders()`; connects first if needed. No framing is added.
   *
   * @param data Bytes, text or a stream.
   */
  async send(data: RequestBody): Promise<void> {
    const transport = await this.#open();
    const body = await prepareBody(data, this.blocksize);
    const write = (bytes: Uint8Array): Promise<void> => {
      this.#debug?.write(`send: ${pyBytesRepr(bytes)}\n`);
      return transport.write(bytes);
    };
    if (body.bytes !== null) await write(body.bytes);
    else if (body.stream !== null) {
      await writeStream(write, body.stream, false, null);
    }
  }

  /**
   * Sends a whole request (Python's `request`): adds `Host`,
   * `Accept-Encoding: identity`, and `Content-Length` (text, bytes, files,
   * and POST/PUT/PATCH without body) or `Transfer-Encoding: chunked`
   * (streams and iterables) unless `headers` sets them.
   *
   * @param method The method, e.g. "GET".
   * @param url The request-target, e.g. "/".
   * @param body The body; text is sent as UTF-8.
   * @param headers Extra header fields.
   * @param options `encode_chunked` when you set Transfer-Encoding yourself.
   */
  request(
    method: string,
    url: string,
    body?: RequestBody | null,
    headers: HeadersInput = NO_HEADERS,
    options: SendOptions = {},
  ): Promise<void> {
    // Not async: errors still reject (never throw), but a request whose body
    // is in memory goes out without an await of its own.
    try {
      const fields = fieldsOf(headers);
      let length = false, te = false, host = false, acceptEncoding = false;
      for (const [name] of fields) {
        switch (name.toLowerCase()) {
          case "content-length":
            length = true;
            break;
          case "transfer-encoding":
            te = true;
            break;
          case "host":
            host = true;
            break;
          case "accept-encoding":
            acceptEncoding = true;
        }
      }
      this.putrequest(method, url, {
        skip_host: host,
        skip_accept_encoding: acceptEncoding,
      });
      if (length || te) {
        // The caller frames the body.
        this.#putFields(fields);
        const encodeChunked = !length && options.encode_chunked === true;
        return this.#withBody(
          body,
          (prepared) =>
            this.#endheaders(prepared, { encode_chunked: encodeChunked }),
        );
      }
      return this.#withBody(body, (prepared) => {
        let encodeChunked = false;
        if (prepared.length !== null) {
          this.putheader("Content-Length", prepared.length);
        } else if (prepared.stream !== null) {
          encodeChunked = true;
          this.putheader("Transfer-Encoding", "chunked");
        } else if (["PATCH", "POST", "PUT"].includes(method.toUpperCase())) {
          this.putheader("Content-Length", "0");
        }
        this.#putFields(fields);
        return this.#endheaders(prepared, { encode_chunked: encodeChunked });
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // Adds the caller's fields; a bad one ends the request being built.
  #putFields(fields: [string, string][]): void {
    try {
      for (const [name, value] of fields) this.putheader(name, value);
    } catch (error) {
      this.#state = "Idle";
      throw error;
    }
  }

  // Prepares the body (a file needs an await) and goes on with `then`.
  #withBody(
    body: RequestBody | null | undefined,
    then: (prepared: PreparedBody) => Promise<void>,
  ): Promise<void> {
    let pending: PreparedBody | Promise<PreparedBody>;
    try {
      pending = prepareBody(body, this.blocksize);
    } catch (error) {
      this.#state = "Idle";
      throw error;
    }
    if (!(pending instanceof Promise)) return then(pending);
    return pending.then(then, (error) => {
      this.#state = "Idle";
      throw error;
    });
  }

  /**
   * Reads the response to the request sent (Python's `getresponse`).
   * Read its body (or close it) before the next `getresponse()`.
   *
   * @returns The response, its head read.
   * @throws {ResponseNotReady} With no request sent or the previous response unread.
   * @throws {RemoteDisconnected} When the server closed without answering.
   * @throws {ReadTimeout} When `timeout` passes with nothing received.
   */
  async getresponse(): Promise<HTTPResponse> {
    if (this.#response !== null && !this.#response.closed) {
      throw new ResponseNotReady(this.#state);
    }
    const sent = this.#sent;
    const transport = this.#transport;
    if (
      this.#state === "Request-sent" && sent !== null && transport === null &&
      !this.#awaitingResponse
    ) {
      // The socket the request went out on was dropped since (a response
      // read before this one failed): as CPython, the connection closes
      // (back to Idle, so the next request reconnects) and this one fails.
      this.close();
      throw new RemoteDisconnected(
        `Remote end ${this.host}:${this.port} closed the connection before the response to ${sent.method} could be read`,
      );
    }
    // A second call while the first waits for the head (Python's blocks, so
    // cannot overlap) would read the first response's body as a head.
    if (
      this.#state !== "Request-sent" || sent === null || transport === null ||
      this.#awaitingResponse
    ) {
      throw new ResponseNotReady(this.#state);
    }
    this.#awaitingResponse = true;
    try {
      return await this.#receive(sent, transport);
    } finally {
      this.#awaitingResponse = false;
    }
  }

  async #receive(
    sent: SentRequest,
    transport: Transport,
  ): Promise<HTTPResponse> {
    let response = this.#makeResponse(transport);
    try {
      await response.begin();
    } catch (error) {
      if (!this.#mayRetry(sent, error)) {
        this.close();
        throw error;
      }
      // The server closed the idle keep-alive connection: send it again, once.
      sent.retried = true;
      this.#transport = null;
      // What the failed attempt saw (a 103 before the close) is not this
      // response's.
      this.#interim = [];
      try {
        await this.#transmit(sent);
        response = this.#makeResponse(this.#transport!);
        await response.begin();
      } catch (again) {
        this.close();
        throw again;
      }
    }
    this.#state = "Idle";
    if (response.will_close) {
      // The response owns the socket now; the next request opens a new one.
      this.#transport = null;
      this.#response = null;
    } else {
      this.#response = response;
    }
    return response;
  }

  #makeResponse(transport: Transport): HTTPResponse {
    const channel: ResponseChannel = {
      transport,
      method: this.#sent!.method,
      readTimeoutMs: this.timeout === null ? undefined : this.timeout * 1000,
      onEnd: (keepAlive) => {
        transport.exchanges++;
        if (!keepAlive) this.#drop(transport);
      },
      onAbandon: () => this.#drop(transport),
      trace: this.#exchange,
      debug: this.#debug,
      informational: this.#interim,
      forceClose: this.#forceClose,
    };
    return new HTTPResponse(channel);
  }

  #drop(transport: Transport): void {
    transport.close();
    if (this.#transport === transport) this.#transport = null;
  }

  /**
   * Closes the socket and the current response (Python's `close`). The
   * connection opens again on the next request.
   */
  close(): void {
    this.#generation++;
    this.#connecting = null;
    this.#state = "Idle";
    const response = this.#response;
    this.#response = null;
    response?.close();
    const transport = this.#transport;
    this.#transport = null;
    transport?.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options for {@linkcode HTTPSConnection}. */
export interface HTTPSConnectionOptions extends HTTPConnectionOptions {
  /** Extra trusted root certificates, PEM. */
  caCerts?: string[];
  /** Server name to verify and send in SNI, when not `host`. */
  hostname?: string;
}

/**
 * Python's `http.client.HTTPSConnection`: `HTTPConnection` over TLS
 * (`Deno.startTls`), port 443 by default; `caCerts` adds trusted roots and
 * `hostname` overrides the server name checked against the certificate.
 *
 * @example Usage
 * ```ts ignore
 * import { HTTPSConnection } from "./http_connection.ts";
 *
 * const conn = new HTTPSConnection("example.com");
 * await conn.request("GET", "/");
 * const response = await conn.getresponse();
 * console.log(response.status, (await response.read()).length);
 * conn.close();
 * ```
 */
export class HTTPSConnection extends HTTPConnection {
  /** The port used when none is given. */
  static override default_port = 443;
  readonly #caCerts: string[] | undefined;
  readonly #serverName: string | undefined;

  /**
   * Creates a new `HTTPSConnection`.
   *
   * @param host Host name or IP; "host:port" works too.
   * @param port Port; default 443.
   * @param options TLS roots and server name, plus `HTTPConnection`'s.
   */
  constructor(
    host: string,
    port?: number | null,
    options: HTTPSConnectionOptions = {},
  ) {
    super(host, port, options);
    this.#caCerts = options.caCerts;
    this.#serverName = options.hostname;
  }

  /**
   * Wraps the socket in TLS and completes the handshake.
   *
   * @param conn The TCP socket.
   * @param serverName The host the requests are for.
   * @returns The TLS socket.
   */
  protected override async _wrapSocket(
    conn: Deno.TcpConn,
    serverName: string,
  ): Promise<Deno.Conn> {
    const name = this.#serverName ?? serverName;
    const options = {
      hostname: name,
      ...(this.#caCerts === undefined ? {} : { caCerts: this.#caCerts }),
    };
    let tls: Deno.TlsConn | null = null;
    try {
      // A socket bound with source_address is a node:net one underneath.
      tls = isBoundConn(conn)
        ? await startTlsBound(conn, options)
        : await Deno.startTls(conn, options);
      // The timeout covers the handshake, as Python's socket timeout does.
      await handshakeWithin(
        tls,
        { hostname: this.host, port: this.port },
        this.timeout === null ? undefined : this.timeout * 1000,
      );
    } catch (cause) {
      if (cause instanceof ConnectTimeout) throw cause;
      try {
        tls?.close();
      } catch { /* already closed */ }
      throw new HTTPException(
        `Cannot complete the TLS handshake with ${this.host}:${this.port} as "${name}": ${
          (cause as Error).message
        }`,
        "TLS_HANDSHAKE_FAILED",
        { cause },
      );
    }
    return tls;
  }
}

function splitHostPort(
  host: string,
  port: number | null,
  defaultPort: number,
): [string, number] {
  if (port === null) {
    const i = host.lastIndexOf(":");
    const j = host.lastIndexOf("]");
    if (i > j) {
      const text = host.slice(i + 1);
      if (text === "") port = defaultPort;
      else if (/^[0-9]{1,5}$/.test(text) && Number(text) <= 65535) {
        port = Number(text);
      } else {
        throw new InvalidURL(
          `Cannot use port "${
            text.slice(0, 64)
          }": not a number from 0 to 65535`,
        );
      }
      host = host.slice(0, i);
    } else port = defaultPort;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidURL(
      `Cannot use port ${port}: not a number from 0 to 65535`,
    );
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return [asciiHost(host), port];
}

// A host name with non-ASCII letters in its IDNA (punycode) form, as Python
// sends it: Host is uri-host, which is ASCII (RFC 9110 §7.2, RFC 5890).
function asciiHost(host: string): string {
  if (!/[^ -~]/.test(host) || host.includes(":")) return host;
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    throw new InvalidURL(
      `Cannot use host "${host.slice(0, 64)}": not a valid host name`,
    );
  }
}

function formatAuthority(
  host: string,
  port: number,
  defaultPort: number,
): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return port === defaultPort ? h : `${h}:${port}`;
}

function fieldsOf(headers: HeadersInput): [string, string][] {
  const out: [string, string][] = [];
  if (headers === NO_HEADERS) return out;
  if (headers instanceof Headers) {
    headers.forEach((value, name) => out.push([name, value]));
    return out;
  }
  if (Symbol.iterator in headers) {
    for (
      const [name, value] of headers as Iterable<
        readonly [string, string | number]
      >
    ) {
      out.push([name, String(value)]);
    }
    return out;
  }
  for (const [name, value] of Object.entries(headers)) {
    out.push([name, String(value)]);
  }
  return out;
}

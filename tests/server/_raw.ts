/**
 * Helpers for the server integration tests: start `serve()` on 127.0.0.1
 * port 0 without the listening line, talk raw bytes over `Deno.connect`,
 * and read responses back through h1's own `ResponseParser`.
 *
 * @module
 */

import { ResponseParser } from "../../http1/response_parser.ts";
import {
  serve,
  type ServeHandler,
  type ServeOptions,
  type WebServer,
} from "../../server/serve.ts";

/** Encodes a string as Latin-1 bytes (one byte a character). */
export function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** Decodes bytes as Latin-1, so binary bodies survive a round trip. */
export function fromLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts `serve()` on 127.0.0.1, a free port, silently. Dispose it (`await
 * using`) to shut it down.
 */
export function startServer(
  handler: ServeHandler,
  options: ServeOptions = {},
): WebServer {
  return serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
    ...options,
  }, handler);
}

/** A response as the tests look at it. */
export interface RawResponse {
  /** Status code. */
  status: number;
  /** Reason phrase. */
  reason: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: string;
  /** Header fields in wire order, names as sent. */
  fields: [string, string][];
  /** The fields as Headers (lower-case names). */
  headers: Headers;
  /** Body bytes, de-chunked. */
  body: Uint8Array;
  /** The body as UTF-8 text. */
  text: string;
  /** Trailer fields of a chunked body, if any. */
  trailers: Headers | null;
  /** Interim (1xx) statuses seen before this response. */
  interim: number[];
}

/** Ways a raw read ended. */
export type ReadEnd = "data" | "eof" | "reset" | "timeout";

/**
 * A raw client socket with a byte log: send bytes, read until a predicate,
 * parse responses. Every read has a deadline so a broken server fails the
 * test instead of hanging it.
 */
export class RawClient implements AsyncDisposable {
  readonly conn: Deno.Conn;
  /** Every byte received so far. */
  received: Uint8Array = new Uint8Array(0);
  /** The peer closed (EOF or reset). */
  ended = false;
  /** The peer reset the connection. */
  reset = false;
  readonly #chunk = new Uint8Array(64 * 1024);
  #inflight: Promise<number | null> | null = null;
  #parser: ResponseParser | null = null;
  #parsedUpTo = 0;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1 (or `hostname`) on `port`. */
  static async connect(
    port: number,
    hostname = "127.0.0.1",
  ): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname, port }));
  }

  /** The text received so far (Latin-1). */
  get text(): string {
    return fromLatin1(this.received);
  }

  /** Writes all of `data` (a string is sent as Latin-1). */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? latin1(data) : data;
    let written = 0;
    while (written < bytes.length) {
      written += await this.conn.write(bytes.subarray(written));
    }
  }

  /** Reads once, waiting at most `timeoutMs`. */
  async readOnce(timeoutMs = 5000): Promise<ReadEnd> {
    if (this.ended) return this.reset ? "reset" : "eof";
    this.#inflight ??= this.conn.read(this.#chunk);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    let result: number | null | "timeout";
    try {
      result = await Promise.race([this.#inflight, timeout]);
    } catch (error) {
      this.#inflight = null;
      this.ended = true;
      if (
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.BrokenPipe
      ) {
        this.reset = true;
        return "reset";
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (result === "timeout") return "timeout";
    this.#inflight = null;
    if (result === null) {
      this.ended = true;
      return "eof";
    }
    const next = new Uint8Array(this.received.length + result);
    next.set(this.received);
    next.set(this.#chunk.subarray(0, result), this.received.length);
    this.received = next;
    return "data";
  }

  /**
   * Reads until `predicate(text so far)` holds or the peer closes.
   * Throws after `timeoutMs`.
   */
  async readUntil(
    predicate: (text: string) => boolean,
    timeoutMs = 5000,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.text)) {
      if (this.ended) break;
      const left = deadline - Date.now();
      if (left <= 0 || await this.readOnce(left) === "timeout") {
        throw new Error(
          `Timed out after ${timeoutMs} ms; received so far:\n${this.text}`,
        );
      }
    }
    return this.text;
  }

  /** Reads until the peer closes; throws after `timeoutMs`. */
  async readToEnd(timeoutMs = 5000): Promise<string> {
    return await this.readUntil(() => false, timeoutMs);
  }

  /**
   * Waits up to `timeoutMs` for the peer to close. Returns false if it is
   * still open then (bytes arriving meanwhile are kept).
   */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0 || await this.readOnce(left) === "timeout") return false;
    }
    return true;
  }

  /**
   * Parses `methods.length` responses (one per request sent, in order) with
   * h1's ResponseParser, reading as needed. Throws after `timeoutMs` or when
   * the peer closes before they are complete.
   */
  async responses(
    methods: string[],
    timeoutMs = 5000,
  ): Promise<RawResponse[]> {
    const parser = this.#parser ??= new ResponseParser();
    for (const method of methods) parser.expectResponseTo(method);
    const deadline = Date.now() + timeoutMs;
    const out: RawResponse[] = [];
    let current: RawResponse | null = null;
    let interim: number[] = [];
    const parts: Uint8Array[] = [];
    while (out.length < methods.length) {
      const event = parser.next();
      switch (event.kind) {
        case "head": {
          if (event.status < 200) {
            interim.push(event.status);
            continue;
          }
          current = {
            status: event.status,
            reason: event.reason,
            version: event.version,
            fields: [...event.headers],
            headers: event.headers.toHeaders(),
            body: new Uint8Array(0),
            text: "",
            trailers: null,
            interim,
          };
          interim = [];
          parts.length = 0;
          continue;
        }
        case "data":
          parts.push(event.data.slice());
          continue;
        case "end": {
          if (current === null) continue;
          current.body = concat(parts);
          current.text = new TextDecoder().decode(current.body);
          current.trailers = event.trailers?.toHeaders() ?? null;
          out.push(current);
          current = null;
          continue;
        }
        case "paused":
          parser.resume();
          continue;
        case "closed":
          throw new Error(
            `Connection closed after ${out.length} of ${methods.length} responses; received:\n${this.text}`,
          );
        case "need-data":
          break;
      }
      if (this.#parsedUpTo < this.received.length) {
        parser.receive(this.received.slice(this.#parsedUpTo));
        this.#parsedUpTo = this.received.length;
        continue;
      }
      if (this.ended) {
        if (parser.eofReceived) {
          throw new Error(
            `Connection closed after ${out.length} of ${methods.length} responses; received:\n${this.text}`,
          );
        }
        parser.receiveEof();
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0 || await this.readOnce(left) === "timeout") {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for ${methods.length} responses; received:\n${this.text}`,
        );
      }
    }
    return out;
  }

  /** Parses one response to a request with `method`. */
  async response(method = "GET", timeoutMs = 5000): Promise<RawResponse> {
    const [response] = await this.responses([method], timeoutMs);
    return response!;
  }

  /** Closes the socket (idempotent) and settles any read in flight. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#inflight?.catch(() => null);
    this.#inflight = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Sends `request` at once (or in pieces cut at `cuts`, a few milliseconds
 * apart; then half-closes if asked), and reads until the peer closes (EOF
 * or reset, marked "<closed>") or `quietMs` pass with nothing new
 * ("<open>"). For comparing two servers' replies to the same bytes.
 */
export async function exchangeUntilQuiet(
  port: number,
  request: string | Uint8Array,
  { quietMs = 250, halfClose = false, cuts = [] as number[] } = {},
): Promise<string> {
  await using client = await RawClient.connect(port);
  const bytes = typeof request === "string" ? latin1(request) : request;
  try {
    let at = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      if (cut <= at || cut >= bytes.length) continue;
      await client.send(bytes.subarray(at, cut));
      at = cut;
      await delay(3);
    }
    await client.send(bytes.subarray(at));
    if (halfClose) await client.conn.closeWrite();
  } catch {
    // The server closed early; what it sent is still read below.
  }
  for (;;) {
    const end = await client.readOnce(quietMs);
    if (end === "timeout") return client.text + "<open>";
    if (end !== "data") return client.text + "<closed>";
  }
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Sends one request on a fresh connection and returns its response. */
export async function fetchRaw(
  port: number,
  request: string | Uint8Array,
  method = "GET",
): Promise<RawResponse> {
  await using client = await RawClient.connect(port);
  await client.send(request);
  return await client.response(method);
}

/** A readable stream of `count` chunks of `size` bytes, one per tick. */
export function slowStream(
  count: number,
  size: number,
  pauseMs = 0,
): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === count) {
        controller.close();
        return;
      }
      if (pauseMs > 0) await delay(pauseMs);
      controller.enqueue(new Uint8Array(size).fill(0x61 + (sent % 26)));
      sent++;
    },
  });
}

/** Whether a command can be run (for skipping tests cleanly). */
export async function hasCommand(
  name: string,
  args = ["--version"],
): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(name, {
      args,
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

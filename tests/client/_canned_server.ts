// A raw TCP server for client tests: each connection runs a script that
// reads requests and writes canned (and hostile) bytes. 127.0.0.1, port 0.

import { HTTPException } from "../../client/errors.ts";
import { NetError } from "../../net/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

/** One request as the server saw it. */
export interface SeenRequest {
  /** The head, CRLFs included. */
  head: string;
  /** The request line. */
  line: string;
  /** The body bytes (Content-Length or de-chunked). */
  body: Uint8Array;
}

/** The server side of one accepted connection. */
export class ServerConn {
  readonly conn: Deno.Conn;
  readonly #server: CannedServer;
  #buf = new Uint8Array(0);
  closed = false;

  constructor(conn: Deno.Conn, server: CannedServer) {
    this.conn = conn;
    this.#server = server;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      return false;
    }
    if (n === null) return false;
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  #find(text: string): number {
    return decoder.decode(this.#buf).indexOf(text);
  }

  /** Reads one request (head and body); null when the client closed. */
  async readRequest(): Promise<SeenRequest | null> {
    let end: number;
    while ((end = this.#find("\r\n\r\n")) === -1) {
      if (!(await this.#fill())) return null;
    }
    const head = decoder.decode(this.#take(end + 4));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: Uint8Array = new Uint8Array(0);
    if (length !== null && !/\r\nexpect:\s*100-continue/i.test(head)) {
      body = await this.readBytes(Number(length[1]));
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      body = await this.readChunked();
    }
    const seen = { head, line: head.slice(0, head.indexOf("\r\n")), body };
    this.#server.requests.push(seen);
    return seen;
  }

  /** Reads exactly n bytes (fewer if the client closes). */
  async readBytes(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) break;
    }
    return this.#take(Math.min(n, this.#buf.length));
  }

  /** Reads a chunked body, returning the data. */
  async readChunked(): Promise<Uint8Array> {
    const parts: number[] = [];
    for (;;) {
      let lineEnd: number;
      while ((lineEnd = this.#find("\r\n")) === -1) {
        if (!(await this.#fill())) return Uint8Array.from(parts);
      }
      const size = parseInt(decoder.decode(this.#take(lineEnd + 2)), 16);
      if (size === 0) {
        while (this.#find("\r\n") === -1) {
          if (!(await this.#fill())) break;
        }
        // Trailers are not used by the tests: take the final CRLF.
        this.#take(this.#find("\r\n") + 2);
        return Uint8Array.from(parts);
      }
      parts.push(...(await this.readBytes(size)));
      await this.readBytes(2);
    }
  }

  /** Writes text (Latin-1) or bytes. */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string"
      ? Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)
      : data;
    let at = 0;
    try {
      while (at < bytes.length) at += await this.conn.write(bytes.subarray(at));
    } catch {
      // The client went away; the test asserts on what it saw.
    }
  }

  /** Closes the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/** A running canned server. */
export class CannedServer implements AsyncDisposable {
  readonly listener: Deno.TcpListener;
  readonly requests: SeenRequest[] = [];
  connections = 0;
  readonly #open = new Set<ServerConn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #loop: Promise<void>;

  constructor(script: (conn: ServerConn, index: number) => Promise<void>) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.listener = listener;
    this.#loop = (async () => {
      for await (const conn of listener) {
        const sc = new ServerConn(conn, this);
        const index = this.connections++;
        this.#open.add(sc);
        const task = script(sc, index).catch(() => {}).finally(() => {
          sc.close();
          this.#open.delete(sc);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    })().catch(() => {});
  }

  get port(): number {
    return this.listener.addr.port;
  }

  async close(): Promise<void> {
    try {
      this.listener.close();
    } catch { /* closed */ }
    for (const sc of this.#open) sc.close();
    await this.#loop;
    await Promise.all([...this.#tasks]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts a server running `script` on each connection.
 *
 * @param script What to do with one connection (index counts from 0).
 * @returns The server; `await using` it.
 */
export function cannedServer(
  script: (conn: ServerConn, index: number) => Promise<void>,
): CannedServer {
  return new CannedServer(script);
}

/**
 * A script answering every request on a connection with the next of
 * `responses` (looping over the last), then waiting for the client.
 *
 * @param responses Raw responses.
 * @returns The script.
 */
export function answerEach(
  ...responses: string[]
): (conn: ServerConn) => Promise<void> {
  return async (conn) => {
    for (let i = 0;; i++) {
      const request = await conn.readRequest();
      if (request === null) return;
      await conn.write(responses[Math.min(i, responses.length - 1)]!);
    }
  };
}

/** Builds a simple response with a Content-Length body. */
export function ok(body: string, extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${
    encoder.encode(body).length
  }\r\n${extra}\r\n${body}`;
}

/** Resolves after ms milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fails the test instead of hanging: rejects when `ms` pass first. */
export async function bounded<T>(promise: Promise<T>, ms = 1500): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: over ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** A named client or socket error with a machine-readable code. */
export function isNamed(e: unknown): boolean {
  return (e instanceof HTTPException || e instanceof NetError) &&
    typeof (e as { code?: unknown }).code === "string";
}

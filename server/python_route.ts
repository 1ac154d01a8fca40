/**
 * {@linkcode pythonHandler}: a `BaseHTTPRequestHandler` subclass as a Web
 * handler, so the Python face gets routing and middleware.
 *
 * A Request becomes HTTP/1.1 bytes, runs through `HTTPServer`'s own
 * dispatch on the real engine over a {@linkcode MemoryConn}, and the bytes
 * the handler wrote come back through `ResponseParser` as a Response. The
 * handler sees exactly what it would over a socket (`rfile`, `headers`,
 * `path`, keep-alive rules); no socket is opened.
 *
 * @module
 */

import { encodeChunk, encodeLastChunk } from "../http1/chunked.ts";
import type { HttpVersion, ResponseEvent } from "../http1/events.ts";
import { ResponseParser } from "../http1/response_parser.ts";
import { serializeRequestHead } from "../http1/serializer.ts";
import { HTTPServer } from "./http_server.ts";
import { type MemoryConn, memoryConnPair } from "./memory_conn.ts";
import { engineRequestParts } from "./_web_request.ts";
import type { HandlerInfo } from "./middleware.ts";
import type { ServerLimits } from "./options.ts";
import type { RequestHandlerClass } from "./request_handler.ts";

/** Options of {@linkcode pythonHandler}. */
export interface PythonHandlerOptions {
  /** Limits and timeouts of the engine that runs the handler. */
  limits?: Partial<ServerLimits>;
  /** Where `log_message()` lines go (default: stderr, as `HTTPServer`). */
  logWriter?: (text: string) => void;
  /** What `self.server.server_address` says. Default `["127.0.0.1", 0]`. */
  server_address?: readonly [string, number];
}

/** A Web handler made by {@linkcode pythonHandler}. */
export type PythonWebHandler = (
  req: Request,
  info?: HandlerInfo,
) => Promise<Response>;

// RFC 9110 §7.6.1: hop-by-hop fields describe the inner connection, not
// the response; the outer engine frames the body itself.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "proxy-connection",
  "upgrade",
]);
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const READ_BYTES = 16 * 1024;
// A body without Content-Length up to this size is collected and sent with
// one: Python-style handlers read `Content-Length` bytes from rfile.
// Larger ones stream chunked.
const COLLECT_BYTES = 64 * 1024;

/**
 * Wraps a `BaseHTTPRequestHandler` subclass as a Web handler. Each call
 * serializes the Request (method, path and query, headers, body streamed
 * with its Content-Length or chunked), runs the class through the
 * `HTTPServer` dispatch over an in-memory connection, and returns the
 * status, reason (as `statusText`), headers and streamed body it wrote.
 * Hop-by-hop headers (`Connection`, `Transfer-Encoding`) are dropped. One
 * `HTTPServer` (never bound) is shared by all calls as `self.server`.
 *
 * Use it as a route handler, `router.get("/legacy/*", (ctx) =>
 * legacy(ctx.req, ctx.info))`, or pass it to `serve()`.
 *
 * @param HandlerClass The handler class, as `HTTPServer` takes it.
 * @param options Limits, log writer, the server's address.
 * @returns The Web handler; it rejects if the handler closed the
 *   connection without a response.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { BaseHTTPRequestHandler } from "./request_handler.ts";
 * import { Router } from "./router.ts";
 * import { pythonHandler } from "./python_route.ts";
 *
 * class Legacy extends BaseHTTPRequestHandler {
 *   do_GET() {
 *     const body = new TextEncoder().encode(`legacy ${this.path}`);
 *     this.send_response(200);
 *     this.send_header("Content-Length", String(body.length));
 *     this.end_headers();
 *     this.wfile.write(body);
 *   }
 * }
 *
 * const legacy = pythonHandler(Legacy, { logWriter: () => {} });
 * const app = new Router().get("/legacy/*", (ctx) => legacy(ctx.req, ctx.info));
 * const res = await app.request("/legacy/a?b=1");
 * assert.equal(res.status, 200);
 * assert.equal(await res.text(), "legacy /legacy/a?b=1");
 * ```
 */
export function pythonHandler(
  HandlerClass: RequestHandlerClass,
  options: PythonHandlerOptions = {},
): PythonWebHandler {
  const server = new HTTPServer(
    options.server_address ?? ["127.0.0.1", 0],
    HandlerClass,
    {
      bind_and_activate: false,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.logWriter ? { logWriter: options.logWriter } : {}),
    },
  );
  // The server's engine runs a deadline sweep (a timer) while it has
  // connections; shut it down whenever the last one ends so an idle
  // handler holds no timer. Calls that arrive meanwhile wait for it.
  let active = 0;
  let stopping: Promise<void> | null = null;
  const run = async (conn: MemoryConn): Promise<void> => {
    while (stopping !== null) await stopping;
    active++;
    try {
      const remote = conn.remoteAddr;
      await server.process_request(conn, [remote.hostname, remote.port]);
    } finally {
      active--;
      if (active === 0) {
        const done: Promise<void> = server.shutdown().catch(() => {}).then(
          () => {
            if (stopping === done) stopping = null;
          },
        );
        stopping = done;
      }
    }
  };
  return (req, info) => exchange(req, info, run);
}

async function exchange(
  req: Request,
  info: HandlerInfo | undefined,
  run: (conn: MemoryConn) => Promise<void>,
): Promise<Response> {
  const url = new URL(req.url);
  const peer = info?.remoteAddr;
  const [client, conn] = memoryConnPair(
    peer === undefined ? {} : {
      clientAddr: {
        transport: "tcp",
        hostname: peer.hostname,
        port: peer.port,
      },
    },
  );
  // Serialize before starting anything: a bad method or header throws here.
  const { head, body, chunked, expectContinue } = await requestHead(req, url);
  // Settled true when the handler wants the body (its 100 Continue, or the
  // inner engine waiting on the body), false at its final answer.
  const goAhead = expectContinue ? Promise.withResolvers<boolean>() : null;
  if (goAhead !== null) {
    // The inner engine waiting on the connection once it has read the
    // head is waiting for the body: the handler reads rfile.
    conn.onReadWait = () => {
      if (client.bytesWritten > 0 && client.unreadBytes === 0) {
        goAhead.resolve(true);
      }
    };
  }
  const served = run(conn);
  const writing = writeRequest(
    client,
    head,
    body,
    chunked,
    goAhead?.promise ?? null,
  );
  let finished: Promise<void> | null = null;
  const finish = (): Promise<void> => {
    finished ??= (async () => {
      client[Symbol.dispose]();
      await writing;
      await served;
    })();
    return finished;
  };
  const parser = new ResponseParser();
  parser.expectResponseTo(req.method);
  const nextEvent = async (): Promise<ResponseEvent> => {
    for (;;) {
      const event = parser.next();
      if (event.kind !== "need-data") return event;
      // A fresh buffer per read: data events are views into it.
      const buffer = new Uint8Array(READ_BYTES);
      const n = await client.read(buffer);
      if (n === null) parser.receiveEof();
      else parser.receive(buffer.subarray(0, n));
    }
  };
  let event: ResponseEvent;
  try {
    for (;;) {
      event = await nextEvent();
      // Interim 1xx answers (100 Continue) are the inner engine's business,
      // except that a 100 lets the body go.
      if (event.kind === "head" && event.status < 200 && event.status !== 101) {
        if (event.status === 100) goAhead?.resolve(true);
        continue;
      }
      if (event.kind === "head") goAhead?.resolve(false);
      if (event.kind === "end") continue;
      break;
    }
  } catch (error) {
    await finish();
    throw new Error(
      `Cannot read the response of ${req.method} ${url.pathname}: the handler wrote a malformed response`,
      { cause: error },
    );
  }
  if (event.kind !== "head") {
    await finish();
    throw new Error(
      `Cannot read the response of ${req.method} ${url.pathname}: the handler closed the connection without one`,
    );
  }
  const responseHead = event;
  const headers = new Headers();
  for (const [name, value] of responseHead.headers) {
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    try {
      headers.append(name, value);
    } catch {
      // A field the Headers class refuses cannot be passed on; drop it.
    }
  }
  const noBody = req.method === "HEAD" ||
    NULL_BODY_STATUS.has(responseHead.status) ||
    responseHead.framing.kind === "none";
  let stream: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  if (noBody) {
    // Read up to the end so the handler finishes before we answer.
    try {
      while ((await nextEvent()).kind === "data");
    } catch { /* the head was complete; a broken tail changes nothing */ }
    await finish();
  } else {
    stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        let next: ResponseEvent;
        try {
          next = await nextEvent();
        } catch (error) {
          await finish();
          controller.error(error);
          return;
        }
        if (next.kind === "data") {
          controller.enqueue(next.data.slice());
          return;
        }
        await finish();
        if (next.kind === "end") controller.close();
        else {
          controller.error(
            new Error(
              "Cannot read the response body: the handler closed early",
            ),
          );
        }
      },
      cancel: async () => {
        await finish();
      },
    });
  }
  const status = responseHead.status === 101 ? 200 : responseHead.status;
  try {
    return new Response(stream, {
      status,
      statusText: responseHead.reason,
      headers,
    });
  } catch {
    // A reason phrase the Response class refuses: keep the status.
    return new Response(stream, { status, headers });
  }
}

interface RequestBytes {
  head: Uint8Array;
  body: ReadableStream<Uint8Array> | null;
  chunked: boolean;
  /** The body waits for the handler's 100 Continue (or its reading). */
  expectContinue: boolean;
}

async function requestHead(req: Request, url: URL): Promise<RequestBytes> {
  // The version and content the client sent, as the engine read them: a
  // Request has neither an HTTP version nor, for GET, a body.
  const parts = engineRequestParts(req);
  const version: HttpVersion = parts?.version === "HTTP/1.0"
    ? "HTTP/1.0"
    : "HTTP/1.1";
  const fields: Array<[string, string]> = [];
  let host = false;
  let length: string | null = null;
  for (const [name, value] of req.headers) {
    if (name === "host") host = true;
    if (name === "content-length") {
      length = value;
      continue;
    }
    if (name === "transfer-encoding") continue;
    fields.push([name, value]);
  }
  // RFC 9112 §3.2: a request must carry Host; the URL knows it.
  if (!host) fields.unshift(["host", url.host]);
  let body: ReadableStream<Uint8Array> | null = req.body ??
    parts?.body ?? null;
  let chunked = false;
  const expectContinue = body !== null &&
    req.headers.get("expect")?.toLowerCase() === "100-continue";
  if (body !== null) {
    if (length !== null && /^\d+$/.test(length)) {
      fields.push(["content-length", length]);
    } else if (expectContinue) {
      // Not read ahead to learn its length: the body waits for the handler.
      fields.push(["transfer-encoding", "chunked"]);
      chunked = true;
    } else {
      const collected = await collect(body);
      body = collected.body;
      if (collected.length !== null) {
        fields.push(["content-length", String(collected.length)]);
      } else {
        fields.push(["transfer-encoding", "chunked"]);
        chunked = true;
      }
    }
  }
  const head = serializeRequestHead(
    req.method,
    url.pathname + url.search,
    fields,
    version,
  );
  return { head, body, chunked, expectContinue };
}

// Reads up to COLLECT_BYTES: a body that ends sooner gets its length; a
// longer one is handed on as a stream of what was read plus the rest.
async function collect(
  body: ReadableStream<Uint8Array>,
): Promise<{ body: ReadableStream<Uint8Array>; length: number | null }> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      return { body: ReadableStream.from(parts), length: total };
    }
    parts.push(value);
    total += value.length;
    if (total > COLLECT_BYTES) break;
  }
  const rest = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const part = parts.shift();
      if (part !== undefined) {
        controller.enqueue(part);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: async (reason) => {
      await reader.cancel(reason);
    },
  });
  return { body: rest, length: null };
}

async function writeRequest(
  conn: MemoryConn,
  head: Uint8Array,
  body: ReadableStream<Uint8Array> | null,
  chunked: boolean,
  goAhead: Promise<boolean> | null,
): Promise<void> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    await conn.write(head);
    // With Expect: 100-continue the body is not pulled (and the client
    // gets no 100 Continue from the outer engine) until the handler says
    // go (its 100, or reading rfile); a final answer first means never.
    if (body !== null && goAhead !== null && !await goAhead) {
      await body.cancel().catch(() => {});
      body = null;
    }
    reader = body?.getReader();
    if (reader !== undefined) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.length === 0) continue;
        await conn.write(chunked ? encodeChunk(value) : value);
      }
      if (chunked) await conn.write(encodeLastChunk());
    }
    await conn.closeWrite();
  } catch {
    // The handler answered and the engine closed before reading it all,
    // or the response was dropped: stop sending.
    await reader?.cancel().catch(() => {});
  }
}

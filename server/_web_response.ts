// Writes a Web Response through an Exchange: framing, keep-alive, Date.

import { encodeChunkHeader } from "../http1/chunked.ts";
import type { RequestHead } from "../http1/events.ts";
import { reasonPhrase } from "../http1/status.ts";
import type { Exchange } from "./_connection.ts";
import { httpDateNow } from "./_http_date.ts";
import { staticResponseParts } from "./_static_response_body.ts";

const encoder = new TextEncoder();
let scratch = new Uint8Array(16 * 1024);

// Encodes a string body into a shared scratch buffer, to be copied out before
// the next await (writeWebResponse copies it into the response buffer
// synchronously). Large strings get their own buffer.
function encodeToScratch(body: string): Uint8Array {
  if (body.length * 3 > scratch.length) {
    if (body.length > COLLECT_LIMIT_BYTES) return encoder.encode(body);
    scratch = new Uint8Array(body.length * 3);
  }
  const { written } = encoder.encodeInto(body, scratch);
  return scratch.subarray(0, written);
}

const CRLF = new Uint8Array([0x0d, 0x0a]);
const LAST_CHUNK = new Uint8Array([0x30, 0x0d, 0x0a, 0x0d, 0x0a]);
/** Bodies larger than this are streamed even when they are all there. */
const COLLECT_LIMIT_BYTES = 256 * 1024;
const TICK = Symbol("tick");

// Resolves after two microtask turns: a read of an already-filled stream
// settles first, a read that waits on the application does not.
function afterTicks(): Promise<typeof TICK> {
  return Promise.resolve().then().then(() => TICK);
}

interface Collected {
  chunks: Uint8Array[];
  length: number;
  /** The body ended: its length is known. */
  complete: boolean;
  /** A read still in flight when collection stopped. */
  pending: Promise<ReadableStreamReadResult<Uint8Array>> | null;
}

// Reads what the body already holds, without waiting on the application.
async function collectAvailable(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<Collected> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const read = reader.read();
    const result = await Promise.race([read, afterTicks()]);
    if (result === TICK) {
      return { chunks, length, complete: false, pending: read };
    }
    if (result.done) return { chunks, length, complete: true, pending: null };
    const chunk = toBytes(result.value);
    chunks.push(chunk);
    length += chunk.length;
    if (length > COLLECT_LIMIT_BYTES) {
      return { chunks, length, complete: false, pending: null };
    }
  }
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError("Cannot send a response body chunk that is not bytes");
}

/**
 * Serializes `response` for `head` and queues it on the exchange. Chooses
 * Content-Length when the body is all there, chunked (HTTP/1.1) or
 * close-delimited (HTTP/1.0) when it streams; no body for HEAD, 1xx, 204, 304.
 * Resolves to the body bytes sent (framing excluded), for the access log.
 */
export async function writeWebResponse(
  response: Response,
  head: RequestHead,
  exchange: Exchange,
): Promise<number> {
  const status = response.status;
  const bodyForbidden = status < 200 || status === 204 || status === 304;
  const isHead = head.method === "HEAD";
  let keepAlive = exchange.keepAlive;
  let declaredLength: string | null = null;
  let text = "HTTP/1.1 " + status + " " +
    (response.statusText || reasonPhrase(status)) + "\r\n";
  let hasDate = false;
  // A plain-object Content-Type (Hono's c.json) sits in Deno's fast-path
  // fields, which staticResponseParts reads; tests/server/serve_hono_test.ts
  // and serve_fast_paths_test.ts hold both paths to the same bytes.
  const parts = staticResponseParts(response);
  // Headers has validated names and values (no CR, LF or NUL) already.
  for (const [rawName, value] of parts?.headers ?? response.headers) {
    const name = parts === null ? rawName : rawName.toLowerCase();
    switch (name) {
      case "content-length":
        declaredLength = value;
        continue;
      case "transfer-encoding":
      case "keep-alive":
        continue;
      case "connection":
        if (/(^|,)\s*close\s*(,|$)/i.test(value)) keepAlive = false;
        continue;
      case "date":
        hasDate = true;
    }
    text += name + ": " + value + "\r\n";
  }
  if (!hasDate) text += "date: " + httpDateNow() + "\r\n";

  let collected: Collected = {
    chunks: [],
    length: 0,
    complete: true,
    pending: null,
  };
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  if (parts !== null) {
    if (parts.body !== null && !bodyForbidden) {
      const bytes = typeof parts.body === "string"
        ? encodeToScratch(parts.body)
        : parts.body;
      collected = {
        chunks: [bytes],
        length: bytes.length,
        complete: true,
        pending: null,
      };
    }
  } else if (response.body !== null) {
    const body = response.body;
    reader = body.getReader();
    if (bodyForbidden) {
      void reader.cancel().catch(() => {});
      reader = null;
    } else {
      collected = await collectAvailable(reader);
    }
  }

  let chunked = false;
  if (bodyForbidden) {
    // RFC 9110 §8.6: a 304 may carry the length the 200 would have had.
    if (status === 304 && declaredLength !== null) {
      text += "content-length: " + declaredLength + "\r\n";
    }
  } else if (isHead && declaredLength !== null) {
    // RFC 9110 §9.3.2: HEAD answers with the length a GET would have had.
    text += "content-length: " + declaredLength + "\r\n";
  } else if (collected.complete) {
    text += "content-length: " + collected.length + "\r\n";
  } else if (declaredLength !== null) {
    text += "content-length: " + declaredLength + "\r\n";
  } else if (isHead) {
    // Length unknown without running the body to its end; send neither.
  } else if (head.version === "HTTP/1.1") {
    chunked = true;
    text += "transfer-encoding: chunked\r\n";
  } else {
    keepAlive = false; // HTTP/1.0: the body ends when the connection does.
  }
  if (!keepAlive) {
    exchange.closeAfter = true;
    text += "connection: close\r\n";
  } else {
    if (head.version === "HTTP/1.0") text += "connection: keep-alive\r\n";
    text += "keep-alive: timeout=" + exchange.keepAliveTimeoutSeconds + "\r\n";
  }
  text += "\r\n";

  if (isHead) {
    exchange.writeText(text);
    if (reader !== null) void reader.cancel().catch(() => {});
    return 0;
  }
  if (collected.complete) {
    // Head and a body that is all there leave in one write.
    exchange.writeText(text);
    for (const chunk of collected.chunks) exchange.write(chunk);
    return collected.length;
  }
  exchange.writeText(text);
  return await streamRest(
    reader!,
    collected,
    exchange,
    chunked,
    declaredLength,
  );
}

async function streamRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  collected: Collected,
  exchange: Exchange,
  chunked: boolean,
  declaredLength: string | null,
): Promise<number> {
  let sent = 0;
  const send = (chunk: Uint8Array): void => {
    if (chunk.length === 0) return;
    sent += chunk.length;
    if (chunked) {
      exchange.write(encodeChunkHeader(chunk.length));
      exchange.write(chunk);
      exchange.write(CRLF);
    } else {
      exchange.write(chunk);
    }
  };
  try {
    for (const chunk of collected.chunks) send(chunk);
    let pending = collected.pending;
    for (;;) {
      // Let what is queued go out while the application produces more.
      await exchange.flush();
      const result = await (pending ?? reader.read());
      pending = null;
      if (result.done) break;
      send(toBytes(result.value));
    }
  } catch (error) {
    void reader.cancel(error).catch(() => {});
    // The head is out: the only honest signal left is an incomplete body.
    exchange.closeAfter = true;
    throw error;
  }
  if (chunked) exchange.write(LAST_CHUNK);
  if (declaredLength !== null && String(sent) !== declaredLength) {
    exchange.closeAfter = true;
    throw new RangeError(
      `Cannot frame the response: Content-Length ${declaredLength} declared, ${sent} bytes sent`,
    );
  }
  return sent;
}

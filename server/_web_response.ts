// Writes a Web Response through an Exchange: framing, keep-alive, Date.

import { encodeChunkHeader } from "../http1/chunked.ts";
import { contentLengthValue } from "../http1/framing.ts";
import { splitTokens } from "../http1/headers.ts";
import type { RequestHead } from "../http1/events.ts";
import { assertValidField } from "../http1/serializer.ts";
import { reasonPhrase } from "../http1/status.ts";
import { ConnectionClosedError, type Exchange } from "./_connection.ts";
import { httpDateNow } from "./_http_date.ts";
import { staticResponseParts } from "./_static_response_body.ts";

const encoder = new TextEncoder();
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

// "HTTP/1.1 <status> <reason>\r\n" for responses without their own statusText.
const STATUS_LINES: string[] = [];

/** String bodies up to this many characters may join the head's text. */
const INLINE_BODY_CHARS = 2048;

// Whether every character is ASCII: such a string is its own UTF-8 (and
// Latin-1) encoding, so it can be written as part of the head's text.
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}

// The start of a response head: status line and the fields framing does not
// own, plus what framing needs to know about the rest.
interface HeadStart {
  text: string;
  /** The handler's own `Connection: close`. */
  closeRequested: boolean;
  /** The handler's Content-Length when it is a valid one (RFC 9110 §8.6). */
  declaredLength: number | null;
  keepAlive: boolean;
}

function startHead(
  response: Response,
  status: number,
  fields: Iterable<readonly [string, string]>,
  lowerCase: boolean,
  exchange: Exchange,
): HeadStart {
  const statusText = response.statusText;
  let text = statusText === ""
    ? STATUS_LINES[status] ??= "HTTP/1.1 " + status + " " +
      reasonPhrase(status) + "\r\n"
    : "HTTP/1.1 " + status + " " + statusText + "\r\n";
  let keepAlive = exchange.keepAlive;
  let closeRequested = false;
  let declaredLength: number | null = null;
  let hasDate = false;
  // Headers has validated names and values (no CR, LF or NUL) already.
  for (const [rawName, value] of fields) {
    const name = lowerCase ? rawName.toLowerCase() : rawName;
    // Headers refuses CR, LF and NUL in values but lets other controls
    // (\x01, VT, DEL) through; the core's check refuses them (RFC 9110 §5.5)
    // and remembers values it passed, so repeated ones cost a lookup.
    assertValidField(name, value);
    switch (name) {
      case "content-length":
        // A value that is not one length (a sign, a list, "abc") is dropped
        // and the body framed as if none was given, as Deno.serve does:
        // repeating it would leave the client unable to frame the message.
        declaredLength = contentLengthValue(value);
        continue;
      case "transfer-encoding":
      case "keep-alive":
        continue;
      case "connection":
        if (splitTokens(value).includes("close")) {
          keepAlive = false;
          closeRequested = true;
        }
        continue;
      case "date":
        hasDate = true;
    }
    text += name + ": " + value + "\r\n";
  }
  if (!hasDate) text += "date: " + httpDateNow() + "\r\n";
  return { text, closeRequested, declaredLength, keepAlive };
}

// RFC 9110 §9.3.6: a 2xx to CONNECT starts a tunnel; it MUST NOT carry
// Content-Length or Transfer-Encoding.
function isTunnel(head: RequestHead, status: number): boolean {
  return head.method === "CONNECT" && status >= 200 && status < 300;
}

// Connection and Keep-Alive, and the empty line that ends the head.
function endHead(
  text: string,
  keepAlive: boolean,
  head: RequestHead,
  exchange: Exchange,
): string {
  if (!keepAlive) {
    exchange.closeAfter = true;
    return text + "connection: close\r\n\r\n";
  }
  if (head.version === "HTTP/1.0") text += "connection: keep-alive\r\n";
  return text + "keep-alive: timeout=" + exchange.keepAliveTimeoutSeconds +
    "\r\n\r\n";
}

/**
 * Serializes `response` for `head` and queues it on the exchange. Chooses
 * Content-Length when the body is all there, chunked (HTTP/1.1) or
 * close-delimited (HTTP/1.0) when it streams; no body for HEAD, 1xx, 204, 304.
 * Returns the body bytes sent (framing excluded), for the access log: at once
 * when the body is a string or bytes (no await on the hot path), else as a
 * promise.
 */
export function writeWebResponse(
  response: Response,
  head: RequestHead,
  exchange: Exchange,
): number | Promise<number> {
  // A plain-object Content-Type (Hono's c.json) sits in Deno's fast-path
  // fields, which staticResponseParts reads; tests/server/serve_hono_test.ts
  // and serve_fast_paths_test.ts hold both paths to the same bytes.
  const parts = staticResponseParts(response);
  if (parts === null) return writeStreamedResponse(response, head, exchange);
  const status = response.status;
  const start = startHead(response, status, parts.headers, true, exchange);
  let text = start.text;
  const declaredLength = start.declaredLength;
  const isHead = head.method === "HEAD";
  const bodyForbidden = status < 200 || status === 204 || status === 304;
  const tunnel = isTunnel(head, status);
  const body = bodyForbidden ? null : parts.body;
  let bytes: Uint8Array | null = null;
  let inline = false;
  let length = 0;
  if (typeof body === "string") {
    if (body.length <= INLINE_BODY_CHARS && isAscii(body)) {
      inline = true;
      length = body.length;
    } else {
      bytes = encoder.encode(body);
      length = bytes.length;
    }
  } else if (body !== null) {
    bytes = body;
    length = bytes.length;
  }
  if (bodyForbidden) {
    // RFC 9110 §8.6: a 304 may carry the length the 200 would have had.
    if (status === 304 && declaredLength !== null) {
      text += "content-length: " + declaredLength + "\r\n";
    }
  } else if (isHead && declaredLength !== null) {
    // RFC 9110 §9.3.2: HEAD answers with the length a GET would have had.
    text += "content-length: " + declaredLength + "\r\n";
  } else if (isHead && body === null) {
    // No body and no declared length: GET's length is unknown, so send none
    // rather than a 0 that may be wrong (RFC 9110 §8.6).
  } else if (!tunnel) {
    text += "content-length: " + length + "\r\n";
  }
  // Without onUpgrade nobody relays the tunnel: the connection ends after.
  // The whole response is here: a large upload left unread will not be
  // drained, so the connection ends after it.
  text = endHead(
    text,
    start.keepAlive && !tunnel && !exchange.unreadBodyOverDrainLimit,
    head,
    exchange,
  );
  // Head and body leave in one write; a short ASCII string body is part of
  // the head's text (one encode, one copy).
  exchange.writeText(isHead ? text : inline ? text + (body as string) : text);
  if (isHead) return 0;
  if (bytes !== null) exchange.write(bytes);
  return length;
}

// Bodies read through the public API: a stream, or what Deno keeps lazily.
async function writeStreamedResponse(
  response: Response,
  head: RequestHead,
  exchange: Exchange,
): Promise<number> {
  const status = response.status;
  const bodyForbidden = status < 200 || status === 204 || status === 304;
  const isHead = head.method === "HEAD";
  const tunnel = isTunnel(head, status);
  const start = startHead(response, status, response.headers, false, exchange);
  let text = start.text;
  const declaredLength = start.declaredLength;

  let collected: Collected = {
    chunks: [],
    length: 0,
    complete: true,
    pending: null,
  };
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  if (response.body !== null) {
    const body = response.body;
    reader = body.getReader();
    if (bodyForbidden) {
      void reader.cancel().catch(() => {});
      reader = null;
    } else {
      collected = await collectAvailable(reader);
    }
  }
  // Decided now, not before the body was collected: an echo of a body that
  // waited for its 100 Continue has sent it (and maybe read the body) only
  // since, and keeps the connection.
  let keepAlive = start.keepAlive ||
    (!start.closeRequested && exchange.keepAlive);

  let chunked = false;
  if (bodyForbidden) {
    // RFC 9110 §8.6: a 304 may carry the length the 200 would have had.
    if (status === 304 && declaredLength !== null) {
      text += "content-length: " + declaredLength + "\r\n";
    }
  } else if (isHead && declaredLength !== null) {
    // RFC 9110 §9.3.2: HEAD answers with the length a GET would have had.
    text += "content-length: " + declaredLength + "\r\n";
  } else if (tunnel) {
    // Everything after the head is tunnel data, to the connection's end.
    keepAlive = false;
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
  text = endHead(text, keepAlive, head, exchange);

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
    tunnel ? null : declaredLength,
  );
}

async function streamRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  collected: Collected,
  exchange: Exchange,
  chunked: boolean,
  declaredLength: number | null,
): Promise<number> {
  let sent = 0;
  let overrun = 0;
  const send = (chunk: Uint8Array): void => {
    if (chunk.length === 0) return;
    if (declaredLength !== null && sent + chunk.length > declaredLength) {
      // RFC 9110 §8.6: never more than the declared length on the wire; the
      // rest would be read as the start of the next response.
      overrun += sent + chunk.length - declaredLength;
      chunk = chunk.subarray(0, declaredLength - sent);
      if (chunk.length === 0) return;
    }
    sent += chunk.length;
    if (chunked) {
      exchange.write(encodeChunkHeader(chunk.length));
      exchange.write(chunk);
      exchange.write(CRLF);
    } else {
      exchange.write(chunk);
    }
  };
  // A stream that goes quiet (server-sent events) would otherwise never
  // learn that the client left: cancel it then, as Deno.serve does, so the
  // connection and its maxConnections slot are freed.
  let peerGone = false;
  exchange.watchPeerGone(() => {
    peerGone = true;
    void reader.cancel(new ConnectionClosedError()).catch(() => {});
  });
  try {
    for (const chunk of collected.chunks) send(chunk);
    let pending = collected.pending;
    while (overrun === 0) {
      // Let what is queued go out while the application produces more.
      await exchange.flush();
      const result = await (pending ?? reader.read());
      pending = null;
      if (peerGone) throw new ConnectionClosedError();
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
  if (overrun > 0) {
    // The message on the wire is whole; the handler's extra bytes are not.
    void reader.cancel().catch(() => {});
    exchange.closeAfter = true;
    throw new RangeError(
      `Cannot send the whole response body: Content-Length ${declaredLength} declared, the body was longer (the rest was not sent)`,
    );
  }
  if (declaredLength !== null && sent !== declaredLength) {
    exchange.closeAfter = true;
    throw new RangeError(
      `Cannot frame the response: Content-Length ${declaredLength} declared, ${sent} bytes sent`,
    );
  }
  return sent;
}

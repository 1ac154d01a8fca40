/*
 * Request bodies: what the caller may pass, how long it is, and writing it
 * raw or chunked. Internal to client/.
 */

import {
  CHUNK_END,
  encodeChunk,
  encodeChunkHeader,
  encodeLastChunk,
} from "../http1/chunked.ts";

/**
 * What a request body may be: text (UTF-8), bytes (any typed array or
 * `DataView`: its bytes), a Web stream or any (async) iterable of bytes or
 * text (sent chunked unless a length is given), a `Blob`, `URLSearchParams`,
 * `FormData` (multipart, as fetch sends it), or an open `Deno.FsFile`
 * (streamed, with its size as Content-Length).
 */
export type RequestBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | Blob
  | URLSearchParams
  | FormData
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>
  | Deno.FsFile;

/** A body ready to send. */
export interface PreparedBody {
  /** The whole body when it is in memory (replayable). */
  bytes: Uint8Array | null;
  /** Its length when known (bytes, file size, blob size). */
  length: number | null;
  /** The source to stream when not in memory. */
  stream: AsyncIterable<Uint8Array> | null;
  /** Content-Type implied by the body (URLSearchParams, Blob). */
  contentType: string | null;
}

const encoder = new TextEncoder();
const NONE: PreparedBody = Object.freeze({
  bytes: null,
  length: null,
  stream: null,
  contentType: null,
}) as PreparedBody;

/**
 * Works out how to send a body.
 *
 * @param body What the caller passed.
 * @param blocksize Read size for files.
 * @returns The prepared body.
 */
export function prepareBody(
  body: RequestBody | null | undefined,
  blocksize: number,
): PreparedBody | Promise<PreparedBody> {
  if (body === null || body === undefined) return NONE;
  if (typeof body === "string") return fixed(encoder.encode(body), null);
  if (body instanceof Uint8Array) return fixed(body, null);
  if (body instanceof ArrayBuffer) return fixed(new Uint8Array(body), null);
  if (ArrayBuffer.isView(body)) {
    return fixed(
      new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      null,
    );
  }
  if (body instanceof FormData) return formDataBody(body);
  if (body instanceof URLSearchParams) {
    return fixed(
      encoder.encode(body.toString()),
      "application/x-www-form-urlencoded;charset=UTF-8",
    );
  }
  if (body instanceof Blob) {
    return {
      bytes: null,
      length: body.size,
      stream: body.stream(),
      contentType: body.type === "" ? null : body.type,
    };
  }
  if (body instanceof Deno.FsFile) {
    return fileBody(body, blocksize);
  }
  if (body instanceof ReadableStream) {
    return {
      bytes: null,
      length: null,
      stream: toBytes(body as ReadableStream<Uint8Array | string>),
      contentType: null,
    };
  }
  if (Symbol.asyncIterator in body || Symbol.iterator in body) {
    return {
      bytes: null,
      length: null,
      stream: toBytes(body as AsyncIterable<Uint8Array | string>),
      contentType: null,
    };
  }
  throw new TypeError(
    `Cannot send a body of type ${
      Object.prototype.toString.call(body)
    }: pass a string, bytes, a stream or an iterable of bytes`,
  );
}

function fixed(bytes: Uint8Array, contentType: string | null): PreparedBody {
  return { bytes, length: bytes.length, stream: null, contentType };
}

async function* readFile(
  file: Deno.FsFile,
  blocksize: number,
): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(blocksize);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) return;
    // The buffer is reused: the writer finishes with it before we read again.
    yield buf.subarray(0, n);
  }
}

// Each piece of a streamed body as bytes: text as UTF-8; anything else
// (a number, an object) is a TypeError, never bytes made up from it.
async function* toBytes(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
): AsyncGenerator<Uint8Array> {
  for await (const part of source as AsyncIterable<unknown>) {
    if (part instanceof Uint8Array) yield part;
    else if (typeof part === "string") yield encoder.encode(part);
    else if (ArrayBuffer.isView(part)) {
      yield new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    } else {
      throw new TypeError(
        `Cannot send a body piece of type ${
          Object.prototype.toString.call(part)
        }: a streamed body yields bytes or strings`,
      );
    }
  }
}

// FormData goes as fetch sends it: multipart/form-data with a fresh
// boundary, encoded by the platform's own Response (no I/O), and with a
// Content-Length.
async function formDataBody(form: FormData): Promise<PreparedBody> {
  const encoded = new Response(form);
  return fixed(
    await encoded.bytes(),
    encoded.headers.get("content-type"),
  );
}

/**
 * Streams a body, chunk-encoded or raw.
 *
 * @param write Writes all bytes (and logs them).
 * @param stream The source.
 * @param chunked Frame each piece as a chunk and end with the last chunk.
 * @param expected With raw framing, the announced length to check.
 * @returns How many body bytes were sent.
 */
export async function writeStream(
  write: (bytes: Uint8Array) => Promise<void>,
  stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunked: boolean,
  expected: number | null,
): Promise<number> {
  let sent = 0;
  for await (const piece of stream) {
    if (piece.length === 0) continue;
    if (!chunked && expected !== null && sent + piece.length > expected) {
      throw new TypeError(
        `Cannot send more body than Content-Length ${expected}: the source grew`,
      );
    }
    if (!chunked) {
      await write(piece);
    } else if (piece.length <= 16 * 1024) {
      await write(encodeChunk(piece));
    } else {
      await write(encodeChunkHeader(piece.length));
      await write(piece);
      await write(CHUNK_END);
    }
    sent += piece.length;
  }
  if (chunked) await write(encodeLastChunk());
  else if (expected !== null && sent !== expected) {
    throw new TypeError(
      `Cannot finish the body: sent ${sent} of the ${expected} bytes announced in Content-Length`,
    );
  }
  return sent;
}

/**
 * Joins two byte arrays.
 *
 * @param a First.
 * @param b Second.
 * @returns A new array.
 */
export function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Methods that are safe to send again (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "TRACE",
  "PUT",
  "DELETE",
]);

// A file is sent from where it stands: a file read part-way sends the rest,
// and Content-Length says how much that is. Not a regular file (a pipe):
// its length is unknown, so it goes chunked.
async function fileBody(
  file: Deno.FsFile,
  blocksize: number,
): Promise<PreparedBody> {
  const info = await file.stat();
  const at = info.isFile ? await file.seek(0, Deno.SeekMode.Current) : 0;
  return {
    bytes: null,
    length: info.isFile ? Math.max(0, info.size - at) : null,
    stream: readFile(file, blocksize),
    contentType: null,
  };
}

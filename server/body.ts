/**
 * Request body readers with limits: {@linkcode bytes}, {@linkcode text},
 * {@linkcode json}, {@linkcode formData} and {@linkcode bodyStream}.
 *
 * Nothing is buffered without a bound: a declared `Content-Length` over the
 * limit fails before reading, and streamed bytes are counted as they arrive.
 * Over a limit → {@linkcode PayloadTooLargeError} (413); malformed →
 * {@linkcode BadRequestError} (400). The router's default error hook and
 * {@linkcode withMiddleware} turn both into responses.
 *
 * @module
 */

import { concatBytes } from "../http1/_chars.ts";
import { MultipartParser, parseBoundary } from "./multipart.ts";

/**
 * An error that maps to an HTTP status. Its message is written for the
 * client and is safe to send.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpError } from "./body.ts";
 *
 * const err = new HttpError(409, "conflict", "Cannot create todo: id taken");
 * assert.equal(err.status, 409);
 * assert.equal(err.code, "conflict");
 * ```
 */
export class HttpError extends Error {
  /** Status to answer, 400–599. */
  readonly status: number;
  /** Stable machine-readable reason, e.g. `"payload_too_large"`. */
  readonly code: string;
  /**
   * Creates a new `HttpError`.
   *
   * @param status Status to answer.
   * @param code Stable machine-readable reason.
   * @param message Client-safe message.
   * @param options Standard error options (`cause`).
   */
  constructor(
    status: number,
    code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
  }
}

/** Reasons a body can be too large. */
export type PayloadTooLargeCode =
  | "payload_too_large"
  | "too_many_parts"
  | "too_many_fields"
  | "file_too_large"
  | "field_too_large"
  | "part_head_too_large";

/**
 * A body (or one part of it) crossed a limit; answer 413.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytes, PayloadTooLargeError } from "./body.ts";
 *
 * const req = new Request("http://h/", { method: "POST", body: "12345" });
 * await assert.rejects(bytes(req, { maxBytes: 4 }), PayloadTooLargeError);
 * ```
 */
export class PayloadTooLargeError extends HttpError {
  /** Always 413 Content Too Large. */
  declare readonly status: 413;
  /** Which limit was crossed. */
  declare readonly code: PayloadTooLargeCode;
  /** The limit that was crossed, in bytes or items. */
  readonly limit: number;
  /**
   * Creates a new `PayloadTooLargeError`.
   *
   * @param message Client-safe message.
   * @param limit The limit that was crossed.
   * @param code Which limit.
   */
  constructor(
    message: string,
    limit: number,
    code: PayloadTooLargeCode = "payload_too_large",
  ) {
    super(413, code, message);
    this.name = "PayloadTooLargeError";
    this.limit = limit;
  }
}

/**
 * The body is malformed (bad JSON, bad UTF-8, broken multipart); answer 400.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { BadRequestError, json } from "./body.ts";
 *
 * const req = new Request("http://h/", { method: "POST", body: "{oops" });
 * await assert.rejects(json(req), BadRequestError);
 * ```
 */
export class BadRequestError extends HttpError {
  /** Always 400 Bad Request. */
  declare readonly status: 400;
  /**
   * Creates a new `BadRequestError`.
   *
   * @param message Client-safe message.
   * @param code Stable reason, default `"bad_request"`.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, code = "bad_request", options?: ErrorOptions) {
    super(400, code, message, options);
    this.name = "BadRequestError";
  }
}

/**
 * The response for a thrown value: an {@linkcode HttpError} keeps its status
 * and message; anything else is a plain 500 that leaks nothing.
 *
 * @param err What was thrown.
 * @returns A plain-text response.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorResponse, PayloadTooLargeError } from "./body.ts";
 *
 * assert.equal(errorResponse(new PayloadTooLargeError("Too big", 1)).status, 413);
 * const res = errorResponse(new Error("db password is hunter2"));
 * assert.equal(res.status, 500);
 * assert.equal(await res.text(), "Internal Server Error");
 * ```
 */
export function errorResponse(err: unknown): Response {
  if (err instanceof HttpError && err.status >= 400 && err.status <= 599) {
    return new Response(err.message, {
      status: err.status,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  return new Response("Internal Server Error", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Limit for {@linkcode bytes}, {@linkcode text}, {@linkcode json}, {@linkcode bodyStream}. */
export interface BodyOptions {
  /** Most body bytes to accept (413 beyond). Default 1 MiB. */
  maxBytes?: number;
}

/** Default body limit: 1 MiB, ample for JSON APIs; uploads should raise it. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

function checkLimit(maxBytes: number, name = "maxBytes"): number {
  if (!(maxBytes >= 0) || !Number.isFinite(maxBytes)) {
    throw new RangeError(
      `Cannot use ${name} ${maxBytes}: expected a finite number >= 0`,
    );
  }
  return maxBytes;
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `Request body is larger than ${maxBytes} bytes`,
    maxBytes,
  );
}

function declaredTooLarge(req: Request, maxBytes: number): boolean {
  const value = req.headers.get("content-length");
  if (value === null) return false;
  const n = Number(value);
  return Number.isFinite(n) && n > maxBytes;
}

/**
 * The request body as a stream that errors with
 * {@linkcode PayloadTooLargeError} once more than `maxBytes` have passed
 * (and at once if `Content-Length` already says so).
 *
 * @param req The request.
 * @param options `maxBytes`, default 1 MiB.
 * @returns The counted stream (empty if the request has no body).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { bodyStream } from "./body.ts";
 *
 * const req = new Request("http://h/", { method: "POST", body: "hello" });
 * const out = await new Response(bodyStream(req, { maxBytes: 5 })).text();
 * assert.equal(out, "hello");
 * ```
 */
export function bodyStream(
  req: Request,
  options: BodyOptions = {},
): ReadableStream<Uint8Array> {
  const maxBytes = checkLimit(options.maxBytes ?? DEFAULT_MAX_BODY_BYTES);
  if (declaredTooLarge(req, maxBytes)) {
    req.body?.cancel().catch(() => {});
    return new ReadableStream({ start: (c) => c.error(tooLarge(maxBytes)) });
  }
  if (req.body === null) return new ReadableStream({ start: (c) => c.close() });
  return limitStream(req.body, maxBytes);
}

/**
 * Counts bytes through `stream`; past `maxBytes` it cancels the source and
 * errors with {@linkcode PayloadTooLargeError}.
 *
 * @param stream Source bytes.
 * @param maxBytes Most bytes to let through.
 * @returns The counted stream.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { limitStream, PayloadTooLargeError } from "./body.ts";
 *
 * const src = new Response("abcdef").body!;
 * await assert.rejects(new Response(limitStream(src, 3)).text(), PayloadTooLargeError);
 * ```
 */
export function limitStream(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): ReadableStream<Uint8Array> {
  checkLimit(maxBytes);
  const reader = stream.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      seen += value.byteLength;
      if (seen > maxBytes) {
        await reader.cancel().catch(() => {});
        controller.error(tooLarge(maxBytes));
        return;
      }
      controller.enqueue(value);
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Reads the whole body into memory, at most `maxBytes`.
 *
 * @param req The request.
 * @param options `maxBytes`, default 1 MiB.
 * @returns The body bytes (empty when there is no body).
 * @throws {PayloadTooLargeError} Over the limit.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytes } from "./body.ts";
 *
 * const req = new Request("http://h/", { method: "POST", body: "hi" });
 * assert.deepEqual(await bytes(req), new TextEncoder().encode("hi"));
 * ```
 */
export async function bytes(
  req: Request,
  options: BodyOptions = {},
): Promise<Uint8Array> {
  const maxBytes = checkLimit(options.maxBytes ?? DEFAULT_MAX_BODY_BYTES);
  if (declaredTooLarge(req, maxBytes)) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, total);
}

/**
 * Reads the body as UTF-8 text, at most `maxBytes`.
 *
 * @param req The request.
 * @param options `maxBytes`, default 1 MiB.
 * @returns The decoded text (a leading BOM is dropped).
 * @throws {PayloadTooLargeError} Over the limit.
 * @throws {BadRequestError} The bytes are not valid UTF-8.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { text } from "./body.ts";
 *
 * const req = new Request("http://h/", { method: "POST", body: "héllo" });
 * assert.equal(await text(req), "héllo");
 * ```
 */
export async function text(
  req: Request,
  options: BodyOptions = {},
): Promise<string> {
  const data = await bytes(req, options);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch (cause) {
    throw new BadRequestError(
      "Cannot decode request body: not valid UTF-8",
      "bad_utf8",
      {
        cause,
      },
    );
  }
}

/**
 * Reads and parses a JSON body, at most `maxBytes`.
 *
 * @typeParam T What the caller expects; not validated.
 * @param req The request.
 * @param options `maxBytes`, default 1 MiB.
 * @returns The parsed value.
 * @throws {PayloadTooLargeError} Over the limit.
 * @throws {BadRequestError} Empty, not UTF-8, or not JSON.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { json } from "./body.ts";
 *
 * const req = new Request("http://h/", { method: "POST", body: '{"a":1}' });
 * assert.deepEqual(await json<{ a: number }>(req, { maxBytes: 64 }), { a: 1 });
 * ```
 */
export async function json<T = unknown>(
  req: Request,
  options: BodyOptions = {},
): Promise<T> {
  const source = await text(req, options);
  if (source.trim() === "") {
    throw new BadRequestError(
      "Cannot parse JSON body: body is empty",
      "bad_json",
    );
  }
  try {
    return JSON.parse(source) as T;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new BadRequestError(`Cannot parse JSON body: ${detail}`, "bad_json", {
      cause,
    });
  }
}

/** Limits for {@linkcode formData}. */
export interface FormDataOptions {
  /** Most body bytes overall (413). Default 10 MiB. */
  maxBytes?: number;
  /** Most fields plus files (413). Default 1000. */
  maxParts?: number;
  /** Most bytes in one uploaded file (413). Default 10 MiB. */
  maxFileBytes?: number;
  /** Most bytes in one non-file field value (413). Default 1 MiB. */
  maxFieldBytes?: number;
  /** Most bytes in one part's header block (413). Default 8 KiB. */
  maxPartHeadBytes?: number;
}

/** Defaults for {@linkcode formData}: room for a photo upload, not a DoS. */
export const DEFAULT_FORM_DATA_LIMITS: Readonly<Required<FormDataOptions>> =
  Object.freeze({
    maxBytes: 10 * 1024 * 1024,
    maxParts: 1000,
    maxFileBytes: 10 * 1024 * 1024,
    maxFieldBytes: 1024 * 1024,
    maxPartHeadBytes: 8 * 1024,
  });

/**
 * Reads an `application/x-www-form-urlencoded` or `multipart/form-data`
 * body into a `FormData`, enforcing every limit while the bytes stream in.
 * Files become `File` objects (held in memory, bounded by `maxFileBytes`).
 *
 * @param req The request.
 * @param options Limits; see {@linkcode DEFAULT_FORM_DATA_LIMITS}.
 * @returns The fields and files, in body order.
 * @throws {PayloadTooLargeError} A limit was crossed.
 * @throws {BadRequestError} Wrong content type or malformed body.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formData } from "./body.ts";
 *
 * const req = new Request("http://h/", {
 *   method: "POST",
 *   headers: { "content-type": "application/x-www-form-urlencoded" },
 *   body: "a=1&b=x+y",
 * });
 * const form = await formData(req, { maxParts: 10 });
 * assert.equal(form.get("b"), "x y");
 * ```
 */
export async function formData(
  req: Request,
  options: FormDataOptions = {},
): Promise<FormData> {
  // Each limit: the caller's, or its default when left out (undefined too,
  // not "no limit"); NaN or a negative one is a RangeError.
  const limits = {} as Required<FormDataOptions>;
  for (
    const key of Object.keys(
      DEFAULT_FORM_DATA_LIMITS,
    ) as (keyof FormDataOptions)[]
  ) {
    limits[key] = checkLimit(
      options[key] ?? DEFAULT_FORM_DATA_LIMITS[key],
      key,
    );
  }
  const type = req.headers.get("content-type") ?? "";
  const mediaType = type.split(";", 1)[0]!.trim().toLowerCase();
  if (mediaType === "application/x-www-form-urlencoded") {
    return await urlencoded(req, limits);
  }
  if (mediaType === "multipart/form-data") {
    return await multipart(req, type, limits);
  }
  await req.body?.cancel().catch(() => {});
  throw new BadRequestError(
    `Cannot read form data from content type "${type.slice(0, 64)}": ` +
      "expected multipart/form-data or application/x-www-form-urlencoded",
    "bad_content_type",
  );
}

async function urlencoded(
  req: Request,
  limits: Required<FormDataOptions>,
): Promise<FormData> {
  const source = await text(req, { maxBytes: limits.maxBytes });
  // Count the fields before URLSearchParams builds them all: 10 MiB of
  // "&a" would be five million pairs (seconds of work, hundreds of MB).
  // Empty pieces ("a&&b") are no fields, as URLSearchParams skips them.
  let fields = 0;
  for (let from = 0; from <= source.length;) {
    let end = source.indexOf("&", from);
    if (end === -1) end = source.length;
    if (end > from && ++fields > limits.maxParts) {
      throw new PayloadTooLargeError(
        `Form has more than ${limits.maxParts} fields`,
        limits.maxParts,
        "too_many_fields",
      );
    }
    from = end + 1;
  }
  const form = new FormData();
  let count = 0;
  for (const [name, value] of new URLSearchParams(source)) {
    if (++count > limits.maxParts) {
      throw new PayloadTooLargeError(
        `Form has more than ${limits.maxParts} fields`,
        limits.maxParts,
        "too_many_fields",
      );
    }
    // The same cap as a multipart field's (value bytes, UTF-8).
    if (
      value.length > limits.maxFieldBytes / 3 &&
      new TextEncoder().encode(value).length > limits.maxFieldBytes
    ) {
      throw new PayloadTooLargeError(
        `Form field "${
          name.slice(0, 64)
        }" is over ${limits.maxFieldBytes} bytes`,
        limits.maxFieldBytes,
        "field_too_large",
      );
    }
    form.append(name, value);
  }
  return form;
}

async function multipart(
  req: Request,
  contentType: string,
  limits: Required<FormDataOptions>,
): Promise<FormData> {
  const boundary = parseBoundary(contentType);
  if (boundary === null) {
    await req.body?.cancel().catch(() => {});
    throw new BadRequestError(
      "Cannot read multipart body: the boundary parameter is missing or invalid",
      "bad_multipart",
    );
  }
  const parser = new MultipartParser(boundary, limits);
  const form = new FormData();
  const reader = bodyStream(req, { maxBytes: limits.maxBytes }).getReader();
  let chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const events = done ? parser.finish() : parser.push(value);
      for (const event of events) {
        if (event.kind === "data") chunks.push(event.data);
        else if (event.kind === "end") {
          const { part } = event;
          if (part.filename === undefined) {
            // Decoded whole: a streaming TextDecoder drops a U+FEFF at the
            // start of each piece, so the text would depend on how TCP cut
            // the upload.
            form.append(part.name, decoder.decode(concatBytes(chunks)));
          } else {
            const file = new File(chunks as BlobPart[], part.filename, {
              type: part.contentType ?? "application/octet-stream",
            });
            form.append(part.name, file);
          }
          chunks = [];
        }
      }
      if (done) break;
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
  return form;
}

const decoder = new TextDecoder();

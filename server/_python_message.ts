/**
 * The request headers of the Python face, shaped like Python's
 * `http.client.HTTPMessage` (an `email.message.Message`).
 *
 * @module
 */

import type { FieldList } from "../http1/headers.ts";

/**
 * Request headers as `BaseHTTPRequestHandler.headers` holds them: lookups
 * are case-insensitive, `get()` returns the first value (as Python's
 * `Message.get`), `get_all()` every value in order, iteration yields the
 * names (as iterating a Python `Message` does); `items()` yields pairs.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { FieldList } from "../http1/headers.ts";
 * import { HTTPMessage } from "./_python_message.ts";
 *
 * const headers = new HTTPMessage(FieldList.from([["Host", "a"], ["X-A", "1"], ["x-a", "2"]]));
 * assert.equal(headers.get("host"), "a");
 * assert.equal(headers.get("missing"), null);
 * assert.equal(headers.get("missing", "fallback"), "fallback");
 * assert.deepEqual(headers.get_all("X-A"), ["1", "2"]);
 * assert.deepEqual([...headers], ["Host", "X-A", "x-a"]);
 * ```
 */
export class HTTPMessage implements Iterable<string> {
  readonly #fields: FieldList;

  /**
   * Wraps parsed fields.
   *
   * @param fields The request's header fields.
   */
  constructor(fields: FieldList) {
    this.#fields = fields;
  }

  /** How many field lines there are (Python's `len(headers)`). */
  get size(): number {
    return this.#fields.size;
  }

  /**
   * The first value of a header, or `failobj` (default null) when absent.
   *
   * @param name Case-insensitive header name.
   * @param failobj What to return when the header is absent.
   * @returns The value or `failobj`.
   */
  get(name: string): string | null;
  /**
   * The first value of a header, or `failobj` when absent.
   *
   * @param name Case-insensitive header name.
   * @param failobj What to return when the header is absent.
   * @returns The value or `failobj`.
   */
  get<T>(name: string, failobj: T): string | T;
  get<T>(name: string, failobj?: T): string | T | null {
    const i = this.#fields.indexOf(name.toLowerCase());
    if (i === -1) return failobj === undefined ? null : failobj;
    return this.#fields.value(i);
  }

  /**
   * Every value of a header in wire order, or `failobj` (default null) when
   * absent, as Python's `Message.get_all`.
   *
   * @param name Case-insensitive header name.
   * @param failobj What to return when the header is absent.
   * @returns The values or `failobj`.
   */
  get_all(name: string): string[] | null;
  /**
   * Every value of a header, or `failobj` when absent.
   *
   * @param name Case-insensitive header name.
   * @param failobj What to return when the header is absent.
   * @returns The values or `failobj`.
   */
  get_all<T>(name: string, failobj: T): string[] | T;
  get_all<T>(name: string, failobj?: T): string[] | T | null {
    const values = this.#fields.getAll(name);
    if (values.length > 0) return values;
    return failobj === undefined ? null : failobj;
  }

  /**
   * Whether the header is present (Python's `name in headers`).
   *
   * @param name Case-insensitive header name.
   * @returns True when present.
   */
  has(name: string): boolean {
    return this.#fields.has(name);
  }

  /**
   * The names in wire order, as sent.
   *
   * @returns One name per field line.
   */
  keys(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.#fields.size; i++) out.push(this.#fields.name(i));
    return out;
  }

  /**
   * The values in wire order.
   *
   * @returns One value per field line.
   */
  values(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.#fields.size; i++) {
      out.push(this.#fields.value(i));
    }
    return out;
  }

  /**
   * Name/value pairs in wire order.
   *
   * @returns One pair per field line.
   */
  items(): Array<[string, string]> {
    return [...this.#fields];
  }

  /**
   * The media type of `Content-Type` in lower case, "text/plain" when it is
   * absent or invalid (Python's `get_content_type()`).
   *
   * @returns E.g. "application/json".
   */
  get_content_type(): string {
    const value = this.get("content-type");
    if (value === null) return "text/plain";
    const type = value.split(";")[0]!.trim().toLowerCase();
    return type.split("/").length === 2 ? type : "text/plain";
  }

  /**
   * The headers as Python's `str(headers)` prints them: `Name: value` lines
   * and an empty line.
   *
   * @returns The text.
   */
  as_string(): string {
    let out = "";
    for (const [name, value] of this.#fields) out += `${name}: ${value}\n`;
    return out + "\n";
  }

  /** Same as {@linkcode HTTPMessage.as_string}. */
  toString(): string {
    return this.as_string();
  }

  /** The names in wire order, as iterating a Python `Message` yields them. */
  *[Symbol.iterator](): IterableIterator<string> {
    for (let i = 0; i < this.#fields.size; i++) yield this.#fields.name(i);
  }
}

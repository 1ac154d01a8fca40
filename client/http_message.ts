/**
 * Response header fields with Python's `http.client.HTTPMessage` reading
 * methods.
 *
 * @module
 */

import type { FieldList } from "../http1/headers.ts";

/**
 * A response's header (or trailer) fields, every value kept in wire order:
 * repeated fields such as `Set-Cookie` stay separate. Lookups ignore case.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { FieldList } from "../http1/headers.ts";
 * import { HTTPMessage } from "./http_message.ts";
 *
 * const message = new HTTPMessage(FieldList.from([
 *   ["Set-Cookie", "a=1"],
 *   ["Content-Type", "text/plain"],
 *   ["set-cookie", "b=2"],
 * ]));
 * assert.equal(message.get("content-type"), "text/plain");
 * assert.deepEqual(message.get_all("Set-Cookie"), ["a=1", "b=2"]);
 * assert.equal(message.get("missing", "none"), "none");
 * ```
 */
export class HTTPMessage implements Iterable<[string, string]> {
  /** The parsed fields. */
  readonly fields: FieldList;

  /**
   * Creates a new `HTTPMessage`.
   *
   * @param fields The parsed fields.
   */
  constructor(fields: FieldList) {
    this.fields = fields;
  }

  /**
   * The first value of a field (Python's `Message.get`).
   *
   * @param name Case-insensitive field name.
   * @param failobj Returned when absent.
   * @returns The value, or `failobj`.
   */
  get<D = null>(name: string, failobj?: D): string | D {
    const i = this.fields.indexOf(name.toLowerCase());
    return i === -1 ? (failobj ?? null) as D : this.fields.value(i);
  }

  /**
   * Every value of a field, one per field line (Python's `get_all`).
   *
   * @param name Case-insensitive field name.
   * @param failobj Returned when absent.
   * @returns The values, or `failobj`.
   */
  get_all<D = null>(name: string, failobj?: D): string[] | D {
    const values = this.fields.getAll(name);
    return values.length === 0 ? (failobj ?? null) as D : values;
  }

  /**
   * Whether a field is present (Python's `in`).
   *
   * @param name Case-insensitive field name.
   * @returns True when present.
   */
  has(name: string): boolean {
    return this.fields.has(name);
  }

  /** How many field lines there are. */
  get size(): number {
    return this.fields.size;
  }

  /**
   * Field names in wire order, as sent, repeats included.
   *
   * @returns The names.
   */
  keys(): string[] {
    return Array.from(this.fields, ([name]) => name);
  }

  /**
   * Field values in wire order.
   *
   * @returns The values.
   */
  values(): string[] {
    return Array.from(this.fields, ([, value]) => value);
  }

  /**
   * Name/value pairs in wire order.
   *
   * @returns The pairs.
   */
  items(): [string, string][] {
    const fields = this.fields;
    const out: [string, string][] = new Array(fields.size);
    for (let i = 0; i < out.length; i++) {
      out[i] = [fields.name(i), fields.value(i)];
    }
    return out;
  }

  /**
   * A Web `Headers` copy (repeated fields combined, except `Set-Cookie`,
   * which `getSetCookie()` returns separately).
   *
   * @returns The headers.
   */
  toHeaders(): Headers {
    return this.fields.toHeaders();
  }

  /** Name/value pairs in wire order. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.fields[Symbol.iterator]();
  }

  /**
   * The head as text, "Name: value" lines, like Python's `str(msg)`.
   *
   * @returns The text.
   */
  toString(): string {
    let s = "";
    for (const [name, value] of this.fields) s += `${name}: ${value}\n`;
    return s + "\n";
  }
}

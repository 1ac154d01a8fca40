/*
 * Request heads as text, and writing text into a reused byte buffer. The
 * client builds each head once as a string and encodes it straight into its
 * socket's output buffer, so a request costs no ArrayBuffer of its own.
 * Validation is the core's (`serializeRequestHead`, `assertValidField`),
 * with the same errors. Internal to client/.
 */

import {
  assertValidField,
  serializeRequestHead,
  trimFieldValue,
} from "../http1/serializer.ts";
import type { FieldInput } from "../http1/serializer.ts";

// RFC 9110 §5.6.2 token, and RFC 9112 §3.2 request-target bytes (visible
// ASCII): what serializeRequestHead accepts.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TARGET = /^[\x21-\x7e]+$/;
const encoder = new TextEncoder();

/**
 * The text of an HTTP/1.1 request head: request line, fields (values
 * trimmed), empty line. Every character is at most U+00FF.
 *
 * @param method The method token.
 * @param target The request-target.
 * @param fields The fields, in order.
 * @returns The head as Latin-1 text.
 * @throws {TypeError} For an invalid method, target, name or value (the
 *   core serializer's errors).
 */
export function requestHeadText(
  method: string,
  target: string,
  fields: FieldInput,
): string {
  if (!TOKEN.test(method) || !TARGET.test(target)) {
    // Let the core name what is wrong (it throws).
    serializeRequestHead(method, target, []);
  }
  let head = method + " " + target + " HTTP/1.1\r\n";
  for (const [name, raw] of fields) {
    const value = trimFieldValue(raw);
    assertValidField(name, value);
    head += name + ": " + value + "\r\n";
  }
  return head + "\r\n";
}

/**
 * Writes Latin-1 text into `out` at `at`, one byte per character.
 *
 * @param text Characters up to U+00FF.
 * @param out Where to write; must have `text.length` bytes of room at `at`.
 * @param at The offset.
 */
export function encodeLatin1Into(
  text: string,
  out: Uint8Array,
  at: number,
): void {
  // The native encoder writes UTF-8, the same bytes for ASCII text; it also
  // beats a charCodeAt loop on heads built by concatenation (it flattens the
  // string natively). Anything else (obs-text in a value) is copied by hand.
  const { read, written } = encoder.encodeInto(
    text,
    at === 0 ? out : out.subarray(at),
  );
  if (read === text.length && written === text.length) return;
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
}

/**
 * Encodes Latin-1 text into a new array.
 *
 * @param text Characters up to U+00FF.
 * @returns Its bytes.
 */
export function encodeLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  encodeLatin1Into(text, out, 0);
  return out;
}

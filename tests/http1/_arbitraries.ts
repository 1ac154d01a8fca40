// fast-check generators for valid HTTP/1.1 messages and their expected
// events, shared by fuzz_test.ts (short CI budget) and fuzz_long.ts.

import fc from "npm:fast-check@4.10.2";
import { encodeChunkHeader } from "../../http1/mod.ts";
import type { Plain } from "./_helpers.ts";
import { bytes } from "./_helpers.ts";

const TCHARS =
  "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    .split("");
const PATH_CHARS =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%/?"
    .split("");

/** A token (RFC 9110 §5.6.2). */
export const token: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...TCHARS),
  minLength: 1,
  maxLength: 12,
});

/** A method: mostly the common ones, sometimes any token. */
export const method: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "GET",
      "POST",
      "PUT",
      "DELETE",
      "PATCH",
      "OPTIONS",
    ),
  },
  { weight: 1, arbitrary: token.map((t) => t.toUpperCase()) },
);

/** An origin-form or absolute-form request-target. */
export const target: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 40 }).map((p) =>
    "/" + p
  ),
  fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 20 }).map((p) =>
    "http://example.com/" + p
  ),
);

// Field-value bytes: VCHAR, obs-text, and inner SP/HTAB.
const VALUE_CHAR = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 1, arbitrary: fc.constantFrom(0x20, 0x09) },
).map((c) => String.fromCharCode(c));

/** A field value as the parser hands it out (no surrounding whitespace). */
export const fieldValue: fc.Arbitrary<string> = fc.string({
  unit: VALUE_CHAR,
  maxLength: 30,
})
  .map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ""));

// Names that change framing or connection handling are generated on purpose
// elsewhere, never by chance.
const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "expect",
]);

/** Header fields other than the framing ones. */
export const fields: fc.Arbitrary<[string, string][]> = fc.array(
  fc.tuple(token.filter((n) => !RESERVED.has(n.toLowerCase())), fieldValue),
  { maxLength: 8 },
);

/** Optional whitespace written around a value on the wire. */
const ows = fc.constantFrom("", " ", "\t", "  ", " \t");

/** A body and how it is framed on the wire. */
export type Body =
  | { kind: "none" }
  | { kind: "length"; data: string }
  | {
    kind: "chunked";
    chunks: string[];
    extensions: string[];
    zeros: number;
    trailers: [string, string][];
  };

const bodyText = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 200,
});

/** A body: none, Content-Length, or chunked with random chunk sizes and trailers. */
export const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant<Body>({ kind: "none" }),
  bodyText.map((data): Body => ({ kind: "length", data })),
  fc.record({
    chunks: fc.array(bodyText, { maxLength: 5 }),
    extensions: fc.array(
      fc.constantFrom("", ";a", ";a=b", ' ; q="x y"', ";n=1;m"),
      {
        minLength: 6,
        maxLength: 6,
      },
    ),
    zeros: fc.integer({ min: 0, max: 3 }),
    trailers: fields,
  }).map((c): Body => ({ kind: "chunked", ...c })),
);

/** A generated message: its bytes and the events a parser must produce. */
export interface Generated {
  raw: Uint8Array;
  events: Plain[];
}

function writeFields(pairs: [string, string][], space: string[]): string {
  let out = "";
  pairs.forEach(([n, v], i) => {
    const pad = space[i % space.length] ?? "";
    out += `${n}:${pad}${v}${pad}\r\n`;
  });
  return out;
}

function writeBody(b: Body): { wire: string; fields: [string, string][] } {
  switch (b.kind) {
    case "none":
      return { wire: "", fields: [] };
    case "length":
      return {
        wire: b.data,
        fields: [["Content-Length", String(b.data.length)]],
      };
    case "chunked": {
      let wire = "";
      b.chunks.forEach((c, i) => {
        const size = new TextDecoder().decode(encodeChunkHeader(c.length))
          .slice(0, -2);
        const hex = i % 2 === 0 ? size : size.toUpperCase();
        wire += "0".repeat(b.zeros) + hex + (b.extensions[i] ?? "") + "\r\n" +
          c + "\r\n";
      });
      wire += "0".repeat(b.zeros) + "0" + (b.extensions[5] ?? "") + "\r\n";
      wire += writeFields(b.trailers, [""]) + "\r\n";
      return { wire, fields: [["Transfer-Encoding", "chunked"]] };
    }
  }
}

function bodyEvents(b: Body): Plain[] {
  const data = b.kind === "length"
    ? b.data
    : b.kind === "chunked"
    ? b.chunks.join("")
    : "";
  const events: Plain[] = data === "" ? [] : [{ kind: "data", text: data }];
  const trailers = b.kind === "chunked" && b.trailers.length > 0
    ? b.trailers
    : null;
  events.push({ kind: "end", trailers });
  return events;
}

/** A valid request with its expected events. */
export const request: fc.Arbitrary<Generated> = fc.record({
  leading: fc.integer({ min: 0, max: 2 }),
  method,
  target,
  host: fc.constantFrom("example.com", "a:8080", "[::1]", "127.0.0.1:1"),
  fields,
  space: fc.array(ows, { minLength: 1, maxLength: 3 }),
  body,
  close: fc.boolean(),
}).map((r) => {
  const framing = writeBody(r.body);
  const all: [string, string][] = [
    ["Host", r.host],
    ...r.fields,
    ...framing.fields,
    ...(r.close ? [["Connection", "close"] as [string, string]] : []),
  ];
  const wire = "\r\n".repeat(r.leading) +
    `${r.method} ${r.target} HTTP/1.1\r\n` +
    writeFields(all, r.space) + "\r\n" + framing.wire;
  const head: Plain = {
    kind: "head",
    method: r.method,
    target: r.target,
    version: "HTTP/1.1",
    headers: all,
    keepAlive: !r.close,
    framing: r.body.kind === "none"
      ? { kind: "none" }
      : r.body.kind === "length"
      ? { kind: "length", length: r.body.data.length }
      : { kind: "chunked" },
    expectContinue: false,
    upgrade: null,
  };
  return { raw: bytes(wire), events: [head, ...bodyEvents(r.body)] };
});

/** Several valid requests pipelined in one stream. */
export const pipeline: fc.Arbitrary<Generated> = fc.array(request, {
  minLength: 1,
  maxLength: 4,
}).map((list) => {
  // Only the last request may ask to close; earlier ones keep the connection.
  const parts = list.map((g) => g);
  const raw = new Uint8Array(parts.reduce((n, g) => n + g.raw.length, 0));
  let at = 0;
  for (const g of parts) {
    raw.set(g.raw, at);
    at += g.raw.length;
  }
  return { raw, events: parts.flatMap((g) => g.events) };
});

/** A valid response (with optional interim heads) to `method`, and its events. */
export const response: fc.Arbitrary<Generated & { method: string }> = fc.record(
  {
    interim: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 2 }),
    status: fc.integer({ min: 200, max: 599 }).filter((s) =>
      s !== 204 && s !== 304
    ),
    reason: fc.string({ unit: VALUE_CHAR, maxLength: 20 }),
    method: fc.constantFrom("GET", "POST", "HEAD"),
    fields,
    space: fc.array(ows, { minLength: 1, maxLength: 3 }),
    body,
  },
).map((r) => {
  const b: Body = r.method === "HEAD" ? { kind: "none" } : r.body;
  const framing = r.body.kind === "none"
    ? { wire: "", fields: [["Content-Length", "0"]] as [string, string][] }
    : writeBody(b);
  const headFields: [string, string][] =
    r.method === "HEAD" && r.body.kind === "length"
      ? [["Content-Length", String(r.body.data.length)]]
      : framing.fields;
  const all: [string, string][] = [...r.fields, ...headFields];
  let wire = "";
  const events: Plain[] = [];
  for (const s of r.interim) {
    wire += `HTTP/1.1 ${s} Info\r\n\r\n`;
    events.push({
      kind: "head",
      status: s,
      reason: "Info",
      version: "HTTP/1.1",
      headers: [],
      keepAlive: true,
      framing: { kind: "none" },
    });
  }
  wire += `HTTP/1.1 ${r.status} ${r.reason}\r\n` + writeFields(all, r.space) +
    "\r\n" +
    framing.wire;
  events.push({
    kind: "head",
    status: r.status,
    reason: r.reason,
    version: "HTTP/1.1",
    headers: all,
    keepAlive: true,
    framing: b.kind === "length"
      ? { kind: "length", length: b.data.length }
      : b.kind === "chunked"
      ? { kind: "chunked" }
      : { kind: "none" },
  }, ...bodyEvents(b));
  return { raw: bytes(wire), events, method: r.method };
});

/** Cut points for a message of `length` bytes: sorted, deduplicated. */
export function cuts(length: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: length }), { maxLength: 6 });
}

/** Splits `raw` at the cut points. */
export function cut(raw: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set([0, ...at, raw.length])].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  for (let i = 1; i < points.length; i++) {
    chunks.push(raw.slice(points[i - 1], points[i]));
  }
  return chunks;
}

/** One edit to a byte string. */
export type Mutation =
  | { op: "flip"; at: number; byte: number }
  | { op: "insert"; at: number; byte: number }
  | { op: "delete"; at: number };

// Bytes that matter to HTTP framing get picked often.
const INTERESTING = fc.oneof(
  fc.constantFrom(
    0x0d,
    0x0a,
    0x20,
    0x09,
    0x3a,
    0x3b,
    0x00,
    0x2c,
    0x30,
    0x66,
    0x7f,
    0xff,
    0x2f,
  ),
  fc.integer({ min: 0, max: 255 }),
);

/** A list of mutations; positions are taken modulo the length at each step. */
export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({
      op: fc.constant("flip" as const),
      at: fc.nat(),
      byte: INTERESTING,
    }),
    fc.record({
      op: fc.constant("insert" as const),
      at: fc.nat(),
      byte: INTERESTING,
    }),
    fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  ),
  { minLength: 1, maxLength: 4 },
);

/** Applies mutations to a copy of `raw`. */
export function mutate(raw: Uint8Array, edits: Mutation[]): Uint8Array {
  const out = [...raw];
  for (const edit of edits) {
    const at = out.length === 0
      ? 0
      : edit.at % (out.length + (edit.op === "insert" ? 1 : 0));
    if (edit.op === "flip" && out.length > 0) out[at] = edit.byte;
    else if (edit.op === "insert") out.splice(at, 0, edit.byte);
    else if (edit.op === "delete" && out.length > 0) out.splice(at, 1);
  }
  return new Uint8Array(out);
}

// Helpers for the http1 vector tables: run a parser over chunks and turn its
// events into plain, comparable values.

import assert from "node:assert/strict";
import { ProtocolError } from "../../http1/errors.ts";
import type {
  RequestEvent,
  RequestHead,
  ResponseEvent,
  ResponseHead,
} from "../../http1/events.ts";
import type { FieldList } from "../../http1/headers.ts";

// bytes/text/splits mirror tests/_util.ts, which does not type-check yet
// (its drain() casts to E without `unknown`); import from there once it does.

/** Encodes a string as Latin-1 bytes (one byte per character). */
export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** Decodes bytes as Latin-1. */
export function text(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i++) s += String.fromCharCode(data[i]!);
  return s;
}

/** Whole, every two-way split, one byte at a time; fresh copies each time. */
export function* splits(data: Uint8Array): Generator<Uint8Array[]> {
  yield [data.slice()];
  for (let i = 1; i < data.length; i++) {
    yield [data.slice(0, i), data.slice(i)];
  }
  if (data.length > 1) yield Array.from(data, (b) => new Uint8Array([b]));
}

/** A parser as these helpers drive it. */
export interface Parser<E> {
  receive(bytes: Uint8Array): void;
  receiveEof(): void;
  next(): E;
  readonly bufferedBytes: number;
  takeBuffered(): Uint8Array;
  resume(): void;
}

/** An event made plain: heads as objects, data as Latin-1 text. */
export type Plain = Record<string, unknown> & { kind: string };

/** Field pairs in wire order. */
export function pairs(fields: FieldList | null): [string, string][] | null {
  return fields === null ? null : [...fields];
}

/** Turns one parser event into a plain value (data is copied). */
export function plain(event: RequestEvent | ResponseEvent): Plain {
  switch (event.kind) {
    case "head":
      if ("method" in event) return plainRequestHead(event);
      return plainResponseHead(event);
    case "data":
      return { kind: "data", text: text(event.data) };
    case "end":
      return { kind: "end", trailers: pairs(event.trailers) };
    default:
      return { kind: event.kind };
  }
}

function plainRequestHead(head: RequestHead): Plain {
  return {
    kind: "head",
    method: head.method,
    target: head.target,
    version: head.version,
    headers: pairs(head.headers),
    keepAlive: head.keepAlive,
    framing: { ...head.framing },
    expectContinue: head.expectContinue,
    upgrade: head.upgrade,
  };
}

function plainResponseHead(head: ResponseHead): Plain {
  return {
    kind: "head",
    status: head.status,
    reason: head.reason,
    version: head.version,
    headers: pairs(head.headers),
    keepAlive: head.keepAlive,
    framing: { ...head.framing },
  };
}

/** What {@linkcode run} saw. */
export interface RunResult {
  /** Events, adjacent data merged; need-data left out. */
  events: Plain[];
  /** The error `next()` threw, if any (the run stops there). */
  error: unknown;
}

/**
 * Feeds every chunk, pulling events until need-data after each. After a
 * paused or closed event no more events are pulled but the remaining chunks
 * are still received (they are the tunnel's bytes). Bounded: a parser that
 * does not settle fails the test.
 */
export function run<E extends RequestEvent | ResponseEvent>(
  parser: Parser<E>,
  chunks: Uint8Array[],
  options: { eof?: boolean; maxSteps?: number } = {},
): RunResult {
  const events: Plain[] = [];
  let stopped = false;
  let steps = 0;
  const maxSteps = options.maxSteps ?? 1_000_000;
  const pull = (): void => {
    while (!stopped) {
      if (++steps > maxSteps) throw new Error("Parser did not settle");
      const event = parser.next();
      if (event.kind === "need-data") return;
      const p = plain(event);
      const last = events.at(-1);
      if (p.kind === "data" && last?.kind === "data") {
        last.text = (last.text as string) + (p.text as string);
      } else if (p.kind !== "data" || p.text !== "") {
        events.push(p);
      }
      if (p.kind === "paused" || p.kind === "closed") stopped = true;
    }
  };
  try {
    for (const chunk of chunks) {
      parser.receive(chunk);
      pull();
    }
    if (options.eof) {
      parser.receiveEof();
      pull();
    }
  } catch (error) {
    if (error instanceof Error && error.message === "Parser did not settle") {
      throw error;
    }
    return { events, error };
  }
  return { events, error: undefined };
}

/** Asserts `error` is a ProtocolError with this code and status hint. */
export function assertProtocolError(
  error: unknown,
  code: string,
  statusHint: number,
  where: string,
): void {
  assert.ok(
    error instanceof ProtocolError,
    `${where}: expected ProtocolError ${code}, got ${String(error)}`,
  );
  assert.equal(error.code, code, `${where}: code (${error.message})`);
  assert.equal(error.statusHint, statusHint, `${where}: statusHint`);
}

/** Describes a split for assertion messages. */
export function describe(chunks: Uint8Array[]): string {
  return chunks.length === 1
    ? "whole"
    : chunks.length === 2
    ? `split at ${chunks[0]!.length}`
    : "byte by byte";
}

// Shared test helpers: byte splitting and draining parsers.

/** Encodes a string as Latin-1 bytes (one byte per character). */
export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** Decodes bytes as Latin-1. */
export function text(data: Uint8Array): string {
  let s = "";
  for (const b of data) s += String.fromCharCode(b);
  return s;
}

/**
 * Every way the tests feed bytes: whole, every two-way split, and one byte at
 * a time. Each split yields fresh copies so parsers cannot rely on identity.
 */
export function* splits(data: Uint8Array): Generator<Uint8Array[]> {
  yield [data.slice()];
  for (let i = 1; i < data.length; i++) {
    yield [data.slice(0, i), data.slice(i)];
  }
  if (data.length > 1) yield Array.from(data, (b) => new Uint8Array([b]));
}

/** A parser as the tests see it. */
export interface Drainable<E extends { kind: string }> {
  receive(bytes: Uint8Array): void;
  receiveEof(): void;
  next(): E;
}

/** A parser event made comparable: data bytes merged, heads summarised. */
export type Simplified = { kind: string; [key: string]: unknown };

/**
 * Feeds chunks one at a time, pulling events until need-data after each, then
 * optionally EOF. Adjacent data events are merged (their split is arbitrary),
 * and data views are copied at once (the caller may reuse buffers).
 */
export function drain<E extends { kind: string }>(
  parser: Drainable<E>,
  chunks: Uint8Array[],
  options: { eof?: boolean; stopAt?: (event: E) => boolean } = {},
): E[] {
  const events: E[] = [];
  const pull = (): boolean => {
    for (let guard = 0; guard < 100_000; guard++) {
      const event = parser.next();
      if (event.kind === "need-data") return true;
      if (event.kind === "data") {
        const data = (event as unknown as { data: Uint8Array }).data.slice();
        const last = events.at(-1) as unknown as
          | { kind: string; data: Uint8Array }
          | undefined;
        if (last?.kind === "data") {
          const merged = new Uint8Array(last.data.length + data.length);
          merged.set(last.data);
          merged.set(data, last.data.length);
          events[events.length - 1] = {
            kind: "data",
            data: merged,
          } as unknown as E;
        } else {
          events.push({ kind: "data", data } as unknown as E);
        }
        continue;
      }
      events.push(event);
      if (event.kind === "paused" || event.kind === "closed") return false;
      if (options.stopAt?.(event)) return false;
    }
    throw new Error("Parser did not settle in 100000 steps");
  };
  for (const chunk of chunks) {
    parser.receive(chunk);
    if (!pull()) return events;
  }
  if (options.eof) {
    parser.receiveEof();
    pull();
  }
  return events;
}

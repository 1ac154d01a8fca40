/**
 * Review of net/ as a model-based property test and a differential against
 * Python's `socket` module (python3 runs real peers here).
 *
 * - `BufferedReader` runs random sequences of readLine / readExactly / read,
 *   with per-call timeouts, over a random byte stream split at random points
 *   (an in-memory reader the test drives, and real sockets); the oracle is a
 *   model over the concatenated bytes with Python's `makefile('rb')` /
 *   asyncio `StreamReader` semantics.
 * - `writeAll` against a slow Python reader; resets from a Python peer.
 * - Error mapping next to what Python raises for the same situation.
 * - The socket examples under many concurrent clients.
 *
 * Bugs found (and fixed) are marked `// Fixed bug:` above their test.
 * NET_PROPERTY_RUNS / NET_PROPERTY_SEED change the property budget and seed.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  AddressInUseError,
  BufferedReader,
  ConnectionRefusedError,
  ConnectionResetError,
  connectTcp,
  DEFAULT_MAX_LINE_BYTES,
  LimitOverrunError,
  listenTcp,
  listenUdp,
  type Reader,
  readExactly,
  TimeoutError,
  UnexpectedEofError,
  writeAll,
} from "../../net/mod.ts";
import {
  readLineMatching,
  runExample,
  spawnExample,
} from "../examples/_spawn.ts";

const RUNS = Number(Deno.env.get("NET_PROPERTY_RUNS") ?? "400");
const SOCKET_RUNS = Math.max(5, Math.round(RUNS / 10));
const SEED = Deno.env.get("NET_PROPERTY_SEED");
const seedOption = SEED === undefined ? {} : { seed: Number(SEED) };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LF = 0x0a;
const CR = 0x0d;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(
    text.match(/../g) ?? [],
    (pair) => parseInt(pair, 16),
  );
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return hex(
    new Uint8Array(
      await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
    ),
  );
}

/** Splits `bytes` into chunks of the given sizes (cycled), never empty. */
function split(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(
      1,
      sizes.length === 0 ? bytes.length : sizes[i % sizes.length]!,
    );
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

/** Resolves like `promise`, or to `undefined` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles a promise into a value or an error, without throwing. */
function settle<T>(
  promise: Promise<T>,
): Promise<{ value: T } | { error: unknown }> {
  return promise.then((value) => ({ value }), (error: unknown) => ({ error }));
}

// ------------------------------------------------------------------ Python

/** A python3 child: reads its stdout line by line; stdin closing stops it. */
class PythonPeer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #lines: BufferedReader;
  readonly #stderr: Promise<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #closed: Promise<Deno.CommandStatus> | undefined;

  constructor(script: string, input?: string) {
    this.#child = new Deno.Command("python3", {
      args: ["-u", "-c", script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stderr = new Response(this.#child.stderr).text();
    const stdout = this.#child.stdout.getReader();
    let rest = new Uint8Array(0);
    this.#lines = new BufferedReader({
      async read(p: Uint8Array): Promise<number | null> {
        if (rest.length === 0) {
          const { done, value } = await stdout.read();
          if (done) return null;
          rest = value;
        }
        const n = Math.min(p.length, rest.length);
        p.set(rest.subarray(0, n));
        rest = rest.subarray(n);
        return n;
      },
    });
    this.#stdin = this.#child.stdin.getWriter();
    if (input !== undefined) {
      void this.#stdin.write(encoder.encode(input)).then(
        () => this.#stdin.close(),
      ).catch(() => {});
    }
  }

  /** Writes `text` to the child's stdin, leaving it open. */
  async write(text: string): Promise<void> {
    await this.#stdin.write(encoder.encode(text));
  }

  /** The next stdout line; fails with the child's stderr at EOF. */
  async line(timeoutMs = 10_000): Promise<string> {
    const line = await this.#lines.readLine({ timeoutMs });
    if (line === null) {
      throw new Error(`python3 ended early: ${await this.close()}`);
    }
    return line;
  }

  /** Closes stdin, waits for the exit; resolves to stderr. */
  async close(): Promise<string> {
    if (this.#closed === undefined) {
      await this.#stdin.close().catch(() => {});
      this.#closed = this.#child.status;
    }
    await this.#closed;
    while (await this.#lines.read().catch(() => null) !== null) { /* drain */ }
    return await this.#stderr;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 5000);
    try {
      await this.close();
    } finally {
      clearTimeout(timer);
    }
  }
}

// ============================================================ BufferedReader
//
// The model: `stream` is every byte the peer will send; `pos` how many the
// calls have consumed; `arrived` how many the peer has sent so far; `eof`
// whether it has closed. Each call's outcome depends only on
// stream[pos..arrived] and eof (asyncio StreamReader / makefile('rb')):
//   readLine  up to the first LF, CRLF or LF stripped; a last line without
//             LF at EOF; null at EOF; LimitOverrunError once the line is
//             known to exceed maxBytes (its content, before the ending).
//   readExactly(n)  n bytes; UnexpectedEofError(partial = all that is left)
//             at EOF.
//   read      a non-empty prefix of what arrived; null at EOF.
//   "more"    the call must wait; with a timeout it throws TimeoutError
//             and consumes nothing (asyncio: wait_for(readexactly) that
//             times out leaves the buffer as it was).

/** Bytes that feed the reader when the test says so. */
class ScriptedReader implements Reader {
  #ready: Uint8Array[] = [];
  #eof = false;
  #zeros = 0;
  #waiting:
    | { p: Uint8Array; resolve: (n: number | null) => void }
    | undefined;

  /** Hands `chunk` to the pending read, or queues it; `zeros` empty reads first. */
  deliver(chunk: Uint8Array, zeros = 0): void {
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      const n = Math.min(chunk.length, waiting.p.length);
      waiting.p.set(chunk.subarray(0, n));
      if (n < chunk.length) this.#ready.push(chunk.slice(n));
      waiting.resolve(n);
    } else {
      this.#ready.push(chunk.slice());
      this.#zeros += zeros;
    }
  }

  end(): void {
    this.#eof = true;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(null);
  }

  read(p: Uint8Array): Promise<number | null> {
    // Deno.Conn.read into an empty buffer resolves 0 at once: a reader that
    // asks for nothing spins.
    if (p.length === 0) throw new Error("read() into an empty buffer");
    if (this.#waiting !== undefined) throw new Error("two reads in flight");
    const chunk = this.#ready[0];
    if (chunk !== undefined) {
      if (this.#zeros > 0) {
        this.#zeros -= 1;
        return Promise.resolve(0);
      }
      const n = Math.min(chunk.length, p.length);
      p.set(chunk.subarray(0, n));
      if (n === chunk.length) this.#ready.shift();
      else this.#ready[0] = chunk.subarray(n);
      return Promise.resolve(n);
    }
    if (this.#eof) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiting = { p, resolve }));
  }
}

type Op =
  | { kind: "line"; maxBytes: number | undefined; timeout: boolean }
  | { kind: "exact"; n: number; timeout: boolean }
  | { kind: "read"; timeout: boolean };

type Outcome =
  | { kind: "line"; line: string; consumed: number }
  | { kind: "lineOrLimit"; line: string; consumed: number }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "some" }
  | { kind: "null" }
  | { kind: "limit"; maxBytes: number }
  | { kind: "eof"; partial: Uint8Array; expected: number }
  | { kind: "more" };

function expectOf(op: Op, left: Uint8Array, eof: boolean): Outcome {
  switch (op.kind) {
    case "line": {
      const maxBytes = op.maxBytes ?? DEFAULT_MAX_LINE_BYTES;
      const lf = left.indexOf(LF);
      if (lf !== -1) {
        const stop = lf > 0 && left[lf - 1] === CR ? lf - 1 : lf;
        if (stop > maxBytes) return { kind: "limit", maxBytes };
        return {
          kind: "line",
          line: decoder.decode(left.subarray(0, stop)),
          consumed: lf + 1,
        };
      }
      // Without a LF yet, the line has at least left.length - 1 content
      // bytes (the last may be the CR of a CRLF).
      if (left.length > maxBytes + 1) return { kind: "limit", maxBytes };
      if (!eof) return { kind: "more" };
      if (left.length === 0) return { kind: "null" };
      const line = decoder.decode(left);
      if (left.length > maxBytes) {
        // h1 returns it; asyncio raises. Pinned by the BUG test
        // "readLine at EOF rejects a last line of maxBytes + 1 bytes".
        return { kind: "lineOrLimit", line, consumed: left.length };
      }
      return { kind: "line", line, consumed: left.length };
    }
    case "exact":
      if (left.length >= op.n) {
        return { kind: "bytes", bytes: left.slice(0, op.n) };
      }
      if (eof) return { kind: "eof", partial: left.slice(), expected: op.n };
      return { kind: "more" };
    case "read":
      if (left.length > 0) return { kind: "some" };
      return eof ? { kind: "null" } : { kind: "more" };
  }
}

function call(
  reader: BufferedReader,
  op: Op,
  timeoutMs: number | undefined,
): Promise<unknown> {
  const options = timeoutMs === undefined ? {} : { timeoutMs };
  switch (op.kind) {
    case "line":
      return reader.readLine(
        op.maxBytes === undefined
          ? options
          : { ...options, maxBytes: op.maxBytes },
      );
    case "exact":
      return reader.readExactly(op.n, options);
    case "read":
      return reader.read(options);
  }
}

/**
 * Checks one settled call against the model; returns how many bytes it
 * consumed, or "stop" after a LimitOverrunError (the docs say to close).
 */
function check(
  op: Op,
  outcome: Outcome,
  result: { value: unknown } | { error: unknown },
  left: Uint8Array,
  where: string,
): number | "stop" {
  const got = "value" in result ? result.value : result.error;
  const fail = (what: string) =>
    assert.fail(`${where}: ${JSON.stringify(op)} ${what}; got ${String(got)}`);
  switch (outcome.kind) {
    case "line":
      if (got !== outcome.line) {
        fail(`expected ${JSON.stringify(outcome.line)}`);
      }
      return outcome.consumed;
    case "lineOrLimit":
      if (got === outcome.line) return outcome.consumed;
      if (got instanceof LimitOverrunError) return "stop";
      return fail(`expected ${JSON.stringify(outcome.line)} or a limit`);
    case "bytes":
      assert.deepEqual(got, outcome.bytes, where);
      return outcome.bytes.length;
    case "some": {
      if (!(got instanceof Uint8Array) || got.length === 0) {
        return fail("expected bytes");
      }
      assert.deepEqual(got, left.slice(0, got.length), where);
      return got.length;
    }
    case "null":
      if (got !== null) fail("expected null");
      return 0;
    case "limit":
      if (!(got instanceof LimitOverrunError)) fail("expected a limit");
      assert.equal((got as LimitOverrunError).maxBytes, outcome.maxBytes);
      return "stop";
    case "eof":
      if (!(got instanceof UnexpectedEofError)) fail("expected EOF error");
      assert.deepEqual((got as UnexpectedEofError).partial, outcome.partial);
      assert.equal((got as UnexpectedEofError).expected, outcome.expected);
      return outcome.partial.length;
    case "more":
      return fail("the model expected a wait");
  }
}

const token: fc.Arbitrary<string> = fc.constantFrom(
  "a",
  "b",
  "xyz",
  "hello world",
  "\r",
  "\n",
  "\r\n",
  "\n\n",
  "é",
  "€",
  "😀",
  "\t",
  "0123456789",
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("line" as const),
    maxBytes: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    timeout: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("exact" as const),
    n: fc.integer({ min: 0, max: 40 }),
    timeout: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("read" as const), timeout: fc.boolean() }),
);
const scriptArb = fc.record({
  tokens: fc.array(token, { maxLength: 60 }),
  sizes: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 12 }),
  zeros: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 12 }),
  bufferSize: fc.integer({ min: 1, max: 24 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 25 }),
  yields: fc.array(fc.boolean(), { maxLength: 12 }),
});
type Script = typeof scriptArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * Runs one script. `strictTimeouts` also times out readExactly calls that
 * found some bytes but not all; off, those wait instead (see the BUG test
 * "readExactly keeps the bytes of a timed-out call").
 */
async function runScript(script: Script, strictTimeouts: boolean) {
  const stream = concat(script.tokens.map((t) => encoder.encode(t)));
  const chunks = split(stream, script.sizes);
  const source = new ScriptedReader();
  const reader = new BufferedReader(source, { bufferSize: script.bufferSize });
  let next = 0;
  let arrived = 0;
  let eof = false;
  let pos = 0;
  const deliver = () => {
    const chunk = chunks[next];
    if (chunk === undefined) {
      eof = true;
      source.end();
    } else {
      source.deliver(chunk, script.zeros[next % (script.zeros.length || 1)]);
      arrived += chunk.length;
    }
    next += 1;
  };
  try {
    for (const [i, op] of script.ops.entries()) {
      const left = () => stream.subarray(pos, arrived);
      let outcome = expectOf(op, left(), eof);
      const where = `op ${i} at byte ${pos} of ${stream.length}`;
      if (
        outcome.kind === "more" && op.timeout &&
        (strictTimeouts || op.kind !== "exact" || left().length === 0)
      ) {
        // Times out and consumes nothing: the same call, repeated without
        // a timeout below, must then get every byte.
        const result = await settle(call(reader, op, 2));
        if (!("error" in result) || !(result.error instanceof TimeoutError)) {
          assert.fail(`${where}: ${JSON.stringify(op)} should time out`);
        }
        assert.equal(result.error.operation, "read");
        assert.equal(result.error.timeoutMs, 2);
      }
      // A generous timeout that must not fire exercises the deadline path.
      const pending = settle(call(reader, op, op.timeout ? 5000 : undefined));
      while (outcome.kind === "more") {
        deliver();
        if (script.yields[next % (script.yields.length || 1)]) {
          for (let y = 0; y < 4; y++) await null;
        }
        outcome = expectOf(op, left(), eof);
      }
      const before = left();
      const result = await within(pending, 1000);
      if (result === undefined) {
        assert.fail(
          `${where}: ${JSON.stringify(op)} still waits although the model ` +
            `says ${JSON.stringify(outcome)}`,
        );
      }
      const consumed = check(op, outcome, result, before, where);
      if (consumed === "stop") return;
      pos += consumed;
    }
  } finally {
    // Let a read still in flight from a timed-out call finish.
    while (!eof) deliver();
  }
}

Deno.test("BufferedReader matches the stream model under random splits, calls and timeouts", async () => {
  await fc.assert(
    fc.asyncProperty(scriptArb, (script) => runScript(script, false)),
    { numRuns: RUNS, ...seedOption },
  );
});

Deno.test("BufferedReader model: lines longer than the buffer, CRLF split at every point", async () => {
  // Exhaustive over two cut points of a fixed text, buffer of 3 bytes.
  const text = "first line is long\r\nx\r\n\r\nlast";
  const bytes = encoder.encode(text);
  for (let a = 1; a < bytes.length; a++) {
    for (let b = a; b < bytes.length; b += 3) {
      await runScript({
        tokens: [text],
        sizes: [a, b - a + 1, bytes.length],
        zeros: [1, 0],
        bufferSize: 3,
        ops: [
          { kind: "line", maxBytes: undefined, timeout: true },
          { kind: "line", maxBytes: 1, timeout: true },
          { kind: "line", maxBytes: 0, timeout: false },
          { kind: "exact", n: 0, timeout: false },
          { kind: "line", maxBytes: 4, timeout: true },
          { kind: "line", maxBytes: undefined, timeout: false },
          { kind: "read", timeout: false },
        ],
        yields: [true, false],
      }, true);
    }
  }
});

// Fixed bug: net/buffered_reader.ts's docs say "A timed-out call leaves the
// reader usable: the read in flight is kept and its bytes go to the next
// call, so nothing is lost", and the README sells per-call timeouts "like
// settimeout". readExactly copies the bytes it already has out of the
// buffer before it waits for the rest, so a timeout throws those bytes
// away. asyncio (`await wait_for(reader.readexactly(5), 0.03)` that times
// out, then `readexactly(5)`) returns b"abcde"; h1's next readExactly(5)
// sees only "de" and fails with UnexpectedEofError(partial "de").
Deno.test({
  name: "BufferedReader.readExactly keeps the bytes of a timed-out call",
  async fn() {
    const source = new ScriptedReader();
    const reader = new BufferedReader(source);
    source.deliver(encoder.encode("abc"));
    await assert.rejects(
      reader.readExactly(5, { timeoutMs: 20 }),
      TimeoutError,
    );
    source.deliver(encoder.encode("de"));
    source.end();
    assert.equal(decoder.decode(await reader.readExactly(5)), "abcde");
  },
});

// Fixed bug: the same bug, found by the property. With timeouts also on
// readExactly calls that found some of their bytes (the model: a timed-out
// call consumes nothing), fast-check shrinks to: "0123456789" arrives,
// bufferSize 1; read() gives "0"; readExactly(10, { timeoutMs: 2 }) times
// out; the same readExactly(10) then meets EOF and must report
// UnexpectedEofError with partial "123456789", but h1's partial is empty:
// the nine bytes went with the timed-out call.
Deno.test({
  name:
    "BufferedReader matches the strict stream model (timeouts on partly satisfied readExactly too)",
  async fn() {
    await fc.assert(
      fc.asyncProperty(scriptArb, (script) => runScript(script, true)),
      { numRuns: RUNS, ...seedOption },
    );
  },
});

// Fixed bug: readLine's maxBytes is "Longest line accepted, in bytes before the
// newline", and a line past it throws LimitOverrunError. A last line
// without newline of exactly maxBytes + 1 bytes is returned at EOF (the
// slack meant for the CR of a CRLF): readLine({ maxBytes: 3 }) over "abcd"
// then EOF returns "abcd". asyncio's StreamReader(limit=3) raises
// ValueError("Separator is not found, and chunk exceed the limit") for the
// same bytes; with 5 bytes ("abcde") h1 does throw.
Deno.test({
  name:
    "BufferedReader.readLine at EOF rejects a last line of maxBytes + 1 bytes",
  async fn() {
    const source = new ScriptedReader();
    source.deliver(encoder.encode("abcd"));
    source.end();
    await assert.rejects(
      new BufferedReader(source).readLine({ maxBytes: 3 }),
      LimitOverrunError,
    );
  },
});

Deno.test("BufferedReader.readLine at EOF rejects a last line of maxBytes + 2 bytes (control)", async () => {
  const source = new ScriptedReader();
  source.deliver(encoder.encode("abcde"));
  source.end();
  await assert.rejects(
    new BufferedReader(source).readLine({ maxBytes: 3 }),
    LimitOverrunError,
  );
});

// Fixed bug: two calls in flight on one BufferedReader (e.g. a readLine left
// running by Promise.race against a cancel button, then readLine again)
// share one underlying read, and each adds its byte count to the buffer: the
// bytes are counted twice. The second line comes back as
// "\u0000\u0000\u0000\u0000two" (phantom NULs from the unused buffer), and
// two read() calls give "xy\0\0" and a false EOF (null) while the peer is
// still sending. asyncio raises RuntimeError("readuntil() called while
// another coroutine is already waiting for incoming data"); io.BufferedReader
// takes a lock. Either is fine; silently inventing bytes is not.
Deno.test({
  name: "BufferedReader never invents bytes when two calls overlap",
  async fn() {
    const source = new ScriptedReader();
    const reader = new BufferedReader(source);
    const first = settle(reader.readLine());
    const second = settle(reader.readLine());
    source.deliver(encoder.encode("one\n"));
    await delay(5);
    source.deliver(encoder.encode("two\n"));
    source.end();
    const results = [await first, await second];
    for (const result of results) {
      if ("value" in result) {
        assert.ok(
          result.value === "one" || result.value === "two",
          `invented bytes: ${JSON.stringify(result.value)}`,
        );
      }
    }
    assert.ok(results.some((r) => "value" in r && r.value === "one"));
  },
});

// Fixed bug: new BufferedReader(conn, { bufferSize: 0 }) is accepted, and the
// first call spins forever: the buffer never grows from 0 (min(0 * 2, ...))
// and every read asks for 0 bytes, which Deno answers with 0 at once, so
// the event loop starves (timers never fire, Ctrl-C cannot be handled).
// Python's io.BufferedReader(raw, buffer_size=0) raises
// ValueError("buffer size must be strictly positive"). Expected: a
// RangeError from the constructor (or a buffer that grows).
Deno.test({
  name: "BufferedReader with bufferSize 0 reads a line or refuses the size",
  async fn() {
    const module = new URL("../../net/buffered_reader.ts", import.meta.url);
    const program = `
      import { BufferedReader } from "${module.href}";
      const chunks = [new TextEncoder().encode("abc\\n")];
      const source = { read(p) {
        const c = chunks.shift();
        if (c === undefined) return Promise.resolve(null);
        const n = Math.min(p.length, c.length);
        p.set(c.subarray(0, n));
        if (n < c.length) chunks.unshift(c.subarray(n));
        return Promise.resolve(n);
      } };
      try {
        const line = await new BufferedReader(source, { bufferSize: 0 }).readLine();
        console.log("line:" + line);
      } catch (error) {
        console.log("threw:" + error.name);
      }`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", program],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 3000);
    try {
      const out = await child.output();
      const text = decoder.decode(out.stdout).trim();
      assert.ok(
        text === "line:abc" || text === "threw:RangeError",
        `bufferSize 0 hung (killed after 3 s), printed ${JSON.stringify(text)}`,
      );
    } finally {
      clearTimeout(timer);
    }
  },
});

// Fixed bug: readLine decodes with `new TextDecoder()`, whose ignoreBOM is false,
// so a U+FEFF at the start of any line is silently dropped: the peer sends
// EF BB BF 68 69 0A and readLine returns "hi". Python's
// b"\xef\xbb\xbfhi\n".decode("utf-8") keeps it ("\ufeffhi\n"); only the
// "utf-8-sig" codec strips it, and only at the start of a stream, never of
// every line. Fix: new TextDecoder("utf-8", { ignoreBOM: true }).
Deno.test({
  name: "BufferedReader.readLine keeps a U+FEFF at the start of a line",
  async fn() {
    const source = new ScriptedReader();
    source.deliver(encoder.encode("\uFEFFhi\nok\n\uFEFF\n"));
    source.end();
    const reader = new BufferedReader(source);
    assert.equal(await reader.readLine(), "\uFEFFhi");
    assert.equal(await reader.readLine(), "ok");
    assert.equal(await reader.readLine(), "\uFEFF");
  },
});

Deno.test("BufferedReader.readLine after a timed-out read() and readLine keeps every byte", async () => {
  // settimeout-style: two timeouts in a row, the read started by the first
  // still pending; the late bytes reach the third call in order.
  const source = new ScriptedReader();
  const reader = new BufferedReader(source, { bufferSize: 4 });
  source.deliver(encoder.encode("par"));
  await assert.rejects(reader.readLine({ timeoutMs: 5 }), TimeoutError);
  await assert.rejects(reader.readLine({ timeoutMs: 5 }), TimeoutError);
  source.deliver(encoder.encode("tial line\r"));
  source.deliver(encoder.encode("\nnext"));
  source.end();
  assert.equal(await reader.readLine(), "partial line");
  assert.equal(await reader.readLine(), "next");
  assert.equal(await reader.readLine(), null);
});

// ------------------------------------------------------------ real sockets

/** A connected client/server pair on 127.0.0.1. */
async function socketPair(): Promise<
  { client: Deno.TcpConn; server: Deno.TcpConn } & Disposable
> {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const client = await connectTcp({ port: listener.addr.port, noDelay: true });
  const server = await listener.accept();
  return {
    client,
    server,
    [Symbol.dispose]() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch { /* closed by the test */ }
      }
    },
  };
}

Deno.test("BufferedReader over a real socket matches the model (random splits and delays)", async () => {
  await fc.assert(
    fc.asyncProperty(
      scriptArb,
      fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 8 }),
      async (script, pauses) => {
        using sockets = await socketPair();
        const stream = concat(script.tokens.map((t) => encoder.encode(t)));
        const writing = (async () => {
          for (const [i, chunk] of split(stream, script.sizes).entries()) {
            await writeAll(sockets.client, chunk);
            const ms = pauses[i % (pauses.length || 1)] ?? 0;
            if (ms > 0) await delay(ms);
          }
          await sockets.client.closeWrite();
        })();
        const reader = new BufferedReader(sockets.server, {
          bufferSize: script.bufferSize,
          timeoutMs: 5000,
        });
        let pos = 0;
        try {
          for (const [i, op] of script.ops.entries()) {
            const left = stream.subarray(pos);
            const outcome = expectOf(op, left, true);
            const result = await settle(call(reader, op, undefined));
            const consumed = check(op, outcome, result, left, `socket op ${i}`);
            if (consumed === "stop") break;
            pos += consumed;
          }
        } finally {
          await writing;
        }
      },
    ),
    { numRuns: SOCKET_RUNS, ...seedOption },
  );
});

Deno.test("readExactly() never reads past n: the rest stays in the socket", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 3000 }),
      fc.array(fc.integer({ min: 1, max: 700 }), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.array(fc.integer({ min: 0, max: 800 }), {
        minLength: 1,
        maxLength: 4,
      }),
      async (bytes, sizes, takes) => {
        using sockets = await socketPair();
        const writing = (async () => {
          for (const chunk of split(bytes, sizes)) {
            await writeAll(sockets.client, chunk);
          }
          sockets.client.close();
        })();
        let pos = 0;
        for (const n of takes) {
          if (pos + n > bytes.length) break;
          const got = await readExactly(sockets.server, n, { timeoutMs: 5000 });
          assert.deepEqual(got, bytes.slice(pos, pos + n));
          pos += n;
        }
        // Whatever readExactly left is read by a plain BufferedReader.
        const rest: Uint8Array[] = [];
        const tail = new BufferedReader(sockets.server, { timeoutMs: 5000 });
        for (let c; (c = await tail.read()) !== null;) rest.push(c);
        assert.deepEqual(concat(rest), bytes.slice(pos));
        await writing;
      },
    ),
    { numRuns: SOCKET_RUNS, ...seedOption },
  );
});

const PY_READLINE = `
import io, json, socket, sys, time
spec = json.loads(sys.stdin.readline())
data = bytes.fromhex(spec["hex"])
# Python's own answer: makefile('rb').readline() over a socketpair.
a, b = socket.socketpair()
a.sendall(data); a.shutdown(socket.SHUT_WR)
f = b.makefile("rb")
lines = []
while True:
    line = f.readline()
    if not line:
        break
    lines.append(line.hex())
f.close(); a.close(); b.close()
print(json.dumps(lines), flush=True)
# Then be the peer: send the same bytes in the given pieces, slowly.
s = socket.create_connection(("127.0.0.1", spec["port"]))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
at = 0
for n in spec["sizes"]:
    s.sendall(data[at:at + n]); at += n
    time.sleep(0.001)
s.sendall(data[at:])
s.close()
`;

Deno.test("BufferedReader.readLine gives the lines Python's makefile('rb').readline() gives", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(token, { maxLength: 80 }),
      fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 10 }),
      fc.integer({ min: 1, max: 16 }),
      async (tokens, sizes, bufferSize) => {
        const data = concat(tokens.map((t) => encoder.encode(t)));
        using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
        const spec = {
          hex: hex(data),
          port: listener.addr.port,
          sizes,
        };
        await using python = new PythonPeer(
          PY_READLINE,
          `${JSON.stringify(spec)}\n`,
        );
        const expected = (JSON.parse(await python.line()) as string[]).map(
          (h) => {
            const line = fromHex(h);
            const cut = line.at(-1) !== LF
              ? line.length
              : line.at(-2) === CR
              ? line.length - 2
              : line.length - 1;
            return decoder.decode(line.subarray(0, cut));
          },
        );
        using conn = await listener.accept();
        const reader = new BufferedReader(conn, {
          bufferSize,
          timeoutMs: 5000,
        });
        const lines: string[] = [];
        for (let line; (line = await reader.readLine()) !== null;) {
          lines.push(line);
        }
        assert.deepEqual(lines, expected);
      },
    ),
    { numRuns: 6, ...seedOption },
  );
});

Deno.test("BufferedReader.readLine({ timeoutMs: 0 }) returns a line that already arrived", async () => {
  // Python: settimeout(0.0) then readline() returns data already queued.
  using sockets = await socketPair();
  const reader = new BufferedReader(sockets.server);
  for (let i = 0; i < 10; i++) {
    await writeAll(sockets.client, encoder.encode(`line ${i}\r\n`));
    await delay(15);
    assert.equal(await reader.readLine({ timeoutMs: 0 }), `line ${i}`);
  }
  await assert.rejects(reader.readLine({ timeoutMs: 0 }), TimeoutError);
});

// ================================================================ writeAll

const PY_SLOW_READER = `
import hashlib, random, socket, sys, time
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
h = hashlib.sha256(); n = 0; i = 0
while True:
    chunk = c.recv(random.randint(1, 9000))
    if not chunk:
        break
    h.update(chunk); n += len(chunk); i += 1
    if i % 40 == 0:
        time.sleep(0.002)
print(n, h.hexdigest(), flush=True)
`;

Deno.test("writeAll delivers every byte in order to a slow Python reader", async () => {
  await using python = new PythonPeer(PY_SLOW_READER);
  const port = Number(await python.line());
  const conn = await connectTcp({ port, timeoutMs: 2000 });
  const sizes = [0, 1, 70_000, 13, 600_000, 5, 300_000];
  const parts = sizes.map((size, k) =>
    new Uint8Array(size).map((_, i) => (i * 31 + k * 7 + (i >> 8)) & 0xff)
  );
  try {
    for (const part of parts) await writeAll(conn, part, { timeoutMs: 10_000 });
  } finally {
    conn.close();
  }
  const all = concat(parts);
  assert.equal(await python.line(), `${all.length} ${await sha256(all)}`);
});

const PY_RESETTER = `
import errno, socket, struct, sys, threading, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
def serve():
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            return
        c.recv(100)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST, not FIN
threading.Thread(target=serve, daemon=True).start()
# Python's own client against the same peer.
for op in ("recv", "sendall"):
    c = socket.create_connection(s.getsockname())
    c.sendall(b"hi\\n"); time.sleep(0.1)
    try:
        c.recv(10) if op == "recv" else c.sendall(b"x" * 10)
        print(op, "no-error")
    except OSError as e:
        print(op, type(e).__name__, errno.errorcode[e.errno])
    c.close()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

Deno.test("a peer's reset raises ConnectionResetError like Python's on read and write", async () => {
  await using python = new PythonPeer(PY_RESETTER);
  const pyRecv = (await python.line()).split(" ");
  const pySend = (await python.line()).split(" ");
  const port = Number(await python.line());
  assert.deepEqual(pyRecv, ["recv", "ConnectionResetError", "ECONNRESET"]);
  for (const op of ["readLine", "readExactly", "writeAll"]) {
    const conn = await connectTcp({ port, timeoutMs: 2000 });
    try {
      await writeAll(conn, encoder.encode("hi\n"));
      await delay(100);
      const error = await settle<unknown>(
        op === "readLine"
          ? new BufferedReader(conn, { timeoutMs: 2000 }).readLine()
          : op === "readExactly"
          ? readExactly(conn, 4, { timeoutMs: 2000 })
          : writeAll(conn, new Uint8Array(10), { timeoutMs: 2000 }),
      );
      assert.ok("error" in error, `${op} did not fail`);
      const e = error.error;
      assert.ok(e instanceof ConnectionResetError, `${op}: ${e}`);
      assert.equal(e.name, pyRecv[1]);
      // Python's sendall after the RST says ECONNRESET or EPIPE; h1 maps
      // both to ConnectionResetError.
      assert.ok(["ECONNRESET", "EPIPE"].includes(pySend[2]!), pySend.join(" "));
      assert.equal(e.code, "ECONNRESET");
      assert.equal(
        e.message,
        `Connection to 127.0.0.1:${port} reset by the peer: it closed or crashed mid-conversation`,
      );
    } finally {
      conn.close();
    }
  }
});

// ============================================================ error mapping

const PY_CONNECT = `
import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
    print("connected")
except OSError as e:
    print(type(e).__name__, errno.errorcode.get(e.errno, e.errno))
`;

async function pythonConnect(hostname: string, port: number): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: ["-c", PY_CONNECT, hostname, String(port)],
  }).output();
  return decoder.decode(out.stdout).trim();
}

Deno.test("connectTcp to a closed port on 127.0.0.2 is refused, as in Python", async () => {
  const probe = listenTcp({ hostname: "127.0.0.2", port: 0 });
  const { port } = probe.addr;
  probe.close();
  const python = await pythonConnect("127.0.0.2", port);
  const result = await settle(
    connectTcp({ hostname: "127.0.0.2", port, timeoutMs: 2000 }),
  );
  assert.ok("error" in result);
  const error = result.error;
  assert.ok(error instanceof ConnectionRefusedError, String(error));
  assert.equal(`${error.name} ${error.code}`, python);
  assert.equal(
    error.message,
    `Connection to 127.0.0.2:${port} refused: is the server running?`,
  );
  assert.deepEqual(error.address, { hostname: "127.0.0.2", port });
  assert.ok(error.cause instanceof Deno.errors.ConnectionRefused);
});

const PY_HOLDER = `
import errno, socket, sys
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
print(t.getsockname()[1], u.getsockname()[1], flush=True)
# Then try to bind the ports h1 holds (with SO_REUSEADDR, the lenient way).
tcp, udp = map(int, sys.stdin.readline().split())
for kind, port in ((socket.SOCK_STREAM, tcp), (socket.SOCK_DGRAM, udp)):
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port)); print("bound", flush=True)
    except OSError as e:
        print(type(e).__name__, errno.errorcode[e.errno], flush=True)
    s.close()
sys.stdin.read()
`;

Deno.test("a port in use is AddressInUseError (TCP and UDP), as Python's EADDRINUSE", async () => {
  await using python = new PythonPeer(PY_HOLDER);
  const [tcpPort, udpPort] = (await python.line()).split(" ").map(Number) as [
    number,
    number,
  ];
  const message = (port: number) =>
    `Port ${port} on 127.0.0.1 is already in use: stop the other program or pass --port`;
  assert.throws(
    () => listenTcp({ hostname: "127.0.0.1", port: tcpPort }),
    (error: unknown) =>
      error instanceof AddressInUseError && error.code === "EADDRINUSE" &&
      error.message === message(tcpPort),
  );
  await assert.rejects(
    listenUdp({ hostname: "127.0.0.1", port: udpPort }),
    (error: unknown) =>
      error instanceof AddressInUseError && error.code === "EADDRINUSE" &&
      error.message === message(udpPort),
  );
  // The other way round: Python cannot take the ports h1 holds.
  using tcp = listenTcp({ hostname: "127.0.0.1", port: 0 });
  await using udp = await listenUdp({ hostname: "127.0.0.1", port: 0 });
  await python.write(`${tcp.addr.port} ${udp.addr.port}\n`);
  assert.equal(await python.line(), "OSError EADDRINUSE");
  assert.equal(await python.line(), "OSError EADDRINUSE");
});

const PY_BACKLOG = `
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
held, result = [], "no timeout"
for i in range(20):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=0.2))
    except OSError as e:
        result = type(e).__name__ + ": " + str(e)
        break
print(port, flush=True)
print(result, flush=True)
sys.stdin.read()
`;

Deno.test("connectTcp({ timeoutMs }) to a full accept queue is TimeoutError, as Python's socket.timeout", async () => {
  await using python = new PythonPeer(PY_BACKLOG);
  const port = Number(await python.line());
  // Python 3.10+: socket.timeout is TimeoutError, str "timed out".
  assert.equal(await python.line(), "TimeoutError: timed out");
  const started = performance.now();
  const result = await settle(connectTcp({ port, timeoutMs: 200 }));
  const elapsed = performance.now() - started;
  if ("value" in result) result.value.close();
  assert.ok("error" in result, "connected to a full accept queue");
  const error = result.error;
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.name, "TimeoutError");
  assert.equal(error.operation, "connect");
  assert.equal(
    error.message,
    `Connection to 127.0.0.1:${port} timed out after 200 ms: is the host up and the port open?`,
  );
  assert.ok(elapsed >= 190 && elapsed < 1500, `took ${elapsed} ms`);
});

// ===================================================================== UDP

const PY_UDP_ECHO = `
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
print(u.getsockname()[1], flush=True)
count = int(sys.stdin.readline())
for _ in range(count):
    data, addr = u.recvfrom(65535)
    u.sendto(data, addr)
print("done", flush=True)
sys.stdin.read()
`;

Deno.test("UdpSocket round-trips random datagrams (0 to 65507 bytes) through a Python echo", async () => {
  const sizes = fc.sample(
    fc.integer({ min: 0, max: 4000 }),
    { numRuns: 30, ...seedOption },
  );
  sizes.push(0, 1, 1472, 1473, 65507);
  await using python = new PythonPeer(PY_UDP_ECHO);
  const port = Number(await python.line());
  await using socket = await listenUdp();
  await python.write(`${sizes.length}\n`);
  for (const [k, size] of sizes.entries()) {
    const data = new Uint8Array(size).map((_, i) => (i * 13 + k) & 0xff);
    await socket.send(data, { hostname: "127.0.0.1", port });
    const reply = await socket.receive({ timeoutMs: 2000 });
    assert.deepEqual(reply.data, data, `datagram ${k} of ${size} bytes`);
    assert.deepEqual(reply.remoteAddr, { hostname: "127.0.0.1", port });
  }
  assert.equal(await python.line(), "done");
});

// Fixed bug: each received datagram is a view on node:dgram's 64 KiB receive
// buffer (udp.ts wraps msg.buffer without copying), so a 1-byte datagram
// keeps 65536 bytes alive. The queue bounds datagrams by count
// (DEFAULT_MAX_QUEUED 1024, "as a full kernel buffer would"), so 1024 tiny
// datagrams nobody has received yet hold 64 MiB (RSS grew ~22 MB for 1000
// in a probe), and any datagram an application keeps holds 64 KiB. Python's
// recvfrom returns a bytes object of exactly the datagram's size. Expected:
// a copy of the payload (data.buffer no larger than the datagram).
Deno.test({
  name: "UdpSocket.receive data does not pin a 64 KiB buffer per datagram",
  async fn() {
    await using a = await listenUdp();
    await using b = await listenUdp();
    await a.send(encoder.encode("z"), b.addr);
    const { data } = await b.receive({ timeoutMs: 1000 });
    assert.equal(data.length, 1);
    assert.ok(
      data.buffer.byteLength <= 1024,
      `a 1-byte datagram holds a ${data.buffer.byteLength}-byte buffer`,
    );
  },
});

// Fixed bug: UdpSocket.receive documents "@throws {Deno.errors.BadResource} When
// the socket is closed", but a datagram that was queued before close() is
// still returned after it (the queue is checked before #closed), and
// iteration yields it too. Python's recvfrom on a closed socket raises
// OSError(EBADF); Deno.DatagramConn.receive after close rejects with
// BadResource.
Deno.test({
  name: "UdpSocket.receive after close rejects with BadResource",
  async fn() {
    await using sender = await listenUdp();
    const socket = await listenUdp();
    await sender.send(encoder.encode("late"), socket.addr);
    await delay(100); // queued: nobody is receiving
    await socket.close();
    await assert.rejects(
      socket.receive({ timeoutMs: 100 }),
      Deno.errors.BadResource,
    );
  },
});

Deno.test("UdpSocket.receive after close with nothing queued rejects with BadResource (control)", async () => {
  const socket = await listenUdp();
  await socket.close();
  await assert.rejects(
    socket.receive({ timeoutMs: 100 }),
    Deno.errors.BadResource,
  );
});

// ================================================================ examples

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXAMPLE_SEED = SEED === undefined
  ? Math.floor(Math.random() * 2 ** 31)
  : Number(SEED);

/** Writes `bytes` cut at random points, with random tiny pauses. */
async function writeInPieces(
  conn: Deno.Conn,
  bytes: Uint8Array,
  random: () => number,
): Promise<void> {
  let at = 0;
  while (at < bytes.length) {
    const n = 1 + Math.floor(random() * Math.min(64, bytes.length - at));
    await writeAll(conn, bytes.subarray(at, at + n), { timeoutMs: 5000 });
    at += n;
    if (random() < 0.3) await delay(Math.floor(random() * 3));
  }
}

Deno.test("chat_room: 50 clients, random lines cut anywhere, two mid-line quitters: every line whole, once, in one order", async () => {
  const random = prng(EXAMPLE_SEED);
  const seed = `seed ${EXAMPLE_SEED}`;
  await using server = await spawnExample("chat_room.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const N = 50;
  const join = async (nick: string) => {
    const conn = await connectTcp({ port: server.port, timeoutMs: 3000 });
    const reader = new BufferedReader(conn, { timeoutMs: 10_000 });
    await readLineMatching(reader, /What is your nickname\?$/);
    await writeAll(conn, encoder.encode(`${nick}\n`));
    await readLineMatching(reader, new RegExp(`^\\* Hello ${nick}!`));
    return { nick, conn, reader };
  };
  const members = await Promise.all(
    Array.from({ length: N }, (_, i) => join(`u${i}`)),
  );
  // qfin half-closes after half a line (FIN: the room reads the half line
  // at EOF); qrst closes with unread input, which makes the kernel send a
  // RST.
  const qfin = await join("qfin");
  const qrst = await join("qrst");
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 .,!?é€<>*";
  const said = members.map((m) =>
    Array.from({ length: 1 + Math.floor(random() * 4) }, (_, k) => {
      let text = `${m.nick}.${k}`;
      const length = Math.floor(random() * 120);
      for (let c = 0; c < length; c++) {
        text += alphabet[Math.floor(random() * alphabet.length)];
      }
      return `${text}!`; // no leading or trailing space (the room trims)
    })
  );
  try {
    const expectedCount = (i: number) =>
      said.reduce((n, lines, j) => n + (j === i ? 0 : lines.length), 0);
    const heard = members.map(async (m, i) => {
      const lines: string[] = [];
      const quitters: string[] = [];
      const left = new Set<string>();
      while (lines.length < expectedCount(i) || left.size < 2) {
        const line = await m.reader.readLine().catch((error) => {
          const got = new Set(lines);
          const missing = said.flatMap((ls, j) =>
            j === i ? [] : ls.map((l) => `<u${j}> ${l}`)
          ).filter((l) => !got.has(l));
          assert.fail(
            `${m.nick} heard ${lines.length} of ${expectedCount(i)} lines ` +
              `(left: ${[...left]}; missing ${
                JSON.stringify(missing.slice(0, 3))
              }): ${error} (${seed})`,
          );
        });
        if (line === null) assert.fail(`${m.nick} was cut off (${seed})`);
        if (line.startsWith("<u")) lines.push(line);
        else if (line.startsWith("<q")) quitters.push(line);
        else if (/^\* q(fin|rst) left$/.test(line)) left.add(line);
      }
      return { lines, quitters };
    });
    const speaking = members.map((m, i) =>
      writeInPieces(
        m.conn,
        encoder.encode(
          said[i]!.map((l) => l + (random() < 0.5 ? "\n" : "\r\n")).join(""),
        ),
        random,
      )
    );
    const half = encoder.encode("whole line\nhalf a li");
    await Promise.all([
      writeInPieces(qfin.conn, half, random).then(() => qfin.conn.closeWrite()),
      writeInPieces(qrst.conn, half, random).then(() => qrst.conn.close()),
    ]);
    await Promise.all(speaking);
    const received = await Promise.all(heard);
    for (const [i, { lines, quitters }] of received.entries()) {
      for (const [j, lines2] of said.entries()) {
        const from = lines.filter((l) => l.startsWith(`<u${j}> `));
        assert.deepEqual(
          from,
          i === j ? [] : lines2.map((l) => `<u${j}> ${l}`),
          `u${i} heard u${j} wrongly (${seed})`,
        );
      }
      assert.equal(lines.length, expectedCount(i), seed);
      // A last line without newline is returned at EOF (documented), so
      // the half line goes out whole and on its own, never merged.
      assert.deepEqual(
        quitters.filter((l) => l.startsWith("<qfin> ")),
        ["<qfin> whole line", "<qfin> half a li"],
        seed,
      );
      // With the RST the room may drop what qrst sent last (a write to it
      // fails and closes the conn before its read sees the bytes), but
      // what it relays is whole lines, in order.
      const rst = quitters.filter((l) => l.startsWith("<qrst> "));
      assert.deepEqual(
        rst,
        ["<qrst> whole line", "<qrst> half a li"].slice(0, rst.length),
        seed,
      );
    }
    // One order: any two members saw the lines of third parties in the
    // same relative order.
    const orderOf = received.map(({ lines }) =>
      new Map(lines.map((l, k) => [l, k]))
    );
    for (let a = 0; a < N; a++) {
      for (let b = a + 1; b < N; b += 7) {
        const common = received[a]!.lines.filter((l) =>
          !l.startsWith(`<u${a}> `) && !l.startsWith(`<u${b}> `)
        );
        const positions = common.map((l) => orderOf[b]!.get(l)!);
        assert.deepEqual(
          positions,
          [...positions].sort((x, y) => x - y),
          `u${a} and u${b} disagree on order (${seed})`,
        );
      }
    }
    assert.deepEqual(server.stderrLines, []);
  } finally {
    for (const m of [...members, qfin, qrst]) {
      try {
        m.conn.close();
      } catch { /* closed above */ }
    }
  }
});

Deno.test("tcp_echo_server: 50 clients sending random bytes cut anywhere each get exactly theirs back", async () => {
  const random = prng(EXAMPLE_SEED + 1);
  await using server = await spawnExample("tcp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const conns = await Promise.all(
    Array.from(
      { length: 50 },
      () => connectTcp({ port: server.port, timeoutMs: 3000, noDelay: true }),
    ),
  );
  try {
    await Promise.all(conns.map(async (conn, i) => {
      const payload = new Uint8Array(1 + Math.floor(random() * 40_000)).map(
        () => Math.floor(random() * 256),
      );
      const reader = new BufferedReader(conn, { timeoutMs: 10_000 });
      const [, echoed] = await Promise.all([
        writeInPieces(conn, payload, random),
        reader.readExactly(payload.length),
      ]);
      assert.deepEqual(echoed, payload, `client ${i} (seed ${EXAMPLE_SEED})`);
      await conn.closeWrite();
      assert.equal(await reader.read(), null); // and nothing more
    }));
  } finally {
    for (const conn of conns) conn.close();
  }
});

Deno.test("udp_echo_server: 20 clients at once each get their own datagrams back", async () => {
  await using server = await spawnExample("udp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1"],
  });
  const to = { hostname: "127.0.0.1", port: server.port };
  await Promise.all(Array.from({ length: 20 }, async (_, c) => {
    await using client = await listenUdp();
    for (let k = 0; k < 5; k++) {
      const data = encoder.encode(`client ${c} datagram ${k} `.repeat(k + 1));
      await client.send(data, to);
      const reply = await client.receive({ timeoutMs: 3000 });
      assert.deepEqual(reply.data, data);
      assert.deepEqual(reply.remoteAddr, to);
    }
  }));
});

// Fixed bug: the README promises "Clients exit 1 with a one-line explanation",
// and the echo client turns every NetError into one line. A server that
// hangs up before echoing (or an echo server that crashed) hits
// `throw new Error("Server closed the connection")`, which is no NetError:
// Deno prints "error: Uncaught (in promise) Error: Server closed the
// connection", the source line, a caret and a stack frame. Python's
// equivalent client would get b"" from recv and the example is expected to
// say so in one line, as it does for a refused connection.
Deno.test({
  name: "tcp_echo_client explains a server that hangs up in one line",
  async fn() {
    using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    const hangingUp = (async () => {
      const conn = await listener.accept();
      await conn.read(new Uint8Array(100));
      conn.close();
    })();
    const result = await runExample("tcp_echo_client.ts", {
      args: [`--port=${port}`, "hello"],
      permissions: [`--allow-net=127.0.0.1:${port}`],
      timeoutMs: 8000,
    });
    await hangingUp;
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stderr, /Uncaught|\n\s+at /);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  },
});

// Fixed bug: tcp_echo_client sends each argument as one line and prints the
// next line it reads as that argument's echo. An argument holding a
// newline ("a\nb", easy with $'a\nb' or a pasted text) goes out as two
// lines, so every later "Received:" is the echo of the previous message:
// for the arguments "a\nb" and "c" it prints "Received: a", "Received: b"
// and never the echo of "c". The UDP client had the same stale-echo bug
// (fixed: it matches the reply to what it sent). Expected: an echo per
// line sent, or the argument refused.
Deno.test({
  name: "tcp_echo_client prints the echo of every line it sends",
  async fn() {
    await using server = await spawnExample("tcp_echo_server.ts", {
      args: ["--port=0"],
      permissions: ["--allow-net=127.0.0.1:0"],
    });
    const result = await runExample("tcp_echo_client.ts", {
      args: [`--port=${server.port}`, "a\nb", "c"],
      permissions: [`--allow-net=127.0.0.1:${server.port}`],
      timeoutMs: 8000,
    });
    const received = result.stdout.split("\n").filter((l) =>
      l.startsWith("Received:")
    );
    assert.ok(
      received.includes("Received: c") || result.code !== 0,
      `never printed the echo of "c": ${JSON.stringify(received)}`,
    );
  },
});

// Fixed bug: tcp_echo_client checks --port but not --timeout: --timeout=abc
// becomes NaN, connectTcp fires at once (setTimeout(NaN) is 0; Deno also
// prints "TimeoutNaNWarning: NaN is not a number") and the user reads
// "Connection to 127.0.0.1:PORT timed out after NaN ms: is the host up and
// the port open?" while the server is up. monitor.ts rejects such a value
// ('Cannot use --timeout "abc": give a whole number >= 0'); the echo
// client should too (udp_echo_client likewise for --timeout/--retries).
Deno.test({
  name: "tcp_echo_client rejects a --timeout that is not a number",
  async fn() {
    await using server = await spawnExample("tcp_echo_server.ts", {
      args: ["--port=0"],
      permissions: ["--allow-net=127.0.0.1:0"],
    });
    const result = await runExample("tcp_echo_client.ts", {
      args: [`--port=${server.port}`, "--timeout=abc", "hello"],
      permissions: [`--allow-net=127.0.0.1:${server.port}`],
      timeoutMs: 8000,
    });
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stderr, /NaN/);
    assert.match(result.stderr, /--timeout/);
  },
});

// deno-lint-ignore-file no-console
/**
 * Parser benchmark: h1's RequestParser against llhttp's wasm build as shipped
 * inside undici, in the same process, with comparable work on both sides:
 *
 * - heads: parse, then read the method, the target and every header name and
 *   value as strings once (llhttp: callbacks build the URL and the header
 *   strings, as undici's client does); "h1, no reads" parses only.
 * - chunked: decode a chunked body, handing out each piece as a view.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-run bench/parser_bench.ts [--seconds=1] [--rounds=5] [--no-write]
 *
 * Prints a table and writes it into bench/RESULTS.md between the
 * `<!-- parser:start -->` and `<!-- parser:end -->` markers.
 *
 * @module
 */
import { parseArgs } from "node:util";
import llhttpSimdWasm from "npm:undici@8.12.4/lib/llhttp/llhttp_simd-wasm.js";
import * as llhttpConstants from "npm:undici@8.12.4/lib/llhttp/constants.js";
import { RequestParser } from "../http1/mod.ts";
import { machineLines, median, writeSection } from "./_results.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "1" },
    rounds: { type: "string", default: "5" },
    "no-write": { type: "boolean", default: false },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);

const encoder = new TextEncoder();

/** A browser navigation request: 11 header fields, ~560 bytes. */
const BROWSER_HEAD = encoder.encode(
  "GET /blog/2024/05/parsing-http.html?utm_source=rss HTTP/1.1\r\n" +
    "Host: www.example.com\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
    "Accept-Language: en-US,en;q=0.9\r\n" +
    "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
    "Referer: https://www.example.com/blog/\r\n" +
    "Cookie: session=3f9a1c2b7d; theme=dark; _ga=GA1.2.17000\r\n" +
    "Connection: keep-alive\r\n" +
    "Upgrade-Insecure-Requests: 1\r\n" +
    "Sec-Fetch-Dest: document\r\n" +
    "Sec-Fetch-Mode: navigate\r\n" +
    "\r\n",
);
const MINIMAL_HEAD = encoder.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

/** A chunked POST whose body is `total` bytes in chunks of `size`. */
function chunkedRequest(size: number, total: number): Uint8Array {
  const head = encoder.encode(
    "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
  );
  const sizeLine = encoder.encode(size.toString(16) + "\r\n");
  const count = total / size;
  const out = new Uint8Array(
    head.length + count * (sizeLine.length + size + 2) + 5,
  );
  let at = 0;
  out.set(head, at);
  at += head.length;
  for (let i = 0; i < count; i++) {
    out.set(sizeLine, at);
    at += sizeLine.length;
    out.fill(0x61 + (i % 26), at, at + size);
    at += size;
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  out.set(encoder.encode("0\r\n\r\n"), at);
  return out;
}
const BODY_BYTES = 1024 * 1024;
const CHUNKED_64K = chunkedRequest(64 * 1024, BODY_BYTES);
const CHUNKED_1K = chunkedRequest(1024, BODY_BYTES);

// Sinks the optimiser cannot see through.
let sinkString = "";
let sinkNumber = 0;

// ---------------------------------------------------------------- h1 side

function h1Head(message: Uint8Array, readHeaders: boolean): () => void {
  const parser = new RequestParser();
  return () => {
    parser.receive(message);
    const head = parser.next();
    if (head.kind !== "head") {
      throw new Error(`h1: expected head, got ${head.kind}`);
    }
    if (readHeaders) {
      sinkString = head.method;
      sinkString = head.target;
      const headers = head.headers;
      for (let i = 0; i < headers.size; i++) {
        sinkString = headers.name(i);
        sinkString = headers.value(i);
      }
    }
    if (parser.next().kind !== "end") throw new Error("h1: expected end");
    if (parser.next().kind !== "need-data") {
      throw new Error("h1: expected need-data");
    }
  };
}

function h1Chunked(message: Uint8Array): () => void {
  const parser = new RequestParser();
  return () => {
    parser.receive(message);
    let bytes = 0;
    for (;;) {
      const event = parser.next();
      if (event.kind === "data") bytes += event.data.length;
      else if (event.kind === "end") break;
      else if (event.kind !== "head") throw new Error(`h1: got ${event.kind}`);
    }
    if (bytes !== BODY_BYTES) throw new Error("h1: body length");
    sinkNumber += bytes;
  };
}

// ------------------------------------------------------------ llhttp side

interface LlhttpExports {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  llhttp_alloc(type: number): number;
  llhttp_execute(parser: number, data: number, length: number): number;
  llhttp_get_method(parser: number): number;
  llhttp_method_name(method: number): number;
  malloc(size: number): number;
  free(ptr: number): void;
}

/** One llhttp request parser with callbacks that build strings like undici's. */
class Llhttp {
  readonly #wasm: LlhttpExports;
  readonly #ptr: number;
  #bufferPtr = 0;
  #bufferSize = 0;
  #memory: Uint8Array;
  readonly #buildStrings: boolean;
  url = "";
  field = "";
  headers: string[] = [];
  bodyBytes = 0;
  complete = 0;

  constructor(buildStrings: boolean) {
    this.#buildStrings = buildStrings;
    const module = new WebAssembly.Module(
      llhttpSimdWasm as Uint8Array<ArrayBuffer>,
    );
    const span = (at: number, length: number): string =>
      this.#latin1(at, length);
    const instance = new WebAssembly.Instance(module, {
      env: {
        wasm_on_message_begin: () => {
          this.url = "";
          this.headers = [];
          return 0;
        },
        wasm_on_url: (_p: number, at: number, length: number) => {
          if (this.#buildStrings) this.url += span(at, length);
          return 0;
        },
        wasm_on_status: () => 0,
        wasm_on_header_field: (_p: number, at: number, length: number) => {
          if (this.#buildStrings) this.field += span(at, length);
          return 0;
        },
        wasm_on_header_value: (_p: number, at: number, length: number) => {
          if (this.#buildStrings) {
            // undici pushes the field once its value starts; a value split
            // across calls is appended to the last entry.
            if (this.field !== "") {
              this.headers.push(this.field, span(at, length));
              this.field = "";
            } else {
              this.headers[this.headers.length - 1] += span(at, length);
            }
          }
          return 0;
        },
        wasm_on_headers_complete: () => 0,
        wasm_on_body: (_p: number, at: number, length: number) => {
          // undici wraps each body piece in a Buffer view; do the same.
          const view = this.#view().subarray(at, at + length);
          this.bodyBytes += view.length;
          return 0;
        },
        wasm_on_message_complete: () => {
          this.complete++;
          return 0;
        },
      },
    });
    this.#wasm = instance.exports as unknown as LlhttpExports;
    this.#wasm._initialize?.();
    this.#ptr = this.#wasm.llhttp_alloc(llhttpConstants.TYPE.REQUEST ?? 1);
    this.#memory = new Uint8Array(this.#wasm.memory.buffer);
  }

  #view(): Uint8Array {
    if (this.#memory.buffer !== this.#wasm.memory.buffer) {
      this.#memory = new Uint8Array(this.#wasm.memory.buffer);
    }
    return this.#memory;
  }

  #latin1(at: number, length: number): string {
    const memory = this.#view();
    if (length < 512) {
      return String.fromCharCode.apply(
        null,
        memory.subarray(at, at + length) as unknown as number[],
      );
    }
    let out = "";
    for (let i = at; i < at + length; i += 512) {
      out += String.fromCharCode.apply(
        null,
        memory.subarray(
          i,
          Math.min(at + length, i + 512),
        ) as unknown as number[],
      );
    }
    return out;
  }

  /** Copies `chunk` into wasm memory (as undici does) and parses it. */
  execute(chunk: Uint8Array): void {
    if (chunk.length > this.#bufferSize) {
      if (this.#bufferPtr !== 0) this.#wasm.free(this.#bufferPtr);
      this.#bufferSize = Math.ceil(chunk.length / 4096) * 4096;
      this.#bufferPtr = this.#wasm.malloc(this.#bufferSize);
    }
    this.#view().set(chunk, this.#bufferPtr);
    const result = this.#wasm.llhttp_execute(
      this.#ptr,
      this.#bufferPtr,
      chunk.length,
    );
    if (result !== llhttpConstants.ERROR.OK) {
      throw new Error(`llhttp: error ${result}`);
    }
  }

  /** The method name of the last request (undici reads it the same way). */
  method(): string {
    const name = this.#wasm.llhttp_method_name(
      this.#wasm.llhttp_get_method(this.#ptr),
    );
    const memory = this.#view();
    return this.#latin1(name, memory.indexOf(0, name) - name);
  }
}

function llhttpHead(message: Uint8Array, buildStrings: boolean): () => void {
  const parser = new Llhttp(buildStrings);
  return () => {
    const before = parser.complete;
    parser.execute(message);
    if (parser.complete !== before + 1) throw new Error("llhttp: no message");
    if (buildStrings) {
      sinkString = parser.method();
      sinkString = parser.url;
      sinkNumber += parser.headers.length;
    }
  };
}

function llhttpChunked(message: Uint8Array): () => void {
  const parser = new Llhttp(false);
  return () => {
    parser.bodyBytes = 0;
    parser.execute(message);
    if (parser.bodyBytes !== BODY_BYTES) throw new Error("llhttp: body length");
    sinkNumber += parser.bodyBytes;
  };
}

// ------------------------------------------------------------- measuring

/** Operations per second of `fn`, the median of ROUNDS timed rounds. */
function measure(fn: () => void): number {
  const deadline = performance.now() + Math.min(300, SECONDS * 300);
  while (performance.now() < deadline) for (let i = 0; i < 100; i++) fn();
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let ops = 0;
    const start = performance.now();
    const end = start + SECONDS * 1000;
    let now = start;
    let batch = 1;
    while (now < end) {
      for (let i = 0; i < batch; i++) fn();
      ops += batch;
      now = performance.now();
      if (batch < 4096) batch *= 2;
    }
    rates.push(ops / ((now - start) / 1000));
  }
  return median(rates);
}

interface Row {
  case: string;
  unit: "heads/s" | "MB/s";
  h1: number;
  llhttp: number;
}

function formatRate(value: number, unit: Row["unit"]): string {
  return unit === "MB/s"
    ? `${value.toFixed(0)} MB/s`
    : value >= 1e6
    ? `${(value / 1e6).toFixed(2)}M/s`
    : `${(value / 1e3).toFixed(0)}k/s`;
}

const rows: Row[] = [];
function headCase(name: string, message: Uint8Array, reads: boolean): void {
  const h1 = measure(h1Head(message, reads));
  const ll = measure(llhttpHead(message, reads));
  rows.push({ case: name, unit: "heads/s", h1, llhttp: ll });
  console.log(
    `${name}: h1 ${formatRate(h1, "heads/s")}, llhttp ${
      formatRate(ll, "heads/s")
    }`,
  );
}
function chunkedCase(name: string, message: Uint8Array): void {
  const mb = BODY_BYTES / 1e6;
  const h1 = measure(h1Chunked(message)) * mb;
  const ll = measure(llhttpChunked(message)) * mb;
  rows.push({ case: name, unit: "MB/s", h1, llhttp: ll });
  console.log(
    `${name}: h1 ${formatRate(h1, "MB/s")}, llhttp ${formatRate(ll, "MB/s")}`,
  );
}

console.log(
  `browser head: ${BROWSER_HEAD.length} bytes; timing ${ROUNDS} × ${SECONDS}s per side, median`,
);
headCase(
  `browser GET head (${BROWSER_HEAD.length} B, 11 fields), all fields read`,
  BROWSER_HEAD,
  true,
);
headCase(
  `browser GET head, no reads (llhttp: no strings built)`,
  BROWSER_HEAD,
  false,
);
headCase(
  `minimal GET (${MINIMAL_HEAD.length} B), all fields read`,
  MINIMAL_HEAD,
  true,
);
headCase(
  `minimal GET, no reads (llhttp: no strings built)`,
  MINIMAL_HEAD,
  false,
);
chunkedCase("chunked body, 64 KiB chunks (1 MiB)", CHUNKED_64K);
chunkedCase("chunked body, 1 KiB chunks (1 MiB)", CHUNKED_1K);
if (sinkString === "\0" && sinkNumber < 0) console.log("unreachable");

const table = [
  "| case | h1 | llhttp (undici 8.12.4 wasm) | h1 / llhttp |",
  "| --- | ---: | ---: | ---: |",
  ...rows.map((r) =>
    `| ${r.case} | ${formatRate(r.h1, r.unit)} | ${
      formatRate(r.llhttp, r.unit)
    } | ${(r.h1 / r.llhttp).toFixed(2)}× |`
  ),
];
console.log("\n" + table.join("\n"));

if (!flags["no-write"]) {
  let machine: string[] = [];
  try {
    machine = await machineLines();
  } catch {
    machine = [`- deno ${Deno.version.deno} (v8 ${Deno.version.v8})`];
  }
  await writeSection(
    "parser",
    [
      "## Parser (`deno run -A bench/parser_bench.ts`)",
      "",
      ...machine,
      `- ${ROUNDS} rounds × ${SECONDS}s per cell, median; one parser reused per side (keep-alive).`,
      '- "all fields read": h1 parses the head and reads method, target and every',
      "  header name and value as strings; llhttp's callbacks build the URL and",
      "  every name/value string (as undici's client does). llhttp also pays the copy",
      "  of each input into wasm memory, which undici does too.",
      "",
      ...table,
    ].join("\n"),
  );
  console.log("\nWrote the parser section of bench/RESULTS.md");
}

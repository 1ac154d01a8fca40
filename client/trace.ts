/**
 * Structured traces of client exchanges: one JSON object per request and
 * response, with the raw heads (Latin-1 text, byte for byte), timings and
 * whether the connection was reused. `replay.ts` sends a trace's requests
 * again, to reproduce a bug report against another server.
 *
 * @module
 */

import { type ByteWriter, latin1, LineSink } from "./_sink.ts";

export type { ByteWriter };

/** One exchange, as written to the trace (one JSON line). */
export interface TraceRecord {
  /** Always "exchange". */
  type: "exchange";
  /** When the exchange started, ISO 8601. */
  time: string;
  /** Per-process id of the connection used. */
  connection: number;
  /** Whether the connection had already carried an exchange. */
  reused: boolean;
  /** Whether this is a retry after a stale keep-alive connection failed. */
  retry: boolean;
  /** "http://host:port" of the server connected to. */
  origin: string;
  /** The request method. */
  method: string;
  /** The request-target as sent. */
  target: string;
  /** The request as sent. */
  request: {
    /** The raw head, Latin-1 (one character per byte). */
    head: string;
    /** Body bytes sent, or null when streamed and unknown yet. */
    bodyBytes: number | null;
    /** The body, Latin-1, when it was at most `maxBodyBytes` and not streamed. */
    body?: string;
  };
  /** The response, once its head arrived. */
  response: {
    /** Raw heads, Latin-1: interim (1xx) ones first, the final one last. */
    heads: string[];
    /** The final status. */
    status: number;
    /** Body bytes received. */
    bodyBytes: number;
  } | null;
  /** Milliseconds since the exchange started. */
  timings: {
    /** Time spent connecting (null on a reused connection). */
    connectMs: number | null;
    /** The request was written. */
    sentMs: number | null;
    /** The final head arrived. */
    headMs: number | null;
    /** The body ended or the exchange failed. */
    endMs: number | null;
  };
  /** What failed, or null. */
  error: { name: string; code: string | null; message: string } | null;
}

/** Where trace records go: a byte writer (JSON lines) or a function. */
export type TraceTarget = ByteWriter | ((record: TraceRecord) => void);

/** Options for {@linkcode Trace}. */
export interface TraceOptions {
  /** Record request bodies up to this size (default 64 KiB; 0 = never). */
  maxBodyBytes?: number;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * A trace sink shared by connections, pools and `request()`: pass it as the
 * `trace` option and every exchange becomes one {@linkcode TraceRecord}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Trace, type TraceRecord } from "./trace.ts";
 *
 * const records: TraceRecord[] = [];
 * const trace = new Trace((record) => records.push(record));
 * const exchange = trace.start("GET", "/", "http://127.0.0.1:80");
 * exchange.connected(1, false, 0.5, false);
 * exchange.sent(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"), 0, null);
 * exchange.head(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n"), 204, true);
 * exchange.end();
 * assert.equal(records[0]?.response?.status, 204);
 * assert.equal(records[0]?.request.head, "GET / HTTP/1.1\r\n\r\n");
 * ```
 */
export class Trace {
  readonly #sink: (record: TraceRecord) => void;
  readonly #lines: LineSink | null = null;
  /** Largest request body recorded, in bytes. */
  readonly maxBodyBytes: number;

  /**
   * Creates a new `Trace`.
   *
   * @param target A writer (JSON lines, e.g. `Deno.stderr` or an open file)
   *   or a function receiving each record.
   * @param options What to record.
   */
  constructor(target: TraceTarget, options: TraceOptions = {}) {
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
    if (typeof target === "function") {
      this.#sink = target;
    } else {
      const lines = new LineSink(target);
      this.#lines = lines;
      this.#sink = (record) => lines.write(JSON.stringify(record) + "\n");
    }
  }

  /**
   * Starts recording one exchange.
   *
   * @param method The request method.
   * @param target The request-target.
   * @param origin "http://host:port".
   * @returns The exchange to fill in.
   */
  start(method: string, target: string, origin: string): TraceExchange {
    return new TraceExchange(this, method, target, origin);
  }

  /**
   * Hands a finished record to the target.
   *
   * @param record The record.
   */
  emit(record: TraceRecord): void {
    try {
      this.#sink(record);
    } catch {
      // A failing trace sink must not fail the exchange.
    }
  }

  /** Resolves once every record so far is written (writer targets). */
  async flush(): Promise<void> {
    await this.#lines?.flush();
  }
}

/**
 * One exchange being recorded; connections call these as it progresses and
 * the record is emitted once, at `end()` or `fail()`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Trace, type TraceRecord } from "./trace.ts";
 *
 * let got: TraceRecord | undefined;
 * const exchange = new Trace((r) => (got = r)).start("GET", "/", "http://a:80");
 * exchange.fail(new Error("boom"));
 * assert.equal(got?.error?.message, "boom");
 * ```
 */
export class TraceExchange {
  /** The record being filled in. */
  readonly record: TraceRecord;
  readonly #trace: Trace;
  readonly #t0 = performance.now();
  #done = false;

  /**
   * Creates a new `TraceExchange`.
   *
   * @param trace Where the record goes.
   * @param method The request method.
   * @param target The request-target.
   * @param origin "http://host:port".
   */
  constructor(trace: Trace, method: string, target: string, origin: string) {
    this.#trace = trace;
    this.record = {
      type: "exchange",
      time: new Date().toISOString(),
      connection: 0,
      reused: false,
      retry: false,
      origin,
      method,
      target,
      request: { head: "", bodyBytes: null },
      response: null,
      timings: { connectMs: null, sentMs: null, headMs: null, endMs: null },
      error: null,
    };
  }

  #now(): number {
    return round(performance.now() - this.#t0);
  }

  /**
   * Records the connection used.
   *
   * @param id The connection's id.
   * @param reused Whether it carried an exchange before.
   * @param connectMs Time spent connecting, when it was opened for this exchange.
   * @param retry Whether this is a retry.
   */
  connected(
    id: number,
    reused: boolean,
    connectMs: number | null,
    retry: boolean,
  ): void {
    const r = this.record;
    r.connection = id;
    r.reused = reused;
    r.retry = retry;
    r.timings.connectMs = connectMs === null ? null : round(connectMs);
  }

  /**
   * Records the request as written.
   *
   * @param head The head's bytes.
   * @param bodyBytes Body length, or null when streamed.
   * @param body The body, when known.
   */
  sent(
    head: Uint8Array,
    bodyBytes: number | null,
    body: Uint8Array | null,
  ): void {
    const r = this.record;
    r.request.head = latin1(head);
    r.request.bodyBytes = bodyBytes;
    if (body !== null && body.length <= this.#trace.maxBodyBytes) {
      r.request.body = latin1(body);
    } else delete r.request.body;
    r.timings.sentMs = this.#now();
  }

  /**
   * Records a response head.
   *
   * @param raw Its raw bytes, when tapped.
   * @param status Its status.
   * @param final Whether it is the final (non-1xx) head.
   */
  head(raw: Uint8Array | null, status: number, final: boolean): void {
    const response = this.record.response ??= {
      heads: [],
      status,
      bodyBytes: 0,
    };
    response.heads.push(raw === null ? "" : latin1(raw));
    response.status = status;
    if (final) this.record.timings.headMs = this.#now();
  }

  /**
   * Counts body bytes received.
   *
   * @param n How many.
   */
  body(n: number): void {
    if (this.record.response !== null) this.record.response.bodyBytes += n;
  }

  /** Ends the exchange successfully and emits the record. */
  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.record.timings.endMs = this.#now();
    this.#trace.emit(this.record);
  }

  /**
   * Ends the exchange with an error and emits the record.
   *
   * @param error What failed.
   */
  fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    const e = error instanceof Error ? error : new Error(String(error));
    const code = (e as { code?: unknown }).code;
    this.record.error = {
      name: e.name,
      code: typeof code === "string" ? code : null,
      message: e.message,
    };
    this.record.timings.endMs = this.#now();
    this.#trace.emit(this.record);
  }
}

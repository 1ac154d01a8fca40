/**
 * Property tests of h1's client as a whole (client/pool.ts, client/request.ts,
 * client/http_connection.ts, client/http_response.ts): the mirror image of
 * tests/server/engine_property_review_test.ts. A scripted raw TCP server
 * (Deno.listen on 127.0.0.1, port 0, written here, not h1's) answers each
 * request it reads with a response fast-check generated: 1xx heads before
 * the final one, 204/304/HEAD, Content-Length, chunked (random chunk sizes,
 * extensions, trailers) or close-delimited framing, HTTP/1.0 and 1.1,
 * `Connection: close` or keep-alive, the bytes cut into random writes with
 * small pauses (1-byte writes included), and now and then a server-side
 * close at a random point (before the head, mid-head, mid-body, right after
 * a complete response, while idle). The client sends a random sequence of
 * GET/HEAD/POST/PUT/DELETE/OPTIONS requests, sequential or concurrent
 * (pipelined when the pool allows it), and reads each body in a random way.
 *
 * The oracle is a model of what each caller must get, checked against the
 * server's log of what it read and what it wrote:
 * - a response read to its end has exactly the model's status, reason,
 *   version, X-Id (never another request's response), 1xx list, trailers
 *   and body;
 * - a response the server cut is a named error of the right class
 *   (RemoteDisconnected, BadStatusLine, IncompleteRead with the bytes that
 *   came as a prefix of the body), never a short body;
 * - a request may fail only when something disturbed it (a server fault,
 *   a response closed early by its caller); in a run with neither, every
 *   request succeeds;
 * - a POST (or a streamed body) reaches the server at most once; an
 *   idempotent request at most as often as documented (Pool: 8 sends,
 *   HTTPConnection: 2);
 * - `length` counts the Content-Length bytes not yet handed out; read(n)
 *   and readinto() come short only at the end, read1(n) and readline(n)
 *   never give more than asked;
 * - every run ends within RUN_BOUND_MS; afterwards the pool holds only idle
 *   connections, and once it is closed the server sees every socket end.
 *
 * Each property runs CLIENT_PROPERTY_RUNS cases (default 180; the file takes
 * about 20 s); CLIENT_PROPERTY_SEED replays a seed. Counterexamples the
 * properties found are at the end as plain regression tests, each with a
 * `// Fixed bug:` comment; the generators no longer leave them out.
 */

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { Pool } from "../../client/pool.ts";
import { request, responseOf } from "../../client/request.ts";
import { HTTPConnection } from "../../client/http_connection.ts";
import type { HTTPResponse } from "../../client/http_response.ts";
import type { RequestBody } from "../../client/_body.ts";
import {
  BadStatusLine,
  HTTPException,
  IncompleteRead,
  RemoteDisconnected,
} from "../../client/errors.ts";
import { ConnectionResetError, NetError } from "../../net/errors.ts";
import { setImmediate } from "node:timers";
import {
  answerEach,
  type CannedServer,
  cannedServer,
  ok,
  type ServerConn,
} from "./_canned_server.ts";

const RUNS = Number(Deno.env.get("CLIENT_PROPERTY_RUNS") ?? "180");
const SEED = Deno.env.get("CLIENT_PROPERTY_SEED");
const seedOption = SEED === undefined ? {} : { seed: Number(SEED) };
// How long one run may take before the test calls it a hang.
const RUN_BOUND_MS = 5000;
// CLIENT_PROPERTY_STATS=1 prints how often each outcome and server action
// came up, to see what a budget covers.
const STATS: Map<string, number> | null = Deno.env.get("CLIENT_PROPERTY_STATS")
  ? new Map()
  : null;
// How long the server waits for every socket to end once the client closed.
const LEAK_BOUND_MS = 1000;
// Pool: sends of one idempotent request (README, "Pool and request()").
const POOL_MAX_SENDS = 8;
// HTTPConnection: "sent again once".
const CONN_MAX_SENDS = 2;

// ---------------------------------------------------------------------------
// The model

type Method = "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "OPTIONS";
type Framing = "length" | "chunked" | "close";
type ConnField = "none" | "close" | "keep-alive";
type ReasonStyle = "OK" | "space" | "none" | "long";
type FaultKind =
  | "none"
  | "before"
  | "afterInterim"
  | "midHead"
  | "midBody"
  | "closeAfter"
  | "idleClose";
/** A fault as executed: "boundary" is a cut between a 1xx head and the next. */
type Executed = FaultKind | "boundary";

/** A deterministic byte string: shrinks on its length. */
interface Gen {
  len: number;
  seed: number;
}

interface Fault {
  kind: FaultKind;
  /** Where in the head or body section to cut, [0, 1). */
  at: number;
  /** idleClose: how long to wait first. */
  ms: number;
}

/** How the server cuts its bytes into writes. */
interface Split {
  /** Sizes of the first 32 writes, cycled (none: one write). */
  sizes: number[];
  /** After each write: 0 nothing, 1 a turn of the event loop, 2 a timer. */
  pauses: number[];
  /** The first 16 bytes one at a time. */
  bytewise: boolean;
}

interface Chunking {
  sizes: number[];
  exts: number[];
  upper: boolean;
  zeros: number;
  lastExt: number;
  trailers: [string, string][];
}

/** What the server answers to one request (faults on its first answer). */
interface Plan {
  interim: number[];
  status: number;
  reason: ReasonStyle;
  version: "1.0" | "1.1";
  framing: Framing;
  conn: ConnField;
  body: Gen;
  chunking: Chunking;
  pad: number;
  fault: Fault;
  split: Split;
  delayMs: number;
  style: Style;
}

/** How the head is spelled; the meaning stays the same. */
interface Style {
  /** Bare LF for every line ending of heads and chunk framing. */
  lf: boolean;
  /** Field names, Connection tokens and "chunked" in other cases. */
  caps: boolean;
  /** "Content-Length: n", "Content-Length: n, n", or the field twice. */
  length: "single" | "list" | "twice";
  /** Connection tokens alone or in a list ("x-a, close"). */
  list: boolean;
}

type ReqBody = null | {
  kind: "text" | "bytes" | "stream";
  gen: Gen;
};

type ReadKind =
  | "all"
  | "amt"
  | "read1"
  | "readinto"
  | "readline"
  | "iter"
  | "close"
  | "partial"
  | "late"
  | "deferred"
  | "abort";

interface ReadMode {
  kind: ReadKind;
  sizes: number[];
}

interface Spec {
  method: Method;
  /** The caller sends `Connection: close` (RFC 9112 §9.6). */
  close: boolean;
  body: ReqBody;
  read: ReadMode;
  plan: Plan;
}

type Face = "pool" | "web" | "conn";

interface Run {
  specs: Spec[];
  /** Sizes of groups launched together; the rest go one by one. */
  groups: number[];
  pipelining: number;
  maxConns: number;
  /** The pool's idleTimeoutMs: short ones close connections between uses. */
  idleMs: number;
  /** Read with timeouts set (long enough never to fire). */
  timeouts: boolean;
  /** Pauses (ms) before each group or request after the first, cycled. */
  gaps: number[];
}

const EXTS = [
  "",
  ";a",
  ";a=b",
  ' ;name="quoted value"',
  ";x=1;y",
  '; q = "a\\"b"',
];

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

function genBytes(g: Gen): Uint8Array {
  const out = new Uint8Array(g.len);
  let x = g.seed | 0;
  for (let i = 0; i < g.len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    out[i] = x >>> 24;
  }
  return out;
}

const TEXT_UNITS = ["a", "b", "Z", "0", " ", "\r\n", "é", "€", "\u{1F600}"];

function genText(g: Gen): string {
  let s = "";
  for (const b of genBytes(g)) s += TEXT_UNITS[b % TEXT_UNITS.length];
  return s;
}

const encoder = new TextEncoder();

/** The bytes the server must receive as the body. */
function bodyBytes(body: ReqBody): Uint8Array {
  if (body === null) return new Uint8Array(0);
  return body.kind === "text" ? encoder.encode(genText(body.gen)) : genBytes(
    body.gen,
  );
}

/** What the caller passes. */
function bodyInput(body: ReqBody): RequestBody | null {
  if (body === null) return null;
  switch (body.kind) {
    case "text":
      return genText(body.gen);
    case "bytes":
      return genBytes(body.gen);
    case "stream": {
      const bytes = genBytes(body.gen);
      const half = bytes.length >> 1;
      const parts = [bytes.slice(0, half), bytes.slice(half)];
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          const part = parts.shift();
          if (part === undefined) controller.close();
          else controller.enqueue(part);
        },
      });
    }
  }
}

/** The caller's header fields. */
function requestFields(id: number, spec: Spec): [string, string][] {
  const fields: [string, string][] = [["X-Id", String(id)]];
  if (spec.close) fields.push(["Connection", "close"]);
  return fields;
}

/** Replayable and idempotent: may be retried and pipelined. */
function isIdempotent(spec: Spec): boolean {
  return IDEMPOTENT.has(spec.method) && spec.body?.kind !== "stream";
}

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

function fromLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isPrefix(prefix: Uint8Array, of: Uint8Array): boolean {
  return prefix.length <= of.length &&
    equalBytes(prefix, of.subarray(0, prefix.length));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One response on the wire, and what the client must make of it. */
interface Encoded {
  bytes: Uint8Array;
  /** End offsets of the 1xx heads. */
  interimEnds: number[];
  /** Where the final head ends. */
  bodyStart: number;
  /** The body the client must hand out. */
  expected: Uint8Array;
  /** Both ends keep the connection after it. */
  persist: boolean;
  closeDelimited: boolean;
  /** Trailer fields the client must report (chunked bodies only). */
  trailers: [string, string][] | null;
  reason: string;
}

const INTERIM_HEADS: Record<number, string> = {
  100: "HTTP/1.1 100 Continue\r\n\r\n",
  102: "HTTP/1.1 102 Processing\r\n\r\n",
  103: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
};

function encodeResponse(
  plan: Plan,
  method: string,
  id: number,
  token = 0,
): Encoded {
  const st = plan.style;
  const eol = st.lf ? "\n" : "\r\n";
  const name = (n: string) => st.caps ? n.toUpperCase() : n;
  let text = "";
  const interimEnds: number[] = [];
  for (const status of plan.interim) {
    text += INTERIM_HEADS[status]!.replaceAll("\r\n", eol);
    interimEnds.push(text.length);
  }
  const noBody = method === "HEAD" || plan.status === 204 ||
    plan.status === 304;
  const content = genBytes(plan.body);
  let line = `HTTP/${plan.version} ${plan.status}`;
  let reason = "";
  switch (plan.reason) {
    case "OK":
      line += " OK";
      reason = "OK";
      break;
    case "space":
      line += " ";
      break;
    case "none":
      break;
    case "long":
      line += " A  Longer Reason ";
      reason = "A  Longer Reason";
      break;
  }
  let head = line + eol + `X-Id: ${id}${eol}X-Delivery: ${token}${eol}`;
  if (plan.pad > 0) head += `X-Pad: ${"p".repeat(plan.pad)}${eol}`;
  if (plan.conn !== "none") {
    const value = st.caps ? plan.conn.toUpperCase() : plan.conn;
    head += `${name("Connection")}: ${st.list ? "x-a, " : ""}${value}${eol}`;
  }
  // RFC 9110 §8.6, RFC 9112 §6.1: no framing fields in a 204.
  const framing = plan.status === 204 ? "none" : plan.framing;
  if (framing === "length") {
    const n = content.length;
    const cl = name("Content-Length");
    if (st.length === "single") head += `${cl}: ${n}${eol}`;
    else if (st.length === "list") head += `${cl}: ${n}, ${n}${eol}`;
    else head += `${cl}: ${n}${eol}${cl}:${n}${eol}`;
  } else if (framing === "chunked") {
    head += `${name("Transfer-Encoding")}: ${
      st.caps ? "Chunked" : "chunked"
    }${eol}`;
  }
  head += eol;
  text += head;
  const bodyStart = text.length;
  let persist = plan.version === "1.1"
    ? plan.conn !== "close"
    : plan.conn === "keep-alive";
  // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
  if (plan.version === "1.0" && framing === "chunked") persist = false;
  let closeDelimited = false;
  let trailers: [string, string][] | null = null;
  let body: Uint8Array = new Uint8Array(0);
  if (!noBody) {
    if (framing === "length") body = content;
    else if (framing === "close") {
      body = content;
      closeDelimited = true;
      persist = false;
    } else if (framing === "chunked") {
      const c = plan.chunking;
      const hex = (n: number) => {
        const h = "0".repeat(c.zeros) + n.toString(16);
        return c.upper ? h.toUpperCase() : h;
      };
      const parts: Uint8Array[] = [];
      let at = 0;
      for (let k = 0; at < content.length; k++) {
        const size = Math.min(
          c.sizes[k % c.sizes.length]!,
          content.length - at,
        );
        const ext = EXTS[c.exts[k % c.exts.length]!]!;
        parts.push(latin1(`${hex(size)}${ext}${eol}`));
        parts.push(content.subarray(at, at + size));
        parts.push(latin1(eol));
        at += size;
      }
      let last = `${hex(0)}${EXTS[c.lastExt]!}${eol}`;
      for (const [name, value] of c.trailers) last += `${name}: ${value}${eol}`;
      parts.push(latin1(last + eol));
      body = concat(parts);
      trailers = c.trailers.length > 0 ? c.trailers : null;
    }
  }
  return {
    bytes: concat([latin1(text), body]),
    interimEnds,
    bodyStart,
    expected: noBody ? new Uint8Array(0) : content,
    persist,
    closeDelimited,
    trailers,
    reason,
  };
}

/** Where a cut falls, or null when the fault does not cut. */
function cutOf(
  enc: Encoded,
  fault: Fault,
): { offset: number; kind: Executed } | null {
  switch (fault.kind) {
    case "before":
      return { offset: 0, kind: "before" };
    case "afterInterim": {
      // Right after one of the 1xx heads: a clean end at a message boundary.
      if (enc.interimEnds.length === 0) return { offset: 0, kind: "before" };
      const k = Math.floor(fault.at * enc.interimEnds.length);
      return { offset: enc.interimEnds[k]!, kind: "boundary" };
    }
    case "midHead": {
      // Strictly inside a head (a cut between two is afterInterim's).
      let offset = 1 + Math.floor(fault.at * (enc.bodyStart - 1));
      if (enc.interimEnds.includes(offset)) offset++;
      return { offset, kind: "midHead" };
    }
    case "midBody": {
      const total = enc.bytes.length;
      // A close-delimited body ends where the connection does: no cut.
      if (total === enc.bodyStart || enc.closeDelimited) return null;
      return {
        offset: enc.bodyStart + Math.floor(fault.at * (total - enc.bodyStart)),
        kind: "midBody",
      };
    }
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------
// The scripted server

interface SeenRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** One request the server read, and what it did with it. */
interface Delivery {
  id: number;
  /** Sent back in X-Delivery: which delivery a response came from. */
  token: number;
  conn: number;
  seq: number;
  /** "dropped": read while closing, never answered. */
  outcome: "pending" | "full" | "cut" | "dropped" | "write-failed";
  fault: Executed;
}

const CRLF2 = [13, 10, 13, 10];

function indexOfSeq(buf: Uint8Array, seq: number[], from = 0): number {
  outer: for (let i = from; i + seq.length <= buf.length; i++) {
    for (let k = 0; k < seq.length; k++) {
      if (buf[i + k] !== seq[k]) continue outer;
    }
    return i;
  }
  return -1;
}

/** Reads requests off one server-side socket. */
class RequestReader {
  #buf = new Uint8Array(0);
  readonly #conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch {
      return false;
    }
    if (n === null) return false;
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  async #exactly(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length < n) if (!(await this.#fill())) return null;
    return this.#take(n);
  }

  async #line(): Promise<string | null> {
    let end: number;
    while ((end = indexOfSeq(this.#buf, [13, 10])) === -1) {
      if (!(await this.#fill())) return null;
    }
    return fromLatin1(this.#take(end + 2)).slice(0, -2);
  }

  /** The next whole request, or null at the end (or a partial one). */
  async next(): Promise<SeenRequest | "bad" | null> {
    let end: number;
    while ((end = indexOfSeq(this.#buf, CRLF2)) === -1) {
      if (!(await this.#fill())) return null;
    }
    const lines = fromLatin1(this.#take(end + 4)).split("\r\n").slice(0, -2);
    const [method = "", target = "", version = ""] = (lines[0] ?? "").split(
      " ",
    );
    if (version !== "HTTP/1.1") return "bad";
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) return "bad";
      headers.push([
        line.slice(0, colon).toLowerCase(),
        line.slice(colon + 1).trim(),
      ]);
    }
    const get = (name: string) =>
      headers.filter(([n]) => n === name).map(([, v]) => v);
    const length = get("content-length");
    const te = get("transfer-encoding");
    let body: Uint8Array = new Uint8Array(0);
    if (length.length > 0 && te.length > 0) return "bad";
    if (length.length > 1) return "bad";
    if (length.length === 1) {
      if (!/^[0-9]+$/.test(length[0]!)) return "bad";
      const got = await this.#exactly(Number(length[0]));
      if (got === null) return null;
      body = got;
    } else if (te.length > 0) {
      if (te.join(",").toLowerCase() !== "chunked") return "bad";
      const parts: Uint8Array[] = [];
      for (;;) {
        const sizeLine = await this.#line();
        if (sizeLine === null) return null;
        if (!/^[0-9a-fA-F]+$/.test(sizeLine)) return "bad";
        const size = parseInt(sizeLine, 16);
        if (size === 0) {
          for (;;) {
            const trailer = await this.#line();
            if (trailer === null) return null;
            if (trailer === "") break;
          }
          break;
        }
        const data = await this.#exactly(size + 2);
        if (data === null) return null;
        if (data[size] !== 13 || data[size + 1] !== 10) return "bad";
        parts.push(data.subarray(0, size));
      }
      body = concat(parts);
    }
    return { method, target, headers, body };
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

// A turn of the event loop (Deno's timers take about 2 ms; this does not).
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Writes `bytes` as the split says; false when the client went away. */
async function writeSplit(
  conn: Deno.Conn,
  bytes: Uint8Array,
  split: Split,
): Promise<boolean> {
  try {
    if (split.sizes.length === 0 && !split.bytewise) {
      await writeAll(conn, bytes);
      return true;
    }
    let at = 0;
    let timers = 0;
    for (let k = 0; at < bytes.length; k++) {
      // At most 32 small writes, then the rest in large ones.
      let size: number;
      if (k >= 32) size = 16 * 1024;
      else if (split.bytewise && at < 16) size = 1;
      else if (split.sizes.length > 0) {
        size = split.sizes[k % split.sizes.length]!;
      } else size = 16 * 1024;
      await writeAll(conn, bytes.subarray(at, at + size));
      at += size;
      const pause = split.pauses.length > 0 && k < 32
        ? split.pauses[k % split.pauses.length]!
        : 0;
      if (pause === 1) await nextTurn();
      else if (pause === 2 && timers++ < 4) await delay(1);
    }
    return true;
  } catch {
    return false;
  }
}

class ScriptServer {
  readonly listener: Deno.TcpListener;
  readonly deliveries: Delivery[] = [];
  readonly problems: string[] = [];
  readonly #answered = new Map<number, number>();
  readonly #open = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  readonly #specs: Spec[];
  #connections = 0;

  constructor(specs: Spec[]) {
    this.#specs = specs;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.listener = listener;
    this.#loop = (async () => {
      for await (const conn of listener) {
        const index = this.#connections++;
        this.#open.add(conn);
        const task: Promise<void> = this.#serve(conn, index).catch(
          (error) => {
            this.problems.push(`server task failed: ${error}`);
          },
        ).finally(() => {
          try {
            conn.close();
          } catch { /* closed */ }
          this.#open.delete(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    })().catch(() => {});
  }

  get port(): number {
    return this.listener.addr.port;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  // Logs a request; null when it is not one of ours (a problem).
  #log(
    req: SeenRequest | "bad",
    conn: number,
    seq: number,
    dropped: boolean,
  ): Delivery | null {
    if (req === "bad") {
      this.problems.push(`conn ${conn}: a malformed request`);
      return null;
    }
    const ids = req.headers.filter(([n]) => n === "x-id");
    const id = ids.length === 1 ? Number(ids[0]![1]) : NaN;
    const spec = this.#specs[id];
    if (spec === undefined) {
      this.problems.push(`conn ${conn}: a request without a known X-Id`);
      return null;
    }
    const hosts = req.headers.filter(([n]) => n === "host");
    if (hosts.length !== 1 || hosts[0]![1] !== `127.0.0.1:${this.port}`) {
      this.problems.push(`request ${id}: Host fields ${JSON.stringify(hosts)}`);
    }
    if (req.method !== spec.method || req.target !== `/r${id}`) {
      this.problems.push(
        `request ${id}: got "${req.method} ${req.target}" for ${spec.method}`,
      );
    }
    if (!equalBytes(req.body, bodyBytes(spec.body))) {
      this.problems.push(
        `request ${id}: body of ${req.body.length} bytes, not the ${
          bodyBytes(spec.body).length
        } sent`,
      );
    }
    const delivery: Delivery = {
      id,
      token: this.deliveries.length,
      conn,
      seq,
      outcome: dropped ? "dropped" : "pending",
      fault: "none",
    };
    this.deliveries.push(delivery);
    return delivery;
  }

  // Staged close (RFC 9112 §9.6): FIN, then read (and log) until the client
  // closes, so the client reads what was sent instead of a reset.
  async #closeGracefully(
    conn: Deno.Conn,
    reader: RequestReader,
    index: number,
    seq: number,
  ): Promise<void> {
    try {
      await conn.closeWrite();
    } catch { /* gone */ }
    for (;;) {
      const req = await reader.next();
      if (req === null) return;
      if (this.#log(req, index, seq++, true) === null) return;
    }
  }

  async #serve(conn: Deno.Conn, index: number): Promise<void> {
    const reader = new RequestReader(conn);
    let seq = 0;
    for (;;) {
      const req = await reader.next();
      if (req === null) return;
      const d = this.#log(req, index, seq++, false);
      if (d === null || req === "bad") return;
      const spec = this.#specs[d.id]!;
      const plan = spec.plan;
      const answered = this.#answered.get(d.id) ?? 0;
      this.#answered.set(d.id, answered + 1);
      const fault = answered === 0 ? plan.fault : NO_FAULT;
      const enc = encodeResponse(plan, req.method, d.id, d.token);
      if (plan.delayMs > 0) await delay(plan.delayMs);
      const cut = cutOf(enc, fault);
      const end = cut === null ? enc.bytes.length : cut.offset;
      if (!(await writeSplit(conn, enc.bytes.subarray(0, end), plan.split))) {
        d.outcome = "write-failed";
        return;
      }
      if (cut !== null) {
        d.outcome = "cut";
        d.fault = cut.kind;
        await this.#closeGracefully(conn, reader, index, seq);
        return;
      }
      d.outcome = "full";
      // RFC 9112 §9.6: a server that receives "close" closes after its
      // response, whether or not it says so.
      if (!enc.persist || spec.close) {
        await this.#closeGracefully(conn, reader, index, seq);
        return;
      }
      // A midBody fault with no body to cut closes right after instead.
      if (fault.kind === "closeAfter" || fault.kind === "midBody") {
        d.fault = "closeAfter";
        await this.#closeGracefully(conn, reader, index, seq);
        return;
      }
      if (fault.kind === "idleClose") {
        d.fault = "idleClose";
        await delay(fault.ms);
        await this.#closeGracefully(conn, reader, index, seq);
        return;
      }
    }
  }

  /**
   * Stops listening and waits for every connection to end; one the client
   * never closes within LEAK_BOUND_MS is a leaked socket (a problem).
   */
  async close(): Promise<void> {
    try {
      this.listener.close();
    } catch { /* closed */ }
    await this.#loop;
    const all = Promise.all([...this.#tasks]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<"leak">((resolve) => {
      timer = setTimeout(() => resolve("leak"), LEAK_BOUND_MS);
    });
    const won = await Promise.race([all.then(() => "done" as const), bound]);
    clearTimeout(timer);
    if (won === "leak") {
      this.problems.push(
        `${this.#open.size} socket(s) still open ${LEAK_BOUND_MS} ms after the client closed`,
      );
      for (const conn of this.#open) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      await all;
    }
  }
}

const NO_FAULT: Fault = { kind: "none", at: 0, ms: 0 };

// ---------------------------------------------------------------------------
// The clients

interface Head {
  status: number;
  reason: string;
  version: number | null;
  id: string | null;
  token: string | null;
  informational: number[] | null;
  willClose: boolean | null;
}

type Outcome =
  | { kind: "headError"; error: unknown }
  | {
    kind: "ok";
    head: Head;
    body: Uint8Array;
    trailers: [string, string][] | null | undefined;
  }
  | { kind: "closed"; head: Head; body: Uint8Array; early: boolean }
  | { kind: "bodyError"; head: Head; body: Uint8Array; error: unknown };

function headOf(response: HTTPResponse): Head {
  return {
    status: response.status,
    reason: response.reason,
    version: response.version,
    id: response.getheader("X-Id"),
    token: response.getheader("X-Delivery"),
    informational: response.informational.map((i) => i.status),
    willClose: response.will_close,
  };
}

// The k-th read size; after 64 reads, 256 times larger (big bodies).
function sizeAt(mode: ReadMode, k: number): number {
  const size = mode.sizes.length === 0 ? 0 : mode.sizes[k % mode.sizes.length]!;
  return k < 64 ? size : size * 256;
}

/** What `HTTPResponse.length` must say at the head. */
function expectedLength(spec: Spec): number | null {
  const plan = spec.plan;
  if (
    spec.method === "HEAD" || plan.status === 204 || plan.status === 304
  ) return 0;
  return plan.framing === "length" ? plan.body.len : null;
}

/** Reads an HTTPResponse's body the way `mode` says. */
async function readResponse(
  response: HTTPResponse,
  mode: ReadMode,
  anomalies: string[],
  id: number,
  spec: Spec,
): Promise<Outcome> {
  const head = headOf(response);
  const parts: Uint8Array[] = [];
  const note = (what: string) => anomalies.push(`request ${id}: ${what}`);
  // `length`: body bytes not yet handed out, when Content-Length framed it
  // (0 without a body), as Python's.
  const expectLength = expectedLength(spec);
  let handed = 0;
  const checkLength = (chunk: Uint8Array) => {
    handed += chunk.length;
    if (expectLength !== null && response.length !== expectLength - handed) {
      note(
        `length ${response.length} after ${handed} of ${expectLength} bytes`,
      );
    }
  };
  if (response.length !== expectLength) {
    note(`length ${response.length} at the head, not ${expectLength}`);
  }
  try {
    switch (mode.kind) {
      case "late":
        await delay(sizeAt(mode, 0) % 4);
        parts.push(await response.read());
        break;
      case "abort":
      case "all":
      case "deferred":
        parts.push(await response.read());
        break;
      case "amt":
      case "readinto": {
        let short = false;
        for (let k = 0;; k++) {
          const want = Math.max(1, sizeAt(mode, k));
          let chunk: Uint8Array;
          if (mode.kind === "amt") chunk = await response.read(want);
          else {
            const buffer = new Uint8Array(want);
            const n = await response.readinto(buffer);
            chunk = buffer.subarray(0, n);
          }
          if (chunk.length === 0) break;
          if (short) note(`${mode.kind} gave bytes after a short read`);
          if (chunk.length > want) note(`${mode.kind} gave more than asked`);
          short = chunk.length < want;
          parts.push(chunk.slice());
          checkLength(chunk);
        }
        break;
      }
      case "read1":
        for (let k = 0;; k++) {
          const n = sizeAt(mode, k) === 0 ? -1 : sizeAt(mode, k);
          const chunk = await response.read1(n);
          if (chunk.length === 0) break;
          if (n >= 0 && chunk.length > n) note("read1 gave more than asked");
          parts.push(chunk);
          checkLength(chunk);
        }
        break;
      case "readline":
        for (let k = 0;; k++) {
          const limit = sizeAt(mode, k) === 0 ? -1 : sizeAt(mode, k);
          const line = await response.readline(limit);
          if (line.length === 0) break;
          const lf = line.indexOf(0x0a);
          if (lf !== -1 && lf !== line.length - 1) {
            note("readline went past a LF");
          }
          if (limit >= 0 && line.length > limit) {
            note("readline gave more than its limit");
          }
          parts.push(line);
          checkLength(line);
        }
        break;
      case "iter":
        for await (const chunk of response) parts.push(chunk);
        break;
      case "close": {
        const early = !response.closed;
        response.close();
        return { kind: "closed", head, body: new Uint8Array(0), early };
      }
      case "partial": {
        parts.push(await response.read(Math.max(1, sizeAt(mode, 0))));
        const early = !response.closed;
        response.close();
        return { kind: "closed", head, body: concat(parts), early };
      }
    }
  } catch (error) {
    if (error instanceof IncompleteRead) parts.push(error.partial);
    return { kind: "bodyError", head, body: concat(parts), error };
  }
  if (!response.closed) note("not closed after its body was read");
  const trailers = response.trailers === null
    ? null
    : response.trailers.items();
  return { kind: "ok", head, body: concat(parts), trailers };
}

/** Reads a Web Response's body the way `mode` says. */
async function readWeb(
  res: Response,
  mode: ReadMode,
  anomalies: string[],
  id: number,
  noBody: boolean,
): Promise<Outcome> {
  const head: Head = {
    status: res.status,
    reason: res.statusText,
    version: null,
    id: res.headers.get("x-id"),
    token: res.headers.get("x-delivery"),
    informational: null,
    willClose: null,
  };
  if (noBody && res.body !== null) {
    anomalies.push(`request ${id}: a null-body response has a body stream`);
  }
  const inner = responseOf(res);
  const parts: Uint8Array[] = [];
  try {
    switch (mode.kind) {
      case "all":
      case "late":
      case "deferred":
      case "abort":
        if (mode.kind === "late") await delay(sizeAt(mode, 0) % 4);
        parts.push(new Uint8Array(await res.arrayBuffer()));
        break;
      case "close": {
        const early = inner !== undefined && !inner.closed;
        await res.body?.cancel();
        return { kind: "closed", head, body: new Uint8Array(0), early };
      }
      default: {
        if (res.body === null) break;
        const reader = res.body.getReader();
        const stopAfter = mode.kind === "partial"
          ? sizeAt(mode, 0) % 3
          : Infinity;
        for (let k = 0;; k++) {
          if (k >= stopAfter) {
            const early = inner !== undefined && !inner.closed;
            await reader.cancel();
            return { kind: "closed", head, body: concat(parts), early };
          }
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
        }
      }
    }
  } catch (error) {
    return { kind: "bodyError", head, body: concat(parts), error };
  }
  return { kind: "ok", head, body: concat(parts), trailers: undefined };
}

async function poolOne(
  pool: Pool,
  server: ScriptServer,
  id: number,
  spec: Spec,
  anomalies: string[],
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  let response: HTTPResponse;
  try {
    response = await pool.request(server.origin, {
      method: spec.method,
      path: `/r${id}`,
      headers: requestFields(id, spec),
      body: bodyInput(spec.body),
      signal,
    });
  } catch (error) {
    return { kind: "headError", error };
  }
  return await readResponse(response, spec.read, anomalies, id, spec);
}

async function webOne(
  pool: Pool,
  server: ScriptServer,
  id: number,
  spec: Spec,
  anomalies: string[],
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  let res: Response;
  try {
    res = await request(`${server.origin}/r${id}`, {
      pool,
      method: spec.method,
      headers: requestFields(id, spec),
      body: bodyInput(spec.body),
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    return { kind: "headError", error };
  }
  const noBody = spec.method === "HEAD" || spec.plan.status === 204 ||
    spec.plan.status === 304;
  return await readWeb(res, spec.read, anomalies, id, noBody);
}

/** A pause between requests (or groups), so idle closes find idle sockets. */
async function gap(run: Run, k: number): Promise<void> {
  const ms = run.gaps.length === 0 ? 0 : run.gaps[k % run.gaps.length]!;
  if (ms > 0) await delay(ms);
}

/** Runs the requests on a Pool, in groups launched together. */
async function drivePool(
  run: Run,
  face: "pool" | "web",
  server: ScriptServer,
  pool: Pool,
  outcomes: (Outcome | undefined)[],
  anomalies: string[],
  aborts: Map<number, DOMException>,
): Promise<void> {
  const one = face === "pool" ? poolOne : webOne;
  let i = 0;
  const groups = [...run.groups];
  for (let g = 0; i < run.specs.length; g++) {
    if (g > 0) await gap(run, g);
    const size = groups.shift() ?? 1;
    const group: Promise<void>[] = [];
    for (let k = 0; k < size && i < run.specs.length; k++, i++) {
      const id = i;
      const spec = run.specs[id]!;
      let signal: AbortSignal | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (spec.read.kind === "abort") {
        const controller = new AbortController();
        signal = controller.signal;
        timer = setTimeout(() => {
          const reason = new DOMException(`abort ${id}`, "AbortError");
          aborts.set(id, reason);
          controller.abort(reason);
        }, sizeAt(spec.read, 0) % 4);
      }
      group.push(
        one(pool, server, id, spec, anomalies, signal).then((o) => {
          clearTimeout(timer);
          outcomes[id] = o;
        }),
      );
    }
    await Promise.all(group);
  }
  const stats = pool.stats;
  if (stats.waiting !== 0 || stats.idle !== stats.connections) {
    anomalies.push(
      `pool not at rest once every response settled: ${JSON.stringify(stats)}`,
    );
  }
}

/** Runs the requests one by one on an HTTPConnection. */
async function driveConnection(
  run: Run,
  conn: HTTPConnection,
  outcomes: (Outcome | undefined)[],
  anomalies: string[],
): Promise<void> {
  let pending: { id: number; response: HTTPResponse } | null = null;
  for (let id = 0; id < run.specs.length; id++) {
    const spec = run.specs[id]!;
    if (id > 0) await gap(run, id);
    let sent = true;
    try {
      await conn.request(
        spec.method,
        `/r${id}`,
        bodyInput(spec.body),
        requestFields(id, spec),
      );
    } catch (error) {
      outcomes[id] = { kind: "headError", error };
      sent = false;
    }
    if (pending !== null) {
      outcomes[pending.id] = await readResponse(
        pending.response,
        { kind: "all", sizes: [] },
        anomalies,
        pending.id,
        run.specs[pending.id]!,
      );
      pending = null;
    }
    if (!sent) continue;
    let response: HTTPResponse;
    try {
      response = await conn.getresponse();
    } catch (error) {
      outcomes[id] = { kind: "headError", error };
      continue;
    }
    // Python's pattern: send the next request before reading this body.
    if (spec.read.kind === "deferred" && id + 1 < run.specs.length) {
      pending = { id, response };
    } else {
      outcomes[id] = await readResponse(
        response,
        spec.read,
        anomalies,
        id,
        spec,
      );
    }
  }
}

// ---------------------------------------------------------------------------
// The oracle

function isNamed(error: unknown): boolean {
  return (error instanceof HTTPException || error instanceof NetError) &&
    typeof (error as { code?: unknown }).code === "string";
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    return `${error.name}${
      "code" in error ? `(${String(error.code)})` : ""
    }: ${error.message}`;
  }
  return String(error);
}

const CUTS: ReadonlySet<Executed> = new Set([
  "before",
  "boundary",
  "midHead",
  "midBody",
]);
const DISTURBING: ReadonlySet<Executed> = new Set([
  ...CUTS,
  "closeAfter",
  "idleClose",
]);

/** Checks every outcome against the model and the server's log. */
function check(
  run: Run,
  face: Face,
  outcomes: (Outcome | undefined)[],
  server: ScriptServer,
  anomalies: string[],
  aborts: Map<number, DOMException>,
): string[] {
  const problems = [...server.problems, ...anomalies];
  const deliveriesOf = (id: number) =>
    server.deliveries.filter((d) => d.id === id);
  const serverFault = (id: number) =>
    deliveriesOf(id).some((d) => DISTURBING.has(d.fault));
  const early = (id: number) => {
    const o = outcomes[id];
    return (o?.kind === "closed" && o.early) || aborts.has(id);
  };
  const runDisturbed = run.specs.some((_, id) => serverFault(id) || early(id));

  for (let id = 0; id < run.specs.length; id++) {
    const spec = run.specs[id]!;
    const o = outcomes[id];
    const say = (what: string) =>
      problems.push(`request ${id} (${spec.method}): ${what}`);
    if (o === undefined) {
      say("no outcome");
      continue;
    }
    const ds = deliveriesOf(id);
    // Sends.
    const max = !isIdempotent(spec)
      ? 1
      : face === "conn"
      ? CONN_MAX_SENDS
      : POOL_MAX_SENDS;
    if (ds.length > max) say(`reached the server ${ds.length} times`);
    const enc = encodeResponse(spec.plan, spec.method, id);
    const reason = aborts.get(id);

    if (reason !== undefined && o.kind === "headError") {
      // Aborted before the head: the signal's reason, as fetch rejects.
      if (o.error !== reason) {
        say(`aborted, rejected with ${describeError(o.error)}`);
      }
      continue;
    }
    if (o.kind === "headError") {
      if (!isNamed(o.error)) {
        say(`failed with an unnamed error: ${describeError(o.error)}`);
      }
      const plainBadStatusLine = o.error instanceof BadStatusLine &&
        !(o.error instanceof RemoteDisconnected);
      if (plainBadStatusLine && !ds.some((d) => d.fault === "midHead")) {
        say(`BadStatusLine without a cut head: ${describeError(o.error)}`);
      }
      const only = ds.length === 1 && ds[0]!.outcome === "cut"
        ? ds[0]!.fault
        : null;
      if (only === "midHead") {
        if (!plainBadStatusLine) {
          say(`head cut midway, got ${describeError(o.error)}`);
        }
      } else if (only === "before" || only === "boundary") {
        if (
          !(o.error instanceof RemoteDisconnected ||
            o.error instanceof ConnectionResetError)
        ) {
          say(`closed before its head, got ${describeError(o.error)}`);
        }
      } else if (only === "midBody") {
        say(`its head was sent whole, got ${describeError(o.error)}`);
      } else {
        const justified = face === "conn"
          ? serverFault(id) ||
            (id > 0 && (serverFault(id - 1) || early(id - 1)))
          : runDisturbed;
        if (!justified) {
          say(
            `failed with nothing to disturb it: ${describeError(o.error)}`,
          );
        }
      }
      continue;
    }

    // A head arrived: it must be this request's.
    const h = o.head;
    if (h.id !== String(id)) say(`got the response of request ${h.id}`);
    if (h.status !== spec.plan.status) say(`status ${h.status}`);
    if (h.reason !== enc.reason) say(`reason ${JSON.stringify(h.reason)}`);
    if (
      h.version !== null &&
      h.version !== (spec.plan.version === "1.0" ? 10 : 11)
    ) {
      say(`version ${h.version}`);
    }
    if (
      h.informational !== null &&
      JSON.stringify(h.informational) !== JSON.stringify(spec.plan.interim)
    ) {
      say(`informational ${JSON.stringify(h.informational)}`);
    }
    if (
      !spec.close && h.willClose !== null && h.willClose !== !enc.persist
    ) {
      say(`will_close ${h.willClose}`);
    }
    const from = server.deliveries[Number(h.token)];
    if (from === undefined || from.id !== id) {
      say(`X-Delivery ${h.token} is not one of its deliveries`);
      continue;
    }

    switch (o.kind) {
      case "ok":
        if (!equalBytes(o.body, enc.expected)) {
          say(
            `body of ${o.body.length} bytes, not the ${enc.expected.length}` +
              ` sent${
                isPrefix(o.body, enc.expected) ? " (a silently short body)" : ""
              }`,
          );
        }
        if (from.outcome !== "full") {
          say(`complete although the server's answer was ${from.outcome}`);
        }
        if (
          o.trailers !== undefined &&
          JSON.stringify(o.trailers) !== JSON.stringify(enc.trailers)
        ) {
          say(`trailers ${JSON.stringify(o.trailers)}`);
        }
        break;
      case "closed":
        if (from.outcome === "pending" || from.outcome === "dropped") {
          say(`a head from an answer the server never began`);
        }
        if (!isPrefix(o.body, enc.expected)) {
          say("bytes read before closing are not the body's");
        }
        break;
      case "bodyError":
        if (reason !== undefined) {
          // request()'s body errors with the reason; an HTTPResponse sees
          // its socket closed.
          if (face === "web" ? o.error !== reason : !isNamed(o.error)) {
            say(`aborted, the body failed with ${describeError(o.error)}`);
          }
          break;
        }
        if (!isNamed(o.error)) {
          say(`body failed with an unnamed error: ${describeError(o.error)}`);
        }
        if (!isPrefix(o.body, enc.expected)) {
          say("bytes read before the error are not the body's");
        }
        if (from.fault !== "midBody") {
          say(`body failed, not cut: ${describeError(o.error)}`);
        } else if (!(o.error instanceof IncompleteRead)) {
          say(`body cut, got ${describeError(o.error)}`);
        } else if (
          face !== "web" && spec.read.kind === "all" &&
          spec.plan.framing === "length" &&
          o.body.length + (o.error.expected ?? NaN) !== enc.expected.length
        ) {
          say(
            `IncompleteRead says ${o.error.expected} more after ${o.body.length} of ${enc.expected.length}`,
          );
        }
        break;
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------
// One run

async function runOnce(run: Run, face: Face): Promise<void> {
  const server = new ScriptServer(run.specs);
  const outcomes: (Outcome | undefined)[] = new Array(run.specs.length);
  const anomalies: string[] = [];
  // Requests whose signal fired before they settled, and its reason.
  const aborts = new Map<number, DOMException>();
  const pool = face === "conn" ? null : new Pool({
    pipelining: run.pipelining,
    maxConnectionsPerOrigin: run.maxConns,
    idleTimeoutMs: run.idleMs,
    ...(run.timeouts
      ? { headersTimeoutMs: 3000, bodyTimeoutMs: 3000, connectTimeoutMs: 3000 }
      : {}),
  });
  const conn = face === "conn"
    ? new HTTPConnection("127.0.0.1", server.port, {
      timeout: run.timeouts ? 3 : null,
    })
    : null;
  const driving = pool !== null
    ? drivePool(
      run,
      face as "pool" | "web",
      server,
      pool,
      outcomes,
      anomalies,
      aborts,
    )
    : driveConnection(run, conn!, outcomes, anomalies);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hang">((resolve) => {
    timer = setTimeout(() => resolve("hang"), RUN_BOUND_MS);
  });
  let result: "done" | "hang";
  try {
    result = await Promise.race([driving.then(() => "done" as const), hang]);
  } finally {
    clearTimeout(timer);
    pool?.close();
    conn?.close();
  }
  if (result === "hang") {
    // Let the callers fail now that the sockets are closed.
    await Promise.race([driving.catch(() => {}), delay(500)]);
    await server.close();
    const settled = outcomes.map((o) => o?.kind ?? "pending");
    throw new Error(
      `HANG: the run took over ${RUN_BOUND_MS} ms; outcomes ${
        JSON.stringify(settled)
      }, deliveries ${JSON.stringify(server.deliveries)}`,
    );
  }
  await server.close();
  if (STATS !== null) {
    for (const o of outcomes) {
      const key = o === undefined
        ? "none"
        : o.kind === "headError" || o.kind === "bodyError"
        ? `${o.kind}:${(o.error as Error).name}`
        : o.kind === "closed"
        ? `closed:${o.early}`
        : o.kind;
      STATS.set(key, (STATS.get(key) ?? 0) + 1);
    }
    for (const d of server.deliveries) {
      const key = `d:${d.outcome}:${d.fault}`;
      STATS.set(key, (STATS.get(key) ?? 0) + 1);
    }
  }
  const problems = check(run, face, outcomes, server, anomalies, aborts);
  if (problems.length > 0) {
    throw new Error(
      problems.join("\n") + `\ndeliveries ${JSON.stringify(server.deliveries)}`,
    );
  }
}

// ---------------------------------------------------------------------------
// Generators

function weighted<T>(options: [T, number][]): fc.Arbitrary<T> {
  return fc.oneof(
    ...options.map(([value, weight]) => ({
      arbitrary: fc.constant(value),
      weight,
    })),
  );
}

const genArb = (maxSmall: number): fc.Arbitrary<Gen> =>
  fc.record({
    len: fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: maxSmall }), weight: 12 },
      { arbitrary: fc.integer({ min: 60_000, max: 140_000 }), weight: 1 },
    ),
    seed: fc.integer(),
  });

const chunkingArb: fc.Arbitrary<Chunking> = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 200 }), {
    minLength: 1,
    maxLength: 4,
  }),
  exts: fc.array(fc.integer({ min: 0, max: EXTS.length - 1 }), {
    minLength: 1,
    maxLength: 3,
  }),
  upper: fc.boolean(),
  zeros: fc.integer({ min: 0, max: 2 }),
  lastExt: fc.integer({ min: 0, max: EXTS.length - 1 }),
  trailers: fc.array(
    fc.tuple(
      fc.constantFrom("X-Checksum", "X-Trail", "Server-Timing"),
      fc.stringMatching(/^[a-z0-9]{1,8}$/),
    ),
    { maxLength: 2 },
  ),
});

const faultArb: fc.Arbitrary<Fault> = fc.record({
  kind: weighted<FaultKind>([
    ["none", 14],
    ["before", 1],
    ["afterInterim", 1],
    ["midHead", 1],
    ["midBody", 2],
    ["closeAfter", 1],
    ["idleClose", 1],
  ]),
  at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  ms: fc.integer({ min: 0, max: 5 }),
});

const splitArb: fc.Arbitrary<Split> = fc.oneof(
  {
    arbitrary: fc.constant<Split>({ sizes: [], pauses: [], bytewise: false }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      sizes: fc.array(fc.integer({ min: 1, max: 60 }), {
        minLength: 1,
        maxLength: 4,
      }),
      pauses: fc.array(weighted([[0, 3], [1, 3], [2, 1]]), { maxLength: 3 }),
      bytewise: fc.boolean(),
    }),
    weight: 3,
  },
);

const planArb: fc.Arbitrary<Plan> = fc.record({
  interim: fc.oneof(
    { arbitrary: fc.constant<number[]>([]), weight: 4 },
    {
      arbitrary: fc.array(fc.constantFrom(100, 102, 103), {
        minLength: 1,
        maxLength: 2,
      }),
      weight: 1,
    },
  ),
  status: weighted([
    [200, 8],
    [201, 1],
    [204, 1],
    [304, 1],
    [404, 1],
    [500, 1],
  ]),
  reason: weighted<ReasonStyle>([
    ["OK", 4],
    ["space", 1],
    ["none", 1],
    ["long", 1],
  ]),
  version: weighted<"1.0" | "1.1">([["1.1", 5], ["1.0", 1]]),
  framing: weighted<Framing>([["length", 4], ["chunked", 3], ["close", 1]]),
  conn: weighted<ConnField>([["none", 5], ["close", 1], ["keep-alive", 2]]),
  body: genArb(400),
  chunking: chunkingArb,
  pad: weighted([[0, 3], [40, 1], [900, 1]]),
  fault: faultArb,
  split: splitArb,
  delayMs: weighted([[0, 6], [1, 1], [3, 1]]),
  style: fc.oneof(
    {
      arbitrary: fc.constant<Style>({
        lf: false,
        caps: false,
        length: "single",
        list: false,
      }),
      weight: 3,
    },
    {
      arbitrary: fc.record({
        lf: fc.boolean(),
        caps: fc.boolean(),
        length: fc.constantFrom<Style["length"]>("single", "list", "twice"),
        list: fc.boolean(),
      }),
      weight: 1,
    },
  ),
});

const bodyArb: fc.Arbitrary<ReqBody> = fc.oneof(
  { arbitrary: fc.constant<ReqBody>(null), weight: 1 },
  {
    arbitrary: fc.record({
      kind: weighted<"text" | "bytes" | "stream">([
        ["text", 2],
        ["bytes", 2],
        ["stream", 1],
      ]),
      gen: fc.record({
        len: fc.oneof(
          { arbitrary: fc.integer({ min: 0, max: 300 }), weight: 12 },
          { arbitrary: fc.integer({ min: 65_000, max: 200_000 }), weight: 1 },
        ),
        seed: fc.integer(),
      }),
    }),
    weight: 4,
  },
);

const readArb = (kinds: [ReadKind, number][]): fc.Arbitrary<ReadMode> =>
  fc.record({
    kind: weighted(kinds),
    sizes: fc.array(fc.integer({ min: 0, max: 500 }), {
      minLength: 1,
      maxLength: 4,
    }),
  });

const HTTP_READS: [ReadKind, number][] = [
  ["all", 4],
  ["amt", 1],
  ["read1", 1],
  ["readinto", 1],
  ["readline", 1],
  ["iter", 1],
  ["close", 1],
  ["partial", 1],
  ["late", 1],
];

const POOL_READS: [ReadKind, number][] = [...HTTP_READS, ["abort", 1]];

const WEB_READS: [ReadKind, number][] = [
  ["abort", 1],
  ["all", 4],
  ["iter", 2],
  ["close", 1],
  ["partial", 1],
  ["late", 1],
];

const specArb = (reads: [ReadKind, number][]): fc.Arbitrary<Spec> =>
  fc.record({
    method: weighted<Method>([
      ["GET", 5],
      ["HEAD", 2],
      ["POST", 2],
      ["PUT", 1],
      ["DELETE", 1],
      ["OPTIONS", 1],
    ]),
    close: weighted([[false, 6], [true, 1]]),
    body: bodyArb,
    read: readArb(reads),
    plan: planArb,
  }).map((spec) => ({
    ...spec,
    body: spec.method === "POST" || spec.method === "PUT" ? spec.body : null,
  }));

/**
 * A run; about half of them are quiet (no server fault, no early close), so
 * every request in them must succeed.
 */
function runArb(
  reads: [ReadKind, number][],
  pipelining: fc.Arbitrary<number>,
  maxConns: fc.Arbitrary<number>,
): fc.Arbitrary<Run> {
  return fc.record({
    specs: fc.array(specArb(reads), { minLength: 1, maxLength: 8 }),
    groups: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 8 }),
    pipelining,
    maxConns,
    idleMs: weighted([[10_000, 3], [1, 1], [4, 1]]),
    timeouts: fc.boolean(),
    gaps: fc.oneof(
      { arbitrary: fc.constant<number[]>([]), weight: 3 },
      {
        arbitrary: fc.array(weighted([[0, 2], [3, 1], [8, 1]]), {
          minLength: 1,
          maxLength: 3,
        }),
        weight: 1,
      },
    ),
    quiet: fc.boolean(),
  }).map(({ quiet, ...run }) => ({
    ...run,
    specs: quiet
      ? run.specs.map((spec) => ({
        ...spec,
        read: spec.read.kind === "close" || spec.read.kind === "partial" ||
            spec.read.kind === "abort"
          ? { ...spec.read, kind: "all" as const }
          : spec.read,
        plan: { ...spec.plan, fault: NO_FAULT },
      }))
      : run.specs,
  }));
}

/**
 * For HTTPConnection, a caller's `Connection: close` only on the last
 * request, sent alone: like CPython's http.client it looks at the
 * response's Connection only, and sends the next request on the same
 * socket. (The Pool ends the connection after such a request.)
 */
function closeOnlyLast(run: Run): Run {
  const n = run.specs.length;
  const specs = run.specs.map((spec, i) =>
    spec.close && i !== n - 1 ? { ...spec, close: false } : spec
  );
  if (!specs[n - 1]!.close) return { ...run, specs };
  // Groups covering at most the first n - 1 requests: the last goes alone.
  const groups: number[] = [];
  let covered = 0;
  for (const size of run.groups) {
    if (covered + size > n - 1) break;
    groups.push(size);
    covered += size;
  }
  return { ...run, specs, groups };
}

// ---------------------------------------------------------------------------
// Properties

async function property(arb: fc.Arbitrary<Run>, face: Face): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arb, (run) => runOnce(run, face)),
    { numRuns: RUNS, ...seedOption },
  );
  if (STATS !== null) {
    // deno-lint-ignore no-console
    console.log([...STATS].sort());
    STATS.clear();
  }
}

Deno.test("client property: Pool without pipelining gives each caller its own response or a named error", async () => {
  await property(
    runArb(POOL_READS, fc.constant(1), fc.integer({ min: 1, max: 3 })),
    "pool",
  );
});

Deno.test("client property: a pipelining Pool answers in request order, each caller its own", async () => {
  await property(
    runArb(
      POOL_READS,
      fc.integer({ min: 2, max: 4 }),
      fc.integer({ min: 1, max: 2 }),
    ),
    "pool",
  );
});

Deno.test("client property: request() gives a Web Response with the model's status and body, or a named error", async () => {
  await property(
    runArb(
      WEB_READS,
      fc.constantFrom(1, 3),
      fc.integer({ min: 1, max: 2 }),
    ),
    "web",
  );
});

Deno.test("client property: HTTPConnection, one request at a time (Python's deferred read too)", async () => {
  await property(
    runArb(
      [...HTTP_READS, ["deferred", 2]],
      fc.constant(1),
      fc.constant(1),
    ).map(closeOnlyLast).map((run) => ({
      ...run,
      specs: run.specs.map((spec) => {
        return spec;
      }),
    })),
    "conn",
  );
});

// ---------------------------------------------------------------------------
// Counterexamples, as plain regression tests

/** A one-connection server: the script, then every later connection answers "fine". */
function scriptedOnce(
  first: (conn: ServerConn) => Promise<void>,
): CannedServer {
  return cannedServer(async (conn, index) => {
    if (index === 0) await first(conn);
    else await answerEach(ok("fine"))(conn);
  });
}

/** Half-closes, then reads requests until the client closes (staged close). */
async function stagedClose(conn: ServerConn): Promise<void> {
  try {
    await conn.conn.closeWrite();
  } catch { /* gone */ }
  while ((await conn.readRequest()) !== null) { /* discard */ }
}

// Fixed bug: after a response read with Python's deferred pattern (the next
// request sent before the previous response was read) failed, HTTPConnection
// stayed in Request-sent: getresponse() raised ResponseNotReady and every
// request() CannotSendRequest until close(). As CPython, it now closes and
// raises RemoteDisconnected, and the next request reconnects.
Deno.test({
  name:
    "client property: HTTPConnection is not stuck in Request-sent after a deferred response is cut",
  fn: async () => {
    await using server = scriptedOnce(async (conn) => {
      await conn.readRequest();
      await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
      await stagedClose(conn);
    });
    const conn = new HTTPConnection("127.0.0.1", server.port);
    try {
      await conn.request("GET", "/a");
      const a = await conn.getresponse();
      await conn.request("GET", "/b");
      await assert.rejects(a.read(), IncompleteRead);
      await assert.rejects(conn.getresponse(), HTTPException);
      await conn.request("GET", "/c");
      const c = await conn.getresponse();
      assert.equal(c.status, 200);
      assert.equal(new TextDecoder().decode(await c.read()), "fine");
    } finally {
      conn.close();
    }
  },
});

// Fixed bug: with pipelining > 1, aborting a request that waited behind another
// caller's response closed the socket at once, so that caller's read failed
// with RemoteDisconnected although its body had arrived whole. The aborted
// caller still hears at once; the socket closes when its turn comes.
Deno.test({
  name:
    "client property: aborting a pipelined request leaves the response ahead of it, another caller's, whole",
  fn: async () => {
    await using server = cannedServer(answerEach(ok("hello"), ok("world")));
    const pool = new Pool({ pipelining: 2, maxConnectionsPerOrigin: 1 });
    const origin = `http://127.0.0.1:${server.port}`;
    try {
      const controller = new AbortController();
      const first = pool.request(origin, { path: "/a" });
      const second = pool.request(origin, {
        path: "/b",
        signal: controller.signal,
      });
      second.catch(() => {});
      const a = await first;
      assert.equal(a.status, 200);
      controller.abort(new DOMException("b took too long", "AbortError"));
      await assert.rejects(second, { name: "AbortError" });
      // The first caller's response came whole; reading it must work.
      assert.equal(new TextDecoder().decode(await a.read()), "hello");
    } finally {
      pool.close();
    }
  },
});

// Fixed bug: when the server closed a reused connection right after a 1xx head,
// HTTPConnection's retry listed that 1xx as well as the new attempt's in
// informational.
Deno.test({
  name:
    "client property: HTTPConnection's retry drops the 1xx heads of the failed attempt from informational",
  fn: async () => {
    const hint =
      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n";
    await using server = cannedServer(async (conn, index) => {
      if (index === 0) {
        await conn.readRequest();
        await conn.write(ok("first"));
        await conn.readRequest();
        await conn.write(hint);
        await stagedClose(conn);
        return;
      }
      await conn.readRequest();
      await conn.write(hint + ok("fine"));
      while ((await conn.readRequest()) !== null) { /* until closed */ }
    });
    const conn = new HTTPConnection("127.0.0.1", server.port);
    try {
      await conn.request("GET", "/a");
      assert.equal(
        new TextDecoder().decode(await (await conn.getresponse()).read()),
        "first",
      );
      await conn.request("GET", "/b");
      const response = await conn.getresponse();
      assert.equal(new TextDecoder().decode(await response.read()), "fine");
      assert.equal(server.connections, 2);
      assert.deepEqual(response.informational.map((i) => i.status), [103]);
    } finally {
      conn.close();
    }
  },
});

// Fixed bug: a Pool request whose caller set Connection: close did not end its
// connection: the next request went on it and raced the server's close (RFC
// 9112 §9.6: a client that sent close sends nothing more there). Go and undici
// close after such a request, as the Pool now does.
Deno.test({
  name:
    "client property: the Pool does not reuse a connection after a request that said Connection: close",
  fn: async () => {
    // A lenient server that keeps the connection: it counts what it gets.
    const perConnection: number[] = [];
    await using server = cannedServer(async (conn, index) => {
      perConnection[index] = 0;
      while ((await conn.readRequest()) !== null) {
        perConnection[index]!++;
        await conn.write(ok("x"));
      }
    });
    const pool = new Pool({ maxConnectionsPerOrigin: 1 });
    const origin = `http://127.0.0.1:${server.port}`;
    try {
      const a = await pool.request(origin, {
        path: "/a",
        headers: { Connection: "close" },
      });
      assert.equal(new TextDecoder().decode(await a.read()), "x");
      const b = await pool.request(origin, {
        method: "POST",
        path: "/b",
        body: "data",
      });
      assert.equal(new TextDecoder().decode(await b.read()), "x");
      assert.deepEqual(perConnection, [1, 1]);
    } finally {
      pool.close();
    }
  },
});

/*
 * The incremental machinery shared by RequestParser and ResponseParser:
 * buffering, finding the head, and de-framing the body.
 *
 *   state        on                          next state
 *   ───────────  ──────────────────────────  ─────────────────────────────
 *   head         complete head (final)       length | chunk-size | close | end
 *   head         interim head (1xx)          head
 *   length       body bytes counted down     end
 *   chunk-size   size line, size > 0         chunk-data
 *   chunk-size   size line, size = 0         trailers
 *   chunk-data   chunk bytes counted down    chunk-crlf
 *   chunk-crlf   CRLF                        chunk-size
 *   trailers     empty line                  end
 *   close        EOF                         end
 *   end          EndEvent handed out         head | paused
 *   paused       resume()                    head
 *   head         EOF at a message boundary   closed
 */

import { CR, HEX_VALUE, HTAB, LF, quoteInput, SP, TCHAR } from "./_chars.ts";
import {
  extendFoldedField,
  findLf,
  findLineEnd,
  parseFieldLine,
  parseFieldLines,
  scanFieldLine,
  unfold,
} from "./_fields.ts";
import { ProtocolError } from "./errors.ts";
import {
  CLOSED,
  type Closed,
  type DataEvent,
  type EndEvent,
  NEED_DATA,
  type NeedData,
  PAUSED,
  type Paused,
} from "./events.ts";
import type { BodyFraming } from "./framing.ts";
import { FieldList } from "./headers.ts";
import { type Limits, resolveLimits } from "./limits.ts";

type State =
  | "head"
  | "length"
  | "chunk-size"
  | "chunk-data"
  | "chunk-crlf"
  | "trailers"
  | "close"
  | "end"
  | "paused"
  | "closed";

const EMPTY = new Uint8Array(0);
const END_WITHOUT_TRAILERS: EndEvent = Object.freeze({
  kind: "end",
  trailers: null,
});
const MIN_STORE_BYTES = 4096;
const SLAB_BYTES = 64 * 1024;
const SMALL_COPY_BYTES = 64;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

// Copies bytes[start, end) into the shared slab and returns it; the copy
// starts at `slabCopyAt`. A full slab is replaced, never reused: heads handed
// out keep theirs alive. Large heads get their own buffer.
let slabCopyAt = 0;
function copyToSlab(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const length = end - start;
  if (length > SLAB_BYTES >> 3) {
    slabCopyAt = 0;
    return bytes.slice(start, end);
  }
  if (slabUsed + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  if (length <= SMALL_COPY_BYTES) {
    // A byte loop beats creating the typed-array view `set` needs.
    for (let k = 0; k < length; k++) slab[at + k] = bytes[start + k]!;
  } else {
    slab.set(bytes.subarray(start, end), at);
  }
  slabUsed += length;
  slabCopyAt = at;
  return slab;
}

// The content end of the line whose LF is at `lf` (RFC 9112 §2.2: CRLF, or a
// bare LF only where `allowBareLf` says so).
function lineEnd(
  bytes: Uint8Array,
  from: number,
  lf: number,
  allowBareLf: boolean,
): number {
  if (lf > from && bytes[lf - 1] === CR) return lf - 1;
  if (!allowBareLf) {
    throw new ProtocolError(
      "Cannot parse line ending: bare LF without CR",
      "BARE_LF",
    );
  }
  return lf;
}

/**
 * What a subclass makes of one complete head.
 *
 * @internal
 */
export interface ParsedHead<Head> {
  head: Head;
  framing: BodyFraming;
  /** Interim (1xx) heads have no body and no end event. */
  interim: boolean;
  /** Pause after this message: the bytes after it are not HTTP. */
  pauseAfter: boolean;
}

/**
 * The shared incremental parser; subclasses parse the start line and fields.
 *
 * @internal
 */
export abstract class MessageParser<Head> {
  /** The limits in force. */
  readonly limits: Readonly<Limits>;
  readonly #allowBareLf: boolean;
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  #owned = false;
  #eof = false;
  #state: State = "head";
  #remaining = 0;
  #scanFrom = 0;
  // The head being scanned: its start line's end and its fields' offsets,
  // relative to the head's start; whether the values are all ASCII; the
  // first invalid field line's error, thrown once the head is complete.
  #startLineEnd = 0;
  readonly #fieldOffsets: number[] = [];
  #fieldsAscii = true;
  #fieldError: ProtocolError | null = null;
  // The head has obs-fold lines taken into field values (responses).
  #folded = false;
  #pauseAfter = false;
  #trailers: FieldList | null = null;
  // Bytes of interim (1xx) heads since the last final head: they count
  // against maxHeadBytes together, so an endless run of them is an error
  // like one endless head (Go's Transport does the same).
  #interimBytes = 0;

  constructor(limits: Partial<Limits> | undefined, allowBareLf: boolean) {
    this.limits = resolveLimits(limits);
    this.#allowBareLf = allowBareLf;
  }

  /**
   * Parses one complete head's start line and decides its framing.
   *
   * @param bytes Bytes holding a stable copy of the head.
   * @param base Where the head's start line begins in `bytes`.
   * @param startLineEnd Where the start line's content ends in `bytes`.
   * @param headers The head's validated fields.
   */
  protected abstract parseHead(
    bytes: Uint8Array,
    base: number,
    startLineEnd: number,
    headers: FieldList,
  ): ParsedHead<Head>;

  /** Called when a final message ends (the response parser pops its method). */
  protected onMessageEnd(): void {}

  /**
   * Whether an obs-fold line continues the field before it (RFC 9112 §5.2:
   * a user agent unfolds them in responses); else it is an error.
   */
  protected get unfoldsObsFold(): boolean {
    return false;
  }

  /** Whether the parser may see leading empty lines (requests, RFC 9112 §2.2). */
  protected get skipsLeadingEmptyLines(): boolean {
    return true;
  }

  /**
   * Hands the parser more bytes. They are not copied: the parser keeps views
   * of them until `next()` returns need-data, when it copies what is left.
   *
   * @param bytes Bytes read from the peer.
   */
  receive(bytes: Uint8Array): void {
    if (this.#eof) {
      throw new TypeError("Cannot receive bytes after receiveEof()");
    }
    const length = bytes.length;
    if (length === 0) return;
    if (this.#start === this.#end) {
      this.#buf = bytes;
      this.#start = 0;
      this.#end = length;
      this.#owned = false;
      return;
    }
    if (this.#owned && this.#end + length <= this.#buf.length) {
      this.#buf.set(bytes, this.#end);
      this.#end += length;
      return;
    }
    this.#compact(length);
    this.#buf.set(bytes, this.#end);
    this.#end += length;
  }

  /** Tells the parser the peer closed its sending side. */
  receiveEof(): void {
    this.#eof = true;
  }

  /** How many received bytes have not been parsed yet. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** Whether the peer's EOF has been received. */
  get eofReceived(): boolean {
    return this.#eof;
  }

  /**
   * Takes the bytes received but not parsed (a copy), e.g. to hand an
   * upgraded connection to a WebSocket or tunnel implementation.
   *
   * @returns The unparsed bytes.
   */
  takeBuffered(): Uint8Array {
    const rest = this.#buf.slice(this.#start, this.#end);
    this.#buf = EMPTY;
    this.#start = this.#end = 0;
    this.#owned = false;
    return rest;
  }

  /**
   * Frees the working memory kept from the last head (its field offsets),
   * for a parser that may wait a long time for the next one: an idle
   * keep-alive connection. The next head allocates it again. A head in
   * progress keeps it.
   */
  releaseScratch(): void {
    if (this.#scanFrom === 0) this.#fieldOffsets.length = 0;
  }

  /** Continues parsing HTTP after a pause (e.g. an Upgrade the server declined). */
  resume(): void {
    if (this.#state === "paused") this.#state = "head";
  }

  // Makes room for `extra` more bytes in storage the parser owns. Storage that
  // views were handed out from is never overwritten: it is replaced.
  #compact(extra: number): void {
    const pending = this.#end - this.#start;
    const store = new Uint8Array(
      Math.max(MIN_STORE_BYTES, (pending + extra) * 2),
    );
    store.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = store;
    this.#start = 0;
    this.#end = pending;
    this.#owned = true;
  }

  #needData(): NeedData {
    if (this.#start === this.#end) {
      // Nothing pending: hold no reference to the caller's (or our) bytes
      // while the connection idles.
      this.#buf = EMPTY;
      this.#start = this.#end = 0;
      this.#owned = false;
    } else if (!this.#owned) this.#compact(0);
    return NEED_DATA;
  }

  #unexpectedEof(what: string): never {
    throw new ProtocolError(
      `Cannot finish the message: connection closed ${what}`,
      "UNEXPECTED_EOF",
    );
  }

  /**
   * Parses as far as the bytes allow and returns the next event.
   *
   * @returns A head, data or end event, or need-data, paused or closed.
   */
  next(): Head | DataEvent | EndEvent | NeedData | Paused | Closed {
    switch (this.#state) {
      case "head":
        return this.#nextHead();
      case "length":
        return this.#nextCounted("end");
      case "chunk-data":
        return this.#nextCounted("chunk-crlf");
      case "chunk-size":
        return this.#nextChunkSize();
      case "chunk-crlf":
        return this.#nextChunkCrlf();
      case "trailers":
        return this.#nextTrailers();
      case "close":
        return this.#nextCloseDelimited();
      case "end":
        return this.#endMessage();
      case "paused":
        return PAUSED;
      case "closed":
        return CLOSED;
    }
  }

  #endMessage(): EndEvent {
    const trailers = this.#trailers;
    this.#trailers = null;
    this.#state = this.#pauseAfter ? "paused" : "head";
    this.onMessageEnd();
    return trailers === null ? END_WITHOUT_TRAILERS : { kind: "end", trailers };
  }

  #nextHead(): Head | EndEvent | NeedData | Paused | Closed {
    const buf = this.#buf;
    const end = this.#end;
    let start = this.#start;
    if (this.#scanFrom === 0 && this.skipsLeadingEmptyLines) {
      // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before
      // the request line. We ignore any number within the head limit.
      while (start < end && (buf[start] === CR || buf[start] === LF)) {
        if (buf[start] === LF) {
          if (!this.#allowBareLf) findLineEnd(buf, start, end, false);
          start++;
        } else if (start + 1 === end) {
          break;
        } else if (buf[start + 1] === LF) {
          start += 2;
        } else {
          throw new ProtocolError(
            "Cannot parse the start line: bare CR",
            "BARE_CR",
          );
        }
      }
      this.#start = start;
    }
    if (start === end) {
      if (this.#eof) {
        this.#state = "closed";
        return CLOSED;
      }
      return this.#needData();
    }
    // Find the empty line that ends the head, resuming where the last scan
    // stopped. Field lines are parsed on the way (one pass over the bytes);
    // an invalid one is remembered and thrown once the head is complete, so
    // errors come in the same order as parsing the whole head would give.
    const limits = this.limits;
    const scanLimit = Math.min(end, start + limits.maxHeadBytes);
    const allowBareLf = this.#allowBareLf;
    const offsets = this.#fieldOffsets;
    let lineStart = start + this.#scanFrom;
    if (lineStart === start) {
      offsets.length = 0;
      this.#fieldsAscii = true;
      this.#fieldError = null;
      this.#folded = false;
      const lf = findLf(buf, start, scanLimit);
      if (lf === -1) return this.#partialHead(start, end, start);
      this.#startLineEnd = lineEnd(buf, start, lf, allowBareLf) - start;
      lineStart = lf + 1;
    }
    let headEnd = -1;
    while (lineStart < scanLimit) {
      const first = buf[lineStart];
      if (first === CR && lineStart + 1 < scanLimit) {
        if (buf[lineStart + 1] === LF) {
          headEnd = lineStart + 2;
          break;
        }
      } else if (first === LF) {
        lineEnd(buf, lineStart, lineStart, allowBareLf);
        headEnd = lineStart + 1;
        break;
      }
      const next = scanFieldLine(
        buf,
        lineStart,
        scanLimit,
        allowBareLf,
        offsets,
        start,
      );
      if (next >= 0) {
        lineStart = next;
      } else if (next < -1) {
        this.#fieldsAscii = false;
        lineStart = -next - 1;
      } else {
        // Not a plain valid line: find its end, then let the full parser
        // say what is wrong with it (or accept it).
        const lf = findLf(buf, lineStart, scanLimit);
        if (lf === -1) break;
        const contentEnd = lineEnd(buf, lineStart, lf, allowBareLf);
        if (this.#fieldError === null) {
          try {
            const fold = buf[lineStart] === SP || buf[lineStart] === HTAB;
            if (fold && this.unfoldsObsFold) {
              this.#folded = true;
              if (
                !extendFoldedField(buf, lineStart, contentEnd, offsets, start)
              ) this.#fieldsAscii = false;
            } else if (
              !parseFieldLine(buf, lineStart, contentEnd, offsets, start)
            ) {
              this.#fieldsAscii = false;
            }
          } catch (error) {
            if (!(error instanceof ProtocolError)) throw error;
            this.#fieldError = error;
          }
        }
        lineStart = lf + 1;
      }
      if (
        offsets.length > limits.maxHeaderCount * 4 && this.#fieldError === null
      ) {
        this.#fieldError = new ProtocolError(
          `Cannot accept more than ${limits.maxHeaderCount} header fields`,
          "TOO_MANY_HEADERS",
          431,
        );
      }
    }
    if (headEnd === -1) return this.#partialHead(start, end, lineStart);
    this.#scanFrom = 0;
    this.#start = headEnd;
    if (this.#startLineEnd > limits.maxStartLineBytes) {
      this.#startLineTooLong();
    }
    if (this.#fieldError !== null) throw this.#fieldError;
    // Heads outlive the caller's buffer (FieldList decodes lazily), so copy
    // them: into a shared slab, since a fresh ArrayBuffer per head costs more
    // than parsing it.
    const headBytes = copyToSlab(buf, start, headEnd);
    const base = slabCopyAt;
    const fieldOffsets = offsets.slice();
    for (let k = 0; k < fieldOffsets.length; k++) fieldOffsets[k]! += base;
    if (this.#folded) unfold(headBytes, fieldOffsets);
    const parsed = this.parseHead(
      headBytes,
      base,
      base + this.#startLineEnd,
      new FieldList(headBytes, fieldOffsets, this.#fieldsAscii),
    );
    if (parsed.interim) {
      this.#interimBytes += headEnd - start;
      if (this.#interimBytes > limits.maxHeadBytes) {
        throw new ProtocolError(
          `Cannot accept more than ${limits.maxHeadBytes} bytes of interim (1xx) responses before the final one`,
          "TOO_MANY_INTERIM_RESPONSES",
        );
      }
      return parsed.head;
    }
    this.#interimBytes = 0;
    this.#pauseAfter = parsed.pauseAfter;
    const framing = parsed.framing;
    switch (framing.kind) {
      case "none":
        this.#state = "end";
        break;
      case "length":
        this.#remaining = framing.length;
        this.#state = framing.length === 0 ? "end" : "length";
        break;
      case "chunked":
        this.#state = "chunk-size";
        break;
      case "close":
        this.#state = "close";
        break;
    }
    return parsed.head;
  }

  // The head is not complete yet: check the limits, remember where the scan
  // stopped, and ask for more bytes.
  #partialHead(start: number, end: number, lineStart: number): NeedData {
    this.#checkPartialHead(start, end, lineStart);
    this.#scanFrom = lineStart - start;
    if (this.#eof) this.#unexpectedEof("inside the head");
    return this.#needData();
  }

  #checkPartialHead(
    start: number,
    end: number,
    lineStart: number,
  ): void {
    const limits = this.limits;
    if (lineStart === start && end - start > limits.maxStartLineBytes + 1) {
      this.#startLineTooLong();
    }
    if (end - start >= limits.maxHeadBytes) {
      throw new ProtocolError(
        `Cannot accept a head larger than ${limits.maxHeadBytes} bytes`,
        "HEAD_TOO_LARGE",
        431,
      );
    }
  }

  /** Throws the start-line limit error; subclasses pick the status. */
  protected startLineTooLongStatus(): 400 | 414 {
    return 414;
  }

  #startLineTooLong(): never {
    const status = this.startLineTooLongStatus();
    throw new ProtocolError(
      `Cannot accept a start line longer than ${this.limits.maxStartLineBytes} bytes`,
      "START_LINE_TOO_LONG",
      status,
    );
  }

  #nextCounted(
    after: "end" | "chunk-crlf",
  ): DataEvent | EndEvent | NeedData {
    const available = this.#end - this.#start;
    if (available === 0) {
      if (this.#eof) {
        this.#unexpectedEof(
          `with ${this.#remaining} body bytes still expected`,
        );
      }
      return this.#needData();
    }
    const take = available < this.#remaining ? available : this.#remaining;
    const data = this.#buf.subarray(this.#start, this.#start + take);
    this.#start += take;
    this.#remaining -= take;
    if (this.#remaining === 0) this.#state = after;
    return { kind: "data", data };
  }

  #nextChunkSize(): DataEvent | EndEvent | NeedData {
    const buf = this.#buf;
    const start = this.#start;
    const max = this.limits.maxChunkLineBytes;
    const line = findLineEnd(
      buf,
      start,
      Math.min(this.#end, start + max + 2),
      this.#allowBareLf,
    );
    if (line === null) {
      if (this.#end - start > max + 1) {
        throw new ProtocolError(
          `Cannot accept a chunk-size line longer than ${max} bytes`,
          "CHUNK_LINE_TOO_LONG",
        );
      }
      if (this.#eof) this.#unexpectedEof("inside a chunk-size line");
      return this.#needData();
    }
    const [lineEnd, next] = line;
    // RFC 9112 §7.1: chunk-size = 1*HEXDIG; guard against overflow.
    let size = 0;
    let i = start;
    for (; i < lineEnd; i++) {
      const v = HEX_VALUE[buf[i]!]!;
      if (v === 0) break;
      if (size > (Number.MAX_SAFE_INTEGER - (v - 1)) / 16) {
        throw new ProtocolError(
          `Cannot parse chunk size ${
            quoteInput(buf, start, lineEnd)
          }: too large`,
          "BAD_CHUNK",
        );
      }
      size = size * 16 + (v - 1);
    }
    if (i === start) {
      throw new ProtocolError(
        `Cannot parse chunk size ${quoteInput(buf, start, lineEnd)}: not hex`,
        "BAD_CHUNK",
      );
    }
    // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name
    // [ BWS "=" BWS chunk-ext-val ] ), name a token, value a token or a
    // quoted-string. Extensions are ignored, but only well-formed ones are
    // accepted (llhttp refuses the rest too; "5 " is not a chunk size).
    const bad = chunkExtensionError(buf, i, lineEnd);
    if (bad !== null) {
      throw new ProtocolError(
        `Cannot parse chunk size line ${
          quoteInput(buf, start, lineEnd)
        }: ${bad}`,
        buf.subarray(i, lineEnd).includes(CR) ? "BARE_CR" : "BAD_CHUNK",
      );
    }
    this.#start = next;
    if (size === 0) {
      this.#state = "trailers";
      return this.#nextTrailers();
    }
    this.#remaining = size;
    this.#state = "chunk-data";
    return this.#nextCounted("chunk-crlf");
  }

  #nextChunkCrlf(): DataEvent | EndEvent | NeedData {
    const buf = this.#buf;
    const start = this.#start;
    const available = this.#end - start;
    if (available >= 1 && buf[start] === LF && this.#allowBareLf) {
      this.#start = start + 1;
    } else if (available >= 2) {
      if (buf[start] !== CR || buf[start + 1] !== LF) {
        throw new ProtocolError(
          `Cannot parse chunk: data not followed by CRLF but ${
            quoteInput(buf, start, start + 2)
          }`,
          "BAD_CHUNK",
        );
      }
      this.#start = start + 2;
    } else {
      if (available === 1 && buf[start] !== CR) {
        throw new ProtocolError(
          "Cannot parse chunk: data not followed by CRLF",
          "BAD_CHUNK",
        );
      }
      if (this.#eof) this.#unexpectedEof("after chunk data");
      return this.#needData();
    }
    this.#state = "chunk-size";
    return this.#nextChunkSize();
  }

  #nextTrailers(): EndEvent | NeedData {
    const buf = this.#buf;
    const start = this.#start;
    const max = this.limits.maxTrailerBytes;
    const scanLimit = Math.min(this.#end, start + max);
    let lineStart = start;
    let sectionEnd = -1;
    for (;;) {
      const line = findLineEnd(buf, lineStart, scanLimit, this.#allowBareLf);
      if (line === null) break;
      if (line[0] === lineStart) {
        sectionEnd = line[1];
        break;
      }
      lineStart = line[1];
    }
    if (sectionEnd === -1) {
      if (this.#end - start >= max) {
        throw new ProtocolError(
          `Cannot accept trailers larger than ${max} bytes`,
          "TRAILERS_TOO_LARGE",
          431,
        );
      }
      if (this.#eof) this.#unexpectedEof("inside the trailers");
      return this.#needData();
    }
    this.#start = sectionEnd;
    if (lineStart !== start) {
      const section = buf.slice(start, sectionEnd);
      const offsets: number[] = [];
      const ascii = parseFieldLines(
        section,
        0,
        section.length,
        this.limits.maxHeaderCount,
        this.#allowBareLf,
        offsets,
        this.unfoldsObsFold,
      );
      this.#trailers = new FieldList(section, offsets, ascii);
    }
    return this.#endMessage();
  }

  #nextCloseDelimited(): DataEvent | EndEvent | NeedData {
    const start = this.#start;
    if (start < this.#end) {
      const data = this.#buf.subarray(start, this.#end);
      this.#start = this.#end;
      return { kind: "data", data };
    }
    if (this.#eof) return this.#endMessage();
    return this.#needData();
  }
}

// Why the chunk extensions in buf[from..end) break RFC 9112 §7.1.1, or null.
function chunkExtensionError(
  buf: Uint8Array,
  from: number,
  end: number,
): string | null {
  let i = from;
  const skipBws = () => {
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  };
  while (i < end) {
    skipBws();
    if (i === end) return "whitespace without an extension after it";
    if (buf[i] !== 0x3b /* ";" */) return "unexpected character";
    i++;
    skipBws();
    const name = i;
    while (i < end && TCHAR[buf[i]!] === 1) i++;
    if (i === name) return "extension without a name";
    const afterName = i;
    skipBws();
    if (i < end && buf[i] === 0x3d /* "=" */) {
      i++;
      skipBws();
      if (i < end && buf[i] === 0x22 /* DQUOTE */) {
        i++;
        for (;;) {
          if (i >= end) return "unterminated quoted-string";
          const b = buf[i]!;
          if (b === 0x22) break;
          if (b === 0x5c /* "\\" */) i++;
          else if ((b < 0x20 && b !== HTAB) || b === 0x7f) {
            return "control character in a quoted-string";
          }
          i++;
        }
        i++;
      } else {
        const value = i;
        while (i < end && TCHAR[buf[i]!] === 1) i++;
        if (i === value) {
          return "extension value that is neither a token nor a quoted-string";
        }
      }
    } else {
      i = afterName;
    }
  }
  return null;
}

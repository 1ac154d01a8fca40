/*
 * Ordered, fire-and-forget text output to a writer such as Deno.stderr, for
 * debug lines and traces. Writes are chained so lines never interleave, and
 * short writes are looped. Errors are dropped: diagnostics must never break
 * the exchange they describe. Internal to client/.
 */

/** Anything with `write(p)`, such as `Deno.stderr` or a `Deno.FsFile`. */
export interface ByteWriter {
  /** Writes some of `p`; resolves to how many bytes were taken. */
  write(p: Uint8Array): Promise<number> | number;
}

const encoder = new TextEncoder();

/** Chains writes of text to one writer. */
export class LineSink {
  readonly #writer: ByteWriter;
  #tail: Promise<void> = Promise.resolve();

  /**
   * Creates a new `LineSink`.
   *
   * @param writer Where the text goes.
   */
  constructor(writer: ByteWriter) {
    this.#writer = writer;
  }

  /**
   * Queues text for writing.
   *
   * @param text The text, newline included.
   */
  write(text: string): void {
    const bytes = encoder.encode(text);
    this.#tail = this.#tail.then(async () => {
      let at = 0;
      while (at < bytes.length) {
        at += await this.#writer.write(bytes.subarray(at));
      }
    }).catch(() => {});
  }

  /** Resolves once everything queued so far is written. */
  flush(): Promise<void> {
    return this.#tail;
  }
}

/**
 * Python's repr() of a bytes object: b'GET / HTTP/1.1\r\n…'.
 *
 * @param bytes The bytes.
 * @param max Show at most this many bytes, then "...".
 * @returns The repr.
 */
export function pyBytesRepr(bytes: Uint8Array, max = 4096): string {
  let out = "b'";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0x5c) out += "\\\\";
    else if (b === 0x27) out += "\\'";
    else if (b === 0x0d) out += "\\r";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x09) out += "\\t";
    else if (b < 0x20 || b >= 0x7f) {
      out += "\\x" + b.toString(16).padStart(2, "0");
    } else out += String.fromCharCode(b);
  }
  return out + "'" + (bytes.length > n ? "..." : "");
}

/**
 * Python's repr() of a str: quoted, with \r and \n escaped.
 *
 * @param text The text.
 * @returns The repr.
 */
export function pyStrRepr(text: string): string {
  const body = text.replace(/\\/g, "\\\\").replace(/\r/g, "\\r").replace(
    /\n/g,
    "\\n",
  ).replace(/\t/g, "\\t");
  return body.includes("'") && !body.includes('"')
    ? `"${body}"`
    : `'${body.replace(/'/g, "\\'")}'`;
}

/**
 * Python's `set_debuglevel` lines for a response head: `reply:` with the
 * status line, then one `header:` line per field.
 *
 * @param head The status line's parts and the fields.
 * @returns The lines, each ending in a newline.
 */
export function debugReplyText(head: {
  version: string;
  status: number;
  reason: string;
  headers: Iterable<readonly [string, string]>;
}): string {
  let text = `reply: ${
    pyStrRepr(`${head.version} ${head.status} ${head.reason}\r\n`)
  }\n`;
  for (const [name, value] of head.headers) {
    text += `header: ${name}: ${value}\n`;
  }
  return text;
}

/**
 * Decodes bytes as Latin-1, one character per byte.
 *
 * @param bytes The bytes.
 * @returns The text.
 */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

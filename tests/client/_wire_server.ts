// A scripted raw TCP server for client tests: each connection runs a
// script that reads whole requests and writes canned bytes, and everything
// the client sent is kept, per connection, in `wire` (Latin-1 text). Shared
// by the tests that compare HTTPConnection with CPython's http.client.

import { bytes, text } from "../_util.ts";

/** The server side of one connection; everything read is kept in `wire`. */
export class WireConn {
  readonly conn: Deno.Conn;
  readonly #wire: string[];
  readonly #index: number;
  #buf = "";
  #eof = false;
  #reading: Promise<boolean> | null = null;

  constructor(conn: Deno.Conn, wire: string[], index: number) {
    this.conn = conn;
    this.#wire = wire;
    this.#index = index;
  }

  // One read (shared by whoever waits for it); false at EOF or error.
  #fill(): Promise<boolean> {
    if (this.#eof) return Promise.resolve(false);
    return this.#reading ??= (async () => {
      const chunk = new Uint8Array(65536);
      let n: number | null = null;
      try {
        n = await this.conn.read(chunk);
      } catch { /* reset or closed */ }
      this.#reading = null;
      if (n === null) {
        this.#eof = true;
        return false;
      }
      const s = text(chunk.subarray(0, n));
      this.#buf += s;
      this.#wire[this.#index] += s;
      return true;
    })();
  }

  async #until(pred: () => number): Promise<number> {
    let at: number;
    while ((at = pred()) === -1) if (!(await this.#fill())) return -1;
    return at;
  }

  /** One whole request (head, then a Content-Length or chunked body), or null. */
  async request(): Promise<string | null> {
    const end = await this.#until(() => this.#buf.indexOf("\r\n\r\n"));
    if (end === -1) return null;
    let at = end + 4;
    const head = this.#buf.slice(0, at);
    const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
      for (;;) {
        const lineEnd = await this.#until(() => this.#buf.indexOf("\r\n", at));
        if (lineEnd === -1) break;
        const size = parseInt(this.#buf.slice(at, lineEnd), 16);
        at = lineEnd + 2;
        if (size === 0 || Number.isNaN(size)) {
          const from = at;
          const t = await this.#until(() =>
            this.#buf.startsWith("\r\n", from)
              ? from
              : this.#buf.indexOf("\r\n\r\n", from)
          );
          at = t === from ? from + 2 : t + 4;
          break;
        }
        const need = at + size + 2;
        await this.#until(() => this.#buf.length >= need ? need : -1);
        at = need;
      }
    } else if (cl !== null) {
      const need = at + Number(cl[1]);
      await this.#until(() => this.#buf.length >= need ? need : -1);
      at = need;
    }
    const out = this.#buf.slice(0, at);
    this.#buf = this.#buf.slice(at);
    return out;
  }

  /** Records what comes until the client closes or `ms` pass. */
  async drain(ms = 2000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = new Promise<false>((r) => timer = setTimeout(r, ms, false));
    while (await Promise.race([this.#fill(), stop]));
    clearTimeout(timer);
  }

  /** Writes Latin-1 text. */
  async write(s: string): Promise<void> {
    const data = bytes(s);
    let at = 0;
    try {
      while (at < data.length) at += await this.conn.write(data.subarray(at));
    } catch { /* client gone */ }
  }

  /** Sends FIN but keeps reading (no reset for what the client sends next). */
  async closeWrite(): Promise<void> {
    try {
      await (this.conn as Deno.TcpConn).closeWrite();
    } catch { /* closed */ }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** What one connection does. */
export type Script = (c: WireConn, index: number) => Promise<void>;

/** The listener; `close()` lets scripts finish (up to 500 ms), then cuts. */
export class WireServer {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly wire: string[] = [];
  readonly #tasks = new Set<Promise<void>>();
  readonly #conns = new Set<WireConn>();
  readonly #loop: Promise<void>;

  constructor(script: Script) {
    this.#loop = (async () => {
      for await (const conn of this.listener) {
        const index = this.wire.length;
        this.wire.push("");
        const c = new WireConn(conn, this.wire, index);
        this.#conns.add(c);
        const task: Promise<void> = script(c, index).catch(() => {
          // The test looks at the wire.
        }).finally(() => {
          c.close();
          this.#conns.delete(c);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    })().catch(() => {});
  }

  get port(): number {
    return this.listener.addr.port;
  }

  /** Wire text per connection, the port replaced by PORT. */
  normalized(): string[] {
    // Only where it is a port (":<port>"): a number the test generated may
    // equal it by chance.
    const port = new RegExp(`:${this.port}(?![0-9])`, "g");
    return this.wire.map((w) => w.replace(port, ":PORT"));
  }

  async close(): Promise<void> {
    try {
      this.listener.close();
    } catch { /* closed */ }
    // Let each script record what is still in flight (the client has closed
    // its end, so reads reach EOF), then cut what is left.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...this.#tasks]),
      new Promise((r) => timer = setTimeout(r, 500)),
    ]);
    clearTimeout(timer);
    for (const c of this.#conns) c.close();
    await this.#loop;
    await Promise.all([...this.#tasks]);
  }
}

/** Answers each request on a connection with the next response (the last repeats). */
export function answer(...responses: string[]): Script {
  return async (c) => {
    for (let i = 0;; i++) {
      if ((await c.request()) === null) return;
      await c.write(responses[Math.min(i, responses.length - 1)]!);
    }
  };
}

/** Reads one request, writes `bytes`, closes. */
export function once(bytes: string): Script {
  return async (c) => {
    if ((await c.request()) === null) return;
    await c.write(bytes);
  };
}

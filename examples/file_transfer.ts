// deno-lint-ignore-file no-console
/**
 * File transfer over HTTP with constant memory: a server that stores
 * uploads and serves them back, and an uploader and downloader on h1's
 * client. Bodies stream from disk to socket and back in 64 KiB pieces and are
 * hashed on the way (SHA-256), so a 10 GB file costs what a 10 KB one does.
 *
 * Serve a directory (created if missing):
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:8000 --allow-read=./files --allow-write=./files \
 *   examples/file_transfer.ts serve --dir ./files --port 8000
 * ```
 *
 * Upload a file, then download it again:
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:8000 --allow-read=big.iso \
 *   examples/file_transfer.ts upload big.iso --url http://127.0.0.1:8000/files/big.iso
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:8000 --allow-read=. --allow-write=. \
 *   examples/file_transfer.ts download big.iso --url http://127.0.0.1:8000 --out copy.iso
 * ```
 *
 * - `PUT /files/:name` streams the body into a temporary file in the
 *   directory while hashing it, then renames it into place (a broken upload
 *   never replaces a good file) and answers `X-Sha256`.
 * - `GET /files/:name` streams the file back with `Content-Length` and
 *   `X-Sha256` (hashed once, then remembered until the file changes).
 * - `upload` and `download` draw a progress bar on stderr when it is a
 *   terminal, print one line with bytes, MB/s and sha256, and compare their
 *   own sha256 with the server's `X-Sha256`: on a mismatch they exit 1.
 *   `download` writes a temporary file next to `--out` and renames it over
 *   `--out` only when the file is whole and its sha256 matches, so it needs
 *   `--allow-read` and `--allow-write` for that directory (Deno's rename asks
 *   for both); a failed download leaves `--out` as it was.
 *
 * `upload FILE --url http://host:port/` (or `.../files/`) uses the file's
 * name; `download NAME --url http://host:port` fetches `/files/NAME`, and
 * `download --url http://host:port/files/NAME` works too; `--out` defaults
 * to NAME. With `--port 0` the OS picks a port; allow it with
 * `--allow-net=127.0.0.1`.
 *
 * @module
 */

// crypto.subtle.digest() takes the whole message at once (no streaming
// digest in Web Crypto), which would mean buffering the file; node:crypto's
// createHash() takes it piece by piece in constant memory.
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "../client/pool.ts";
import { request } from "../client/request.ts";
import { NetError, toNetError } from "../net/errors.ts";
import { Router } from "../server/router.ts";
import { serve } from "../server/serve.ts";

const USAGE = `Usage:
  file_transfer.ts serve --dir DIR [--port 8000] [--hostname 127.0.0.1]
  file_transfer.ts upload FILE --url http://127.0.0.1:8000/files/NAME
  file_transfer.ts download [NAME] --url http://127.0.0.1:8000[/files/NAME] [--out FILE]`;

// File names the server accepts: no path separators, no leading dot (its
// temporary files start with one), at most 255 bytes like most file systems.
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const CONNECT_TIMEOUT_MS = 5_000;
// Time without a single byte of response body before a download gives up.
const BODY_IDLE_TIMEOUT_MS = 30_000;
const encoder = new TextEncoder();

// ---------------------------------------------------------------- server

/** What we know about a stored file's content, valid while it is unchanged. */
interface Digest {
  ino: number | null;
  size: number;
  mtimeMs: number | null;
  sha256: string;
}

async function serveFiles(
  dir: string,
  hostname: string,
  port: number,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const digests = new Map<string, Digest>();
  const app = new Router()
    .put("/files/:name", async (ctx) => {
      const name = ctx.params.name!;
      if (!NAME.test(name)) return badName(name);
      return await receive(dir, name, ctx.req.body, digests);
    })
    .get("/files/:name", async (ctx) => {
      const name = ctx.params.name!;
      if (!NAME.test(name)) return badName(name);
      return await send(dir, name, digests);
    });
  const startServer = () =>
    serve({
      hostname,
      port,
      limits: {
        // Bodies go straight to disk, so the only size limit is the disk's.
        maxBodyBytes: Number.MAX_SAFE_INTEGER,
        // One hour for a whole upload (the default five minutes is short for
        // gigabytes on a slow link).
        requestTimeoutMs: 3_600_000,
      },
      onListen(addr) {
        console.log(`Listening on http://${addr.hostname}:${addr.port}/`);
        console.log(`Storing files in ${dir}`);
      },
    }, app.fetch);
  let server;
  try {
    server = startServer();
  } catch (error) {
    // Port in use, no permission: the typed error says what to do.
    throw toNetError(error, { hostname, port });
  }
  const stop = () => void server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}

async function receive(
  dir: string,
  name: string,
  body: ReadableStream<Uint8Array> | null,
  digests: Map<string, Digest>,
): Promise<Response> {
  const path = join(dir, name);
  // Write next to the target and rename when complete: the rename is atomic,
  // so readers see the old file or the new one, never half of it.
  const temp = join(dir, `.${name}.${crypto.randomUUID()}.part`);
  const hash = createHash("sha256");
  let bytes = 0;
  const file = await Deno.open(temp, { write: true, createNew: true });
  try {
    const source = body ?? ReadableStream.from<Uint8Array>([]);
    await source
      .pipeThrough(tap((chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
      }))
      .pipeTo(file.writable); // closes the file when done
  } catch (error) {
    closeQuietly(file);
    await Deno.remove(temp).catch(() => {});
    console.log(`PUT ${name} failed after ${bytes} bytes: ${message(error)}`);
    return text(400, `Cannot store "${name}": the upload broke off`);
  }
  const sha256 = hash.digest("hex");
  const replaced = await Deno.stat(path).then(() => true, () => false);
  // rename() keeps the inode, so the stat of the temporary file still
  // identifies the content under its new name.
  const info = await Deno.stat(temp);
  await Deno.rename(temp, path);
  digests.set(name, digestOf(info, sha256));
  console.log(`PUT ${name} ${bytes} bytes sha256 ${sha256}`);
  return Response.json({ name, bytes, sha256 }, {
    status: replaced ? 200 : 201,
    headers: { "x-sha256": sha256 },
  });
}

async function send(
  dir: string,
  name: string,
  digests: Map<string, Digest>,
): Promise<Response> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(dir, name));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return text(404, `No file "${name}"`);
    }
    throw error;
  }
  try {
    const info = await file.stat();
    if (!info.isFile) {
      file.close();
      return text(404, `No file "${name}"`);
    }
    let sha256 = cachedSha256(digests.get(name), info);
    if (sha256 === null) {
      // The header goes before the body, so hash first (one extra read of
      // the file, still constant memory) and remember the answer.
      sha256 = await hashFile(file);
      await file.seek(0, Deno.SeekMode.Start);
      digests.set(name, digestOf(info, sha256));
    }
    console.log(`GET ${name} ${info.size} bytes`);
    return new Response(file.readable, {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(info.size),
        "x-sha256": sha256,
      },
    });
  } catch (error) {
    closeQuietly(file);
    throw error;
  }
}

function digestOf(info: Deno.FileInfo, sha256: string): Digest {
  return {
    ino: info.ino,
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? null,
    sha256,
  };
}

function cachedSha256(
  digest: Digest | undefined,
  info: Deno.FileInfo,
): string | null {
  if (digest === undefined || digest.mtimeMs === null) return null;
  const same = digest.ino === info.ino && digest.size === info.size &&
    digest.mtimeMs === (info.mtime?.getTime() ?? null);
  return same ? digest.sha256 : null;
}

async function hashFile(file: Deno.FsFile): Promise<string> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(64 * 1024);
  for (let n; (n = await file.read(buffer)) !== null;) {
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

function badName(name: string): Response {
  return text(
    400,
    `Cannot use file name "${
      name.slice(0, 64)
    }": use letters, digits, ".", "_" and "-", not starting with "."`,
  );
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain;charset=UTF-8" },
  });
}

// ---------------------------------------------------------------- client

async function upload(path: string, url: URL): Promise<number> {
  const file = await Deno.open(path);
  const { size } = await file.stat();
  const hash = createHash("sha256");
  const progress = new Progress("Uploading", size);
  // file.readable reads 64 KiB at a time and closes the file at its end; the
  // client writes each piece before pulling the next (backpressure).
  const body = file.readable.pipeThrough(tap((chunk) => {
    hash.update(chunk);
    progress.add(chunk.length);
  }));
  using pool = new Pool({ connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const response = await request(url, {
    method: "PUT",
    body,
    headers: {
      "content-type": "application/octet-stream",
      // Sent as is rather than chunked, so the server can refuse early.
      "content-length": String(size),
    },
    pool,
  });
  const reply = await response.text();
  const seconds = progress.finish();
  if (!response.ok) {
    console.error(
      `Cannot upload ${path}: the server answered ${response.status} ${response.statusText}: ${reply.trim()}`,
    );
    return 1;
  }
  const sha256 = hash.digest("hex");
  console.log(summary("Uploaded", progress.bytes, seconds, sha256));
  return verify(sha256, response.headers.get("x-sha256"), url);
}

async function download(url: URL, out: string): Promise<number> {
  using pool = new Pool({ connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const response = await request(url, {
    pool,
    bodyTimeoutMs: BODY_IDLE_TIMEOUT_MS,
  });
  if (response.status !== 200) {
    const reply = await response.text();
    console.error(
      `Cannot download ${url}: the server answered ${response.status} ${response.statusText}: ${reply.trim()}`,
    );
    return 1;
  }
  const length = response.headers.get("content-length");
  const hash = createHash("sha256");
  const progress = new Progress(
    "Downloading",
    length === null ? null : Number(length),
  );
  // Into a temporary file next to OUT, renamed over it only once the whole
  // file arrived and its SHA-256 matched: a failed download leaves what was
  // at OUT before (or nothing), never a cut or corrupt file under its name.
  const temp = join(
    dirname(out),
    `.${basename(out)}.${crypto.randomUUID()}.part`,
  );
  const file = await Deno.open(temp, { write: true, createNew: true });
  try {
    const source = response.body ?? ReadableStream.from<Uint8Array>([]);
    await source
      .pipeThrough(tap((chunk) => {
        hash.update(chunk);
        progress.add(chunk.length);
      }))
      .pipeTo(file.writable); // closes the file when done
  } catch (error) {
    closeQuietly(file);
    await Deno.remove(temp).catch(() => {});
    progress.finish();
    console.error(`Cannot download ${url}: ${message(error)}`);
    return 1;
  }
  const seconds = progress.finish();
  const sha256 = hash.digest("hex");
  console.log(summary("Downloaded", progress.bytes, seconds, sha256));
  const code = verify(sha256, response.headers.get("x-sha256"), url);
  if (code !== 0) {
    await Deno.remove(temp);
    console.error(`Discarded the download; ${out} is unchanged`);
    return code;
  }
  await Deno.rename(temp, out);
  return 0;
}

function verify(sha256: string, expected: string | null, url: URL): number {
  if (expected === null) {
    console.error(`Cannot verify ${url}: the server sent no X-Sha256`);
    return 1;
  }
  if (expected.toLowerCase() !== sha256) {
    console.error(
      `Cannot verify ${url}: sha256 ${sha256} differs from the server's X-Sha256 ${expected}`,
    );
    return 1;
  }
  console.log("Verified: sha256 matches the server's X-Sha256");
  return 0;
}

function summary(
  verb: string,
  bytes: number,
  seconds: number,
  sha256: string,
): string {
  const rate = bytes / 1e6 / Math.max(seconds, 1e-6);
  return `${verb} ${bytes} bytes in ${seconds.toFixed(2)} s (${
    rate.toFixed(1)
  } MB/s) sha256 ${sha256}`;
}

/** A one-line progress bar on stderr, drawn only when it is a terminal. */
class Progress {
  readonly #label: string;
  readonly #total: number | null;
  readonly #tty = Deno.stderr.isTerminal();
  readonly #start = performance.now();
  #lastDraw = 0;
  bytes = 0;

  constructor(label: string, total: number | null) {
    this.#label = label;
    this.#total = total;
  }

  add(n: number): void {
    this.bytes += n;
    const now = performance.now();
    // Ten frames a second: redrawing per 64 KiB piece would cost more than
    // the transfer on a fast disk.
    if (this.#tty && now - this.#lastDraw >= 100) {
      this.#lastDraw = now;
      this.#draw(now);
    }
  }

  /** Clears the bar; returns the seconds since the start. */
  finish(): number {
    const seconds = (performance.now() - this.#start) / 1000;
    if (this.#tty) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
    return seconds;
  }

  #draw(now: number): void {
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const rate = this.bytes / 1e6 / Math.max((now - this.#start) / 1000, 1e-6);
    let line = `${this.#label} ${mb(this.bytes)} MB`;
    if (this.#total !== null && this.#total > 0) {
      const share = Math.min(1, this.bytes / this.#total);
      const width = 30;
      const filled = Math.round(share * width);
      line = `${this.#label} [${"#".repeat(filled)}${
        ".".repeat(width - filled)
      }] ${(share * 100).toFixed(0).padStart(3)}% ${mb(this.bytes)}/${
        mb(this.#total)
      } MB`;
    }
    Deno.stderr.writeSync(
      encoder.encode(`\r${line} ${rate.toFixed(1)} MB/s\x1b[K`),
    );
  }
}

function uploadUrl(text: string, file: string): URL {
  const url = parseUrl(text);
  if (url.pathname === "/" || url.pathname === "/files/") {
    url.pathname = `/files/${encodeURIComponent(basename(file))}`;
  }
  return url;
}

function downloadUrl(text: string, name: string | undefined): URL {
  const url = parseUrl(text);
  if (name !== undefined) {
    url.pathname = `/files/${encodeURIComponent(name)}`;
  } else if (
    !url.pathname.startsWith("/files/") || url.pathname === "/files/"
  ) {
    usage("Cannot download: pass NAME or a --url ending in /files/NAME");
  }
  return url;
}

function parseUrl(text: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === "http:") return url;
  } catch {
    // reported below
  }
  usage(`Cannot use --url "${text.slice(0, 64)}": give an http:// URL`);
}

// ---------------------------------------------------------------- shared

/** A pass-through stream that shows every chunk to `see` on its way. */
function tap(
  see: (chunk: Uint8Array) => void,
): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      see(chunk);
      controller.enqueue(chunk);
    },
  });
}

function closeQuietly(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // already closed by its stream
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    usage(`Cannot use --port "${text}": give a number from 0 to 65535`);
  }
  return port;
}

function usage(problem: string): never {
  console.error(`${problem}\n\n${USAGE}`);
  Deno.exit(2);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      port: { type: "string", default: "8000" },
      hostname: { type: "string", default: "127.0.0.1" },
      url: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [mode, target, ...extra] = positionals;
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (extra.length > 0) usage(`Cannot use extra arguments ${extra.join(" ")}`);

  try {
    if (mode === "serve") {
      if (values.dir === undefined) usage("Cannot serve: pass --dir DIR");
      await serveFiles(values.dir, values.hostname, parsePort(values.port));
    } else if (mode === "upload") {
      if (target === undefined) usage("Cannot upload: pass the FILE to send");
      if (values.url === undefined) usage("Cannot upload: pass --url");
      Deno.exit(await upload(target, uploadUrl(values.url, target)));
    } else if (mode === "download") {
      if (values.url === undefined) usage("Cannot download: pass --url");
      const url = downloadUrl(values.url, target);
      const out = values.out ?? decodeURIComponent(basename(url.pathname));
      Deno.exit(await download(url, out));
    } else {
      usage(`Cannot run mode "${mode ?? ""}": use serve, upload or download`);
    }
  } catch (error) {
    // Typed network errors already say what to do; show just that.
    if (error instanceof NetError || error instanceof Deno.errors.NotFound) {
      console.error(error.message);
      Deno.exit(1);
    }
    throw error;
  }
}

// Last, so the class and constants above are initialised first.
await main();

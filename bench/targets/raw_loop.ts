// deno-lint-ignore-file no-console
/**
 * Load-benchmark floor, not an HTTP server: a `Deno.Conn` read/write loop
 * that answers each request head it sees (each `\r\n\r\n`) with the same
 * fixed hello-world bytes. No parsing, no Request or Response objects, no
 * validation. It shows what one `conn.read` plus one `conn.write` per batch
 * cost on this machine, the part of every server built on `Deno.listen`
 * that no HTTP code can remove; under the idle benchmark, the memory one
 * connection with a pending read takes. Only for the benchmark's bodiless
 * GETs.
 *
 * Usage: `deno run --allow-net=127.0.0.1 bench/targets/raw_loop.ts [port]`
 * (port 0 = any; `--port=N` works too). Prints
 * `Listening on http://127.0.0.1:<port>/` once ready.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string" }, "hold-idle": { type: "boolean" } },
  allowPositionals: true,
});
const port = Number(values.port ?? positionals[0] ?? 0);

const encoder = new TextEncoder();
let date = "";
let response = new Uint8Array(0);
// The same bytes Deno.serve sends for the hello world, Date once a second.
function refresh(): void {
  date = new Date().toUTCString();
  response = encoder.encode(
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\n" +
      `content-length: 13\r\ndate: ${date}\r\n\r\n` +
      "Hello, World!",
  );
}
refresh();
Deno.unrefTimer(setInterval(refresh, 1000));

async function handle(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  // 1 KiB, like h1's per-connection head buffer: the idle benchmark then
  // shows the floor for a connection waiting on its next request.
  const buffer = new Uint8Array(1024);
  // How much of "\r\n\r\n" the previous read ended with.
  let matched = 0;
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      let heads = 0;
      for (let i = 0; i < n; i++) {
        const b = buffer[i]!;
        if (b === (matched % 2 === 0 ? 0x0d : 0x0a)) {
          if (++matched === 4) {
            heads++;
            matched = 0;
          }
        } else matched = b === 0x0d ? 1 : 0;
      }
      if (heads === 0) continue;
      const out = heads === 1 ? response : repeat(response, heads);
      for (let at = 0; at < out.length;) {
        at += await conn.write(at === 0 ? out : out.subarray(at));
      }
    }
  } catch {
    // Reset by the client: done.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

function repeat(bytes: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(bytes.length * times);
  for (let i = 0; i < times; i++) out.set(bytes, i * bytes.length);
  return out;
}

const listener = Deno.listen({ port, hostname: "127.0.0.1", transport: "tcp" });
console.log(
  `Listening on http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`,
);
for await (const conn of listener) void handle(conn);

// deno-lint-ignore-file no-console
/**
 * TCP echo server: sends every byte straight back, to many clients at once
 * (each connection runs as its own task, like Python's threaded echo server).
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:7000 examples/tcp_echo_server.ts --port=7000
 * ```
 *
 * Then `nc 127.0.0.1 7000`, or examples/tcp_echo_client.ts. Ctrl-C stops it.
 * With `--port=0` the OS picks a port; allow it with `--allow-net=127.0.0.1`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { listenTcp, NetError, toNetError, writeAll } from "../net/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7000" },
  },
});
const hostname = values.hostname;
const port = parsePort(values.port);

let listener: Deno.TcpListener;
try {
  listener = listenTcp({ hostname, port });
} catch (error) {
  // A missing --allow-net grant: Deno's message says which one.
  if (
    error instanceof NetError || error instanceof Deno.errors.NotCapable
  ) fail(error.message);
  throw error;
}
console.log(`Listening on tcp://${hostname}:${listener.addr.port}`);

const conns = new Set<Deno.TcpConn>();
const handlers = new Set<Promise<void>>();
function shutDown(): void {
  console.log("Shutting down");
  listener.close(); // ends the accept loop below
  for (const conn of conns) closeQuietly(conn);
}
Deno.addSignalListener("SIGINT", shutDown);

for await (const conn of listener) {
  conns.add(conn);
  const handling = echo(conn).finally(() => {
    conns.delete(conn);
    handlers.delete(handling);
  });
  handlers.add(handling);
}
await Promise.all(handlers);
Deno.removeSignalListener("SIGINT", shutDown);

async function echo(conn: Deno.TcpConn): Promise<void> {
  const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
  console.log(`Connected ${peer}`);
  const buffer = new Uint8Array(16 * 1024);
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) {
      await writeAll(conn, buffer.subarray(0, n), { timeoutMs: 10_000 });
    }
  } catch (error) {
    const netError = toNetError(error, conn.remoteAddr);
    // Interrupted/BadResource: we closed the conn ourselves on Ctrl-C.
    if (netError instanceof NetError) {
      console.log(`${peer}: ${netError.message}`);
    }
  } finally {
    closeQuietly(conn);
    console.log(`Disconnected ${peer}`);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`Cannot use --port "${text}": give a number from 0 to 65535`);
  }
  return port;
}

function fail(message: string): never {
  console.error(message);
  Deno.exit(1);
}

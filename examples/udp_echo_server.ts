// deno-lint-ignore-file no-console
/**
 * UDP echo server: answers every datagram with the same bytes (Python's
 * `recvfrom` / `sendto` loop). Uses `net/udp.ts`, built on `node:dgram`, so
 * no `--unstable-net` flag is needed.
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1 examples/udp_echo_server.ts --port=7001
 * ```
 *
 * `--allow-net=127.0.0.1` and not `127.0.0.1:7001`: each answer goes to the
 * client's own (ephemeral) port, and sending there needs permission too.
 *
 * Then examples/udp_echo_client.ts, or `nc -u 127.0.0.1 7001`. Ctrl-C stops it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { listenUdp, NetError, type UdpSocket } from "../net/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7001" },
  },
});
const hostname = values.hostname;
const port = parsePort(values.port);

let socket: UdpSocket;
try {
  socket = await listenUdp({ hostname, port });
} catch (error) {
  // A missing --allow-net grant: Deno's message says which one.
  if (
    error instanceof NetError || error instanceof Deno.errors.NotCapable
  ) fail(error.message);
  throw error;
}
console.log(`Listening on udp://${hostname}:${socket.addr.port}`);

function shutDown(): void {
  console.log("Shutting down");
  socket.close(); // ends the loop below
}
Deno.addSignalListener("SIGINT", shutDown);

for await (const { data, remoteAddr } of socket) {
  try {
    await socket.send(data, remoteAddr);
    console.log(
      `Echoed ${data.length} bytes to ${remoteAddr.hostname}:${remoteAddr.port}`,
    );
  } catch (error) {
    console.log(
      `Cannot answer ${remoteAddr.hostname}:${remoteAddr.port}: ${error}`,
    );
  }
}
Deno.removeSignalListener("SIGINT", shutDown);

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

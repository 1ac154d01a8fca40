// deno-lint-ignore-file no-console
/**
 * UDP echo client: sends each argument as one datagram and prints the echo.
 * UDP may lose datagrams, so each one is retried `--retries` times, waiting
 * `--timeout` ms for an answer each time.
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:0,127.0.0.1:7001 examples/udp_echo_client.ts --port=7001 hello
 * ```
 *
 * `127.0.0.1:0` lets the client bind a free local port for the replies.
 * When nothing answers it says so and exits 1 (UDP has no "refused").
 *
 * @module
 */

import { parseArgs } from "node:util";
import { listenUdp, NetError, TimeoutError } from "../net/mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7001" },
    timeout: { type: "string", default: "1000" },
    retries: { type: "string", default: "3" },
  },
});
const server = { hostname: values.host, port: parsePort(values.port) };
const timeoutMs = Number(values.timeout);
if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
  fail(
    `Cannot use --timeout "${values.timeout}": give milliseconds, 0 or more`,
  );
}
const retries = Number(values.retries);
if (!Number.isInteger(retries) || retries < 0) {
  fail(
    `Cannot use --retries "${values.retries}": give a whole number, 0 or more`,
  );
}
const tries = Math.max(1, retries);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

try {
  await using socket = await listenUdp({ hostname: "127.0.0.1", port: 0 });
  console.log(`Sending to udp://${server.hostname}:${server.port}`);
  for (const message of positionals.length > 0 ? positionals : ["hello"]) {
    const reply = await ask(socket, encoder.encode(message));
    console.log(`Received: ${decoder.decode(reply)}`);
  }
} catch (error) {
  // A missing --allow-net grant: Deno's message says which one.
  if (
    error instanceof NetError || error instanceof Deno.errors.NotCapable
  ) fail(error.message);
  throw error;
}

/** Sends `data`, waits for an answer, and resends up to `tries` times. */
async function ask(
  socket: Awaited<ReturnType<typeof listenUdp>>,
  data: Uint8Array,
): Promise<Uint8Array> {
  for (let attempt = 1; attempt <= tries; attempt++) {
    await socket.send(data, server);
    const deadline = performance.now() + timeoutMs;
    try {
      for (;;) {
        const left = Math.max(1, deadline - performance.now());
        const { data: reply } = await socket.receive({ timeoutMs: left });
        // An echo is the same bytes; anything else is a late echo of an
        // earlier message (after a retry) or a stray datagram: skip it.
        if (sameBytes(reply, data)) return reply;
      }
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      console.error(`No reply in ${timeoutMs} ms (try ${attempt} of ${tries})`);
    }
  }
  fail(
    `No reply from ${server.hostname}:${server.port} after ${tries} tries of ${timeoutMs} ms: is the server running?`,
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`Cannot use --port "${text}": give a number from 1 to 65535`);
  }
  return port;
}

function fail(message: string): never {
  console.error(message);
  Deno.exit(1);
}

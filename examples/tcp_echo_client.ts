// deno-lint-ignore-file no-console
/**
 * TCP echo client: sends each argument (or each stdin line) as a line and
 * prints what comes back.
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:7000 examples/tcp_echo_client.ts --port=7000 hello world
 * ```
 *
 * Start examples/tcp_echo_server.ts first. If nothing listens you get
 * "Connection to 127.0.0.1:7000 refused: is the server running?" and exit
 * code 1; a server that accepts but never answers hits `--timeout` (ms).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BufferedReader, connectTcp, NetError, writeAll } from "../net/mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7000" },
    timeout: { type: "string", default: "5000" },
  },
});
const hostname = values.host;
const port = parsePort(values.port);
const timeoutMs = Number(values.timeout);
if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
  fail(
    `Cannot use --timeout "${values.timeout}": give milliseconds, 0 or more`,
  );
}

try {
  using conn = await connectTcp({ hostname, port, timeoutMs, noDelay: true });
  console.log(`Connected to tcp://${hostname}:${port}`);
  const replies = new BufferedReader(conn, { timeoutMs });
  const encoder = new TextEncoder();
  for await (const message of messages()) {
    // One line per message: a newline inside one would make two lines and
    // two echoes, and every echo after it would answer the wrong message.
    for (const line of message.split(/\r?\n/)) {
      await writeAll(conn, encoder.encode(`${line}\n`), { timeoutMs });
      const echoed = await replies.readLine();
      if (echoed === null) {
        fail(
          `Server at ${hostname}:${port} closed the connection before echoing`,
        );
      }
      console.log(`Received: ${echoed}`);
    }
  }
} catch (error) {
  // A missing --allow-net grant: Deno's message says which one.
  if (
    error instanceof NetError || error instanceof Deno.errors.NotCapable
  ) fail(error.message);
  throw error;
}

/** The command-line words, or else the lines typed on stdin. */
async function* messages(): AsyncGenerator<string> {
  if (positionals.length > 0) {
    yield* positionals;
    return;
  }
  const stdin = new BufferedReader(Deno.stdin);
  for (let line; (line = await stdin.readLine()) !== null;) yield line;
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

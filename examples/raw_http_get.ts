// deno-lint-ignore-file no-console
/**
 * A raw HTTP GET over a TCP socket: writes the request bytes by hand and
 * prints the response exactly as it arrives, status line, headers and body
 * (Python's `s.sendall(b"GET / HTTP/1.1\r\nHost: ...")` then `recv` loop).
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=example.com:80 examples/raw_http_get.ts --host=example.com --path=/
 * ```
 *
 * Plain HTTP only (no TLS), so use port 80 or a local server. It sends
 * `Connection: close` and reads until the server hangs up; `--timeout` (ms)
 * bounds the connect and each read. Refused, unresolvable and silent hosts
 * get a one-line explanation on stderr and exit code 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BufferedReader, connectTcp, NetError, writeAll } from "../net/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    host: { type: "string", default: "example.com" },
    port: { type: "string", default: "80" },
    path: { type: "string", default: "/" },
    timeout: { type: "string", default: "5000" },
  },
});
const hostname = values.host;
const port = parsePort(values.port);
const timeoutMs = Number(values.timeout);
// Spaces or control bytes would let the path inject its own request line.
// deno-lint-ignore no-control-regex
if (!values.path.startsWith("/") || /[\s\x00-\x1f\x7f]/.test(values.path)) {
  fail(
    `Cannot request path "${values.path}": it must start with / and have no spaces`,
  );
}

// RFC 9112 §3.2: Host is required in HTTP/1.1 and carries the port unless
// it is the default one.
const host = port === 80 ? hostname : `${hostname}:${port}`;
const request = [
  `GET ${values.path} HTTP/1.1`,
  `Host: ${host}`,
  "User-Agent: h1-raw-http-get",
  "Accept: */*",
  "Connection: close",
  "",
  "",
].join("\r\n");

try {
  using conn = await connectTcp({ hostname, port, timeoutMs });
  await writeAll(conn, new TextEncoder().encode(request), { timeoutMs });
  const response = new BufferedReader(conn, { timeoutMs });
  for (let chunk; (chunk = await response.read()) !== null;) {
    await writeAll(Deno.stdout, chunk);
  }
} catch (error) {
  // A missing --allow-net grant: Deno's message says which one.
  if (
    error instanceof NetError || error instanceof Deno.errors.NotCapable
  ) fail(error.message);
  throw error;
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

// deno-lint-ignore-file no-console
/**
 * Load-benchmark target: h1's Python face, `ThreadingHTTPServer` with a
 * `BaseHTTPRequestHandler` speaking HTTP/1.1 (keep-alive), answering the same
 * bytes as the other targets.
 *
 * Usage: `deno run --allow-net=127.0.0.1 bench/targets/h1_python.ts [port]`
 * (port 0 = any; `--port=N` works too). Prints
 * `Listening on http://127.0.0.1:<port>/` once ready.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ThreadingHTTPServer } from "../../server/http_server.ts";
import { BaseHTTPRequestHandler } from "../../server/request_handler.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string" }, "hold-idle": { type: "boolean" } },
  allowPositionals: true,
});
const port = Number(values.port ?? positionals[0] ?? 0);

const BODY = new TextEncoder().encode("Hello, World!");

class HelloHandler extends BaseHTTPRequestHandler {
  override protocol_version = "HTTP/1.1" as const;

  async do_GET(): Promise<void> {
    this.send_response(200);
    this.send_header("Content-Type", "text/plain;charset=UTF-8");
    this.send_header("Content-Length", String(BODY.length));
    this.end_headers();
    await this.wfile.write(BODY);
  }

  // Python logs every request to stderr; that would measure the terminal.
  override log_request(): void {}
}

// `--hold-idle` (idle-connection benchmark): keep idle keep-alive
// connections open (the headers timeout also runs between requests) and
// admit more than 10,000 of them. Load runs use the defaults.
const HOLD_IDLE_MS = 10 * 60_000;
const limits = values["hold-idle"]
  ? {
    keepAliveTimeoutMs: HOLD_IDLE_MS,
    headersTimeoutMs: HOLD_IDLE_MS,
    maxConnections: 100_000,
  }
  : {};

const server = new ThreadingHTTPServer(["127.0.0.1", port], HelloHandler, {
  limits,
});
console.log(`Listening on http://127.0.0.1:${server.server_address[1]}/`);
await server.serve_forever();

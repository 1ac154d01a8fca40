// deno-lint-ignore-file no-console
/**
 * Load-benchmark peer: `node:http` hello world.
 *
 * Runs under real Node (`node bench/targets/node_http.mjs [port]`) and under
 * Deno (`deno run --allow-net=127.0.0.1 bench/targets/node_http.mjs [port]`).
 * Port 0 = any; `--port=N` works too. Prints
 * `Listening on http://127.0.0.1:<port>/` once ready.
 *
 * `--hold-idle` (idle-connection benchmark) turns off Node's 5 s idle
 * keep-alive timeout, so idle connections stay open while RSS is measured.
 *
 * @module
 */
import { createServer } from "node:http";
import process from "node:process";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { port: { type: "string" }, "hold-idle": { type: "boolean" } },
  allowPositionals: true,
});
const port = Number(values.port ?? positionals[0] ?? 0);

const BODY = "Hello, World!";
const LENGTH = String(new TextEncoder().encode(BODY).length);

const server = createServer((_req, res) => {
  // Same head as `new Response("Hello, World!")` gives on Deno.serve.
  res.writeHead(200, {
    "content-type": "text/plain;charset=UTF-8",
    "content-length": LENGTH,
  });
  res.end(BODY);
});
if (values["hold-idle"]) server.keepAliveTimeout = 0; // 0 = no idle timeout
server.listen(port, "127.0.0.1", () => {
  const addr = server.address();
  const bound = typeof addr === "object" && addr !== null ? addr.port : port;
  console.log(`Listening on http://127.0.0.1:${bound}/`);
});

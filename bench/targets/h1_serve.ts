// deno-lint-ignore-file no-console
/**
 * Load-benchmark target: h1's `serve()` hello world, the same handler as
 * `deno_serve.ts`.
 *
 * Usage: `deno run --allow-net=127.0.0.1 bench/targets/h1_serve.ts [port]`
 * (port 0 = any; `--port=N` works too). Prints
 * `Listening on http://127.0.0.1:<port>/` once ready.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serve } from "../../server/serve.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string" }, "hold-idle": { type: "boolean" } },
  allowPositionals: true,
});
const port = Number(values.port ?? positionals[0] ?? 0);

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

serve(
  {
    port,
    hostname: "127.0.0.1",
    limits,
    onListen: (addr: { port: number }) => {
      console.log(`Listening on http://127.0.0.1:${addr.port}/`);
    },
  },
  () => new Response("Hello, World!"),
);

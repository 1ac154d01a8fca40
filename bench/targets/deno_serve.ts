// deno-lint-ignore-file no-console
/**
 * Load-benchmark peer: `Deno.serve` hello world.
 *
 * Usage: `deno run --allow-net=127.0.0.1 bench/targets/deno_serve.ts [port]`
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

// `--hold-idle` (idle-connection benchmark): Deno.serve has no idle
// keep-alive timeout or connection cap to lift, so nothing to do.
Deno.serve(
  {
    port,
    hostname: "127.0.0.1",
    onListen: (addr) => {
      console.log(`Listening on http://127.0.0.1:${addr.port}/`);
    },
  },
  () => new Response("Hello, World!"),
);

// deno-lint-ignore-file no-console
/**
 * A Hono app from npm, unchanged, served by h1: `serve(app.fetch)` is all
 * it takes, as with `Deno.serve(app.fetch)`.
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1:8000 examples/hono_app.ts --port=8000
 * ```
 *
 * Then try:
 *
 * ```sh
 * curl http://127.0.0.1:8000/
 * curl http://127.0.0.1:8000/users/42?fields=name
 * curl -d '{"n":21}' -H 'content-type: application/json' http://127.0.0.1:8000/double
 * curl -N http://127.0.0.1:8000/countdown
 * ```
 *
 * With `--port=0` the OS picks a port; allow it with `--allow-net=127.0.0.1`.
 * Ctrl-C shuts down gracefully.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Hono } from "npm:hono@4.13.19";
import { stream } from "npm:hono@4.13.19/streaming";
import { serve } from "../server/serve.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "8000" } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Cannot use port "${values.port}": give 0-65535`);
  Deno.exit(2);
}

const app = new Hono();

app.get("/", (c) => c.text("Hello from Hono on h1\n"));

app.get(
  "/users/:id",
  (c) =>
    c.json({ id: c.req.param("id"), fields: c.req.query("fields") ?? "all" }),
);

app.post("/double", async (c) => {
  const { n } = await c.req.json<{ n: number }>();
  if (typeof n !== "number") {
    return c.json({ error: "n must be a number" }, 400);
  }
  return c.json({ n, doubled: n * 2 });
});

app.get("/countdown", (c) =>
  stream(c, async (s) => {
    for (let i = 3; i > 0; i--) {
      await s.write(`${i}...\n`);
      await s.sleep(100);
    }
    await s.write("liftoff\n");
  }));

let server;
try {
  server = serve({
    port,
    hostname: "127.0.0.1",
    onListen: (addr) =>
      console.log(`Listening on http://127.0.0.1:${addr.port}/`),
  }, app.fetch);
} catch (error) {
  if (!(error instanceof Deno.errors.AddrInUse)) throw error;
  console.error(`Cannot listen on 127.0.0.1:${port}: the port is in use`);
  Deno.exit(1);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void server.shutdown());
}
await server.finished;
console.log("Server stopped");
Deno.exit(0);

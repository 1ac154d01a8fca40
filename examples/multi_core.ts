// deno-lint-ignore-file no-console
/**
 * One port, every core: N workers each run `serve({ reusePort: true })` on
 * the same port, and the Linux kernel (SO_REUSEPORT) spreads incoming
 * connections across them. Every response says which worker answered in
 * an `X-Worker` header.
 *
 * ```sh
 * npx -y deno@2.9.6 run --unstable-net --allow-net=127.0.0.1:8000 \
 *   --allow-read=examples/multi_core.ts,server,http1,net \
 *   examples/multi_core.ts --port=8000 --workers=4
 * ```
 *
 * Run it from the repository root. `--unstable-net`: Deno 2.9 still marks
 * `Deno.listen({ reusePort: true })` unstable. `--allow-read`: a worker
 * loads its module graph under the read permission (this file, server/,
 * http1/ and net/), unlike the main module.
 *
 * Then `for i in 1 2 3 4 5 6; do curl -si http://127.0.0.1:8000/ | grep -i x-worker; done`
 * (a new connection per curl; one keep-alive connection stays on one worker).
 *
 * How it works: this one file is both the main program and the worker
 * script (`new Worker(new URL(import.meta.url), { type: "module" })`). The
 * main thread only parses flags, starts the workers, waits until each is
 * listening and prints `Listening on http://127.0.0.1:<port>/ (N workers)`.
 * `reusePort` needs a fixed port that every worker binds, so `--port=0`
 * first binds port 0 to learn a free port, closes it, and hands that port
 * to the workers (allow it with `--allow-net=127.0.0.1`). `--workers`
 * defaults to the number of cores. SO_REUSEPORT load-balancing is Linux
 * behaviour; elsewhere use one worker or a proxy in front. Ctrl-C (or
 * SIGTERM) shuts every worker down gracefully.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serve } from "../server/serve.ts";

/** Main → worker. */
type ToWorker = { kind: "start"; id: number; port: number } | {
  kind: "shutdown";
};
/** Worker → main. */
type FromWorker =
  | { kind: "listening"; id: number }
  | { kind: "stopped"; id: number }
  | { kind: "failed"; id: number; message: string };

// deno-lint-ignore no-explicit-any
const workerScope = (globalThis as any).WorkerGlobalScope;
const isWorker = workerScope !== undefined && self instanceof workerScope;

if (isWorker) runWorker();
else await runMain();

function runWorker(): void {
  // deno-lint-ignore no-explicit-any
  const scope = self as any as {
    onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
    postMessage(message: FromWorker): void;
  };
  let server: ReturnType<typeof serve> | null = null;
  let id = -1;
  scope.onmessage = async (event) => {
    const message = event.data;
    if (message.kind === "start") {
      id = message.id;
      const workerId = String(id);
      try {
        server = serve(
          {
            port: message.port,
            hostname: "127.0.0.1",
            reusePort: true,
            onListen: () => scope.postMessage({ kind: "listening", id }),
          },
          (req) =>
            new Response(
              `Hello from worker ${workerId}: ${new URL(req.url).pathname}\n`,
              {
                headers: { "x-worker": workerId },
              },
            ),
        );
      } catch (error) {
        scope.postMessage({
          kind: "failed",
          id,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    } else if (message.kind === "shutdown") {
      await server?.shutdown();
      scope.postMessage({ kind: "stopped", id });
    }
  };
}

async function runMain(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8000" },
      workers: {
        type: "string",
        default: String(navigator.hardwareConcurrency || 1),
      },
    },
  });
  let port = Number(values.port);
  const count = Number(values.workers);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`Cannot use port "${values.port}": give 0-65535`);
    Deno.exit(2);
  }
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    console.error(`Cannot start "${values.workers}" workers: give 1-256`);
    Deno.exit(2);
  }
  if (port === 0) {
    // Every worker must bind the same port: learn a free one first.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    port = probe.addr.port;
    probe.close();
  }

  const workers: Worker[] = [];
  const listening = new Set<number>();
  const stopped = new Set<number>();
  const allListening = Promise.withResolvers<void>();
  const allStopped = Promise.withResolvers<void>();
  for (let id = 0; id < count; id++) {
    const worker = new Worker(new URL(import.meta.url), {
      type: "module",
      name: `h1-worker-${id}`,
    });
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.kind === "listening") {
        listening.add(message.id);
        if (listening.size === count) allListening.resolve();
      } else if (message.kind === "stopped") {
        stopped.add(message.id);
        if (stopped.size === count) allStopped.resolve();
      } else {
        allListening.reject(
          new Error(`Worker ${message.id} failed: ${message.message}`),
        );
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      allListening.reject(new Error(`Worker ${id} crashed: ${event.message}`));
    };
    worker.postMessage({ kind: "start", id, port } satisfies ToWorker);
    workers.push(worker);
  }

  try {
    await allListening.promise;
  } catch (error) {
    console.error((error as Error).message);
    for (const worker of workers) worker.terminate();
    Deno.exit(1);
  }
  console.log(`Listening on http://127.0.0.1:${port}/ (${count} workers)`);

  const stop = async () => {
    for (const worker of workers) {
      worker.postMessage({ kind: "shutdown" } satisfies ToWorker);
    }
    // Graceful first; a worker stuck past 15 s is terminated regardless.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      allStopped.promise,
      new Promise((resolve) => timer = setTimeout(resolve, 15_000)),
    ]);
    clearTimeout(timer);
    for (const worker of workers) worker.terminate();
    console.log("Server stopped");
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => void stop());
  }
}

// deno-lint-ignore-file no-console
/**
 * Network monitor: checks HTTP and TCP targets every `--interval` ms and
 * prints one line per check with up/down, status and latency.
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1 examples/monitor.ts \
 *   --interval=2000 --rounds=0 --timeout=1000 \
 *   http://127.0.0.1:8000/ tcp://127.0.0.1:7000
 * ```
 *
 * - `http://host:port/path`: a GET with h1's client; up when the status is
 *   below 400. Latency is until the whole body has arrived.
 * - `tcp://host:port`: a TCP connect with `connectTcp`; up when it connects.
 *   Latency is the connect time.
 *
 * Every check has `--timeout` ms (default 2000). `--rounds=0` runs until
 * Ctrl-C; `--rounds=N` stops after N rounds (default 1). The exit status is
 * 1 when any target was down in the last round, 0 when all were up, 2 for a
 * bad command line. Allow exactly the hosts you check, e.g.
 * `--allow-net=127.0.0.1:8000,127.0.0.1:7000`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Pool } from "../client/pool.ts";
import { request } from "../client/request.ts";
import { connectTcp } from "../net/tcp.ts";

const USAGE = `Usage:
  monitor.ts [--interval=1000] [--rounds=1] [--timeout=2000] TARGET...
  TARGET is http://host:port/path or tcp://host:port`;

/** One thing to check. */
interface Target {
  kind: "http" | "tcp";
  label: string;
  url: URL;
  hostname: string;
  port: number;
}

/** The outcome of one check. */
interface Check {
  up: boolean;
  /** HTTP status and reason, "connected", or why it failed. */
  detail: string;
  latencyMs: number;
}

await main();

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      interval: { type: "string", default: "1000" },
      rounds: { type: "string", default: "1" },
      timeout: { type: "string", default: "2000" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length === 0) {
    usage("Cannot monitor: give at least one target");
  }
  const targets = positionals.map(parseTarget);
  const intervalMs = parseCount("--interval", values.interval);
  const rounds = parseCount("--rounds", values.rounds);
  const timeoutMs = parseCount("--timeout", values.timeout);

  let stopped = false;
  let wake = () => {};
  const stop = () => {
    stopped = true;
    wake();
  };
  Deno.addSignalListener("SIGINT", stop);
  // No keep-alive between rounds: every check dials afresh, as a user would.
  using pool = new Pool({ idleTimeoutMs: 1 });
  let lastDown = 0;
  try {
    for (let round = 1; rounds === 0 || round <= rounds; round++) {
      const started = performance.now();
      // Targets are checked at once; lines come out in the order given.
      const checks = await Promise.all(
        targets.map((target) => check(target, timeoutMs, pool)),
      );
      for (const [i, result] of checks.entries()) {
        console.log(formatLine(round, targets[i]!, result));
      }
      lastDown = checks.filter((result) => !result.up).length;
      console.log(
        `Round ${round}: ${checks.length - lastDown} up, ${lastDown} down`,
      );
      if (stopped || round === rounds) break;
      const waitMs = intervalMs - (performance.now() - started);
      if (waitMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (stopped) break;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
  }
  if (lastDown > 0) Deno.exit(1);
}

async function check(
  target: Target,
  timeoutMs: number,
  pool: Pool,
): Promise<Check> {
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  try {
    if (target.kind === "tcp") {
      const conn = await connectTcp({
        hostname: target.hostname,
        port: target.port,
        timeoutMs,
      });
      const latencyMs = elapsed();
      conn.close();
      return { up: true, detail: "connected", latencyMs };
    }
    // One deadline for the whole exchange: connect, head and body.
    const signal = AbortSignal.timeout(timeoutMs);
    const response = await request(target.url, {
      pool,
      signal,
      connectTimeoutMs: timeoutMs,
    });
    // Read the body to its end (without keeping it) so latency covers it.
    let bytes = 0;
    for await (const chunk of response.body ?? []) bytes += chunk.length;
    return {
      up: response.status < 400,
      detail: `${response.status} ${response.statusText} (${bytes} bytes)`,
      latencyMs: elapsed(),
    };
  } catch (error) {
    const timedOut = error instanceof DOMException &&
      error.name === "TimeoutError";
    return {
      up: false,
      detail: timedOut
        ? `no answer within ${timeoutMs} ms`
        : error instanceof Error
        ? error.message
        : String(error),
      latencyMs: elapsed(),
    };
  }
}

function formatLine(round: number, target: Target, result: Check): string {
  const time = new Date().toISOString();
  const state = result.up ? "UP  " : "DOWN";
  return `${time} round ${round} ${state} ${target.label} ${
    result.latencyMs.toFixed(1)
  } ms ${result.detail}`;
}

function parseTarget(text: string): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    usage(`Cannot parse target "${text.slice(0, 64)}"`);
  }
  // URL keeps brackets around IPv6 literals; connecting wants them off.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (url.protocol === "http:") {
    const port = url.port === "" ? 80 : Number(url.port);
    return { kind: "http", label: url.href, url, hostname, port };
  }
  if (url.protocol === "tcp:") {
    if (url.port === "" || hostname === "") {
      usage(`Cannot check "${text.slice(0, 64)}": write tcp://host:port`);
    }
    const label = `tcp://${url.host}`;
    return { kind: "tcp", label, url, hostname, port: Number(url.port) };
  }
  usage(
    `Cannot check "${
      text.slice(0, 64)
    }": only http:// and tcp:// targets are supported`,
  );
}

function parseCount(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    usage(`Cannot use ${flag} "${text}": give a whole number >= 0`);
  }
  return value;
}

function usage(problem: string): never {
  console.error(`${problem}\n\n${USAGE}`);
  Deno.exit(2);
}

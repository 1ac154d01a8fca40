// deno-lint-ignore-file no-console
/**
 * Server load benchmark: wrk against h1's `serve()`, h1's Python face,
 * `Deno.serve` and `node:http`, all answering the same hello world.
 *
 * Targets run as subprocesses and stay up for the whole run; wrk runs are
 * interleaved (every round visits every scenario and every target, in a
 * rotated order) and the median of the rounds is reported, with ratios to
 * `Deno.serve` and `node:http`. The table replaces the `server_load` section
 * of bench/RESULTS.md.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write=bench/RESULTS.md \
 *   --allow-net=127.0.0.1 bench/server_load.ts [--quick] [--duration=3] \
 *   [--rounds=5] [--targets=h1_serve,deno_serve,node_http] [--no-pin] [--no-write]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { machineLines, median, writeSection } from "./_results.ts";
import {
  BASELINE_DENO,
  BASELINE_NODE,
  checkHello,
  commandOutput,
  DEFAULT_TARGETS,
  errorLine,
  hasCommand,
  type RunningTarget,
  selectTargets,
  startTarget,
  type TargetSpec,
  TargetStartError,
} from "./_targets.ts";

const USAGE =
  `Usage: deno run --allow-run --allow-read --allow-write=bench/RESULTS.md \\
  --allow-net=127.0.0.1 bench/server_load.ts [options]

  --duration=S     seconds per wrk run (default 3; quick 2)
  --rounds=N       interleaved rounds, median reported (default 5; quick 1)
  --connections=N  wrk connections (default 50)
  --targets=a,b    from h1_serve, h1_python, deno_serve, node_http,
                   node_http_deno (default ${DEFAULT_TARGETS.join(",")})
  --quick          short smoke run
  --no-pin         do not pin wrk and servers to separate CPUs
  --no-write       print only; leave bench/RESULTS.md alone`;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string" },
    rounds: { type: "string" },
    connections: { type: "string" },
    targets: { type: "string" },
    quick: { type: "boolean", default: false },
    "no-pin": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

function positiveInt(
  name: string,
  raw: string | undefined,
  fallback: number,
): number {
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`Cannot use --${name}=${raw}: expected a positive integer`);
    Deno.exit(2);
  }
  return n;
}

const quick = values.quick;
// Many short rounds beat few long ones: the median then shrugs off a burst
// of load from elsewhere on the machine.
const durationS = positiveInt("duration", values.duration, quick ? 2 : 3);
const rounds = positiveInt("rounds", values.rounds, quick ? 1 : 5);
const connections = positiveInt("connections", values.connections, 50);
const warmupS = 1;
const PIPELINE_DEPTH = 16;
const PIPELINE_SCRIPT = new URL("./pipeline.lua", import.meta.url).pathname;

let specs: TargetSpec[];
try {
  specs = selectTargets(values.targets ?? DEFAULT_TARGETS.join(","));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  Deno.exit(2);
}

// ---------------------------------------------------------------- wrk setup

async function ensureWrk(): Promise<void> {
  if (await hasCommand("wrk")) return;
  console.log(
    "wrk not found; installing it: apt-get update && apt-get install -y wrk",
  );
  const out = await new Deno.Command("sh", {
    args: ["-c", "apt-get update && apt-get install -y wrk"],
    stdout: "inherit",
    stderr: "inherit",
  }).output().catch(() => null);
  if (out?.success !== true || !(await hasCommand("wrk"))) {
    console.error(
      "Cannot install wrk: run `apt-get update && apt-get install -y wrk` as root, then retry",
    );
    Deno.exit(1);
  }
}
await ensureWrk();

const nproc = navigator.hardwareConcurrency;
const pin = !values["no-pin"] && nproc >= 2 && (await hasCommand("taskset"));
const WRK_CPU = 0;
const SERVER_CPU = 1;
// One wrk thread when it has one core to itself; more only when unpinned.
const wrkThreads = pin ? 1 : Math.max(1, Math.min(4, Math.floor(nproc / 2)));

// ----------------------------------------------------------------- scenarios

/** Eleven headers a desktop browser sends for a page load (~560-byte head). */
function browserHeaders(port: number): string[] {
  const host = `127.0.0.1:${port}`;
  return [
    `Host: ${host}`,
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " +
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9," +
    "image/avif,image/webp,*/*;q=0.8",
    "Accept-Language: en-US,en;q=0.9",
    "Accept-Encoding: gzip, deflate, br",
    `Referer: http://${host}/index.html`,
    "Cookie: session=7f3a9c2e4b1d8f6a0e5c3b9d2a7f4e1c; theme=dark; " +
    "_ga=GA1.1.1234567890.1700000000",
    "Connection: keep-alive",
    "Upgrade-Insecure-Requests: 1",
    "Sec-Fetch-Mode: navigate",
    "Cache-Control: max-age=0",
  ];
}

function browserHeadBytes(port: number): number {
  const head = `GET / HTTP/1.1\r\n${
    browserHeaders(port).map((h) => `${h}\r\n`).join("")
  }\r\n`;
  return new TextEncoder().encode(head).length;
}

interface Scenario {
  name: string;
  args(port: number): string[];
}

const SCENARIOS: readonly Scenario[] = [
  { name: "plain", args: () => [] },
  {
    name: "browser",
    args: (port) => browserHeaders(port).flatMap((h) => ["-H", h]),
  },
  {
    name: `pipelined ×${PIPELINE_DEPTH}`,
    args: () => ["-s", PIPELINE_SCRIPT],
  },
];

// ------------------------------------------------------------------ wrk runs

interface Sample {
  rps: number;
  p99Ms: number;
  /** Server CPU time (user + system, all threads) per response, in µs. */
  cpuUsPerRequest: number;
  socketErrors: number;
  non2xx: number;
}

const UNIT_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
};

/** Parses `wrk --latency` output; null when it has no Requests/sec line. */
function parseWrk(
  text: string,
  cpuSeconds: number,
): Sample | null {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (rps === null) return null;
  const total = /^\s*(\d+) requests in /m.exec(text);
  const p99 = /^\s*99(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\b/m.exec(text);
  const errs =
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
      .exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    rps: Number(rps[1]),
    cpuUsPerRequest: total === null || Number(total[1]) === 0
      ? NaN
      : cpuSeconds * 1e6 / Number(total[1]),
    // wrk 4.1 sometimes prints "99% 0.00us" for a sparse histogram (the
    // pipelined runs record one sample per batch); a zero p99 is unknown.
    p99Ms: p99 === null || Number(p99[1]) === 0
      ? NaN
      : Number(p99[1]) * (UNIT_MS[p99[2]!] ?? NaN),
    socketErrors: errs === null
      ? 0
      : errs.slice(1).reduce((sum, n) => sum + Number(n), 0),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
  };
}

const CLOCK_TICKS = Number(await commandOutput("getconf", ["CLK_TCK"])) || 100;

/**
 * CPU time a process has used (user + system, every thread), from
 * /proc/<pid>/stat read through `cat` (Deno needs --allow-all to read /proc
 * itself); NaN off Linux. Its 10 ms ticks are fine against 3 s runs.
 */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await commandOutput("cat", [`/proc/${pid}/stat`]);
  // Fields after the command name, which is in parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS;
}

async function runWrk(
  target: RunningTarget,
  scenario: Scenario,
  seconds: number,
): Promise<Sample | string> {
  const argv = [
    "wrk",
    `-t${wrkThreads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    ...scenario.args(target.port),
    target.url,
  ];
  if (scenario.args(target.port).includes(PIPELINE_SCRIPT)) {
    argv.push("--", String(PIPELINE_DEPTH));
  }
  if (pin) argv.unshift("taskset", "-c", String(WRK_CPU));
  const [cmd, ...args] = argv as [string, ...string[]];
  const cpuBefore = await cpuSeconds(target.pid);
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const cpuAfter = await cpuSeconds(target.pid);
  const text = new TextDecoder().decode(out.stdout);
  const sample = parseWrk(text, cpuAfter - cpuBefore);
  if (sample === null) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    return `wrk failed (exit ${out.code}): ${
      err || text.trim().split("\n").at(-1)
    }`;
  }
  return sample;
}

// ---------------------------------------------------------------------- run

const runs = specs.length * SCENARIOS.length;
const estimateS = runs * (rounds * durationS + warmupS) + specs.length * 2;
console.log(
  `Server load: ${specs.map((s) => s.name).join(", ")}; ${rounds} round(s) × ` +
    `${durationS} s × ${SCENARIOS.length} scenarios, ${connections} connections, ` +
    `~${Math.ceil(estimateS / 60)} min`,
);
console.log(
  pin
    ? `Pinning: wrk on CPU ${WRK_CPU} (${wrkThreads} thread), servers on CPU ${SERVER_CPU} (taskset)`
    : `Pinning: off (${
      values["no-pin"] ? "--no-pin" : "needs taskset and ≥ 2 CPUs"
    }); wrk uses ${wrkThreads} thread(s)`,
);

/** 1-minute load average, from /proc/loadavg (NaN off Linux). */
async function loadAverage(): Promise<number> {
  const text = await commandOutput("cat", ["/proc/loadavg"]);
  return text === "" ? NaN : Number(text.split(" ")[0]);
}
const loadBefore = await loadAverage();
if (loadBefore > 0.5) {
  console.log(
    `Load average ${loadBefore} before the run: something else is busy, ` +
      "expect noisy numbers (watch the spread column)",
  );
}

const notes = new Map<string, string>();
const running: RunningTarget[] = [];
const samples = new Map<string, Sample[]>();
const key = (target: string, scenario: string) => `${target}\t${scenario}`;

function note(spec: TargetSpec, text: string): void {
  if (!notes.has(spec.name)) notes.set(spec.name, text);
  console.log(`  ${spec.label}: ${text}`);
}

try {
  for (const spec of specs) {
    try {
      const t = await startTarget(spec, pin ? { cpu: SERVER_CPU } : {});
      const bad = await checkHello(t.port);
      if (bad !== null) {
        await t.stop();
        note(spec, `skipped: wrong response (${bad})`);
        continue;
      }
      running.push(t);
      console.log(
        `  ${spec.label}: listening on port ${t.port} (pid ${t.pid})`,
      );
    } catch (err) {
      if (!(err instanceof TargetStartError)) throw err;
      note(spec, `skipped: ${err.message}`);
    }
  }
  if (running.length === 0) {
    console.error("No target started; nothing to measure");
    Deno.exit(1);
  }

  const dead = new Set<string>();
  const live = (t: RunningTarget, during: string): boolean => {
    if (t.alive()) return true;
    if (!dead.has(t.spec.name)) {
      dead.add(t.spec.name);
      const why = errorLine(t.stderrTail());
      note(
        t.spec,
        `crashed during ${during} (${t.exitInfo()})${
          why === "" ? "" : `: ${why}`
        }`,
      );
    }
    return false;
  };

  // Warm-up: one short discarded run per target and scenario (JIT, caches).
  for (const scenario of SCENARIOS) {
    for (const t of running) {
      if (live(t, "start-up")) await runWrk(t, scenario, warmupS);
      live(t, `the ${scenario.name} warm-up`);
    }
  }

  for (let round = 0; round < rounds; round++) {
    console.log(`Round ${round + 1}/${rounds}`);
    for (const scenario of SCENARIOS) {
      // Rotate the order each round so no target always runs first.
      const order = running.map((_, i) =>
        running[(i + round) % running.length]!
      );
      for (const t of order) {
        if (!live(t, "start-up")) continue;
        const result = await runWrk(t, scenario, durationS);
        // A server that died mid-run leaves a partial sample: drop it.
        if (!live(t, `${scenario.name}, round ${round + 1}`)) continue;
        if (typeof result === "string") {
          note(t.spec, `${scenario.name}: ${result}`);
          continue;
        }
        const k = key(t.spec.name, scenario.name);
        samples.set(k, [...(samples.get(k) ?? []), result]);
        const flags = result.socketErrors + result.non2xx > 0
          ? ` (socket errors ${result.socketErrors}, non-2xx ${result.non2xx})`
          : "";
        console.log(
          `  ${t.spec.label.padEnd(24)} ${scenario.name.padEnd(14)} ` +
            `${Math.round(result.rps).toString().padStart(8)} req/s  ` +
            `p99 ${
              Number.isFinite(result.p99Ms) ? result.p99Ms.toFixed(2) : "?"
            } ms  server ${
              Number.isFinite(result.cpuUsPerRequest)
                ? result.cpuUsPerRequest.toFixed(2)
                : "?"
            } µs/req${flags}`,
        );
      }
    }
  }
} finally {
  await Promise.allSettled(running.map((t) => t.stop()));
}

// -------------------------------------------------------------------- table

const loadAfter = await loadAverage();

const fmtInt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const rows: string[] = [];
for (const scenario of SCENARIOS) {
  const med = (name: string) =>
    median((samples.get(key(name, scenario.name)) ?? []).map((s) => s.rps));
  const denoRps = med(BASELINE_DENO);
  const nodeRps = med(BASELINE_NODE);
  const ratio = (rps: number, base: number) =>
    Number.isFinite(rps) && Number.isFinite(base) && base > 0
      ? `${(rps / base).toFixed(2)}×`
      : "—";
  for (const spec of specs) {
    const list = samples.get(key(spec.name, scenario.name)) ?? [];
    if (list.length === 0) continue;
    const rps = median(list.map((s) => s.rps));
    const p99 = median(list.map((s) => s.p99Ms).filter(Number.isFinite));
    const cpu = median(
      list.map((s) => s.cpuUsPerRequest).filter(Number.isFinite),
    );
    const all = list.map((s) => s.rps);
    const spread = (Math.max(...all) - Math.min(...all)) / rps;
    const errors = list.reduce((n, s) => n + s.socketErrors + s.non2xx, 0);
    rows.push(
      `| ${spec.label} | ${scenario.name} | ${fmtInt.format(rps)} | ` +
        `${list.length > 1 ? `${Math.round(spread * 100)}%` : "—"} | ` +
        `${Number.isFinite(p99) ? p99.toFixed(2) : "—"} | ` +
        `${Number.isFinite(cpu) ? cpu.toFixed(2) : "—"} | ` +
        `${ratio(rps, denoRps)} | ${ratio(rps, nodeRps)} |` +
        (errors > 0 ? ` ${errors} errors |` : " |"),
    );
  }
}
const table = [
  "| target | scenario | req/s | spread | p99 ms | server CPU µs/req | × Deno.serve | × node:http | notes |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ...rows,
].join("\n");

const headBytes = browserHeadBytes(40000); // a typical 5-digit port
const command = `deno run … bench/server_load.ts${
  Deno.args.length > 0 ? ` ${Deno.args.join(" ")}` : ""
}`;
const section = [
  "## Server load",
  "",
  `${
    new Date().toISOString().slice(0, 16).replace("T", " ")
  } UTC, \`${command}\`` +
  (quick ? " (quick smoke run, not for comparison)" : ""),
  "",
  ...(await machineLines()),
  `- wrk: ${wrkThreads} thread, ${connections} connections, ${durationS} s per run, ` +
  `median of ${rounds} interleaved round(s) after a ${warmupS} s warm-up; ` +
  (pin
    ? `wrk pinned to CPU ${WRK_CPU}, servers to CPU ${SERVER_CPU} (taskset)`
    : "not pinned"),
  `- Scenarios: plain \`GET /\`; browser = 11 headers, ${headBytes}-byte head; ` +
  `pipelined = ${PIPELINE_DEPTH} requests per write (bench/pipeline.lua)`,
  `- Load average (1 min) before / after: ${loadBefore} / ${loadAfter}`,
  "- Every target answers `Hello, World!` as `text/plain;charset=UTF-8`",
  "- req/s = median over rounds; spread = (max − min) / median; p99 = median " +
  "p99 latency (pipelined: per batch of 16); server CPU µs/req = the server " +
  "process's user + system CPU time during the run over the responses wrk " +
  "counted (median)",
  "- raw Deno.Conn loop (floor) is not an HTTP server: it answers every " +
  "`\\r\\n\\r\\n` with fixed bytes (bench/targets/raw_loop.ts), so it shows " +
  "what one read and one write per request cost on Deno here",
  "",
  table,
  "",
  ...[...notes].map(([name, text]) => {
    const label = specs.find((s) => s.name === name)?.label ?? name;
    return `- ${label}: ${text}`;
  }),
  ...(notes.size > 0 ? [""] : []),
  "Goals: h1 ≥ 0.9× Deno.serve on plain and browser (fastest h1 face ≥ 1.0×), " +
  "≥ 5× on pipelined, ≥ 2.5× node:http (issues #3, #4).",
].join("\n");

console.log("");
console.log(table);
if (notes.size > 0) {
  console.log("");
  for (const [name, text] of notes) console.log(`${name}: ${text}`);
}
if (!values["no-write"] && rows.length > 0) {
  await writeSection("server_load", section);
  console.log("\nWrote the server_load section of bench/RESULTS.md");
}

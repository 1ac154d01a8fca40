// deno-lint-ignore-file no-console
/**
 * Idle-connection memory benchmark: holds N (default 10,000) idle keep-alive
 * connections to each target and reads the server's resident memory (VmRSS
 * in /proc/<pid>/status). Each connection sends one request and reads its
 * response first, so the server holds a real keep-alive connection, not a
 * half-accepted socket. The table replaces the `idle_connections` section
 * of bench/RESULTS.md.
 *
 * Run it through `bench/run_idle.sh`, which raises `ulimit -n` for this
 * process and the servers it starts (10,000 sockets each side). Loopback's
 * default ephemeral range (32768–60999) has room for 10,000 connections to
 * one port.
 *
 * ```sh
 * bench/run_idle.sh [--connections=10000] [--targets=h1_serve,deno_serve,node_http,raw_loop]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { machineLines, writeSection } from "./_results.ts";
import {
  checkHello,
  commandOutput,
  errorLine,
  type RunningTarget,
  selectTargets,
  startTarget,
  type TargetSpec,
  TargetStartError,
} from "./_targets.ts";

const USAGE = `Usage: bench/run_idle.sh [options]
  (or: deno run --allow-run --allow-read --allow-write=bench/RESULTS.md \\
       --allow-net=127.0.0.1 bench/idle_connections.ts [options])

  --connections=N  idle keep-alive connections per target (default 10000)
  --batch=N        connections opened at once (default 500)
  --settle=S       seconds to wait for the second, settled reading (default
                   40; V8 gives back the young generation the connection
                   burst grew only after a while; 0 skips it)
  --targets=a,b    from h1_serve, h1_python, deno_serve, node_http,
                   raw_loop, node_http_deno (default
                   h1_serve,h1_python,deno_serve,node_http,raw_loop)
  --no-write       print only; leave bench/RESULTS.md alone`;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connections: { type: "string", default: "10000" },
    batch: { type: "string", default: "500" },
    settle: { type: "string", default: "40" },
    targets: {
      type: "string",
      default: "h1_serve,h1_python,deno_serve,node_http,raw_loop",
    },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const total = Number(values.connections);
const batch = Number(values.batch);
const settleS = Number(values.settle);
if (!(settleS >= 0)) {
  console.error("Cannot use --settle: expected seconds >= 0");
  Deno.exit(2);
}
if (
  !Number.isInteger(total) || total < 1 || !Number.isInteger(batch) || batch < 1
) {
  console.error("Cannot use --connections/--batch: expected positive integers");
  Deno.exit(2);
}
let specs: TargetSpec[];
try {
  specs = selectTargets(values.targets);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  Deno.exit(2);
}

// ------------------------------------------------------------------- /proc

// Deno wants --allow-all to read /proc/<pid>/ directly, so read through
// `cat` and `ls` (already allowed by --allow-run).

async function procField(
  pid: number,
  file: string,
  re: RegExp,
): Promise<number> {
  const text = await commandOutput("cat", [`/proc/${pid}/${file}`]);
  const m = re.exec(text);
  return m === null ? NaN : Number(m[1]);
}

/** Resident set size of a process, in KiB. */
function rssKiB(pid: number): Promise<number> {
  return procField(pid, "status", /^VmRSS:\s+(\d+)\s+kB/m);
}

/** Soft open-file limit of a process (Infinity when unlimited). */
async function fdLimit(pid: number): Promise<number> {
  const text = await commandOutput("cat", [`/proc/${pid}/limits`]);
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  return m === null || m[1] === "unlimited" ? Infinity : Number(m[1]);
}

/** Number of open file descriptors of a process. */
async function fdCount(pid: number): Promise<number> {
  const text = await commandOutput("ls", ["-1", `/proc/${pid}/fd`]);
  return text === "" ? NaN : text.split("\n").length;
}

const ownLimit = await fdLimit(Deno.pid);
if (ownLimit < total + 64) {
  console.error(
    `Cannot hold ${total} connections with an open-file limit of ${ownLimit}: ` +
      "run bench/run_idle.sh (it raises ulimit -n) or pass a smaller --connections",
  );
  Deno.exit(1);
}

// ------------------------------------------------------------------ client

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEAD_END = encoder.encode("\r\n\r\n");

function indexOfSeq(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * Sends one GET and reads its whole response (Content-Length framed).
 * Throws when the peer closes first or answers something other than 200.
 */
async function exchange(conn: Deno.TcpConn, port: number): Promise<void> {
  await conn.write(
    encoder.encode(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`),
  );
  let got = new Uint8Array(0);
  const buf = new Uint8Array(2048);
  for (let reads = 0; reads < 64; reads++) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed before a full response");
    const next = new Uint8Array(got.length + n);
    next.set(got);
    next.set(buf.subarray(0, n), got.length);
    got = next;
    const end = indexOfSeq(got, HEAD_END);
    if (end < 0) continue;
    const head = decoder.decode(got.subarray(0, end));
    if (!/^HTTP\/1\.1 200 /.test(head)) {
      throw new Error(`answered ${JSON.stringify(head.split("\r\n")[0])}`);
    }
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const want = cl === null ? 0 : Number(cl[1]);
    if (got.length - (end + 4) >= want) return;
  }
  throw new Error("response never completed");
}

interface Held {
  conns: Deno.TcpConn[];
  failed: number;
  firstError: string;
}

/** Opens `count` connections in batches, each after one full exchange. */
async function openIdle(port: number, count: number): Promise<Held> {
  const held: Held = { conns: [], failed: 0, firstError: "" };
  for (let done = 0; done < count; done += batch) {
    const size = Math.min(batch, count - done);
    const results = await Promise.allSettled(
      Array.from({ length: size }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        const timer = setTimeout(() => conn.close(), 10_000);
        try {
          await exchange(conn, port);
        } catch (err) {
          try {
            conn.close();
          } catch { /* closed by the timer */ }
          throw err;
        } finally {
          clearTimeout(timer);
        }
        return conn;
      }),
    );
    for (const r of results) {
      if (r.status === "fulfilled") held.conns.push(r.value);
      else {
        held.failed++;
        if (held.firstError === "") {
          held.firstError = r.reason instanceof Error
            ? r.reason.message
            : String(r.reason);
        }
      }
    }
    // Stop early when the server is refusing or dropping us wholesale.
    if (held.failed > Math.max(100, count / 10)) break;
  }
  return held;
}

/** Re-uses every `step`-th held connection for one more request. */
async function recheck(
  conns: Deno.TcpConn[],
  port: number,
  step: number,
): Promise<{ tried: number; ok: number }> {
  const picked = conns.filter((_, i) => i % step === 0);
  const results = await Promise.allSettled(picked.map(async (conn) => {
    const timer = setTimeout(() => conn.close(), 5000);
    try {
      await exchange(conn, port);
    } finally {
      clearTimeout(timer);
    }
  }));
  return {
    tried: picked.length,
    ok: results.filter((r) => r.status === "fulfilled").length,
  };
}

function closeAll(conns: Deno.TcpConn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --------------------------------------------------------------------- run

interface Row {
  label: string;
  held: number;
  baseMiB: number;
  loadedMiB: number;
  settledMiB: number;
  perConnKiB: number;
  serverFds: number;
  recheck: string;
  note: string;
}

const rows: Row[] = [];
const skipped: string[] = [];
const mib = (kib: number) => kib / 1024;

console.log(
  `Idle connections: ${total} per target, batches of ${batch}; ` +
    `open-file limit ${ownLimit}`,
);

for (const spec of specs) {
  let target: RunningTarget;
  try {
    target = await startTarget(spec, { args: ["--hold-idle"] });
  } catch (err) {
    if (!(err instanceof TargetStartError)) throw err;
    skipped.push(`- ${spec.label}: skipped: ${err.message}`);
    console.log(`  ${spec.label}: skipped: ${err.message}`);
    continue;
  }
  let held: Held = { conns: [], failed: 0, firstError: "" };
  try {
    const bad = await checkHello(target.port);
    if (bad !== null) {
      skipped.push(`- ${spec.label}: skipped: wrong response (${bad})`);
      console.log(`  ${spec.label}: skipped: wrong response (${bad})`);
      continue;
    }
    const serverLimit = await fdLimit(target.pid);
    await sleep(500);
    const base = await rssKiB(target.pid);
    const t0 = performance.now();
    held = await openIdle(target.port, total);
    const openS = (performance.now() - t0) / 1000;
    await sleep(2000); // let the server settle (GC, buffers) before reading
    const loaded = await rssKiB(target.pid);
    const fds = await fdCount(target.pid);
    const check = await recheck(held.conns, target.port, 100);
    // The steady state of a server holding idle connections: the 2 s reading
    // still counts young-generation space the burst of accepts grew.
    let settled = NaN;
    if (settleS > 0) {
      await sleep(settleS * 1000);
      settled = await rssKiB(target.pid);
    }
    const notes: string[] = [];
    if (held.failed > 0) {
      notes.push(`${held.failed} failed to open (${held.firstError})`);
    }
    if (fds < held.conns.length || check.ok < check.tried) {
      notes.push("server closed idle connections before the reading");
    }
    if (serverLimit < total + 64) {
      notes.push(`server open-file limit ${serverLimit}`);
    }
    if (!target.alive()) {
      notes.push(`server exited: ${errorLine(target.stderrTail())}`);
    }
    const row: Row = {
      label: spec.label,
      held: held.conns.length,
      baseMiB: mib(base),
      loadedMiB: mib(loaded),
      settledMiB: mib(settled),
      perConnKiB: held.conns.length > 0
        ? (loaded - base) / held.conns.length
        : NaN,
      serverFds: fds,
      recheck: `${check.ok}/${check.tried}`,
      note: notes.join("; "),
    };
    rows.push(row);
    console.log(
      `  ${spec.label.padEnd(24)} ${row.held} held (opened in ${
        openS.toFixed(1)
      } s), ` +
        `RSS ${row.baseMiB.toFixed(1)} → ${row.loadedMiB.toFixed(1)} MiB ` +
        `(${row.perConnKiB.toFixed(2)} KiB/conn), settled ${
          row.settledMiB.toFixed(1)
        } MiB, server fds ${fds}, ` +
        `recheck ${row.recheck}${row.note === "" ? "" : `; ${row.note}`}`,
    );
  } finally {
    closeAll(held.conns);
    await target.stop();
  }
}

if (rows.length === 0) {
  console.error("No target measured");
  Deno.exit(1);
}

const table = [
  "| target | held | RSS idle MiB | RSS held MiB (2 s) | KiB / conn | RSS held MiB (settled) | KiB / conn settled | server fds | recheck | notes |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ...rows.map((r) =>
    `| ${r.label} | ${r.held} | ${r.baseMiB.toFixed(1)} | ${
      r.loadedMiB.toFixed(1)
    } | ` +
    `${r.perConnKiB.toFixed(2)} | ${
      isNaN(r.settledMiB) ? "—" : r.settledMiB.toFixed(1)
    } | ${
      isNaN(r.settledMiB)
        ? "—"
        : ((r.settledMiB - r.baseMiB) * 1024 / r.held).toFixed(2)
    } | ${r.serverFds} | ${r.recheck} | ${r.note} |`
  ),
].join("\n");

console.log("");
console.log(table);

const section = [
  "## Idle connections",
  "",
  `${
    new Date().toISOString().slice(0, 16).replace("T", " ")
  } UTC, \`bench/run_idle.sh${
    Deno.args.length > 0 ? ` ${Deno.args.join(" ")}` : ""
  }\``,
  "",
  ...(await machineLines()),
  `- ${total} keep-alive connections per target, opened ${batch} at a time, ` +
  "each after one full GET; RSS = VmRSS of the server process before opening, " +
  "2 s after the last one and again after " + settleS + " s more (settled: " +
  "V8 has shrunk the young generation the burst grew); server fds counts " +
  "/proc/<pid>/fd; recheck = every 100th connection still answers a second GET",
  "",
  table,
  "",
  ...skipped,
  ...(skipped.length > 0 ? [""] : []),
  "Goal: h1 < 100 MB RSS holding 10,000 idle keep-alive connections (issue #3).",
].join("\n");

if (!values["no-write"]) {
  await writeSection("idle_connections", section);
  console.log("\nWrote the idle_connections section of bench/RESULTS.md");
}

/**
 * Server targets for the load benchmarks: which files exist, how to start
 * one as a subprocess, wait for its `Listening on …` line, probe it and stop
 * it. Internal to bench/.
 *
 * @module
 */

/** One server to benchmark. */
export interface TargetSpec {
  /** Short name used by `--targets`. */
  name: string;
  /** Name printed in tables. */
  label: string;
  /** File under bench/targets/. */
  file: string;
  /** Which runtime runs the file. */
  runtime: "deno" | "node";
}

/** Every known target; `DEFAULT_TARGETS` are the ones run without `--targets`. */
export const TARGETS: readonly TargetSpec[] = [
  {
    name: "h1_serve",
    label: "h1 serve()",
    file: "h1_serve.ts",
    runtime: "deno",
  },
  {
    name: "h1_python",
    label: "h1 ThreadingHTTPServer",
    file: "h1_python.ts",
    runtime: "deno",
  },
  {
    name: "deno_serve",
    label: "Deno.serve",
    file: "deno_serve.ts",
    runtime: "deno",
  },
  {
    name: "node_http",
    label: "node:http (Node)",
    file: "node_http.mjs",
    runtime: "node",
  },
  {
    // Not an HTTP server: the cost of one read and one write per request on
    // Deno.Conn, which no server on Deno.listen can go below.
    name: "raw_loop",
    label: "raw Deno.Conn loop (floor)",
    file: "raw_loop.ts",
    runtime: "deno",
  },
  {
    name: "node_http_deno",
    label: "node:http (Deno)",
    file: "node_http.mjs",
    runtime: "deno",
  },
];

/** Targets run when `--targets` is not given. */
export const DEFAULT_TARGETS: readonly string[] = [
  "h1_serve",
  "h1_python",
  "deno_serve",
  "node_http",
  "raw_loop",
];

/** Name of the peer every ratio is computed against first. */
export const BASELINE_DENO = "deno_serve";
/** Name of the second ratio peer. */
export const BASELINE_NODE = "node_http";

/**
 * Looks targets up by name, in the order given.
 *
 * @param names comma-separated list, e.g. `"deno_serve,node_http"`
 * @returns the specs, or throws `RangeError` naming an unknown target
 */
export function selectTargets(names: string): TargetSpec[] {
  const picked: TargetSpec[] = [];
  for (const raw of names.split(",")) {
    const name = raw.trim();
    if (name === "") continue;
    const spec = TARGETS.find((t) => t.name === name);
    if (spec === undefined) {
      const known = TARGETS.map((t) => t.name).join(", ");
      throw new RangeError(`Unknown target "${name}": use one of ${known}`);
    }
    picked.push(spec);
  }
  return picked;
}

/** Absolute path of a target's file. */
export function targetPath(spec: TargetSpec): string {
  return new URL(`./targets/${spec.file}`, import.meta.url).pathname;
}

/** Options for `startTarget`. */
export interface StartOptions {
  /** Pin the server to this CPU with `taskset -c` (needs taskset). */
  cpu?: number;
  /** Extra arguments after the port, e.g. `["--hold-idle"]`. */
  args?: string[];
  /** How long to wait for the `Listening on` line. */
  startTimeoutMs?: number;
}

/** A started server subprocess. */
export interface RunningTarget {
  spec: TargetSpec;
  port: number;
  url: string;
  /** Pid of the server process itself (taskset execs, so it is the same). */
  pid: number;
  /** True while the process has not exited. */
  alive(): boolean;
  /** How it exited, e.g. `"exit code 3"` or `"signal SIGSEGV"`; "" while alive. */
  exitInfo(): string;
  /** Last few KB of stderr, for error notes. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after a grace period; waits for exit. */
  stop(): Promise<void>;
}

/** Thrown when a target cannot be started; `message` is a one-line note. */
export class TargetStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TargetStartError";
  }
}

const LISTEN_RE = /Listening on http:\/\/127\.0\.0\.1:(\d+)\//;
const TAIL_BYTES = 4096;

/** Returns true when `cmd` is found on PATH. */
export async function hasCommand(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v ${cmd}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Runs a command and returns its trimmed stdout, or "" when it fails. */
export async function commandOutput(
  cmd: string,
  args: string[],
): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
  } catch {
    return "";
  }
}

/**
 * Picks the most telling line of a process's stderr: Deno's `error: …`
 * line or an `…Error` line, else the last line; colours stripped.
 *
 * @param text stderr text
 * @returns one line, at most 200 characters
 */
export function errorLine(text: string): string {
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const lines = plain.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  // Deno prints "error: …" first and a stack after; the error line says most.
  const err = lines.find((l) => /^(error|\w*Error)\b/.test(l));
  return (err ?? lines.at(-1) ?? "").slice(0, 200);
}

/**
 * Starts a target on port 0 and waits until it prints its address.
 *
 * @param spec the target
 * @param options CPU pinning, extra args, start timeout
 * @returns the running server; throws `TargetStartError` with a one-line note
 */
export async function startTarget(
  spec: TargetSpec,
  options: StartOptions = {},
): Promise<RunningTarget> {
  const file = targetPath(spec);
  try {
    await Deno.stat(file);
  } catch {
    throw new TargetStartError(`missing file bench/targets/${spec.file}`);
  }
  const argv = spec.runtime === "node" ? ["node", file, "0"] : [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    file,
    "0",
  ];
  argv.push(...(options.args ?? []));
  if (options.cpu !== undefined) {
    argv.unshift("taskset", "-c", String(options.cpu));
  }
  const [cmd, ...args] = argv as [string, ...string[]];

  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
  } catch (err) {
    throw new TargetStartError(
      `cannot run ${cmd}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  let exited = false;
  let exitInfo = "";
  const status = child.status.then((s) => {
    exited = true;
    exitInfo = s.signal !== null ? `signal ${s.signal}` : `exit code ${s.code}`;
    return s;
  });

  let tail = "";
  const stderrDone = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      tail = (tail + chunk).slice(-TAIL_BYTES);
    }
  })();

  // Read stdout until the Listening line, then keep draining in the
  // background so a chatty server never blocks on a full pipe.
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const waitListen = (async (): Promise<number | null> => {
    let buf = "";
    while (true) {
      const { value, done } = await lines.read();
      if (done) return null;
      buf += value;
      const m = LISTEN_RE.exec(buf);
      if (m !== null) return Number(m[1]);
      buf = buf.slice(-1024);
    }
  })();
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const port = await Promise.race([waitListen, timedOut]);
  clearTimeout(timer);

  const stdoutDone = (async () => {
    try {
      while (!(await lines.read()).done) { /* discard */ }
    } catch { /* closed */ }
  })();

  async function stop(): Promise<void> {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, 3000);
      });
      await Promise.race([status, grace]);
      clearTimeout(graceTimer);
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    }
    await status;
    await Promise.allSettled([stdoutDone, stderrDone]);
  }

  if (typeof port !== "number") {
    await stop();
    const why = port === "timeout"
      ? `no "Listening on" line within ${timeoutMs} ms`
      : `exited before listening (${exitInfo})`;
    const detail = errorLine(tail);
    throw new TargetStartError(detail === "" ? why : `${why}: ${detail}`);
  }

  return {
    spec,
    port,
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid,
    alive: () => !exited,
    exitInfo: () => exitInfo,
    stderrTail: () => tail,
    stop,
  };
}

/** What one probe request saw. */
export interface ProbeResult {
  status: number;
  headers: [string, string][];
  body: string;
}

/**
 * Sends one `GET /` with `Connection: close` and reads the answer to EOF.
 *
 * @param port server port on 127.0.0.1
 * @param timeoutMs give up after this long
 * @returns status, header pairs and body text
 */
// Whether `text` holds a whole response head and its Content-Length body.
function complete(text: string): boolean {
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return false;
  const length = /^content-length:\s*(\d+)\s*$/im.exec(text.slice(0, split));
  return length !== null &&
    text.length - (split + 4) >= Number(length[1]);
}

export async function probe(
  port: number,
  timeoutMs = 5000,
): Promise<ProbeResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, timeoutMs);
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
      ),
    );
    // Until the server closes or the Content-Length is in: the raw loop
    // target ignores Connection: close.
    let text = "";
    const buf = new Uint8Array(16 * 1024);
    const decoder = new TextDecoder();
    for (let i = 0; i < 1000 && !complete(text); i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    const split = text.indexOf("\r\n\r\n");
    if (split < 0) {
      throw new Error(
        `no complete head in ${JSON.stringify(text.slice(0, 64))}`,
      );
    }
    const [statusLine = "", ...fieldLines] = text.slice(0, split).split("\r\n");
    const status = Number(statusLine.split(" ")[1]);
    const headers = fieldLines.map((line): [string, string] => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    });
    return { status, headers, body: text.slice(split + 4) };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by timer */ }
  }
}

/**
 * Checks that a target answers the shared hello-world response.
 *
 * @param port server port on 127.0.0.1
 * @returns null when it matches, else a one-line note of what differs
 */
export async function checkHello(port: number): Promise<string | null> {
  let res: ProbeResult | undefined;
  let error = "";
  // A server may print its address a moment before it accepts; retry a
  // refused connection for up to 2 s.
  for (let attempt = 0; attempt < 20 && res === undefined; attempt++) {
    try {
      res = await probe(port);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      if (!(err instanceof Deno.errors.ConnectionRefused)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (res === undefined) return `probe failed: ${error}`;
  if (res.status !== 200) return `probe got status ${res.status}`;
  if (res.body !== "Hello, World!") {
    return `probe got body ${JSON.stringify(res.body.slice(0, 40))}`;
  }
  const type = res.headers.find(([k]) => k === "content-type")?.[1];
  if (type?.replaceAll(" ", "").toLowerCase() !== "text/plain;charset=utf-8") {
    return `probe got content-type ${JSON.stringify(type ?? null)}`;
  }
  return null;
}

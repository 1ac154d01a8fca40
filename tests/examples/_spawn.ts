/**
 * Helpers to run examples as real subprocesses in tests: start one, wait
 * for a stdout line (the "Listening on ..." line gives the port), collect
 * output, and always kill it.
 *
 * @module
 */

import { BufferedReader } from "../../net/mod.ts";

/** Matches `Listening on tcp://127.0.0.1:1234` (any scheme); group 1 = port. */
export const LISTENING_LINE = /^Listening on [a-z]+:\/\/[^\s]*?:(\d+)/;

/** Options for {@linkcode spawnExample} and {@linkcode runExample}. */
export interface SpawnExampleOptions {
  /** Arguments after the script, e.g. `["--port=0"]`. */
  args?: string[];
  /** Deno permission flags, e.g. `["--allow-net=127.0.0.1"]`. */
  permissions?: string[];
  /** Stdout line to wait for; its first group, if any, is the port. */
  waitFor?: RegExp;
  /** How long to wait for that line (or, for `runExample`, the exit). */
  timeoutMs?: number;
  /** Text written to the child's stdin, which is then closed. */
  stdin?: string;
}

/** A running example; dispose it (or call `kill`) in a `finally`. */
export interface SpawnedExample extends AsyncDisposable {
  /** The child process. */
  process: Deno.ChildProcess;
  /** Port from the first group of the matched line; `NaN` without one. */
  port: number;
  /** The line that matched `waitFor`. */
  match: RegExpMatchArray;
  /** Stdout lines so far; grows while the child runs. */
  lines: string[];
  /** Stderr lines so far. */
  stderrLines: string[];
  /** Waits until a stdout line at index `from` or later matches. */
  waitForLine(pattern: RegExp, options?: WaitOptions): Promise<string>;
  /** Sends `signal` (if still running) and waits for the exit status. */
  kill(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Options for {@linkcode SpawnedExample.waitForLine}. */
export interface WaitOptions {
  /** Give up after this many ms. */
  timeoutMs?: number;
  /** First line index to look at. */
  from?: number;
}

/** Output of an example that ran to its end. */
export interface ExampleResult {
  /** Exit code. */
  code: number;
  /** All of stdout, decoded. */
  stdout: string;
  /** All of stderr, decoded. */
  stderr: string;
}

/** Absolute path of `examples/<name>`. */
export function examplePath(name: string): string {
  return new URL(`../../examples/${name}`, import.meta.url).pathname;
}

function command(name: string, options: SpawnExampleOptions): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...(options.permissions ?? []),
      examplePath(name),
      ...(options.args ?? []),
    ],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

async function writeStdin(
  process: Deno.ChildProcess,
  text: string | undefined,
) {
  if (text === undefined) return;
  const writer = process.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
  } catch {
    // the child exited before reading its input
  }
}

/**
 * Starts `examples/<name>` with `deno run` and waits for the stdout line
 * matching `waitFor` (default {@linkcode LISTENING_LINE}).
 *
 * @param name File name under `examples/`.
 * @param options Arguments, permissions and what to wait for.
 * @returns The running example; dispose it in a `finally`.
 */
export async function spawnExample(
  name: string,
  options: SpawnExampleOptions = {},
): Promise<SpawnedExample> {
  const process = command(name, options).spawn();
  const lines: string[] = [];
  const stderrLines: string[] = [];
  let wake: () => void = () => {};
  let changed = new Promise<void>((resolve) => (wake = resolve));
  let ended = false;
  const notify = () => {
    wake();
    changed = new Promise<void>((resolve) => (wake = resolve));
  };
  const pump = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    const reader = new BufferedReader(readerOf(stream));
    for (let line; (line = await reader.readLine()) !== null;) {
      into.push(line);
      notify();
    }
  };
  const pumping = Promise.all([
    pump(process.stdout, lines),
    pump(process.stderr, stderrLines),
  ]).finally(() => {
    ended = true;
    notify();
  });
  const stdinDone = writeStdin(process, options.stdin);

  async function waitForLine(
    pattern: RegExp,
    { timeoutMs = 10_000, from = 0 }: WaitOptions = {},
  ): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const line = lines.slice(from).find((line) => pattern.test(line));
      if (line !== undefined) return line;
      if (ended) {
        throw new Error(
          `Example ${name} ended before printing ${pattern}\nstdout:\n${
            lines.join("\n")
          }\nstderr:\n${stderrLines.join("\n")}`,
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `Example ${name} printed no line matching ${pattern} in ${timeoutMs} ms\nstdout:\n${
            lines.join("\n")
          }\nstderr:\n${stderrLines.join("\n")}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        changed,
        new Promise((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
  }

  let status: Promise<Deno.CommandStatus> | undefined;
  async function kill(signal: Deno.Signal = "SIGTERM") {
    if (status === undefined) {
      try {
        process.kill(signal);
      } catch {
        // already exited
      }
      status = process.status;
    }
    const result = await status;
    await pumping;
    await stdinDone;
    return result;
  }

  const waitFor = options.waitFor ?? LISTENING_LINE;
  let line: string;
  try {
    line = await waitForLine(waitFor, {
      timeoutMs: options.timeoutMs ?? 20_000,
    });
  } catch (error) {
    await kill("SIGKILL");
    throw error;
  }
  const match = line.match(waitFor)!;
  return {
    process,
    port: match[1] === undefined ? NaN : Number(match[1]),
    match,
    lines,
    stderrLines,
    waitForLine,
    kill,
    [Symbol.asyncDispose]: async () => {
      await kill();
    },
  };
}

/**
 * Runs `examples/<name>` to its end and returns its exit code and output.
 *
 * @param name File name under `examples/`.
 * @param options Arguments, permissions, stdin and a time limit.
 * @returns Exit code, stdout and stderr.
 */
export async function runExample(
  name: string,
  options: SpawnExampleOptions = {},
): Promise<ExampleResult> {
  const process = command(name, options).spawn();
  const stdinDone = writeStdin(process, options.stdin);
  const timer = setTimeout(() => {
    try {
      process.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, options.timeoutMs ?? 20_000);
  try {
    const output = await process.output();
    await stdinDone;
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads lines until one matches `pattern`, within `timeoutMs`; handy for
 * line-based example servers.
 *
 * @param reader A reader over the socket.
 * @param pattern What to wait for.
 * @param timeoutMs Overall limit.
 * @returns The matching line and the lines skipped before it.
 */
export async function readLineMatching(
  reader: BufferedReader,
  pattern: RegExp,
  timeoutMs = 5000,
): Promise<{ line: string; skipped: string[] }> {
  const deadline = performance.now() + timeoutMs;
  const skipped: string[] = [];
  while (true) {
    const left = Math.max(1, deadline - performance.now());
    const line = await reader.readLine({ timeoutMs: left });
    if (line === null) {
      throw new Error(
        `Connection closed before a line matching ${pattern}; got:\n${
          skipped.join("\n")
        }`,
      );
    }
    if (pattern.test(line)) return { line, skipped };
    skipped.push(line);
  }
}

function readerOf(stream: ReadableStream<Uint8Array>): {
  read(p: Uint8Array): Promise<number | null>;
} {
  const reader = stream.getReader();
  let rest: Uint8Array | undefined;
  return {
    async read(p) {
      if (rest === undefined || rest.length === 0) {
        const { done, value } = await reader.read();
        if (done) return null;
        rest = value;
      }
      const n = Math.min(p.length, rest.length);
      p.set(rest.subarray(0, n));
      rest = rest.subarray(n);
      return n;
    },
  };
}

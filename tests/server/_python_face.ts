/**
 * Helpers for the Python-face tests: run an `HTTPServer` (or subclass) on
 * 127.0.0.1 port 0 with its log captured, and tear it down.
 *
 * @module
 */

import {
  HTTPServer,
  type HTTPServerOptions,
} from "../../server/http_server.ts";
import type { RequestHandlerClass } from "../../server/request_handler.ts";

/** A running server with its captured log. */
export interface RunningServer {
  server: HTTPServer;
  port: number;
  /** Everything the server logged, line by line as written. */
  log: string[];
}

/**
 * Serves `Handler` with `serve_forever()` while `body` runs, then shuts the
 * server down and closes it.
 */
export async function withServer<T>(
  Handler: RequestHandlerClass,
  body: (running: RunningServer) => Promise<T>,
  options: HTTPServerOptions & { Server?: typeof HTTPServer } = {},
): Promise<T> {
  const log: string[] = [];
  const { Server = HTTPServer, ...rest } = options;
  const server = new Server(["127.0.0.1", 0], Handler, {
    logWriter: (text) => log.push(text),
    ...rest,
  });
  const serving = server.serve_forever();
  try {
    return await body({ server, port: server.server_port, log });
  } finally {
    await server.shutdown();
    await serving;
    await server[Symbol.asyncDispose]();
  }
}

/**
 * Runs a Python script (written to a temporary file) that prints
 * `Listening on http://host:PORT/` once it serves, calls `body` with that
 * port, then kills it. Fails the test if it does not start in time.
 */
export async function withPythonScript<T>(
  python: string,
  source: string,
  args: string[],
  body: (port: number) => Promise<T>,
  startTimeoutMs = 10_000,
): Promise<T> {
  const dir = await Deno.makeTempDir();
  const script = `${dir}/server.py`;
  await Deno.writeTextFile(script, source);
  const child = new Deno.Command(python, {
    args: ["-u", script, ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let seen = "";
    let match: RegExpMatchArray | null = null;
    const deadline = Date.now() + startTimeoutMs;
    while (
      (match = seen.match(/Listening on http:\/\/[^:]+:(\d+)\//)) === null
    ) {
      if (Date.now() >= deadline) {
        throw new Error(`python3 did not start in ${startTimeoutMs} ms`);
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`python3 exited early: ${seen}`);
      seen += value;
    }
    return await body(Number(match[1]));
  } finally {
    child.kill("SIGKILL");
    await reader.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/** The wire text with the Server and Date values masked, for comparing. */
export function maskServerAndDate(text: string): string {
  return text.replace(/\r\nServer: [^\r\n]*/g, "\r\nServer: <masked>")
    .replace(/\r\nDate: [^\r\n]*/g, "\r\nDate: <masked>");
}

/**
 * Whether `python` runs and has `http.server` (the comparison tests skip,
 * with a message, when it does not).
 */
export async function pythonAvailable(python = "python3"): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(python, {
      args: ["-c", "import http.server"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

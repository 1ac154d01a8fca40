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

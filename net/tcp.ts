/**
 * TCP listen and connect over `Deno.listen` / `Deno.connect`, with a
 * connect timeout and typed errors.
 *
 * @module
 */

import { TimeoutError, toNetError } from "./errors.ts";

/** Options for {@linkcode listenTcp}. */
export interface ListenTcpOptions {
  /** Interface to bind; loopback unless you mean to be reachable. */
  hostname?: string;
  /** Port to bind; `0` lets the OS pick a free one (read it from `addr`). */
  port?: number;
}

/** Options for {@linkcode connectTcp}. */
export interface ConnectTcpOptions {
  /** Host name or IP literal to connect to. */
  hostname?: string;
  /** Port to connect to. */
  port: number;
  /**
   * Give up after this many milliseconds with a `TimeoutError`; like
   * Python's `socket.create_connection(address, timeout)`. Without it the
   * operating system decides (often two minutes).
   */
  timeoutMs?: number;
  /** Disable Nagle's algorithm, so small writes leave at once. */
  noDelay?: boolean;
}

/**
 * Binds a TCP listener (Python's `socket()` + `bind()` + `listen()`).
 *
 * Deno sets `SO_REUSEADDR` on Unix listeners, so a server can restart on its
 * port while old connections sit in `TIME_WAIT`; a port another program holds
 * still fails, with `AddressInUseError`.
 *
 * @param options Where to listen; defaults to `127.0.0.1`, port `0`.
 * @returns The listener; `for await (const conn of listener)` accepts.
 * @throws {AddressInUseError} When the port is taken.
 *
 * @example Usage
 * ```ts ignore
 * import { listenTcp } from "./tcp.ts";
 *
 * using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
 * console.log(`Listening on tcp://127.0.0.1:${listener.addr.port}`);
 * ```
 */
export function listenTcp(options: ListenTcpOptions = {}): Deno.TcpListener {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 0;
  try {
    return Deno.listen({ hostname, port, transport: "tcp" });
  } catch (error) {
    throw toNetError(error, { hostname, port });
  }
}

/**
 * Opens a TCP connection (Python's `socket.create_connection`), failing
 * with a typed error that says what to check.
 *
 * @param options Where to connect and how long to wait.
 * @returns The connected socket; close it when done.
 * @throws {ConnectionRefusedError} When nothing listens on the port.
 * @throws {TimeoutError} When `timeoutMs` passes first.
 * @throws {HostUnreachableError} When there is no route to the host.
 * @throws {HostNotFoundError} When the host name does not resolve.
 *
 * @example Usage
 * ```ts ignore
 * import { connectTcp, writeAll } from "./mod.ts";
 *
 * using conn = await connectTcp({ hostname: "127.0.0.1", port: 7000, timeoutMs: 2000 });
 * await writeAll(conn, new TextEncoder().encode("hello\n"));
 * ```
 */
export async function connectTcp(
  options: ConnectTcpOptions,
): Promise<Deno.TcpConn> {
  const hostname = options.hostname ?? "127.0.0.1";
  const { port, timeoutMs } = options;
  const address = { hostname, port };
  const controller = new AbortController();
  let timedOut = false;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, Math.max(0, timeoutMs));
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname,
      port,
      transport: "tcp",
      signal: controller.signal,
    });
  } catch (error) {
    if (timedOut) {
      throw new TimeoutError("connect", timeoutMs, address, { cause: error });
    }
    throw toNetError(error, address);
  } finally {
    clearTimeout(timer);
  }
  if (options.noDelay) conn.setNoDelay(true);
  return conn;
}

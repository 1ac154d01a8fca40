/**
 * Sockets for h1: TCP listen/connect with a connect timeout, line and
 * exact-length reads with per-call timeouts, `writeAll`, UDP over
 * `node:dgram`, and typed errors whose messages say what to do.
 *
 * @example Usage
 * ```ts ignore
 * import { BufferedReader, connectTcp, listenTcp, writeAll } from "./mod.ts";
 *
 * using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
 * using client = await connectTcp({ port: listener.addr.port, timeoutMs: 1000 });
 * using server = await listener.accept();
 * await writeAll(client, new TextEncoder().encode("hello\n"));
 * const reader = new BufferedReader(server, { timeoutMs: 1000 });
 * console.log(await reader.readLine()); // "hello"
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./tcp.ts";
export * from "./buffered_reader.ts";
export * from "./read_exactly.ts";
export * from "./write_all.ts";
export * from "./udp.ts";

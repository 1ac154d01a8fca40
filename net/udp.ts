/**
 * UDP sockets: `sendto` / `recvfrom` with receive timeouts and typed errors.
 *
 * Built on `node:dgram`, not `Deno.listenDatagram`: in Deno 2 the latter is
 * still behind `--unstable-net`, and an example that needs an unstable flag
 * is one more thing to get wrong. `node:dgram` runs under plain
 * `--allow-net`. The surface mirrors `Deno.DatagramConn` (`send`, `receive`,
 * `addr`, `close`), so switching once it is stable touches only this file.
 *
 * @module
 */

import dgram from "node:dgram";
import { formatAddress, type NetAddress } from "./_address.ts";
import { TimeoutError, toNetError } from "./errors.ts";

/** Options for {@linkcode listenUdp}. */
export interface ListenUdpOptions {
  /** Interface to bind; loopback unless you mean to be reachable. */
  hostname?: string;
  /** Port to bind; `0` lets the OS pick one (read it from `addr`). */
  port?: number;
  /**
   * Datagrams kept while nobody calls `receive`; later ones are dropped,
   * as a full kernel buffer would.
   */
  maxQueued?: number;
}

/** One received datagram and who sent it. */
export interface Datagram {
  /** The payload. */
  data: Uint8Array;
  /** The sender; pass it to `send` to answer. */
  remoteAddr: NetAddress;
}

/** Options for {@linkcode UdpSocket.receive}. */
export interface ReceiveOptions {
  /** Throw `TimeoutError` when nothing arrives in time, in milliseconds. */
  timeoutMs?: number;
}

/** Default {@linkcode ListenUdpOptions.maxQueued}. */
export const DEFAULT_MAX_QUEUED = 1024;

type Waiter = {
  resolve: (datagram: Datagram) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
};

/**
 * A bound UDP socket (Python's `socket(AF_INET, SOCK_DGRAM)` after `bind`).
 * Get one from {@linkcode listenUdp}.
 *
 * @example Usage
 * ```ts ignore
 * import { listenUdp } from "./udp.ts";
 *
 * await using socket = await listenUdp({ hostname: "127.0.0.1", port: 0 });
 * for await (const { data, remoteAddr } of socket) {
 *   await socket.send(data, remoteAddr); // echo
 * }
 * ```
 */
export class UdpSocket implements AsyncDisposable {
  #socket: dgram.Socket;
  #addr: NetAddress;
  #maxQueued: number;
  #queue: Datagram[] = [];
  #waiters: Waiter[] = [];
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Wraps an already bound `node:dgram` socket; use {@linkcode listenUdp}.
   *
   * @param socket A bound `node:dgram` socket.
   * @param maxQueued Datagrams kept while nobody receives.
   */
  constructor(socket: dgram.Socket, maxQueued: number = DEFAULT_MAX_QUEUED) {
    this.#socket = socket;
    const { address, port } = socket.address();
    this.#addr = { hostname: address, port };
    this.#maxQueued = maxQueued;
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      const datagram = {
        // A copy the datagram's size: node's message is a view of a 64 KiB
        // receive buffer, which a queued datagram would otherwise keep.
        data: new Uint8Array(msg),
        remoteAddr: { hostname: rinfo.address, port: rinfo.port },
      };
      const waiter = this.#waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(datagram);
      } else if (this.#queue.length < this.#maxQueued) {
        this.#queue.push(datagram);
      }
    });
    socket.on("error", (error: unknown) => {
      for (const waiter of this.#waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(toNetError(error, this.#addr));
      }
    });
  }

  /** The local address; its `port` is the real one after binding port `0`. */
  get addr(): NetAddress {
    return { ...this.#addr };
  }

  /**
   * Sends one datagram (Python's `sendto`). Resolving means the OS took it,
   * not that anyone received it: UDP has no delivery guarantee.
   *
   * @param data The payload; keep it under ~1400 bytes to avoid fragmentation.
   * @param to Where to send it.
   * @returns How many bytes were sent.
   */
  send(data: Uint8Array, to: NetAddress): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#socket.send(data, to.port, to.hostname, (error, bytes) => {
        if (error) reject(explainSendError(error, to));
        else resolve(bytes);
      });
    });
  }

  /**
   * Waits for the next datagram (Python's `recvfrom`).
   *
   * @param options Timeout, like Python's `settimeout` before `recvfrom`.
   * @returns The datagram and its sender.
   * @throws {TimeoutError} When nothing arrives in time.
   * @throws {Deno.errors.BadResource} When the socket is closed.
   */
  receive(options: ReceiveOptions = {}): Promise<Datagram> {
    if (this.#closed) return Promise.reject(closedError());
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      const { timeoutMs } = options;
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(new TimeoutError("read", timeoutMs));
        }, Math.max(0, timeoutMs));
      }
      this.#waiters.push(waiter);
    });
  }

  /**
   * Yields datagrams until the socket is closed.
   *
   * @returns An async iterator of datagrams.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Datagram> {
    while (true) {
      try {
        yield await this.receive();
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
    }
  }

  /**
   * Closes the socket; pending `receive` calls reject, iteration ends.
   *
   * @returns Resolves once the OS socket is closed.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#queue.length = 0;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(closedError());
    }
    this.#closing = new Promise((resolve) => this.#socket.close(resolve));
    return this.#closing;
  }

  /** Closes the socket at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Binds a UDP socket (Python's `socket(AF_INET, SOCK_DGRAM)` + `bind`).
 * A client binds port `0` too: it needs an address to get replies on.
 *
 * @param options Where to bind; defaults to `127.0.0.1`, port `0`.
 * @returns The bound socket; close it when done.
 * @throws {AddressInUseError} When another socket holds the port.
 * @throws {Deno.errors.NotCapable} Without `--allow-net` for the address.
 *
 * @example Usage
 * ```ts ignore
 * import { listenUdp } from "./udp.ts";
 *
 * await using client = await listenUdp();
 * await client.send(new TextEncoder().encode("ping"), {
 *   hostname: "127.0.0.1",
 *   port: 7001,
 * });
 * const { data } = await client.receive({ timeoutMs: 1000 });
 * console.log(new TextDecoder().decode(data));
 * ```
 */
export async function listenUdp(
  options: ListenUdpOptions = {},
): Promise<UdpSocket> {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 0;
  // Deno's node:dgram raises a missing --allow-net grant from a callback,
  // where no caller can catch it: ask first, so it is this call's error.
  const grant = `${
    hostname.includes(":") ? `[${hostname}]` : hostname
  }:${port}`;
  const permission = await Deno.permissions.request({
    name: "net",
    host: grant,
  });
  if (permission.state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Requires net access to "${grant}", run again with the --allow-net flag`,
    );
  }
  const socket = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, hostname, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // never bound: nothing to close
      }
    });
    throw toNetError(error, { hostname, port });
  }
  return new UdpSocket(socket, options.maxQueued);
}

function closedError(): Error {
  return new Deno.errors.BadResource(
    "Cannot receive: the UDP socket is closed",
  );
}

// node:dgram reports a missing --allow-net as "send UNKNOWN"; say what it is.
function explainSendError(error: Error, to: NetAddress): unknown {
  const host = formatAddress(to);
  const status = Deno.permissions.querySync({ name: "net", host });
  if (status.state !== "granted") {
    return new Deno.errors.NotCapable(
      `Cannot send to ${host}: run again with --allow-net=${host}`,
      { cause: error },
    );
  }
  return toNetError(error, to);
}

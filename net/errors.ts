/**
 * Typed socket errors with messages that say what to do next.
 *
 * Each class carries an errno-style `code` (the same strings Node and Deno
 * use) so callers can `switch` on it, and the original error as `cause`.
 * {@linkcode toNetError} turns what `Deno.listen`, `Deno.connect` or
 * `node:dgram` throw into these classes.
 *
 * @module
 */

/** The `code` of every {@linkcode NetError}. */
export type NetErrorCode =
  | "EADDRINUSE"
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "EHOSTUNREACH"
  | "ENETUNREACH"
  | "ENOTFOUND"
  | "ETIMEDOUT"
  | "EUNEXPECTEDEOF"
  | "ELIMITOVERRUN"
  | "ENOTSUP";

/** What the failing call was doing; names the timeout in messages. */
export type NetOperation = "listen" | "connect" | "read" | "write" | "send";

import { formatAddress, type NetAddress } from "./_address.ts";

export type { NetAddress };

/**
 * Base class of every error `net/` throws; catch it to handle all of them.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionRefusedError, NetError } from "./errors.ts";
 *
 * const error = new ConnectionRefusedError({ hostname: "127.0.0.1", port: 9 });
 * assert.ok(error instanceof NetError);
 * assert.equal(error.code, "ECONNREFUSED");
 * ```
 */
export class NetError extends Error {
  /** Errno-style code, e.g. `"ECONNREFUSED"`. */
  readonly code: NetErrorCode;

  /**
   * Creates a new `NetError`.
   *
   * @param message Sentence-case message, action first.
   * @param code Errno-style code.
   * @param options Standard error options; pass the original error as `cause`.
   */
  constructor(message: string, code: NetErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.name = "NetError";
    this.code = code;
  }
}

/**
 * Binding failed because another socket holds the address (`EADDRINUSE`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { AddressInUseError } from "./errors.ts";
 *
 * const error = new AddressInUseError({ hostname: "127.0.0.1", port: 8080 });
 * assert.equal(
 *   error.message,
 *   "Port 8080 on 127.0.0.1 is already in use: stop the other program or pass --port",
 * );
 * ```
 */
export class AddressInUseError extends NetError {
  /** The address that was taken. */
  readonly address: NetAddress;

  /**
   * Creates a new `AddressInUseError`.
   *
   * @param address The address that could not be bound.
   * @param options Standard error options; pass the original error as `cause`.
   */
  constructor(address: NetAddress, options?: ErrorOptions) {
    super(
      `Port ${address.port} on ${address.hostname} is already in use: stop the other program or pass --port`,
      "EADDRINUSE",
      options,
    );
    this.name = "AddressInUseError";
    this.address = address;
  }
}

/**
 * Nothing listens on the port we tried to reach (`ECONNREFUSED`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionRefusedError } from "./errors.ts";
 *
 * const error = new ConnectionRefusedError({ hostname: "127.0.0.1", port: 9 });
 * assert.equal(
 *   error.message,
 *   "Connection to 127.0.0.1:9 refused: is the server running?",
 * );
 * ```
 */
export class ConnectionRefusedError extends NetError {
  /** The address that refused. */
  readonly address: NetAddress;

  /**
   * Creates a new `ConnectionRefusedError`.
   *
   * @param address The address that refused the connection.
   * @param options Standard error options; pass the original error as `cause`.
   */
  constructor(address: NetAddress, options?: ErrorOptions) {
    super(
      `Connection to ${formatAddress(address)} refused: is the server running?`,
      "ECONNREFUSED",
      options,
    );
    this.name = "ConnectionRefusedError";
    this.address = address;
  }
}

/**
 * The peer dropped the connection abruptly (`ECONNRESET`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionResetError } from "./errors.ts";
 *
 * const error = new ConnectionResetError({ hostname: "127.0.0.1", port: 80 });
 * assert.equal(error.code, "ECONNRESET");
 * ```
 */
export class ConnectionResetError extends NetError {
  /** The peer that reset the connection. */
  readonly address: NetAddress | undefined;

  /**
   * Creates a new `ConnectionResetError`.
   *
   * @param address The peer, when known.
   * @param options Standard error options; pass the original error as `cause`.
   */
  constructor(address?: NetAddress, options?: ErrorOptions) {
    super(
      `Connection ${
        address ? `to ${formatAddress(address)} ` : ""
      }reset by the peer: it closed or crashed mid-conversation`,
      "ECONNRESET",
      options,
    );
    this.name = "ConnectionResetError";
    this.address = address;
  }
}

/**
 * No route to the host or its network (`EHOSTUNREACH` or `ENETUNREACH`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostUnreachableError } from "./errors.ts";
 *
 * const error = new HostUnreachableError(
 *   { hostname: "10.0.0.1", port: 80 },
 *   "ENETUNREACH",
 * );
 * assert.match(error.message, /^Network for 10\.0\.0\.1:80 is unreachable/);
 * ```
 */
export class HostUnreachableError extends NetError {
  /** The address we could not reach. */
  readonly address: NetAddress;

  /**
   * Creates a new `HostUnreachableError`.
   *
   * @param address The address we could not reach.
   * @param code Whether the host (`EHOSTUNREACH`) or its whole network
   *   (`ENETUNREACH`) has no route.
   * @param options Standard error options; pass the original error as `cause`.
   */
  constructor(
    address: NetAddress,
    code: "EHOSTUNREACH" | "ENETUNREACH" = "EHOSTUNREACH",
    options?: ErrorOptions,
  ) {
    super(
      code === "ENETUNREACH"
        ? `Network for ${
          formatAddress(address)
        } is unreachable: check your connection and routes`
        : `Host ${
          formatAddress(address)
        } is unreachable: check the address and that the host is up`,
      code,
      options,
    );
    this.name = "HostUnreachableError";
    this.address = address;
  }
}

/**
 * The host name did not resolve to an address (`ENOTFOUND`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostNotFoundError } from "./errors.ts";
 *
 * const error = new HostNotFoundError({ hostname: "exmaple.test", port: 80 });
 * assert.equal(
 *   error.message,
 *   'Cannot resolve host "exmaple.test": check the spelling and your DNS',
 * );
 * ```
 */
export class HostNotFoundError extends NetError {
  /** The address whose host did not resolve. */
  readonly address: NetAddress;

  /**
   * Creates a new `HostNotFoundError`.
   *
   * @param address The address whose host did not resolve.
   * @param options Standard error options; pass the original error as `cause`.
   */
  constructor(address: NetAddress, options?: ErrorOptions) {
    super(
      `Cannot resolve host "${address.hostname}": check the spelling and your DNS`,
      "ENOTFOUND",
      options,
    );
    this.name = "HostNotFoundError";
    this.address = address;
  }
}

/**
 * A connect, read, write or send took longer than its `timeoutMs`
 * (`ETIMEDOUT`); like Python's `socket.timeout`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimeoutError } from "./errors.ts";
 *
 * const error = new TimeoutError("read", 200, {
 *   hostname: "127.0.0.1",
 *   port: 7000,
 * });
 * assert.equal(
 *   error.message,
 *   "Read from 127.0.0.1:7000 timed out after 200 ms: the peer sent nothing in time",
 * );
 * ```
 */
export class TimeoutError extends NetError {
  /** The operation that timed out. */
  readonly operation: NetOperation;
  /** The timeout that expired, in milliseconds; `undefined` when the OS gave up. */
  readonly timeoutMs: number | undefined;

  /**
   * Creates a new `TimeoutError`.
   *
   * @param operation What timed out.
   * @param timeoutMs The timeout that expired, in milliseconds, or
   *   `undefined` when the operating system gave up on its own.
   * @param address The peer, when known.
   * @param options Standard error options.
   */
  constructor(
    operation: NetOperation,
    timeoutMs: number | undefined,
    address?: NetAddress,
    options?: ErrorOptions,
  ) {
    const peer = address ? formatAddress(address) : "the peer";
    const after = timeoutMs === undefined ? "" : ` after ${timeoutMs} ms`;
    const text: Record<NetOperation, string> = {
      connect:
        `Connection to ${peer} timed out${after}: is the host up and the port open?`,
      read:
        `Read from ${peer} timed out${after}: the peer sent nothing in time`,
      write: `Write to ${peer} timed out${after}: the peer is not reading`,
      send: `Send to ${peer} timed out${after}`,
      listen: `Listen on ${peer} timed out${after}`,
    };
    super(text[operation], "ETIMEDOUT", options);
    this.name = "TimeoutError";
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The stream ended before the bytes we needed arrived (`EUNEXPECTEDEOF`);
 * like asyncio's `IncompleteReadError`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnexpectedEofError } from "./errors.ts";
 *
 * const error = new UnexpectedEofError(new Uint8Array(3), 10);
 * assert.equal(
 *   error.message,
 *   "Connection closed after 3 of 10 bytes: the peer hung up early",
 * );
 * ```
 */
export class UnexpectedEofError extends NetError {
  /** The bytes that did arrive. */
  readonly partial: Uint8Array;
  /** How many bytes were expected. */
  readonly expected: number;

  /**
   * Creates a new `UnexpectedEofError`.
   *
   * @param partial The bytes that did arrive.
   * @param expected How many bytes were expected.
   * @param options Standard error options.
   */
  constructor(partial: Uint8Array, expected: number, options?: ErrorOptions) {
    super(
      `Connection closed after ${partial.length} of ${expected} bytes: the peer hung up early`,
      "EUNEXPECTEDEOF",
      options,
    );
    this.name = "UnexpectedEofError";
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * A line grew past `maxBytes` without a newline (`ELIMITOVERRUN`); like
 * asyncio's `LimitOverrunError`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { LimitOverrunError } from "./errors.ts";
 *
 * const error = new LimitOverrunError(1024);
 * assert.equal(
 *   error.message,
 *   "Line longer than 1024 bytes: raise maxBytes or check what the peer sends",
 * );
 * ```
 */
export class LimitOverrunError extends NetError {
  /** The limit that was crossed, in bytes. */
  readonly maxBytes: number;

  /**
   * Creates a new `LimitOverrunError`.
   *
   * @param maxBytes The limit that was crossed, in bytes.
   * @param options Standard error options.
   */
  constructor(maxBytes: number, options?: ErrorOptions) {
    super(
      `Line longer than ${maxBytes} bytes: raise maxBytes or check what the peer sends`,
      "ELIMITOVERRUN",
      options,
    );
    this.name = "LimitOverrunError";
    this.maxBytes = maxBytes;
  }
}

/**
 * `reusePort` was asked for but this Deno cannot give it: Deno 2.9 keeps
 * `Deno.listen({ reusePort: true })` behind `--unstable-net` and, without the
 * flag, ends the process instead of throwing. h1 checks first and throws
 * this instead.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReusePortUnavailableError } from "./errors.ts";
 *
 * const error = new ReusePortUnavailableError();
 * assert.equal(error.code, "ENOTSUP");
 * assert.match(error.message, /--unstable-net/);
 * ```
 */
export class ReusePortUnavailableError extends NetError {
  /**
   * Creates a new `ReusePortUnavailableError`.
   *
   * @param options Standard error options.
   */
  constructor(options?: ErrorOptions) {
    super(
      "Cannot listen with reusePort: run deno with --unstable-net (Deno 2.9 keeps SO_REUSEPORT behind it)",
      "ENOTSUP",
      options,
    );
    this.name = "ReusePortUnavailableError";
  }
}

/**
 * Whether `Deno.listen({ reusePort: true })` works in this process. Deno
 * 2.9 exposes it, like `Deno.listenDatagram`, only under `--unstable-net`
 * (or `--unstable`); without the flag the call would end the process.
 *
 * @returns True when reusePort can be used.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { reusePortAvailable } from "./errors.ts";
 *
 * assert.equal(typeof reusePortAvailable(), "boolean");
 * ```
 */
export function reusePortAvailable(): boolean {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram ===
    "function";
}

/**
 * Translates an error thrown by `Deno.listen`, `Deno.connect`, a conn's
 * `read`/`write` or `node:dgram` into the matching {@linkcode NetError}.
 * Errors it does not recognise (permissions, bad arguments, a `NetError`
 * already) come back unchanged, so always `throw toNetError(...)`.
 *
 * @param error What the socket call threw.
 * @param address The address the call was about, used in the message;
 *   without it only resets are translated.
 * @returns A `NetError` with `error` as its `cause`, or `error` itself.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { AddressInUseError, toNetError } from "./errors.ts";
 *
 * const raw = new Deno.errors.AddrInUse("Address already in use (os error 98)");
 * const error = toNetError(raw, { hostname: "127.0.0.1", port: 8080 });
 * assert.ok(error instanceof AddressInUseError);
 * assert.equal(error.cause, raw);
 * ```
 */
export function toNetError(error: unknown, address?: NetAddress): unknown {
  if (error instanceof NetError) return error;
  const options = { cause: error };
  const code = errorCode(error);
  if (code === "ECONNRESET") return new ConnectionResetError(address, options);
  if (address === undefined) return error;
  switch (code) {
    case "EADDRINUSE":
      return new AddressInUseError(address, options);
    case "ECONNREFUSED":
      return new ConnectionRefusedError(address, options);
    case "EHOSTUNREACH":
      return new HostUnreachableError(address, "EHOSTUNREACH", options);
    case "ENETUNREACH":
      return new HostUnreachableError(address, "ENETUNREACH", options);
    case "ENOTFOUND":
      return new HostNotFoundError(address, options);
    case "ETIMEDOUT":
      return new TimeoutError("connect", undefined, address, options);
    default:
      return error;
  }
}

// Deno sets `code` on most I/O errors ("EADDRINUSE"); its classes and the
// Linux "(os error N)" suffix cover the rest. DNS failures have neither.
function errorCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof Deno.errors.AddrInUse) return "EADDRINUSE";
  if (error instanceof Deno.errors.ConnectionRefused) return "ECONNREFUSED";
  if (
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe
  ) return "ECONNRESET";
  if (error instanceof Deno.errors.TimedOut) return "ETIMEDOUT";
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code !== "") {
    return code === "EAI_AGAIN" || code === "EAI_NONAME" ? "ENOTFOUND" : code;
  }
  if (/\(os error 113\)/.test(error.message)) return "EHOSTUNREACH";
  if (/\(os error 101\)/.test(error.message)) return "ENETUNREACH";
  if (
    /failed to lookup address|Name or service not known/i.test(error.message)
  ) {
    return "ENOTFOUND";
  }
  return undefined;
}

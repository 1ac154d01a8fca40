// deno-lint-ignore-file no-console
/**
 * `python -m http.server`, on h1: serves a directory over HTTP with the
 * same flags, the same "Serving HTTP on ..." line and the same access log.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1:8000 --allow-read=. server/cli.ts
 * deno run --allow-net=0.0.0.0:9000 --allow-read=./public server/cli.ts 9000 -b 0.0.0.0 -d ./public
 * ```
 *
 * Flags as Python's: `[port]` (default 8000), `-b/--bind ADDRESS`,
 * `-d/--directory DIR`, `-p/--protocol VERSION` (default HTTP/1.0).
 * Beyond Python: `--cors`, `--no-listing`, `--tls-cert FILE --tls-key FILE`
 * (HTTPS), `-q/--quiet` (no access log), `--port N` (same as the
 * positional). One difference: the default bind address is 127.0.0.1, not
 * every interface; pass `-b 0.0.0.0` to be reachable from other machines.
 * Uses `ThreadingHTTPServer` + `SimpleHTTPRequestHandler`, like Python.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { AddressInUseError } from "../net/errors.ts";
import { ThreadingHTTPServer } from "./http_server.ts";
import { SimpleHTTPRequestHandler } from "./simple_request_handler.ts";

const USAGE =
  `usage: server/cli.ts [-h] [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [--cors]
                     [--no-listing] [--tls-cert FILE] [--tls-key FILE] [-q]
                     [port]

Serve a directory over HTTP, like "python -m http.server".

positional arguments:
  port                  bind to this port (default: 8000)

options:
  -h, --help            show this help message and exit
  -b, --bind ADDRESS    bind to this address (default: 127.0.0.1)
  -d, --directory DIRECTORY
                        serve this directory (default: current directory)
  -p, --protocol VERSION
                        conform to this HTTP version (default: HTTP/1.0)
  --cors                send Access-Control-Allow-Origin: *
  --no-listing          answer 404 instead of listing directories
  --tls-cert FILE       PEM certificate chain: serve HTTPS
  --tls-key FILE        PEM private key for --tls-cert
  -q, --quiet           do not log requests`;

class UsageError extends Error {}

interface CliOptions {
  port: number;
  bind: string;
  directory: string;
  protocol: string;
  cors: boolean;
  listing: boolean;
  certFile: string | undefined;
  keyFile: string | undefined;
  quiet: boolean;
}

function parse(args: string[]): CliOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        bind: { type: "string", short: "b" },
        directory: { type: "string", short: "d" },
        protocol: { type: "string", short: "p" },
        port: { type: "string" },
        cors: { type: "boolean" },
        "no-listing": { type: "boolean" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        quiet: { type: "boolean", short: "q" },
      },
    });
  } catch (error) {
    throw new UsageError(
      error instanceof Error ? error.message : String(error),
    );
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length > 1) {
    throw new UsageError(
      `unrecognized arguments: ${positionals.slice(1).join(" ")}`,
    );
  }
  const portText = values.port ?? positionals[0] ?? "8000";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(`argument port: invalid port "${portText}"`);
  }
  const protocol = values.protocol ?? "HTTP/1.0";
  if (!/^HTTP\/1\.[01]$/.test(protocol)) {
    throw new UsageError(
      `argument -p/--protocol: "${protocol}" is not HTTP/1.0 or HTTP/1.1`,
    );
  }
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  return {
    port,
    bind: values.bind ?? "127.0.0.1",
    directory: values.directory ?? ".",
    protocol,
    cors: values.cors ?? false,
    listing: !(values["no-listing"] ?? false),
    certFile,
    keyFile,
    quiet: values.quiet ?? false,
  };
}

/** Thrown for failures that deserve one line and exit code 1. */
class CliError extends Error {}

async function checkDirectory(directory: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(directory);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new CliError(
        `Cannot read directory "${directory}": run deno with --allow-read=${directory}`,
      );
    }
    if (error instanceof Deno.errors.NotFound) {
      throw new CliError(
        `Cannot serve "${directory}": no such directory; pass an existing one with -d`,
      );
    }
    throw new CliError(
      `Cannot serve "${directory}": ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
  if (!info.isDirectory) {
    throw new CliError(
      `Cannot serve "${directory}": not a directory; pass one with -d`,
    );
  }
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new CliError(
        `Cannot read ${what} "${path}": run deno with --allow-read=${path}`,
      );
    }
    throw new CliError(
      `Cannot read ${what} "${path}": ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
}

function listenError(error: unknown, bind: string, port: number): CliError {
  if (error instanceof AddressInUseError) {
    return new CliError(
      `Port ${port} on ${bind} is already in use: stop the other program or pass another port, e.g. "server/cli.ts ${
        port === 65535 ? 8000 : port + 1
      }"`,
    );
  }
  if (error instanceof Deno.errors.NotCapable) {
    const allow = port === 0 ? bind : `${bind}:${port}`;
    return new CliError(
      `Cannot listen on ${bind}:${port}: run deno with --allow-net=${allow}`,
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new CliError(
      `Cannot listen on port ${port}: the operating system denied it (ports below 1024 need privileges); pass a port above 1023, e.g. "server/cli.ts 8000"`,
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new CliError(
      `Cannot listen on ${bind}: no such local address; pass one of this machine's addresses with -b, e.g. 127.0.0.1`,
    );
  }
  return new CliError(
    `Cannot listen on ${bind}:${port}: ${
      error instanceof Error ? error.message : error
    }`,
  );
}

/**
 * Runs the command line: parses `args`, serves until SIGINT.
 *
 * @param args The arguments after the script name.
 * @returns The exit code: 0 after Ctrl-C, 1 on a startup failure, 2 on bad usage.
 *
 * @example Usage
 * ```ts ignore
 * import { main } from "./cli.ts";
 *
 * Deno.exit(await main(["8000", "-d", "./public"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let options: CliOptions | "help";
  try {
    options = parse(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(
      `${USAGE.split("\n\n")[0]}\nserver/cli.ts: error: ${error.message}`,
    );
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const { bind, port, protocol, quiet } = options;
  let server: ThreadingHTTPServer;
  try {
    await checkDirectory(options.directory);
    const tls = options.certFile !== undefined && options.keyFile !== undefined
      ? {
        cert: await readPem(options.certFile, "certificate"),
        key: await readPem(options.keyFile, "private key"),
      }
      : {};
    const Base = SimpleHTTPRequestHandler.partial({
      directory: options.directory,
      enableCors: options.cors,
      showDirListing: options.listing,
    });
    class CliHandler extends Base {
      override protocol_version = protocol;
      override log_request(
        code: number | string = "-",
        size: number | string = "-",
      ): void {
        if (!quiet) super.log_request(code, size);
      }
    }
    try {
      server = new ThreadingHTTPServer([bind, port], CliHandler, tls);
    } catch (error) {
      throw listenError(error, bind, port);
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    console.error(error.message);
    return 1;
  }
  const [host, realPort] = server.server_address;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const scheme = server.secure ? "https" : "http";
  console.log(
    `Serving ${scheme.toUpperCase()} on ${host} port ${realPort} (${scheme}://${urlHost}:${realPort}/) ...`,
  );
  const onInterrupt = () => {
    console.log("\nKeyboard interrupt received, exiting.");
    void server.shutdown();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    await server.serve_forever();
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    await server.server_close();
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

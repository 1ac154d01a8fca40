/** Where a socket listens or connects: `{ hostname, port }`. */
export interface NetAddress {
  /** Host name or IP literal, e.g. `"127.0.0.1"`. */
  hostname: string;
  /** Port number. */
  port: number;
}

/** Formats an address as `host:port`, bracketing IPv6 literals. */
export function formatAddress(address: NetAddress): string {
  const host = address.hostname.includes(":")
    ? `[${address.hostname}]`
    : address.hostname;
  return `${host}:${address.port}`;
}

/** Reads `{ hostname, port }` off a Deno address, or `undefined`. */
export function netAddressOf(
  addr: Deno.Addr | undefined,
): NetAddress | undefined {
  if (addr?.transport !== "tcp" && addr?.transport !== "udp") return undefined;
  return { hostname: addr.hostname, port: addr.port };
}

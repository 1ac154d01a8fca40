import assert from "node:assert/strict";
import {
  AddressInUseError,
  ConnectionRefusedError,
  ConnectionResetError,
  HostNotFoundError,
  HostUnreachableError,
  type NetError,
  TimeoutError,
  toNetError,
} from "../../net/mod.ts";

const ADDRESS = { hostname: "10.1.2.3", port: 80 };

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const CASES: {
  name: string;
  raw: Error;
  // deno-lint-ignore no-explicit-any
  type: abstract new (...args: any[]) => NetError;
  code: string;
}[] = [
  {
    name: "Deno AddrInUse",
    raw: new Deno.errors.AddrInUse("in use"),
    type: AddressInUseError,
    code: "EADDRINUSE",
  },
  {
    name: "node EADDRINUSE",
    raw: withCode("bind EADDRINUSE", "EADDRINUSE"),
    type: AddressInUseError,
    code: "EADDRINUSE",
  },
  {
    name: "Deno ConnectionRefused",
    raw: new Deno.errors.ConnectionRefused("refused"),
    type: ConnectionRefusedError,
    code: "ECONNREFUSED",
  },
  {
    name: "Deno ConnectionReset",
    raw: new Deno.errors.ConnectionReset("reset"),
    type: ConnectionResetError,
    code: "ECONNRESET",
  },
  {
    name: "Deno BrokenPipe",
    raw: new Deno.errors.BrokenPipe("pipe"),
    type: ConnectionResetError,
    code: "ECONNRESET",
  },
  {
    name: "EHOSTUNREACH code",
    raw: withCode("No route to host (os error 113)", "EHOSTUNREACH"),
    type: HostUnreachableError,
    code: "EHOSTUNREACH",
  },
  {
    name: "os error 113 without code",
    raw: new Error("No route to host (os error 113)"),
    type: HostUnreachableError,
    code: "EHOSTUNREACH",
  },
  {
    name: "os error 101 without code",
    raw: new Error("Network is unreachable (os error 101)"),
    type: HostUnreachableError,
    code: "ENETUNREACH",
  },
  {
    name: "DNS failure",
    raw: new Error(
      "failed to lookup address information: Name or service not known",
    ),
    type: HostNotFoundError,
    code: "ENOTFOUND",
  },
  {
    name: "Deno TimedOut",
    raw: new Deno.errors.TimedOut("timed out"),
    type: TimeoutError,
    code: "ETIMEDOUT",
  },
];

for (const { name, raw, type, code } of CASES) {
  Deno.test(`toNetError maps ${name} to ${type.name}`, () => {
    const error = toNetError(raw, ADDRESS);
    assert.ok(error instanceof type);
    assert.equal(error.code, code);
    assert.equal(error.cause, raw);
  });
}

Deno.test("toNetError leaves unknown errors and NetErrors unchanged", () => {
  const denied = new Deno.errors.NotCapable("Requires net access");
  assert.equal(toNetError(denied, ADDRESS), denied);
  const typeError = new TypeError("bad port");
  assert.equal(toNetError(typeError, ADDRESS), typeError);
  const already = new ConnectionRefusedError(ADDRESS);
  assert.equal(toNetError(already, ADDRESS), already);
});

Deno.test("HostUnreachableError says which of host or network is unreachable", () => {
  assert.equal(
    new HostUnreachableError(ADDRESS).message,
    "Host 10.1.2.3:80 is unreachable: check the address and that the host is up",
  );
  assert.equal(
    new HostUnreachableError(ADDRESS, "ENETUNREACH").message,
    "Network for 10.1.2.3:80 is unreachable: check your connection and routes",
  );
});

Deno.test("TimeoutError names the operation and the timeout", () => {
  assert.equal(
    new TimeoutError("connect", 250, { hostname: "::1", port: 9 }).message,
    "Connection to [::1]:9 timed out after 250 ms: is the host up and the port open?",
  );
  assert.equal(
    new TimeoutError("write", 10).message,
    "Write to the peer timed out after 10 ms: the peer is not reading",
  );
  assert.equal(
    new TimeoutError("connect", undefined, ADDRESS).message,
    "Connection to 10.1.2.3:80 timed out: is the host up and the port open?",
  );
});

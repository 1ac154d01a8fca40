import assert from "node:assert/strict";
import {
  boundConnReleased,
  dialBound,
  isBoundConn,
  startTlsBound,
} from "../../client/_bound_conn.ts";
import {
  ConnectionRefusedError,
  NetError,
  TimeoutError,
} from "../../net/errors.ts";
import { connectTcp } from "../../net/tcp.ts";
import { concat } from "../server/_raw.ts";
import { testCertificate } from "../server/_tls.ts";

// Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2 is a second local
// address the server can tell apart from 127.0.0.1. Binding it needs
// --allow-net=127.0.0.2; the other tests bind 127.0.0.1 (the server's).
const SOURCE = "127.0.0.2";
const LOOPBACK = { hostname: "127.0.0.1", port: 0 };
const ANY = { hostname: "", port: 0 };

const cert = await testCertificate();

function listen(): Deno.TcpListener {
  return Deno.listen({ hostname: "127.0.0.1", port: 0 });
}

function target(listener: Deno.Listener): { hostname: string; port: number } {
  return { hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port };
}

/** A port that was free a moment ago (bound on 127.0.0.1, then released). */
function freePort(): number {
  const probe = listen();
  const { port } = probe.addr;
  probe.close();
  return port;
}

/** Closes a bound conn and waits until node has let go of the socket. */
async function release(conn: Deno.Conn): Promise<void> {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
  await boundConnReleased(conn);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readAll(conn: Deno.Conn, chunk: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(chunk);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    assert.ok(n > 0 && n <= chunk);
    parts.push(buf.slice(0, n));
  }
  return concat(parts);
}

async function writeReusingBuffer(
  conn: Deno.Conn,
  data: Uint8Array,
): Promise<void> {
  // Odd-sized writes through one reused buffer: a write that resolved
  // before its bytes left would send the next write's bytes instead.
  const scratch = new Uint8Array(7777);
  for (let at = 0; at < data.length;) {
    const size = Math.min(scratch.length, data.length - at);
    scratch.set(data.subarray(at, at + size));
    let written = 0;
    while (written < size) {
      written += await conn.write(scratch.subarray(written, size));
    }
    at += size;
  }
}

function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65536)));
  }
  return out;
}

/** What a call did, as comparable text: a value or an error class name. */
async function outcome(call: () => unknown): Promise<string> {
  try {
    return String(await call());
  } catch (error) {
    return `throws ${(error as Error).constructor.name}`;
  }
}

Deno.test("dialBound connects from the source address", async () => {
  using listener = listen();
  const conn = await dialBound(target(listener), {
    hostname: SOURCE,
    port: 0,
  }, 2000);
  try {
    using server = await listener.accept();
    assert.equal(server.remoteAddr.hostname, SOURCE);
    assert.deepEqual(conn.localAddr, {
      transport: "tcp",
      hostname: SOURCE,
      port: server.remoteAddr.port,
    });
    assert.deepEqual(conn.remoteAddr, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: listener.addr.port,
    });
  } finally {
    await release(conn);
  }
});

Deno.test("dialBound honours a fixed source port", async () => {
  using listener = listen();
  for (const hostname of [SOURCE, "127.0.0.1"]) {
    const port = freePort();
    const conn = await dialBound(target(listener), { hostname, port }, 2000);
    try {
      using server = await listener.accept();
      assert.equal(server.remoteAddr.port, port);
      assert.equal(conn.localAddr.port, port);
      assert.equal(server.remoteAddr.hostname, hostname);
    } finally {
      await release(conn);
    }
  }
});

Deno.test("dialBound with an empty source lets the OS choose", async () => {
  using listener = listen();
  const conn = await dialBound(target(listener), ANY, undefined);
  try {
    using server = await listener.accept();
    assert.equal(server.remoteAddr.hostname, "127.0.0.1");
    assert.equal(conn.localAddr.port, server.remoteAddr.port);
  } finally {
    await release(conn);
  }
});

Deno.test("dialBound conn echoes 1 MiB both ways through small reads", async () => {
  using listener = listen();
  const sent = randomBytes(1024 * 1024);
  const echo = (async () => {
    using server = await listener.accept();
    const buf = new Uint8Array(3000);
    for (;;) {
      const n = await server.read(buf);
      if (n === null) break;
      await writeReusingBuffer(server, buf.subarray(0, n));
    }
    await server.closeWrite();
  })();
  const conn = await dialBound(target(listener), LOOPBACK, 2000);
  try {
    const [received] = await Promise.all([
      readAll(conn, 1000),
      writeReusingBuffer(conn, sent).then(() => conn.closeWrite()),
    ]);
    await echo;
    assert.equal(received.length, sent.length);
    assert.ok(received.every((b, i) => b === sent[i]), "echo differs");
  } finally {
    await release(conn);
  }
});

/**
 * How many bytes the server can write before a 1 MiB write stalls for
 * 200 ms while the client reads nothing: the kernel's buffers plus whatever
 * the client takes in on its own.
 */
async function unreadCapacity(
  server: Deno.Conn,
  capBytes: number,
): Promise<{ absorbed: number; stalled: Promise<number> | null }> {
  const chunk = new Uint8Array(1024 * 1024).fill(7);
  let absorbed = 0;
  while (absorbed < capBytes) {
    const write = server.write(chunk);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stall = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), 200);
    });
    const n = await Promise.race([write, stall]);
    clearTimeout(timer);
    if (n === null) return { absorbed, stalled: write };
    absorbed += n;
  }
  return { absorbed, stalled: null };
}

Deno.test("dialBound conn pauses the socket while nobody reads", async () => {
  using listener = listen();
  const cap = 64 * 1024 * 1024;
  // The same measure on a plain Deno conn gives what the kernel holds.
  const plain = await Deno.connect(target(listener));
  let kernel: number;
  {
    using server = await listener.accept();
    const { absorbed, stalled } = await unreadCapacity(server, cap);
    kernel = absorbed;
    plain.close();
    server.close();
    await stalled?.catch(() => 0);
  }
  assert.ok(kernel < cap, "the kernel buffers too much to tell");
  const conn = await dialBound(target(listener), LOOPBACK, 2000);
  try {
    using server = await listener.accept();
    const { absorbed, stalled } = await unreadCapacity(server, cap);
    assert.ok(stalled !== null, "the client took in everything unread");
    assert.ok(
      absorbed <= kernel + 2 * 1024 * 1024,
      `the client buffered ${absorbed} unread bytes; the kernel holds ${kernel}`,
    );
    // Reading resumes the socket; every byte arrives, then end of stream.
    const total = absorbed + 1024 * 1024;
    const reading = readAll(conn, 64 * 1024);
    assert.equal(await stalled, 1024 * 1024);
    server.close();
    const received = await reading;
    assert.equal(received.length, total);
    assert.ok(received.every((b) => b === 7));
  } finally {
    await release(conn);
  }
});

Deno.test("dialBound conn readable and writable streams carry bytes", async () => {
  using listener = listen();
  const conn = await dialBound(target(listener), ANY, 2000);
  try {
    using server = await listener.accept();
    const writer = conn.writable.getWriter();
    await writer.write(new TextEncoder().encode("ping"));
    await writer.close();
    assert.equal(new TextDecoder().decode(await readAll(server, 100)), "ping");
    await server.write(new TextEncoder().encode("pong"));
    server.close();
    let got = "";
    for await (const chunk of conn.readable) {
      got += new TextDecoder().decode(chunk);
    }
    assert.equal(got, "pong");
  } finally {
    await release(conn);
  }
});

// Each scenario runs against a plain Deno.connect conn and a bound one; the
// two must report the same outcomes.
type Scenario = (
  conn: Deno.Conn,
  server: Deno.Conn,
) => Promise<string[]>;

const SCENARIOS: Record<string, Scenario> = {
  async eof(conn, server) {
    await server.write(new Uint8Array([1, 2, 3]));
    server.close();
    const buf = new Uint8Array(2);
    return [
      await outcome(() => conn.read(buf)),
      await outcome(() => conn.read(buf)),
      await outcome(() => conn.read(buf)),
      await outcome(() => conn.read(buf)),
      await outcome(() => conn.read(new Uint8Array(0))),
    ];
  },
  async reset_with_unread_data(conn, server) {
    await conn.write(new Uint8Array(100));
    await sleep(50);
    server.close(); // unread data: the kernel answers with a reset
    await sleep(50);
    const buf = new Uint8Array(10);
    return [
      await outcome(() => conn.read(buf)),
      await outcome(() => conn.write(new Uint8Array(10))),
      await outcome(() => conn.write(new Uint8Array(10))),
      await outcome(() => conn.read(buf)),
    ];
  },
  async write_after_peer_close(conn, server) {
    server.close();
    await sleep(50);
    const first = await outcome(() => conn.write(new Uint8Array(10)));
    await sleep(50);
    return [
      first,
      await outcome(() => conn.write(new Uint8Array(10))),
      await outcome(() => conn.read(new Uint8Array(10))),
    ];
  },
  async close_write(conn, server) {
    await conn.write(new Uint8Array([9]));
    await conn.closeWrite();
    const seen = await readAll(server, 10);
    await server.write(new Uint8Array([4, 5]));
    server.close();
    return [
      String(seen),
      await outcome(() => conn.write(new Uint8Array(1))),
      await outcome(() => conn.closeWrite().then(() => "settled")),
      await outcome(() => conn.read(new Uint8Array(10))),
      await outcome(() => conn.read(new Uint8Array(10))),
    ];
  },
  async close(conn, server) {
    const pending = outcome(() => conn.read(new Uint8Array(10)));
    await sleep(10);
    conn.close();
    const results = [
      await pending,
      await outcome(() => conn.read(new Uint8Array(10))),
      await outcome(() => conn.write(new Uint8Array(10))),
      await outcome(() => conn.closeWrite().then(() => "settled")),
      await outcome(() => conn.close()),
      await outcome(() => conn[Symbol.dispose]()),
    ];
    server.close();
    return results;
  },
};

for (const [name, scenario] of Object.entries(SCENARIOS)) {
  Deno.test(`dialBound conn behaves like Deno.connect: ${name}`, async () => {
    using listener = listen();
    const run = async (conn: Deno.Conn): Promise<string[]> => {
      const server = await listener.accept();
      try {
        return await scenario(conn, server);
      } finally {
        try {
          server.close();
        } catch {
          // The scenario closed it.
        }
      }
    };
    const plain = await Deno.connect(target(listener));
    let expected: string[];
    try {
      expected = await run(plain);
    } finally {
      try {
        plain.close();
      } catch {
        // The scenario closed it.
      }
    }
    const bound = await dialBound(target(listener), LOOPBACK, 2000);
    try {
      assert.deepEqual(await run(bound), expected);
    } finally {
      await release(bound);
    }
  });
}

Deno.test("dialBound reports a refused port like connectTcp", async () => {
  const port = freePort();
  const address = { hostname: "127.0.0.1", port };
  const plain = await connectTcp({ ...address, timeoutMs: 2000 }).then(
    (conn) => {
      conn.close();
      return null;
    },
    (error: unknown) => error,
  );
  await assert.rejects(
    dialBound(address, LOOPBACK, 2000),
    (error) => {
      assert.ok(error instanceof ConnectionRefusedError);
      assert.ok(plain instanceof ConnectionRefusedError);
      assert.equal(error.message, plain.message);
      assert.ok(error.cause instanceof Deno.errors.ConnectionRefused);
      assert.equal((error.cause as { code?: string }).code, "ECONNREFUSED");
      // Node's own error stays reachable.
      assert.equal(
        ((error.cause as Error).cause as { code?: string }).code,
        "ECONNREFUSED",
      );
      return true;
    },
  );
});

// 192.0.2.0/24 is TEST-NET-1: never an address of this host.
const FOREIGN = { hostname: "192.0.2.1", port: 0 };
const foreignAllowed =
  Deno.permissions.querySync({ name: "net", host: "192.0.2.1:0" }).state ===
    "granted";

Deno.test({
  name: "dialBound rejects a source address it may not bind",
  ignore: foreignAllowed,
  async fn() {
    using listener = listen();
    // Checked up front: Deno's node:net would throw this out of reach.
    await assert.rejects(
      dialBound(target(listener), FOREIGN, 2000),
      (error) => {
        assert.ok(error instanceof Deno.errors.NotCapable);
        assert.match(error.message, /"192\.0\.2\.1:0"/);
        return true;
      },
    );
  },
});

Deno.test({
  name: "dialBound rejects a source address that is not local",
  // Needs --allow-net=192.0.2.1 on top of the loopback hosts.
  ignore: !foreignAllowed,
  async fn() {
    using listener = listen();
    await assert.rejects(
      dialBound(target(listener), FOREIGN, 2000),
      (error) => {
        assert.ok(error instanceof Deno.errors.AddrNotAvailable);
        assert.equal((error as { code?: string }).code, "EADDRNOTAVAIL");
        assert.match(error.message, /192\.0\.2\.1/);
        assert.ok(error.cause instanceof Error);
        return true;
      },
    );
  },
});

Deno.test("dialBound rejects a source port another socket holds", async () => {
  using listener = listen();
  using holder = listen();
  await assert.rejects(
    dialBound(target(listener), {
      hostname: "127.0.0.1",
      port: holder.addr.port,
    }, 2000),
    (error) => {
      assert.ok(error instanceof Deno.errors.AddrInUse);
      assert.equal((error as { code?: string }).code, "EADDRINUSE");
      return true;
    },
  );
});

Deno.test("dialBound times out with net's TimeoutError", async () => {
  // A listener that never accepts: once its accept queue is full the kernel
  // drops further SYNs, so the next connect hangs until our timeout.
  using listener = listen();
  const conns: Deno.Conn[] = [];
  let timedOut: unknown = null;
  try {
    for (let i = 0; i < 1024 && timedOut === null; i++) {
      try {
        conns.push(await dialBound(target(listener), ANY, 200));
      } catch (error) {
        timedOut = error;
      }
    }
  } finally {
    await Promise.all(conns.map(release));
  }
  assert.ok(timedOut instanceof TimeoutError, String(timedOut));
  assert.ok(timedOut instanceof NetError);
  assert.equal(timedOut.operation, "connect");
  assert.equal(timedOut.timeoutMs, 200);
  await sleep(50); // let node release the abandoned socket
});

async function tlsServer(
  listener: Deno.TlsListener,
): Promise<string | null> {
  const conn = await listener.accept();
  try {
    await conn.handshake();
    const data = await readAll(conn, 1000);
    await writeReusingBuffer(conn, data);
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    conn.close();
  }
}

function listenTls(): Deno.TlsListener {
  return Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: cert!.cert,
    key: cert!.key,
    alpnProtocols: ["http/1.1"],
  });
}

for (const hostname of ["127.0.0.1", "localhost"]) {
  Deno.test({
    name: `startTlsBound verifies "${hostname}" and round-trips bytes`,
    ignore: cert === null,
    async fn() {
      using listener = listenTls();
      const serving = tlsServer(listener);
      const tcp = await dialBound(target(listener), LOOPBACK, 2000);
      let conn: Deno.Conn = tcp;
      try {
        const tls = await startTlsBound(tcp, {
          hostname,
          caCerts: [cert!.cert],
          alpnProtocols: ["http/1.1"],
        });
        conn = tls;
        assert.ok(isBoundConn(tcp) && isBoundConn(tls));
        assert.deepEqual(await tls.handshake(), { alpnProtocol: "http/1.1" });
        assert.equal(tls.localAddr.hostname, "127.0.0.1");
        await assert.rejects(
          tcp.read(new Uint8Array(1)),
          Deno.errors.BadResource,
        );
        const sent = randomBytes(200_000);
        const [received] = await Promise.all([
          readAll(tls, 1000),
          writeReusingBuffer(tls, sent).then(() => tls.closeWrite()),
        ]);
        assert.equal(await serving, null);
        assert.equal(received.length, sent.length);
        assert.ok(received.every((b, i) => b === sent[i]), "echo differs");
      } finally {
        await release(conn);
        await serving;
      }
    },
  });
}

const UNTRUSTED = [
  { name: "without caCerts", hostname: "localhost", caCerts: undefined },
  { name: "for another name", hostname: "example.com", caCerts: true },
];

for (const { name, hostname, caCerts } of UNTRUSTED) {
  Deno.test({
    name: `startTlsBound rejects the certificate ${name}`,
    ignore: cert === null,
    async fn() {
      using listener = listenTls();
      const serving = tlsServer(listener);
      const tcp = await dialBound(target(listener), ANY, 2000);
      try {
        await assert.rejects(
          startTlsBound(tcp, {
            hostname,
            ...(caCerts ? { caCerts: [cert!.cert] } : {}),
          }),
          (error) => {
            assert.ok(error instanceof Deno.errors.InvalidData, String(error));
            assert.match(error.message, /^invalid peer certificate: /);
            assert.ok(error.cause instanceof Error);
            return true;
          },
        );
        assert.notEqual(await serving, null);
      } finally {
        await release(tcp);
        await serving;
        await sleep(20); // node closes the TCP socket under the TLS one
      }
    },
  });
}

Deno.test("startTlsBound refuses a conn that dialBound did not make", async () => {
  using listener = listen();
  using plain = await Deno.connect(target(listener));
  using _server = await listener.accept();
  assert.equal(isBoundConn(plain), false);
  await assert.rejects(
    startTlsBound(plain, { hostname: "127.0.0.1" }),
    TypeError,
  );
});

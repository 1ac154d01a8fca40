/**
 * Review probes for net/ (BufferedReader, UDP), the runnable examples and
 * serve() over TLS. "Fixed bug:" comments say what was wrong before the fix
 * the test now holds (six). One test stays ignored: a TLS handshake that
 * never completes keeps its socket open, which h1 cannot change in Deno 2.9
 * (see its comment and the README).
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname } from "node:path";
import {
  BufferedReader,
  LimitOverrunError,
  listenTcp,
  listenUdp,
  TimeoutError,
  writeAll,
} from "../../net/mod.ts";
import {
  readLineMatching,
  runExample,
  spawnExample,
} from "../examples/_spawn.ts";
import { startServer } from "../server/_raw.ts";
import { testCertificate } from "../server/_tls.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves to "eof", "reset", "data" or "open" (nothing within `ms`). */
async function peerState(conn: Deno.Conn, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const opened = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("open"), ms);
  });
  const read = conn.read(new Uint8Array(4096)).then(
    (n) => n === null ? "eof" : "data",
    () => "reset",
  );
  try {
    return await Promise.race([read, opened]);
  } finally {
    clearTimeout(timer);
  }
}

/** A free UDP port on 127.0.0.1 (bound, read, released). */
async function freeUdpPort(): Promise<number> {
  const probe = await listenUdp();
  const port = probe.addr.port;
  await probe.close();
  return port;
}

// ------------------------------------------------------------ net/

// Fixed bug: BufferedReader's doc says "A timed-out call leaves the reader usable:
// the read in flight is kept and its bytes go to the next call, so nothing
// is lost". read() resets #start/#end to 0 while that read is still pending
// into the old tail of the buffer, so the late bytes are misplaced: the
// next read() returns "abcd" (stale "abc" + one new byte) instead of "def\n".
Deno.test({
  name:
    "BufferedReader.read after a timed-out readLine returns the late bytes intact",
  async fn() {
    let deliver: (text: string) => void = () => {};
    const first = ["abc"];
    const reader = new BufferedReader({
      read(p: Uint8Array): Promise<number | null> {
        const chunk = first.shift();
        if (chunk !== undefined) {
          p.set(encoder.encode(chunk));
          return Promise.resolve(chunk.length);
        }
        return new Promise((resolve) => {
          deliver = (text) => {
            p.set(encoder.encode(text));
            resolve(text.length);
          };
        });
      },
    }, { bufferSize: 64 });
    await assert.rejects(reader.readLine({ timeoutMs: 20 }), TimeoutError);
    assert.equal(decoder.decode((await reader.read())!), "abc");
    const timer = setTimeout(() => deliver("def\n"), 10);
    try {
      assert.equal(decoder.decode((await reader.read())!), "def\n");
    } finally {
      clearTimeout(timer);
    }
  },
});

Deno.test("BufferedReader.readLine stops an endless line near maxBytes (bounded memory)", async () => {
  // asyncio's readline raises LimitOverrunError instead of buffering forever.
  let served = 0;
  const reader = new BufferedReader({
    read(p: Uint8Array): Promise<number | null> {
      p.fill(0x61); // "a", never a newline: a 10 MB line
      served += p.length;
      return Promise.resolve(served > 10_000_000 ? null : p.length);
    },
  }, { bufferSize: 1024 });
  await assert.rejects(
    reader.readLine({ maxBytes: 4096 }),
    (error: unknown) =>
      error instanceof LimitOverrunError && error.maxBytes === 4096,
  );
  assert.ok(served < 16 * 1024, `read ${served} bytes for a 4096-byte limit`);
});

Deno.test("BufferedReader.readLine joins a CRLF split between reads", async () => {
  const chunks = ["abc\r", "\ndef", "\r", "\n"].map((s) => encoder.encode(s));
  const reader = new BufferedReader({
    read(p: Uint8Array): Promise<number | null> {
      const chunk = chunks.shift();
      if (chunk === undefined) return Promise.resolve(null);
      p.set(chunk);
      return Promise.resolve(chunk.length);
    },
  });
  assert.equal(await reader.readLine(), "abc");
  assert.equal(await reader.readLine(), "def");
  assert.equal(await reader.readLine(), null);
});

Deno.test("UdpSocket.send of a datagram over 64 KiB rejects and the socket goes on", async () => {
  // Python: sendto() of more than 65507 bytes raises OSError (EMSGSIZE).
  await using socket = await listenUdp();
  await assert.rejects(socket.send(new Uint8Array(70_000), socket.addr));
  await socket.send(encoder.encode("small"), socket.addr);
  const { data } = await socket.receive({ timeoutMs: 1000 });
  assert.equal(decoder.decode(data), "small");
});

Deno.test("UdpSocket.close rejects a pending receive and resolves", async () => {
  // udp.ts: "Closes the socket; pending `receive` calls reject".
  const socket = await listenUdp();
  const pending = socket.receive();
  const rejected = assert.rejects(pending, Deno.errors.BadResource);
  await socket.close();
  await rejected;
});

// ------------------------------------------------------------ examples

// The header comment and README give the UDP echo server's permission as
// --allow-net=127.0.0.1 (it was 127.0.0.1:7001, under which every answer
// failed: sending to a client's ephemeral port needs permission for it).
Deno.test({
  name: "udp_echo_server answers under its documented --allow-net",
  async fn() {
    const port = await freeUdpPort();
    await using server = await spawnExample("udp_echo_server.ts", {
      args: [`--port=${port}`],
      permissions: ["--allow-net=127.0.0.1"],
    });
    await using client = await listenUdp();
    await client.send(encoder.encode("ping"), { hostname: "127.0.0.1", port });
    const { data } = await client.receive({ timeoutMs: 1500 });
    assert.equal(decoder.decode(data), "ping");
    assert.equal(server.port, port);
  },
});

// Fixed bug: udp_echo_client retries after a timeout but takes any datagram as
// the answer to the current message. When the server is slow (the case the
// retries exist for), the duplicate echo of the first message is printed as
// the echo of the second: "Received: first" for "second". It should match
// the reply to what it sent (or drain stale replies), as its header says it
// "prints the echo" of each argument.
Deno.test({
  name: "udp_echo_client does not print a stale echo for the next message",
  async fn() {
    // A slow echo server: answers every datagram after 150 ms.
    const slow = await listenUdp();
    const answering = (async () => {
      for await (const { data, remoteAddr } of slow) {
        setTimeout(() => void slow.send(data, remoteAddr).catch(() => {}), 150);
      }
    })();
    try {
      const result = await runExample("udp_echo_client.ts", {
        args: [
          `--port=${slow.addr.port}`,
          "--timeout=100",
          "--retries=3",
          "first",
          "second",
        ],
        permissions: [`--allow-net=127.0.0.1:0,127.0.0.1:${slow.addr.port}`],
        timeoutMs: 4000,
      });
      const received = result.stdout.split("\n").filter((line) =>
        line.startsWith("Received:")
      );
      assert.deepEqual(received, ["Received: first", "Received: second"]);
    } finally {
      await delay(200); // let the late replies go out before closing
      await slow.close();
      await answering;
    }
  },
});

Deno.test("tcp_echo_server echoes binary data (every byte value) unchanged", async () => {
  await using server = await spawnExample("tcp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const payload = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
    const writing = writeAll(conn, payload, { timeoutMs: 3000 });
    const echoed = await new BufferedReader(conn, { timeoutMs: 3000 })
      .readExactly(payload.length);
    await writing;
    assert.deepEqual(echoed, payload);
  } finally {
    conn.close();
  }
});

async function joinChat(port: number, nick: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new BufferedReader(conn, { timeoutMs: 3000 });
  await readLineMatching(reader, /^Welcome/);
  await writeAll(conn, encoder.encode(`${nick}\n`));
  await readLineMatching(reader, /^\* Hello /);
  return { conn, reader };
}

Deno.test("chat_room drops a 10 MB line without newline and keeps serving others", async () => {
  await using server = await spawnExample("chat_room.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const alice = await joinChat(server.port, "alice");
  const mallory = await joinChat(server.port, "mallory");
  const bob = await joinChat(server.port, "bob");
  try {
    // The server must cut mallory off (MAX_LINE_BYTES is 1024), not buffer
    // 10 MB; the write fails once it hangs up.
    await writeAll(mallory.conn, new Uint8Array(10_000_000).fill(0x41), {
      timeoutMs: 3000,
    }).catch(() => {});
    await readLineMatching(alice.reader, /^\* mallory left$/);
    await writeAll(bob.conn, encoder.encode("still here\n"));
    await readLineMatching(alice.reader, /^<bob> still here$/);
  } finally {
    for (const member of [alice, mallory, bob]) member.conn.close();
  }
});

Deno.test("chat_room welcomes 40 clients connecting at once", async () => {
  await using server = await spawnExample("chat_room.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const members = await Promise.all(
    Array.from({ length: 40 }, (_, i) => joinChat(server.port, `user${i}`)),
  );
  try {
    await writeAll(members[0]!.conn, encoder.encode("/who\n"));
    const { line } = await readLineMatching(members[0]!.reader, /^\* Online:/);
    assert.equal(line.split(",").length, 40);
  } finally {
    for (const member of members) member.conn.close();
  }
});

Deno.test("guess_game answers non-numeric guesses and goes on", async () => {
  await using server = await spawnExample("guess_game.ts", {
    args: ["--port=0", "--players=1", "--secret=7", "--max=10"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const reader = new BufferedReader(conn, { timeoutMs: 3000 });
    await readLineMatching(reader, /^Welcome/);
    await writeAll(conn, encoder.encode("ann\n"));
    await readLineMatching(reader, /^\* Your turn, ann/);
    for (const bad of ["seven", "1e1", "-3", "0x7", "99"]) {
      await writeAll(conn, encoder.encode(`${bad}\n`));
      await readLineMatching(
        reader,
        /is not a number from 1 to 10: try again$/,
      );
    }
    await writeAll(conn, encoder.encode("7\n"));
    await readLineMatching(reader, /^\* ann wins round 1! The number was 7/);
  } finally {
    conn.close();
  }
});

// Fixed bug: file_transfer's main() catches NetError to print "just that" line
// for typed network errors, but serve() throws Deno's raw AddrInUse, so a
// port in use ends in "error: Uncaught (in promise) AddrInUse: Address
// already in use (os error 98)" plus a stack trace. The socket servers and
// http_hello_server print "Port N on 127.0.0.1 is already in use: stop the
// other program or pass --port" and exit 1.
Deno.test({
  name: "file_transfer serve explains a port in use in one line",
  async fn() {
    using taken = listenTcp({ hostname: "127.0.0.1", port: 0 });
    const dir = await Deno.makeTempDir();
    try {
      const result = await runExample("file_transfer.ts", {
        args: ["serve", "--dir", dir, "--port", String(taken.addr.port)],
        permissions: [
          "--allow-net=127.0.0.1",
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
        ],
        timeoutMs: 4000,
      });
      assert.equal(result.code, 1);
      assert.doesNotMatch(result.stderr, /Uncaught|\n\s+at /);
      assert.match(result.stderr, /already in use/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// Fixed bug: same for router_app (no handling at all): a stack trace instead of a
// one-line "port in use" message (hono_app, from the same table, prints
// "Cannot listen on 127.0.0.1:N: the port is in use").
Deno.test({
  name: "router_app explains a port in use in one line",
  async fn() {
    using taken = listenTcp({ hostname: "127.0.0.1", port: 0 });
    const result = await runExample("router_app.ts", {
      args: [`--port=${taken.addr.port}`],
      permissions: ["--allow-net=127.0.0.1"],
      timeoutMs: 4000,
    });
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stderr, /Uncaught|\n\s+at /);
    assert.match(result.stderr, /in use/);
  },
});

// Fixed bug (partly): a truncated download exits 1 (good), but the --out file
// was opened with truncate before the transfer and is left behind, empty
// or partial, under the final name: the old content is gone and a broken
// file remains. The sha256-mismatch path deletes what it wrote ("download
// deletes what it wrote"); the server side writes to a temp file and
// renames ("a broken upload never replaces a good file"). A broken
// download should not leave a partial file in place of the target either.
Deno.test({
  name:
    "file_transfer download of a truncated body exits 1 and leaves no partial file",
  async fn() {
    using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    const dir = await Deno.makeTempDir();
    const out = `${dir}/copy.bin`;
    await Deno.writeTextFile(out, "old content");
    const serving2 = (async () => {
      const conn = await listener.accept();
      try {
        await conn.read(new Uint8Array(4096));
        await writeAll(
          conn,
          encoder.encode(
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Sha256: " +
              "0".repeat(64) + "\r\n\r\n" + "x".repeat(500),
          ),
        );
      } finally {
        conn.close();
      }
    })();
    try {
      const result = await runExample("file_transfer.ts", {
        args: [
          "download",
          "--url",
          `http://127.0.0.1:${port}/files/copy.bin`,
          "--out",
          out,
        ],
        permissions: [
          `--allow-net=127.0.0.1:${port}`,
          `--allow-read=${dirname(out)}`,
          `--allow-write=${dirname(out)}`,
        ],
        timeoutMs: 4000,
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Cannot download/);
      const left = await Deno.readTextFile(out).catch(() => null);
      assert.ok(
        left === null || left === "old content",
        `a broken download left ${JSON.stringify(left)} at --out`,
      );
    } finally {
      await serving2.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ------------------------------------------------------------ serve() TLS

const certificate = await testCertificate();
const noTls = certificate === null;

// BUG (Deno, not fixable in h1 yet; see README): headersTimeoutMs bounds "first byte to complete head" and
// the connection "is closed". On plain HTTP a silent client is closed at
// the deadline (EOF after ~300 ms here). On the TLS port a client that
// never completes the handshake is dropped from the engine's books but its
// socket stays open (still open after 12 s in a probe): Deno's TlsConn
// close() does not end a handshake that is still pending in a read. So the
// handshake is unbounded and, since the connection no longer counts toward
// maxConnections, silent TCP connections to a TLS port pile up as open
// file descriptors without limit.
Deno.test({
  name:
    "serve over TLS closes a client that never handshakes at headersTimeoutMs",
  ignore: true,
  async fn() {
    await using server = startServer(() => new Response("ok"), {
      cert: certificate!.cert,
      key: certificate!.key,
      limits: { headersTimeoutMs: 300 },
    });
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    try {
      assert.notEqual(await peerState(conn, 2000), "open");
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name:
    "serve over plain TCP closes a silent client at headersTimeoutMs (control)",
  async fn() {
    await using server = startServer(() => new Response("ok"), {
      limits: { headersTimeoutMs: 300 },
    });
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    try {
      assert.equal(await peerState(conn, 2000), "eof");
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name:
    "serve over TLS gives https URLs, the peer's address, and no h2 by ALPN",
  ignore: noTls,
  async fn() {
    await using server = startServer(
      (req, info) => Response.json({ url: req.url, remote: info.remoteAddr }),
      { cert: certificate!.cert, key: certificate!.key },
    );
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port: server.addr.port,
      caCerts: [certificate!.cert],
      alpnProtocols: ["h2", "http/1.1"],
    });
    try {
      const { alpnProtocol } = await conn.handshake();
      // RFC 7301 §3.2: the server selects only a protocol it speaks.
      assert.notEqual(alpnProtocol, "h2");
      await writeAll(
        conn,
        encoder.encode(
          "GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ),
      );
      const chunks: Uint8Array[] = [];
      const reader = new BufferedReader(conn, { timeoutMs: 3000 });
      for (let c; (c = await reader.read().catch(() => null)) !== null;) {
        chunks.push(c);
      }
      const text = decoder.decode(
        new Uint8Array(chunks.flatMap((c) => [...c])),
      );
      assert.match(text, /^HTTP\/1\.1 200 /);
      const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
      assert.equal(body.url, "https://localhost/x");
      assert.equal(body.remote.hostname, "127.0.0.1");
      assert.equal(body.remote.port, (conn.localAddr as Deno.NetAddr).port);
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name: "serve over TLS shuts down at once with a handshake pending",
  ignore: noTls,
  async fn() {
    const server = startServer(() => new Response("ok"), {
      cert: certificate!.cert,
      key: certificate!.key,
    });
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    try {
      await delay(50);
      const started = performance.now();
      await server.shutdown();
      await server.finished;
      assert.ok(performance.now() - started < 1000);
    } finally {
      conn.close();
    }
  },
});

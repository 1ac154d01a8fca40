import assert from "node:assert/strict";
import {
  AddressInUseError,
  BufferedReader,
  ConnectionRefusedError,
  connectTcp,
  listenTcp,
  NetError,
  TimeoutError,
  writeAll,
} from "../../net/mod.ts";

const encoder = new TextEncoder();

Deno.test("listenTcp and connectTcp echo a line round trip", async () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    using conn = await listener.accept();
    const reader = new BufferedReader(conn, { timeoutMs: 2000 });
    const line = await reader.readLine();
    await writeAll(conn, encoder.encode(`echo: ${line}\n`));
  })();
  using client = await connectTcp({
    port: listener.addr.port,
    timeoutMs: 2000,
    noDelay: true,
  });
  await writeAll(client, encoder.encode("hello\n"));
  const reader = new BufferedReader(client, { timeoutMs: 2000 });
  assert.equal(await reader.readLine(), "echo: hello");
  assert.equal(await reader.readLine(), null);
  await serving;
});

Deno.test("listenTcp throws AddressInUseError for a port in use", () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  assert.throws(
    () => listenTcp({ hostname: "127.0.0.1", port }),
    (error: unknown) => {
      assert.ok(error instanceof AddressInUseError);
      assert.ok(error instanceof NetError);
      assert.equal(error.code, "EADDRINUSE");
      assert.equal(
        error.message,
        `Port ${port} on 127.0.0.1 is already in use: stop the other program or pass --port`,
      );
      assert.ok(error.cause instanceof Deno.errors.AddrInUse);
      return true;
    },
  );
});

Deno.test("listenTcp rebinds a port whose old connections are in TIME_WAIT", async () => {
  const first = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const { port } = first.addr;
  const client = await connectTcp({ port });
  const accepted = await first.accept();
  accepted.close(); // the server closes first, so its side enters TIME_WAIT
  first.close();
  client.close();
  using again = listenTcp({ hostname: "127.0.0.1", port });
  assert.equal(again.addr.port, port);
});

Deno.test("connectTcp throws ConnectionRefusedError on a closed port", async () => {
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  await assert.rejects(
    connectTcp({ hostname: "127.0.0.1", port, timeoutMs: 2000 }),
    (error: unknown) => {
      assert.ok(error instanceof ConnectionRefusedError);
      assert.equal(error.code, "ECONNREFUSED");
      assert.equal(
        error.message,
        `Connection to 127.0.0.1:${port} refused: is the server running?`,
      );
      return true;
    },
  );
});

Deno.test("connectTcp throws TimeoutError when the accept queue is full", async () => {
  // Linux drops SYNs to a listener whose accept queue is full, so a connect
  // that never gets accepted hangs exactly like one to a dead host.
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const conns: Deno.TcpConn[] = [];
  let timeout: unknown;
  try {
    for (let i = 0; i < 5000 && timeout === undefined; i++) {
      try {
        conns.push(await connectTcp({ port, timeoutMs: 100 }));
      } catch (error) {
        timeout = error;
      }
    }
  } finally {
    for (const conn of conns) conn.close();
  }
  assert.ok(timeout instanceof TimeoutError, String(timeout));
  assert.equal(timeout.code, "ETIMEDOUT");
  assert.equal(timeout.operation, "connect");
  assert.equal(timeout.timeoutMs, 100);
  assert.match(
    timeout.message,
    new RegExp(`^Connection to 127\\.0\\.0\\.1:${port} timed out after 100 ms`),
  );
});

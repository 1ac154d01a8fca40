import assert from "node:assert/strict";
import {
  BufferedReader,
  ConnectionResetError,
  connectTcp,
  listenTcp,
  TimeoutError,
  writeAll,
} from "../../net/mod.ts";

Deno.test("writeAll sends a large buffer the peer reads completely", async () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  using client = await connectTcp({ port: listener.addr.port });
  using server = await listener.accept();
  const bytes = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
  const reading = new BufferedReader(server).readExactly(bytes.length, {
    timeoutMs: 10_000,
  });
  await writeAll(client, bytes, { timeoutMs: 10_000 });
  assert.deepEqual(await reading, bytes);
});

Deno.test("writeAll throws TimeoutError when the peer stops reading", async () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const client = await connectTcp({ port: listener.addr.port });
  using _server = await listener.accept();
  try {
    const big = new Uint8Array(64 * 1024 * 1024); // far past both socket buffers
    await assert.rejects(
      writeAll(client, big, { timeoutMs: 200 }),
      (error: unknown) =>
        error instanceof TimeoutError && error.operation === "write",
    );
  } finally {
    client.close(); // ends the write still in flight
  }
});

Deno.test("writeAll throws ConnectionResetError once the peer has gone", async () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  using client = await connectTcp({ port: listener.addr.port });
  const server = await listener.accept();
  server.close();
  const chunk = new Uint8Array(64 * 1024);
  await assert.rejects(
    (async () => {
      // The first writes may still be accepted; the RST arrives after them.
      for (let i = 0; i < 200; i++) {
        await writeAll(client, chunk, { timeoutMs: 2000 });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })(),
    ConnectionResetError,
  );
});

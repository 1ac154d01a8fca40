import assert from "node:assert/strict";
import { BufferedReader, connectTcp, writeAll } from "../../net/mod.ts";
import { runExample, spawnExample } from "./_spawn.ts";

const encoder = new TextEncoder();

Deno.test("tcp_echo_server echoes to several clients at once", async () => {
  await using server = await spawnExample("tcp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  assert.ok(server.port > 0);
  const conns = await Promise.all(
    [0, 1, 2].map(() => connectTcp({ port: server.port, timeoutMs: 2000 })),
  );
  try {
    // Interleave: every client is connected before any gets an answer.
    for (const [i, conn] of conns.entries()) {
      await writeAll(conn, encoder.encode(`hello from ${i}\n`));
    }
    for (const [i, conn] of conns.entries()) {
      const reader = new BufferedReader(conn, { timeoutMs: 2000 });
      assert.equal(await reader.readLine(), `hello from ${i}`);
      const big = new Uint8Array(300_000).map((_, j) => (i + j) % 256);
      const [, echoed] = await Promise.all([
        writeAll(conn, big),
        reader.readExactly(big.length),
      ]);
      assert.deepEqual(echoed, big);
    }
  } finally {
    for (const conn of conns) conn.close();
  }
});

Deno.test("tcp_echo_server stops cleanly on Ctrl-C", async () => {
  const server = await spawnExample("tcp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const conn = await connectTcp({ port: server.port, timeoutMs: 2000 });
  try {
    await server.waitForLine(/^Connected /);
    const status = await server.kill("SIGINT");
    assert.equal(status.code, 0);
    assert.ok(server.lines.includes("Shutting down"), server.lines.join("\n"));
    // The server closed our connection on its way out.
    assert.equal(
      await new BufferedReader(conn, { timeoutMs: 2000 }).read(),
      null,
    );
  } finally {
    conn.close();
    await server.kill();
  }
});

Deno.test("tcp_echo_server explains a port in use and exits 1", async () => {
  await using first = await spawnExample("tcp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1"],
  });
  const second = await runExample("tcp_echo_server.ts", {
    args: [`--port=${first.port}`],
    permissions: ["--allow-net=127.0.0.1"],
  });
  assert.equal(second.code, 1);
  assert.equal(
    second.stderr.trim(),
    `Port ${first.port} on 127.0.0.1 is already in use: stop the other program or pass --port`,
  );
});

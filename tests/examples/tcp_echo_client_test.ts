import assert from "node:assert/strict";
import { listenTcp } from "../../net/mod.ts";
import { runExample, spawnExample } from "./_spawn.ts";

Deno.test("tcp_echo_client prints the echo of each argument", async () => {
  await using server = await spawnExample("tcp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const result = await runExample("tcp_echo_client.ts", {
    args: [`--port=${server.port}`, "hello", "two words"],
    permissions: [`--allow-net=127.0.0.1:${server.port}`],
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split("\n"), [
    `Connected to tcp://127.0.0.1:${server.port}`,
    "Received: hello",
    "Received: two words",
  ]);
});

Deno.test("tcp_echo_client sends stdin lines when given no arguments", async () => {
  await using server = await spawnExample("tcp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
  });
  const result = await runExample("tcp_echo_client.ts", {
    args: [`--port=${server.port}`],
    permissions: [`--allow-net=127.0.0.1:${server.port}`],
    stdin: "first\nsecond\n",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Received: first\nReceived: second\n$/);
});

Deno.test("tcp_echo_client says the connection was refused and exits 1", async () => {
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const result = await runExample("tcp_echo_client.ts", {
    args: [`--port=${port}`, "hello"],
    permissions: [`--allow-net=127.0.0.1:${port}`],
  });
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr.trim(),
    `Connection to 127.0.0.1:${port} refused: is the server running?`,
  );
});

Deno.test("tcp_echo_client times out on a server that never answers", async () => {
  using silent = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const { port } = silent.addr;
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of silent) accepted.push(conn);
    } catch { /* closed */ }
  })();
  try {
    const result = await runExample("tcp_echo_client.ts", {
      args: [`--port=${port}`, "--timeout=300", "hello"],
      permissions: [`--allow-net=127.0.0.1:${port}`],
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr.trim(),
      new RegExp(`^Read from 127\\.0\\.0\\.1:${port} timed out after 300 ms`),
    );
  } finally {
    silent.close();
    await accepting;
    for (const conn of accepted) conn.close();
  }
});

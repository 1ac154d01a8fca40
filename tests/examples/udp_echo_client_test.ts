import assert from "node:assert/strict";
import { listenUdp } from "../../net/mod.ts";
import { runExample, spawnExample } from "./_spawn.ts";

Deno.test("udp_echo_client prints the echo of each argument", async () => {
  await using server = await spawnExample("udp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1"],
  });
  const result = await runExample("udp_echo_client.ts", {
    args: [`--port=${server.port}`, "hello", "world"],
    permissions: [`--allow-net=127.0.0.1:0,127.0.0.1:${server.port}`],
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split("\n"), [
    `Sending to udp://127.0.0.1:${server.port}`,
    "Received: hello",
    "Received: world",
  ]);
});

Deno.test("udp_echo_client retries, then says nothing answered and exits 1", async () => {
  // A bound socket that never answers, so the datagrams vanish silently.
  await using silent = await listenUdp();
  const { port } = silent.addr;
  const result = await runExample("udp_echo_client.ts", {
    args: [`--port=${port}`, "--timeout=100", "--retries=3", "hello"],
    permissions: [`--allow-net=127.0.0.1:0,127.0.0.1:${port}`],
  });
  assert.equal(result.code, 1);
  const stderr = result.stderr.trim().split("\n");
  assert.deepEqual(stderr, [
    "No reply in 100 ms (try 1 of 3)",
    "No reply in 100 ms (try 2 of 3)",
    "No reply in 100 ms (try 3 of 3)",
    `No reply from 127.0.0.1:${port} after 3 tries of 100 ms: is the server running?`,
  ]);
  // Every try really went out.
  for (let i = 0; i < 3; i++) {
    const { data } = await silent.receive({ timeoutMs: 1000 });
    assert.equal(new TextDecoder().decode(data), "hello");
  }
});

Deno.test("udp_echo_client without a grant for its own socket says so in one line", async () => {
  // Only the server's address is granted, not 127.0.0.1:0 for the client's
  // own socket: Deno's node:dgram used to raise that as an uncaught error.
  const result = await runExample("udp_echo_client.ts", {
    args: ["--port=7001", "hello"],
    permissions: ["--allow-net=127.0.0.1:7001"],
  });
  assert.equal(result.code, 1);
  assert.deepEqual(result.stderr.trim().split("\n"), [
    'Requires net access to "127.0.0.1:0", run again with the --allow-net flag',
  ]);
});

import assert from "node:assert/strict";
import { listenUdp } from "../../net/mod.ts";
import { spawnExample } from "./_spawn.ts";

Deno.test("udp_echo_server answers each datagram with the same bytes", async () => {
  await using server = await spawnExample("udp_echo_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1"],
  });
  await using client = await listenUdp();
  const to = { hostname: "127.0.0.1", port: server.port };
  for (const text of ["ping", "second datagram", "ünïcödé"]) {
    const bytes = new TextEncoder().encode(text);
    // Loopback does not drop datagrams, but retry anyway as UDP code must.
    let reply: Uint8Array | undefined;
    for (let attempt = 0; attempt < 3 && reply === undefined; attempt++) {
      await client.send(bytes, to);
      reply = await client.receive({ timeoutMs: 1000 }).then(
        (d) => d.data,
        () => undefined,
      );
    }
    assert.deepEqual(reply, bytes);
  }
  await server.waitForLine(/^Echoed 4 bytes to 127\.0\.0\.1:\d+$/);
});

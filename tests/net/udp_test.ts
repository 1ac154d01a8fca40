import assert from "node:assert/strict";
import { AddressInUseError, listenUdp, TimeoutError } from "../../net/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("listenUdp echoes a datagram round trip", async () => {
  await using server = await listenUdp({ hostname: "127.0.0.1", port: 0 });
  await using client = await listenUdp();
  assert.notEqual(server.addr.port, 0);
  const serving = (async () => {
    const { data, remoteAddr } = await server.receive({ timeoutMs: 2000 });
    await server.send(data, remoteAddr);
  })();
  await client.send(encoder.encode("ping"), server.addr);
  const reply = await client.receive({ timeoutMs: 2000 });
  assert.equal(decoder.decode(reply.data), "ping");
  assert.deepEqual(reply.remoteAddr, server.addr);
  await serving;
});

Deno.test("UdpSocket.receive throws TimeoutError when nothing arrives", async () => {
  await using socket = await listenUdp();
  const started = performance.now();
  await assert.rejects(
    socket.receive({ timeoutMs: 80 }),
    (error: unknown) =>
      error instanceof TimeoutError && error.timeoutMs === 80 &&
      error.code === "ETIMEDOUT",
  );
  assert.ok(performance.now() - started >= 70);
});

Deno.test("UdpSocket iteration ends when the socket closes", async () => {
  const socket = await listenUdp();
  const seen: string[] = [];
  const iterating = (async () => {
    for await (const { data } of socket) seen.push(decoder.decode(data));
  })();
  await using sender = await listenUdp();
  await sender.send(encoder.encode("one"), socket.addr);
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  await socket.close();
  await iterating;
  assert.deepEqual(seen, ["one"]);
});

Deno.test("listenUdp throws AddressInUseError for a bound port", async () => {
  await using first = await listenUdp();
  await assert.rejects(
    listenUdp({ port: first.addr.port }),
    (error: unknown) => {
      assert.ok(error instanceof AddressInUseError);
      assert.match(
        error.message,
        new RegExp(
          `^Port ${first.addr.port} on 127\\.0\\.0\\.1 is already in use`,
        ),
      );
      return true;
    },
  );
});

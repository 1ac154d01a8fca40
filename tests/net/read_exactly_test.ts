import assert from "node:assert/strict";
import {
  connectTcp,
  listenTcp,
  readExactly,
  TimeoutError,
  UnexpectedEofError,
  writeAll,
} from "../../net/mod.ts";

const encoder = new TextEncoder();

Deno.test("readExactly reads across writes and leaves later bytes unread", async () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  using client = await connectTcp({ port: listener.addr.port, noDelay: true });
  using server = await listener.accept();
  await writeAll(client, encoder.encode("ab"));
  const reading = readExactly(server, 4, { timeoutMs: 2000 });
  await writeAll(client, encoder.encode("cdEF"));
  assert.deepEqual(await reading, encoder.encode("abcd"));
  assert.deepEqual(
    await readExactly(server, 2, { timeoutMs: 2000 }),
    encoder.encode("EF"),
  );
});

Deno.test("readExactly throws UnexpectedEofError when the peer closes early", async () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const client = await connectTcp({ port: listener.addr.port });
  using server = await listener.accept();
  await writeAll(client, encoder.encode("xy"));
  client.close();
  await assert.rejects(
    readExactly(server, 3, { timeoutMs: 2000 }),
    (error: unknown) =>
      error instanceof UnexpectedEofError &&
      error.partial.length === 2 && error.expected === 3,
  );
});

Deno.test("readExactly throws TimeoutError after timeoutMs", async () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  using client = await connectTcp({ port: listener.addr.port });
  const server = await listener.accept();
  try {
    await writeAll(client, encoder.encode("x"));
    await assert.rejects(
      readExactly(server, 2, { timeoutMs: 60 }),
      (error: unknown) =>
        error instanceof TimeoutError && error.timeoutMs === 60,
    );
  } finally {
    server.close(); // also ends the abandoned read
  }
});

Deno.test("readExactly rejects a negative count", async () => {
  const reader = { read: () => Promise.resolve(null) };
  await assert.rejects(readExactly(reader, -1), RangeError);
});

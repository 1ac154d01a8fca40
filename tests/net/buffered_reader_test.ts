import assert from "node:assert/strict";
import {
  BufferedReader,
  connectTcp,
  LimitOverrunError,
  listenTcp,
  TimeoutError,
  UnexpectedEofError,
  writeAll,
} from "../../net/mod.ts";

const encoder = new TextEncoder();

/** A connected client/server pair on 127.0.0.1. */
async function pair(): Promise<{
  client: Deno.TcpConn;
  server: Deno.TcpConn;
  [Symbol.dispose](): void;
}> {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const client = await connectTcp({ port: listener.addr.port, noDelay: true });
  const server = await listener.accept();
  return {
    client,
    server,
    [Symbol.dispose]() {
      try {
        client.close();
      } catch { /* already closed by the test */ }
      try {
        server.close();
      } catch { /* already closed by the test */ }
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A reader that hands out the given chunks, each over one or more reads. */
function chunkReader(
  chunks: string[],
): { read(p: Uint8Array): Promise<number | null> } {
  const queue = chunks.map((chunk) => encoder.encode(chunk));
  return {
    read(p) {
      const chunk = queue.shift();
      if (chunk === undefined) return Promise.resolve(null);
      const n = Math.min(chunk.length, p.length);
      p.set(chunk.subarray(0, n));
      if (n < chunk.length) queue.unshift(chunk.subarray(n));
      return Promise.resolve(n);
    },
  };
}

Deno.test("BufferedReader.readLine joins a line split over many writes", async () => {
  using sockets = await pair();
  const writing = (async () => {
    for (const part of ["hel", "lo wor", "ld\r", "\nsecond", " line\n"]) {
      await writeAll(sockets.client, encoder.encode(part));
      await delay(10);
    }
    sockets.client.close();
  })();
  const reader = new BufferedReader(sockets.server, { timeoutMs: 2000 });
  assert.equal(await reader.readLine(), "hello world");
  assert.equal(await reader.readLine(), "second line");
  assert.equal(await reader.readLine(), null);
  await writing;
});

Deno.test("BufferedReader.readLine splits lines at every chunk boundary", async () => {
  const text = "alpha\r\nbeta\n\ngamma\r\ndelta";
  for (let cut = 0; cut <= text.length; cut++) {
    for (let cut2 = cut; cut2 <= text.length; cut2++) {
      const parts = [
        text.slice(0, cut),
        text.slice(cut, cut2),
        text.slice(cut2),
      ];
      const reader = new BufferedReader(chunkReader(parts), { bufferSize: 8 });
      const lines: string[] = [];
      for (let line; (line = await reader.readLine()) !== null;) {
        lines.push(line);
      }
      assert.deepEqual(
        lines,
        ["alpha", "beta", "", "gamma", "delta"],
        parts.join("|"),
      );
    }
  }
});

Deno.test("BufferedReader keeps bytes after a line for readExactly and read", async () => {
  const reader = new BufferedReader(chunkReader(["5\nabcdeXY", "Z"]));
  assert.equal(await reader.readLine(), "5");
  assert.deepEqual(await reader.readExactly(5), encoder.encode("abcde"));
  assert.equal(reader.buffered, 2);
  assert.deepEqual(await reader.read(), encoder.encode("XY"));
  assert.deepEqual(await reader.read(), encoder.encode("Z"));
  assert.equal(await reader.read(), null);
});

Deno.test("BufferedReader.readLine throws LimitOverrunError past maxBytes", async () => {
  const reader = new BufferedReader(chunkReader(["abc\n", "toolongline\n"]), {
    bufferSize: 4,
  });
  assert.equal(await reader.readLine({ maxBytes: 4 }), "abc");
  await assert.rejects(
    reader.readLine({ maxBytes: 4 }),
    (error: unknown) =>
      error instanceof LimitOverrunError && error.maxBytes === 4,
  );
});

Deno.test("BufferedReader.readLine accepts a line of exactly maxBytes with CRLF", async () => {
  const reader = new BufferedReader(chunkReader(["abcd\r\n"]), {
    bufferSize: 2,
  });
  assert.equal(await reader.readLine({ maxBytes: 4 }), "abcd");
});

Deno.test("BufferedReader.readExactly throws UnexpectedEofError on a short close", async () => {
  using sockets = await pair();
  await writeAll(sockets.client, encoder.encode("abc"));
  sockets.client.close();
  const reader = new BufferedReader(sockets.server, { timeoutMs: 2000 });
  await assert.rejects(reader.readExactly(10), (error: unknown) => {
    assert.ok(error instanceof UnexpectedEofError);
    assert.equal(error.code, "EUNEXPECTEDEOF");
    assert.deepEqual(error.partial, encoder.encode("abc"));
    assert.equal(error.expected, 10);
    return true;
  });
});

Deno.test("BufferedReader.readLine times out and keeps the late bytes", async () => {
  using sockets = await pair();
  const reader = new BufferedReader(sockets.server);
  const started = performance.now();
  await assert.rejects(
    reader.readLine({ timeoutMs: 100 }),
    (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.operation, "read");
      assert.equal(error.timeoutMs, 100);
      assert.match(
        error.message,
        /^Read from 127\.0\.0\.1:\d+ timed out after 100 ms/,
      );
      return true;
    },
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 90 && elapsed < 1500, `took ${elapsed} ms`);
  // The read started before the timeout is still pending; its bytes must
  // reach the next call, like Python's socket after socket.timeout.
  await writeAll(sockets.client, encoder.encode("late\n"));
  assert.equal(await reader.readLine({ timeoutMs: 2000 }), "late");
});

Deno.test("BufferedReader uses its default timeoutMs like settimeout", async () => {
  using sockets = await pair();
  const reader = new BufferedReader(sockets.server, { timeoutMs: 50 });
  await assert.rejects(reader.readExactly(1), TimeoutError);
  reader.timeoutMs = 80;
  await assert.rejects(
    reader.read(),
    (error: unknown) => error instanceof TimeoutError && error.timeoutMs === 80,
  );
  sockets.client.close();
  assert.equal(await reader.read(), null);
});

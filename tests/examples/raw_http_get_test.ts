import assert from "node:assert/strict";
import {
  BufferedReader,
  listenTcp,
  readExactly,
  writeAll,
} from "../../net/mod.ts";
import { runExample } from "./_spawn.ts";

const CANNED = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" +
  "Content-Length: 13\r\nConnection: close\r\n\r\nHello, world!";

/** A one-shot TCP server: records the request head, answers CANNED. */
function cannedServer() {
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const head: string[] = [];
  const serving = (async () => {
    using conn = await listener.accept();
    const reader = new BufferedReader(conn, { timeoutMs: 5000 });
    for (let line; (line = await reader.readLine()) !== null && line !== "";) {
      head.push(line);
    }
    await writeAll(conn, new TextEncoder().encode(CANNED));
  })();
  return { listener, head, serving };
}

Deno.test("raw_http_get writes a raw GET and prints the raw response", async () => {
  const server = cannedServer();
  try {
    const { port } = server.listener.addr;
    const result = await runExample("raw_http_get.ts", {
      args: ["--host=127.0.0.1", `--port=${port}`, "--path=/hello?x=1"],
      permissions: [`--allow-net=127.0.0.1:${port}`],
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, CANNED);
    await server.serving;
    assert.deepEqual(server.head, [
      "GET /hello?x=1 HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "User-Agent: h1-raw-http-get",
      "Accept: */*",
      "Connection: close",
    ]);
  } finally {
    server.listener.close();
  }
});

Deno.test("raw_http_get says the connection was refused and exits 1", async () => {
  const listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const result = await runExample("raw_http_get.ts", {
    args: ["--host=127.0.0.1", `--port=${port}`],
    permissions: [`--allow-net=127.0.0.1:${port}`],
  });
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr.trim(),
    `Connection to 127.0.0.1:${port} refused: is the server running?`,
  );
});

Deno.test("raw_http_get times out on a server that never answers", async () => {
  using listener = listenTcp({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const accepting = listener.accept();
  try {
    const result = await runExample("raw_http_get.ts", {
      args: ["--host=127.0.0.1", `--port=${port}`, "--timeout=300"],
      permissions: [`--allow-net=127.0.0.1:${port}`],
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /timed out after 300 ms/);
  } finally {
    const conn = await accepting;
    // The request did arrive in full before the client gave up waiting.
    const bytes = await readExactly(conn, 4, { timeoutMs: 1000 });
    assert.equal(new TextDecoder().decode(bytes), "GET ");
    conn.close();
  }
});

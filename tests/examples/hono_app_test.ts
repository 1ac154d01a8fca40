import assert from "node:assert/strict";
import { RawClient } from "../server/_raw.ts";
import { spawnExample } from "./_spawn.ts";

Deno.test("hono_app serves routes, JSON and a stream, and stops on SIGTERM", async () => {
  const app = await spawnExample("hono_app.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1:0"],
    timeoutMs: 60_000,
  });
  try {
    assert.match(
      app.match.input ?? "",
      /^Listening on http:\/\/127\.0\.0\.1:\d+\/$/,
    );
    await using client = await RawClient.connect(app.port);
    const body = JSON.stringify({ n: 21 });
    await client.send(
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /users/7?fields=name HTTP/1.1\r\nHost: x\r\n\r\n" +
        `POST /double HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        "GET /countdown HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const [root, user, doubled, countdown] = await client.responses(
      ["GET", "GET", "POST", "GET"],
      10_000,
    );
    assert.equal(root!.text, "Hello from Hono on h1\n");
    assert.deepEqual(JSON.parse(user!.text), { id: "7", fields: "name" });
    assert.deepEqual(JSON.parse(doubled!.text), { n: 21, doubled: 42 });
    assert.equal(countdown!.headers.get("transfer-encoding"), "chunked");
    assert.equal(countdown!.text, "3...\n2...\n1...\nliftoff\n");
  } finally {
    const status = await app.kill("SIGTERM");
    assert.equal(status.code, 0);
    assert.ok(app.lines.includes("Server stopped"));
  }
});

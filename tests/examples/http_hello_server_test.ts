import assert from "node:assert/strict";
import { RawClient } from "../server/_raw.ts";
import { spawnExample } from "./_spawn.ts";

Deno.test("http_hello_server answers Hello, world! over HTTP/1.0 like the Python seed", async () => {
  await using example = await spawnExample("http_hello_server.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=localhost"],
  });
  await using client = await RawClient.connect(example.port);
  await client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const text = await client.readToEnd();
  assert.match(text, /^HTTP\/1\.0 200 OK\r\nServer: BaseHTTP\/0\.6 Deno\//);
  assert.match(text, /\r\nContent-type: text\/html\r\n\r\nHello, world!$/);
  assert.equal(client.ended, true, "closed after the response (HTTP/1.0)");
  const log = example.stderrLines.join("\n");
  await example.kill();
  assert.match(
    log + example.stderrLines.join("\n"),
    /"GET \/ HTTP\/1\.1" 200 -/,
  );
});

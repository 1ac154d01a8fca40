import assert from "node:assert/strict";
import { runExample } from "./_spawn.ts";
import { answerEach, cannedServer, ok } from "../client/_canned_server.ts";

Deno.test("http_client prints status, reason and body like the Python example", async () => {
  await using server = cannedServer(answerEach(ok("Hello, world!")));
  const result = await runExample("http_client.ts", {
    args: ["--host=127.0.0.1", `--port=${server.port}`, "--path=/greeting"],
    permissions: [`--allow-net=127.0.0.1:${server.port}`],
  });
  assert.equal(result.code, 0, result.stderr);
  const [status, ...rest] = result.stdout.trimEnd().split("\n");
  assert.equal(status, "200 OK");
  // console.log of a Uint8Array: Deno's inspect format, like Python's b'...'.
  const printed = rest.join("\n");
  assert.match(printed, /^Uint8Array\(13\) \[/);
  const numbers = printed.slice(printed.indexOf("[")).match(/\d+/g)!.map(
    Number,
  );
  assert.deepEqual(numbers, [...new TextEncoder().encode("Hello, world!")]);
  assert.equal(server.requests[0]!.line, "GET /greeting HTTP/1.1");
});

Deno.test("http_client fails clearly when nothing listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runExample("http_client.ts", {
    args: ["--host=127.0.0.1", `--port=${port}`],
    permissions: [`--allow-net=127.0.0.1:${port}`],
  });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(`Connection to 127\\.0\\.0\\.1:${port} refused`),
  );
});

import assert from "node:assert/strict";
import { fetchRaw } from "../server/_raw.ts";
import { spawnExample } from "./_spawn.ts";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("multi_core answers every connection from workers sharing one port", async () => {
  const app = await spawnExample("multi_core.ts", {
    args: ["--port=0", "--workers=2"],
    permissions: [
      "--unstable-net",
      "--allow-net=127.0.0.1",
      `--allow-read=${root}examples/multi_core.ts,${root}server,${root}http1,${root}net`,
    ],
    waitFor: /^Listening on http:\/\/127\.0\.0\.1:(\d+)\/ \((\d+) workers\)$/,
    timeoutMs: 60_000,
  });
  try {
    assert.equal(app.match[2], "2");
    const workers = new Map<string, number>();
    // A fresh connection per request: the kernel picks a worker per connection.
    for (let i = 0; i < 16; i++) {
      const res = await fetchRaw(
        app.port,
        `GET /n${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(res.status, 200);
      const worker = res.headers.get("x-worker") ?? "missing";
      assert.match(worker, /^[01]$/);
      assert.equal(res.text, `Hello from worker ${worker}: /n${i}\n`);
      workers.set(worker, (workers.get(worker) ?? 0) + 1);
    }
    // Soft check: SO_REUSEPORT hashes connections, so both workers usually
    // answer, but a test must not depend on the hash.
    Deno.stderr.writeSync(new TextEncoder().encode(
      `multi_core: responses per worker ${JSON.stringify([...workers])}${
        workers.size < 2 ? " (only one worker answered this time)" : ""
      }\n`,
    ));
  } finally {
    const status = await app.kill("SIGTERM");
    assert.equal(status.code, 0, app.stderrLines.join("\n"));
    assert.ok(app.lines.includes("Server stopped"));
  }
});

import assert from "node:assert/strict";
import { HTTPConnection } from "../../client/http_connection.ts";
import { Pool } from "../../client/pool.ts";
import { Trace, type TraceRecord } from "../../client/trace.ts";
import { replayTrace } from "../../client/replay.ts";
import { answerEach, cannedServer, ok } from "./_canned_server.ts";

function collector(): { chunks: string[]; write(p: Uint8Array): number } {
  const chunks: string[] = [];
  return {
    chunks,
    write(p: Uint8Array): number {
      chunks.push(new TextDecoder().decode(p));
      return p.length;
    },
  };
}

Deno.test("HTTPConnection.set_debuglevel prints Python's send/reply/header lines", async () => {
  await using server = cannedServer(answerEach(ok("hi", "X-Test: 1\r\n")));
  const out = collector();
  using conn = new HTTPConnection("127.0.0.1", server.port, {
    debugWriter: out,
  });
  conn.set_debuglevel(1);
  await conn.request("GET", "/path");
  const response = await conn.getresponse();
  await response.read();
  await conn.flushDebug();
  assert.equal(
    out.chunks.join(""),
    `send: b'GET /path HTTP/1.1\\r\\nHost: 127.0.0.1:${server.port}\\r\\nAccept-Encoding: identity\\r\\n\\r\\n'\n` +
      `reply: 'HTTP/1.1 200 OK\\r\\n'\n` +
      `header: Content-Length: 2\n` +
      `header: X-Test: 1\n`,
  );
});

Deno.test("Trace writes one JSON line per exchange with raw heads, timings and reuse", async () => {
  await using server = cannedServer(answerEach(
    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok("one"),
    ok("two"),
  ));
  const out = collector();
  const trace = new Trace(out);
  using conn = new HTTPConnection("127.0.0.1", server.port, { trace });
  await conn.request("POST", "/a", "body");
  await (await conn.getresponse()).read();
  await conn.request("GET", "/b");
  await (await conn.getresponse()).read();
  await trace.flush();
  const lines = out.chunks.join("").trimEnd().split("\n");
  assert.equal(lines.length, 2);
  const [first, second] = lines.map((l) => JSON.parse(l) as TraceRecord);
  assert.equal(first!.method, "POST");
  assert.equal(first!.reused, false);
  assert.equal(second!.reused, true);
  assert.equal(first!.connection, second!.connection);
  assert.equal(first!.request.head, server.requests[0]!.head);
  assert.equal(first!.request.body, "body");
  assert.deepEqual(first!.response!.heads, [
    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
  ]);
  assert.equal(first!.response!.bodyBytes, 3);
  assert.ok(first!.timings.connectMs !== null);
  assert.equal(second!.timings.connectMs, null);
  assert.ok(second!.timings.endMs! >= second!.timings.headMs!);
  assert.equal(first!.error, null);
});

Deno.test("Trace records pool exchanges, and replayTrace sends them again", async () => {
  await using server = cannedServer(answerEach(ok("a"), ok("bb")));
  const records: TraceRecord[] = [];
  using pool = new Pool({ trace: new Trace((r) => records.push(r)) });
  const origin = `http://127.0.0.1:${server.port}`;
  await (await pool.request(origin, { path: "/x" })).read();
  await (await pool.request(origin, { path: "/y", method: "PUT", body: "zz" }))
    .read();
  assert.equal(records.length, 2);
  assert.equal(records[1]!.reused, true);

  await using target = cannedServer(answerEach(ok("a"), ok("changed")));
  const results = await replayTrace(records, {
    hostname: "127.0.0.1",
    port: target.port,
  });
  assert.deepEqual(
    target.requests.map((r) => [r.line, new TextDecoder().decode(r.body)]),
    [["GET /x HTTP/1.1", ""], ["PUT /y HTTP/1.1", "zz"]],
  );
  assert.deepEqual(results.map((r) => r.status), [200, 200]);
  assert.deepEqual(results.map((r) => r.recordedBodyBytes), [1, 2]);
  assert.deepEqual(results.map((r) => r.bodyBytes), [1, 7]);
  assert.equal(target.connections, 1);
});

Deno.test("Trace marks the retry after a stale keep-alive connection", async () => {
  await using server = cannedServer(async (c, index) => {
    if (await c.readRequest() === null) return;
    await c.write(ok(`c${index}`));
    if (index === 0) c.close();
    else await answerEach(ok("again"))(c);
  });
  const records: TraceRecord[] = [];
  using conn = new HTTPConnection("127.0.0.1", server.port, {
    trace: new Trace((r) => records.push(r)),
  });
  await conn.request("GET", "/1");
  await (await conn.getresponse()).read();
  await new Promise((r) => setTimeout(r, 50));
  await conn.request("GET", "/2");
  await (await conn.getresponse()).read();
  assert.deepEqual(
    records.map((r) => [r.target, r.reused, r.retry, r.error?.name ?? null]),
    [
      ["/1", false, false, null],
      ["/2", true, false, "RemoteDisconnected"],
      ["/2", false, true, null],
    ],
  );
});

Deno.test("replay.ts run as a program compares statuses and exits 0 or 1", async () => {
  await using server = cannedServer(answerEach(ok("a")));
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/trace.jsonl`;
    const file = await Deno.open(path, { write: true, create: true });
    const trace = new Trace(file);
    using pool = new Pool({ trace });
    await (await pool.request(`http://127.0.0.1:${server.port}`)).read();
    await trace.flush();
    file.close();
    const run = async (port: number) =>
      await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net=127.0.0.1",
          `--allow-read=${dir}`,
          new URL("../../client/replay.ts", import.meta.url).pathname,
          path,
          "--port",
          String(port),
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    let out = await run(server.port);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(
      new TextDecoder().decode(out.stdout),
      /^#0 GET \/ {2}recorded 200 \(1 B\) {2}now 200 \(1 B\)\n$/,
    );
    await using other = cannedServer(answerEach(
      "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
    ));
    out = await run(other.port);
    assert.equal(out.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { serve } from "../../server/serve.ts";
import { runExample } from "./_spawn.ts";

function startTarget() {
  return serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    return path === "/broken"
      ? new Response("oops", { status: 500 })
      : new Response("ok");
  });
}

/** A port nothing listens on: bind one, note it, close it. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

const LINE = /^\S+ round (\d+) (UP|DOWN) +(\S+) ([\d.]+) ms (.*)$/;

function checks(stdout: string) {
  return stdout.split("\n").flatMap((line) => {
    const m = line.match(LINE);
    return m
      ? [{ round: Number(m[1]), state: m[2], target: m[3], detail: m[5]! }]
      : [];
  });
}

Deno.test("monitor reports up and down targets and exits 1", async () => {
  await using server = startTarget();
  const port = server.addr.port;
  const down = closedPort();
  // Accepts connections (the kernel does, from the backlog) but never answers.
  using silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const up = `http://127.0.0.1:${port}/health`;
  const broken = `http://127.0.0.1:${port}/broken`;
  const refused = `tcp://127.0.0.1:${down}`;
  const mute = `http://127.0.0.1:${silent.addr.port}/`;
  const result = await runExample("monitor.ts", {
    args: ["--rounds=1", "--timeout=500", up, refused, broken, mute],
    permissions: ["--allow-net=127.0.0.1"],
  });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const lines = checks(result.stdout);
  assert.deepEqual(
    lines.map(({ state, target }) => [state, target]),
    [["UP", up], ["DOWN", refused], ["DOWN", broken], ["DOWN", mute]],
  );
  assert.match(lines[0]!.detail, /^200 OK/);
  assert.match(lines[1]!.detail, /refused/);
  assert.match(lines[2]!.detail, /^500 Internal Server Error/);
  assert.equal(lines[3]!.detail, "no answer within 500 ms");
  assert.match(result.stdout, /^Round 1: 1 up, 3 down$/m);
});

Deno.test("monitor exits 0 when every target is up in the last round", async () => {
  await using server = startTarget();
  const port = server.addr.port;
  const http = `http://127.0.0.1:${port}/`;
  const tcp = `tcp://127.0.0.1:${port}`;
  const result = await runExample("monitor.ts", {
    args: ["--rounds=3", "--interval=50", "--timeout=2000", http, tcp],
    permissions: [`--allow-net=127.0.0.1:${port}`],
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const lines = checks(result.stdout);
  assert.deepEqual(
    lines.map(({ round, state, target }) => [round, state, target]),
    [1, 2, 3].flatMap((round) => [[round, "UP", http], [round, "UP", tcp]]),
  );
  assert.equal(lines[1]!.detail, "connected");
  assert.equal(result.stdout.match(/^Round \d: 2 up, 0 down$/gm)?.length, 3);
});

Deno.test("monitor rejects targets it cannot check with exit 2", async () => {
  const result = await runExample("monitor.ts", {
    args: ["ftp://127.0.0.1/"],
    permissions: ["--allow-net=127.0.0.1"],
  });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /only http:\/\/ and tcp:\/\/ targets/);
});

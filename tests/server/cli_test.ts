import assert from "node:assert/strict";
import { HTTPSConnection } from "../../client/mod.ts";
import { spawnExample } from "../examples/_spawn.ts";
import { RawClient } from "./_raw.ts";
import { testCertificate } from "./_tls.ts";

// _spawn.ts resolves names under examples/; the CLI lives in server/.
const CLI = "../server/cli.ts";
const CLI_PATH = new URL("../../server/cli.ts", import.meta.url).pathname;
const SERVING =
  /^Serving HTTP on 127\.0\.0\.1 port (\d+) \(http:\/\/127\.0\.0\.1:(\d+)\/\) \.\.\.$/;
const SERVING_HTTPS =
  /^Serving HTTPS on 127\.0\.0\.1 port (\d+) \(https:\/\/127\.0\.0\.1:(\d+)\/\) \.\.\.$/;
// A throwaway self-signed certificate (null, and the TLS test skipped,
// without openssl).
const certificate = await testCertificate();

async function makeSite(): Promise<string> {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/hello.txt`, "hello from the cli\n");
  await Deno.mkdir(`${root}/docs`);
  return root;
}

async function run(
  args: string[],
  permissions: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, CLI_PATH, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

async function get(port: number, target: string): Promise<string> {
  await using client = await RawClient.connect(port);
  await client.send(`GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  return await client.readToEnd();
}

Deno.test("cli serves a directory like python -m http.server and logs requests", async () => {
  const root = await makeSite();
  try {
    await using cli = await spawnExample(CLI, {
      args: ["0", "-b", "127.0.0.1", "-d", root],
      permissions: ["--allow-net=127.0.0.1", `--allow-read=${root}`],
      waitFor: SERVING,
    });
    assert.ok(cli.port > 0);
    assert.equal(cli.match[2], cli.match[1], "the URL shows the real port");
    const file = await get(cli.port, "/hello.txt");
    assert.match(file, /^HTTP\/1\.0 200 OK\r\nServer: SimpleHTTP\/0\.6 Deno\//);
    assert.ok(file.endsWith("\r\n\r\nhello from the cli\n"));
    const listing = await get(cli.port, "/");
    assert.ok(listing.includes('<li><a href="docs/">docs/</a></li>'));
    assert.ok(listing.includes('<li><a href="hello.txt">hello.txt</a></li>'));
    const deadline = Date.now() + 5000;
    while (cli.stderrLines.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.match(
      cli.stderrLines[0]!,
      /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4} [\d:]{8}\] "GET \/hello\.txt HTTP\/1\.1" 200 -$/,
    );
    assert.match(cli.stderrLines[1]!, /"GET \/ HTTP\/1\.1" 200 -$/);
    const status = await cli.kill("SIGINT");
    assert.equal(status.code, 0);
    assert.ok(cli.lines.includes("Keyboard interrupt received, exiting."));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cli --protocol HTTP/1.1 keeps connections alive; -q silences the log; --no-listing hides directories", async () => {
  const root = await makeSite();
  try {
    await using cli = await spawnExample(CLI, {
      args: ["--port", "0", "-p", "HTTP/1.1", "-q", "--no-listing", "-d", root],
      permissions: ["--allow-net=127.0.0.1", `--allow-read=${root}`],
      waitFor: SERVING,
    });
    await using client = await RawClient.connect(cli.port);
    await client.send("GET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n");
    const first = await client.response();
    assert.equal(first.version, "HTTP/1.1");
    assert.equal(first.text, "hello from the cli\n");
    await client.send("GET /docs/ HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal((await client.response()).status, 404);
    await client.close();
    await cli.kill("SIGINT");
    assert.deepEqual(
      cli.stderrLines.filter((line) => line.includes('"GET')),
      [],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cli says what to do when the port is in use, exit code 1, no stack trace", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const { code, stdout, stderr } = await run(
    [String(port), "-d", "."],
    ["--allow-net=127.0.0.1", "--allow-read=."],
  );
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    `Port ${port} on 127.0.0.1 is already in use: stop the other program or pass another port, e.g. "server/cli.ts ${
      port + 1
    }"\n`,
  );
});

Deno.test("cli explains a missing --allow-net in one line, exit code 1", async () => {
  const { code, stderr } = await run(["0"], ["--allow-read=."]);
  assert.equal(code, 1);
  assert.equal(
    stderr,
    "Cannot listen on 127.0.0.1:0: run deno with --allow-net=127.0.0.1\n",
  );
});

Deno.test("cli rejects bad usage with exit code 2", async () => {
  const bad = await run(["notaport"], []);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /error: argument port: invalid port "notaport"/);
  const flag = await run(["--bogus"], []);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^usage: /);
  const help = await run(["-h"], []);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /-d, --directory DIRECTORY/);
});

Deno.test({
  name: "cli --tls-cert --tls-key serves HTTPS that HTTPSConnection can fetch",
  ignore: certificate === null,
  async fn() {
    const { cert, key } = certificate!;
    const root = await makeSite();
    const pems = await Deno.makeTempDir({ prefix: "h1_cli_tls_" });
    try {
      const big = new Uint8Array(100_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256;
      await Deno.writeFile(`${root}/big.bin`, big);
      await Deno.writeTextFile(`${pems}/cert.pem`, cert);
      await Deno.writeTextFile(`${pems}/key.pem`, key);
      await using cli = await spawnExample(CLI, {
        args: [
          "0",
          "-b",
          "127.0.0.1",
          "-d",
          root,
          "--tls-cert",
          `${pems}/cert.pem`,
          "--tls-key",
          `${pems}/key.pem`,
        ],
        permissions: [
          "--allow-net=127.0.0.1",
          `--allow-read=${root},${pems}`,
        ],
        waitFor: SERVING_HTTPS,
      });
      assert.equal(cli.match[2], cli.match[1], "the URL shows the real port");
      for (
        const [path, expected] of [
          ["/hello.txt", new TextEncoder().encode("hello from the cli\n")],
          ["/big.bin", big],
        ] as const
      ) {
        // HTTP/1.0 (the CLI's default protocol): one connection per request.
        using conn = new HTTPSConnection("127.0.0.1", cli.port, {
          caCerts: [cert],
        });
        await conn.request("GET", path);
        const response = await conn.getresponse();
        assert.equal(response.status, 200, path);
        assert.equal(
          response.getheader("Content-Length"),
          String(expected.length),
        );
        assert.match(response.getheader("Server") ?? "", /^SimpleHTTP\/0\.6/);
        assert.deepEqual(await response.read(), expected, path);
      }
      // Plain HTTP on the TLS port gets no HTTP answer.
      await using plain = await RawClient.connect(cli.port);
      await plain.send("GET /hello.txt HTTP/1.0\r\n\r\n");
      assert.doesNotMatch(
        await plain.readToEnd().catch(() => ""),
        /hello from the cli/,
      );
      const status = await cli.kill("SIGINT");
      assert.equal(status.code, 0);
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(pems, { recursive: true });
    }
  },
});

import assert from "node:assert/strict";
import { EXIT_CODES, main } from "../../client/cli.ts";
import { answerEach, cannedServer, ok, sleep } from "./_canned_server.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: {
      write: (
        p: Uint8Array,
      ) => (out.push(new TextDecoder().decode(p)), p.length),
    },
    stderr: {
      write: (
        p: Uint8Array,
      ) => (err.push(new TextDecoder().decode(p)), p.length),
    },
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("cli prints the body, -i the head, -I a HEAD response", async () => {
  await using server = cannedServer(
    answerEach(ok("hello", "X-Case: Kept\r\n")),
  );
  const url = `http://127.0.0.1:${server.port}/`;
  let c = capture();
  assert.equal(await main([url], c.io), 0);
  assert.equal(c.out(), "hello");
  c = capture();
  assert.equal(await main(["-i", url], c.io), 0);
  assert.equal(
    c.out(),
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Case: Kept\r\n\r\nhello",
  );
  c = capture();
  assert.equal(await main(["-I", url], c.io), 0);
  assert.match(c.out(), /^HTTP\/1\.1 200 OK\r\n/);
  assert.doesNotMatch(c.out(), /hello/);
  assert.match(server.requests.at(-1)!.line, /^HEAD \/ /);
});

Deno.test("cli sends -d and -d @file as a POST with -H headers", async () => {
  await using server = cannedServer(answerEach(ok("k")));
  const url = `http://127.0.0.1:${server.port}/form`;
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "b=2");
    const c = capture();
    assert.equal(
      await main(
        ["-d", "a=1", "-d", `@${path}`, "-H", "X-Token: t", url],
        c.io,
      ),
      0,
    );
    const seen = server.requests[0]!;
    assert.equal(seen.line, "POST /form HTTP/1.1");
    assert.equal(new TextDecoder().decode(seen.body), "a=1&b=2");
    assert.match(seen.head, /\r\nX-Token: t\r\n/);
    assert.match(
      seen.head,
      /\r\nContent-Type: application\/x-www-form-urlencoded\r\n/,
    );
    assert.equal(
      await main(["-d", "@/nonexistent/file", url], capture().io),
      EXIT_CODES.readError,
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("cli -o writes the body to a file and -v traces the exchange", async () => {
  await using server = cannedServer(answerEach(ok("file body")));
  const path = await Deno.makeTempFile();
  try {
    const c = capture();
    assert.equal(
      await main(["-v", "-o", path, `http://127.0.0.1:${server.port}/f`], c.io),
      0,
    );
    assert.equal(await Deno.readTextFile(path), "file body");
    assert.equal(c.out(), "");
    assert.match(c.err(), /> GET \/f HTTP\/1\.1\n/);
    assert.match(c.err(), /< HTTP\/1\.1 200 OK\n/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("cli exits with a distinct code per failure class", async () => {
  await using server = cannedServer(async (c, index) => {
    const request = await c.readRequest();
    if (request === null) return;
    const path = request.line.split(" ")[1];
    if (path === "/truncated") {
      await c.write("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc");
    } else if (path === "/bad") await c.write("NOT HTTP\r\n\r\n");
    else if (path === "/empty") return;
    else if (path === "/slow") await sleep(500);
    else if (path === "/missing") {
      await c.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    } else if (path === "/loop") {
      await c.write(
        "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
      );
    }
    void index;
  });
  const base = `http://127.0.0.1:${server.port}`;
  const cases: [string[], number][] = [
    [[`${base}/truncated`], EXIT_CODES.partialBody],
    [[`${base}/bad`], EXIT_CODES.badResponse],
    [[`${base}/empty`], EXIT_CODES.emptyReply],
    [["--timeout", "0.1", `${base}/slow`], EXIT_CODES.timeout],
    [["-f", `${base}/missing`], EXIT_CODES.httpError],
    [[`${base}/missing`], EXIT_CODES.ok],
    [["-L", "--max-redirs", "2", `${base}/loop`], EXIT_CODES.tooManyRedirects],
    [[`http://127.0.0.1:${closedPort()}/`], EXIT_CODES.cannotConnect],
    [["http://[bad/"], EXIT_CODES.badUrl],
    [["--nope"], EXIT_CODES.usage],
    [[], EXIT_CODES.usage],
  ];
  for (const [args, expected] of cases) {
    const c = capture();
    assert.equal(
      await main(args, c.io),
      expected,
      `${args.join(" ")}: ${c.err()}`,
    );
  }
});

Deno.test("cli run as a program exits with the code", async () => {
  const port = closedPort();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL("../../client/cli.ts", import.meta.url).pathname,
      `http://127.0.0.1:${port}/`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, EXIT_CODES.cannotConnect);
  assert.match(
    new TextDecoder().decode(out.stderr),
    new RegExp(`Connection to 127\\.0\\.0\\.1:${port} refused`),
  );
});

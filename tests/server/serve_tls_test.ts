import assert from "node:assert/strict";
import { RawClient, startServer } from "./_raw.ts";
import { testCertificate } from "./_tls.ts";

const certificate = await testCertificate();
if (certificate === null) {
  Deno.stderr.writeSync(new TextEncoder().encode(
    "serve_tls_test: skipping, `openssl` is not installed\n",
  ));
}
const ignore = certificate === null;

async function connectTls(port: number): Promise<RawClient> {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [certificate!.cert],
  });
  return new RawClient(conn);
}

Deno.test({
  name: "serve speaks HTTPS with cert and key",
  ignore,
  async fn() {
    await using server = startServer(
      async (req) => Response.json({ url: req.url, body: await req.text() }),
      { cert: certificate!.cert, key: certificate!.key },
    );
    await using client = await connectTls(server.addr.port);
    await client.send(
      "POST /tls?x=1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\n\r\nsecret",
    );
    const res = await client.response("POST");
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), {
      url: "https://localhost/tls?x=1",
      body: "secret",
    });
  },
});

Deno.test({
  name: "serve keeps TLS connections alive and pipelines on them",
  ignore,
  async fn() {
    let n = 0;
    await using server = startServer(() => new Response(String(++n)), {
      cert: certificate!.cert,
      key: certificate!.key,
    });
    await using client = await connectTls(server.addr.port);
    const get = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    await client.send(get + get + get);
    const responses = await client.responses(["GET", "GET", "GET"]);
    assert.deepEqual(responses.map((r) => r.text), ["1", "2", "3"]);
    await client.send(get);
    assert.equal((await client.response()).text, "4");
  },
});

Deno.test({
  name: "serve over TLS streams chunked responses",
  ignore,
  async fn() {
    await using server = startServer(() => {
      let i = 0;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            await new Promise((r) => setTimeout(r, 5));
            if (i++ === 3) controller.close();
            else controller.enqueue(new TextEncoder().encode(`part${i};`));
          },
        }),
      );
    }, { cert: certificate!.cert, key: certificate!.key });
    await using client = await connectTls(server.addr.port);
    await client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const res = await client.response();
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    assert.equal(res.text, "part1;part2;part3;");
  },
});

Deno.test({
  name: "serve survives a client that speaks plain HTTP to its TLS port",
  ignore,
  async fn() {
    const internal: unknown[] = [];
    await using server = startServer(() => new Response("ok"), {
      cert: certificate!.cert,
      key: certificate!.key,
      onInternalError: (error) => internal.push(error),
    });
    {
      await using plain = await RawClient.connect(server.addr.port);
      await plain.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.ok(await plain.waitClosed(2000));
      assert.doesNotMatch(plain.text, /HTTP\/1\.1 200/);
    }
    {
      // A client that connects and leaves before the handshake.
      const gone = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.addr.port,
      });
      gone.close();
    }
    await using client = await connectTls(server.addr.port);
    await client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert.equal((await client.response()).text, "ok");
    // Handshake failures are the peer's problem, not internal errors.
    assert.deepEqual(internal, []);
  },
});

Deno.test({
  name:
    "serve rejects a TLS client that does not trust the certificate, and goes on",
  ignore,
  async fn() {
    await using server = startServer(() => new Response("ok"), {
      cert: certificate!.cert,
      key: certificate!.key,
    });
    await assert.rejects(async () => {
      const conn = await Deno.connectTls({
        hostname: "localhost",
        port: server.addr.port,
      });
      try {
        await conn.handshake();
      } finally {
        conn.close();
      }
    });
    await using client = await connectTls(server.addr.port);
    await client.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert.equal((await client.response()).text, "ok");
  },
});

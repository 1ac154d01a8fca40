import assert from "node:assert/strict";
import { HTTPSConnection } from "../../client/http_connection.ts";
import { HTTPException } from "../../client/errors.ts";
import { Pool } from "../../client/pool.ts";
import { request } from "../../client/request.ts";
import { testCertificate } from "../server/_tls.ts";

// A throwaway self-signed certificate, shared with the server TLS tests.
const tls = await testCertificate();

Deno.test({
  name: "HTTPSConnection talks TLS with caCerts and a server name override",
  ignore: tls === null,
  async fn() {
    const listener = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: tls!.cert,
      key: tls!.key,
    });
    const serving = (async () => {
      for await (const conn of listener) {
        const buf = new Uint8Array(4096);
        await conn.read(buf);
        await conn.write(new TextEncoder().encode(
          "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecure",
        ));
        conn.close();
      }
    })().catch(() => {});
    try {
      using conn = new HTTPSConnection("127.0.0.1", listener.addr.port, {
        caCerts: [tls!.cert],
        hostname: "localhost",
      });
      await conn.request("GET", "/");
      const response = await conn.getresponse();
      assert.equal(new TextDecoder().decode(await response.read()), "secure");

      using pool = new Pool({ caCerts: [tls!.cert] });
      const web = await request(
        `https://localhost:${listener.addr.port}/`,
        { pool },
      );
      assert.equal(await web.text(), "secure");

      using untrusted = new HTTPSConnection("127.0.0.1", listener.addr.port);
      await assert.rejects(untrusted.request("GET", "/"), (e) => {
        assert.ok(e instanceof HTTPException);
        assert.equal(e.code, "TLS_HANDSHAKE_FAILED");
        return true;
      });
    } finally {
      listener.close();
      await serving;
    }
  },
});

Deno.test("HTTPSConnection defaults to port 443", () => {
  assert.equal(new HTTPSConnection("example.test").port, 443);
});

// HTTPConnection's source_address: the socket comes from the asked local
// address (through node:net, as Deno.connect cannot bind one), over plain
// TCP and TLS, and keep-alive works on it like on any other socket.

import assert from "node:assert/strict";
import {
  HTTPConnection,
  HTTPSConnection,
} from "../../client/http_connection.ts";
import { serve } from "../../server/serve.ts";
import { testCertificate } from "../server/_tls.ts";

const tls = await testCertificate();

function echoRemote(options: { cert?: string; key?: string } = {}) {
  return serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {}, ...options },
    (_request, info) => new Response(info.remoteAddr.hostname),
  );
}

Deno.test("HTTPConnection connects from source_address and keeps the connection alive", async () => {
  await using server = echoRemote();
  using conn = new HTTPConnection("127.0.0.1", server.addr.port, {
    source_address: ["127.0.0.2", 0],
  });
  assert.deepEqual(conn.source_address, ["127.0.0.2", 0]);
  for (let i = 0; i < 3; i++) {
    await conn.request("GET", "/");
    const response = await conn.getresponse();
    assert.equal(response.status, 200);
    assert.equal(new TextDecoder().decode(await response.read()), "127.0.0.2");
  }
});

Deno.test("HTTPConnection without source_address still connects from 127.0.0.1", async () => {
  await using server = echoRemote();
  using conn = new HTTPConnection("127.0.0.1", server.addr.port, {
    source_address: ["", 0],
  });
  await conn.request("GET", "/");
  const response = await conn.getresponse();
  assert.equal(new TextDecoder().decode(await response.read()), "127.0.0.1");
});

Deno.test({
  name: "HTTPSConnection connects from source_address over TLS with caCerts",
  ignore: tls === null,
  async fn() {
    await using server = echoRemote({ cert: tls!.cert, key: tls!.key });
    using conn = new HTTPSConnection("127.0.0.1", server.addr.port, {
      source_address: ["127.0.0.2", 0],
      caCerts: [tls!.cert],
    });
    await conn.request("GET", "/");
    const response = await conn.getresponse();
    assert.equal(new TextDecoder().decode(await response.read()), "127.0.0.2");
  },
});

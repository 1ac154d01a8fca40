// The client against h1's own server (server/serve.ts).
import assert from "node:assert/strict";
import { serve } from "../../server/serve.ts";
import { HTTPConnection } from "../../client/http_connection.ts";
import { Pool } from "../../client/pool.ts";
import { request } from "../../client/request.ts";

function echoServer() {
  return serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const body = await req.text();
      return new Response(
        `${req.method} ${new URL(req.url).pathname} ${body}`,
        { headers: { "x-length": String(body.length) } },
      );
    },
  );
}

Deno.test("HTTPConnection streams a chunked upload to h1's serve()", async () => {
  await using server = echoServer();
  using conn = new HTTPConnection("127.0.0.1", server.addr.port);
  async function* parts() {
    yield "hello ";
    yield "chunked ";
    yield "world";
  }
  await conn.request("POST", "/up", parts());
  const response = await conn.getresponse();
  assert.equal(response.status, 200);
  assert.equal(
    new TextDecoder().decode(await response.read()),
    "POST /up hello chunked world",
  );
  // Keep-alive with h1's server: a second request on the same socket.
  const sock = conn.sock;
  await conn.request("GET", "/again");
  assert.equal(
    new TextDecoder().decode(await (await conn.getresponse()).read()),
    "GET /again ",
  );
  assert.equal(conn.sock, sock);
});

Deno.test("Pool pipelines against h1's serve() and request() reads it", async () => {
  await using server = echoServer();
  using pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 8 });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const bodies = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const response = await pool.request(origin, { path: `/${i}` });
      return new TextDecoder().decode(await response.read());
    }),
  );
  assert.deepEqual(bodies, Array.from({ length: 12 }, (_, i) => `GET /${i} `));
  const web = await request(`${origin}/web`, {
    pool,
    method: "PUT",
    body: "x".repeat(100_000),
  });
  assert.equal(web.headers.get("x-length"), "100000");
  assert.equal((await web.text()).length, "PUT /web ".length + 100_000);
});

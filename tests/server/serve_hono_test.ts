// A Hono app from npm runs unchanged on serve(app.fetch).

import assert from "node:assert/strict";
import { Hono } from "npm:hono@4.13.19";
import { stream } from "npm:hono@4.13.19/streaming";
import { RawClient, startServer } from "./_raw.ts";

function app(): Hono {
  const hono = new Hono();
  hono.get("/", (c) => c.text("Hello Hono"));
  hono.get(
    "/users/:id/posts/:post",
    (c) =>
      c.json({
        id: c.req.param("id"),
        post: c.req.param("post"),
        q: c.req.query("q") ?? null,
      }),
  );
  hono.post("/echo", async (c) => {
    const body = await c.req.json<{ n: number }>();
    return c.json({ doubled: body.n * 2 }, 201);
  });
  hono.get("/stream", (c) =>
    stream(c, async (s) => {
      for (const word of ["one", "two", "three"]) {
        await s.write(word + "\n");
        await s.sleep(5);
      }
    }));
  hono.get("/readable", () =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("raw "));
          controller.enqueue(new TextEncoder().encode("stream"));
          controller.close();
        },
      }),
    ));
  return hono;
}

Deno.test("serve runs a Hono app: routing with params", async () => {
  await using server = startServer(app().fetch);
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET /users/42/posts/hello?q=z HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const [root, user, missing] = await client.responses(["GET", "GET", "GET"]);
  assert.equal(root!.text, "Hello Hono");
  assert.deepEqual(JSON.parse(user!.text), { id: "42", post: "hello", q: "z" });
  assert.match(user!.headers.get("content-type") ?? "", /application\/json/);
  assert.equal(missing!.status, 404);
});

Deno.test("serve runs a Hono app: JSON in and out", async () => {
  await using server = startServer(app().fetch);
  await using client = await RawClient.connect(server.addr.port);
  const body = JSON.stringify({ n: 21 });
  await client.send(
    `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  const res = await client.response("POST");
  assert.equal(res.status, 201);
  assert.deepEqual(JSON.parse(res.text), { doubled: 42 });
});

Deno.test("serve runs a Hono app: streaming responses", async () => {
  await using server = startServer(app().fetch);
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /readable HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const [streamed, readable] = await client.responses(["GET", "GET"]);
  assert.equal(streamed!.headers.get("transfer-encoding"), "chunked");
  assert.equal(streamed!.text, "one\ntwo\nthree\n");
  assert.equal(readable!.text, "raw stream");
});

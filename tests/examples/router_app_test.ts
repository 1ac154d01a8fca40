import assert from "node:assert/strict";
import { app, createApp, MAX_TODO_BYTES } from "../../examples/router_app.ts";
import { spawnExample } from "./_spawn.ts";

function post(body: string, headers: HeadersInit = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  };
}

Deno.test("router_app creates, lists, gets and deletes todos", async () => {
  const api = createApp({ log: false });
  assert.deepEqual(await (await api.request("/todos")).json(), []);
  const created = await api.request("/todos", post('{"title":" write docs "}'));
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("location"), "/todos/1");
  assert.deepEqual(await created.json(), {
    id: 1,
    title: "write docs",
    done: false,
  });
  await (await api.request("/todos", post('{"title":"ship","done":true}'))).body
    ?.cancel();
  assert.deepEqual(
    (await (await api.request("/todos")).json() as { title: string }[]).map((
      t,
    ) => t.title),
    ["write docs", "ship"],
  );
  assert.deepEqual(await (await api.request("/todos/2")).json(), {
    id: 2,
    title: "ship",
    done: true,
  });
  assert.equal(
    (await api.request("/todos/1", { method: "DELETE" })).status,
    204,
  );
  const gone = await api.request("/todos/1");
  assert.equal(gone.status, 404);
  assert.deepEqual(await gone.json(), { error: "No todo 1" });
  assert.equal(
    (await api.request("/todos/1", { method: "DELETE" })).status,
    404,
  );
});

Deno.test("router_app answers 400, 405, 404 and 413 the way the README says", async () => {
  const api = createApp({ log: false });
  const bad = await api.request("/todos", post("{nope"));
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /^Cannot parse JSON body/);
  const noTitle = await api.request("/todos", post('{"title":""}'));
  assert.equal(noTitle.status, 400);
  await noTitle.body?.cancel();
  const notObject = await api.request("/todos", post("[1]"));
  assert.equal(notObject.status, 400);
  await notObject.body?.cancel();
  const big = await api.request(
    "/todos",
    post(JSON.stringify({ title: "x".repeat(MAX_TODO_BYTES) })),
  );
  assert.equal(big.status, 413);
  await big.body?.cancel();
  const put = await api.request("/todos", { method: "PUT" });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get("allow"), "GET, HEAD, POST, OPTIONS");
  await put.body?.cancel();
  const letters = await api.request("/todos/abc");
  assert.equal(letters.status, 404);
  assert.deepEqual(await letters.json(), { error: "No route for /todos/abc" });
  const head = await api.request("/todos", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
});

Deno.test("router_app exports a ready app whose fetch works unbound", async () => {
  const { fetch: handler } = app;
  const res = await handler(new Request("http://localhost/"));
  assert.deepEqual(await res.json(), { todos: "/todos" });
});

Deno.test("router_app serves over HTTP with --port=0", async () => {
  await using server = await spawnExample("router_app.ts", {
    args: ["--port=0"],
    permissions: ["--allow-net=127.0.0.1"],
  });
  const base = `http://127.0.0.1:${server.port}`;
  const created = await fetch(
    `${base}/todos`,
    post('{"title":"over the wire"}'),
  );
  assert.equal(created.status, 201);
  assert.equal((await created.json() as { id: number }).id, 1);
  const list = await fetch(`${base}/todos`);
  assert.equal(list.status, 200);
  assert.deepEqual(
    (await list.json() as { title: string }[]).map((t) => t.title),
    ["over the wire"],
  );
});

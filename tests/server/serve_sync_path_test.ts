// The Web face answers a handler that returns a ready Response without an
// await of its own; a batch that mixes such handlers with async ones,
// failures and `completed` readers must still come out whole and in order.

import assert from "node:assert/strict";
import type { AccessLogEntry } from "../../server/access_log.ts";
import { exchangeRaw } from "../../server/memory_conn.ts";
import type { ServeHandlerInfo } from "../../server/serve.ts";
import { fromLatin1 } from "./_raw.ts";

function bodies(out: Uint8Array): { status: number; body: string }[] {
  const text = fromLatin1(out);
  const found: { status: number; body: string }[] = [];
  const pattern = /HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/g;
  let match;
  while ((match = pattern.exec(text)) !== null) {
    const length = Number(/content-length: (\d+)/i.exec(match[2]!)![1]);
    const start = pattern.lastIndex;
    found.push({
      status: Number(match[1]),
      body: text.slice(start, start + length),
    });
    pattern.lastIndex = start + length;
  }
  return found;
}

Deno.test("serve keeps order across sync, async, failing and completed-reading handlers", async () => {
  const completed: string[] = [];
  const access: AccessLogEntry[] = [];
  const used = new Response("spent");
  await used.text();
  const handler = async (req: Request, info: ServeHandlerInfo) => {
    const path = new URL(req.url).pathname;
    switch (path) {
      case "/sync":
        return new Response("sync");
      case "/async":
        await Promise.resolve();
        return new Response("async");
      case "/throw":
        throw new Error("sync failure");
      case "/used":
        return used;
      case "/completed":
        info.completed.then(() => completed.push(path));
        return new Response("completed");
      default:
        return new Response("?", { status: 404 });
    }
  };
  // Half the handlers answer without awaiting anything: wrap them so the
  // function itself is not async for those paths.
  const mixed = (req: Request, info: ServeHandlerInfo) => {
    const path = new URL(req.url).pathname;
    if (path === "/sync") return new Response("sync");
    if (path === "/throw") throw new Error("sync failure");
    if (path === "/used") return used;
    return handler(req, info);
  };
  const paths = ["/sync", "/async", "/throw", "/sync", "/used", "/completed"];
  const raw =
    paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join("") +
    "GET /sync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const out = await exchangeRaw(mixed, raw, {
    onError: (error) =>
      new Response(`error: ${(error as Error).message}`, { status: 500 }),
    onAccess: (entry) => access.push(entry),
  });
  assert.deepEqual(bodies(out), [
    { status: 200, body: "sync" },
    { status: 200, body: "async" },
    { status: 500, body: "error: sync failure" },
    { status: 200, body: "sync" },
    {
      status: 500,
      body: "error: Handler returned a Response whose body was used",
    },
    { status: 200, body: "completed" },
    { status: 200, body: "sync" },
  ]);
  assert.deepEqual(completed, ["/completed"]);
  assert.deepEqual(
    access.map((e) => `${e.target} ${e.status} ${e.bodyBytes}`),
    [
      "/sync 200 4",
      "/async 200 5",
      "/throw 500 19",
      "/sync 200 4",
      "/used 500 54",
      "/completed 200 9",
      "/sync 200 4",
    ],
  );
});

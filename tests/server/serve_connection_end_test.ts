// How connections end: request.signal on a vanished client, lingering close
// after error responses, canned responses and upgrades in the access log,
// and upgraded sockets that do not hold up shutdown.

import assert from "node:assert/strict";
import type { AccessLogEntry } from "../../server/access_log.ts";
import { formatCommonLog } from "../../server/access_log.ts";
import { delay, latin1, RawClient, startServer } from "./_raw.ts";

Deno.test("serve aborts request.signal when the client closes mid-request", async () => {
  const aborted = Promise.withResolvers<unknown>();
  const entered = Promise.withResolvers<void>();
  await using server = startServer(async (request) => {
    request.signal.addEventListener(
      "abort",
      () => aborted.resolve(request.signal.reason),
    );
    entered.resolve();
    await aborted.promise;
    return new Response("too late");
  });
  const client = await RawClient.connect(server.addr.port);
  await client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await entered.promise;
  client.conn.close();
  const reason = await Promise.race([aborted.promise, delay(3000)]);
  assert.ok(reason instanceof DOMException, "signal aborted within 3 s");
  assert.equal(reason.name, "AbortError");
});

Deno.test("serve aborts request.signal of a POST once its body was read and the client left", async () => {
  const aborted = Promise.withResolvers<void>();
  const bodyRead = Promise.withResolvers<string>();
  await using server = startServer(async (request) => {
    const signal = request.signal;
    bodyRead.resolve(await request.text());
    await new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => resolve());
    });
    aborted.resolve();
    return new Response("gone");
  });
  const client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
  );
  assert.equal(await bodyRead.promise, "hello");
  client.conn.close();
  const result = await Promise.race([
    aborted.promise.then(() => "aborted"),
    delay(3000).then(() => "still waiting"),
  ]);
  assert.equal(result, "aborted");
});

Deno.test("serve keeps request.signal quiet after a normal response, and a watched exchange keeps the pipelined request it read", async () => {
  const signals: AbortSignal[] = [];
  const release = Promise.withResolvers<void>();
  await using server = startServer(async (request) => {
    signals.push(request.signal);
    const path = new URL(request.url).pathname;
    if (path === "/first") await release.promise;
    return new Response(path);
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
  await delay(50);
  // Arrives while /first is still being handled: the watch reads it.
  await client.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  await delay(50);
  release.resolve();
  const [first, second] = await client.responses(["GET", "GET"]);
  assert.equal(first!.text, "/first");
  assert.equal(second!.text, "/second");
  assert.equal(signals.length, 2);
  assert.ok(signals.every((signal) => !signal.aborted));
});

Deno.test("serve lets a client that is still sending read the 413 (lingering close)", async () => {
  await using server = startServer(() => new Response("never"), {
    limits: { maxBodyBytes: 1024 },
  });
  await using client = await RawClient.connect(server.addr.port);
  // The head declares too much and 8 MiB of body follow, more than the
  // socket buffers hold: the server answers before reading any of it, and
  // we, like most clients, finish sending before we read. Without a staged
  // close the server's close with unread bytes is a reset: our send fails
  // and the 413 is lost.
  const body = new Uint8Array(8 * 1024 * 1024).fill(0x61);
  await client.send(
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n",
  );
  await client.send(body);
  const [response] = await client.responses(["POST"]);
  assert.equal(response!.status, 413);
  assert.equal(response!.headers.get("connection"), "close");
  // Our side closes; the server sees that and closes too, well before its
  // linger timeout.
  client.conn.closeWrite();
  assert.equal(await client.waitClosed(1000), true);
});

Deno.test("serve stops lingering after lingerTimeoutMs when the client never stops", async () => {
  await using server = startServer(() => new Response("never"), {
    limits: { maxBodyBytes: 16, lingerTimeoutMs: 200 },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n",
  );
  const [response] = await client.responses(["POST"]);
  assert.equal(response!.status, 413);
  // Keep sending; the server must still let go.
  const started = Date.now();
  let closed = false;
  const chunk = new Uint8Array(1024);
  while (Date.now() - started < 3000) {
    try {
      await client.conn.write(chunk);
    } catch {
      closed = true;
      break;
    }
    await delay(10);
  }
  assert.ok(closed, "the server closed within 3 s");
  assert.ok(Date.now() - started >= 150, "it lingered before closing");
});

Deno.test("serve reports canned 4xx responses to onAccess", async () => {
  const entries: AccessLogEntry[] = [];
  await using server = startServer(() => new Response("ok"), {
    onAccess: (entry) => entries.push(entry),
    limits: { maxBodyBytes: 4 },
  });
  {
    await using client = await RawClient.connect(server.addr.port);
    await client.send("NOT HTTP AT ALL\r\n\r\n");
    await client.readToEnd();
  }
  {
    await using client = await RawClient.connect(server.addr.port);
    await client.send(
      "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
    );
    await client.readToEnd();
  }
  for (let i = 0; i < 50 && entries.length < 2; i++) await delay(10);
  assert.equal(entries.length, 2);
  const [bad, big] = entries as [AccessLogEntry, AccessLogEntry];
  assert.equal(bad.status, 400);
  assert.equal(bad.method, "");
  assert.equal(bad.error?.code !== undefined, true);
  assert.match(formatCommonLog(bad), /^127\.0\.0\.1 - - \[.*\] "-" 400 \d+$/);
  assert.equal(big.status, 413);
  assert.equal(big.method, "POST");
  assert.equal(big.target, "/big");
  assert.equal(big.error?.code, "BODY_TOO_LARGE");
  assert.match(formatCommonLog(big), /"POST \/big HTTP\/1\.1" 413 \d+$/);
});

Deno.test("serve logs upgrades to onAccess and does not wait for upgraded sockets at shutdown", async () => {
  const entries: AccessLogEntry[] = [];
  const taken = Promise.withResolvers<Deno.Conn>();
  const server = startServer(() => new Response("http"), {
    onAccess: (entry) => entries.push(entry),
    limits: { shutdownTimeoutMs: 5000 },
    async onUpgrade(_request, socket) {
      await socket.conn.write(
        latin1(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
        ),
      );
      taken.resolve(socket.conn);
      // Holds the socket for as long as the client keeps it open.
      const buffer = new Uint8Array(64);
      try {
        while (await socket.conn.read(buffer) !== null) { /* ignore */ }
      } catch { /* closed below */ }
    },
  });
  const client = await RawClient.connect(server.addr.port);
  try {
    await client.send(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
    );
    await client.readUntil((text) => text.includes("\r\n\r\n"));
    const upgraded = await taken.promise;
    const started = Date.now();
    await server.shutdown();
    assert.ok(
      Date.now() - started < 2000,
      "shutdown did not wait for the upgraded socket",
    );
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.status, 101);
    assert.equal(entries[0]!.upgraded, true);
    upgraded.close();
  } finally {
    client.conn.close();
  }
});

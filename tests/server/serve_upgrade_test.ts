import assert from "node:assert/strict";
import type { TakenOverConnection } from "../../server/_connection.ts";
import { concat, latin1, RawClient, startServer } from "./_raw.ts";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// RFC 6455 §4.2.2: base64(SHA-1(key + GUID)).
async function websocketAccept(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(key + WS_GUID),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

// A masked client text frame (payload under 126 bytes), RFC 6455 §5.2.
function clientTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = [0x12, 0x34, 0x56, 0x78];
  const frame = new Uint8Array(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  frame.set(mask, 2);
  for (let i = 0; i < payload.length; i++) {
    frame[6 + i] = payload[i]! ^ mask[i % 4]!;
  }
  return frame;
}

/** Reads from the taken-over socket until `n` bytes are there (buffered first). */
async function readAtLeast(
  socket: TakenOverConnection,
  have: Uint8Array,
  n: number,
): Promise<Uint8Array> {
  let bytes = have;
  const chunk = new Uint8Array(1024);
  while (bytes.length < n) {
    const read = await socket.conn.read(chunk);
    if (read === null) throw new Error("Connection closed mid-frame");
    bytes = concat([bytes, chunk.slice(0, read)]);
  }
  return bytes;
}

Deno.test("serve hands a WebSocket upgrade to onUpgrade with the bytes after the head", async () => {
  let handlerCalled = false;
  let bufferedLength = -1;
  await using server = startServer(() => {
    handlerCalled = true;
    return new Response("http");
  }, {
    async onUpgrade(request, socket, info) {
      assert.equal(request.headers.get("upgrade"), "websocket");
      assert.equal(info.remoteAddr.hostname, "127.0.0.1");
      bufferedLength = socket.buffered.length;
      const key = request.headers.get("sec-websocket-key")!;
      await socket.conn.write(latin1(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${await websocketAccept(key)}\r\n\r\n`,
      ));
      // Echo one unmasked text frame back.
      const head = await readAtLeast(socket, socket.buffered, 2);
      const length = head[1]! & 0x7f;
      const frame = await readAtLeast(socket, head, 6 + length);
      const mask = frame.subarray(2, 6);
      const payload = frame.slice(6, 6 + length).map((b, i) =>
        b ^ mask[i % 4]!
      );
      await socket.conn.write(
        concat([new Uint8Array([0x81, length]), payload]),
      );
      socket.conn.close();
    },
  });
  await using client = await RawClient.connect(server.addr.port);
  const key = btoa("0123456789abcdef");
  // The first frame rides in the same write as the handshake.
  await client.send(concat([
    latin1(
      "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ),
    clientTextFrame("hello ws"),
  ]));
  await client.readToEnd();
  const received = client.received;
  const text = client.text;
  const headEnd = text.indexOf("\r\n\r\n") + 4;
  assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.ok(
    text.slice(0, headEnd).includes(
      `Sec-WebSocket-Accept: ${await websocketAccept(key)}\r\n`,
    ),
  );
  const frame = received.subarray(headEnd);
  assert.equal(frame[0], 0x81);
  assert.equal(frame[1], 8);
  assert.equal(new TextDecoder().decode(frame.subarray(2)), "hello ws");
  assert.equal(handlerCalled, false);
  assert.equal(bufferedLength, 14);
});

Deno.test("serve matches the RFC 6455 handshake example", async () => {
  assert.equal(
    await websocketAccept("dGhlIHNhbXBsZSBub25jZQ=="),
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  );
});

Deno.test("serve tunnels CONNECT through onUpgrade", async () => {
  let target = "";
  await using server = startServer(() => new Response("no"), {
    async onUpgrade(request, socket) {
      target = new URL(request.url).host;
      await socket.conn.write(
        latin1("HTTP/1.1 200 Connection Established\r\n\r\n"),
      );
      // Echo, upper-cased, until the client closes its side.
      const upper = (b: Uint8Array) =>
        b.map((c) => (c >= 0x61 && c <= 0x7a ? c - 32 : c));
      if (socket.buffered.length > 0) {
        await socket.conn.write(upper(socket.buffered));
      }
      const chunk = new Uint8Array(1024);
      for (;;) {
        const n = await socket.conn.read(chunk);
        if (n === null) break;
        await socket.conn.write(upper(chunk.subarray(0, n)));
      }
      socket.conn.close();
    },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "CONNECT backend.test:443 HTTP/1.1\r\nHost: backend.test:443\r\n\r\nfirst ",
  );
  await client.readUntil((t) => t.endsWith("FIRST "));
  await client.send("second");
  await client.readUntil((t) => t.endsWith("SECOND"));
  assert.equal(
    client.text,
    "HTTP/1.1 200 Connection Established\r\n\r\nFIRST SECOND",
  );
  assert.equal(target, "backend.test:443");
  await (client.conn as Deno.TcpConn).closeWrite();
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve without onUpgrade answers an Upgrade request as plain HTTP and goes on", async () => {
  await using server = startServer((req) =>
    new Response(`upgrade=${req.headers.get("upgrade")}`)
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" +
      "GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const [a, b] = await client.responses(["GET", "GET"]);
  assert.equal(a!.status, 200);
  assert.equal(a!.text, "upgrade=websocket");
  assert.equal(b!.text, "upgrade=null");
});

Deno.test("serve without onUpgrade answers CONNECT through the handler, then closes", async () => {
  await using server = startServer((req) =>
    new Response(`${req.method} refused`, { status: 405 })
  );
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "CONNECT backend.test:443 HTTP/1.1\r\nHost: backend.test:443\r\n\r\n",
  );
  const res = await client.response("CONNECT");
  assert.equal(res.status, 405);
  assert.equal(res.text, "CONNECT refused");
  assert.ok(await client.waitClosed(2000));
});

Deno.test("serve sends queued pipelined responses before handing the socket over", async () => {
  await using server = startServer(() => new Response("before"), {
    async onUpgrade(_request, socket) {
      await socket.conn.write(
        latin1(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nraw",
        ),
      );
      socket.conn.close();
    },
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET /b HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n",
  );
  const text = await client.readToEnd();
  assert.match(
    text,
    /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nbeforeHTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*\r\n\r\nraw$/,
  );
});

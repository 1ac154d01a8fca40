import assert from "node:assert/strict";
import { serializeRequestHead } from "../../http1/serializer.ts";
import {
  encodeLatin1,
  encodeLatin1Into,
  requestHeadText,
} from "../../client/_head.ts";
import { Transport, WRITE_BUFFER_BYTES } from "../../client/_transport.ts";
import { HTTPConnection } from "../../client/http_connection.ts";
import { IncompleteRead, ReadTimeout } from "../../client/errors.ts";
import { Pool } from "../../client/pool.ts";
import { answerEach, cannedServer, ok } from "./_canned_server.ts";

const encoder = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const latin1 = (b: Uint8Array) => new TextDecoder("latin1").decode(b);

// A socket that hands out scripted reads and records writes; short writes
// and slow writes on demand.
class ScriptedConn {
  reads: (Uint8Array | null)[] = [];
  written: Uint8Array[] = [];
  maxWrite = Infinity;
  writeGate: Promise<void> | null = null;
  closed = false;
  #real: Deno.Conn | null;
  constructor(real: Deno.Conn | null = null) {
    this.#real = real;
  }
  async write(bytes: Uint8Array): Promise<number> {
    if (this.writeGate !== null) await this.writeGate;
    const n = Math.min(bytes.length, this.maxWrite);
    this.written.push(bytes.slice(0, n));
    return n;
  }
  read(buf: Uint8Array): Promise<number | null> {
    const next = this.reads.shift();
    if (next === undefined) return Promise.reject(new Error("no more reads"));
    if (next === null) return Promise.resolve(null);
    buf.set(next);
    return Promise.resolve(next.length);
  }
  close(): void {
    this.closed = true;
    this.#real?.close();
  }
  get all(): Uint8Array {
    const total = this.written.reduce((a, b) => a + b.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of this.written) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

// Every way to cut `bytes` in two, and one byte at a time.
function splits(bytes: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) {
    out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  }
  out.push(Array.from(bytes, (b) => new Uint8Array([b])));
  return out;
}

// An HTTPConnection whose socket is a ScriptedConn (a real listener is
// dialled once, then swapped out).
async function scripted(
  run: (conn: HTTPConnection, socket: ScriptedConn) => Promise<void>,
): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  let socket: ScriptedConn | null = null;
  class Scripted extends HTTPConnection {
    protected override _wrapSocket(conn: Deno.TcpConn): Promise<Deno.Conn> {
      socket = new ScriptedConn(conn);
      return Promise.resolve(socket as unknown as Deno.Conn);
    }
  }
  const conn = new Scripted("127.0.0.1", listener.addr.port);
  await conn.connect();
  using _server = await accepted;
  try {
    await run(conn, socket!);
  } finally {
    conn.close();
  }
}

const RESPONSES = [
  {
    name: "content_length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
    body: "hello",
  },
  {
    name: "chunked_with_trailer",
    raw:
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\nT: v\r\n\r\n",
    body: "hello",
  },
  {
    name: "no_body_204",
    raw: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
    body: "",
  },
];

for (const { name, raw, body } of RESPONSES) {
  Deno.test(`HTTPResponse read() takes ${name} at every split point`, async () => {
    const bytes = encoder.encode(raw);
    for (const chunks of splits(bytes)) {
      await scripted(async (conn, socket) => {
        // Two requests on one connection, each answer in the same pieces:
        // the first must stop at its own end and leave the parser ready.
        socket.reads.push(...chunks);
        await conn.request("GET", "/a");
        const first = await conn.getresponse();
        assert.equal(first.status, name === "no_body_204" ? 204 : 200);
        assert.equal(text(await first.read()), body);
        assert.ok(first.closed);
        socket.reads.push(...chunks);
        await conn.request("GET", "/b");
        const second = await conn.getresponse();
        assert.equal(text(await second.read()), body);
        assert.equal(socket.written.length, 2);
      });
    }
  });
}

Deno.test("HTTPResponse read() drops a connection that holds bytes nobody asked for", async () => {
  await scripted(async (conn, socket) => {
    // One request, two responses in one read: RFC 9112 §6.3 forbids taking
    // the second as the answer to a later request (response splitting).
    socket.reads.push(
      encoder.encode(
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA" +
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB",
      ),
    );
    await conn.request("GET", "/");
    const first = await conn.getresponse();
    assert.equal(first.will_close, false);
    assert.equal(text(await first.read()), "A");
    assert.equal(socket.closed, true);
  });
});

Deno.test("HTTPResponse read() keeps the partial body in IncompleteRead", async () => {
  await scripted(async (conn, socket) => {
    socket.reads.push(
      encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
      encoder.encode("de"),
      null,
    );
    await conn.request("GET", "/");
    const response = await conn.getresponse();
    const error = await response.read().then(
      () => assert.fail("read() resolved"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof IncompleteRead);
    assert.equal(text(error.partial), "abcde");
  });
});

Deno.test("HTTPConnection request() rejects, never throws, on bad input", async () => {
  await scripted(async (conn, socket) => {
    let pending: Promise<void> | undefined;
    assert.doesNotThrow(() => {
      pending = conn.request("GET", "/", null, { "X-Evil": "a\r\nb: c" });
    });
    await assert.rejects(pending!, TypeError);
    assert.doesNotThrow(() => {
      pending = conn.request("GET", "/caf\u00e9");
    });
    await assert.rejects(pending!, TypeError);
    assert.equal(socket.written.length, 0);
    // The connection is usable again.
    socket.reads.push(encoder.encode("HTTP/1.1 204 No Content\r\n\r\n"));
    await conn.request("GET", "/");
    assert.equal((await conn.getresponse()).status, 204);
  });
});

Deno.test("HTTPConnection request() sends head and small body in one write", async () => {
  await scripted(async (conn, socket) => {
    socket.reads.push(encoder.encode("HTTP/1.1 204 No Content\r\n\r\n"));
    await conn.request("POST", "/x", "body\u00e9", { "X-Latin": "caf\u00e9" });
    await (await conn.getresponse()).read();
    assert.equal(socket.written.length, 1);
    const sent = latin1(socket.all);
    assert.equal(
      sent,
      `POST /x HTTP/1.1\r\nHost: 127.0.0.1:${conn.port}\r\nAccept-Encoding: identity\r\nContent-Length: 6\r\nX-Latin: caf\u00e9\r\n\r\nbody\u00c3\u00a9`,
    );
  });
});

Deno.test("requestHeadText matches serializeRequestHead byte for byte", () => {
  const long = "v".repeat(400);
  const cases: [string, string, [string, string][]][] = [
    ["GET", "/", [["Host", "a"]]],
    ["OPTIONS", "*", []],
    ["PUT", "/p?q=1", [["Host", "a"], ["X", "  padded  "], ["Y", ""]]],
    ["GET", "/", [["X-Latin", "caf\u00e9 \u00ff"]]],
    ["GET", "/", [["X-Long", long]]],
    ["GET", "/", [["X-Long", long + "\u00e9"]]],
  ];
  for (const [method, target, fields] of cases) {
    const expected = serializeRequestHead(method, target, fields);
    const head = requestHeadText(method, target, fields);
    assert.deepEqual(encodeLatin1(head), expected);
    const out = new Uint8Array(head.length + 3).fill(0x2a);
    encodeLatin1Into(head, out, 3);
    assert.deepEqual(out.subarray(3), expected);
    assert.deepEqual(out.subarray(0, 3), new Uint8Array([42, 42, 42]));
  }
});

Deno.test("requestHeadText throws the core serializer's errors", () => {
  const bad: [string, string, [string, string][]][] = [
    ["G T", "/", []],
    ["", "/", []],
    ["GET", "/a b", []],
    ["GET", "/\u00e9", []],
    ["GET", "", []],
    ["GET", "/", [["Bad Name", "v"]]],
    ["GET", "/", [["X", "a\r\nInjected: 1"]]],
    ["GET", "/", [["X", "\u0100"]]],
  ];
  for (const [method, target, fields] of bad) {
    let core: unknown = null;
    try {
      serializeRequestHead(method, target, fields);
    } catch (error) {
      core = error;
    }
    assert.ok(core instanceof TypeError, `${method} ${target}`);
    assert.throws(
      () => requestHeadText(method, target, fields),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message === (core as TypeError).message,
    );
  }
});

Deno.test("Transport writeParts never reuses a buffer a write still holds", async () => {
  const socket = new ScriptedConn();
  const transport = new Transport(
    socket as unknown as Deno.Conn,
    { hostname: "127.0.0.1", port: 1 },
    0,
  );
  let open!: () => void;
  socket.writeGate = new Promise((resolve) => (open = resolve));
  // The first write holds the reused buffer until the gate opens.
  const first = transport.writeParts(["GET /1 HTTP/1.1\r\n\r\n"]);
  const second = transport.writeParts([
    "POST /2 HTTP/1.1\r\n\r\n",
    encoder.encode("xy"),
  ]);
  open();
  await Promise.all([first, second]);
  assert.deepEqual(socket.written.map(latin1), [
    "GET /1 HTTP/1.1\r\n\r\n",
    "POST /2 HTTP/1.1\r\n\r\nxy",
  ]);
  transport.close();
});

Deno.test("Transport writeParts loops over short writes", async () => {
  const socket = new ScriptedConn();
  const transport = new Transport(
    socket as unknown as Deno.Conn,
    { hostname: "127.0.0.1", port: 1 },
    0,
  );
  socket.maxWrite = 3;
  const big = "H".repeat(WRITE_BUFFER_BYTES + 10);
  await transport.writeParts(["GET /1 HTTP/1.1\r\n\r\n", encoder.encode("b")]);
  await transport.writeParts([big]);
  await transport.writeParts(["GET /3 HTTP/1.1\r\n\r\n"]);
  assert.equal(
    latin1(socket.all),
    "GET /1 HTTP/1.1\r\n\r\nb" + big + "GET /3 HTTP/1.1\r\n\r\n",
  );
  assert.ok(socket.written.every((part) => part.length <= 3));
  transport.close();
});

Deno.test("Pool pipelines heads and bodies in order and reads every answer", async () => {
  await using server = cannedServer(answerEach(ok("r")));
  using pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 16 });
  const origin = `http://127.0.0.1:${server.port}`;
  const results = await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const response = await pool.request(origin, {
        method: "PUT",
        path: `/${i}`,
        body: `b${i}`,
      });
      return text(await response.read());
    }),
  );
  assert.deepEqual(results, Array(40).fill("r"));
  assert.equal(server.connections, 1);
  assert.deepEqual(
    server.requests.map((r) => [r.line, text(r.body)]),
    Array.from({ length: 40 }, (_, i) => [`PUT /${i} HTTP/1.1`, `b${i}`]),
  );
});

Deno.test("Pool reports a body stream's error and drops the connection", async () => {
  await using server = cannedServer(answerEach(ok("r")));
  using pool = new Pool();
  const origin = `http://127.0.0.1:${server.port}`;
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield encoder.encode("part");
    throw new RangeError("source broke");
  }
  await assert.rejects(
    pool.request(origin, { method: "POST", body: failing() }),
    RangeError,
  );
  const response = await pool.request(origin);
  assert.equal(text(await response.read()), "r");
  assert.equal(server.connections, 2);
});

Deno.test("Transport fill() keeps a timed-out read for the next call", async () => {
  let deliver!: (n: number) => void;
  let reads = 0;
  let target: Uint8Array | null = null;
  const conn = {
    read(buf: Uint8Array): Promise<number | null> {
      reads++;
      target = buf;
      return new Promise((resolve) => (deliver = resolve));
    },
    write: (b: Uint8Array) => Promise.resolve(b.length),
    close() {},
  };
  const transport = new Transport(
    conn as unknown as Deno.Conn,
    { hostname: "127.0.0.1", port: 1 },
    0,
  );
  transport.parser.expectResponseTo("GET");
  await assert.rejects(transport.fill(10), ReadTimeout);
  assert.ok(transport.reading);
  const bytes = encoder.encode("HTTP/1.1 204 No Content\r\n\r\n");
  target!.set(bytes);
  deliver(bytes.length);
  await transport.fill();
  assert.equal(reads, 1);
  assert.ok(!transport.reading);
  assert.equal(transport.poll()?.kind, "head");
  transport.close();
});

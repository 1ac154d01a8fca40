import assert from "node:assert/strict";
import {
  DEFAULT_LIMITS,
  RequestParser,
  resolveLimits,
  ResponseParser,
} from "../../http1/mod.ts";
import { assertProtocolError, bytes, run } from "./_helpers.ts";

Deno.test("DEFAULT_LIMITS has the documented values and is frozen", () => {
  assert.deepEqual({ ...DEFAULT_LIMITS }, {
    maxStartLineBytes: 8192,
    maxHeadBytes: 16384,
    maxHeaderCount: 100,
    maxChunkLineBytes: 1024,
    maxTrailerBytes: 8192,
  });
  assert.ok(Object.isFrozen(DEFAULT_LIMITS));
});

Deno.test("resolveLimits merges over the defaults and rejects nonsense", () => {
  const limits = resolveLimits({ maxHeaderCount: 5 });
  assert.equal(limits.maxHeaderCount, 5);
  assert.equal(limits.maxHeadBytes, DEFAULT_LIMITS.maxHeadBytes);
  assert.ok(Object.isFrozen(limits));
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => resolveLimits({ maxHeadBytes: bad }), RangeError);
  }
  assert.equal(
    new RequestParser({ limits: { maxHeadBytes: 99 } }).limits.maxHeadBytes,
    99,
  );
});

Deno.test("RequestParser enforces default limits", () => {
  const cases: [string, string, number][] = [
    [
      "GET /" + "a".repeat(8200) + " HTTP/1.1\r\nHost: a\r\n\r\n",
      "START_LINE_TOO_LONG",
      414,
    ],
    [
      "GET / HTTP/1.1\r\nHost: a\r\nX: " + "a".repeat(16400) + "\r\n\r\n",
      "HEAD_TOO_LARGE",
      431,
    ],
    [
      "GET / HTTP/1.1\r\nHost: a\r\n" + "X: 1\r\n".repeat(100) + "\r\n",
      "TOO_MANY_HEADERS",
      431,
    ],
    [
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
      "e".repeat(1100) + "\r\n",
      "CHUNK_LINE_TOO_LONG",
      400,
    ],
    [
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
      "t".repeat(8200) + "\r\n\r\n",
      "TRAILERS_TOO_LARGE",
      431,
    ],
  ];
  for (const [raw, code, status] of cases) {
    const data = bytes(raw);
    // Whole, in 7-byte pieces, and byte by byte: the limit holds however it arrives.
    for (const size of [data.length, 7, 1]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < data.length; i += size) {
        chunks.push(data.slice(i, i + size));
      }
      const { error } = run(new RequestParser(), chunks);
      assertProtocolError(
        error,
        code,
        status,
        `${code} in ${size}-byte pieces`,
      );
    }
  }
});

Deno.test("RequestParser accepts heads just inside the default limits", () => {
  const ok = [
    "GET /" + "a".repeat(8192 - 15) + " HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n" + "X: 1\r\n".repeat(99) + "\r\n",
  ];
  for (const raw of ok) {
    const { events, error } = run(new RequestParser(), [bytes(raw)]);
    assert.equal(error, undefined);
    assert.deepEqual(events.map((e) => e.kind), ["head", "end"]);
  }
});

Deno.test("ResponseParser enforces limits on heads and trailers", () => {
  const parser = new ResponseParser({ limits: { maxHeaderCount: 2 } });
  parser.expectResponseTo("GET");
  const { error } = run(parser, [
    bytes("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
  ]);
  assertProtocolError(error, "TOO_MANY_HEADERS", 431, "whole");
});

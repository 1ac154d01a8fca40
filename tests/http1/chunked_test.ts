import assert from "node:assert/strict";
import {
  CHUNK_END,
  encodeChunk,
  encodeChunkHeader,
  encodeLastChunk,
  RequestParser,
  serializeRequestHead,
} from "../../http1/mod.ts";
import { bytes, run, splits, text } from "./_helpers.ts";

Deno.test("encodeChunk frames data with a hex size", () => {
  assert.equal(text(encodeChunk(bytes("hello"))), "5\r\nhello\r\n");
  assert.equal(text(encodeChunk(new Uint8Array(255))).slice(0, 4), "ff\r\n");
  assert.equal(encodeChunk(new Uint8Array(4096)).length, 4 + 2 + 4096 + 2);
  assert.equal(encodeChunk(new Uint8Array(0)).length, 0);
});

Deno.test("encodeChunk copies its input", () => {
  const data = bytes("abc");
  const chunk = encodeChunk(data);
  data[0] = 0x7a;
  assert.equal(text(chunk), "3\r\nabc\r\n");
});

Deno.test("encodeChunkHeader writes the size line and rejects non-positive sizes", () => {
  assert.equal(text(encodeChunkHeader(1)), "1\r\n");
  assert.equal(text(encodeChunkHeader(0x10000)), "10000\r\n");
  assert.equal(text(CHUNK_END), "\r\n");
  for (const size of [0, -1, 1.5, NaN, 2 ** 53]) {
    assert.throws(() => encodeChunkHeader(size), RangeError);
  }
});

Deno.test("encodeLastChunk writes trailers and rejects injection", () => {
  assert.equal(text(encodeLastChunk()), "0\r\n\r\n");
  assert.equal(text(encodeLastChunk([])), "0\r\n\r\n");
  assert.equal(
    text(encodeLastChunk([["Digest", " sha-256=a "], ["X", "caf\xe9"]])),
    "0\r\nDigest: sha-256=a\r\nX: caf\xe9\r\n\r\n",
  );
  assert.throws(() => encodeLastChunk([["X", "a\r\nY: b"]]), TypeError);
  assert.throws(() => encodeLastChunk([["X Y", "a"]]), TypeError);
  assert.throws(() => encodeLastChunk([["X", "\x00"]]), TypeError);
});

Deno.test("chunked encoder output round-trips through RequestParser", () => {
  const pieces = ["a", "bc", "x".repeat(300), "\r\n0\r\n\r\n", "end"];
  const body = [
    ...serializeRequestHead("POST", "/", [["Host", "a"], [
      "Transfer-Encoding",
      "chunked",
    ]]),
    ...pieces.flatMap((p) => [...encodeChunk(bytes(p))]),
    ...encodeChunkHeader(2),
    ...bytes("yz"),
    ...CHUNK_END,
    ...encodeLastChunk([["Checksum", "42"]]),
  ];
  for (const chunks of splits(new Uint8Array(body))) {
    const { events, error } = run(new RequestParser(), chunks);
    assert.equal(error, undefined);
    assert.deepEqual(events.slice(1), [
      { kind: "data", text: pieces.join("") + "yz" },
      { kind: "end", trailers: [["Checksum", "42"]] },
    ]);
  }
});

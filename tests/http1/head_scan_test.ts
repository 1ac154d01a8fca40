// The one-pass head scan: field lines are parsed as the head's end is
// searched for, invalid ones are reported only once the head is complete (in
// the order a whole-head parse reports them), and repeated targets reuse
// their string. Every vector runs at every split point.

import assert from "node:assert/strict";
import { RequestParser, ResponseParser } from "../../http1/mod.ts";
import { bytesEqualLatin1 } from "../../http1/_chars.ts";
import {
  assertProtocolError,
  bytes,
  describe,
  pairs,
  run,
  splits,
} from "./_helpers.ts";

const ERRORS: {
  name: string;
  raw: string;
  code: string;
  status: number;
  eof?: boolean;
  limits?: Record<string, number>;
}[] = [
  // A bad field line and an over-long start line: the start line wins, as
  // it is checked before the fields.
  {
    name: "long_start_line_before_bad_field",
    raw: `GET /${"a".repeat(40)} HTTP/1.1\r\nBad Name: x\r\n\r\n`,
    code: "START_LINE_TOO_LONG",
    status: 414,
    limits: { maxStartLineBytes: 30 },
  },
  // The first invalid field line is the one reported.
  {
    name: "first_of_two_bad_fields",
    raw: "GET / HTTP/1.1\r\nHost: h\r\nA\x01: 1\r\nB: \x01\r\n\r\n",
    code: "BAD_HEADER_NAME",
    status: 400,
  },
  {
    name: "bad_value_then_too_many",
    raw: "GET / HTTP/1.1\r\nA: \x7f\r\nB: 1\r\nC: 1\r\n\r\n",
    code: "BAD_HEADER_VALUE",
    status: 400,
    limits: { maxHeaderCount: 2 },
  },
  {
    name: "too_many_then_bad_value",
    raw: "GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: \x7f\r\n\r\n",
    code: "TOO_MANY_HEADERS",
    status: 431,
    limits: { maxHeaderCount: 2 },
  },
  // A bare LF anywhere in the head is reported as soon as it is seen, before
  // an invalid field line earlier in the head.
  {
    name: "bad_field_then_bare_lf",
    raw: "GET / HTTP/1.1\r\nA\x01: 1\r\nB: 2\n\r\n",
    code: "BARE_LF",
    status: 400,
  },
  {
    name: "bare_cr_inside_value",
    raw: "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r2\r\n\r\n",
    code: "BARE_CR",
    status: 400,
  },
  {
    name: "obs_fold_line",
    raw: "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n  2\r\n\r\n",
    code: "OBSOLETE_LINE_FOLDING",
    status: 400,
  },
  // An invalid field in a head that never ends is an unexpected EOF, not a
  // field error: the head is not complete.
  {
    name: "bad_field_in_unfinished_head",
    raw: "GET / HTTP/1.1\r\nA\x01: 1\r\nB: 2\r\n",
    code: "UNEXPECTED_EOF",
    status: 400,
    eof: true,
  },
  {
    name: "bad_field_in_head_too_large",
    raw: "GET / HTTP/1.1\r\nA\x01: 1\r\nB: 22222222222222222222222222222\r\n",
    code: "HEAD_TOO_LARGE",
    status: 431,
    limits: { maxHeadBytes: 48 },
  },
];

for (const { name, raw, code, status, eof, limits } of ERRORS) {
  Deno.test(`RequestParser reports ${name} at every split point`, () => {
    for (const chunks of splits(bytes(raw))) {
      const { events, error } = run(
        new RequestParser(limits ? { limits } : {}),
        chunks,
        { eof: eof ?? false },
      );
      assert.deepEqual(events, [], describe(chunks));
      assertProtocolError(error, code, status, describe(chunks));
    }
  });
}

Deno.test("RequestParser keeps Latin-1 values and OWS trimming on the fast path", () => {
  const raw = "GET / HTTP/1.1\r\nHost: h\r\nX-A:\t caf\xe9 \t\r\nX-B:\r\n" +
    "X-C:  v  \r\n\r\n";
  for (const chunks of splits(bytes(raw))) {
    const { events, error } = run(new RequestParser(), chunks);
    assert.equal(error, undefined, describe(chunks));
    assert.deepEqual(pairs(events[0]?.headers as never), [
      ["Host", "h"],
      ["X-A", "caf\xe9"],
      ["X-B", ""],
      ["X-C", "v"],
    ], describe(chunks));
  }
});

Deno.test("ResponseParser accepts bare LF field lines on the fast path", () => {
  const raw = "HTTP/1.1 200 OK\nA: 1 \nB:\xe9\nContent-Length: 0\n\n" +
    "HTTP/1.1 204 No Content\r\n\r\n";
  for (const chunks of splits(bytes(raw))) {
    const parser = new ResponseParser();
    parser.expectResponseTo("GET");
    parser.expectResponseTo("GET");
    const { events, error } = run(parser, chunks);
    assert.equal(error, undefined, describe(chunks));
    const heads = events.filter((e) => e.kind === "head");
    assert.deepEqual(pairs(heads[0]?.headers as never), [
      ["A", "1"],
      ["B", "\xe9"],
      ["Content-Length", "0"],
    ], describe(chunks));
    assert.equal(heads[1]?.status, 204, describe(chunks));
  }
});

Deno.test("RequestParser gives each pipelined request its own target", () => {
  const targets = ["/a", "/b", "/b", "/bb", "/a?x=1", "/a?x=2", "*", "/"];
  const raw = targets.map((t) =>
    `${t === "*" ? "OPTIONS" : "GET"} ${t} HTTP/1.1\r\nHost: h\r\n\r\n`
  ).join("");
  for (const chunks of splits(bytes(raw))) {
    const { events } = run(new RequestParser(), chunks);
    assert.deepEqual(
      events.filter((e) => e.kind === "head").map((e) => e.target),
      targets,
      describe(chunks),
    );
  }
});

Deno.test("RequestParser heads outlive the buffers they came from", () => {
  // Heads are copied out of the caller's buffer (the connection reuses it);
  // big ones get their own copy, small ones a shared slab.
  const parser = new RequestParser();
  const heads = [];
  for (const size of [10, 100, 9000, 20]) {
    const buffer = bytes(
      `GET /${size} HTTP/1.1\r\nHost: h\r\nX: ${"v".repeat(size)}\r\n\r\n`,
    );
    parser.receive(buffer);
    const head = parser.next();
    assert.ok(head.kind === "head");
    heads.push(head);
    assert.equal(parser.next().kind, "end");
    buffer.fill(0x21);
  }
  assert.deepEqual(
    heads.map((h) => [h.target, h.headers.get("x")?.length]),
    [["/10", 10], ["/100", 100], ["/9000", 9000], ["/20", 20]],
  );
});

Deno.test("bytesEqualLatin1 compares bytes with a Latin-1 string", () => {
  const data = bytes("xcaf\xe9y");
  assert.equal(bytesEqualLatin1(data, 1, 5, "caf\xe9"), true);
  assert.equal(bytesEqualLatin1(data, 1, 5, "cafe"), false);
  assert.equal(bytesEqualLatin1(data, 1, 4, "caf\xe9"), false);
  assert.equal(bytesEqualLatin1(data, 2, 2, ""), true);
});

Deno.test("ResponseParser gives each response its own reason phrase", () => {
  const reasons = ["OK", "OK", "Ok", "Fine", "", "OK"];
  const raw = reasons.map((r) =>
    `HTTP/1.1 200${r === "" ? "" : " " + r}\r\nContent-Length: 0\r\n\r\n`
  ).join("");
  for (const chunks of splits(bytes(raw))) {
    const parser = new ResponseParser();
    for (const _ of reasons) parser.expectResponseTo("GET");
    const { events, error } = run(parser, chunks);
    assert.equal(error, undefined, describe(chunks));
    assert.deepEqual(
      events.filter((e) => e.kind === "head").map((e) => e.reason),
      reasons,
      describe(chunks),
    );
  }
});

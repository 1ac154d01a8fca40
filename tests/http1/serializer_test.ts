import assert from "node:assert/strict";
import {
  assertValidField,
  encodeLatin1,
  RequestParser,
  ResponseParser,
  serializeRequestHead,
  serializeResponseHead,
  statusLine,
} from "../../http1/mod.ts";
import { bytes, type Plain, run, splits, text } from "./_helpers.ts";

Deno.test("serializeRequestHead writes exact bytes", () => {
  assert.equal(
    text(serializeRequestHead("GET", "/a?b=c", [["Host", "example.com"]])),
    "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n",
  );
  assert.equal(
    text(
      serializeRequestHead("POST", "/", [["Content-Length", " 3 "], [
        "X-Latin",
        "caf\xe9",
      ]], "HTTP/1.0"),
    ),
    "POST / HTTP/1.0\r\nContent-Length: 3\r\nX-Latin: caf\xe9\r\n\r\n",
  );
  assert.equal(
    text(serializeRequestHead("OPTIONS", "*", [])),
    "OPTIONS * HTTP/1.1\r\n\r\n",
  );
});

Deno.test("serializeResponseHead writes exact bytes", () => {
  assert.equal(
    text(serializeResponseHead(200, [["Content-Length", "0"]])),
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  );
  assert.equal(
    text(serializeResponseHead(299, [], { reason: "" })),
    "HTTP/1.1 299 \r\n\r\n",
  );
  assert.equal(
    text(serializeResponseHead(418, [["A", "1"], ["a", "2"]], {
      reason: "Tea\tpot \xe9",
      version: "HTTP/1.0",
    })),
    "HTTP/1.0 418 Tea\tpot \xe9\r\nA: 1\r\na: 2\r\n\r\n",
  );
  assert.equal(statusLine(404), "HTTP/1.1 404 Not Found\r\n");
});

const BAD_VALUES: [string, string][] = [
  ["crlf_injection", "a\r\nSet-Cookie: evil=1"],
  ["lf_injection", "a\nX: y"],
  ["cr_injection", "a\rX: y"],
  ["nul", "a\x00b"],
  ["ctl", "a\x01b"],
  ["del", "a\x7fb"],
  ["non_latin1", "snow\u2603"],
];

for (const [name, value] of BAD_VALUES) {
  Deno.test(`serializers reject header value with ${name}`, () => {
    assert.throws(() => assertValidField("X", value), TypeError);
    assert.throws(
      () => serializeRequestHead("GET", "/", [["X", value]]),
      TypeError,
    );
    assert.throws(() => serializeResponseHead(200, [["X", value]]), TypeError);
  });
}

const BAD_NAMES = [
  "",
  "X Y",
  "X:Y",
  "X\r\nY",
  "X\nY",
  "X\x00",
  "Caf\xe9",
  "A(b)",
  "A\tB",
];
for (const name of BAD_NAMES) {
  Deno.test(`serializers reject header name ${JSON.stringify(name)}`, () => {
    assert.throws(() => assertValidField(name, "v"), TypeError);
    assert.throws(() => serializeResponseHead(200, [[name, "v"]]), TypeError);
  });
}

Deno.test("serializeRequestHead rejects bad methods and targets", () => {
  for (
    const method of ["", "GET /", "GE\rT", "G\nET", "G\x00T", "G\u0100T", "G(T"]
  ) {
    assert.throws(
      () => serializeRequestHead(method, "/", []),
      TypeError,
      method,
    );
  }
  for (
    const target of [
      "",
      "/a b",
      "/a\r\nHost: evil",
      "/\n",
      "/\x00",
      "/caf\xe9",
      "/\u2603",
      "/\x7f",
    ]
  ) {
    assert.throws(
      () => serializeRequestHead("GET", target, []),
      TypeError,
      target,
    );
  }
});

Deno.test("statusLine rejects statuses outside 100..999 and bad reasons", () => {
  for (const status of [99, 1000, 0, -200, 200.5, NaN, Infinity]) {
    assert.throws(() => statusLine(status), RangeError, String(status));
    assert.throws(() => serializeResponseHead(status, []), RangeError);
  }
  assert.equal(statusLine(100), "HTTP/1.1 100 Continue\r\n");
  assert.equal(statusLine(999, { reason: "X" }), "HTTP/1.1 999 X\r\n");
  for (const reason of ["OK\r\nX: y", "a\nb", "\x00", "a\rb", "\u2603"]) {
    assert.throws(() => statusLine(200, { reason }), TypeError, reason);
  }
});

Deno.test("serializers strip surrounding whitespace from values like Fetch", () => {
  assert.equal(
    text(serializeResponseHead(200, [["X", " \t v \t "]])),
    "HTTP/1.1 200 OK\r\nX: v\r\n\r\n",
  );
});

Deno.test("encodeLatin1 writes one byte per character", () => {
  assert.deepEqual(encodeLatin1("a\xff"), new Uint8Array([0x61, 0xff]));
  assert.deepEqual(encodeLatin1("GET"), new Uint8Array([0x47, 0x45, 0x54]));
});

interface RoundTrip {
  method: string;
  target: string;
  headers: [string, string][];
  body: string;
}

const REQUEST_TRIPS: RoundTrip[] = [
  { method: "GET", target: "/", headers: [["Host", "a"]], body: "" },
  {
    method: "POST",
    target: "/p?q=%20",
    headers: [["Host", "a:81"], ["Content-Length", "4"], ["X-\xe9", "x"]],
    body: "data",
  },
  {
    method: "CUSTOM",
    target: "http://h/x",
    headers: [["host", "h"], ["Accept", "*/*"], ["Accept", "text/html, x"]],
    body: "",
  },
];

for (const [index, trip] of REQUEST_TRIPS.entries()) {
  Deno.test(`serializeRequestHead round-trips through RequestParser (${index})`, () => {
    const validHeaders = trip.headers.filter(([n]) => !n.includes("\xe9"));
    const head = serializeRequestHead(trip.method, trip.target, validHeaders);
    const raw = new Uint8Array([...head, ...bytes(trip.body)]);
    for (const chunks of splits(raw)) {
      const { events, error } = run(new RequestParser(), chunks);
      assert.equal(error, undefined);
      const [first, ...rest] = events;
      assert.equal(first?.method, trip.method);
      assert.equal(first?.target, trip.target);
      assert.deepEqual(first?.headers, validHeaders);
      const expected: Plain[] = trip.body === ""
        ? [{ kind: "end", trailers: null }]
        : [{ kind: "data", text: trip.body }, { kind: "end", trailers: null }];
      assert.deepEqual(rest, expected);
    }
  });
}

Deno.test("serializeResponseHead round-trips through ResponseParser", () => {
  for (const status of [100, 101, 200, 204, 301, 404, 500, 599, 999]) {
    const headers: [string, string][] = [["X-A", "caf\xe9"], [
      "Content-Length",
      "2",
    ]];
    const raw = new Uint8Array([
      ...serializeResponseHead(status, headers),
      ...bytes(status < 200 || status === 204 ? "" : "hi"),
    ]);
    for (const chunks of splits(raw)) {
      const parser = new ResponseParser();
      parser.expectResponseTo("GET");
      const { events, error } = run(parser, chunks);
      assert.equal(error, undefined);
      assert.equal(events[0]?.status, status);
      assert.deepEqual(events[0]?.headers, headers);
    }
  }
});

Deno.test("assertValidField checks a name again when its value changes", () => {
  // Valid pairs are remembered to skip re-checking; an invalid value for a
  // name seen before must still throw, every time.
  assertValidField("X-Memo", "ok");
  assertValidField("X-Memo", "ok");
  for (let i = 0; i < 2; i++) {
    assert.throws(() => assertValidField("X-Memo", "a\r\nb"), TypeError);
  }
  assert.throws(() => assertValidField("X Memo", "ok"), TypeError);
  for (let i = 0; i < 100; i++) assertValidField(`X-${i}`, String(i));
  assert.throws(() => assertValidField("X-1", "\x00"), TypeError);
  assertValidField("X-Memo", "ok");
});

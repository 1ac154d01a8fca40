import assert from "node:assert/strict";
import { type Limits, ResponseParser } from "../../http1/mod.ts";
import {
  assertProtocolError,
  bytes,
  describe,
  type Plain,
  run,
  splits,
} from "./_helpers.ts";

// After each framed response: one complete response (answering a GET) that
// must come out on its own, and a partial one that must stay buffered.
const NEXT = "HTTP/1.1 204 No Content\r\nX-Next: 1\r\n\r\n";
const PARTIAL = "HTTP/1.1 2";

interface ValidResponse {
  name: string;
  raw: string;
  /** Methods of the requests sent, in order (one per final response). */
  methods: string[];
  /** Expected events, heads reduced to the fields listed. */
  expect: Plain[];
  /** Close-delimited: no trailing bytes, EOF ends the body. */
  eof?: boolean;
  /** Paused at the end: trailing bytes are tunnel bytes. */
  paused?: boolean;
  allowBareLf?: boolean;
}

const END: Plain = { kind: "end", trailers: null };

const VALID_RESPONSES: ValidResponse[] = [
  {
    name: "ok_with_content_length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    methods: ["GET"],
    expect: [
      {
        kind: "head",
        status: 200,
        reason: "OK",
        version: "HTTP/1.1",
        headers: [["Content-Length", "5"]],
        keepAlive: true,
        framing: { kind: "length", length: 5 },
      },
      { kind: "data", text: "hello" },
      END,
    ],
  },
  {
    name: "continue_then_final",
    raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n" +
      "Content-Length: 2\r\n\r\nok",
    methods: ["PUT"],
    expect: [
      { kind: "head", status: 100, framing: { kind: "none" } },
      { kind: "head", status: 201 },
      { kind: "data", text: "ok" },
      END,
    ],
  },
  {
    name: "early_hints_then_final",
    raw:
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n" +
      "Link: </app.js>; rel=preload; as=script\r\n\r\n" +
      "HTTP/1.1 102 Processing\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    methods: ["GET"],
    expect: [
      {
        kind: "head",
        status: 103,
        headers: [
          ["Link", "</style.css>; rel=preload; as=style"],
          ["Link", "</app.js>; rel=preload; as=script"],
        ],
      },
      { kind: "head", status: 102 },
      { kind: "head", status: 200, framing: { kind: "none" } },
      END,
    ],
  },
  {
    name: "head_response_with_content_length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
    methods: ["HEAD"],
    expect: [{ kind: "head", status: 200, framing: { kind: "none" } }, END],
  },
  {
    name: "head_response_with_chunked",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    methods: ["HEAD"],
    expect: [{ kind: "head", status: 200, framing: { kind: "none" } }, END],
  },
  {
    name: "no_content_with_content_length",
    raw: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    methods: ["DELETE"],
    expect: [{ kind: "head", status: 204, framing: { kind: "none" } }, END],
  },
  {
    name: "not_modified_with_content_length",
    raw: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: "x"\r\n\r\n',
    methods: ["GET"],
    expect: [{ kind: "head", status: 304, framing: { kind: "none" } }, END],
  },
  {
    name: "chunked_with_trailers",
    raw:
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Digest\r\n\r\n" +
      "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nDigest: sha-256=x\r\n\r\n",
    methods: ["GET"],
    expect: [
      { kind: "head", status: 200, framing: { kind: "chunked" } },
      { kind: "data", text: "Wikipedia" },
      { kind: "end", trailers: [["Digest", "sha-256=x"]] },
    ],
  },
  {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; the
    // body is read, then the connection closes despite keep-alive.
    name: "http10_transfer_encoding_closes",
    raw:
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    methods: ["GET"],
    expect: [
      { kind: "head", version: "HTTP/1.0", keepAlive: false },
      { kind: "data", text: "x" },
      END,
    ],
  },
  {
    name: "http10_keep_alive",
    raw:
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
    methods: ["GET"],
    expect: [
      { kind: "head", version: "HTTP/1.0", keepAlive: true },
      { kind: "data", text: "x" },
      END,
    ],
  },
  {
    name: "http11_connection_close",
    raw: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
    methods: ["GET"],
    expect: [
      { kind: "head", keepAlive: false },
      { kind: "data", text: "x" },
      END,
    ],
  },
  {
    name: "empty_reason_without_space",
    raw: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    methods: ["GET"],
    expect: [{ kind: "head", status: 200, reason: "" }, END],
  },
  {
    name: "empty_reason_with_space",
    raw: "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
    methods: ["GET"],
    expect: [{ kind: "head", status: 404, reason: "" }, END],
  },
  {
    name: "reason_with_latin1_and_spaces",
    raw: "HTTP/1.1 200 Tr\xe8s  bien\r\nContent-Length: 0\r\n\r\n",
    methods: ["GET"],
    expect: [{ kind: "head", reason: "Tr\xe8s  bien" }, END],
  },
  {
    name: "bare_lf_accepted",
    raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    methods: ["GET"],
    expect: [
      { kind: "head", status: 200, headers: [["Content-Length", "2"]] },
      { kind: "data", text: "ok" },
      END,
    ],
  },
  {
    name: "bare_lf_chunked",
    raw: "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n",
    methods: ["GET"],
    expect: [
      { kind: "head", framing: { kind: "chunked" } },
      { kind: "data", text: "ok" },
      END,
    ],
  },
  {
    name: "close_delimited_body",
    raw:
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end\r\n\r\nHTTP/1.1",
    methods: ["GET"],
    eof: true,
    expect: [
      { kind: "head", keepAlive: false, framing: { kind: "close" } },
      { kind: "data", text: "until the end\r\n\r\nHTTP/1.1" },
      END,
      { kind: "closed" },
    ],
  },
  {
    // RFC 9112 §5.2: a user agent replaces each obs-fold with SP.
    name: "obs_fold_unfolded",
    raw: "HTTP/1.1 200 OK\r\nX-A: one \r\n two\r\n\tthree\r\n" +
      "X-Empty:\r\n  later\r\nContent-Length: 2\r\n\r\nhi",
    methods: ["GET"],
    expect: [
      {
        kind: "head",
        headers: [
          ["X-A", "one two three"],
          ["X-Empty", "later"],
          ["Content-Length", "2"],
        ],
        framing: { kind: "length", length: 2 },
      },
      { kind: "data", text: "hi" },
      END,
    ],
  },
  {
    name: "te_not_chunked_is_close_delimited",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b\x08",
    methods: ["GET"],
    eof: true,
    expect: [
      { kind: "head", keepAlive: false, framing: { kind: "close" } },
      { kind: "data", text: "\x1f\x8b\x08" },
      END,
      { kind: "closed" },
    ],
  },
  {
    name: "switching_protocols_paused",
    raw: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
      "Connection: Upgrade\r\n\r\n",
    methods: ["GET"],
    paused: true,
    expect: [{ kind: "head", status: 101 }, END, { kind: "paused" }],
  },
  {
    name: "connect_200_paused",
    raw: "HTTP/1.1 200 Connection Established\r\nContent-Length: 5\r\n\r\n",
    methods: ["CONNECT"],
    paused: true,
    expect: [
      { kind: "head", status: 200, framing: { kind: "none" } },
      END,
      { kind: "paused" },
    ],
  },
  {
    name: "connect_407_not_paused",
    raw:
      "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\nno!",
    methods: ["CONNECT"],
    expect: [
      { kind: "head", status: 407 },
      { kind: "data", text: "no!" },
      END,
    ],
  },
  {
    name: "pipelined_get_head_get",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na" +
      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
    methods: ["GET", "HEAD", "GET"],
    expect: [
      { kind: "head", status: 200 },
      { kind: "data", text: "a" },
      END,
      { kind: "head", framing: { kind: "none" } },
      END,
      { kind: "head", framing: { kind: "length", length: 1 } },
      { kind: "data", text: "c" },
      END,
    ],
  },
];

function reduce(events: Plain[], expect: Plain[]): Plain[] {
  return events.map((event, i) => {
    const wanted = expect[i];
    if (event.kind !== "head" || wanted === undefined) return event;
    const out: Plain = { kind: "head" };
    for (const key of Object.keys(wanted)) out[key] = event[key];
    return out;
  });
}

const TUNNEL = "\x00\x01binary tunnel bytes";

for (const vector of VALID_RESPONSES) {
  Deno.test(`ResponseParser parses ${vector.name} at every split point`, () => {
    const trailing = vector.eof ? "" : vector.paused ? TUNNEL : NEXT + PARTIAL;
    let reference: Plain[] | null = null;
    for (const chunks of splits(bytes(vector.raw + trailing))) {
      const parser = new ResponseParser(
        vector.allowBareLf === false ? { allowBareLf: false } : {},
      );
      for (const method of vector.methods) parser.expectResponseTo(method);
      if (!vector.eof && !vector.paused) parser.expectResponseTo("GET");
      const { events, error } = run(parser, chunks, {
        eof: vector.eof ?? false,
      });
      const where = describe(chunks);
      assert.equal(error, undefined, `${where}: ${error}`);
      if (reference === null) reference = events;
      else assert.deepEqual(events, reference, where);
      if (vector.paused) {
        assert.deepEqual(reduce(events, vector.expect), vector.expect, where);
        assert.deepEqual(parser.takeBuffered(), bytes(TUNNEL), where);
      } else if (vector.eof) {
        assert.deepEqual(reduce(events, vector.expect), vector.expect, where);
      } else {
        const own = events.slice(0, -2);
        assert.deepEqual(reduce(own, vector.expect), vector.expect, where);
        assert.deepEqual(events.slice(-2).map((e) => e.status ?? e.kind), [
          204,
          "end",
        ]);
        assert.equal(parser.bufferedBytes, PARTIAL.length, where);
        assert.equal(parser.outstanding, 0, where);
      }
    }
  });
}

interface HostileResponse {
  name: string;
  raw: string;
  code: string;
  method?: string;
  eof?: boolean;
  allowBareLf?: boolean;
  limits?: Partial<Limits>;
}

const HOSTILE_RESPONSES: HostileResponse[] = [
  {
    name: "two_content_lengths",
    raw:
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    code: "CONFLICTING_CONTENT_LENGTH",
  },
  {
    name: "cl_and_te",
    raw:
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    code: "CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "te_chunked_twice",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    code: "BAD_TRANSFER_ENCODING",
  },
  {
    name: "cl_not_digits",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
    code: "BAD_CONTENT_LENGTH",
  },
  {
    name: "status_two_digits",
    raw: "HTTP/1.1 20 OK\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "status_four_digits",
    raw: "HTTP/1.1 2000 OK\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "status_below_100",
    raw: "HTTP/1.1 099 Low\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "status_not_digits",
    raw: "HTTP/1.1 2x0 OK\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "reason_without_space",
    raw: "HTTP/1.1 200OK\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "http2_version",
    raw: "HTTP/2.0 200 OK\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "short_version",
    raw: "HTTP/2 200 OK\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "lowercase_version",
    raw: "http/1.1 200 OK\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "icy_status_line",
    raw: "ICY 200 OK\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    name: "ctl_in_reason",
    raw: "HTTP/1.1 200 O\x00K\r\n\r\n",
    code: "BAD_STATUS_LINE",
  },
  {
    // No empty-line skipping for responses: the status line slides into the
    // fields and fails as a field line (fields are checked before the start line).
    name: "empty_line_before_status_line",
    raw: "\r\nHTTP/1.1 200 OK\r\n\r\n",
    code: "BAD_HEADER_NAME",
  },
  {
    // De-chunked, the content would still be gzip: refused, not handed on.
    name: "gzip_before_chunked",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    code: "UNSUPPORTED_TRANSFER_ENCODING",
  },
  {
    // RFC 9112 §5.2: a fold needs a field to continue.
    name: "obs_fold_first",
    raw: "HTTP/1.1 200 OK\r\n b\r\nContent-Length: 0\r\n\r\n",
    code: "OBSOLETE_LINE_FOLDING",
  },
  {
    name: "obs_fold_with_ctl",
    raw: "HTTP/1.1 200 OK\r\nX: a\r\n b\x01\r\nContent-Length: 0\r\n\r\n",
    code: "BAD_HEADER_VALUE",
  },
  {
    name: "nul_in_value",
    raw: "HTTP/1.1 200 OK\r\nX: a\x00\r\nContent-Length: 0\r\n\r\n",
    code: "BAD_HEADER_VALUE",
  },
  {
    name: "space_before_colon",
    raw: "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    code: "BAD_HEADER_NAME",
  },
  {
    name: "bare_lf_when_disallowed",
    raw: "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    code: "BARE_LF",
    allowBareLf: false,
  },
  {
    name: "truncated_body",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    code: "UNEXPECTED_EOF",
    eof: true,
  },
  {
    name: "truncated_chunked_body",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    code: "UNEXPECTED_EOF",
    eof: true,
  },
  {
    name: "truncated_before_last_chunk",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    code: "UNEXPECTED_EOF",
    eof: true,
  },
  {
    name: "truncated_head",
    raw: "HTTP/1.1 200 OK\r\nContent-Le",
    code: "UNEXPECTED_EOF",
    eof: true,
  },
  {
    name: "chunk_size_overflow",
    raw:
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
    code: "BAD_CHUNK",
  },
  {
    name: "head_too_large",
    raw: "HTTP/1.1 200 OK\r\nX: " + "x".repeat(80) + "\r\n\r\n",
    code: "HEAD_TOO_LARGE",
    limits: { maxHeadBytes: 64 },
  },
  {
    // Each 103 fits the head limit; together they count against it, so an
    // endless run of them cannot hold the client (or its memory) for ever.
    name: "interim_storm",
    raw: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n".repeat(3) +
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    code: "TOO_MANY_INTERIM_RESPONSES",
    limits: { maxHeadBytes: 100 },
  },
];

Deno.test("ResponseParser counts 1xx bytes per response: a final head starts the count again", () => {
  const hint = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"; // 45 B
  const final = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const parser = new ResponseParser({ limits: { maxHeadBytes: 100 } });
  parser.expectResponseTo("GET");
  parser.expectResponseTo("GET");
  parser.receive(bytes(hint + hint + final + hint + hint + final));
  const kinds: string[] = [];
  for (let e = parser.next(); e.kind !== "need-data"; e = parser.next()) {
    kinds.push(e.kind === "head" ? `head ${e.status}` : e.kind);
  }
  assert.deepEqual(kinds, [
    "head 103",
    "head 103",
    "head 200",
    "end",
    "head 103",
    "head 103",
    "head 200",
    "end",
  ]);
});

for (const vector of HOSTILE_RESPONSES) {
  Deno.test(`ResponseParser rejects ${vector.name} at every split point`, () => {
    for (const chunks of splits(bytes(vector.raw))) {
      const options = {
        ...(vector.allowBareLf === false ? { allowBareLf: false } : {}),
        ...(vector.limits ? { limits: vector.limits } : {}),
      };
      const parser = new ResponseParser(options);
      parser.expectResponseTo(vector.method ?? "GET");
      const { error } = run(parser, chunks, { eof: vector.eof ?? false });
      const status = vector.code === "HEAD_TOO_LARGE" ? 431 : 400;
      assertProtocolError(error, vector.code, status, describe(chunks));
    }
  });
}

Deno.test("ResponseParser rejects a status line over maxStartLineBytes with 400", () => {
  const parser = new ResponseParser({ limits: { maxStartLineBytes: 16 } });
  parser.expectResponseTo("GET");
  const { error } = run(parser, [
    bytes("HTTP/1.1 200 " + "o".repeat(20) + "\r\n\r\n"),
  ]);
  assertProtocolError(error, "START_LINE_TOO_LONG", 400, "whole");
});

Deno.test("ResponseParser resumes HTTP after a declined 101 pause", () => {
  const parser = new ResponseParser();
  parser.expectResponseTo("GET");
  parser.expectResponseTo("GET");
  parser.receive(bytes("HTTP/1.1 101 Switching Protocols\r\n\r\n" + NEXT));
  assert.equal(parser.next().kind, "head");
  assert.equal(parser.next().kind, "end");
  assert.equal(parser.next().kind, "paused");
  assert.equal(parser.outstanding, 1);
  parser.resume();
  const head = parser.next();
  assert.ok(head.kind === "head" && head.status === 204);
  assert.equal(parser.next().kind, "end");
  assert.equal(parser.next().kind, "need-data");
});

Deno.test("ResponseParser counts outstanding requests", () => {
  const parser = new ResponseParser();
  parser.expectResponseTo("GET");
  parser.expectResponseTo("HEAD");
  assert.equal(parser.outstanding, 2);
  parser.receive(bytes("HTTP/1.1 100 Continue\r\n\r\n"));
  assert.equal(parser.next().kind, "head");
  assert.equal(parser.outstanding, 2, "interim heads do not count");
  parser.receive(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  assert.equal(parser.next().kind, "head");
  assert.equal(parser.next().kind, "end");
  assert.equal(parser.outstanding, 1);
});

Deno.test("ResponseParser vector tables have unique names", () => {
  const names = [...VALID_RESPONSES, ...HOSTILE_RESPONSES].map((v) => v.name);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("ResponseParser frames Content-Length values of every width at every split point", () => {
  const cases: [string, number | string][] = [
    ["3", 3],
    ["03", 3],
    [" 3\t", 3],
    ["00000003", 3],
    ["000000003", 3],
    ["000000000000003", 3],
    ["0000000000000003", 3],
    ["3, 3", 3],
    ["3,3", 3],
    ["0", 0],
    ["3, 4", "CONFLICTING_CONTENT_LENGTH"],
    ["+3", "BAD_CONTENT_LENGTH"],
    ["3\xa0", "BAD_CONTENT_LENGTH"],
    ["00000000000000003", "BAD_CONTENT_LENGTH"],
  ];
  for (const [value, want] of cases) {
    const raw =
      `HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\nX-Long: ${
        "v".repeat(20)
      }\r\n\r\n${want === 0 ? "" : "abc"}` + NEXT;
    for (const chunks of splits(bytes(raw))) {
      const where = `${JSON.stringify(value)} ${describe(chunks)}`;
      const parser = new ResponseParser();
      parser.expectResponseTo("GET");
      parser.expectResponseTo("GET");
      const { events, error } = run(parser, chunks);
      if (typeof want === "string") {
        assertProtocolError(error, want, 400, where);
        continue;
      }
      assert.equal(error, undefined, `${where}: ${error}`);
      const head = events[0]!;
      assert.equal(head.kind, "head", where);
      assert.deepEqual(
        head.framing,
        want === 0 ? { kind: "none" } : { kind: "length", length: want },
        where,
      );
      const kinds = events.map((e) => e.kind === "data" ? e.text : e.kind);
      assert.deepEqual(
        kinds,
        want === 0
          ? ["head", "end", "head", "end"]
          : ["head", "abc", "end", "head", "end"],
        where,
      );
    }
  }
  // The value read for framing and the values read afterwards agree.
  const parser = new ResponseParser();
  parser.expectResponseTo("GET");
  parser.receive(
    bytes("HTTP/1.1 200 OK\r\nContent-Length:  3 \r\nX-A: 12345678\r\n\r\n"),
  );
  const head = parser.next();
  assert.ok(head.kind === "head");
  assert.equal(head.headers.get("content-length"), "3");
  assert.equal(head.headers.get("x-a"), "12345678");
  assert.deepEqual([...head.headers], [
    ["Content-Length", "3"],
    ["X-A", "12345678"],
  ]);
});

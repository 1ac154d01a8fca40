import assert from "node:assert/strict";
import { type Limits, RequestParser } from "../../http1/mod.ts";
import {
  assertProtocolError,
  bytes,
  describe,
  type Plain,
  run,
  splits,
} from "./_helpers.ts";

// A complete request and a partial one follow every valid vector: the first
// must come out as its own message, the second must stay buffered.
const NEXT = "GET /next HTTP/1.1\r\nHost: n\r\n\r\n";
const PARTIAL = "GET /par";
const NEXT_EVENTS: Plain[] = [
  {
    kind: "head",
    method: "GET",
    target: "/next",
    version: "HTTP/1.1",
    headers: [["Host", "n"]],
    keepAlive: true,
    framing: { kind: "none" },
    expectContinue: false,
    upgrade: null,
  },
  { kind: "end", trailers: null },
];

interface ValidRequest {
  name: string;
  raw: string;
  /** Fields of the head to check (the rest must merely agree across splits). */
  head: Record<string, unknown>;
  body?: string;
  trailers?: [string, string][];
}

const H = "Host: example.com\r\n";

const VALID_REQUESTS: ValidRequest[] = [
  {
    name: "minimal_get",
    raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    head: {
      method: "GET",
      target: "/",
      version: "HTTP/1.1",
      headers: [["Host", "a"]],
      keepAlive: true,
      framing: { kind: "none" },
      expectContinue: false,
      upgrade: null,
    },
  },
  {
    name: "leading_empty_lines",
    raw: "\r\n\r\nGET /x?y=1 HTTP/1.1\r\n" + H + "\r\n",
    head: { method: "GET", target: "/x?y=1" },
  },
  {
    name: "post_content_length",
    raw: "POST /form HTTP/1.1\r\n" + H +
      "Content-Length: 11\r\n\r\nhello world",
    head: { method: "POST", framing: { kind: "length", length: 11 } },
    body: "hello world",
  },
  {
    name: "content_length_zero",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: 0\r\n\r\n",
    head: { framing: { kind: "none" } },
  },
  {
    name: "content_length_identical_duplicates",
    raw: "PUT / HTTP/1.1\r\n" + H +
      "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    head: { method: "PUT", framing: { kind: "length", length: 3 } },
    body: "abc",
  },
  {
    name: "content_length_identical_list",
    raw: "PUT / HTTP/1.1\r\n" + H + "Content-Length: 3 , 3\r\n\r\nabc",
    head: { framing: { kind: "length", length: 3 } },
    body: "abc",
  },
  {
    name: "chunked_body",
    raw: "POST /up HTTP/1.1\r\n" + H +
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    head: { framing: { kind: "chunked" } },
    body: "hello world",
  },
  {
    name: "chunked_case_insensitive_and_hex",
    raw: "POST /up HTTP/1.1\r\n" + H +
      "transfer-encoding: Chunked\r\n\r\n00A\r\n0123456789\r\n0000\r\n\r\n",
    head: { framing: { kind: "chunked" } },
    body: "0123456789",
  },
  {
    name: "chunked_extensions_and_trailers",
    raw: "POST /up HTTP/1.1\r\n" + H +
      'Transfer-Encoding: chunked\r\n\r\n3;name=v;q="x y"\r\nabc\r\n' +
      "1 ; last\r\nd\r\n0;end\r\nDigest: sha-256=abc\r\nX-Timing: 12\r\n\r\n",
    head: { framing: { kind: "chunked" } },
    body: "abcd",
    trailers: [["Digest", "sha-256=abc"], ["X-Timing", "12"]],
  },
  {
    name: "absolute_form",
    raw: "GET http://example.com/a?b HTTP/1.1\r\n" + H + "\r\n",
    head: { target: "http://example.com/a?b" },
  },
  {
    name: "options_asterisk",
    raw: "OPTIONS * HTTP/1.1\r\n" + H + "\r\n",
    head: { method: "OPTIONS", target: "*" },
  },
  {
    name: "unknown_method_token",
    raw: "PURGE /cache HTTP/1.1\r\n" + H + "\r\n",
    head: { method: "PURGE" },
  },
  {
    name: "expect_100",
    raw: "PUT /f HTTP/1.1\r\n" + H +
      "Expect: 100-Continue\r\nContent-Length: 2\r\n\r\nok",
    head: { expectContinue: true },
    body: "ok",
  },
  {
    name: "expect_100_ignored_in_http10",
    raw:
      "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    head: { expectContinue: false, version: "HTTP/1.0" },
    body: "ok",
  },
  {
    name: "keepalive_http10_default_close",
    raw: "GET / HTTP/1.0\r\n\r\n",
    head: { version: "HTTP/1.0", keepAlive: false, headers: [] },
  },
  {
    name: "keepalive_http10_keep_alive",
    raw: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    head: { version: "HTTP/1.0", keepAlive: true },
  },
  {
    name: "keepalive_http11_default",
    raw: "GET / HTTP/1.1\r\n" + H + "\r\n",
    head: { keepAlive: true },
  },
  {
    name: "keepalive_http11_close",
    raw: "GET / HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n",
    head: { keepAlive: false },
  },
  {
    name: "keepalive_keep_alive_and_close",
    raw: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
    head: { keepAlive: false },
  },
  {
    name: "keepalive_close_in_second_connection_field",
    raw: "GET / HTTP/1.1\r\n" + H +
      "Connection: keep-alive\r\nConnection: CLOSE\r\n\r\n",
    head: { keepAlive: false },
  },
  {
    name: "minor_version_above_1_is_1_1",
    raw: "GET / HTTP/1.2\r\n" + H + "\r\n",
    head: { version: "HTTP/1.1" },
  },
  {
    name: "upgrade_ignored_in_http10",
    raw: "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    head: { upgrade: null },
  },
  {
    name: "upgrade_without_connection_token_ignored",
    raw: "GET / HTTP/1.1\r\n" + H + "Upgrade: websocket\r\n\r\n",
    head: { upgrade: null },
  },
  {
    name: "field_values_trimmed_latin1_and_empty",
    raw: "GET / HTTP/1.1\r\n" + H +
      "X-Name: \t caf\xe9 au lait \t\r\nX-Empty:\r\nX-Tab:\ta\tb\r\n\r\n",
    head: {
      headers: [
        ["Host", "example.com"],
        ["X-Name", "caf\xe9 au lait"],
        ["X-Empty", ""],
        ["X-Tab", "a\tb"],
      ],
    },
  },
  {
    name: "empty_host_allowed",
    raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    head: { headers: [["Host", ""]] },
  },
  {
    name: "host_ipv6_and_port",
    raw: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    head: { headers: [["Host", "[::1]:8080"]] },
  },
  ...[
    "a%41b.example",
    "10.0.0.1:80",
    "[::ffff:192.0.2.1]",
    "[2001:db8:0:0:0:0:0:1]:443",
    "[v1.fe80::a+en1]",
    "example.com:",
    "!$&'()*+,;=",
  ].map((host) => ({
    // RFC 3986 §3.2.2-3: reg-name, IPv4, IP-literal, empty port.
    name: `host_valid_${host}`,
    raw: `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    head: { headers: [["Host", host]] as [string, string][] },
  })),
];

/** Runs `raw` + trailing bytes at every split and returns the whole-feed events. */
function checkValid(
  raw: string,
  trailing: string,
  trailingEvents: Plain[],
  buffered: number,
): Plain[] {
  let reference: Plain[] | null = null;
  for (const chunks of splits(bytes(raw + trailing))) {
    const parser = new RequestParser();
    const { events, error } = run(parser, chunks);
    const where = describe(chunks);
    assert.equal(error, undefined, `${where}: ${error}`);
    assert.deepEqual(events.slice(-trailingEvents.length), trailingEvents);
    assert.equal(parser.bufferedBytes, buffered, `${where}: bufferedBytes`);
    if (reference === null) reference = events;
    else assert.deepEqual(events, reference, where);
  }
  return reference!;
}

for (const vector of VALID_REQUESTS) {
  Deno.test(`RequestParser parses ${vector.name} at every split point`, () => {
    const events = checkValid(
      vector.raw,
      NEXT + PARTIAL,
      NEXT_EVENTS,
      PARTIAL.length,
    );
    const [head, ...rest] = events.slice(0, -NEXT_EVENTS.length);
    assert.equal(head?.kind, "head");
    for (const [key, value] of Object.entries(vector.head)) {
      assert.deepEqual(head[key], value, key);
    }
    const expected: Plain[] = [];
    if (vector.body !== undefined) {
      expected.push({ kind: "data", text: vector.body });
    }
    expected.push({ kind: "end", trailers: vector.trailers ?? null });
    assert.deepEqual(rest, expected);
  });
}

interface HostileRequest {
  name: string;
  raw: string;
  code: string;
  status: number;
  limits?: Partial<Limits>;
  eof?: boolean;
}

const CHUNKED = "POST / HTTP/1.1\r\n" + H +
  "Transfer-Encoding: chunked\r\n\r\n";

const HOSTILE_REQUESTS: HostileRequest[] = [
  {
    name: "two_content_lengths",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    code: "CONFLICTING_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "two_content_lengths_in_a_list",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: 5, 50\r\n\r\nhello",
    code: "CONFLICTING_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "cl_and_te",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    code: "CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "te_and_cl",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
    code: "CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "te_not_chunked_last",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Transfer-Encoding: chunked, gzip\r\n\r\n",
    code: "BAD_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "te_without_chunked",
    raw: "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\n\r\n",
    code: "BAD_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "te_empty",
    raw: "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding:\r\n\r\n",
    code: "BAD_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "te_chunked_twice",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Transfer-Encoding: chunked, chunked\r\n\r\n",
    code: "BAD_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "te_chunked_twice_in_two_fields",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    code: "BAD_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "te_chunked_with_nbsp",
    raw: "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\xa0\r\n\r\n",
    code: "BAD_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "te_in_http10",
    raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    code: "BAD_TRANSFER_ENCODING",
    status: 400,
  },
  {
    name: "unknown_coding_501",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Transfer-Encoding: x-custom, chunked\r\n\r\n",
    code: "UNSUPPORTED_TRANSFER_ENCODING",
    status: 501,
  },
  {
    name: "gzip_then_chunked_501",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
    code: "UNSUPPORTED_TRANSFER_ENCODING",
    status: 501,
  },
  {
    name: "obs_fold",
    raw: "GET / HTTP/1.1\r\n" + H + "X-Long: a\r\n  b\r\n\r\n",
    code: "OBSOLETE_LINE_FOLDING",
    status: 400,
  },
  {
    name: "obs_fold_tab",
    raw: "GET / HTTP/1.1\r\n" + H + "X-Long: a\r\n\tb\r\n\r\n",
    code: "OBSOLETE_LINE_FOLDING",
    status: 400,
  },
  {
    name: "whitespace_before_first_field",
    raw: "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    code: "OBSOLETE_LINE_FOLDING",
    status: 400,
  },
  {
    name: "bare_lf",
    raw: "GET / HTTP/1.1\nHost: a\n\n",
    code: "BARE_LF",
    status: 400,
  },
  {
    name: "bare_lf_in_fields",
    raw: "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
    code: "BARE_LF",
    status: 400,
  },
  {
    name: "bare_lf_ends_head",
    raw: "GET / HTTP/1.1\r\nHost: a\r\n\n",
    code: "BARE_LF",
    status: 400,
  },
  {
    name: "bare_lf_leading_empty_line",
    raw: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    code: "BARE_LF",
    status: 400,
  },
  {
    name: "bare_lf_chunk_size",
    raw: CHUNKED + "5\nhello\r\n0\r\n\r\n",
    code: "BARE_LF",
    status: 400,
  },
  {
    name: "bare_lf_after_chunk_data",
    raw: CHUNKED + "5\r\nhello\n0\r\n\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "bare_cr",
    raw: "GET / HTTP/1.1\r\n" + H + "X: a\rb\r\n\r\n",
    code: "BARE_CR",
    status: 400,
  },
  {
    name: "bare_cr_as_line_end",
    raw: "GET / HTTP/1.1\r\n" + H + "X: a\rY: b\r\n\r\n",
    code: "BARE_CR",
    status: 400,
  },
  {
    name: "bare_cr_leading",
    raw: "\rGET / HTTP/1.1\r\n" + H + "\r\n",
    code: "BARE_CR",
    status: 400,
  },
  {
    name: "bare_cr_starts_field_line",
    raw: "GET / HTTP/1.1\r\n" + H + "\rX: b\r\n\r\n",
    code: "BARE_CR",
    status: 400,
  },
  {
    name: "bare_cr_in_chunk_extension",
    raw: CHUNKED + "5;a\rb\r\nhello\r\n0\r\n\r\n",
    code: "BARE_CR",
    status: 400,
  },
  {
    name: "nul_in_value",
    raw: "GET / HTTP/1.1\r\n" + H + "X: a\x00b\r\n\r\n",
    code: "BAD_HEADER_VALUE",
    status: 400,
  },
  {
    name: "ctl_in_value",
    raw: "GET / HTTP/1.1\r\n" + H + "X: a\x01b\r\n\r\n",
    code: "BAD_HEADER_VALUE",
    status: 400,
  },
  {
    name: "del_in_value",
    raw: "GET / HTTP/1.1\r\n" + H + "X: a\x7fb\r\n\r\n",
    code: "BAD_HEADER_VALUE",
    status: 400,
  },
  {
    name: "space_before_colon",
    raw: "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    code: "BAD_HEADER_NAME",
    status: 400,
  },
  {
    name: "tab_before_colon",
    raw: "GET / HTTP/1.1\r\n" + H + "Content-Length\t: 0\r\n\r\n",
    code: "BAD_HEADER_NAME",
    status: 400,
  },
  {
    name: "empty_field_name",
    raw: "GET / HTTP/1.1\r\n" + H + ": x\r\n\r\n",
    code: "BAD_HEADER_NAME",
    status: 400,
  },
  {
    name: "field_without_colon",
    raw: "GET / HTTP/1.1\r\n" + H + "X-No-Colon\r\n\r\n",
    code: "BAD_HEADER_NAME",
    status: 400,
  },
  {
    name: "non_token_in_field_name",
    raw: "GET / HTTP/1.1\r\n" + H + "X(y): 1\r\n\r\n",
    code: "BAD_HEADER_NAME",
    status: 400,
  },
  {
    name: "missing_host_11",
    raw: "GET / HTTP/1.1\r\nX: y\r\n\r\n",
    code: "MISSING_HOST",
    status: 400,
  },
  {
    name: "two_hosts",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
    code: "DUPLICATE_HOST",
    status: 400,
  },
  {
    name: "two_hosts_identical",
    raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
    code: "DUPLICATE_HOST",
    status: 400,
  },
  {
    name: "bad_host",
    raw: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    code: "BAD_HOST",
    status: 400,
  },
  // RFC 9112 §3.2: an invalid Host value is a 400 (RFC 3986 §3.2.2 syntax).
  ...[
    ["pct_not_hex", "a%zz"],
    ["lone_pct", "%"],
    ["ipv6_too_few_pieces", "[1:2]"],
    ["ipv6_two_gaps", "[1::2::3]"],
    ["ipv6_bad_ipv4", "[::1.2.3.256]"],
    ["bracket_inside_name", "a[b]"],
    ["unclosed_bracket", "[::1"],
    ["two_colons", "a:1:2"],
    ["port_not_digits", "a:8x"],
  ].map(([name, host]) => ({
    name: `bad_host_${name}`,
    raw: `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    code: "BAD_HOST",
    status: 400,
  })),
  // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ),
  // name a token, value a token or a complete quoted-string.
  ...[
    ["chunk_size_trailing_space", "5 "],
    ["chunk_ext_empty_name", "5;"],
    ["chunk_ext_unterminated_quote", '5;a="b'],
    ["chunk_ext_obs_text_name", "5;\xff"],
    ["chunk_ext_trailing_space", "5;a "],
  ].map(([name, line]) => ({
    name: name!,
    raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `${line}\r\nhello\r\n0\r\n\r\n`,
    code: "BAD_CHUNK",
    status: 400,
  })),
  // RFC 9110 §9.3.6: a CONNECT request has no content; framing one would
  // end the message where another parser starts the tunnel.
  {
    name: "connect_with_content_length",
    raw:
      "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nhello",
    code: "CONNECT_WITH_CONTENT",
    status: 400,
  },
  {
    name: "connect_with_chunked",
    raw:
      "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    code: "CONNECT_WITH_CONTENT",
    status: 400,
  },
  {
    name: "bad_host_userinfo_path",
    raw: "GET / HTTP/1.1\r\nHost: user@evil.com/x\r\n\r\n",
    code: "BAD_HOST",
    status: 400,
  },
  {
    name: "cl_not_digits",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: 12a\r\n\r\n",
    code: "BAD_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "cl_hex",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: 0x10\r\n\r\n",
    code: "BAD_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "cl_plus_sign",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\n",
    code: "BAD_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "cl_with_nbsp",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: \xa05\r\n\r\nhello",
    code: "BAD_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "cl_empty",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length:\r\n\r\n",
    code: "BAD_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "cl_negative",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n",
    code: "BAD_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "cl_overflow",
    raw: "POST / HTTP/1.1\r\n" + H +
      "Content-Length: 18446744073709551617\r\n\r\n",
    code: "BAD_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "cl_above_safe_integer",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: 9007199254740993\r\n\r\n",
    code: "BAD_CONTENT_LENGTH",
    status: 400,
  },
  {
    name: "chunk_size_overflow",
    raw: CHUNKED + "10000000000000000\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "chunk_size_not_hex",
    raw: CHUNKED + "xyz\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "chunk_size_0x_prefix",
    raw: CHUNKED + "0x5\r\nhello\r\n0\r\n\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "chunk_size_negative",
    raw: CHUNKED + "-1\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "chunk_size_empty",
    raw: CHUNKED + "\r\nhello\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "chunk_ext_too_long",
    raw: CHUNKED + "5;" + "x".repeat(40) + "\r\nhello\r\n0\r\n\r\n",
    code: "CHUNK_LINE_TOO_LONG",
    status: 400,
    limits: { maxChunkLineBytes: 16 },
  },
  {
    name: "chunk_ext_too_long_default_limit",
    raw: CHUNKED + "5;" + "x".repeat(1100) + "\r\n",
    code: "CHUNK_LINE_TOO_LONG",
    status: 400,
  },
  {
    name: "chunk_ext_ctl",
    raw: CHUNKED + "5;a=\x01\r\nhello\r\n0\r\n\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "chunk_missing_crlf",
    raw: CHUNKED + "5\r\nhelloX\r\n0\r\n\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "chunk_longer_than_size",
    raw: CHUNKED + "3\r\nhello\r\n0\r\n\r\n",
    code: "BAD_CHUNK",
    status: 400,
  },
  {
    name: "trailers_too_large",
    raw: CHUNKED + "0\r\nX-Trailer: " + "t".repeat(64) + "\r\n\r\n",
    code: "TRAILERS_TOO_LARGE",
    status: 431,
    limits: { maxTrailerBytes: 32 },
  },
  {
    name: "trailer_obs_fold",
    raw: CHUNKED + "0\r\nX: a\r\n b\r\n\r\n",
    code: "OBSOLETE_LINE_FOLDING",
    status: 400,
  },
  {
    name: "head_too_large",
    raw: "GET / HTTP/1.1\r\n" + H + "X-Big: " + "b".repeat(100) + "\r\n\r\n",
    code: "HEAD_TOO_LARGE",
    status: 431,
    limits: { maxHeadBytes: 64 },
  },
  {
    name: "too_many_headers",
    raw: "GET / HTTP/1.1\r\n" + H + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n",
    code: "TOO_MANY_HEADERS",
    status: 431,
    limits: { maxHeaderCount: 3 },
  },
  {
    name: "uri_too_long",
    raw: "GET /" + "u".repeat(40) + " HTTP/1.1\r\n" + H + "\r\n",
    code: "START_LINE_TOO_LONG",
    status: 414,
    limits: { maxStartLineBytes: 32 },
  },
  {
    name: "http2_version",
    raw: "GET / HTTP/2.0\r\n" + H + "\r\n",
    code: "UNSUPPORTED_VERSION",
    status: 505,
  },
  {
    name: "http2_preface",
    raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    code: "UNSUPPORTED_VERSION",
    status: 505,
  },
  {
    name: "http09",
    raw: "GET /index.html\r\n\r\n",
    code: "BAD_REQUEST_LINE",
    status: 400,
  },
  {
    name: "lowercase_version",
    raw: "GET / http/1.1\r\n" + H + "\r\n",
    code: "BAD_VERSION",
    status: 400,
  },
  {
    name: "version_two_digit_minor",
    raw: "GET / HTTP/1.10\r\n" + H + "\r\n",
    code: "BAD_VERSION",
    status: 400,
  },
  {
    name: "version_trailing_space",
    raw: "GET / HTTP/1.1 \r\n" + H + "\r\n",
    code: "BAD_VERSION",
    status: 400,
  },
  {
    name: "asterisk_for_get",
    raw: "GET * HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_TARGET",
    status: 400,
  },
  {
    name: "authority_form_for_get",
    raw: "GET example.com:80 HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_TARGET",
    status: 400,
  },
  {
    name: "origin_form_for_connect",
    raw: "CONNECT / HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_TARGET",
    status: 400,
  },
  {
    name: "connect_without_port",
    raw: "CONNECT example.com HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_TARGET",
    status: 400,
  },
  {
    name: "relative_target",
    raw: "GET index.html HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_TARGET",
    status: 400,
  },
  {
    name: "double_space_in_request_line",
    raw: "GET  / HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_TARGET",
    status: 400,
  },
  {
    name: "non_ascii_in_target",
    raw: "GET /caf\xe9 HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_TARGET",
    status: 400,
  },
  {
    name: "nul_in_target",
    raw: "GET /a\x00b HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_TARGET",
    status: 400,
  },
  {
    name: "bad_method_character",
    raw: "G@T / HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_METHOD",
    status: 400,
  },
  {
    name: "empty_method",
    raw: " / HTTP/1.1\r\n" + H + "\r\n",
    code: "BAD_REQUEST_LINE",
    status: 400,
  },
  {
    name: "eof_in_head",
    raw: "GET / HTTP/1.1\r\nHo",
    code: "UNEXPECTED_EOF",
    status: 400,
    eof: true,
  },
  {
    name: "eof_in_body",
    raw: "POST / HTTP/1.1\r\n" + H + "Content-Length: 10\r\n\r\nabc",
    code: "UNEXPECTED_EOF",
    status: 400,
    eof: true,
  },
  {
    name: "eof_in_chunked_body",
    raw: CHUNKED + "5\r\nhel",
    code: "UNEXPECTED_EOF",
    status: 400,
    eof: true,
  },
  {
    name: "eof_in_trailers",
    raw: CHUNKED + "0\r\nX: 1\r\n",
    code: "UNEXPECTED_EOF",
    status: 400,
    eof: true,
  },
];

for (const vector of HOSTILE_REQUESTS) {
  Deno.test(`RequestParser rejects ${vector.name} at every split point`, () => {
    for (const chunks of splits(bytes(vector.raw))) {
      const parser = new RequestParser(
        vector.limits ? { limits: vector.limits } : {},
      );
      const { events, error } = run(parser, chunks, {
        eof: vector.eof ?? false,
      });
      const where = describe(chunks);
      assertProtocolError(error, vector.code, vector.status, where);
      // Nothing after a head may have been handed out for head-level errors.
      if (events.length > 0) assert.equal(events[0]!.kind, "head", where);
    }
  });
}

Deno.test("RequestParser vector tables have unique names", () => {
  const names = [...VALID_REQUESTS, ...HOSTILE_REQUESTS].map((v) => v.name);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("RequestParser pauses after connect and hands back the tunnel bytes", () => {
  const raw =
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
  const tunnel = "\x16\x03\x01\x00\xa5GET / HTTP/1.1\r\n\r\n";
  for (const chunks of splits(bytes(raw + tunnel))) {
    const parser = new RequestParser();
    const { events, error } = run(parser, chunks);
    assert.equal(error, undefined);
    assert.equal(events.length, 3);
    assert.equal(events[0]!.method, "CONNECT");
    assert.equal(events[0]!.target, "example.com:443");
    assert.equal(events[0]!.upgrade, "connect");
    assert.deepEqual(events.slice(1), [
      { kind: "end", trailers: null },
      { kind: "paused" },
    ]);
    assert.equal(parser.next().kind, "paused");
    assert.equal(parser.bufferedBytes, tunnel.length, describe(chunks));
    assert.deepEqual(parser.takeBuffered(), bytes(tunnel));
    assert.equal(parser.bufferedBytes, 0);
  }
});

Deno.test("RequestParser pauses after upgrade_websocket and resume() continues", () => {
  const raw = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\n" +
    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
  for (const chunks of splits(bytes(raw + NEXT + PARTIAL))) {
    const parser = new RequestParser();
    const { events, error } = run(parser, chunks);
    assert.equal(error, undefined);
    assert.equal(events[0]!.upgrade, "websocket");
    assert.deepEqual(events.slice(1), [
      { kind: "end", trailers: null },
      { kind: "paused" },
    ]);
    assert.equal(parser.bufferedBytes, NEXT.length + PARTIAL.length);
    // The server declined the upgrade: keep parsing HTTP.
    parser.resume();
    const after = run(parser, []);
    assert.equal(after.error, undefined);
    const rest: Plain[] = [];
    for (let event = parser.next(); event.kind !== "need-data";) {
      rest.push({ kind: event.kind });
      event = parser.next();
    }
    assert.deepEqual(rest, [{ kind: "head" }, { kind: "end" }]);
    assert.equal(parser.bufferedBytes, PARTIAL.length);
  }
});

Deno.test("RequestParser parses three pipelined requests in one buffer", () => {
  const raw = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
    "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody" +
    "PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "2\r\nhi\r\n0\r\n\r\n";
  for (const chunks of splits(bytes(raw))) {
    const parser = new RequestParser();
    const { events, error } = run(parser, chunks);
    assert.equal(error, undefined);
    assert.deepEqual(
      events.map((e) => e.kind === "head" ? e.target : e.text ?? e.kind),
      ["/1", "end", "/2", "body", "end", "/3", "hi", "end"],
      describe(chunks),
    );
    assert.equal(parser.bufferedBytes, 0);
  }
});

Deno.test("RequestParser reports closed on EOF between messages", () => {
  for (const chunks of splits(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n"))) {
    const parser = new RequestParser();
    const { events, error } = run(parser, chunks, { eof: true });
    assert.equal(error, undefined);
    assert.deepEqual(events.map((e) => e.kind), ["head", "end", "closed"]);
    assert.equal(parser.next().kind, "closed");
    assert.equal(parser.eofReceived, true);
  }
});

Deno.test("RequestParser refuses bytes after receiveEof", () => {
  const parser = new RequestParser();
  parser.receiveEof();
  assert.throws(() => parser.receive(bytes("x")), TypeError);
  assert.equal(parser.next().kind, "closed");
});

Deno.test("RequestParser body views survive the caller reusing its buffer", () => {
  const parser = new RequestParser();
  const buffer = bytes(
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc",
  );
  parser.receive(buffer);
  assert.equal(parser.next().kind, "head");
  const first = parser.next();
  assert.ok(first.kind === "data");
  assert.equal(new TextDecoder().decode(first.data), "abc");
  assert.equal(parser.next().kind, "need-data");
  buffer.fill(0x21); // the caller reuses its read buffer
  parser.receive(bytes("def"));
  const second = parser.next();
  assert.ok(second.kind === "data");
  assert.equal(new TextDecoder().decode(second.data), "def");
  assert.equal(parser.next().kind, "end");
});

Deno.test("RequestParser headers stay valid after the input buffer is reused", () => {
  const parser = new RequestParser();
  const buffer = bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Y: zz\r\n\r\n");
  parser.receive(buffer);
  const head = parser.next();
  assert.ok(head.kind === "head");
  buffer.fill(0x21);
  assert.equal(head.headers.get("x-y"), "zz");
  assert.equal(head.target, "/");
});

Deno.test("RequestParser accepts a head of exactly maxHeadBytes", () => {
  const start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  const limit = 128;
  const raw = start + "v".repeat(limit - start.length - 4) + "\r\n\r\n";
  assert.equal(raw.length, limit);
  for (const chunks of splits(bytes(raw))) {
    const ok = run(
      new RequestParser({ limits: { maxHeadBytes: limit } }),
      chunks,
    );
    assert.equal(ok.error, undefined, describe(chunks));
    const over = run(
      new RequestParser({ limits: { maxHeadBytes: limit - 1 } }),
      chunks,
    );
    assertProtocolError(over.error, "HEAD_TOO_LARGE", 431, describe(chunks));
  }
});

Deno.test("RequestParser accepts exactly maxHeaderCount fields and a start line at the limit", () => {
  const raw = "GET /" + "a".repeat(13) +
    " HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n";
  // "GET /aaaaaaaaaaaaa HTTP/1.1" is 27 bytes.
  const limits = { maxHeaderCount: 3, maxStartLineBytes: 27 };
  for (const chunks of splits(bytes(raw))) {
    assert.equal(run(new RequestParser({ limits }), chunks).error, undefined);
    const fewer = run(
      new RequestParser({ limits: { ...limits, maxHeaderCount: 2 } }),
      chunks,
    );
    assertProtocolError(fewer.error, "TOO_MANY_HEADERS", 431, describe(chunks));
    const shorter = run(
      new RequestParser({ limits: { ...limits, maxStartLineBytes: 26 } }),
      chunks,
    );
    assertProtocolError(
      shorter.error,
      "START_LINE_TOO_LONG",
      414,
      describe(chunks),
    );
  }
});

Deno.test("RequestParser skips any number of empty lines between messages", () => {
  const raw =
    "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  for (const chunks of splits(bytes(raw))) {
    const { events, error } = run(new RequestParser(), chunks);
    assert.equal(error, undefined);
    assert.deepEqual(
      events.map((e) => e.target ?? e.kind),
      ["/1", "end", "/2", "end"],
    );
  }
});

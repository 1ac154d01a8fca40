// Table tests for the pure helpers behind server/static.ts.
import assert from "node:assert/strict";
import { parseRange } from "../../server/_static_range.ts";
import {
  etagMatchesStrong,
  etagMatchesWeak,
  evaluatePreconditions,
  parseHttpDate,
} from "../../server/_static_conditional.ts";
import {
  escapeHtml,
  quoteUrl,
  sortLikePython,
  unquoteLenient,
} from "../../server/_static_listing.ts";
import { resolveUrlPath } from "../../server/_static_path.ts";
import { contentTypeFor } from "../../server/_mime.ts";

Deno.test("parseRange handles the RFC 9110 forms against a 100-byte file", () => {
  const cases: Array<[string, ReturnType<typeof parseRange>]> = [
    ["bytes=0-9", { kind: "ranges", ranges: [{ start: 0, end: 9 }] }],
    ["bytes=90-", { kind: "ranges", ranges: [{ start: 90, end: 99 }] }],
    ["bytes=-10", { kind: "ranges", ranges: [{ start: 90, end: 99 }] }],
    ["bytes=95-200", { kind: "ranges", ranges: [{ start: 95, end: 99 }] }],
    ["bytes=-500", { kind: "ranges", ranges: [{ start: 0, end: 99 }] }],
    ["bytes=0-0,-1", {
      kind: "ranges",
      ranges: [{ start: 0, end: 0 }, { start: 99, end: 99 }],
    }],
    ["bytes=100-,0-1", { kind: "ranges", ranges: [{ start: 0, end: 1 }] }],
    ["bytes= 1-2 , ,3-4", {
      kind: "ranges",
      ranges: [{ start: 1, end: 2 }, { start: 3, end: 4 }],
    }],
    ["bytes=100-", { kind: "unsatisfiable" }],
    ["bytes=-0", { kind: "unsatisfiable" }],
    ["bytes=5-4", { kind: "ignore" }],
    ["bytes=1-2,5-4", { kind: "ignore" }],
    ["bytes=x", { kind: "ignore" }],
    ["bytes=", { kind: "ignore" }],
    ["bytes=0-99,0-99", { kind: "ignore" }], // amplification
    ["lines=0-1", { kind: "ignore" }],
    ["0-1", { kind: "ignore" }],
    ["bytes=" + Array(65).fill("0-0").join(","), { kind: "ignore" }],
  ];
  for (const [header, expected] of cases) {
    assert.deepEqual(parseRange(header, 100), expected, header);
  }
  assert.deepEqual(parseRange("bytes=0-", 0), { kind: "unsatisfiable" });
});

Deno.test("parseHttpDate reads the three HTTP date formats and rejects others", () => {
  const t = Date.UTC(1994, 10, 6, 8, 49, 37);
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), t);
  assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), t);
  assert.equal(parseHttpDate("Sun Nov  6 08:49:37 1994"), t);
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37"), t); // naive = UTC
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 +0000"), t);
  for (
    const bad of [
      "",
      "yesterday",
      "Sun, 31 Feb 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 25:00:00 GMT",
      "Sun, 06 Nov 1994 08:49:37 +0200",
      "1994-11-06T08:49:37Z",
    ]
  ) {
    assert.equal(parseHttpDate(bad), null, bad);
  }
});

Deno.test("etag comparisons follow RFC 9110 weak and strong rules", () => {
  assert.ok(etagMatchesWeak('W/"a"', '"a"'));
  assert.ok(etagMatchesWeak('"x", "a,b"', '"a,b"'));
  assert.ok(!etagMatchesWeak('"b"', '"a"'));
  assert.ok(etagMatchesStrong('"a"', '"a"'));
  assert.ok(!etagMatchesStrong('W/"a"', '"a"'));
  assert.ok(!etagMatchesStrong('"a"', 'W/"a"'));
  assert.ok(!etagMatchesStrong('"a"', null));
});

Deno.test("evaluatePreconditions applies RFC 9110 §13.2.2 order", () => {
  const v = { etag: '"t"', lastModifiedMs: Date.UTC(2024, 0, 1) };
  const h = (headers: Record<string, string>) => (name: string) =>
    headers[name] ?? null;
  const late = "Tue, 02 Jan 2024 00:00:00 GMT";
  const early = "Sun, 31 Dec 2023 00:00:00 GMT";
  assert.equal(evaluatePreconditions(h({}), v), "proceed");
  assert.equal(evaluatePreconditions(h({ "if-match": '"u"' }), v), "failed");
  assert.equal(
    evaluatePreconditions(h({ "if-match": '"t"', "if-none-match": '"t"' }), v),
    "not-modified",
  );
  assert.equal(
    evaluatePreconditions(h({ "if-unmodified-since": early }), v),
    "failed",
  );
  assert.equal(
    evaluatePreconditions(h({ "if-modified-since": late }), v),
    "not-modified",
  );
  assert.equal(
    evaluatePreconditions(
      h({ "if-modified-since": late, "if-none-match": '"u"' }),
      v,
    ),
    "proceed",
  );
  assert.equal(
    evaluatePreconditions(h({ "if-modified-since": early }), v),
    "proceed",
  );
});

Deno.test("sortLikePython is stable and compares code points", () => {
  const names = (xs: string[]) =>
    sortLikePython(xs.map((name) => ({ name }))).map((e) => e.name);
  assert.deepEqual(names(["b", "A", "a", "B"]), ["A", "a", "b", "B"]);
  assert.deepEqual(names(["a", "A"]), ["a", "A"]);
  // Python: U+FFFD < U+1F600; UTF-16 order would put the emoji first.
  assert.deepEqual(names(["\u{1F600}", "\uFFFD"]), ["\uFFFD", "\u{1F600}"]);
  assert.deepEqual(names(["_", "Z", "a"]), ["_", "a", "Z"]);
});

Deno.test("quoteUrl, escapeHtml and unquoteLenient match Python's urllib and html", () => {
  // urllib.parse.quote("a b/<c>&d%~_.-!*'()é")
  assert.equal(
    quoteUrl("a b/<c>&d%~_.-!*'()é"),
    "a%20b/%3Cc%3E%26d%25~_.-%21%2A%27%28%29%C3%A9",
  );
  assert.equal(escapeHtml(`<a&b>"'`), `&lt;a&amp;b&gt;"'`);
  assert.equal(
    unquoteLenient("/a%20b/%zz%C3%A9%ff?q=%3C"),
    "/a b/%zzé\uFFFD?q=<",
  );
});

Deno.test("resolveUrlPath normalises like Python's translate_path", () => {
  const ok = (segments: string[], trailingSlash = false) => ({
    ok: true,
    segments,
    trailingSlash,
  });
  assert.deepEqual(resolveUrlPath("/"), ok([], true));
  assert.deepEqual(resolveUrlPath("/a//b/./c/"), ok(["a", "b", "c"], true));
  assert.deepEqual(resolveUrlPath("/a/../../b"), ok(["b"]));
  assert.deepEqual(resolveUrlPath("/%2e%2e/x"), ok(["x"]));
  assert.deepEqual(resolveUrlPath("/a%2fb"), ok(["a", "b"]));
  assert.deepEqual(resolveUrlPath("/%252e%252e"), ok(["%2e%2e"]));
  assert.deepEqual(resolveUrlPath("/caf%C3%A9"), ok(["café"]));
  for (const bad of ["/%", "/%g0", "/%ff", "/a%00b", "/a\\b", "/a%5cb"]) {
    assert.equal(resolveUrlPath(bad).ok, false, bad);
  }
});

Deno.test("contentTypeFor resolves extension conflicts sensibly", () => {
  assert.equal(contentTypeFor("/x/a.XML"), "application/xml");
  assert.equal(contentTypeFor("a.rtf"), "application/rtf");
  assert.equal(contentTypeFor("song.mp3"), "audio/mpeg");
  assert.equal(contentTypeFor("v.mp4"), "video/mp4");
  assert.equal(contentTypeFor("a.tar.gz"), "application/gzip");
  assert.equal(contentTypeFor("dir.d/noext"), "application/octet-stream");
  assert.equal(contentTypeFor("..."), "application/octet-stream");
  assert.equal(contentTypeFor("trailing."), "application/octet-stream");
});

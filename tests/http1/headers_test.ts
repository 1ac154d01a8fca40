import assert from "node:assert/strict";
import { FieldList, RequestParser, splitTokens } from "../../http1/mod.ts";
import { bytes } from "./_helpers.ts";

function parsed(fields: string): FieldList {
  const parser = new RequestParser();
  parser.receive(bytes(`GET / HTTP/1.1\r\nHost: h\r\n${fields}\r\n`));
  const head = parser.next();
  assert.ok(head.kind === "head");
  return head.headers;
}

for (
  const [name, make] of [
    ["parsed", () =>
      parsed(
        "Accept: a\r\nX-Multi: 1\r\nx-multi: 2\r\nSet-Cookie: a=1\r\nSET-COOKIE: b=2\r\nX-Latin: caf\xe9\r\nEmpty:\r\n",
      )],
    ["from", () =>
      FieldList.from([
        ["Host", "h"],
        ["Accept", "a"],
        ["X-Multi", "1"],
        ["x-multi", "2"],
        ["Set-Cookie", "a=1"],
        ["SET-COOKIE", "b=2"],
        ["X-Latin", "caf\xe9"],
        ["Empty", ""],
      ])],
  ] as const
) {
  Deno.test(`FieldList (${name}) looks fields up case-insensitively`, () => {
    const h = make();
    assert.equal(h.size, 8);
    assert.equal(h.get("ACCEPT"), "a");
    assert.equal(h.get("accept"), "a");
    assert.equal(h.get("x-multi"), "1, 2");
    assert.deepEqual(h.getAll("Set-Cookie"), ["a=1", "b=2"]);
    assert.deepEqual(h.getAll("missing"), []);
    assert.equal(h.get("missing"), null);
    assert.equal(h.get("Empty"), "");
    assert.ok(h.has("HOST") && h.has("empty") && !h.has("hos"));
    assert.equal(h.get("x-latin"), "caf\xe9");
    assert.equal(h.indexOf("x-multi"), 2);
    assert.equal(h.indexOf("x-multi", 3), 3);
    assert.equal(h.indexOf("x-multi", 4), -1);
    assert.equal(h.name(5), "SET-COOKIE");
    assert.equal(h.value(5), "b=2");
  });

  Deno.test(`FieldList (${name}) compares values without decoding them`, () => {
    const h = make();
    assert.equal(h.valueEquals(0, "h"), true);
    assert.equal(h.valueEquals(0, "H"), false);
    assert.equal(h.valueEquals(0, "hh"), false);
    assert.equal(h.valueEquals(6, "caf\xe9"), true);
    assert.equal(h.valueEquals(6, "café".normalize("NFD")), false);
    assert.equal(h.valueEquals(7, ""), true);
  });

  Deno.test(`FieldList (${name}) iterates in wire order with names as sent`, () => {
    const h = make();
    const all = [...h];
    assert.equal(all.length, 8);
    assert.deepEqual(all[3], ["x-multi", "2"]);
    assert.deepEqual(all[6], ["X-Latin", "caf\xe9"]);
  });

  Deno.test(`FieldList (${name}) converts to Web Headers`, () => {
    const headers = make().toHeaders();
    assert.equal(headers.get("x-multi"), "1, 2");
    assert.deepEqual(headers.getSetCookie(), ["a=1", "b=2"]);
    assert.equal(headers.get("x-latin"), "caf\xe9");
    assert.equal(headers.get("empty"), "");
  });
}

Deno.test("FieldList keeps Latin-1 bytes as one code unit each", () => {
  const h = parsed("X: \x80\xa0\xff\r\n");
  const value = h.get("x")!;
  assert.equal(value.length, 3);
  assert.deepEqual([...value].map((c) => c.charCodeAt(0)), [0x80, 0xa0, 0xff]);
});

Deno.test("FieldList decodes long values", () => {
  const long = "v".repeat(5000);
  assert.equal(parsed(`X: ${long}\r\n`).get("x"), long);
});

Deno.test("splitTokens trims only SP and HTAB and lower-cases", () => {
  assert.deepEqual(splitTokens(" Keep-Alive ,\tUpgrade,, close "), [
    "keep-alive",
    "upgrade",
    "close",
  ]);
  assert.deepEqual(splitTokens("chunked\xa0"), ["chunked\xa0"]);
  assert.deepEqual(splitTokens(""), []);
});

Deno.test("FieldList reads ASCII names and values of every length in any order", () => {
  const pairs: [string, string][] = [];
  for (let n = 0; n <= 20; n++) {
    pairs.push([`N${"n".repeat(n)}`, "0123456789abcdefghijk".slice(0, n)]);
  }
  const head = pairs.map(([name, value]) => `${name}: ${value}\r\n`).join("");
  const expected = [["Host", "h"], ...pairs];
  // Short reads first (before the section is decoded), then long ones, and
  // the reverse; each on a fresh list.
  const byLength = expected.map((_, i) => i).sort((a, b) =>
    expected[a]![1]!.length - expected[b]![1]!.length
  );
  for (const order of [byLength, [...byLength].reverse()]) {
    const h = parsed(head);
    for (const i of order) {
      assert.equal(h.value(i), expected[i]![1]);
      assert.equal(h.name(i), expected[i]![0]);
    }
    assert.deepEqual([...h], expected);
  }
  const h = parsed("Content-Length:  42 \r\nX: 12345678\r\nY: 123456789\r\n");
  assert.equal(h.get("content-length"), "42");
  assert.equal(h.get("x"), "12345678");
  assert.equal(h.get("y"), "123456789");
});

import assert from "node:assert/strict";
import {
  FieldList,
  parseContentLength,
  parseTransferEncoding,
  ProtocolError,
  requestFraming,
  responseFraming,
} from "../../http1/mod.ts";

const f = (...pairs: [string, string][]) => FieldList.from(pairs);

function throwsCode(fn: () => unknown, code: string, status = 400): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.code, code);
    assert.equal(e.statusHint, status);
    return true;
  });
}

Deno.test("parseContentLength reads digits and folds identical values", () => {
  assert.equal(parseContentLength(f()), null);
  assert.equal(parseContentLength(f(["Content-Length", "0"])), 0);
  assert.equal(parseContentLength(f(["content-length", "007"])), 7);
  assert.equal(parseContentLength(f(["Content-Length", "5,5 ,\t5"])), 5);
  assert.equal(
    parseContentLength(f(["Content-Length", "5"], ["CONTENT-LENGTH", "5"])),
    5,
  );
  assert.equal(
    parseContentLength(f(["Content-Length", "9007199254740991"])),
    Number.MAX_SAFE_INTEGER,
  );
});

Deno.test("parseContentLength rejects malformed and conflicting values", () => {
  for (
    const bad of [
      "",
      " ",
      "a",
      "1a",
      "-1",
      "+1",
      "1.0",
      "1e3",
      "0x1",
      "1 2",
      "5,",
      ",5",
      "\xa05",
      "5\xa0",
      "9007199254740992",
      "99999999999999999999",
    ]
  ) {
    throwsCode(
      () => parseContentLength(f(["Content-Length", bad])),
      "BAD_CONTENT_LENGTH",
    );
  }
  throwsCode(
    () =>
      parseContentLength(f(["Content-Length", "5"], ["Content-Length", "6"])),
    "CONFLICTING_CONTENT_LENGTH",
  );
  throwsCode(
    () => parseContentLength(f(["Content-Length", "5, 6"])),
    "CONFLICTING_CONTENT_LENGTH",
  );
});

Deno.test("parseTransferEncoding lists codings in order, lower-cased", () => {
  assert.equal(parseTransferEncoding(f()), null);
  assert.deepEqual(
    parseTransferEncoding(
      f(["Transfer-Encoding", "GZip"], ["transfer-encoding", " x , Chunked"]),
    ),
    ["gzip", "x", "chunked"],
  );
});

Deno.test("requestFraming decides the request body framing", () => {
  assert.deepEqual(requestFraming(f(), "HTTP/1.1"), { kind: "none" });
  assert.deepEqual(requestFraming(f(["Content-Length", "0"]), "HTTP/1.1"), {
    kind: "none",
  });
  assert.deepEqual(requestFraming(f(["Content-Length", "3"]), "HTTP/1.0"), {
    kind: "length",
    length: 3,
  });
  assert.deepEqual(
    requestFraming(f(["Transfer-Encoding", "chunked"]), "HTTP/1.1"),
    {
      kind: "chunked",
    },
  );
});

Deno.test("requestFraming rejects smuggling shapes", () => {
  const te = (v: string) => f(["Transfer-Encoding", v]);
  throwsCode(
    () =>
      requestFraming(
        f(["Transfer-Encoding", "chunked"], ["Content-Length", "1"]),
        "HTTP/1.1",
      ),
    "CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  );
  throwsCode(
    () => requestFraming(te("chunked"), "HTTP/1.0"),
    "BAD_TRANSFER_ENCODING",
  );
  throwsCode(
    () => requestFraming(te("chunked, gzip"), "HTTP/1.1"),
    "BAD_TRANSFER_ENCODING",
  );
  throwsCode(
    () => requestFraming(te("chunked, chunked"), "HTTP/1.1"),
    "BAD_TRANSFER_ENCODING",
  );
  throwsCode(
    () => requestFraming(te("gzip"), "HTTP/1.1"),
    "BAD_TRANSFER_ENCODING",
  );
  throwsCode(() => requestFraming(te(""), "HTTP/1.1"), "BAD_TRANSFER_ENCODING");
  throwsCode(
    () => requestFraming(te('"chunked"'), "HTTP/1.1"),
    "BAD_TRANSFER_ENCODING",
  );
  throwsCode(
    () => requestFraming(te("chunked\xa0"), "HTTP/1.1"),
    "BAD_TRANSFER_ENCODING",
  );
  throwsCode(
    () => requestFraming(te("gzip, chunked"), "HTTP/1.1"),
    "UNSUPPORTED_TRANSFER_ENCODING",
    501,
  );
});

Deno.test("responseFraming follows RFC 9112 §6.3 in order", () => {
  const cl = f(["Content-Length", "10"]);
  const chunked = f(["Transfer-Encoding", "chunked"]);
  assert.equal(responseFraming(cl, 200, "HEAD").kind, "none");
  assert.equal(responseFraming(chunked, 200, "HEAD").kind, "none");
  for (const status of [100, 101, 103, 204, 304]) {
    assert.equal(
      responseFraming(cl, status, "GET").kind,
      "none",
      String(status),
    );
  }
  assert.equal(responseFraming(cl, 200, "CONNECT").kind, "none");
  assert.deepEqual(responseFraming(cl, 407, "CONNECT"), {
    kind: "length",
    length: 10,
  });
  assert.equal(responseFraming(chunked, 200, "GET").kind, "chunked");
  assert.equal(
    responseFraming(f(["Transfer-Encoding", "gzip"]), 200, "GET").kind,
    "close",
  );
  assert.equal(responseFraming(f(), 200, "GET").kind, "close");
  assert.equal(
    responseFraming(f(["Content-Length", "0"]), 200, "GET").kind,
    "none",
  );
  assert.deepEqual(responseFraming(cl, 500, "POST"), {
    kind: "length",
    length: 10,
  });
  throwsCode(
    () =>
      responseFraming(
        f(["Transfer-Encoding", "chunked"], ["Content-Length", "1"]),
        200,
        "GET",
      ),
    "CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  );
  throwsCode(
    () =>
      responseFraming(f(["Transfer-Encoding", "chunked, gzip"]), 200, "GET"),
    "BAD_TRANSFER_ENCODING",
  );
});

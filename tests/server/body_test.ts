import assert from "node:assert/strict";
import {
  BadRequestError,
  bodyStream,
  bytes,
  formData,
  json,
  PayloadTooLargeError,
  text,
} from "../../server/body.ts";

const encoder = new TextEncoder();

/** A body streamed in chunks with no Content-Length; records how much was pulled. */
function streamed(
  chunks: string[],
  headers: HeadersInit = {},
): { req: Request; pulled: () => number; cancelled: () => boolean } {
  let i = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      const chunk = chunks[i++];
      if (chunk === undefined) c.close();
      else c.enqueue(encoder.encode(chunk));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const req = new Request("http://h/", { method: "POST", body, headers });
  return { req, pulled: () => i, cancelled: () => cancelled };
}

function expectCode(code: string, status: number) {
  return (err: unknown) => {
    assert.ok(
      err instanceof PayloadTooLargeError || err instanceof BadRequestError,
      String(err),
    );
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  };
}

Deno.test("bytes reads a body at or under the limit", async () => {
  const { req } = streamed(["ab", "cd"]);
  assert.deepEqual(await bytes(req, { maxBytes: 4 }), encoder.encode("abcd"));
  assert.deepEqual(await bytes(new Request("http://h/")), new Uint8Array(0));
});

Deno.test("bytes stops reading a streamed body one chunk past the limit", async () => {
  const s = streamed(["ab", "cd", "ef", "gh", "ij"]);
  await assert.rejects(
    bytes(s.req, { maxBytes: 5 }),
    expectCode("payload_too_large", 413),
  );
  assert.equal(s.pulled(), 3);
  assert.equal(s.cancelled(), true);
});

Deno.test("bytes rejects a declared Content-Length over the limit without reading", async () => {
  const s = streamed(["x"], { "content-length": "1000" });
  await assert.rejects(bytes(s.req, { maxBytes: 10 }), PayloadTooLargeError);
  assert.equal(s.pulled(), 0);
});

Deno.test("bytes rejects a bad limit", async () => {
  await assert.rejects(
    bytes(new Request("http://h/"), { maxBytes: -1 }),
    RangeError,
  );
  await assert.rejects(
    bytes(new Request("http://h/"), { maxBytes: Infinity }),
    RangeError,
  );
});

Deno.test("text decodes UTF-8 across chunk boundaries and rejects bad UTF-8 with 400", async () => {
  const bytesOfE = encoder.encode("é");
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytesOfE.slice(0, 1));
      c.enqueue(bytesOfE.slice(1));
      c.close();
    },
  });
  assert.equal(
    await text(new Request("http://h/", { method: "POST", body })),
    "é",
  );
  const bad = new Request("http://h/", {
    method: "POST",
    body: new Uint8Array([0xff, 0xfe]),
  });
  await assert.rejects(text(bad), expectCode("bad_utf8", 400));
});

Deno.test("json parses, and maps empty or malformed bodies to 400", async () => {
  const ok = new Request("http://h/", {
    method: "POST",
    body: '{"title":"x"}',
  });
  assert.deepEqual(await json(ok), { title: "x" });
  await assert.rejects(
    json(new Request("http://h/", { method: "POST", body: "" })),
    /body is empty/,
  );
  await assert.rejects(
    json(new Request("http://h/", { method: "POST", body: "{" })),
    (err: unknown) =>
      err instanceof BadRequestError &&
      /^Cannot parse JSON body: /.test(err.message),
  );
  const big = new Request("http://h/", {
    method: "POST",
    body: JSON.stringify({ a: "x".repeat(100) }),
  });
  await assert.rejects(
    json(big, { maxBytes: 50 }),
    expectCode("payload_too_large", 413),
  );
});

Deno.test("bodyStream passes bytes through and errors past the limit", async () => {
  const small = streamed(["abc", "de"]);
  assert.equal(
    await new Response(bodyStream(small.req, { maxBytes: 5 })).text(),
    "abcde",
  );
  const big = streamed(["abc", "def", "ghi"]);
  await assert.rejects(
    new Response(bodyStream(big.req, { maxBytes: 5 })).text(),
    PayloadTooLargeError,
  );
  assert.equal(big.cancelled(), true);
  assert.equal(
    await new Response(bodyStream(new Request("http://h/"))).text(),
    "",
  );
});

Deno.test("formData reads urlencoded bodies with a field limit", async () => {
  const mk = (body: string) =>
    new Request("http://h/", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      },
      body,
    });
  const form = await formData(mk("a=1&a=2&b=%C3%A9"));
  assert.deepEqual(form.getAll("a"), ["1", "2"]);
  assert.equal(form.get("b"), "é");
  await assert.rejects(
    formData(mk("a=1&b=2&c=3"), { maxParts: 2 }),
    expectCode("too_many_fields", 413),
  );
  await assert.rejects(
    formData(mk("a=12345"), { maxBytes: 4 }),
    expectCode("payload_too_large", 413),
  );
});

Deno.test("formData round-trips a FormData body built by the runtime", async () => {
  const sent = new FormData();
  sent.append("title", "héllo");
  sent.append(
    "doc",
    new File(["file body\r\n--not a boundary"], "n\u00e9.txt", {
      type: "text/plain",
    }),
  );
  sent.append("title", "second");
  const req = new Request("http://h/", { method: "POST", body: sent });
  const got = await formData(req);
  assert.deepEqual(got.getAll("title"), ["héllo", "second"]);
  const file = got.get("doc");
  assert.ok(file instanceof File);
  assert.equal(file.name, "n\u00e9.txt");
  assert.equal(file.type, "text/plain");
  assert.equal(await file.text(), "file body\r\n--not a boundary");
});

Deno.test("formData enforces multipart limits and reports 400 for bad bodies", async () => {
  const sent = new FormData();
  sent.append("f", new File(["x".repeat(100)], "a.bin"));
  const mk = () => new Request("http://h/", { method: "POST", body: sent });
  await assert.rejects(
    formData(mk(), { maxFileBytes: 50 }),
    expectCode("file_too_large", 413),
  );
  await assert.rejects(
    formData(mk(), { maxBytes: 50 }),
    expectCode("payload_too_large", 413),
  );
  await assert.rejects(
    formData(mk(), { maxParts: 0 }),
    expectCode("too_many_parts", 413),
  );
  const noBoundary = new Request("http://h/", {
    method: "POST",
    headers: { "content-type": "multipart/form-data" },
    body: "x",
  });
  await assert.rejects(formData(noBoundary), expectCode("bad_multipart", 400));
  const truncated = new Request("http://h/", {
    method: "POST",
    headers: { "content-type": "multipart/form-data; boundary=B" },
    body: '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nv',
  });
  await assert.rejects(formData(truncated), expectCode("bad_multipart", 400));
  const wrongType = new Request("http://h/", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "x",
  });
  await assert.rejects(
    formData(wrongType),
    expectCode("bad_content_type", 400),
  );
});

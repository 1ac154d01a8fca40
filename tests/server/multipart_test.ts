import assert from "node:assert/strict";
import { MultipartParser, parseBoundary } from "../../server/multipart.ts";
import { BadRequestError, PayloadTooLargeError } from "../../server/body.ts";

const encoder = new TextEncoder();

// Same contract as tests/_util.ts splits(): whole, every two-way split, one
// byte at a time (kept local so this file type-checks on its own).
function* splits(data: Uint8Array): Generator<Uint8Array[]> {
  yield [data.slice()];
  for (let i = 1; i < data.length; i++) yield [data.slice(0, i), data.slice(i)];
  if (data.length > 1) yield Array.from(data, (b) => new Uint8Array([b]));
}
const decoder = new TextDecoder();

interface SimplePart {
  name: string;
  filename?: string;
  type?: string;
  data: string;
}

function parseAll(
  boundary: string,
  chunks: Uint8Array[],
  limits: ConstructorParameters<typeof MultipartParser>[1] = {},
): SimplePart[] {
  const parser = new MultipartParser(boundary, limits);
  const parts: SimplePart[] = [];
  let current: SimplePart | undefined;
  let data: Uint8Array[] = [];
  const take = (events: ReturnType<MultipartParser["push"]>) => {
    for (const e of events) {
      if (e.kind === "head") {
        current = { name: e.part.name, data: "" };
        if (e.part.filename !== undefined) current.filename = e.part.filename;
        if (e.part.contentType !== undefined) current.type = e.part.contentType;
        data = [];
      } else if (e.kind === "data") {
        data.push(e.data.slice());
      } else {
        assert.equal(e.part.name, current!.name);
        current!.data = decoder.decode(concat(data));
        parts.push(current!);
      }
    }
  };
  for (const chunk of chunks) take(parser.push(chunk));
  take(parser.finish());
  return parts;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const VALID: {
  name: string;
  boundary: string;
  raw: string;
  parts: SimplePart[];
}[] = [
  {
    name: "simple_field",
    boundary: "XYZ",
    raw:
      '--XYZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nhello\r\n--XYZ--\r\n',
    parts: [{ name: "a", data: "hello" }],
  },
  {
    name: "file_and_field",
    boundary: "----b0undary",
    raw: "------b0undary\r\n" +
      'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n' +
      "Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n" +
      '------b0undary\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n' +
      "------b0undary--",
    parts: [
      {
        name: "file",
        filename: "a.txt",
        type: "text/plain",
        data: "line1\r\nline2",
      },
      { name: "f", data: "v" },
    ],
  },
  {
    name: "preamble_and_epilogue",
    boundary: "B",
    raw:
      "ignored preamble\r\n--B\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--B--\r\nepilogue --B\r\n",
    parts: [{ name: "x", data: "1" }],
  },
  {
    name: "empty_value",
    boundary: "B",
    raw: '--B\r\nContent-Disposition: form-data; name="e"\r\n\r\n\r\n--B--',
    parts: [{ name: "e", data: "" }],
  },
  {
    // Not at the body's start: there "--XYZ" follows the head's CRLF and
    // is a delimiter (an empty part), as Deno and Python read it.
    name: "boundary_lookalikes_in_data",
    boundary: "XYZ",
    raw:
      '--XYZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nz--XYZ \r\n--XY\r\n-\r\n--XYZ--',
    parts: [{ name: "a", data: "z--XYZ \r\n--XY\r\n-" }],
  },
  {
    name: "empty_part_then_another",
    boundary: "B",
    raw: '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n--B\r\n' +
      'Content-Disposition: form-data; name="b"\r\n\r\nx\r\n--B--',
    parts: [{ name: "a", data: "" }, { name: "b", data: "x" }],
  },
  {
    name: "transport_padding",
    boundary: "B",
    raw: '--B \t\r\nContent-Disposition: form-data; name="p"\r\n\r\nv\r\n--B--',
    parts: [{ name: "p", data: "v" }],
  },
  {
    name: "filename_star_and_escapes",
    boundary: "B",
    raw:
      '--B\r\nContent-Disposition: form-data; name="a\\"b;c"; filename="x.txt"; filename*=UTF-8\'\'%C3%A9t%C3%A9.txt\r\n\r\nz\r\n--B--',
    parts: [{ name: 'a"b;c', filename: "été.txt", data: "z" }],
  },
  {
    name: "utf8_filename_raw",
    boundary: "B",
    raw:
      '--B\r\nContent-Disposition: form-data; name="f"; filename="日本.txt"\r\n\r\n\u00ff\r\n--B--',
    parts: [{ name: "f", filename: "日本.txt", data: "\u00ff" }],
  },
];

for (const v of VALID) {
  Deno.test(`MultipartParser parses ${v.name} at every split point`, () => {
    for (const chunks of splits(encoder.encode(v.raw))) {
      assert.deepEqual(parseAll(v.boundary, chunks), v.parts);
    }
  });
}

const INVALID: {
  name: string;
  raw: string;
  error: typeof BadRequestError | typeof PayloadTooLargeError;
  code: string;
  limits?: ConstructorParameters<typeof MultipartParser>[1];
}[] = [
  {
    name: "missing_close",
    raw: '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nv',
    error: BadRequestError,
    code: "bad_multipart",
  },
  {
    name: "no_boundary_at_all",
    raw: "just text",
    error: BadRequestError,
    code: "bad_multipart",
  },
  {
    name: "no_disposition",
    raw: "--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--",
    error: BadRequestError,
    code: "bad_multipart",
  },
  {
    name: "not_form_data",
    raw: '--B\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n--B--',
    error: BadRequestError,
    code: "bad_multipart",
  },
  {
    name: "no_name",
    raw: "--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--",
    error: BadRequestError,
    code: "bad_multipart",
  },
  {
    name: "junk_after_boundary",
    raw:
      '--Bjunk\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--B--',
    error: BadRequestError,
    code: "bad_multipart",
  },
  {
    name: "header_without_colon",
    raw:
      '--B\r\nContent-Disposition: form-data; name="a"\r\nbroken\r\n\r\nv\r\n--B--',
    error: BadRequestError,
    code: "bad_multipart",
  },
  {
    name: "too_many_parts",
    raw:
      '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; name="b"\r\n\r\n2\r\n--B--',
    error: PayloadTooLargeError,
    code: "too_many_parts",
    limits: { maxParts: 1 },
  },
  {
    name: "file_too_large",
    raw:
      '--B\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n12345\r\n--B--',
    error: PayloadTooLargeError,
    code: "file_too_large",
    limits: { maxFileBytes: 4 },
  },
  {
    name: "field_too_large",
    raw:
      '--B\r\nContent-Disposition: form-data; name="f"\r\n\r\n12345\r\n--B--',
    error: PayloadTooLargeError,
    code: "field_too_large",
    limits: { maxFieldBytes: 4, maxFileBytes: 100 },
  },
  {
    name: "head_too_large",
    raw: `--B\r\nContent-Disposition: form-data; name="${
      "n".repeat(100)
    }"\r\n\r\nv\r\n--B--`,
    error: PayloadTooLargeError,
    code: "part_head_too_large",
    limits: { maxPartHeadBytes: 64 },
  },
];

for (const v of INVALID) {
  Deno.test(`MultipartParser rejects ${v.name} at every split point`, () => {
    for (const chunks of splits(encoder.encode(v.raw))) {
      assert.throws(() => parseAll("B", chunks, v.limits), (err: unknown) => {
        assert.ok(err instanceof v.error, String(err));
        assert.equal((err as BadRequestError).code, v.code);
        return true;
      });
    }
  });
}

Deno.test("MultipartParser file at exactly the limit passes", () => {
  const raw =
    '--B\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n1234\r\n--B--';
  for (const chunks of splits(encoder.encode(raw))) {
    assert.equal(parseAll("B", chunks, { maxFileBytes: 4 })[0]!.data, "1234");
  }
});

Deno.test("MultipartParser keeps its buffer bounded while streaming a large part", () => {
  const parser = new MultipartParser("B");
  parser.push(
    encoder.encode(
      '--B\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n',
    ),
  );
  const chunk = new Uint8Array(64 * 1024).fill(97);
  let emitted = 0;
  for (let i = 0; i < 32; i++) {
    for (const e of parser.push(chunk)) {
      if (e.kind === "data") emitted += e.data.length;
    }
  }
  // Everything but a delimiter-length tail has been handed out already.
  assert.ok(
    32 * chunk.length - emitted < 8,
    `held back ${32 * chunk.length - emitted}`,
  );
});

Deno.test("parseBoundary reads quoted and token boundaries and rejects bad ones", () => {
  assert.equal(parseBoundary("multipart/form-data; boundary=abc"), "abc");
  assert.equal(
    parseBoundary('multipart/form-data; charset=utf-8; boundary="a:b"'),
    "a:b",
  );
  assert.equal(parseBoundary("multipart/form-data; boundary="), null);
  assert.equal(
    parseBoundary(`multipart/form-data; boundary=${"a".repeat(71)}`),
    null,
  );
  assert.equal(
    parseBoundary('multipart/form-data; boundary="ends with space "'),
    null,
  );
});

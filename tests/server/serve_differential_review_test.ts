// Review: a randomized differential test of h1's serve() against the real
// Deno.serve. The same handler runs under both; the same raw request bytes go
// to both over Deno.connect; what the handler saw of the request and what the
// client got back must agree, up to the differences the README lists (masked
// below, each with a comment) and the Date value, header-name case and order.
//
// Budget: DIFF_RUNS (default 40 cases; raise it, e.g. DIFF_RUNS=2000) and
// DIFF_SEED (default fixed) choose the cases. A mismatch prints the seed, the
// case index and the raw request.

import assert from "node:assert/strict";
import { serve } from "../../server/serve.ts";
import { delay, RawClient, type RawResponse } from "./_raw.ts";

// ---- a seeded generator ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bool(p = 0.5): boolean {
    return this.#next() < p;
  }
}

function envInt(name: string, fallback: number): number {
  try {
    const value = Deno.env.get(name);
    return value ? Number(value) : fallback;
  } catch {
    return fallback;
  }
}

// ---- the handler: behaviour by the X-B request header ----

const encoder = new TextEncoder();

const BEHAVIOURS = [
  "string",
  "bytes",
  "blob",
  "stream",
  "form",
  "params",
  "null",
  "json",
  "redirect",
  "statusText",
  "s204",
  "s205",
  "s304",
  "s1xx",
  "cookies",
  "oddHeaders",
  "throw",
  "async",
  "streamError",
  "emptyStream",
  "streamLength",
  "wrongLength",
  "teHeader",
  "connClose",
  "bigStream",
  "emptyBlob",
  "responseError",
  "bodyUsed",
  "notResponse",
  "lockedStream",
] as const;
type Behaviour = typeof BEHAVIOURS[number];

const READS = ["none", "text", "arrayBuffer", "formData", "json"] as const;
type Read = typeof READS[number];

function respond(behaviour: Behaviour): Response | Promise<Response> {
  switch (behaviour) {
    case "string":
      return new Response("hello é\n");
    case "bytes":
      return new Response(new Uint8Array([0, 1, 2, 255, 10, 13]));
    case "blob":
      return new Response(new Blob(["abc"], { type: "text/x-blob" }));
    case "stream":
      return new Response(
        ReadableStream.from([encoder.encode("ab"), encoder.encode("cd")]),
      );
    case "form": {
      const form = new FormData();
      form.append("a", "1");
      form.append("f", new File(["xyz"], "f.txt", { type: "text/plain" }));
      return new Response(form);
    }
    case "params":
      return new Response(new URLSearchParams({ a: "1 2", b: "é&" }));
    case "null":
      return new Response(null);
    case "json":
      return Response.json({ a: [1, "é"], b: null });
    case "redirect":
      return Response.redirect("http://example.com/x?y=1", 307);
    case "statusText":
      return new Response("t", { status: 201, statusText: "Made It" });
    case "s204":
      return new Response(null, { status: 204, headers: { "x-r": "1" } });
    case "s205":
      return new Response(null, { status: 205 });
    case "s304":
      return new Response(null, { status: 304, headers: { etag: '"v1"' } });
    case "s1xx":
      // The Response constructor refuses 1xx: the handler throws RangeError.
      return new Response(null, { status: 103 });
    case "cookies": {
      const headers = new Headers();
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2; HttpOnly");
      headers.append("set-cookie", "c=3, d=4");
      return new Response("c", { headers });
    }
    case "oddHeaders":
      return new Response("o", {
        headers: [
          ["x-tab", "a\tb"],
          ["x-empty", ""],
          ["x-quoted", '"q, r"; s=\\"t\\"'],
          ["x-latin1", "caf\u00e9"],
          ["x-punct", "!#$%&'*+-.^_`|~:/?@[]{}()<>=,;"],
          ["x-rep", "1"],
          ["x-rep", "2"],
        ],
      });
    case "throw":
      throw new Error("expected in this test");
    case "async":
      return delay(5).then(() => new Response("late"));
    case "emptyStream":
      return new Response(new ReadableStream({ start: (c) => c.close() }));
    case "streamLength":
      return new Response(ReadableStream.from([encoder.encode("abcd")]), {
        headers: { "content-length": "4" },
      });
    case "wrongLength":
      return new Response("abc", { headers: { "content-length": "7" } });
    case "teHeader":
      return new Response("abc", {
        headers: { "transfer-encoding": "chunked" },
      });
    case "connClose":
      return new Response("abc", { headers: { connection: "close" } });
    case "bigStream":
      return new Response(
        ReadableStream.from(
          (async function* () {
            for (let i = 0; i < 20; i++) {
              yield encoder.encode(String(i).repeat(5000));
              await delay(0);
            }
          })(),
        ),
      );
    case "emptyBlob":
      return new Response(new Blob([]));
    case "responseError":
      return Response.error();
    case "bodyUsed": {
      const response = new Response("used");
      return response.text().then(() => response);
    }
    case "notResponse":
      return "not a Response" as unknown as Response;
    case "lockedStream": {
      const body = ReadableStream.from([encoder.encode("x")]);
      body.getReader();
      return new Response(body);
    }
    case "streamError": {
      let n = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (n++ === 0) {
              controller.enqueue(encoder.encode("first"));
              return;
            }
            await delay(5);
            controller.error(new Error("expected in this test"));
          },
        }),
      );
    }
  }
}

interface Observation {
  method: string;
  url: string;
  headers: [string, string][];
  body: unknown;
  aborted: boolean;
}

async function readBody(req: Request, read: Read): Promise<unknown> {
  try {
    switch (read) {
      case "none":
        return null;
      case "text":
        return await req.text();
      case "arrayBuffer":
        return [...new Uint8Array(await req.arrayBuffer())];
      case "json":
        return await req.json();
      case "formData": {
        const out: unknown[] = [];
        for (const [name, value] of await req.formData()) {
          out.push(
            typeof value === "string"
              ? [name, value]
              : [name, value.name, value.type, await value.text()],
          );
        }
        return out;
      }
    }
  } catch (error) {
    return `threw ${(error as Error).name}`;
  }
}

function makeHandler(log: Observation[]) {
  return async (req: Request): Promise<Response> => {
    const behaviour = (req.headers.get("x-b") ?? "string") as Behaviour;
    const read = (req.headers.get("x-read") ?? "none") as Read;
    const body = await readBody(req, read);
    log.push({
      method: req.method,
      // Masked (README): h1 serializes req.url, Deno.serve hands it on as
      // received; both are compared after new URL().href.
      url: new URL(req.url).href,
      headers: [...req.headers],
      body,
      aborted: req.signal.aborted,
    });
    return await respond(behaviour);
  };
}

interface Pair {
  deno: { port: number; log: Observation[] };
  h1: { port: number; log: Observation[] };
  close(): Promise<void>;
}

function startBoth(): Pair {
  const init = {
    port: 0,
    hostname: "127.0.0.1",
    onListen() {},
    // Deno.serve logs a thrown error; so does h1. Both answer 500.
  };
  const denoLog: Observation[] = [];
  const h1Log: Observation[] = [];
  const deno = Deno.serve(init, makeHandler(denoLog));
  const h1 = serve(init, makeHandler(h1Log));
  return {
    deno: { port: deno.addr.port, log: denoLog },
    h1: { port: h1.addr.port, log: h1Log },
    async close() {
      await Promise.all([deno.shutdown(), h1.shutdown()]);
    },
  };
}

// ---- requests ----

interface Req {
  method: string;
  target: string;
  version: "HTTP/1.1" | "HTTP/1.0";
  headers: [string, string][];
  body: string | null;
  chunked: boolean;
  behaviour: Behaviour;
  read: Read;
}

const TARGETS = [
  "/",
  "/a/b?x=1&y=2",
  "/%41%2F%7e?q=%20a+b",
  "//double//slash",
  "/?",
  "/?only=query",
  "/a;p=1/b",
  "/~user/%E2%82%AC",
  "http://x/abs?z=1",
  "http://X:80/p/../q",
  "/a%zz/%2e%2e/b",
  "/%00%ff?%%",
  "/a?b=c?d=/e",
  "/x/./y/",
];

const BODIES: { type: string; body: string; read: Read[] }[] = [
  {
    type: "application/x-www-form-urlencoded",
    body: "a=1&b=%C3%A9+x&a=2",
    read: ["formData", "text"],
  },
  {
    type: "multipart/form-data; boundary=XyZ",
    body: '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n' +
      '--XyZ\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\n' +
      "Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n",
    read: ["formData", "text", "arrayBuffer"],
  },
  { type: "application/json", body: '{"a":[1,2],"b":"é"}', read: ["json"] },
  { type: "text/plain", body: "plain text", read: ["text", "arrayBuffer"] },
  { type: "text/plain", body: "", read: ["text", "json", "formData"] },
];

function utf8Latin1(text: string): string {
  return String.fromCharCode(...encoder.encode(text));
}

function genRequest(g: Gen, behaviour?: Behaviour): Req {
  const method = g.pick(["GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE"]);
  const req: Req = {
    method,
    target: g.pick(TARGETS),
    version: g.bool(0.8) ? "HTTP/1.1" : "HTTP/1.0",
    headers: [],
    body: null,
    chunked: false,
    behaviour: behaviour ?? g.pick(BEHAVIOURS),
    read: "none",
  };
  if (g.bool(0.2)) req.headers.push(["Connection", "close"]);
  if (g.bool(0.3)) {
    req.headers.push([
      g.pick(["X-Odd", "x-ODD", "X-odd"]),
      g.pick(["a\tb", "", "é", "v \t", '"q"', "a,  b", utf8Latin1("€")]),
    ]);
  }
  if (g.bool(0.2)) {
    req.headers.push(["Accept", "text/html"], ["accept", "*/*"]);
  }
  if (["POST", "PUT", "OPTIONS", "DELETE"].includes(method) && g.bool(0.8)) {
    const choice = g.pick(BODIES);
    req.body = utf8Latin1(choice.body);
    req.read = g.pick(choice.read);
    req.headers.push(["Content-Type", choice.type]);
    req.chunked = req.version === "HTTP/1.1" && g.bool(0.4);
  } else if (g.bool(0.3)) {
    req.read = "text";
  }
  return req;
}

function encode(req: Req): string {
  let head = `${req.method} ${req.target} ${req.version}\r\nHost: x\r\n`;
  head += `X-B: ${req.behaviour}\r\nX-Read: ${req.read}\r\n`;
  for (const [name, value] of req.headers) head += `${name}: ${value}\r\n`;
  if (req.body === null) return head + "\r\n";
  if (!req.chunked) {
    return head + `Content-Length: ${req.body.length}\r\n\r\n${req.body}`;
  }
  let out = head + "Transfer-Encoding: chunked\r\n\r\n";
  const half = Math.ceil(req.body.length / 2);
  for (const part of [req.body.slice(0, half), req.body.slice(half)]) {
    if (part.length) out += `${part.length.toString(16)}\r\n${part}\r\n`;
  }
  return out + "0\r\n\r\n";
}

// ---- responses as compared ----

interface Seen {
  status: number;
  reason: string;
  version: string;
  headers: string[];
  framing: string;
  body: string;
}

function normalize(response: RawResponse, req: Req): Seen {
  const headers: string[] = [];
  for (const [name, value] of response.fields) {
    const lower = name.toLowerCase();
    if (lower === "date") continue;
    // h1 advertises Keep-Alive: timeout=N (README, "Responses").
    if (lower === "keep-alive") continue;
    // Masked (README): h1's default 500 has a Content-Type.
    if (response.status === 500 && lower === "content-type") continue;
    // Both RFC-correct: h1 says Connection: close to an HTTP/1.0 request
    // that did not ask for keep-alive; Deno.serve (hyper) leaves it implied.
    if (
      req.version === "HTTP/1.0" && `${lower}: ${value}` === "connection: close"
    ) {
      continue;
    }
    // Deliberate (server/_web_response.ts, RFC 9110 §8.6): h1 answers HEAD
    // with a null body without a length, as GET's is unknown; Deno.serve
    // says Content-Length: 0.
    if (req.method === "HEAD" && `${lower}: ${value}` === "content-length: 0") {
      continue;
    }
    let v = value;
    if (lower === "content-type") v = v.replace(/boundary=.*$/, "boundary=B");
    headers.push(`${lower}: ${v}`);
  }
  headers.sort();
  let body = new TextDecoder("latin1").decode(response.body);
  const type = response.headers.get("content-type") ?? "";
  const boundary = /boundary=(.*)$/.exec(type)?.[1];
  if (boundary) body = body.split(boundary).join("B");
  // Both legal, different framing choices: for a stream or Blob that turns
  // out empty, and for a handler's own Transfer-Encoding: chunked on a string
  // body, Deno.serve sends chunked and h1 Content-Length (README: "a body
  // that is all there gets Content-Length"). Compared as one framing.
  if (
    ["emptyStream", "emptyBlob", "teHeader"].includes(req.behaviour)
  ) {
    const i = headers.findIndex((h) =>
      h === "transfer-encoding: chunked" || h.startsWith("content-length:")
    );
    // (For HTTP/1.0, Deno.serve close-delimits it instead: no field.)
    if (i >= 0) headers.splice(i, 1);
  }
  // Deno.serve repeats "connection: close" when both the handler and the
  // client asked for close; one is what counts.
  const close = headers.indexOf("connection: close");
  if (close >= 0 && headers.lastIndexOf("connection: close") !== close) {
    headers.splice(close, 1);
  }
  const framing =
    ["emptyStream", "emptyBlob", "teHeader"].includes(req.behaviour)
      ? "-"
      : headers.some((h) => h.startsWith("transfer-encoding:"))
      ? "chunked"
      : headers.some((h) => h.startsWith("content-length:"))
      ? "length"
      : "none";
  return {
    status: response.status,
    // Masked (README): h1 sends the handler's statusText.
    reason: req.behaviour === "statusText" ? "-" : response.reason,
    // RFC 9110 §6.2: h1 answers HTTP/1.0 with HTTP/1.1 (its highest
    // version); Deno.serve with HTTP/1.0. Both are allowed.
    version: req.version === "HTTP/1.0" ? "-" : response.version,
    headers,
    framing,
    body,
  };
}

interface Outcome {
  observations: Observation[];
  responses: Seen[] | string;
  closed: boolean;
}

/** Sends the requests (pipelined) to one server and collects everything. */
async function run(
  target: { port: number; log: Observation[] },
  reqs: Req[],
): Promise<Outcome> {
  target.log.length = 0;
  await using client = await RawClient.connect(target.port);
  await client.send(reqs.map(encode).join(""));
  let responses: Seen[] | string;
  if (reqs.some((r) => r.behaviour === "s205" && r.method !== "HEAD")) {
    // Deno.serve's bug, not h1's: a 205 with a null body to anything but
    // HEAD gets no response at all from Deno.serve (nothing in 3 s); h1
    // sends 205 with Content-Length: 0 (RFC 9110 §15.3.6), held by
    // "differential: h1 answers a 205 ...". Compare what the handler saw.
    await delay(50);
    responses = "skipped";
  } else if (
    reqs.some((r) => r.behaviour === "streamError" && r.method !== "HEAD")
  ) {
    // The response cannot complete: compare the raw bytes (Date masked).
    await client.waitClosed(3000);
    // The response cannot complete: compare the raw bytes, each head as
    // its status and sorted fields (Date, Keep-Alive and the HTTP/1.0
    // Connection: close masked as above).
    responses = client.text.replace(
      /HTTP\/1\.[01] (\d{3}) [^\r]*\r\n(.*?)\r\n\r\n/gs,
      (_, status: string, fields: string) =>
        `HEAD[${status}|${
          fields.toLowerCase().split("\r\n").filter((f) =>
            !/^(date|keep-alive):/.test(f) && f !== "connection: close" &&
            !(status === "500" && f.startsWith("content-type:"))
          ).sort().join("|")
        }]`,
    );
  } else {
    try {
      const raw = await client.responses(reqs.map((r) => r.method), 3000);
      responses = raw.map((r, i) => normalize(r, reqs[i]!));
    } catch (error) {
      responses = `failed: ${(error as Error).message.split("\n")[0]}`;
    }
  }
  const closed = await client.waitClosed(100);
  // Let the handler of an unanswered request finish logging.
  await delay(5);
  return { observations: [...target.log], responses, closed };
}

function describe(reqs: Req[]): string {
  return JSON.stringify(reqs.map(encode).join(""));
}

/**
 * Cases excluded from the property, with the reason. None now: the one
 * there was (Response.error()) is fixed and compared like the rest.
 */
function excluded(_reqs: Req[]): string | null {
  return null;
}

async function compareCase(pair: Pair, reqs: Req[], label: string) {
  const deno = await run(pair.deno, reqs);
  const h1 = await run(pair.h1, reqs);
  const why = `${label}: ${describe(reqs)}`;
  assert.deepEqual(h1.observations, deno.observations, `observed; ${why}`);
  assert.deepEqual(h1.responses, deno.responses, `responses; ${why}`);
  if (reqs.some((r) => r.behaviour === "connClose")) {
    // Deno.serve's bug, not h1's: it sends the handler's Connection: close
    // yet keeps the connection open (RFC 9112 §9.6: a server that sends
    // close MUST close after that response). h1 closes.
    assert.equal(h1.closed, true, `closed; ${why}`);
  } else {
    assert.equal(h1.closed, deno.closed, `closed; ${why}`);
  }
}

const RUNS = envInt("DIFF_RUNS", 40);
const SEED = envInt("DIFF_SEED", 0x5eed);

Deno.test("differential: random single requests see and get the same under serve() as under Deno.serve", async () => {
  const pair = startBoth();
  try {
    const g = new Gen(SEED);
    for (let i = 0; i < RUNS; i++) {
      const reqs = [genRequest(g)];
      if (excluded(reqs)) continue;
      await compareCase(pair, reqs, `seed ${SEED} case ${i}`);
    }
  } finally {
    await pair.close();
  }
});

Deno.test("differential: random pipelined pairs are answered the same, in order", async () => {
  const pair = startBoth();
  try {
    const g = new Gen(SEED + 1);
    for (let i = 0; i < Math.max(10, RUNS >> 1); i++) {
      const first = genRequest(g);
      const second = genRequest(g);
      // A streamError first would cut the second; it has its own case.
      // Chunk boundaries of a cut stream are not comparable after a
      // complete response in raw bytes; streamError has the single cases.
      if (first.behaviour === "streamError") first.behaviour = "stream";
      if (second.behaviour === "streamError") second.behaviour = "async";
      // Deno.serve goes on after its handler's Connection: close (its bug,
      // see compareCase); h1 rightly serves nothing more.
      if (first.behaviour === "connClose") first.behaviour = "string";
      const reqs = [first, second];
      if (excluded(reqs)) continue;
      await compareCase(pair, reqs, `seed ${SEED + 1} case ${i}`);
    }
  } finally {
    await pair.close();
  }
});

// Every behaviour once under GET and once under HEAD, fixed.
for (const behaviour of BEHAVIOURS) {
  for (const method of ["GET", "HEAD"]) {
    Deno.test(`differential: ${method} to the ${behaviour} response`, async () => {
      const pair = startBoth();
      try {
        const reqs: Req[] = [{
          method,
          target: "/",
          version: "HTTP/1.1",
          headers: [],
          body: null,
          chunked: false,
          behaviour,
          read: "none",
        }];
        await compareCase(pair, reqs, "fixed");
      } finally {
        await pair.close();
      }
    });
  }
}

// Deno.serve (2.9.6) sends nothing at all for `new Response(null, { status:
// 205 })` to a GET (the client times out); RFC 9110 §15.3.6 wants a 205 with
// no content, which h1 sends. This holds h1 to the RFC where the
// differential cannot compare.
Deno.test("differential: h1 answers a 205 to GET at once with Content-Length: 0 and keeps the connection", async () => {
  const log: Observation[] = [];
  const server = serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    makeHandler(log),
  );
  try {
    await using client = await RawClient.connect(server.addr.port);
    await client.send(
      "GET / HTTP/1.1\r\nHost: x\r\nX-B: s205\r\n\r\n" +
        "GET / HTTP/1.1\r\nHost: x\r\nX-B: string\r\n\r\n",
    );
    const [first, second] = await client.responses(["GET", "GET"], 2000);
    assert.equal(first!.status, 205);
    assert.equal(first!.headers.get("content-length"), "0");
    assert.equal(first!.body.length, 0);
    assert.equal(second!.text, "hello é\n");
  } finally {
    await server.shutdown();
  }
});

// Fixed bug: a handler that returned Response.error() (status 0, type
// "error") got the status line "HTTP/1.1 0 " with no framing, which no
// client can parse (RFC 9112 §4: 3DIGIT); Deno.serve answers a 500 through
// onError, as h1 now does.
Deno.test({
  name:
    "differential: Response.error() from the handler is a 500 as under Deno.serve",
  fn: async () => {
    const pair = startBoth();
    try {
      const reqs: Req[] = [{
        method: "GET",
        target: "/",
        version: "HTTP/1.1",
        headers: [],
        body: null,
        chunked: false,
        behaviour: "responseError",
        read: "none",
      }];
      const deno = await run(pair.deno, reqs);
      assert.deepEqual(deno.responses, [{
        status: 500,
        reason: "Internal Server Error",
        version: "HTTP/1.1",
        headers: ["content-length: 21"],
        framing: "length",
        body: "Internal Server Error",
      }]);
      const h1 = await run(pair.h1, reqs);
      assert.deepEqual(h1.responses, deno.responses);
    } finally {
      await pair.close();
    }
  },
});

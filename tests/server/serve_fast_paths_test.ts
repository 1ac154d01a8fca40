// The two shortcuts the Web face takes for speed must be invisible: a static
// Response body read through Deno's internal slot gives the same bytes as the
// public stream API, and the lazy Request behaves as a Request.

import assert from "node:assert/strict";
import {
  setStaticFastPath,
  staticResponseParts,
} from "../../server/_static_response_body.ts";
import { setLazyRequests } from "../../server/_web_request.ts";
import { fetchRaw, fromLatin1, latin1, startServer } from "./_raw.ts";

// Sends `requests` in one write on one connection (the last one should close
// it) and returns everything the server sent, Date values masked.
async function exchangeAll(port: number, requests: string): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(latin1(requests));
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    parts.push(buffer.slice(0, n));
  }
  return parts.map(fromLatin1).join("").replace(
    /^date: .*$/gim,
    "date: (masked)",
  );
}

const RESPONSES: { name: string; make: () => Response; method?: string }[] = [
  { name: "string", make: () => new Response("Hello, World!") },
  { name: "utf8_string", make: () => new Response("héllo ✓") },
  { name: "bytes", make: () => new Response(new Uint8Array([0, 1, 2, 255])) },
  { name: "null_body", make: () => new Response(null, { status: 200 }) },
  { name: "json", make: () => Response.json({ a: [1, 2] }) },
  {
    name: "stream",
    make: () =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode("abc"));
            c.close();
          },
        }),
      ),
  },
  {
    name: "set_cookies_and_status",
    make: () =>
      new Response("x", {
        status: 201,
        statusText: "Made",
        headers: [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"], ["X-A", "y"]],
      }),
  },
  {
    name: "head_keeps_length",
    make: () => new Response("twelve bytes"),
    method: "HEAD",
  },
  { name: "no_content", make: () => new Response("ignored", { status: 204 }) },
  {
    name: "status_text",
    make: () => new Response("x", { statusText: "Fine" }),
  },
  { name: "json_201", make: () => Response.json({ a: 1 }, { status: 201 }) },
  {
    name: "url_search_params",
    make: () => new Response(new URLSearchParams("a=1&b=2")),
  },
  { name: "array_buffer", make: () => new Response(new ArrayBuffer(3)) },
  {
    name: "headers_changed_after_construction",
    make: () => {
      const response = new Response("x");
      response.headers.set("X-Later", "1");
      return response;
    },
  },
];

// Everything but the Date value must match. Names are lower-cased on both
// paths; the fast path keeps the order headers were set in, Headers iteration
// sorts by name, so compare in name order (stable: same-name order counts).
function withoutDate(fields: [string, string][]): [string, string][] {
  return fields.filter(([name]) => name.toLowerCase() !== "date")
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

for (const { name, make, method = "GET" } of RESPONSES) {
  Deno.test(`serve sends ${name} identically with and without the static-body fast path`, async () => {
    const results = [];
    for (const fast of [true, false]) {
      setStaticFastPath(fast);
      try {
        await using server = startServer(() => make());
        results.push(
          await fetchRaw(
            server.addr.port,
            `${method} / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
            method,
          ),
        );
      } finally {
        setStaticFastPath(true);
      }
    }
    const [fast, slow] = results;
    assert.equal(fast!.status, slow!.status);
    assert.equal(fast!.reason, slow!.reason);
    assert.deepEqual(withoutDate(fast!.fields), withoutDate(slow!.fields));
    assert.deepEqual(fast!.body, slow!.body);
  });
}

Deno.test("staticResponseParts reads string bodies on this Deno version", () => {
  // If a Deno upgrade moves the internal slot, this fails and says so; the
  // server still works (public-API fallback), only slower.
  const parts = staticResponseParts(
    new Response("hi", { headers: { "X-A": "1" } }),
  );
  assert.ok(parts !== null, "the fast path is not available on this Deno");
  assert.equal(parts.body, "hi");
  assert.deepEqual(parts.headers.find(([n]) => n === "X-A"), ["X-A", "1"]);
  assert.equal(
    staticResponseParts(new Response(new ReadableStream())),
    null,
  );
  const used = new Response("x");
  void used.text();
  assert.equal(staticResponseParts(used), null);
  const changed = new Response("x");
  changed.headers.set("X-Later", "1");
  assert.deepEqual(
    staticResponseParts(changed)?.headers.map(([n]) => n.toLowerCase()).sort(),
    ["content-type", "x-later"],
  );
});

Deno.test("serve hands handlers a Request that behaves as one", async () => {
  const seen: Record<string, unknown> = {};
  await using server = startServer(async (req) => {
    seen.isRequest = req instanceof Request;
    seen.method = req.method;
    seen.url = req.url;
    seen.header = req.headers.get("x-test");
    seen.hasSignal = req.signal instanceof AbortSignal;
    seen.redirect = req.redirect;
    const clone = req.clone();
    seen.body = await req.json();
    seen.bodyUsed = req.bodyUsed;
    seen.cloneText = await clone.text();
    return new Response("ok");
  });
  const body = '{"a":1}';
  const response = await fetchRaw(
    server.addr.port,
    `POST /p?q=1 HTTP/1.1\r\nHost: example.test:8080\r\nX-Test: yes\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  assert.equal(response.status, 200);
  assert.deepEqual(seen, {
    isRequest: true,
    method: "POST",
    url: "http://example.test:8080/p?q=1",
    header: "yes",
    hasSignal: true,
    redirect: "follow",
    body: { a: 1 },
    bodyUsed: true,
    cloneText: body,
  });
});

Deno.test("serve answers 400 when Host cannot make a URL", async () => {
  let called = false;
  await using server = startServer(() => {
    called = true;
    return new Response("no");
  });
  for (const host of ["a:99999", "[::1"]) {
    const response = await fetchRaw(
      server.addr.port,
      `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    );
    assert.equal(response.status, 400, host);
  }
  assert.equal(called, false);
});

Deno.test("serve keeps pipelined large string bodies apart", async () => {
  // Each body is over the 4 KiB a write is copied below, so the engine may
  // hold it by reference until the batch is flushed: it must be its own.
  const bodies = ["a", "b", "c"].map((c) => c.repeat(5000) + "\u00e9");
  await using server = startServer((req) =>
    new Response(bodies[Number(new URL(req.url).pathname.slice(1))])
  );
  const output = await exchangeAll(
    server.addr.port,
    "GET /0 HTTP/1.1\r\nHost: a\r\n\r\nGET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
      "GET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  );
  const sent = output.split(/HTTP\/1\.1 200 OK\r\n[^]*?\r\n\r\n/).slice(1);
  assert.deepEqual(
    sent,
    bodies.map((body) => fromLatin1(new TextEncoder().encode(body))),
  );
});

Deno.test("serve builds each request's URL from its own Host and target", async () => {
  const urls: string[] = [];
  await using server = startServer((req) => {
    urls.push(req.url);
    return new Response("ok");
  });
  const hosts = ["a.test", "a.test", "b.test:81", "b.test:81", "a.test"];
  const targets = ["/x", "/x", "/x", "/y?q=1", "/y?q=1"];
  const output = await exchangeAll(
    server.addr.port,
    hosts.map((host, i) =>
      `GET ${targets[i]} HTTP/1.1\r\nHost: ${host}\r\n\r\n`
    )
      .join("") +
      "GET /z HTTP/1.1\r\nHost: a:99999\r\n\r\n",
  );
  assert.deepEqual(urls, [
    "http://a.test/x",
    "http://a.test/x",
    "http://b.test:81/x",
    "http://b.test:81/y?q=1",
    "http://a.test/y?q=1",
  ]);
  // A Host that cannot make a URL still gets its 400 after valid ones.
  assert.match(output, /HTTP\/1\.1 400 /);
});

for (const lazy of [true, false]) {
  Deno.test(`serve's ${lazy ? "lazy" : "fallback (real)"} Request passes to new Request() and fetch()`, async () => {
    const was = setLazyRequests(lazy);
    try {
      await copiesAndProxies();
    } finally {
      setLazyRequests(was);
    }
  });
}

async function copiesAndProxies(): Promise<void> {
  // Deno.serve code copies requests (`new Request(req, { headers })`) and
  // proxies them (`fetch(url, req)`, `fetch(new Request(url, req))`): both
  // check Deno's WebIDL brand and read internal slots. A lazy Request that
  // failed them ("Argument 1 is not of type Request") broke such code.
  await using upstream = startServer(async (req) =>
    new Response(
      `${req.method} ${new URL(req.url).pathname} ${
        req.headers.get("x-a")
      } ${await req
        .text()}`,
    )
  );
  const up = `http://127.0.0.1:${upstream.addr.port}`;
  await using server = startServer(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/copy") {
      const copy = new Request(req, { headers: { "x-a": "copied" } });
      return new Response(
        `${copy.method} ${copy.url === req.url} ${
          copy.headers.get("x-a")
        } ${await copy
          .text()}`,
      );
    }
    if (path === "/proxy-request") {
      return await fetch(new Request(`${up}/a`, req));
    }
    return await fetch(`${up}/b`, req);
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const send = async (path: string) => {
    const res = await fetch(base + path, {
      method: "POST",
      body: "hello",
      headers: { "x-a": "orig" },
    });
    return await res.text();
  };
  assert.equal(await send("/copy"), "POST true copied hello");
  assert.equal(await send("/proxy-request"), "POST /a orig hello");
  assert.equal(await send("/proxy-init"), "POST /b orig hello");
}

/**
 * Router match throughput: h1's {@linkcode Router} against a list of
 * `URLPattern`s scanned in order and Hono's RegExpRouter (the router Hono's
 * docs call its fastest; `SmartRouter` picks it for tables like this one),
 * plus Hono's TrieRouter for reference. Same 100 routes (static and param),
 * same request paths, one run:
 *
 *   npx -y deno@2.9.6 bench bench/router_bench.ts
 *   npx -y deno@2.9.6 run bench/router_bench.ts --ratios
 *
 * Each iteration matches every request path once; the `deno bench` summary
 * prints ratios against Hono (RegExpRouter where it accepts the table, else
 * SmartRouter). On a busy 2-core machine `deno bench` averages are swayed by
 * GC pauses, so `--ratios` interleaves the peers in rounds and prints the
 * median time per match and the ratio to Hono's best.
 *
 * Hono's routers return parameter *positions* and build the params object
 * lazily, while `Router.match` returns a ready params object; the h1 number
 * includes that work.
 *
 * @module
 */
import assert from "node:assert/strict";
import { RegExpRouter } from "npm:hono@4.13.19/router/reg-exp-router";
import { SmartRouter } from "npm:hono@4.13.19/router/smart-router";
import { TrieRouter } from "npm:hono@4.13.19/router/trie-router";
import { Router } from "../server/router.ts";

const RESOURCES = [
  "users",
  "posts",
  "comments",
  "orders",
  "products",
  "invoices",
  "teams",
  "projects",
  "tickets",
  "files",
];

/**
 * 100 routes: [method, pattern]. With `siblings`, a static segment sits next
 * to a param (`/api/v1/users/search` beside `/api/v1/users/:id`), which
 * Hono's RegExpRouter refuses (UnsupportedPathError), so Hono's default
 * SmartRouter falls back to its TrieRouter; without it, the search routes
 * move to `/api/v1/search/users` and RegExpRouter accepts the table.
 */
export function routes(siblings: boolean): [string, string][] {
  const out: [string, string][] = [];
  for (const r of RESOURCES) {
    out.push(
      ["GET", `/api/v1/${r}`],
      ["POST", `/api/v1/${r}`],
      ["GET", siblings ? `/api/v1/${r}/search` : `/api/v1/search/${r}`],
      ["GET", `/api/v1/${r}/:id`],
      ["PUT", `/api/v1/${r}/:id`],
      ["DELETE", `/api/v1/${r}/:id`],
      ["GET", `/api/v1/${r}/:id/history`],
      ["GET", `/api/v1/${r}/:id/notes/:noteId`],
    );
  }
  for (
    const page of [
      "/",
      "/about",
      "/contact",
      "/pricing",
      "/login",
      "/logout",
      "/signup",
      "/docs",
      "/docs/getting-started",
      "/docs/api",
      "/blog",
      "/blog/archive",
      "/status",
      "/health",
    ]
  ) out.push(["GET", page]);
  for (const r of RESOURCES.slice(0, 6)) out.push(["GET", `/${r}/:slug`]);
  assert.equal(out.length, 100);
  return out;
}

/** Request paths: static and param, shallow and deep, plus one miss. */
export function paths(siblings: boolean): [string, string][] {
  return [
    ["GET", "/"],
    ["GET", "/about"],
    ["GET", "/docs/getting-started"],
    ["GET", "/health"],
    ["GET", "/api/v1/users"],
    ["POST", "/api/v1/orders"],
    ["GET", siblings ? "/api/v1/files/search" : "/api/v1/search/files"],
    ["GET", "/api/v1/users/12345"],
    ["PUT", "/api/v1/tickets/987"],
    ["DELETE", "/api/v1/teams/42"],
    ["GET", "/api/v1/projects/7/history"],
    ["GET", "/api/v1/invoices/2024-001/notes/3"],
    ["GET", "/api/v1/files/abc/notes/xyz"],
    ["GET", "/posts/hello-world"],
    ["GET", "/invoices/inv-77"],
    ["GET", "/no/such/route"],
  ];
}

interface Matcher {
  name: string;
  match(method: string, path: string): string | null;
}

function peers(siblings: boolean): Matcher[] {
  const table = routes(siblings);
  const h1 = new Router();
  for (const [method, pattern] of table) {
    h1.on(method, pattern, () => new Response(pattern));
  }
  const list = table.map(([method, pattern]) => ({
    method,
    pattern,
    matcher: new URLPattern({ pathname: pattern }),
  }));
  const trie = new TrieRouter<string>();
  const smart = new SmartRouter<string>({
    routers: [new RegExpRouter(), new TrieRouter()],
  });
  for (const [method, pattern] of table) {
    trie.add(method, pattern, pattern);
    smart.add(method, pattern, pattern);
  }
  const out: Matcher[] = [
    {
      name: "h1 Router",
      match(method, path) {
        const r = h1.match(method, path);
        return r.kind === "found" ? r.pattern : null;
      },
    },
    {
      name: "URLPattern list",
      match(method, path) {
        for (const p of list) {
          if (
            p.method === method && p.matcher.exec({ pathname: path }) !== null
          ) {
            return p.pattern;
          }
        }
        return null;
      },
    },
    {
      name: "hono TrieRouter",
      match: (method, path) => trie.match(method, path)[0][0]?.[0] ?? null,
    },
    {
      name: "hono SmartRouter",
      match: (method, path) => smart.match(method, path)[0][0]?.[0] ?? null,
    },
  ];
  if (!siblings) {
    const regexp = new RegExpRouter<string>();
    for (const [method, pattern] of table) regexp.add(method, pattern, pattern);
    out.push({
      name: "hono RegExpRouter",
      match: (method, path) => regexp.match(method, path)[0][0]?.[0] ?? null,
    });
  }
  // The peers must agree on every path before their speed means anything.
  for (const [method, path] of paths(siblings)) {
    const expected = out[0]!.match(method, path);
    for (const peer of out) {
      assert.equal(
        peer.match(method, path),
        expected,
        `${peer.name} ${method} ${path}`,
      );
    }
  }
  return out;
}

let sink = 0;

for (const siblings of [false, true]) {
  const group = siblings ? "static+param siblings" : "RegExpRouter-compatible";
  const requests = paths(siblings);
  const all = peers(siblings);
  const smart = all.find((p) => p.name === "hono SmartRouter")!;
  // Warm SmartRouter up so it has chosen its router before timing.
  smart.match("GET", "/");
  for (const peer of all) {
    const baseline = siblings
      ? peer.name === "hono SmartRouter"
      : peer.name === "hono RegExpRouter";
    Deno.bench(`${peer.name} (${group})`, { group, baseline }, () => {
      for (const [method, path] of requests) {
        sink += peer.match(method, path)?.length ?? 0;
      }
    });
  }
}

/**
 * Median ns per match of each peer. The fast peers are interleaved round by
 * round so drift hits them alike; the URLPattern list, ~500x slower and a
 * heavy allocator, is timed after them so its garbage does not land on them.
 */
function measure(
  all: Matcher[],
  requests: [string, string][],
): Map<string, number> {
  const samples = new Map<string, number[]>(all.map((p) => [p.name, []]));
  const sample = (peer: Matcher, reps: number) => {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      for (const [method, path] of requests) {
        sink += peer.match(method, path)?.length ?? 0;
      }
    }
    const ns = (performance.now() - t0) * 1e6 / (reps * requests.length);
    samples.get(peer.name)!.push(ns);
  };
  const slow = all.filter((p) => p.name === "URLPattern list");
  const fast = all.filter((p) => !slow.includes(p));
  for (let round = 0; round < 31; round++) {
    for (const peer of fast) sample(peer, 2000);
  }
  for (let round = 0; round < 7; round++) {
    for (const peer of slow) sample(peer, 10);
  }
  const out = new Map<string, number>();
  for (const [name, list] of samples) {
    list.sort((a, b) => a - b);
    out.set(name, list[list.length >> 1]!);
  }
  return out;
}

if (Deno.args.includes("--ratios")) {
  for (const siblings of [false, true]) {
    const all = peers(siblings);
    const medians = measure(all, paths(siblings));
    const hono = Math.min(
      ...[...medians].filter(([n]) => n.startsWith("hono")).map(([, v]) => v),
    );
    const h1 = medians.get("h1 Router")!;
    const title = siblings
      ? "static+param siblings"
      : "RegExpRouter-compatible";
    const lines = [`${title} table (100 routes, 16 paths), median ns/match:`];
    for (const [name, ns] of medians) {
      lines.push(`  ${name.padEnd(18)} ${ns.toFixed(1).padStart(9)} ns`);
    }
    lines.push(`  h1 vs best hono: ${(hono / h1).toFixed(2)}x`);
    // deno-lint-ignore no-console
    console.log(lines.join("\n"));
  }
}

Deno.bench("sink", { n: 1 }, () => {
  if (sink === -1) throw new Error("unreachable");
});

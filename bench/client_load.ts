// deno-lint-ignore-file no-console
/**
 * Client load benchmark: h1's client (`HTTPConnection`, `Pool`, `request()`)
 * against Deno's `fetch` and `node:http` (under Deno), all hitting the same
 * `Deno.serve` hello world running in a subprocess. Scenarios: sequential
 * keep-alive, 50 requests in flight, and h1 pipelined ×16 on one
 * connection. Rounds are interleaved and medians reported, with ratios; the
 * table replaces the `client_load` section of bench/RESULTS.md.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write=bench/RESULTS.md \
 *   --allow-net=127.0.0.1 --allow-env --allow-sys bench/client_load.ts \
 *   [--duration=3] [--rounds=3] [--no-write]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import http from "node:http";
import { HTTPConnection } from "../client/http_connection.ts";
import { Pool } from "../client/pool.ts";
import { request } from "../client/request.ts";
import { machineLines, median, writeSection } from "./_results.ts";
import { hasCommand, startTarget, TARGETS } from "./_targets.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    "no-write": { type: "boolean", default: false },
  },
});
const durationMs = Number(values.duration) * 1000;
const rounds = Number(values.rounds);

type One = () => Promise<void>;

// Runs `concurrency` loops of `one` for `ms`; returns requests per second.
async function rate(
  ms: number,
  concurrency: number,
  one: One,
): Promise<number> {
  // Warm up (connections, JIT) for up to a second, uncounted.
  let deadline = performance.now() + Math.min(1000, ms / 3);
  const loop = async (counted: boolean): Promise<number> => {
    let n = 0;
    while (performance.now() < deadline) {
      await one();
      if (counted) n++;
    }
    return n;
  };
  await Promise.all(Array.from({ length: concurrency }, () => loop(false)));
  const started = performance.now();
  deadline = started + ms;
  const counts = await Promise.all(
    Array.from({ length: concurrency }, () => loop(true)),
  );
  const elapsed = (performance.now() - started) / 1000;
  return counts.reduce((a, b) => a + b, 0) / elapsed;
}

function nodeGet(agent: http.Agent, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: "/", agent },
      (res) => {
        res.on("data", () => {});
        res.on("end", resolve);
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

interface Scenario {
  name: string;
  concurrency: number;
  setup(port: number): { one: One; close(): void | Promise<void> };
}

const url = (port: number) => `http://127.0.0.1:${port}/`;

// The peers that run at several concurrencies, one function each.
function requestScenario(concurrency: number, label: string): Scenario {
  return {
    name: `h1 request(), ${label}`,
    concurrency,
    setup(port) {
      const pool = new Pool({ maxConnectionsPerOrigin: concurrency });
      return {
        one: async () => {
          await (await request(url(port), { pool })).arrayBuffer();
        },
        close: () => pool.close(),
      };
    },
  };
}

function fetchScenario(concurrency: number, label: string): Scenario {
  return {
    name: `fetch, ${label}`,
    concurrency,
    setup(port) {
      const client = Deno.createHttpClient({});
      return {
        one: async () => {
          await (await fetch(url(port), { client })).arrayBuffer();
        },
        close: () => client.close(),
      };
    },
  };
}

function nodeScenario(concurrency: number, label: string): Scenario {
  return {
    name: `node:http, ${label}`,
    concurrency,
    setup(port) {
      const agent = new http.Agent({
        keepAlive: true,
        maxSockets: concurrency,
      });
      return { one: () => nodeGet(agent, port), close: () => agent.destroy() };
    },
  };
}

const SCENARIOS: Scenario[] = [
  {
    // The floor: fixed request bytes, response read until its known last
    // byte, no parsing. No client can beat this on the same socket API.
    name: "raw socket, sequential",
    concurrency: 1,
    setup(port) {
      let conn: Deno.TcpConn | null = null;
      const head = new TextEncoder().encode(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
      );
      const buf = new Uint8Array(64 * 1024);
      return {
        one: async () => {
          if (conn === null) {
            conn = await Deno.connect({ hostname: "127.0.0.1", port });
            conn.setNoDelay(true);
          }
          await conn.write(head);
          let got = 0;
          // Deno.serve's hello world ends with "!".
          do {
            const n = await conn.read(buf.subarray(got));
            if (n === null) throw new Error("server closed");
            got += n;
          } while (buf[got - 1] !== 0x21);
        },
        close: () => conn?.close(),
      };
    },
  },
  {
    name: "h1 HTTPConnection, sequential",
    concurrency: 1,
    setup(port) {
      const conn = new HTTPConnection("127.0.0.1", port);
      return {
        one: async () => {
          await conn.request("GET", "/");
          await (await conn.getresponse()).read();
        },
        close: () => conn.close(),
      };
    },
  },
  requestScenario(1, "sequential"),
  fetchScenario(1, "sequential"),
  nodeScenario(1, "sequential"),
  {
    name: "h1 Pool, 50 in flight",
    concurrency: 50,
    setup(port) {
      const pool = new Pool({ maxConnectionsPerOrigin: 50 });
      const origin = url(port);
      return {
        one: async () => {
          await (await pool.request(origin)).read();
        },
        close: () => pool.close(),
      };
    },
  },
  requestScenario(50, "50 in flight"),
  fetchScenario(50, "50 in flight"),
  nodeScenario(50, "50 in flight"),
  {
    name: "h1 Pool, pipelined ×16 (1 connection)",
    concurrency: 16,
    setup(port) {
      const pool = new Pool({ maxConnectionsPerOrigin: 1, pipelining: 16 });
      const origin = url(port);
      return {
        one: async () => {
          await (await pool.request(origin)).read();
        },
        close: () => pool.close(),
      };
    },
  },
  fetchScenario(16, "16 in flight"),
];

function loadAverage(): string {
  try {
    return Deno.loadavg()[0]?.toFixed(2) ?? "?";
  } catch {
    return "?";
  }
}
const loadBefore = loadAverage();

const spec = TARGETS.find((t) => t.name === "deno_serve")!;
const pin = await hasCommand("taskset") && navigator.hardwareConcurrency > 1;
const server = await startTarget(spec, pin ? { cpu: 1 } : {});
const samples = new Map<string, number[]>();
try {
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no scenario always runs first.
    for (let i = 0; i < SCENARIOS.length; i++) {
      const scenario = SCENARIOS[(i + round) % SCENARIOS.length]!;
      const { one, close } = scenario.setup(server.port);
      try {
        const rps = await rate(durationMs, scenario.concurrency, one);
        samples.set(scenario.name, [
          ...(samples.get(scenario.name) ?? []),
          rps,
        ]);
        console.error(
          `round ${round + 1}/${rounds} ${scenario.name}: ${
            rps.toFixed(0)
          } req/s`,
        );
      } finally {
        await close();
      }
    }
  }
} finally {
  await server.stop();
}

const med = (name: string) => median(samples.get(name) ?? []);
const ratio = (a: string, b: string) => (med(a) / med(b)).toFixed(2) + "×";
const rows: [string, string, string, string][] = [
  [
    "sequential keep-alive",
    "h1 HTTPConnection, sequential",
    "fetch, sequential",
    "node:http, sequential",
  ],
  [
    "sequential, Web Response",
    "h1 request(), sequential",
    "fetch, sequential",
    "node:http, sequential",
  ],
  [
    "50 in flight",
    "h1 Pool, 50 in flight",
    "fetch, 50 in flight",
    "node:http, 50 in flight",
  ],
  [
    "50 in flight, Web Response",
    "h1 request(), 50 in flight",
    "fetch, 50 in flight",
    "node:http, 50 in flight",
  ],
  [
    "pipelined ×16 vs 16 in flight",
    "h1 Pool, pipelined ×16 (1 connection)",
    "fetch, 16 in flight",
    "node:http, 50 in flight",
  ],
  [
    "pipelined ×16 vs sequential",
    "h1 Pool, pipelined ×16 (1 connection)",
    "fetch, sequential",
    "node:http, sequential",
  ],
];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const floor = med("raw socket, sequential");
let table =
  "| scenario | h1 req/s | fetch req/s | node:http req/s | h1 / fetch | h1 / node:http |\n" +
  "|---|---:|---:|---:|---:|---:|\n";
for (const [label, h1, f, n] of rows) {
  table += `| ${label} | ${fmt(med(h1))} | ${fmt(med(f))} | ${fmt(med(n))} | ${
    ratio(h1, f)
  } | ${ratio(h1, n)} |\n`;
}
const body = [
  "## Client load (bench/client_load.ts)",
  "",
  `Against \`Deno.serve\` hello world in a subprocess${
    pin ? " pinned to CPU 1" : ""
  }; clients in one Deno process; median of ${rounds} interleaved rounds of ${
    durationMs / 1000
  } s. Targets: ≥ 3× fetch sequential, ≥ 3.5× at 50 in flight, ≥ 10× pipelined.`,
  "",
  ...(await machineLines()),
  `- Load average (1 min) before / after: ${loadBefore} / ${loadAverage()}`,
  "",
  table,
  `Floor: a raw socket loop (fixed request bytes, no parsing) does ${
    fmt(floor)
  } req/s sequential here, ${
    (floor / med("fetch, sequential")).toFixed(2)
  }× fetch; h1 HTTPConnection reaches ${
    ((med("h1 HTTPConnection, sequential") / floor) * 100).toFixed(0)
  }% of it.`,
].join("\n");
console.log(body);
if (!values["no-write"]) await writeSection("client_load", body);

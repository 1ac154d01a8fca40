// deno-lint-ignore-file no-console
/**
 * The long fuzz run: 10M cases over all parser properties, with progress.
 *
 *   deno run tests/http1/fuzz_long.ts [--total=10000000] [--seed=N]
 *
 * A failure prints fast-check's counterexample and its seed and path, so the
 * case replays with `--seed=N` (and FUZZ_SEED=N for fuzz_test.ts).
 *
 * @module
 */
import { parseArgs } from "node:util";
import fc from "npm:fast-check@4.10.2";
import { PROPERTIES } from "./_fuzz_properties.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    total: { type: "string", default: "10000000" },
    seed: { type: "string" },
    batch: { type: "string", default: "50000" },
  },
});
const total = Number(values.total);
const batch = Number(values.batch);
const baseSeed = values.seed === undefined
  ? Date.now() >>> 0
  : Number(values.seed);
const names = Object.keys(PROPERTIES);
const perProperty = Math.ceil(total / names.length);

console.log(
  `Fuzzing ${names.length} properties × ${perProperty} cases, seed ${baseSeed}`,
);
const started = performance.now();
let done = 0;
let failed = false;
for (const [index, name] of names.entries()) {
  const property = PROPERTIES[name]!;
  for (let ran = 0; ran < perProperty; ran += batch) {
    const numRuns = Math.min(batch, perProperty - ran);
    const seed = (baseSeed + index * 1_000_003 + ran) >>> 0;
    const details = fc.check(property, { numRuns, seed }) as fc.RunDetails<
      unknown[]
    >;
    done += numRuns;
    if (details.failed) {
      failed = true;
      console.error(fc.defaultReportMessage(details) ?? `${name} failed`);
      console.error(`Replay: --seed=${seed} (batch seed for "${name}")`);
      break;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${(done / 1e6).toFixed(2)}M / ${(total / 1e6).toFixed(2)}M cases, ` +
        `${Math.round(done / seconds)}/s — ${name}`,
    );
  }
  if (failed) break;
}
console.log(failed ? "FAILED" : `OK: ${done} cases`);
if (failed) Deno.exit(1);

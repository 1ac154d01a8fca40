import fc from "npm:fast-check@4.10.2";
import { PROPERTIES } from "./_fuzz_properties.ts";

// CI budget: FUZZ_RUNS cases per property (default 1000); `deno task fuzz`
// runs tests/http1/fuzz_long.ts for the long budget.
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? "1000");
const SEED = Deno.env.get("FUZZ_SEED");

for (const [name, property] of Object.entries(PROPERTIES)) {
  Deno.test(`parsers fuzz: ${name}`, () => {
    fc.assert(property, {
      numRuns: RUNS,
      ...(SEED === undefined ? {} : { seed: Number(SEED) }),
    });
  });
}

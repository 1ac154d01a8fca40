/**
 * Helpers shared by the load benchmarks: machine description, medians, and
 * replacing one marked section of bench/RESULTS.md while keeping the rest.
 * Internal to bench/.
 *
 * @module
 */
import { commandOutput } from "./_targets.ts";

/** Absolute path of bench/RESULTS.md. */
export const RESULTS_PATH: string =
  new URL("./RESULTS.md", import.meta.url).pathname;

/**
 * Median of a list of numbers (mean of the middle two for even lengths).
 *
 * @param values samples; NaN when empty
 * @returns the median
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Describes the machine and toolchain in a few markdown bullet lines.
 *
 * @returns lines such as `- CPU: 2 × AMD EPYC`
 */
export async function machineLines(): Promise<string[]> {
  // Through `cat`: Deno wants --allow-all to read /proc directly.
  const info = await commandOutput("cat", ["/proc/cpuinfo"]);
  const cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ??
    "unknown CPU";
  const kernel = await commandOutput("uname", ["-sr"]);
  const node = await commandOutput("node", ["--version"]);
  const wrk = (await commandOutput("sh", ["-c", "wrk -v 2>&1 | head -1"]))
    .replace(/\s*Copyright.*$/, "");
  const commit = await commandOutput("git", [
    "-C",
    new URL(".", import.meta.url).pathname,
    "describe",
    "--always",
    "--dirty",
  ]);
  const v = Deno.version;
  return [
    `- Machine: nproc ${navigator.hardwareConcurrency} × ${cpu}` +
    (kernel === "" ? "" : `, ${kernel}`),
    `- deno ${v.deno} (v8 ${v.v8}, typescript ${v.typescript})` +
    (node === "" ? "" : `; node ${node}`) +
    (wrk === "" ? "" : `; ${wrk}`),
    ...(commit === "" ? [] : [`- h1 commit: ${commit}`]),
  ];
}

/**
 * Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`
 * in bench/RESULTS.md (markers included), appending the section when the
 * markers are absent and creating the file when missing. Everything else in
 * the file is kept byte for byte.
 *
 * @param name marker name, e.g. `"server_load"`
 * @param body markdown to put between the markers
 * @param path file to edit (bench/RESULTS.md by default)
 */
export async function writeSection(
  name: string,
  body: string,
  path: string = RESULTS_PATH,
): Promise<void> {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${body.trimEnd()}\n${end}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    text = "# Benchmark results\n";
  }
  const i = text.indexOf(start);
  const j = i < 0 ? -1 : text.indexOf(end, i);
  if (i >= 0 && j >= 0) {
    text = text.slice(0, i) + block + text.slice(j + end.length);
  } else {
    text = `${text.trimEnd()}\n\n${block}\n`;
  }
  await Deno.writeTextFile(path, text);
}

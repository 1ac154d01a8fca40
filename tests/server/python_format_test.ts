// pyFormat is Python's `format % args` for log lines; the expected strings
// below were produced by CPython 3.11 for the same format and arguments.

import assert from "node:assert/strict";
import { pyFormat } from "../../server/_python_format.ts";

const CASES: [string, unknown[], string][] = [
  ["%+d|% d|%#x|%#X", [5, 7, 255, 255], "+5| 7|0xff|0XFF"],
  ["%#06x|%+05d|%-5d|%05d", [255, 5, 3, -42], "0x00ff|+0005|3    |-0042"],
  ["%5s|%-5s|%x|%#x", ["ab", "ab", -255, -255], "   ab|ab   |-ff|-0xff"],
  ["% 5d|%+.2f|%08.3f", [-3, 2.5, -3.14159], "   -3|+2.50|-003.142"],
  ["%d %s %r %%", [404, "Not Found", "GET"], "404 Not Found 'GET' %"],
];

for (const [format, args, expected] of CASES) {
  Deno.test(`pyFormat(${JSON.stringify(format)}) matches CPython`, () => {
    assert.equal(pyFormat(format, args), expected);
  });
}

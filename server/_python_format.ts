/**
 * Python's string formatting, as far as the Python face needs it: the `%`
 * operator (`%s`, `%d`, `%r`, `%(name)s`), `repr()` of a string,
 * `html.escape(s, quote=False)`, and the log helpers of
 * `BaseHTTPRequestHandler`.
 *
 * @module
 */

import { MONTH_ABBREVIATIONS, pad2 } from "./_http_date.ts";

/** Values `pyFormat()` accepts: positional arguments or a name mapping. */
export type PyFormatArgs =
  | readonly unknown[]
  | Readonly<Record<string, unknown>>;

const SPEC = /%(?:\(([^)]*)\))?([-#0 +]*)(\d+)?(?:\.(\d+))?([sdirfxX%])/g;

/**
 * Python's `format % args` for the conversions log formats use.
 *
 * @param format A printf-style format, e.g. `"code %d, message %s"`.
 * @param args Positional values, or a mapping for `%(name)s` specifiers.
 * @returns The formatted text.
 * @throws {TypeError} When there are too few arguments or a name is missing.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { pyFormat } from "./_python_format.ts";
 *
 * assert.equal(pyFormat("code %d, message %s", [404, "Not Found"]), "code 404, message Not Found");
 * assert.equal(pyFormat("%(code)d - %(x)s %%", { code: 5, x: "y" }), "5 - y %");
 * assert.equal(pyFormat("(%r)", ["GET"]), "('GET')");
 * ```
 */
export function pyFormat(format: string, args: PyFormatArgs = []): string {
  let next = 0;
  const positional = Array.isArray(args) ? args as readonly unknown[] : null;
  return format.replace(
    SPEC,
    (
      _all,
      key: string | undefined,
      flags: string,
      width: string | undefined,
      precision: string | undefined,
      conversion: string,
    ) => {
      if (conversion === "%") return "%";
      let value: unknown;
      if (key !== undefined) {
        const mapping = args as Readonly<Record<string, unknown>>;
        if (positional !== null || !(key in mapping)) {
          throw new TypeError(`Cannot format "%(${key})": no such key`);
        }
        value = mapping[key];
      } else {
        if (positional === null || next >= positional.length) {
          throw new TypeError(
            `Cannot format "${format.slice(0, 64)}": not enough arguments`,
          );
        }
        value = positional[next++];
      }
      let text: string;
      switch (conversion) {
        case "d":
        case "i":
          text = String(Math.trunc(Number(value)));
          break;
        case "f":
          text = Number(value).toFixed(
            precision === undefined ? 6 : Number(precision),
          );
          break;
        case "x":
          text = Math.trunc(Number(value)).toString(16);
          break;
        case "X":
          text = Math.trunc(Number(value)).toString(16).toUpperCase();
          break;
        case "r":
          text = pyRepr(value);
          break;
        default:
          text = pyStr(value);
          if (precision !== undefined) text = text.slice(0, Number(precision));
      }
      const w = width === undefined ? 0 : Number(width);
      if (conversion === "s" || conversion === "r") {
        if (text.length >= w) return text;
        return flags.includes("-") ? text.padEnd(w) : text.padStart(w);
      }
      // Numbers: sign ("+" and " " flags), "0x" prefix ("#"), then digits;
      // "0" pads between prefix and digits, "-" pads on the right.
      const negative = text.startsWith("-");
      const digits = negative ? text.slice(1) : text;
      const sign = negative
        ? "-"
        : flags.includes("+")
        ? "+"
        : flags.includes(" ")
        ? " "
        : "";
      const prefix = !flags.includes("#")
        ? ""
        : conversion === "x"
        ? "0x"
        : conversion === "X"
        ? "0X"
        : "";
      const start = sign + prefix;
      if (start.length + digits.length >= w) return start + digits;
      if (flags.includes("-")) return (start + digits).padEnd(w);
      if (flags.includes("0")) {
        return start + digits.padStart(w - start.length, "0");
      }
      return (start + digits).padStart(w);
    },
  );
}

/**
 * Python's `str()` for the values a handler logs.
 *
 * @param value Any value.
 * @returns Its text; null and undefined become "None", booleans "True"/"False".
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { pyStr } from "./_python_format.ts";
 *
 * assert.equal(pyStr(null), "None");
 * assert.equal(pyStr(true), "True");
 * ```
 */
export function pyStr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return "(" + value.map(pyRepr).join(", ") + ")";
  return String(value);
}

/**
 * Python's `repr()`: strings in quotes with escapes, as `%r` prints them.
 *
 * @param value Any value.
 * @returns Python's representation of it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { pyRepr } from "./_python_format.ts";
 *
 * assert.equal(pyRepr("it's"), `"it's"`);
 * assert.equal(pyRepr("a\nb"), "'a\\nb'");
 * ```
 */
export function pyRepr(value: unknown): string {
  if (typeof value !== "string") return pyStr(value);
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
      out += "\\x" + c.toString(16).padStart(2, "0");
    } else out += ch;
  }
  return out + quote;
}

/**
 * Python's `html.escape(s, quote=False)`: `&`, `<` and `>` only.
 *
 * @param text Text for an HTML page.
 * @returns The escaped text.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtmlText } from "./_python_format.ts";
 *
 * assert.equal(escapeHtmlText(`<a href="x">&</a>`), `&lt;a href="x"&gt;&amp;&lt;/a&gt;`);
 * ```
 */
export function escapeHtmlText(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}

/**
 * `BaseHTTPRequestHandler._control_char_table` (Python 3.11+): control
 * characters become `\xNN` and a backslash `\\`, so a request line cannot
 * forge log lines or terminal escapes.
 *
 * @param message A formatted log message.
 * @returns The message, safe for a terminal.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeLogControls } from "./_python_format.ts";
 *
 * assert.equal(escapeLogControls("a\x1b[31m\\"), "a\\x1b[31m\\\\");
 * ```
 */
export function escapeLogControls(message: string): string {
  // deno-lint-ignore no-control-regex
  return message.replace(/[\x00-\x1f\x7f-\x9f\\]/g, (ch) => {
    if (ch === "\\") return "\\\\";
    return "\\x" + ch.charCodeAt(0).toString(16).padStart(2, "0");
  });
}

/**
 * `log_date_time_string()`: local time as `22/Nov/2026 10:00:00`.
 *
 * @param date The moment to format (default now).
 * @returns The text between the brackets of an access-log line.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { logDateTime } from "./_python_format.ts";
 *
 * assert.equal(logDateTime(new Date(2026, 10, 22, 9, 5, 7)), "22/Nov/2026 09:05:07");
 * ```
 */
export function logDateTime(date: Date = new Date()): string {
  return `${pad2(date.getDate())}/${MONTH_ABBREVIATIONS[date.getMonth()]}/${
    String(date.getFullYear()).padStart(4, "0")
  } ${pad2(date.getHours())}:${pad2(date.getMinutes())}:${
    pad2(date.getSeconds())
  }`;
}

// The Date header value, formatted once a second rather than per response.

let cachedSecond = -1;
let cachedValue = "";

/** RFC 9110 §5.6.7 IMF-fixdate for now, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
export function httpDateNow(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedValue = new Date(second * 1000).toUTCString();
  }
  return cachedValue;
}

/** Month abbreviations as log formats use them ("Jan" … "Dec"). */
export const MONTH_ABBREVIATIONS: readonly string[] = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/** Two-digit zero-padded number for date formats. */
export function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/**
 * {@linkcode basicAuth}: HTTP Basic authentication (RFC 7617).
 *
 * @module
 */

import type { Middleware } from "../middleware.ts";

/** Options for {@linkcode basicAuth}: a user table or a verify function. */
export interface BasicAuthOptions {
  /** Realm shown by browsers. Default `"Restricted"`. */
  realm?: string;
  /** User name → password. Compared in constant time. */
  users?: Readonly<Record<string, string>>;
  /** Custom check; use {@linkcode timingSafeEqual} for secrets. */
  verify?: (user: string, password: string) => boolean | Promise<boolean>;
}

const encoder = new TextEncoder();

/**
 * Compares two strings in time that depends only on their SHA-256 digests'
 * fixed length, not on where they differ or how long they are.
 *
 * @param a One string.
 * @param b The other.
 * @returns Whether they are equal.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { timingSafeEqual } from "./basic_auth.ts";
 *
 * assert.equal(await timingSafeEqual("s3cret", "s3cret"), true);
 * assert.equal(await timingSafeEqual("s3cret", "s3cre"), false);
 * ```
 */
export async function timingSafeEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/**
 * The user name and password of a Basic `Authorization` field value
 * (RFC 7617: base64 of UTF-8 `user:password`), or null when it is not one.
 *
 * @param header The field value, or null when absent.
 * @returns `[user, password]`, or null.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBasicAuth } from "./basic_auth.ts";
 *
 * assert.deepEqual(parseBasicAuth("Basic am9yZzpwdw=="), ["jorg", "pw"]);
 * assert.equal(parseBasicAuth("Bearer x"), null);
 * ```
 */
export function parseBasicAuth(
  header: string | null,
): [string, string] | null {
  if (header === null) return null;
  const match = /^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(header);
  if (match === null) return null;
  let decoded: string;
  try {
    const raw = atob(match[1]!);
    decoded = new TextDecoder().decode(
      Uint8Array.from(raw, (c) => c.charCodeAt(0)),
    );
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) return null;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/**
 * Lets a request through only with valid Basic credentials; otherwise 401
 * with `WWW-Authenticate: Basic realm="…", charset="UTF-8"`. Every user
 * name is checked against every table entry so timing reveals nothing.
 *
 * @param options Realm and users or verify.
 * @returns The middleware.
 * @throws {TypeError} Neither `users` nor `verify` given.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { Router } from "../router.ts";
 * import { basicAuth } from "./basic_auth.ts";
 *
 * const app = new Router().use(basicAuth({ users: { ada: "lovelace" } }))
 *   .get("/", () => new Response("in"));
 * assert.equal((await app.request("/")).status, 401);
 * const ok = await app.request("/", { headers: { authorization: "Basic " + btoa("ada:lovelace") } });
 * assert.equal(ok.status, 200);
 * ```
 */
export function basicAuth<S extends object = Record<string, unknown>>(
  options: BasicAuthOptions,
): Middleware<S> {
  const { users, verify } = options;
  if (users === undefined && verify === undefined) {
    throw new TypeError("Cannot create basicAuth: give users or verify");
  }
  const givenRealm = options.realm ?? "Restricted";
  // The realm goes into a header value: visible Latin-1 text, SP and HTAB.
  if (/[^\t\x20-\x7e\x80-\xff]/.test(givenRealm)) {
    throw new TypeError(
      `Cannot use realm ${
        JSON.stringify(givenRealm)
      }: a header value takes only visible Latin-1 characters, SP and HTAB`,
    );
  }
  const realm = givenRealm.replace(/["\\]/g, "\\$&");
  const entries = Object.entries(users ?? {});
  const check = async (user: string, password: string): Promise<boolean> => {
    if (verify !== undefined) return await verify(user, password);
    let ok = false;
    for (const [name, secret] of entries) {
      const nameOk = await timingSafeEqual(user, name);
      const passOk = await timingSafeEqual(password, secret);
      ok = (nameOk && passOk) || ok;
    }
    return ok;
  };
  return async (ctx, next) => {
    const credentials = parseBasicAuth(ctx.req.headers.get("authorization"));
    if (credentials !== null && await check(credentials[0], credentials[1])) {
      return await next();
    }
    await ctx.req.body?.cancel().catch(() => {});
    return new Response("Unauthorized", {
      status: 401,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "www-authenticate": `Basic realm="${realm}", charset="UTF-8"`,
      },
    });
  };
}

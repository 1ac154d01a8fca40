/*
 * A fast path for the most common response: `new Response(stringOrBytes, init)`.
 *
 * Deno keeps such a body as a plain string or Uint8Array until someone asks
 * for `response.body`, and keeps the header list as a plain array. Reading
 * them through the public API costs a ReadableStream, a reader, two reads
 * and a sorted Headers iteration per response. Deno exposes both under the
 * `Symbol(response)` slot; we look for it once, check its shape on every use,
 * and fall back to the public API whenever anything differs (another Deno
 * version, a streamed or consumed body). Behaviour is the same either way;
 * tests/server/serve_static_body_test.ts checks both paths.
 */

/** A body that is all there, with the raw header list. */
export interface StaticResponseParts {
  /** The body: a string (encode as UTF-8), bytes, or null for no body. */
  body: string | Uint8Array | null;
  /** Header name/value pairs as set, names in the case given. */
  headers: ReadonlyArray<readonly [string, string]>;
}

let responseSlot: symbol | null | undefined;

function findResponseSlot(response: Response): symbol | null {
  for (const symbol of Object.getOwnPropertySymbols(response)) {
    if (symbol.description === "response") return symbol;
  }
  return null;
}

interface InnerResponse {
  body: {
    streamOrStatic?: { body?: unknown; consumed?: unknown };
  } | null;
  headerList: unknown;
}

/** Disables the fast paths (tests use it to cover the public-API path). */
export function setStaticFastPath(enabled: boolean): void {
  responseSlot = enabled ? undefined : null;
  fastSlots = enabled ? undefined : null;
}

// Deno 2.9 also records `new Response(body)` / `Response.json()` built with
// no init headers in "serve fast" fields, for its own Deno.serve; reading
// them avoids building the inner response at all.
interface FastSlots {
  status: symbol;
  body: symbol;
  headerKind: symbol;
  contentType: symbol;
  headers: symbol;
}
let fastSlots: FastSlots | null | undefined;
const TEXT_PLAIN = "text/plain;charset=UTF-8";

function findFastSlots(response: Response): FastSlots | null {
  const found = new Map<string, symbol>();
  for (const symbol of Object.getOwnPropertySymbols(response)) {
    if (symbol.description !== undefined) found.set(symbol.description, symbol);
  }
  const status = found.get("serve fast status");
  const body = found.get("serve fast body");
  const headerKind = found.get("serve fast header kind");
  const contentType = found.get("serve fast content type");
  const headers = found.get("headers");
  if (!status || !body || !headerKind || !contentType || !headers) return null;
  return { status, body, headerKind, contentType, headers };
}

function fastResponseParts(response: Response): StaticResponseParts | null {
  if (fastSlots === undefined) fastSlots = findFastSlots(response);
  if (fastSlots === null) return null;
  const slots = response as unknown as Record<symbol, unknown>;
  // Set only for a plain construction; a Headers object that exists may have
  // been changed since, and a used body must not be sent again.
  if (
    typeof slots[fastSlots.status] !== "number" ||
    slots[fastSlots.status] === 0 || slots[fastSlots.headers] !== null ||
    response.bodyUsed
  ) return null;
  const body = slots[fastSlots.body];
  if (typeof body !== "string" && !(body instanceof Uint8Array)) return null;
  const kind = slots[fastSlots.headerKind];
  const given = slots[fastSlots.contentType];
  let contentType: string | null;
  if (typeof given === "string") contentType = given;
  else if (kind === 1) contentType = TEXT_PLAIN;
  else if (kind === 0) contentType = null;
  else return null;
  return {
    body,
    headers: contentType === null ? [] : [["content-type", contentType]],
  };
}

/**
 * The body and headers of a response built from a string or bytes, or null
 * when the response must go through the public API.
 */
export function staticResponseParts(
  response: Response,
): StaticResponseParts | null {
  if (responseSlot === null) return null; // disabled (tests)
  const fast = fastResponseParts(response);
  if (fast !== null) return fast;
  if (responseSlot === undefined) responseSlot = findResponseSlot(response);
  if (responseSlot === null) return null;
  const inner = (response as unknown as Record<symbol, InnerResponse>)[
    responseSlot
  ];
  if (inner === undefined || inner === null) return null;
  const headers = inner.headerList;
  if (!Array.isArray(headers)) return null;
  const body = inner.body;
  if (body === null) {
    // A lazily built body (e.g. Response.json) lives elsewhere: not ours.
    if (hasLazyBody(response)) return null;
    return { body: null, headers };
  }
  const source = body?.streamOrStatic;
  if (source === undefined || source.consumed !== false) return null;
  const value = source.body;
  if (typeof value === "string" || value instanceof Uint8Array) {
    return { body: value, headers };
  }
  return null;
}

function hasLazyBody(response: Response): boolean {
  for (const symbol of Object.getOwnPropertySymbols(response)) {
    if (
      symbol.description === "lazy static body" &&
      (response as unknown as Record<symbol, unknown>)[symbol] != null
    ) return true;
  }
  return false;
}

/**
 * The byte length of a response body built from a string or bytes (read
 * without consuming it), else null: a stream, or no access to the body.
 *
 * @param response The response.
 * @returns The length in bytes, or null.
 */
export function staticBodyLength(response: Response): number | null {
  const body = staticResponseParts(response)?.body;
  if (body === undefined || body === null) return null;
  return typeof body === "string"
    ? new TextEncoder().encode(body).length
    : body.length;
}

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

/** Disables the fast path (tests use it to cover the public-API path). */
export function setStaticFastPath(enabled: boolean): void {
  responseSlot = enabled ? undefined : null;
}

/**
 * The body and headers of a response built from a string or bytes, or null
 * when the response must go through the public API.
 */
export function staticResponseParts(
  response: Response,
): StaticResponseParts | null {
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

// Builds the Web Request a handler sees from a parsed head.

import type { RequestHead } from "../http1/events.ts";
import type { Exchange } from "./_connection.ts";

/** The absolute URL of a request (RFC 9112 §3.3: reconstructing the target URI). */
export function requestUrl(head: RequestHead, exchange: Exchange): string {
  const target = head.target;
  const scheme = exchange.secure ? "https://" : "http://";
  if (head.method === "CONNECT") return scheme + target + "/";
  if (target.charCodeAt(0) !== 0x2f /* "/" */ && target !== "*") {
    return target; // absolute-form
  }
  let host = head.headers.get("host");
  if (host === null || host === "") {
    const local = exchange.localAddr;
    host =
      (local.hostname.includes(":") ? `[${local.hostname}]` : local.hostname) +
      ":" + local.port;
  }
  return scheme + host + (target === "*" ? "/*" : target);
}

/** The request body as a stream that reads from the socket only when pulled. */
export function requestBody(exchange: Exchange): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await exchange.readBody();
      if (chunk === null) controller.close();
      else controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

/** The Request for `head`; GET and HEAD bodies are left for the engine to drain. */
export function createWebRequest(
  head: RequestHead,
  exchange: Exchange,
  signal: AbortSignal | undefined,
): Request {
  const method = head.method;
  const hasBody = head.framing.kind !== "none" && method !== "GET" &&
    method !== "HEAD";
  const init: RequestInit = {
    method,
    headers: head.headers.toHeaders(),
  };
  if (hasBody) init.body = requestBody(exchange);
  if (signal !== undefined) init.signal = signal;
  return new Request(requestUrl(head, exchange), init);
}

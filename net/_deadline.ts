/**
 * Settles like `promise`, or rejects with `makeError()` once `timeoutMs`
 * passes first. The timer is always cleared, so Deno's sanitizers stay quiet.
 * The losing promise keeps running: callers decide what happens to it.
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number | undefined,
  makeError: () => Error,
): Promise<T> {
  if (timeoutMs === undefined || timeoutMs === Infinity) return await promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(makeError()), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

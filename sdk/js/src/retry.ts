/**
 * When to try a request again, and how long to wait first.
 *
 * Retried: no answer at all (a connection that failed, a timeout), 429 and 503 (the API did not do the work), and
 * the 409 the API gives a repeated idempotency key while the first request is still in flight (it says when
 * to ask again). The wait is exponential backoff with full jitter (a random wait between 0 and a ceiling that
 * doubles each retry, so many clients that failed together do not come back together), or exactly what the
 * answer's ``Retry-After`` asks when it says. Bounded twice: by a number of retries and by the time since the
 * call began; a ``Retry-After`` that would pass the time bound ends the call at once rather than sleep for nothing.
 */

export interface RetryPolicy {
  /** Retries after the first attempt; 0 never retries. */
  maxRetries: number;
  /** The first backoff's ceiling, doubled each retry up to ``maxDelayMs``. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** No retry starts later than this after the call began. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 4,
  initialDelayMs: 250,
  maxDelayMs: 8_000,
  maxElapsedMs: 30_000,
});

/** Whether an answer with ``status`` is worth asking again (``idempotent``: the request carried an
 * Idempotency-Key, so a 409 with ``Retry-After`` is the API waiting for the first one to finish). */
export function isRetryableStatus(status: number, headers: Headers, idempotent: boolean): boolean {
  if (status === 429 || status === 503) return true;
  return status === 409 && idempotent && headers.has("retry-after");
}

/** ``Retry-After`` in milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined if absent or
 * unreadable. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait before retry number ``retriesSoFar + 1``, or ``undefined`` to give up: out of retries, or
 * the wait would end after ``maxElapsedMs`` from the call's start (``elapsedMs`` have passed).
 */
export function nextDelayMs(
  policy: RetryPolicy,
  retriesSoFar: number,
  elapsedMs: number,
  askedMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (retriesSoFar >= policy.maxRetries) return undefined;
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retriesSoFar);
  const delay = askedMs ?? Math.floor(random() * ceiling);
  return elapsedMs + delay > policy.maxElapsedMs ? undefined : delay;
}

/** Resolves after ``ms``; rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

import type { RetrySettings } from '../settings.js';

/**
 * Milliseconds a `Retry-After` header asks to wait, from either of its forms
 * (delay-seconds or an HTTP-date), or null when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse is lenient ("-1" and "1.5" are dates to it): only an IMF-fixdate-like text counts.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return null;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * How long to wait before attempt `attempt + 1`: the server's Retry-After when
 * it sent one (capped, so a hostile value cannot park the request for days),
 * otherwise exponential backoff with jitter. The jitter keeps half the step
 * fixed, so a retry is never almost immediate, and spreads the other half so
 * requests that failed together do not return together.
 */
export function retryDelay(attempt: number, retryAfterMs: number | null, policy: RetrySettings): number {
  if (retryAfterMs !== null) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

/** Whether an HTTP status is retried. */
export function isRetryableStatus(status: number, policy: RetrySettings): boolean {
  return policy.statuses.includes(status);
}

/** Whether a response goes to its callback: a 2xx, or a status listed in `handleStatuses` (and not retried first). */
export function reachesCallback(status: number, handleStatuses: readonly number[]): boolean {
  return (status >= 200 && status < 300) || handleStatuses.includes(status);
}

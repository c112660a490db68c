import { FetchError } from '../errors.js';
import { isRetryableStatus, parseRetryAfter, retryDelay } from '../fetch/retry.js';
import type { LagMonitor } from '../lag.js';
import { httpReason } from '../reasons.js';
import type { RetrySettings } from '../settings.js';
import type { Stats } from '../stats.js';
import type { Exchange } from './chain.js';
import { requeue, retryRequest } from './outcomes.js';
import type { BuiltinMiddleware } from './types.js';

/**
 * Retries, the one place they are decided: which responses and errors are
 * worth another attempt (here), and how long each waits and how many there
 * are (`retryDelayFor`, for every retry a middleware asks for, this one's or
 * a spider's, and a crashed parser worker's).
 */

/**
 * Whether an error is a timeout that ran while the event loop was frozen (a
 * callback computing in the main thread): the clock ran, the server is not to blame.
 */
export const stalled = (err: Error, ctx: Exchange, lag: LagMonitor | undefined): boolean =>
  err instanceof FetchError && err.reason.startsWith('timeout:') && lag !== undefined && lag.stalledSince(ctx.sentAt);

/**
 * How long a request waits before its next attempt, or null when its
 * attempts (`maxAttempts`, the first included) are used up. `delayMs`, when
 * a middleware asked for one (a Retry-After, a robots.txt's retry time), is
 * capped at `maxRetryAfterMs`; otherwise exponential backoff with jitter.
 */
export function retryDelayFor(attempt: number, delayMs: number | null, policy: RetrySettings): number | null {
  return attempt < policy.maxAttempts ? retryDelay(attempt, delayMs, policy) : null;
}

/**
 * Retries the statuses of `retry.statuses` (after their Retry-After, when
 * they send one) and the errors that may pass (timeouts, network errors),
 * not those that would come again (too-large, blocked, a redirect loop). A
 * timeout that overlapped an event-loop stall goes back to the queue without
 * counting an attempt (`stallRetries`).
 */
export function retryMiddleware(policy: RetrySettings, lag?: LagMonitor, stats?: Stats): BuiltinMiddleware {
  return {
    name: 'retry',
    about: 'retries statuses in retry.statuses (after Retry-After), timeouts and network errors, with backoff, up to retry.maxAttempts (retry.*)',
    purposes: ['crawl', 'parse'],
    response(res, req) {
      if (!isRetryableStatus(res.status, policy)) return res;
      return retryRequest(req, { reason: httpReason(res.status), status: res.status, delayMs: parseRetryAfter(res.headers['retry-after']) ?? undefined });
    },
    error(err, req, ctx) {
      if (!(err instanceof FetchError) || !err.retryable) return;
      if (stalled(err, ctx, lag)) {
        if (stats) stats.stallRetries++;
        return requeue();
      }
      return retryRequest(req, { reason: err.reason, status: err.status });
    },
  };
}

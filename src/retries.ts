import type { QueuedRequest } from './frontier/frontier.js';
import type { Logger } from './log.js';
import { formatDuration, type Stats } from './stats.js';

/** Hosts named at info level; past them, retries are logged at debug level only, so a crawl of the web cannot flood the log. */
const MAX_HOSTS = 100;

/** What the scheduler tells about retries: one decided, and requests taken from the frontier. */
export interface RetryTracker {
  /** `req` will be retried in `delayMs` because of `reason`. */
  waiting(req: QueuedRequest, reason: string, delayMs: number): void;
  /** Requests taken from the frontier: those on a second or later attempt no longer wait. */
  taken(batch: readonly QueuedRequest[]): void;
}

/**
 * Keeps `stats.retrying`, the requests waiting for a retry (the status line
 * shows it), and says at info level when a start URL or a robots.txt is
 * retried: once per host, with the reason and the wait, so that a start URL
 * whose server refuses connections shows in the log at once, instead of a
 * status line reading `pages 0 · failed 0` for the minute and a half its
 * attempts take. Other retries, and the next ones on the same host, are
 * logged at debug level. With a shared frontier another worker may take the
 * retry, so the count is left at 0 rather than drift.
 */
export function retryTracker(log: Logger, maxAttempts: number, stats: Stats, shared: boolean): RetryTracker {
  const told = new Set<string>();
  return {
    waiting(req, reason, delayMs) {
      if (!shared) stats.retrying++;
      const robots = reason.startsWith('robots:');
      const wait = formatDuration(delayMs);
      if ((req.depth === 0 || robots) && !told.has(req.host) && told.size < MAX_HOSTS) {
        told.add(req.host);
        const then = `retried in ${wait} (attempt ${req.attempts} of ${maxAttempts}); further retries on ${req.host} are logged at debug level`;
        log.info(
          robots
            ? `robots.txt of ${req.host} cannot be read (${reason.slice('robots:'.length)}): its requests wait, ${then}`
            : `start URL ${req.url} failed (${reason}): ${then}`,
        );
      } else log.debug(`retry ${req.url} (${reason}, attempt ${req.attempts}) in ${wait}`);
    },
    taken(batch) {
      // A request's attempts count the one starting now: past the first, it was waiting for this retry.
      if (!shared) stats.retrying = Math.max(0, stats.retrying - batch.filter((r) => r.attempts > 1).length);
    },
  };
}

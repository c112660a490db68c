import type { Logger } from '../log.js';
import type { Exchange } from '../middleware/chain.js';

/** How often the watchdog looks for requests in flight past their deadline. */
export const WATCHDOG_MS = 5_000;

/**
 * The fetcher's own deadline should end every exchange; a request past it
 * means a bug or a stuck socket, and the log says which, instead of the
 * crawl just going quiet. `inFlight` is what the `stats` middleware keeps.
 * Returns the function that stops it.
 */
export function startWatchdog(inFlight: ReadonlySet<Exchange>, requestMs: number, log: Logger): () => void {
  const timer = setInterval(() => {
    const limit = requestMs + WATCHDOG_MS;
    for (const ex of inFlight) {
      const age = Date.now() - ex.sentAt;
      if (age > limit) log.warn(`watchdog: ${ex.first.url} in flight for ${Math.round(age / 1000)} s (deadline ${requestMs / 1000} s)`);
    }
  }, WATCHDOG_MS);
  timer.unref();
  return () => clearInterval(timer);
}

import Bottleneck from 'bottleneck';
import type { Settings } from '../settings.js';

/** Per-host politeness and the global concurrency cap. */
export interface Limiter {
  /** Runs `fn` when both its host and the crawl have a free slot, and the host's delay has passed. */
  schedule<T>(host: string, fn: () => Promise<T>): Promise<T>;
  /** Sets a host's minimum time between request starts (e.g. from its Crawl-delay). */
  setDelay(host: string, ms: number): void;
  /** Drops jobs still waiting (their promises reject); running ones finish. */
  stop(): Promise<void>;
}

/**
 * One bottleneck limiter per host (maxConcurrent, minTime), chained into one
 * global limiter, so a job holds its host slot and then a global slot.
 */
export function createLimiter(settings: Settings): Limiter {
  const global = new Bottleneck({ maxConcurrent: settings.concurrency });
  const delays = new Map<string, number>();
  const group = new Bottleneck.Group({
    maxConcurrent: settings.perHost.concurrency,
    minTime: settings.perHost.delayMs,
  });
  // The group forgets idle hosts after a while; a re-created limiter gets its delay back here.
  group.on('created', (limiter: Bottleneck, host: string) => {
    limiter.chain(global);
    const delay = delays.get(host);
    if (delay !== undefined) limiter.updateSettings({ minTime: delay });
  });
  return {
    schedule: (host, fn) => group.key(host).schedule(fn),
    setDelay(host, ms) {
      const minTime = Math.max(settings.perHost.delayMs, ms);
      delays.set(host, minTime);
      group.key(host).updateSettings({ minTime });
    },
    async stop() {
      const stops = group.limiters().map(({ limiter }) => limiter.stop({ dropWaitingJobs: true }).catch(() => {}));
      await Promise.all(stops);
      await Promise.resolve(group.disconnect()).catch(() => {});
    },
  };
}

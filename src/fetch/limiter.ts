import Bottleneck from 'bottleneck';
import { LimiterStoppedError } from '../errors.js';
import type { Settings } from '../settings.js';

/** Per-host politeness and the global concurrency cap. */
export interface Limiter {
  /** Runs `fn` when its host and the crawl have a free slot and the host's delay has passed. */
  schedule<T>(host: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Sets one source of a host's minimum time between request starts: its
   * robots.txt Crawl-delay, or the adaptive throttle. The largest of these and
   * `perHost.delayMs` is in force.
   */
  setDelay(host: string, source: DelaySource, ms: number): void;
  /** Rejects jobs still waiting; running ones finish. */
  stop(): Promise<void>;
}

/** Where a host delay comes from. */
export type DelaySource = 'robots' | 'throttle';

export { LimiterStoppedError };

/** A counting semaphore: the slots of one host, or of the whole crawl. */
class Slots {
  #free: number;
  #waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next.resolve();
    else this.#free++;
  }
  rejectAll(err: Error): void {
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }
}

/**
 * Concurrency is counted here, per host and globally, with plain semaphores;
 * spacing between a host's requests (a delay, a Crawl-delay) is bottleneck's
 * job, through one limiter per delayed host. Hosts without a delay never
 * enter bottleneck: its datastore yields to the event loop (setTimeout 0)
 * several times per job, which measured here halved the pages/s of a fast
 * local crawl, for a limit that is only a counter.
 */
export function createLimiter(settings: Settings): Limiter {
  const global = new Slots(settings.concurrency);
  const hosts = new Map<string, { slots: Slots; users: number }>();
  const delays: Record<DelaySource, Map<string, number>> = { robots: new Map(), throttle: new Map() };
  const delayOf = (host: string) =>
    Math.max(settings.perHost.delayMs, delays.robots.get(host) ?? 0, delays.throttle.get(host) ?? 0);
  const spacing = new Bottleneck.Group({ maxConcurrent: null });
  spacing.on('created', (limiter: Bottleneck, host: string) => limiter.updateSettings({ minTime: delayOf(host) }));
  let stopped = false;

  return {
    async schedule(host, fn) {
      if (stopped) throw new LimiterStoppedError();
      let entry = hosts.get(host);
      if (!entry) hosts.set(host, (entry = { slots: new Slots(settings.perHost.concurrency), users: 0 }));
      entry.users++;
      try {
        await entry.slots.acquire();
        try {
          if (delayOf(host) > 0) {
            try {
              await spacing.key(host).schedule(() => Promise.resolve());
            } catch (err) {
              // Bottleneck rejects waiting jobs with its own error on stop; callers know ours.
              throw stopped ? new LimiterStoppedError() : err;
            }
          }
          await global.acquire();
          try {
            if (stopped) throw new LimiterStoppedError();
            return await fn();
          } finally {
            global.release();
          }
        } finally {
          entry.slots.release();
        }
      } finally {
        // Forget idle hosts, so a crawl over a million hosts does not keep a million entries.
        if (--entry.users === 0) hosts.delete(host);
      }
    },
    setDelay(host, source, ms) {
      if (ms > 0) delays[source].set(host, ms);
      else delays[source].delete(host);
      spacing.key(host).updateSettings({ minTime: delayOf(host) });
    },
    async stop() {
      stopped = true;
      const err = new LimiterStoppedError();
      global.rejectAll(err);
      for (const { slots } of hosts.values()) slots.rejectAll(err);
      await Promise.all(spacing.limiters().map(({ limiter }) => limiter.stop({ dropWaitingJobs: true }).catch(() => {})));
      stopGroup(spacing);
    },
  };
}

/**
 * Stops a bottleneck Group's cleanup of idle limiters: an interval (every
 * `timeout / 2`, unref'd) that bottleneck 2.19.5 starts with the Group and
 * never clears, not even on disconnect (lib/Group.js `_startAutoCleanup`),
 * so each stopped limiter would leave one firing for the life of the process.
 */
export function stopGroup(group: Bottleneck.Group): void {
  clearInterval((group as unknown as { interval?: NodeJS.Timeout }).interval);
}

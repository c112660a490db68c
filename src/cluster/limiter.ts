import Bottleneck from 'bottleneck';
import type { Redis } from 'ioredis';
import type { Settings } from '../settings.js';
import { createLimiter, LimiterStoppedError, stopGroup, type DelaySource, type Limiter } from '../fetch/limiter.js';
import type { ClusterConnection } from './connection.js';
import { clusterKeys } from './keys.js';

/** Where the workers of one crawl meet, and what they crawl. */
export interface ClusterLimiterOptions {
  /** This worker's connections to the Redis every worker uses (its owner closes them, after {@link Limiter.stop}). */
  connection: ClusterConnection;
  /** The spider's name: workers of one spider share limits; other spiders on the same Redis do not. */
  spider: string;
  /**
   * How long a job may hold a host slot before the cluster takes it back, so
   * a worker killed mid-request does not hold its slots forever. Default:
   * `timeouts.requestMs` plus {@link EXPIRATION_MARGIN_MS}.
   */
  expirationMs?: number;
  /**
   * How often each host limiter of this worker looks for slots freed by
   * expiration (bottleneck's `heartbeatInterval`): the longest a worker waits
   * past an expiration. Default 5000.
   */
  heartbeatMs?: number;
}

/** Beyond `timeouts.requestMs`, what a slot's holder gets (waiting for a global slot, reading the body) before it is presumed dead. */
export const EXPIRATION_MARGIN_MS = 10_000;
/** Idle hosts' limiter state (Redis keys, local limiters) is dropped after this long. */
const IDLE_HOST_MS = 5 * 60_000;

/**
 * The {@link Limiter} of one worker in a cluster: per-host concurrency and
 * spacing are counted in Redis by bottleneck's clustering (one limiter per
 * host in a Group under `crawlkit:{SPIDER}:host`), so `perHost.concurrency`
 * caps the host's requests from all workers together, and `minTime` (the
 * largest of `perHost.delayMs`, Crawl-delay and the throttle) spaces the
 * starts of all of them. The global `concurrency` stays this worker's own (a
 * local semaphore): it sizes this process, not the site's load.
 *
 * Stale state from an earlier crawl is overwritten rather than cleared
 * (`clearDatastore: false`: clearing would wipe the running counts of workers
 * already at work): each worker writes its settings into a host's limiter when
 * it first meets the host, slots of killed workers are freed when their jobs
 * expire, and idle hosts' keys expire after five minutes. A crawl that starts
 * afresh can forget it all first with {@link resetClusterLimits}.
 *
 * Every worker should run with the same settings: the last one to meet a host,
 * or to change its delay (the adaptive throttle does), sets it for all.
 */
export function createClusterLimiter(settings: Settings, options: ClusterLimiterOptions): Limiter {
  // The global cap is the local limiter's (a semaphore); with no host limit or delay it never enters bottleneck.
  const local = createLimiter({ ...settings, perHost: { ...settings.perHost, concurrency: Infinity, delayMs: 0 } });
  const expiration = options.expirationMs ?? settings.timeouts.requestMs + EXPIRATION_MARGIN_MS;
  const delays: Record<DelaySource, Map<string, number>> = { robots: new Map(), throttle: new Map() };
  const delayOf = (host: string) =>
    Math.max(settings.perHost.delayMs, delays.robots.get(host) ?? 0, delays.throttle.get(host) ?? 0);
  const hosts = new Bottleneck.Group({
    datastore: 'ioredis',
    connection: options.connection.bottleneck(),
    id: clusterKeys(options.spider).limiterGroup,
    clearDatastore: false,
    timeout: IDLE_HOST_MS,
    heartbeatInterval: options.heartbeatMs ?? 5000,
    maxConcurrent: settings.perHost.concurrency,
    minTime: settings.perHost.delayMs,
  });
  // A limiter's Redis settings are written only when its keys do not exist yet;
  // an earlier crawl's (another cap, another delay) would otherwise stay in force.
  hosts.on('created', (limiter: Bottleneck, host: string) => {
    limiter.on('error', () => {});
    update(limiter, { maxConcurrent: settings.perHost.concurrency, minTime: delayOf(host) });
  });
  let stopped = false;
  let stopping: Promise<void> | undefined;

  return {
    async schedule(host, fn) {
      if (stopped) throw new LimiterStoppedError();
      // The bottleneck job only holds the host slot; `fn` runs outside it, so an
      // expiration frees the slot cluster-wide without failing a request still running.
      const release = await new Promise<() => void>((granted, refused) => {
        hosts
          .key(host)
          .schedule({ expiration }, () => new Promise<void>((done) => granted(done)))
          .catch((err: unknown) => refused(stopped ? new LimiterStoppedError() : err));
      });
      try {
        return await local.schedule(host, fn);
      } finally {
        release();
      }
    },
    setDelay(host, source, ms) {
      if (stopped) return;
      if (ms > 0) delays[source].set(host, ms);
      else delays[source].delete(host);
      update(hosts.key(host), { minTime: delayOf(host) });
    },
    stop() {
      // The scheduler and the crawl both stop the limiter; the second call waits for the first.
      stopping ??= (async () => {
        stopped = true;
        const waiting = local.stop();
        // Running jobs finish (their slots are given back in Redis) before the connection closes.
        await Promise.all(hosts.limiters().map(({ limiter }) => limiter.stop({ dropWaitingJobs: true }).catch(() => {})));
        // The hosts' heartbeats stop with the connection (ClusterConnection.close), the only place bottleneck clears them.
        stopGroup(hosts);
        await waiting;
      })();
      return stopping;
    },
  };
}

/**
 * Forgets the cluster's per-host limiter state of a spider: running counts,
 * delays, queued counts. For a crawl that starts afresh (not one that other
 * workers are already running): slots held by workers of an earlier crawl that
 * were killed would otherwise be counted until their jobs expire. Resolves to
 * the number of Redis keys deleted.
 */
export async function resetClusterLimits(redis: Redis, spider: string): Promise<number> {
  let deleted = 0;
  for await (const keys of redis.scanStream({ match: clusterKeys(spider).limiterKeys, count: 500 }) as AsyncIterable<string[]>) {
    if (keys.length > 0) deleted += await redis.del(...keys);
  }
  return deleted;
}

/**
 * Writes settings into a clustered limiter's Redis state. A failure (Redis
 * gone) also fails the jobs, which report it; here it is only not left unhandled.
 */
function update(limiter: Bottleneck, settings: Bottleneck.ConstructorOptions): void {
  // bottleneck's typings say updateSettings returns the limiter; it returns a promise of it.
  void Promise.resolve(limiter.updateSettings(settings) as unknown as Promise<Bottleneck>).catch(() => {});
}

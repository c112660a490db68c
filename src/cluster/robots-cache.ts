import { Redis, type RedisOptions } from 'ioredis';
import type { RobotsCache, SharedRobotsEntry } from '../fetch/robots.js';

/** A {@link RobotsCache} in Redis, with the connection to close when the crawl ends. */
export interface RedisRobotsCache extends RobotsCache {
  /** Closes the Redis connection. */
  close(): Promise<void>;
}

/** SET NX PX of the lock, unless the entry is already there. */
const LOCK_SCRIPT = `
if redis.call('exists', KEYS[1]) == 1 then return 0 end
if redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`;

/**
 * robots.txt outcomes shared by the workers of one spider's crawl, under
 * `crawlkit:SPIDER:robots:ORIGIN` (JSON, with a TTL), and the fetch lock under
 * `crawlkit:SPIDER:robots-lock:ORIGIN` (SET NX PX: it lapses if its holder dies;
 * storing the entry releases it).
 */
export function createRedisRobotsCache(options: { redis: string | RedisOptions; spider: string; /** With a URL: options of the ioredis client. */ clientOptions?: RedisOptions }): RedisRobotsCache {
  const redis = typeof options.redis === 'string' ? new Redis(options.redis, options.clientOptions ?? {}) : new Redis(options.redis);
  // Failures reach the callers as rejections; the event must not crash the process as unhandled.
  redis.on('error', () => {});
  const key = (kind: string, origin: string) => `crawlkit:${options.spider}:${kind}:${origin}`;
  return {
    async get(origin) {
      const json = await redis.get(key('robots', origin));
      return json === null ? null : (JSON.parse(json) as SharedRobotsEntry);
    },
    async set(origin, entry, ttlMs) {
      // The lock goes with it: when this entry expires (an unavailable one after 30 s), the next fetch must not wait for a lock that outlives it.
      await redis.multi().set(key('robots', origin), JSON.stringify(entry), 'PX', Math.max(1, Math.round(ttlMs))).del(key('robots-lock', origin)).exec();
    },
    async lock(origin, ms) {
      // Atomic with a look at the entry: a worker that found none just before another stored it (and
      // released the lock) must not take the lock and fetch again.
      const taken = await redis.eval(LOCK_SCRIPT, 2, key('robots', origin), key('robots-lock', origin), String(process.pid), Math.max(1, Math.round(ms)));
      return taken === 1;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

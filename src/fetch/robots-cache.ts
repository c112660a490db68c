import { Redis, type RedisOptions } from 'ioredis';
import type { RobotsCache, SharedRobotsEntry } from './robots.js';

/** A {@link RobotsCache} in Redis, with the connection to close when the crawl ends. */
export interface RedisRobotsCache extends RobotsCache {
  /** Closes the Redis connection. */
  close(): Promise<void>;
}

/**
 * robots.txt outcomes shared by the workers of one spider's crawl, under
 * `crawlkit:SPIDER:robots:ORIGIN` (JSON, with a TTL), and the fetch lock under
 * `crawlkit:SPIDER:robots-lock:ORIGIN` (SET NX PX: it lapses if its holder dies;
 * storing the entry releases it).
 */
export function createRedisRobotsCache(options: { redis: string | RedisOptions; spider: string }): RedisRobotsCache {
  const redis = typeof options.redis === 'string' ? new Redis(options.redis) : new Redis(options.redis);
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
      return (await redis.set(key('robots-lock', origin), String(process.pid), 'PX', Math.max(1, Math.round(ms)), 'NX')) === 'OK';
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

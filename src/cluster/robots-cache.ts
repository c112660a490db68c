import type { Redis } from 'ioredis';
import type { RobotsCache, SharedRobotsEntry } from '../fetch/robots.js';
import { clusterKeys } from './keys.js';

/** SET NX PX of the lock, unless the entry is already there. */
const LOCK_SCRIPT = `
if redis.call('exists', KEYS[1]) == 1 then return 0 end
if redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`;

/**
 * robots.txt outcomes shared by the workers of one spider's crawl, each
 * origin's under `crawlkit:{SPIDER}:robots:ORIGIN` (JSON, with a TTL), and
 * the fetch lock under `crawlkit:{SPIDER}:robots-lock:ORIGIN` (SET NX PX: it
 * lapses if its holder dies; storing the entry releases it). Goes through
 * `redis`, the worker's client, which its owner closes.
 */
export function createRedisRobotsCache(redis: Redis, spider: string): RobotsCache {
  const keys = clusterKeys(spider);
  return {
    async get(origin) {
      const json = await redis.get(keys.robots(origin));
      return json === null ? null : (JSON.parse(json) as SharedRobotsEntry);
    },
    async set(origin, entry, ttlMs) {
      // The lock goes with it: when this entry expires (an unavailable one after 30 s), the next fetch must not wait for a lock that outlives it.
      await redis.multi().set(keys.robots(origin), JSON.stringify(entry), 'PX', Math.max(1, Math.round(ttlMs))).del(keys.robotsLock(origin)).exec();
    },
    async lock(origin, ms) {
      // Atomic with a look at the entry: a worker that found none just before another stored it (and
      // released the lock) must not take the lock and fetch again.
      const taken = await redis.eval(LOCK_SCRIPT, 2, keys.robots(origin), keys.robotsLock(origin), String(process.pid), Math.max(1, Math.round(ms)));
      return taken === 1;
    },
  };
}

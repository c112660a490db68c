/**
 * The Redis connections of a cluster worker: one client for every command
 * (frontier, runs, items, per-host limits, robots.txt), plus the subscriber
 * bottleneck's clustering needs for pub/sub (a subscribed connection can run
 * nothing else); how they are opened, named and closed, and how they behave
 * when Redis goes away. `crawl export|collect|runs --frontier` use one client.
 */
import Bottleneck from 'bottleneck';
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, StorageError } from '../errors.js';

/** Reconnection attempts, with a growing pause, before a command fails: about 20 s without Redis. */
const RETRIES_PER_COMMAND = 12;
const CONNECT_TIMEOUT_MS = 5_000;
const COMMAND_TIMEOUT_MS = 5_000;

/**
 * How crawlkit's Redis clients behave: a lost connection is retried with
 * backoff (about 20 s) before commands fail, and a Redis that hangs (paused,
 * swapping) fails them too, rather than stalling the crawl for ever.
 */
export const redisOptions: RedisOptions = {
  connectTimeout: CONNECT_TIMEOUT_MS,
  maxRetriesPerRequest: RETRIES_PER_COMMAND,
  commandTimeout: COMMAND_TIMEOUT_MS,
  retryStrategy: (times) => Math.min(200 * times, 2_000),
};

/** The URL with any password hidden, for messages. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href.replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * The name a connection gives itself (CLIENT SETNAME), so `CLIENT LIST` on
 * the server tells whose each connection is. Redis refuses spaces and
 * newlines in it; anything unusual in a host name becomes `_`.
 */
export const connectionName = (...parts: string[]): string => ['crawlkit', ...parts].join(':').replace(/[^\w.:/@-]/g, '_');

/**
 * Connects to the Redis at `url` (`redis://host:port/db`, `rediss://` for TLS),
 * failing with one clear line when the URL is malformed or nobody answers.
 * Once connected, a lost connection is retried with backoff (about 20 s)
 * before commands fail. `name` is the connection's CLIENT SETNAME, which
 * its duplicates (bottleneck's subscriber) share.
 */
export async function connectRedis(url: string, name = connectionName()): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`bad --frontier URL ${JSON.stringify(url)}: expected redis://host:port`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ConfigError(`bad --frontier URL ${JSON.stringify(url)}: expected redis://host:port`);
  // Connected by hand, once, so that a Redis nobody answers at is one error rather than a retry loop.
  const redis = new Redis(url, { ...redisOptions, connectionName: name, lazyConnect: true });
  // Reported through the commands that fail (ioredis would print every attempt); the socket's own error says more than theirs.
  let socketError = '';
  redis.on('error', (err: Error) => (socketError = err.message));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new StorageError(`cannot reach Redis at ${redisLabel(url)}: ${socketError || (err as Error).message}`);
  }
  // Duplicates copy these options, and bottleneck waits for its duplicate (the subscriber) to be ready by itself.
  redis.options.lazyConnect = false;
  return redis;
}

/** A worker's connections to Redis. */
export interface ClusterConnection {
  /** The client every command goes through. */
  readonly redis: Redis;
  /**
   * bottleneck's view of it: the same client, plus the subscriber bottleneck
   * duplicates from it when first asked (its limiters learn through pub/sub
   * that another worker freed a slot).
   */
  bottleneck(): Bottleneck.IORedisConnection;
  /** Quits both (waiting for replies still due), and stops bottleneck's heartbeats, which only its disconnect clears. */
  close(): Promise<void>;
}

/** Connects a worker to the Redis at `url` (see {@link connectRedis}); `name` names both its connections. */
export async function openClusterConnection(url: string, name: string): Promise<ClusterConnection> {
  const redis = await connectRedis(url, name);
  let shared: Bottleneck.IORedisConnection | undefined;
  let closing: Promise<void> | undefined;
  return {
    redis,
    bottleneck() {
      if (!shared) {
        shared = new Bottleneck.IORedisConnection({ Redis, client: redis });
        // Redis errors reach the jobs as rejections; the events must not crash the process as unhandled.
        shared.on('error', () => {});
      }
      return shared;
    },
    close() {
      closing ??= (async () => {
        if (shared) await shared.disconnect(true).catch(() => shared!.disconnect(false));
        else await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

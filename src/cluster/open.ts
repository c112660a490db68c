/**
 * One process's place in a cluster: its connections to Redis and everything
 * that goes through them (runs, frontier and items; per-host limits;
 * robots.txt verdicts), opened together and closed together.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Limiter } from '../fetch/limiter.js';
import type { RobotsCache } from '../fetch/robots.js';
import type { Settings } from '../settings.js';
import type { CrawlBackend } from '../storage/backend.js';
import { createClusterBackend } from './backend.js';
import { connectionName, openClusterConnection, redisLabel } from './connection.js';
import { clusterKeys } from './keys.js';
import { createClusterLimiter } from './limiter.js';
import { createRedisRobotsCache } from './robots-cache.js';

/** A cluster worker: see {@link openCluster}. */
export interface ClusterWorker {
  /** The Redis URL with any password hidden, for messages and the summary. */
  readonly where: string;
  /** This worker (`host:pid:random`), as its leases, its stats and its connections' names show it. */
  readonly workerId: string;
  /** Runs, frontier and items in Redis. Its `close()` is the worker's. */
  readonly backend: CrawlBackend;
  /** Per-host concurrency and delays held for the whole cluster; the global `concurrency` stays this process's. */
  readonly limiter: Limiter;
  /** robots.txt verdicts shared by the cluster, each origin's fetched once (used when `obeyRobots` is on). */
  readonly robotsCache: RobotsCache;
  /**
   * Stops the frontier's lease heartbeat and the limiter (waiting jobs are
   * rejected, running ones finish), then closes both connections. Every
   * timer the worker started is stopped. Safe to call more than once.
   */
  close(): Promise<void>;
}

/**
 * Joins the cluster of `spider` on the Redis at `url`: one connection for
 * every command, plus the subscriber bottleneck's pub/sub needs, both named
 * `crawlkit:SPIDER:WORKER` (CLIENT LIST shows whose they are). Fails with one
 * line (ConfigError, StorageError) for a bad URL or a Redis that does not
 * answer. `settings` are the crawl's, for the limiter: `concurrency`,
 * `perHost`, and `timeouts.requestMs` (a killed worker's host slots expire
 * 10 s after it).
 */
export async function openCluster(url: string, spider: string, settings: Settings): Promise<ClusterWorker> {
  const keys = clusterKeys(spider);
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const connection = await openClusterConnection(url, connectionName(spider, workerId));
  const limiter = createClusterLimiter(settings, { connection, spider });
  const robotsCache = createRedisRobotsCache(connection.redis, spider);
  const where = redisLabel(url);
  const teardown = async () => {
    await limiter.stop();
    await connection.close();
  };
  const backend = createClusterBackend({ redis: connection.redis, where, spider, keys, workerId, limiter, robotsCache, teardown });
  return { where, workerId, backend, limiter, robotsCache, close: () => backend.close() };
}

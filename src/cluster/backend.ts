/**
 * A crawl shared through Redis by any number of processes (`--frontier
 * redis://...`): the frontier, the run and the items live there. Each process
 * is a worker with its own stats; the run finishes when its frontier is
 * empty and no worker holds a request.
 */
import type { Redis } from 'ioredis';
import { ConfigError, StorageError } from '../errors.js';
import type { Limiter } from '../fetch/limiter.js';
import type { RobotsCache } from '../fetch/robots.js';
import type { CrawlBackend } from '../storage/backend.js';
import { clearRedisFrontier, createRedisFrontier, type RedisFrontier } from './frontier.js';
import type { ClusterKeys } from './keys.js';
import { resetClusterLimits } from './limiter.js';
import { redisPatternStore } from './render-patterns.js';
import { redisSessionStore } from './sessions.js';
import { finishRun, forgetCurrentRun, joinOrCreateRun, recordStarts, saveWorkerStats, startsOf } from './runs.js';

/** What a cluster backend works with: the worker's parts, which `open.ts` makes. */
export interface ClusterBackendParts {
  redis: Redis;
  /** The Redis URL with any password hidden. */
  where: string;
  spider: string;
  keys: ClusterKeys;
  workerId: string;
  limiter: Limiter;
  robotsCache: RobotsCache;
  /** Stops the limiter and closes the connections, after the backend's own frontier. */
  teardown(): Promise<void>;
}

/** The errors of a Redis that went away (or stopped answering), in ioredis's words. */
const LOST = /MaxRetriesPerRequest|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT/;

/** The {@link CrawlBackend} of a cluster worker; its `close()` closes the whole worker. */
export function createClusterBackend(parts: ClusterBackendParts): CrawlBackend {
  const { redis, keys, workerId, where } = parts;
  let frontier: RedisFrontier | undefined;
  let closing: Promise<void> | undefined;
  return {
    where,
    async begin({ spider, fresh, cache, replay, columns, settings, log }) {
      if (cache || replay) throw new ConfigError('--cache and --replay keep responses in the local database: they cannot be used with --frontier');
      if (fresh) {
        await clearRedisFrontier(redis, parts.spider);
        await forgetCurrentRun(redis, keys);
      }
      const { id, joined } = await joinOrCreateRun(redis, keys, spider.args, columns);
      frontier = createRedisFrontier(redis, { spider: parts.spider, runId: id, workerId, leaseMs: settings.frontierLeaseMs });
      const back = await frontier.requeueInFlight();
      // A new run starts from clean per-host limits: slots an earlier crawl's killed workers held would wait out their expiration.
      if (!joined) await resetClusterLimits(redis, parts.spider);
      log.info(`${joined ? 'joining' : 'starting'} run ${id} of '${parts.spider}' on ${where} as worker ${workerId}${back ? ` (${back} requests of lost workers back in the queue)` : ''}`);
      return {
        runId: id,
        mode: 'crawl',
        resumed: joined,
        stats: null,
        ...(await startsOf(redis, keys, id)),
        frontier,
      };
    },
    async save(runId, stats, status) {
      await saveWorkerStats(redis, keys, runId, workerId, stats);
      // A worker that stops leaves the run to the others (it resumes when one starts again); the run finishes once, when its frontier is done.
      if (status === 'finished') await finishRun(redis, keys, runId);
    },
    startsDone: (runId, scope) => recordStarts(redis, keys, runId, scope),
    sessions: (runId) => redisSessionStore(redis, keys, runId),
    renderPatterns: (runId) => redisPatternStore(redis, keys, runId),
    cacheMisses: () => [],
    failure(err) {
      if (err instanceof StorageError || err instanceof ConfigError) return err;
      const message = `${(err as Error)?.name ?? ''} ${(err as Error)?.message}`;
      if (LOST.test(message)) return new StorageError(`lost Redis at ${where}: ${(err as Error).message}; everything committed is kept there, start the worker again to continue`, { cause: err });
      return err;
    },
    close() {
      closing ??= (async () => {
        await frontier?.close();
        await parts.teardown();
      })();
      return closing;
    },
  };
}

import { createLimiter, type Limiter } from '../fetch/limiter.js';
import type { RobotsCache } from '../fetch/robots.js';
import type { Settings } from '../settings.js';
import type { CrawlBackend } from '../storage/backend.js';
import { localBackend } from '../storage/local.js';

/**
 * Where a run keeps its state (the backend: runs, frontier, items), and
 * what it shares with the other workers of a cluster: per-host limits and
 * robots.txt. One process keeps its own.
 */
export interface RunStore {
  backend: CrawlBackend;
  /** The run's limits: this process's own; in a cluster, per-host limits every worker shares (`concurrency` stays each process's). */
  limiter(settings: Settings): Limiter;
  /** Where robots.txt outcomes are shared, so a cluster fetches each once; none for one process. */
  robotsCache?: RobotsCache;
  /** Closes what it opened, the backend last. */
  close(): Promise<void>;
}

/** A run kept in `storageDir/<spider>.sqlite`, by this process alone. */
export function localStore(storageDir: string, spider: string, options: { replay: boolean }): RunStore {
  const backend = localBackend(storageDir, spider, options);
  return { backend, limiter: createLimiter, close: () => backend.close() };
}

/**
 * A run shared through the Redis at `url` by every worker given the same URL
 * and spider: one connection for all of it (see cluster/open.ts), the
 * per-host limiter made with the settings given here.
 */
export async function clusterStore(url: string, spider: string, settings: Settings): Promise<RunStore> {
  // Imported here: ioredis and the cluster's scripts add 24 MB of RSS (7 MB of V8 heap) to a process that loads them.
  const { openCluster } = await import('../cluster/open.js');
  const worker = await openCluster(url, spider, settings);
  return {
    backend: worker.backend,
    limiter: () => worker.limiter,
    robotsCache: settings.obeyRobots ? worker.robotsCache : undefined,
    close: () => worker.close(),
  };
}

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, StorageError } from '../errors.js';
import { resetClusterLimits } from '../fetch/cluster-limiter.js';
import { createRedisFrontier, LUA_NOW, type RedisFrontier } from '../frontier/redis.js';
import type { RunScope } from '../run-scope.js';
import type { Stats } from '../stats.js';
import type { CrawlBackend } from './backend.js';
import type { Run, RunMode, RunStatus } from './runs.js';

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
 * Connects to the Redis at `url` (`redis://host:port/db`, `rediss://` for TLS),
 * failing with one clear line when the URL is malformed or nobody answers.
 * Once connected, a lost connection is retried with backoff (about 20 s)
 * before commands fail.
 */
export async function connectRedis(url: string): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`bad --frontier URL ${JSON.stringify(url)}: expected redis://host:port`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ConfigError(`bad --frontier URL ${JSON.stringify(url)}: expected redis://host:port`);
  const redis = new Redis(url, { ...redisOptions, lazyConnect: true });
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
  return redis;
}

/** Keys of a spider's runs in Redis, beside its frontier. */
function runKeys(spider: string) {
  const base = `crawlkit:{${spider}}:`;
  return {
    seq: `${base}runs:seq`,
    current: `${base}runs:current`,
    runPrefix: `${base}run:`,
    run: (id: number) => `${base}run:${id}`,
    workers: (id: number) => `${base}run:${id}:workers`,
  };
}

/**
 * Joins the spider's running run, or starts one: atomically, so workers
 * started together all join the same run. KEYS: seq, current. ARGV: the new
 * run's fields as JSON, the key prefix of runs. Returns [id, 'joined' | 'created'].
 */
const JOIN_OR_CREATE = `
local current = redis.call('GET', KEYS[2])
if current and redis.call('HGET', ARGV[2] .. current, 'status') == 'running' then return { tonumber(current), 'joined' } end
local id = redis.call('INCR', KEYS[1])
${LUA_NOW}
local fields = cjson.decode(ARGV[1])
redis.call('HSET', ARGV[2] .. id, 'status', 'running', 'args', fields.args, 'mode', 'crawl', 'columns', fields.columns, 'started_at', now, 'starts_done', 0)
redis.call('SET', KEYS[2], id)
return { id, 'created' }
`;

/**
 * A crawl shared through Redis by any number of processes (`--frontier
 * redis://...`): the frontier, the run and the items live there. Each process
 * is a worker with its own stats; the run finishes when its frontier is
 * empty and no worker holds a request.
 */
export async function clusterBackend(url: string, spider: string): Promise<CrawlBackend> {
  const redis = await connectRedis(url);
  const keys = runKeys(spider);
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  let frontier: RedisFrontier | undefined;
  return {
    where: redisLabel(url),
    async begin({ spider, fresh, cache, replay, columns, settings, log }) {
      if (cache || replay) throw new ConfigError('--cache and --replay keep responses in the local database: they cannot be used with --frontier');
      if (fresh) {
        await createRedisFrontier(redis, { spider: spider.name, runId: 0, workerId }).clear();
        await redis.del(keys.current);
      }
      const [id, how] = (await redis.eval(JOIN_OR_CREATE, 2, keys.seq, keys.current, JSON.stringify({ args: JSON.stringify(spider.args), columns: JSON.stringify(columns) }), keys.runPrefix)) as [
        number,
        string,
      ];
      frontier = createRedisFrontier(redis, { spider: spider.name, runId: id, workerId, leaseMs: settings.frontierLeaseMs });
      const back = await frontier.requeueInFlight();
      const joined = how === 'joined';
      // A new run starts from clean per-host limits: slots an earlier crawl's killed workers held would wait out their expiration.
      if (!joined) await resetClusterLimits({ redis: url, spider: spider.name, clientOptions: redisOptions });
      log.info(`${joined ? 'joining' : 'starting'} run ${id} of '${spider.name}' on ${redisLabel(url)} as worker ${workerId}${back ? ` (${back} requests of lost workers back in the queue)` : ''}`);
      return {
        runId: id,
        mode: 'crawl',
        resumed: joined,
        stats: null,
        ...(await startsOf(redis, keys.run(id))),
        frontier,
      };
    },
    async save(runId, stats, status) {
      await redis.hset(keys.workers(runId), workerId, JSON.stringify({ ...stats, inFlight: undefined }));
      // A worker that stops leaves the run to the others (it resumes when one starts again); the run finishes once, when its frontier is done.
      if (status === 'finished') await redis.eval(FINISH, 1, keys.run(runId));
    },
    startsDone: async (runId, scope) => void (await redis.hset(keys.run(runId), 'starts_done', 1, 'scope', JSON.stringify(scope))),
    cacheMisses: () => [],
    failure(err) {
      if (err instanceof StorageError || err instanceof ConfigError) return err;
      const name = (err as Error)?.name ?? '';
      if (/MaxRetriesPerRequest|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT/.test(`${name} ${(err as Error)?.message}`))
        return new StorageError(`lost Redis at ${redisLabel(url)}: ${(err as Error).message}; everything committed is kept there, start the worker again to continue`, { cause: err });
      return err;
    },
    async close() {
      await frontier?.close();
      redis.disconnect();
    },
  };
}

/** Whether a run's start requests are all enqueued, and the scope they gave it. */
async function startsOf(redis: Redis, key: string): Promise<{ startsDone: boolean; scope: RunScope | null }> {
  const [done, scope] = await redis.hmget(key, 'starts_done', 'scope');
  return { startsDone: done === '1', scope: scope ? (JSON.parse(scope) as RunScope) : null };
}

const FINISH = `
if redis.call('HGET', KEYS[1], 'status') == 'running' then
  ${LUA_NOW}
  redis.call('HSET', KEYS[1], 'status', 'finished', 'finished_at', now)
end
`;

/** Adds up the workers' counters: numbers summed, keyed counters (responses, failures) summed per key. */
export function sumStats(all: Partial<Stats>[]): Record<string, unknown> {
  const total: Record<string, unknown> = {};
  for (const stats of all)
    for (const [k, v] of Object.entries(stats)) {
      if (typeof v === 'number') total[k] = ((total[k] as number) ?? 0) + v;
      else if (v && typeof v === 'object' && k !== 'latency' && k !== 'hostDelays') {
        const into = (total[k] ??= {}) as Record<string, number>;
        for (const [kk, vv] of Object.entries(v)) if (typeof vv === 'number') into[kk] = (into[kk] ?? 0) + vv;
      }
    }
  return total;
}

/** The spider's runs in Redis, oldest first, each with its workers' stats added up. */
export async function listClusterRuns(redis: Redis, spider: string): Promise<Run[]> {
  const keys = runKeys(spider);
  const last = Number((await redis.get(keys.seq)) ?? 0);
  const runs: Run[] = [];
  for (let id = 1; id <= last; id++) {
    const h = await redis.hgetall(keys.run(id));
    if (!h.status) continue;
    const workers = Object.values(await redis.hgetall(keys.workers(id))).map((json) => JSON.parse(json) as Partial<Stats>);
    runs.push({
      id,
      spider,
      status: h.status as RunStatus,
      args: JSON.parse(h.args ?? '{}') as Record<string, string>,
      startedAt: Number(h.started_at),
      finishedAt: h.finished_at ? Number(h.finished_at) : null,
      startsDone: h.starts_done === '1',
      stats: workers.length ? { ...sumStats(workers), workers: workers.length, elapsedMs: Math.max(...workers.map((w) => w.elapsedMs ?? 0)) } : null,
      mode: (h.mode as RunMode) ?? 'crawl',
      columns: h.columns ? (JSON.parse(h.columns) as string[] | null) : null,
      scope: h.scope ? (JSON.parse(h.scope) as RunScope) : null,
    });
  }
  return runs;
}

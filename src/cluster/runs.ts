/**
 * A spider's runs in Redis, beside its frontier: each run a hash (status,
 * arguments, columns, times, whether its start requests are in, its scope),
 * the run being crawled, and each worker's stats, added up when read.
 */
import type { Redis } from 'ioredis';
import type { RunScope } from '../run-scope.js';
import { mergePatternViews } from '../browser/auto-states.js';
import type { Stats } from '../stats.js';
import type { Run, RunMode, RunStatus } from '../storage/runs.js';
import { clusterKeys, type ClusterKeys } from './keys.js';
import { LUA_NOW } from './lua.js';

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

const FINISH = `
if redis.call('HGET', KEYS[1], 'status') == 'running' then
  ${LUA_NOW}
  redis.call('HSET', KEYS[1], 'status', 'finished', 'finished_at', now)
end
`;

/** The spider's running run, joined, or a new one (`joined` false), recorded with the spider's arguments and item columns. */
export async function joinOrCreateRun(redis: Redis, keys: ClusterKeys, args: Readonly<Record<string, string>>, columns: string[] | null): Promise<{ id: number; joined: boolean }> {
  const fields = JSON.stringify({ args: JSON.stringify(args), columns: JSON.stringify(columns) });
  const [id, how] = (await redis.eval(JOIN_OR_CREATE, 2, keys.runs.seq, keys.runs.current, fields, keys.runs.runPrefix)) as [number, string];
  return { id, joined: how === 'joined' };
}

/** Leaves no run running: the next worker starts a new one (`--fresh`). */
export const forgetCurrentRun = async (redis: Redis, keys: ClusterKeys): Promise<void> => void (await redis.del(keys.runs.current));

/** Marks a run finished, once (the first worker to see its frontier done). */
export const finishRun = async (redis: Redis, keys: ClusterKeys, id: number): Promise<void> => void (await redis.eval(FINISH, 1, keys.runs.run(id)));

/** Saves one worker's stats with the run. */
export async function saveWorkerStats(redis: Redis, keys: ClusterKeys, id: number, workerId: string, stats: Stats): Promise<void> {
  await redis.hset(keys.runs.workers(id), workerId, JSON.stringify({ ...stats, inFlight: undefined }));
}

/** Records that a run's start requests are all enqueued, and the scope they gave it. */
export async function recordStarts(redis: Redis, keys: ClusterKeys, id: number, scope: RunScope): Promise<void> {
  await redis.hset(keys.runs.run(id), 'starts_done', 1, 'scope', JSON.stringify(scope));
}

/** Whether a run's start requests are all enqueued, and the scope they gave it. */
export async function startsOf(redis: Redis, keys: ClusterKeys, id: number): Promise<{ startsDone: boolean; scope: RunScope | null }> {
  const [done, scope] = await redis.hmget(keys.runs.run(id), 'starts_done', 'scope');
  return { startsDone: done === '1', scope: scope ? (JSON.parse(scope) as RunScope) : null };
}

/** Adds up the workers' counters: numbers summed, keyed counters (responses, failures) summed per key. */
export function sumStats(all: Partial<Stats>[]): Record<string, unknown> {
  const total: Record<string, unknown> = {};
  for (const stats of all)
    for (const [k, v] of Object.entries(stats)) {
      // The workers share one set of render patterns: merged below, not summed.
      if (k === 'renderPatterns' || k === 'renderPatternCount') continue;
      else if (typeof v === 'number') total[k] = ((total[k] as number) ?? 0) + v;
      else if (v && typeof v === 'object' && k !== 'latency' && k !== 'hostDelays') {
        const into = (total[k] ??= {}) as Record<string, number>;
        for (const [kk, vv] of Object.entries(v)) if (typeof vv === 'number') into[kk] = (into[kk] ?? 0) + vv;
      }
    }
  const views = all.map((stats) => stats.renderPatterns ?? []);
  if (all.some((stats) => stats.renderPatterns)) {
    total.renderPatterns = mergePatternViews(views);
    total.renderPatternCount = Math.max(...all.map((stats) => stats.renderPatternCount ?? 0));
  }
  return total;
}

/** The spider's runs in Redis, oldest first, each with its workers' stats added up. */
export async function listClusterRuns(redis: Redis, spider: string): Promise<Run[]> {
  const keys = clusterKeys(spider);
  const last = Number((await redis.get(keys.runs.seq)) ?? 0);
  const runs: Run[] = [];
  for (let id = 1; id <= last; id++) {
    const h = await redis.hgetall(keys.runs.run(id));
    if (!h.status) continue;
    const workers = Object.values(await redis.hgetall(keys.runs.workers(id))).map((json) => JSON.parse(json) as Partial<Stats>);
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
      itemKey: null, // a cluster's runs keep no item key: crawl ui reads local databases, and compares them by the field chosen on its page
    });
  }
  return runs;
}

import type { Redis } from 'ioredis';
import { NoDataError } from '../errors.js';
import { writeItems, type ExportOptions } from '../export/exporter.js';
import { redisLabel } from './connection.js';
import { clusterKeys } from './keys.js';
import { listClusterRuns } from './runs.js';
import type { Db } from '../storage/database.js';
import { createRun, listRuns, updateRun, type Run } from '../storage/runs.js';

/** Stream entries read per round trip. */
const PAGE = 1_000;

/** One stored item in a spider's Redis stream. */
export interface ClusterItem {
  /** The stream entry id (`ms-seq`), increasing. */
  entry: string;
  run: number;
  request: number;
  url: string;
  /** The item as JSON. */
  data: string;
}

/** The items in the stream after entry `after` (exclusive), oldest first, a page per round trip. */
export async function* clusterItems(redis: Redis, spider: string, after = '-'): AsyncGenerator<ClusterItem> {
  const key = clusterKeys(spider).items;
  let start = after === '-' ? '-' : `(${after}`;
  for (;;) {
    const page = await redis.xrange(key, start, '+', 'COUNT', PAGE);
    for (const [entry, list] of page) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < list.length; i += 2) f[list[i]!] = list[i + 1]!;
      yield { entry, run: Number(f.run), request: Number(f.request), url: f.url ?? '', data: f.data ?? '{}' };
    }
    if (page.length < PAGE) return;
    start = `(${page.at(-1)![0]}`;
  }
}

/** The cluster run to export: `runId`, or the latest. */
async function pickRun(redis: Redis, spider: string, runId?: number): Promise<Run> {
  const runs = await listClusterRuns(redis, spider);
  const run = runId === undefined ? runs.at(-1) : runs.find((r) => r.id === runId);
  if (!run) throw new NoDataError(runId === undefined ? `no run of spider '${spider}' in Redis: nothing to export` : `there is no run ${runId} of spider '${spider}' in Redis`);
  return run;
}

/**
 * Exports a cluster run's items straight from Redis (those not yet
 * collected). Without an item schema, CSV columns take one extra pass over
 * the stream. Returns how many items were written.
 */
export async function exportClusterRun(redis: Redis, spider: string, options: ExportOptions): Promise<number> {
  const run = await pickRun(redis, spider, options.runId);
  let count = 0;
  const columns = new Set<string>(run.columns ?? []);
  if (options.format === 'csv' && !run.columns)
    for await (const item of clusterItems(redis, spider)) if (item.run === run.id) for (const key of Object.keys(JSON.parse(item.data) as object)) columns.add(key);
  async function* items() {
    for await (const item of clusterItems(redis, spider))
      if (item.run === run.id) {
        count++;
        yield JSON.parse(item.data) as Record<string, unknown>;
      }
  }
  await writeItems(items(), { ...options, columns: [...columns] });
  if (count === 0) throw new NoDataError(`run ${run.id} has no items in Redis (collected already?): nothing to export`);
  return count;
}

/** Where a local run's items were collected from. */
interface CollectedFrom {
  redis: string;
  run: number;
  /** The last stream entry copied. */
  entry: string;
}

const collectedFrom = (run: Run): CollectedFrom | undefined => (run.stats as { collectedFrom?: CollectedFrom } | null)?.collectedFrom;

const entryOrder = (a: string, b: string): number => {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
};

/**
 * Moves the items in Redis into the spider's local database: each cluster
 * run's items into a local run of their own (with the cluster's stats), a
 * page per transaction that also records the last entry copied. The entries
 * are deleted from Redis only after that: a collect that dies half-way
 * leaves a record of how far it got, and the next one skips what was copied,
 * so every item arrives once. Returns the items copied, per cluster run.
 */
export async function collectItems(redis: Redis, db: Db, spider: string, url: string): Promise<Map<number, number>> {
  const source = redisLabel(url);
  const clusterRuns = new Map((await listClusterRuns(redis, spider)).map((r) => [r.id, r]));
  const local = new Map<number, { id: number; from: CollectedFrom }>();
  let after = '-';
  for (const run of listRuns(db)) {
    const from = collectedFrom(run);
    if (!from || from.redis !== source) continue;
    local.set(from.run, { id: run.id, from });
    if (after === '-' || entryOrder(from.entry, after) > 0) after = from.entry;
  }
  const insert = db.prepare('INSERT INTO items (run_id, request_id, url, data, created_at) VALUES (?, ?, ?, ?, ?)');
  const copied = new Map<number, number>();
  const commit = db.transaction((page: ClusterItem[]) => {
    const touched = new Set<number>();
    for (const item of page) {
      touched.add(item.run);
      let target = local.get(item.run);
      if (!target) {
        const cluster = clusterRuns.get(item.run);
        const run = createRun(db, spider, cluster?.args ?? {}, { columns: cluster?.columns ?? null });
        target = { id: run.id, from: { redis: source, run: item.run, entry: item.entry } };
        local.set(item.run, target);
      }
      insert.run(target.id, item.request, item.url, item.data, Date.now());
      target.from.entry = item.entry;
      copied.set(item.run, (copied.get(item.run) ?? 0) + 1);
    }
    for (const clusterRun of touched) {
      const target = local.get(clusterRun)!;
      const stats = { ...(clusterRuns.get(clusterRun)?.stats ?? {}), collectedFrom: target.from };
      updateRun(db, target.id, { status: 'finished', stats });
    }
  });
  let page: ClusterItem[] = [];
  let last = after;
  for await (const item of clusterItems(redis, spider, after)) {
    page.push(item);
    if (page.length >= PAGE) {
      commit(page);
      last = page.at(-1)!.entry;
      page = [];
    }
  }
  if (page.length) {
    commit(page);
    last = page.at(-1)!.entry;
  }
  // Everything up to the last entry copied is in SQLite now (this time or before): drop it from Redis.
  if (last !== '-') {
    const [ms, seq] = last.split('-').map(Number) as [number, number];
    await redis.xtrim(clusterKeys(spider).items, 'MINID', `${ms}-${seq + 1}`);
  }
  return copied;
}

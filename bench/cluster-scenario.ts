/**
 * Scenario d: the same spider started 1, 2, then 3 times on one Redis
 * frontier (its own redis-server), a latency-bound site, 20 requests in
 * flight per worker and no per-host cap. The spider starts from every
 * listing, so the frontier is wide from the start (the listing chain would
 * cap any number of workers). The union of the workers' items is checked in Redis.
 */
import { Redis } from 'ioredis';
import { clusterItems } from '../src/cluster/items.js';
import { hasRedis, startRedis } from '../test/helpers/redis.js';
import { runChild } from './child.js';
import type { CrawlReport } from './common.js';
import { nodeArgs, startSite, type Site } from './measure.js';
import type { Options } from './options.js';
import { fmt, log } from './report.js';
import type { ScenarioDef } from './scenarios.js';
import { expectedDigest, expectedPages, ItemDigest, type Item } from './site-data.js';

/** Scenario d: per-worker concurrency, and the worker counts compared. */
const CLUSTER_CONCURRENCY = 20;
const CLUSTER_WORKERS = [1, 2, 3];

interface ClusterRow {
  workers: number;
  pages: number;
  items: number;
  ok: boolean;
  problems: string[];
  /** From the first worker's start to the last one's end. */
  wallS: number;
  pagesPerS: number;
  /** pages/s over the 1-worker figure. */
  speedup: number;
  cpuPer1kPages: number;
  /** The largest peak RSS of one worker. */
  peakRssMB: number;
  perWorkerPages: number[];
}

/** `n` workers on an emptied frontier; their items read back from Redis and checked. */
async function clusterRow(n: number, def: ScenarioDef, site: Site, client: Redis, redisUrl: string, options: Options, first?: ClusterRow): Promise<ClusterRow> {
  await client.flushall();
  const args = [...nodeArgs('bench/spider', options), '--base-url', site.info.url, '--items', String(def.items), '--concurrency', String(CLUSTER_CONCURRENCY), '--frontier', redisUrl];
  const children = await Promise.all(Array.from({ length: n }, () => runChild<CrawlReport>(args, {}, 120 + expectedPages(def.items) / 5)));
  const problems: string[] = [];
  for (const c of children) if (c.exitCode !== 0 || !c.report) problems.push(`a worker exited with ${c.exitCode ?? c.signal}: ${c.stderr.slice(-3).join(' | ')}`);
  const reports = children.flatMap((c) => (c.report ? [c.report] : []));
  const digest = new ItemDigest(def.items);
  let items = 0;
  for await (const item of clusterItems(client, 'bench')) {
    digest.add(JSON.parse(item.data) as Item);
    items++;
  }
  const expected = expectedDigest(def.items);
  if (JSON.stringify(digest.toJSON()) !== JSON.stringify(expected)) problems.push(`items in Redis ${JSON.stringify(digest.toJSON())}, expected ${JSON.stringify(expected)}`);
  const pages = reports.reduce((a, r) => a + r.pages, 0);
  if (pages !== expectedPages(def.items)) problems.push(`${pages} pages, expected ${expectedPages(def.items)}`);
  const start = Math.min(...reports.map((r) => Number(r.extra?.startedAtMs)));
  const end = Math.max(...reports.map((r) => Number(r.extra?.endedAtMs)));
  const wallS = (end - start) / 1000;
  const pagesPerS = pages / wallS;
  return {
    workers: n,
    pages,
    items,
    ok: problems.length === 0,
    problems,
    wallS,
    pagesPerS,
    speedup: first ? pagesPerS / first.pagesPerS : 1,
    cpuPer1kPages: (reports.reduce((a, r) => a + r.cpuS, 0) * 1000) / Math.max(pages, 1),
    peakRssMB: Math.max(...reports.map((r) => r.peakRssMB)),
    perWorkerPages: reports.map((r) => r.pages),
  };
}

/** Runs scenario d and prints its table. */
export async function runClusterScenario(def: ScenarioDef, options: Options) {
  log(`\n== (d) ${def.title}: N = ${fmt(def.items)} items, ${fmt(expectedPages(def.items))} pages, ${CLUSTER_CONCURRENCY} in flight per worker ==`);
  if (!hasRedis) {
    log('  skipped: redis-server is not installed (apt-get install redis-server)');
    return { scenario: 'd', ok: true, skipped: 'redis-server is not installed', rows: [] as ClusterRow[] };
  }
  const site = await startSite(def.items, def.latencyMs, options);
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const rows: ClusterRow[] = [];
  try {
    for (const n of CLUSTER_WORKERS) {
      const row = await clusterRow(n, def, site, client, redis.url, options, rows[0]);
      rows.push(row);
      log(`  ${n} worker${n > 1 ? 's' : ' '}: ${fmt(row.pages)} pages (${row.perWorkerPages.map((p) => fmt(p)).join(' + ')}), ${fmt(row.items)} items in ${fmt(row.wallS, 1)} s: ${fmt(row.pagesPerS)} pages/s, ${fmt(row.speedup, 2)}x, ${fmt(row.cpuPer1kPages, 2)} CPU-s/1000 pages  ${row.ok ? 'ok' : `PROBLEM: ${row.problems.join('; ')}`}`);
    }
  } finally {
    client.disconnect();
    await redis.stop();
    await site.stop();
  }
  log('');
  log('| workers | pages/s | speed-up | CPU-s per 1,000 pages | peak RSS per worker | pages per worker |');
  log('|--:|--:|--:|--:|--:|---|');
  for (const r of rows) log(`| ${r.workers} | ${fmt(r.pagesPerS)} | ${fmt(r.speedup, 2)}x | ${fmt(r.cpuPer1kPages, 2)} | ${fmt(r.peakRssMB)} MB | ${r.perWorkerPages.map((p) => fmt(p)).join(' + ')} |`);
  const bound = (CLUSTER_CONCURRENCY * 1000) / def.latencyMs;
  log(`  bound: ${CLUSTER_CONCURRENCY} in flight x ${def.latencyMs} ms = ${fmt(bound)} pages/s per worker`);
  return { scenario: 'd', ok: rows.every((r) => r.ok), items: def.items, latencyMs: def.latencyMs, concurrencyPerWorker: CLUSTER_CONCURRENCY, boundPerWorker: bound, rows };
}

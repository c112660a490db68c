import type { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import { exportRun, formatOf, formats, type Format } from '../export/exporter.js';
import { defaultSpidersDir, loadSpider } from '../loader.js';
import { closePipelines, openPipelines } from '../pipeline-lifecycle.js';
import type { Render } from '../browser/render.js';
import { parseSingle, type SingleParse } from '../parser/single.js';
import { runsTable, summarizeRun } from '../runs-table.js';
import { resolveSettings, spiderSettings } from '../settings.js';
import { startShell } from '../shell.js';
import { unreadArgWarnings } from '../spider.js';
import { openForCrawl, openForRead, type Db } from '../storage/database.js';
import { currentRuns } from '../storage/recount.js';
import { spiderName } from '../spider-name.js';
import { spiderInputs } from './inputs.js';
import { openStorage, type StorageOptions } from './storage.js';

/** The options of `crawl export`. */
export interface ExportOptions extends StorageOptions {
  format?: string;
  output?: string;
  run?: string;
  csvSafe: boolean;
  frontier?: string;
}

export async function exportCommand(name: string, opts: ExportOptions): Promise<number> {
  spiderName(name);
  const format = (opts.format ?? (opts.output ? formatOf(opts.output) : 'jsonl')) as Format;
  if (!(formats as readonly string[]).includes(format)) throw new ConfigError(`unknown format '${format}' (expected ${formats.join(', ')})`);
  const runId = opts.run === undefined ? undefined : Number(opts.run);
  if (runId !== undefined && !Number.isInteger(runId)) throw new ConfigError(`bad --run ${JSON.stringify(opts.run)}: expected a run number`);
  const options = { format, out: opts.output ?? process.stdout, runId, csvSafe: opts.csvSafe };
  const n = opts.frontier
    ? await withRedis(opts.frontier, (redis, c) => c.exportClusterRun(redis, name, options))
    : await withDb(await openStorage(name, 'export', opts, openForRead), (db) => exportRun(db, options));
  if (opts.output) process.stderr.write(`wrote ${n} items to ${opts.output}\n`);
  return 0;
}

/** Runs `fn` with a database, closing it after. */
async function withDb<T>(db: Db, fn: (db: Db) => T | Promise<T>): Promise<T> {
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** The cluster's modules, imported on first use: ioredis alone adds 24 MB of RSS (7 MB of V8 heap) to a process that loads it. */
async function cluster() {
  const [connection, runs, items] = await Promise.all([import('../cluster/connection.js'), import('../cluster/runs.js'), import('../cluster/items.js')]);
  return { ...connection, ...runs, ...items };
}

/** Runs `fn` with a connection to the Redis at `url` and the cluster's modules, closing the connection after. */
async function withRedis<T>(url: string, fn: (redis: Redis, c: Awaited<ReturnType<typeof cluster>>) => Promise<T>): Promise<T> {
  const c = await cluster();
  const redis = await c.connectRedis(url);
  try {
    return await fn(redis, c);
  } finally {
    redis.disconnect();
  }
}

export async function collectCommand(name: string, opts: StorageOptions & { frontier: string }): Promise<number> {
  spiderName(name);
  const db = await openStorage(name, 'collect', opts, openForCrawl);
  const where = db.name;
  const { redisLabel } = await cluster();
  const copied = await withDb(db, (db) => withRedis(opts.frontier, (redis, c) => c.collectItems(redis, db, name, opts.frontier)));
  if (copied.size === 0) process.stderr.write(`no items of '${name}' waiting in ${redisLabel(opts.frontier)}\n`);
  for (const [run, n] of copied) process.stderr.write(`collected ${n} items of run ${run} from ${redisLabel(opts.frontier)} into ${where}\n`);
  return 0;
}

export interface ParseOptions {
  arg: string[];
  set: string[];
  callback?: string;
  spiders?: string;
  json?: boolean;
  robots: boolean;
  /** `--render` alone, or with what to wait for. */
  render?: boolean | string;
}

/** The render option `crawl parse --render [waitFor]` asks for: a number of ms, or a selector or load state. */
const renderOption = (render: boolean | string | undefined): Render | undefined =>
  typeof render !== 'string' ? render || undefined : { waitFor: /^\d+$/.test(render) ? Number(render) : render };

export async function parseCommand(name: string, url: string, opts: ParseOptions): Promise<number> {
  spiderName(name);
  const { args, overrides } = spiderInputs(opts);
  if (!opts.robots) overrides.obeyRobots = false;
  const { spider } = await loadSpider(opts.spiders ?? defaultSpidersDir(), name, args);
  const settings = spiderSettings(spider, overrides);
  await openPipelines(spider);
  let result: SingleParse;
  try {
    result = await parseSingle(spider, settings, url, opts.callback, renderOption(opts.render));
  } finally {
    for (const problem of await closePipelines(spider, settings.callbackTimeoutMs)) process.stderr.write(`warning: ${problem}\n`);
  }
  for (const warning of unreadArgWarnings(spider)) process.stderr.write(`warning: ${warning}\n`);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const rejected = result.invalid.length || result.dropped ? ` (and ${result.invalid.length} invalid, ${result.dropped} dropped by pipelines)` : '';
  process.stderr.write(`${result.status} ${result.url}: ${result.items.length} items${rejected}, ${result.requests.length} requests\n`);
  for (const item of result.items) process.stdout.write(`${JSON.stringify(item)}\n`);
  for (const bad of result.invalid)
    process.stderr.write(`  invalid: ${JSON.stringify(bad.item)}: ${bad.issues.map((i) => `${i.path || '(item)'}: ${i.message}`).join('; ')}\n`);
  for (const r of result.requests) process.stderr.write(`  -> ${r.url} (${r.callback}${r.skipped ? `, skipped: ${r.skipped}` : ''})\n`);
  for (const warning of result.warnings ?? []) process.stderr.write(`  warning: ${warning}\n`);
  return 0;
}

export async function shellCommand(url: string, opts: { set: string[] }): Promise<number> {
  const { overrides } = spiderInputs({ arg: [], set: opts.set });
  await startShell(resolveSettings(overrides), url);
  return 0;
}

export async function runsCommand(name: string, opts: StorageOptions & { json?: boolean; frontier?: string }): Promise<number> {
  spiderName(name);
  const runs = opts.frontier
    ? await withRedis(opts.frontier, (redis, c) => c.listClusterRuns(redis, name))
    : await withDb(await openStorage(name, 'runs', opts, openForRead), currentRuns);
  if (opts.json) for (const run of runs) process.stdout.write(`${JSON.stringify(summarizeRun(run))}\n`);
  else if (runs.length) process.stdout.write(`${runsTable(runs).join('\n')}\n`);
  else process.stderr.write(`no runs of '${name}' yet\n`);
  return 0;
}


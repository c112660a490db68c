/**
 * One measurement: a crawler child run against a running shop site, its
 * report, the site's share of the work, and the checks that the crawl
 * fetched each page once and stored each item once with the right fields.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_DIR, ROOT } from './build.js';
import { runChild, startSiteProcess } from './child.js';
import type { CrawlReport, SiteInfo, SiteStats } from './common.js';
import { CONCURRENCY, type Options } from './options.js';
import { peerStatus } from './peer-status.js';
import { SYSTEMS, type SystemId } from './scenarios.js';
import { expectedDigest, expectedPages } from './site-data.js';

export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const PROFILE_DIR = join(RESULTS_DIR, 'profiles');
export const PEERS_DIR = join(ROOT, 'bench', 'peers');

/** A child's command line: node with a project script (built JS, or .ts through tsx) or a peer's .mjs, or Python with a peer's .py. */
export function childCommand(script: string, options: Options, nodeFlags: string[] = []): { command: string; args: string[] } {
  if (script.endsWith('.py')) return { command: peerStatus().scrapy.command ?? 'python3', args: [join(ROOT, script)] };
  return { command: process.execPath, args: nodeArgs(script, options, nodeFlags) };
}

/** The node command line of a child: a project script (built JS, or .ts through tsx) or a peer's .mjs. */
export function nodeArgs(script: string, options: Options, nodeFlags: string[] = []): string[] {
  if (script.endsWith('.mjs')) return [...nodeFlags, join(ROOT, script)];
  if (options.tsx) return ['--import', 'tsx', ...nodeFlags, join(ROOT, `${script}.ts`)];
  return [...nodeFlags, join(BUILD_DIR, `${script}.js`)];
}

/** A shop site server child, warmed up. */
export interface Site {
  info: SiteInfo;
  stats(): Promise<SiteStats>;
  stop(): Promise<void>;
}

/** Starts the shop site (bench/site.ts) in its own process and warms it up. */
export async function startSite(items: number, latencyMs: number, options: Options): Promise<Site> {
  const site = await startSiteProcess<SiteInfo>([...nodeArgs('bench/site', options), '--items', String(items), '--latency-ms', String(latencyMs), '--port', '0']);
  const { info } = site;
  await warmUp(info);
  return {
    info,
    async stats() {
      const res = await fetch(`${info.url}__bench/stats`);
      return (await res.json()) as SiteStats;
    },
    stop: () => site.stop(),
  };
}

/**
 * Fetches a few hundred pages before any crawler runs, so the server's JIT
 * warm-up is not charged to whichever crawler comes first.
 */
async function warmUp(info: SiteInfo): Promise<void> {
  const urls = [`${info.url}robots.txt`];
  for (let i = 1; i <= Math.min(info.items, 400); i++) urls.push(`${info.url}item/${i}.html`);
  for (let i = 1; i <= Math.min(info.listings, 40); i++) urls.push(`${info.url}list/${i}.html`);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) await (await fetch(urls[next++]!)).arrayBuffer();
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** The site server's side of one run. */
export interface SiteShare {
  /** Requests the site served during the run, robots.txt included. */
  requests: number;
  robots: number;
  notFound: number;
  /** The server's CPU time during the run. */
  cpuS: number;
  cpuPer1kPages: number;
  /** Server CPU / crawl wall time: the share of one core the site used. */
  cpuShare: number;
}

/** One run of one crawler, its report and what the checks found. */
export interface RunRecord {
  system: SystemId;
  label: string;
  run: number;
  items: number;
  ok: boolean;
  problems: string[];
  /** Lines the child wrote on stderr (warnings, errors), first 200. */
  stderr: string[];
  report?: CrawlReport;
  site?: SiteShare;
  exitCode: number | null;
  processS: number;
}

function check(r: RunRecord, items: number, expected: ReturnType<typeof expectedDigest>): void {
  const p = r.problems;
  const rep = r.report;
  if (!rep) return;
  const pages = expectedPages(items);
  if (rep.pages !== pages) p.push(`pages ${rep.pages} != ${pages} (N items + listings)`);
  if (rep.items !== items) p.push(`items ${rep.items} != N = ${items}`);
  const d = rep.digest;
  if (d.count !== rep.items) p.push(`${d.count} items read back, ${rep.items} reported`);
  if (d.distinct !== items) p.push(`${d.distinct} distinct item ids != N = ${items}`);
  if (d.badIds > 0) p.push(`${d.badIds} items with a bad id`);
  if (d.count === items && d.distinct === items && d.sum !== expected.sum) p.push('item fields differ from the site (digest mismatch)');
  if (rep.errors > 0) p.push(`${rep.errors} errors`);
  const s = r.site;
  if (s) {
    if (s.notFound > 0) p.push(`${s.notFound} requests for pages that do not exist (404)`);
    const fetched = s.requests - s.robots;
    if (fetched > pages) p.push(`${fetched - pages} pages fetched more than once`);
  }
  const leftover = rep.extra?.leftoverResources;
  if (Array.isArray(leftover) && leftover.length > 0) p.push(`handles left open after the crawl: ${leftover.join(', ')}`);
}

/** The site's counters between two snapshots, per page of the report. */
function siteShare(before: SiteStats, after: SiteStats, report: CrawlReport): SiteShare {
  const cpuS = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6;
  const pages = Math.max(report.pages, 1);
  return {
    requests: after.requests - before.requests,
    robots: after.robots - before.robots,
    notFound: (after.statuses['404'] ?? 0) - (before.statuses['404'] ?? 0),
    cpuS,
    cpuPer1kPages: (cpuS * 1000) / pages,
    cpuShare: cpuS / report.wallS,
  };
}

/** Runs one crawler once against the site, in its own process; `profileDir`: with a CPU and an allocation profile of each thread written there. */
export async function runSystem(system: SystemId, run: number, site: Site, options: Options, profileDir?: string): Promise<RunRecord> {
  const def = SYSTEMS[system];
  const items = site.info.items;
  const record: RunRecord = { system, label: def.label, run, items, ok: false, problems: [], stderr: [], exitCode: null, processS: 0 };
  const storage = def.peer === 'crawlee' ? mkdtempSync(join(tmpdir(), 'crawlee-bench-')) : undefined;
  // No --cpu-prof-name: worker threads inherit the flags, and each thread's file is named after its thread id.
  const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const { command, args: scriptArgs } = childCommand(def.script, options, nodeFlags);
  const args = [...scriptArgs, '--base-url', site.info.url, '--items', String(items), '--concurrency', String(def.concurrency ?? CONCURRENCY), ...(def.args ?? [])];
  // A generous deadline: 20 pages/s would be far below anything seen, plus start-up.
  const timeoutS = 120 + expectedPages(items) / 20;
  try {
    const before = await site.stats();
    const env = { ...(storage ? { CRAWLEE_STORAGE_DIR: storage, CRAWLEE_PURGE_ON_START: 'true' } : {}), ...(profileDir ? { BENCH_ALLOC_PROFILE: profileDir } : {}) };
    const child = await runChild<CrawlReport>(args, env, timeoutS, command);
    const after = await site.stats();
    Object.assign(record, { report: child.report, exitCode: child.exitCode, stderr: child.stderr, processS: child.processS });
    if (child.timedOut) record.problems.push(`killed after ${timeoutS.toFixed(0)} s`);
    else if (child.exitCode !== 0) record.problems.push(`exited with ${child.exitCode ?? child.signal}`);
    if (!child.report) record.problems.push('no report');
    else record.site = siteShare(before, after, child.report);
    check(record, items, expectedDigest(items));
  } finally {
    if (storage) rmSync(storage, { recursive: true, force: true });
  }
  record.ok = record.problems.length === 0;
  return record;
}

/** This invocation's time, in the names of its result and profile files. */
export const RUN_STAMP = new Date().toISOString().replace(/[:.]/g, '-');

/**
 * Scenario (e), "link-heavy": crawlkit, the floor, Crawlee and Scrapy on a
 * site of big pages (bench/link-site.ts: hubs from 200 KB with 1,000 links to
 * 10 MB with 300,000 links, most links shared), each crawl in its own process
 * (bench/link-spider.ts; bench/link-floor.ts; bench/peers/crawlee.mjs and
 * scrapy_bench.py with --site links), the site's counters reset between crawls. What it measures is memory and the main
 * thread's responsiveness: targets, crawlkit's peak RSS under 400 MB and at
 * most Scrapy's, its pages/s at least 3x Scrapy's, and the longest
 * main-thread event-loop stall under 50 ms (a worker parsing a 10 MB page for
 * seconds is expected; the main thread, which fetches and stores, must not
 * stall while a page's links are stored).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild, startSiteProcess } from './child.js';
import type { LinkSiteInfo, LinkSiteStats } from './link-site.js';
import type { LinkReport } from './link-spider.js';
import { childCommand } from './measure.js';
import type { Options } from './options.js';
import { peerStatus } from './peer-status.js';
import { fmt, median } from './report.js';
import { STALL_TARGET_MS } from './targets.js';

/** Hubs and leaves of the site; --quick: a smaller site whose biggest page has 30,000 links. */
const SIZES = { full: { hubs: 12, leaves: 40_000, maxLinks: 300_000 }, quick: { hubs: 6, leaves: 5_000, maxLinks: 30_000 } };

const TARGET_RSS_MB = 400;

/** Who crawls the site: crawlkit and the floor interleaved, then the peers once each. */
type LinkSystem = 'crawlkit' | 'floor' | 'crawlee' | 'scrapy';

/** Each system's child script. */
const SCRIPTS: Record<LinkSystem, string> = {
  crawlkit: 'bench/link-spider',
  floor: 'bench/link-floor',
  crawlee: 'bench/peers/crawlee.mjs',
  scrapy: 'bench/peers/scrapy_bench.py',
};

/** One crawl of the site. */
export interface LinkRun {
  system: LinkSystem;
  run: number;
  ok: boolean;
  problems: string[];
  report?: LinkReport;
  stats?: LinkSiteStats;
  stderr: string[];
}

/** What the scenario found; saved as bench/results/<time>-e.json. */
export interface LinkHeavyResult {
  scenario: 'e';
  title: string;
  quick: boolean;
  ok: boolean;
  problems: string[];
  site: LinkSiteInfo & { stats?: LinkSiteStats };
  /** crawlkit's first run (as before Scrapy was added). */
  report?: LinkReport;
  runs: LinkRun[];
  stderr: string[];
  targets: { name: string; value: number; limit: string; met: boolean }[];
}

/** The checks of one crawl: every page fetched once, one item per leaf, nothing left in the frontier but done requests. */
function check(r: LinkReport, site: LinkSiteInfo, stats: LinkSiteStats): string[] {
  const p: string[] = [];
  const pages = site.hubs + site.leaves;
  if (r.pages !== pages) p.push(`pages ${r.pages} != ${pages} (hubs + leaves)`);
  if (r.stored !== site.leaves || r.distinct !== site.leaves) p.push(`${r.stored} items stored, ${r.distinct} distinct, expected ${site.leaves}`);
  if (stats.repeats > 0) p.push(`${stats.repeats} pages fetched more than once`);
  if (stats.notFound > 0) p.push(`${stats.notFound} requests for pages that do not exist`);
  if (r.errors > 0) p.push(`${r.errors} failed requests`);
  const left = Object.entries(r.states).filter(([state]) => state !== '2');
  if (left.length > 0) p.push(`requests not done at the end: ${JSON.stringify(Object.fromEntries(left))}`);
  return p;
}

/** One crawl by `system`, on a site whose counters are reset first. */
async function crawlOnce(system: LinkSystem, run: number, info: LinkSiteInfo, options: Options): Promise<LinkRun> {
  await (await fetch(`${info.url}__bench/reset`)).arrayBuffer();
  const { command, args } = childCommand(SCRIPTS[system], options);
  const peer = system === 'crawlee' || system === 'scrapy';
  const storage = system === 'crawlee' ? mkdtempSync(join(tmpdir(), 'crawlee-bench-e-')) : undefined;
  const env = storage ? { CRAWLEE_STORAGE_DIR: storage, CRAWLEE_PURGE_ON_START: 'true' } : {};
  let child;
  try {
    child = await runChild<LinkReport>([...args, '--base-url', info.url, ...(peer ? ['--site', 'links'] : [])], env, 600, command);
  } finally {
    if (storage) rmSync(storage, { recursive: true, force: true });
  }
  const stats = (await (await fetch(`${info.url}__bench/stats`)).json()) as LinkSiteStats;
  const r: LinkRun = { system, run, ok: false, problems: [], report: child.report, stats, stderr: child.stderr };
  if (child.timedOut) r.problems.push('killed after 600 s');
  else if (child.exitCode !== 0) r.problems.push(`exited with ${child.exitCode ?? child.signal}`);
  if (!child.report) r.problems.push('no report');
  else r.problems.push(...check(child.report, info, stats));
  r.ok = r.problems.length === 0;
  return r;
}

/** One line per crawl. */
function describe(r: LinkRun): string {
  const x = r.report;
  if (!x) return `  ${r.system}: ${r.problems.join('; ')}`;
  const peak = x.memory?.sampledPeak;
  return (
    `  ${r.system}${r.run > 1 ? ` #${r.run}` : ''}: ${fmt(x.pages)} pages, ${fmt(x.items)} items in ${fmt(x.wallS, 1)} s (${fmt(x.pages / x.wallS)} pages/s), ` +
    `${fmt((x.cpuS * 1000) / Math.max(x.pages, 1), 2)} CPU-s/1000 pages, peak RSS ${fmt(x.peakRssMB)} MB` +
    `${peak ? ` (sampled peak ${fmt(peak[1])} MB at ${fmt(peak[0], 1)} s: V8 heap ${fmt(peak[2])} committed / ${fmt(peak[3])} used, external ${fmt(peak[4])})` : ''}, ` +
    `main-thread stall p99 ${fmt(x.lag?.p99Ms ?? NaN)} / max ${fmt(x.mainStallMs)} ms${r.ok ? '' : `  FAIL: ${r.problems.join('; ')}`}`
  );
}

/** The targets, from the medians of each system's runs. */
function targets(runs: LinkRun[]): LinkHeavyResult['targets'] {
  const of = (s: LinkRun['system']) => runs.filter((r) => r.system === s && r.report).map((r) => r.report!);
  const ck = of('crawlkit');
  const scrapy = of('scrapy');
  if (ck.length === 0) return [];
  const rss = median(ck.map((r) => r.peakRssMB));
  const speed = median(ck.map((r) => r.pages / r.wallS));
  const stall = Math.max(...ck.map((r) => r.mainStallMs));
  const t = [
    { name: `(e) crawlkit peak RSS < ${TARGET_RSS_MB} MB`, value: rss, limit: `< ${TARGET_RSS_MB}`, met: rss < TARGET_RSS_MB },
    { name: `(e) crawlkit longest main-thread event-loop stall < ${STALL_TARGET_MS} ms`, value: stall, limit: `< ${STALL_TARGET_MS}`, met: stall < STALL_TARGET_MS },
  ];
  if (scrapy.length > 0) {
    const sRss = median(scrapy.map((r) => r.peakRssMB));
    const sSpeed = median(scrapy.map((r) => r.pages / r.wallS));
    t.push(
      { name: "(e) crawlkit peak RSS <= Scrapy's (ratio)", value: rss / sRss, limit: '<= 1.0', met: rss <= sRss },
      { name: "(e) crawlkit pages/s >= 3x Scrapy's", value: speed / sSpeed, limit: '>= 3.0', met: speed >= 3 * sSpeed },
    );
  }
  return t;
}

/** crawlkit's medians over each other system's: pages/s, CPU per page, peak RSS. */
function ratios(runs: LinkRun[]): string[] {
  const med = (s: LinkSystem) => {
    const reps = runs.filter((r) => r.system === s && r.ok).map((r) => r.report!);
    if (reps.length === 0) return undefined;
    return { speed: median(reps.map((r) => r.pages / r.wallS)), cpu: median(reps.map((r) => r.cpuS / Math.max(r.pages, 1))), rss: median(reps.map((r) => r.peakRssMB)) };
  };
  const ck = med('crawlkit');
  if (!ck) return [];
  return (['floor', 'crawlee', 'scrapy'] as const).flatMap((s) => {
    const o = med(s);
    return o ? [`  crawlkit / ${s}: pages/s ${fmt(ck.speed / o.speed, 2)}x, CPU per page ${fmt(ck.cpu / o.cpu, 2)}x, peak RSS ${fmt(ck.rss / o.rss, 2)}x`] : [];
  });
}

/** Runs scenario (e): crawlkit `repeats` times, then Scrapy once when installed (and not --skip-peers). */
export async function runLinkHeavy(options: Options, log: (line?: string) => void): Promise<LinkHeavyResult> {
  const { quick } = options;
  const size = quick ? SIZES.quick : SIZES.full;
  const title = 'link-heavy: big pages, most links shared; peak RSS and main-thread stall';
  const { args } = childCommand('bench/link-site', options);
  const site = await startSiteProcess<LinkSiteInfo>([...args, '--hubs', String(size.hubs), '--leaves', String(size.leaves), '--max-links', String(size.maxLinks)]);
  const { info } = site;
  const totalLinks = info.hubSizes.reduce((a, h) => a + h.links, 0);
  const totalMB = info.hubSizes.reduce((a, h) => a + h.bytes, 0) / 1e6;
  log(`\n== (e) ${title} ==`);
  log(`  site ${info.url}: ${info.hubs} hubs (${fmt(totalMB, 1)} MB, ${fmt(totalLinks)} links, ${fmt(info.hubSizes[0]!.links)} to ${fmt(info.hubSizes.at(-1)!.links)} a page) sharing ${fmt(info.leaves)} leaf pages`);
  const scrapy = peerStatus().scrapy;
  const peers: LinkSystem[] = [];
  for (const [system, status] of [['crawlee', peerStatus().crawlee], ['scrapy', scrapy]] as const) {
    const label = system === 'crawlee' ? 'Crawlee' : 'Scrapy';
    if (options.skipPeers) log(`  ${label}: skipped (--skip-peers)`);
    else if (status.missing) log(`  ${label}: skipped (${status.missing})`);
    else peers.push(system);
  }
  const runs: LinkRun[] = [];
  try {
    const repeats = options.repeats ?? (quick ? 1 : 2);
    for (let run = 1; run <= repeats; run++) for (const system of ['crawlkit', 'floor'] as const) runs.push(await crawlOnce(system, run, info, options));
    for (const system of peers) runs.push(await crawlOnce(system, 1, info, options));
  } finally {
    await site.stop();
  }
  for (const r of runs) {
    log(describe(r));
    for (const line of r.stderr.slice(0, 5)) log(`      stderr: ${line}`);
  }
  const ck = runs.find((r) => r.system === 'crawlkit');
  const lag = ck?.report?.stats as { maxMainLagMs?: number; maxWorkerLagMs?: number } | undefined;
  if (lag) log(`  crawlkit's own stats: main thread lag ${fmt(lag.maxMainLagMs ?? NaN)} ms, parser workers ${fmt(lag.maxWorkerLagMs ?? NaN)} ms`);
  for (const line of ratios(runs)) log(line);
  const result: LinkHeavyResult = { scenario: 'e', title, quick, ok: false, problems: runs.flatMap((r) => r.problems.map((p) => `${r.system}: ${p}`)), site: { ...info, stats: ck?.stats }, report: ck?.report, runs, stderr: ck?.stderr ?? [], targets: targets(runs) };
  for (const t of result.targets) log(`  target ${t.name}: ${fmt(t.value, 2)} ${t.met ? 'MET' : 'MISSED'}${quick ? ' [--quick: a smaller site than the target is set for]' : ''}`);
  for (const p of result.problems) log(`  PROBLEM: ${p}`);
  result.ok = result.problems.length === 0;
  return result;
}

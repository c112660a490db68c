/**
 * Scenario (e), "link-heavy": crawlkit on a site of big pages (bench/link-site.ts:
 * hubs from 200 KB with 1,000 links to 10 MB with 300,000 links, most links
 * shared), each crawl in its own process (bench/link-spider.ts). What it
 * measures is memory and the main thread's responsiveness, not speed:
 * targets, peak RSS of the whole crawl under 400 MB, and the longest
 * main-thread event-loop stall under 100 ms (a worker parsing a 10 MB page
 * for seconds is expected; the main thread, which fetches and stores, must
 * not stall while a page's links are stored).
 */
import { startSiteProcess, runChild } from './child.js';
import type { LinkSiteInfo, LinkSiteStats } from './link-site.js';
import type { LinkReport } from './link-spider.js';

/** Hubs and leaves of the site; --quick: a smaller site whose biggest page has 30,000 links. */
const SIZES = { full: { hubs: 12, leaves: 40_000, maxLinks: 300_000 }, quick: { hubs: 6, leaves: 5_000, maxLinks: 30_000 } };

const TARGET_RSS_MB = 400;
const TARGET_STALL_MS = 100;

/** What the scenario found; saved as bench/results/<time>-e.json. */
export interface LinkHeavyResult {
  scenario: 'e';
  title: string;
  quick: boolean;
  ok: boolean;
  problems: string[];
  site: LinkSiteInfo & { stats?: LinkSiteStats };
  report?: LinkReport;
  stderr: string[];
  targets: { name: string; value: number; limit: string; met: boolean }[];
}

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

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

/**
 * Runs scenario (e) once: `script(name)` is the node command line of a
 * bench script (built JS or .ts through tsx, as the runner chooses).
 */
export async function runLinkHeavy(quick: boolean, script: (name: string) => string[], log: (line?: string) => void): Promise<LinkHeavyResult> {
  const size = quick ? SIZES.quick : SIZES.full;
  const title = 'link-heavy: big pages, most links shared; peak RSS and main-thread stall';
  const site = await startSiteProcess<LinkSiteInfo>([...script('bench/link-site'), '--hubs', String(size.hubs), '--leaves', String(size.leaves), '--max-links', String(size.maxLinks)]);
  const { info } = site;
  const totalLinks = info.hubSizes.reduce((a, h) => a + h.links, 0);
  const totalMB = info.hubSizes.reduce((a, h) => a + h.bytes, 0) / 1e6;
  log(`\n== (e) ${title} ==`);
  log(`  site ${info.url}: ${info.hubs} hubs (${fmt(totalMB, 1)} MB, ${fmt(totalLinks)} links, ${fmt(info.hubSizes[0]!.links)} to ${fmt(info.hubSizes.at(-1)!.links)} a page) sharing ${fmt(info.leaves)} leaf pages`);
  const result: LinkHeavyResult = { scenario: 'e', title, quick, ok: false, problems: [], site: info, stderr: [], targets: [] };
  try {
    const child = await runChild<LinkReport>([...script('bench/link-spider'), '--base-url', info.url], {}, 300);
    const stats = (await (await fetch(`${info.url}__bench/stats`)).json()) as LinkSiteStats;
    result.site.stats = stats;
    result.stderr = child.stderr;
    result.report = child.report;
    if (child.timedOut) result.problems.push('killed after 300 s');
    else if (child.exitCode !== 0) result.problems.push(`exited with ${child.exitCode ?? child.signal}`);
    const r = child.report;
    if (!r) result.problems.push('no report');
    else {
      result.problems.push(...check(r, info, stats));
      const lag = r.stats as { maxMainLagMs?: number; maxWorkerLagMs?: number };
      result.targets.push(
        { name: `(e) peak RSS < ${TARGET_RSS_MB} MB`, value: r.peakRssMB, limit: `< ${TARGET_RSS_MB}`, met: r.peakRssMB < TARGET_RSS_MB },
        { name: `(e) longest main-thread event-loop stall < ${TARGET_STALL_MS} ms`, value: r.mainStallMs, limit: `< ${TARGET_STALL_MS}`, met: r.mainStallMs < TARGET_STALL_MS },
      );
      const peak = r.memory?.sampledPeak;
      log(`  crawlkit: ${fmt(r.pages)} pages, ${fmt(r.items)} items in ${fmt(r.wallS, 1)} s, ${fmt(r.cpuS, 1)} CPU-s`);
      log(`  peak RSS ${fmt(r.peakRssMB)} MB${peak ? ` (sampled peak ${fmt(peak[1])} MB at ${fmt(peak[0], 1)} s: V8 heap ${fmt(peak[2])} committed / ${fmt(peak[3])} used, external ${fmt(peak[4])})` : ''}`);
      log(`  longest main-thread stall ${fmt(r.mainStallMs)} ms (perf_hooks); crawlkit's stats: main thread ${fmt(lag.maxMainLagMs ?? NaN)} ms, parser workers ${fmt(lag.maxWorkerLagMs ?? NaN)} ms`);
      for (const t of result.targets) log(`  target ${t.name}: ${fmt(t.value)} ${t.met ? 'MET' : 'MISSED'}${quick ? ' [--quick: a smaller site than the target is set for]' : ''}`);
    }
    for (const line of child.stderr.slice(0, 5)) log(`      stderr: ${line}`);
    for (const p of result.problems) log(`  PROBLEM: ${p}`);
  } finally {
    await site.stop();
  }
  result.ok = result.problems.length === 0;
  return result;
}

/**
 * Scenario (f), "rendered": every page of the shop written by JavaScript
 * (bench/rendered-site.ts), crawled in Chromium by crawlkit (`render = true`,
 * bench/rendered-spider.ts) at `browser.maxPages` 1, 4 and 8, and by
 * Crawlee's PlaywrightCrawler (bench/peers/crawlee-playwright.mjs) at
 * maxConcurrency 1, 4 and 8: at its defaults, and matched to what crawlkit
 * does (the same pages at once from the start, the same resources blocked, no
 * fingerprints). Both drive the same Chromium, /usr/bin/chromium.
 *
 * Runs are interleaved (crawlkit @1, @4, @8, Crawlee @1, @4, @8, Crawlee
 * matched @1, @4, @8, then again), each crawl in its own process; medians are
 * reported. Measured for the whole process tree, node and Chromium
 * (bench/tree.ts): CPU-s per 1,000 pages from the crawler's own and its
 * waited-for children's CPU time, and the peaks of the tree's summed RSS and
 * summed PSS, sampled from /proc every 250 ms. Every run is checked: each
 * page fetched once, each item stored once with the site's fields.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild, startSiteProcess } from './child.js';
import type { CrawlReport, SiteInfo } from './common.js';
import type { RenderedSiteStats } from './rendered-site.js';
import { expectedDigest } from './site-data.js';
import { sampleTree, type TreeMemory } from './tree.js';

type System = 'crawlkit' | 'crawlee' | 'crawlee-matched';
const SYSTEMS: Record<System, { label: string; script: string; args: string[]; peer: boolean }> = {
  crawlkit: { label: 'crawlkit', script: 'bench/rendered-spider', args: [], peer: false },
  crawlee: { label: 'Crawlee PlaywrightCrawler, defaults', script: 'bench/peers/crawlee-playwright.mjs', args: [], peer: true },
  'crawlee-matched': { label: 'Crawlee PlaywrightCrawler, matched', script: 'bench/peers/crawlee-playwright.mjs', args: ['--matched'], peer: true },
};
const MAX_PAGES = [1, 4, 8];

/** One crawl: its report, its tree's memory, the site's view of it, and what is wrong with it. */
export interface RenderedRun {
  system: System;
  maxPages: number;
  round: number;
  ok: boolean;
  problems: string[];
  report?: CrawlReport;
  tree?: TreeMemory;
  site?: { documents: number; repeats: number; assets: number; images: number; cpuS: number };
  stderr: string[];
}

/** Medians of one system at one maxPages. */
export interface RenderedRow {
  system: System;
  label: string;
  maxPages: number;
  runs: number;
  ok: boolean;
  pagesPerS: number;
  /** CPU of the whole tree (node + Chromium) per 1,000 pages. */
  treeCpuPer1k: number;
  /** The node process's own share of that. */
  nodeCpuPer1k: number;
  peakTreeRssMB: number;
  peakTreePssMB: number;
  /** The node process alone (getrusage). */
  peakNodeRssMB: number;
  maxProcesses: number;
  /** Per page: images and static files the site served. */
  assetsPerPage: number;
  imagesPerPage: number;
}

/** What the scenario found; saved as bench/results/<time>-f.json. */
export interface RenderedResult {
  scenario: 'f';
  title: string;
  quick: boolean;
  ok: boolean;
  site: SiteInfo;
  rounds: number;
  rows: RenderedRow[];
  targets: { name: string; value: number; limit: string; met: boolean }[];
  skipped?: string;
  runs: RenderedRun[];
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');

/** The site's counters; `reset` first forgets which pages were served (a new crawl may fetch each once more). */
async function siteStats(url: string, reset = false): Promise<RenderedSiteStats> {
  return (await (await fetch(`${url}__bench/${reset ? 'reset' : 'stats'}`)).json()) as RenderedSiteStats;
}

/** The checks of one crawl: the N + L pages each fetched once, the N items each stored once with the site's fields, Chromium gone at the end. */
function check(run: RenderedRun, info: SiteInfo): void {
  const p = run.problems;
  const r = run.report;
  if (!r) return void p.push('no report');
  if (r.pages !== info.pages) p.push(`pages ${r.pages} != ${info.pages}`);
  if (r.items !== info.items) p.push(`items ${r.items} != ${info.items}`);
  if (JSON.stringify(r.digest) !== JSON.stringify(expectedDigest(info.items))) p.push(`items differ from the site: digest ${JSON.stringify(r.digest)}`);
  if (r.errors > 0) p.push(`${r.errors} errors`);
  if (run.site && run.site.repeats > 0) p.push(`${run.site.repeats} pages fetched more than once`);
  if (run.site && run.site.documents !== info.pages) p.push(`the site served ${run.site.documents} pages, not ${info.pages}`);
  if (Number(r.extra?.leftoverProcesses) > 0) p.push(`${String(r.extra?.leftoverProcesses)} processes left under the crawler: its CPU figure misses them`);
}

async function runOne(system: System, maxPages: number, round: number, info: SiteInfo, script: (name: string) => string[]): Promise<RenderedRun> {
  const def = SYSTEMS[system];
  const run: RenderedRun = { system, maxPages, round, ok: false, problems: [], stderr: [] };
  const storage = def.peer ? mkdtempSync(join(tmpdir(), 'crawlee-bench-f-')) : undefined;
  const args = [...script(def.script), '--base-url', info.url, '--items', String(info.items), '--concurrency', String(maxPages), ...def.args];
  // Generous: 0.5 page/s would be far below anything seen, plus Chromium's start-up.
  const timeoutS = 120 + info.pages * 2;
  let sampler: ReturnType<typeof sampleTree> | undefined;
  try {
    const before = await siteStats(info.url, true);
    const child = await runChild<CrawlReport>(args, storage ? { CRAWLEE_STORAGE_DIR: storage } : {}, timeoutS, undefined, (pid) => (sampler = sampleTree(pid)));
    run.tree = sampler?.stop();
    const after = await siteStats(info.url);
    run.report = child.report;
    run.stderr = child.stderr;
    run.site = {
      documents: after.documents - before.documents,
      repeats: after.repeats - before.repeats,
      assets: after.assets - before.assets,
      images: after.images - before.images,
      cpuS: (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6,
    };
    if (child.timedOut) run.problems.push(`killed after ${timeoutS} s`);
    else if (child.exitCode !== 0) run.problems.push(`exited with ${child.exitCode ?? child.signal}`);
    check(run, info);
  } finally {
    sampler?.stop();
    if (storage) rmSync(storage, { recursive: true, force: true });
  }
  run.ok = run.problems.length === 0;
  return run;
}

function summarize(system: System, maxPages: number, runs: RenderedRun[]): RenderedRow {
  const good = runs.filter((r) => r.report && r.tree);
  const m = (f: (r: RenderedRun, rep: CrawlReport) => number) => median(good.map((r) => f(r, r.report!)));
  const pages = (rep: CrawlReport) => Math.max(rep.pages, 1);
  return {
    system,
    label: SYSTEMS[system].label,
    maxPages,
    runs: good.length,
    ok: runs.length > 0 && runs.every((r) => r.ok),
    pagesPerS: m((_, rep) => rep.pages / rep.wallS),
    treeCpuPer1k: m((_, rep) => (Number(rep.extra?.treeCpuS) * 1000) / pages(rep)),
    nodeCpuPer1k: m((_, rep) => (rep.cpuS * 1000) / pages(rep)),
    peakTreeRssMB: m((r) => r.tree!.peakRssMB),
    peakTreePssMB: m((r) => r.tree!.peakPssMB),
    peakNodeRssMB: m((_, rep) => rep.peakRssMB),
    maxProcesses: m((r) => r.tree!.maxProcesses),
    assetsPerPage: m((r, rep) => (r.site?.assets ?? NaN) / pages(rep)),
    imagesPerPage: m((r, rep) => (r.site?.images ?? NaN) / pages(rep)),
  };
}

/** The scenario's table, Markdown. */
export function renderedTable(rows: RenderedRow[]): string {
  const head = '| system | maxPages | runs | pages/s | CPU-s / 1,000 pages (tree) | of which node | peak RSS, tree MB | peak PSS, tree MB | node RSS MB | processes | files / images per page | check |';
  const lines = rows.map(
    (r) =>
      `| ${r.label} | ${r.maxPages} | ${r.runs} | ${fmt(r.pagesPerS, 1)} | ${fmt(r.treeCpuPer1k)} | ${fmt(r.nodeCpuPer1k)} | ${fmt(r.peakTreeRssMB)} | ${fmt(r.peakTreePssMB)} | ${fmt(r.peakNodeRssMB)} | ${fmt(r.maxProcesses)} | ${fmt(r.assetsPerPage, 1)} / ${fmt(r.imagesPerPage, 1)} | ${r.ok ? 'ok' : 'FAIL'} |`,
  );
  return [head, '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|', ...lines].join('\n');
}

/** The goal: at each maxPages, crawlkit's pages/s at least Crawlee's, its tree's peak RSS at most Crawlee's. */
function targets(rows: RenderedRow[]): RenderedResult['targets'] {
  const out: RenderedResult['targets'] = [];
  for (const peer of ['crawlee', 'crawlee-matched'] as const)
    for (const p of MAX_PAGES) {
      const ck = rows.find((r) => r.system === 'crawlkit' && r.maxPages === p);
      const other = rows.find((r) => r.system === peer && r.maxPages === p);
      if (!ck || !other) continue;
      const speed = ck.pagesPerS / other.pagesPerS;
      const rss = ck.peakTreeRssMB / other.peakTreeRssMB;
      out.push({ name: `(f) @${p} crawlkit pages/s / ${other.label}'s`, value: speed, limit: '>= 1', met: speed >= 1 });
      out.push({ name: `(f) @${p} crawlkit peak tree RSS / ${other.label}'s`, value: rss, limit: '<= 1', met: rss <= 1 });
    }
  return out;
}

/** Options of the scenario, from the runner. */
export interface RenderedOptions {
  quick: boolean;
  repeats?: number;
  skipPeers: boolean;
  peersInstalled: boolean;
  /** The node command line of a bench script (built JS or .ts through tsx), or of a peer's .mjs. */
  script: (name: string) => string[];
  log: (line?: string) => void;
}

/** Runs scenario (f): the site, then the interleaved rounds, then the table and the targets. */
export async function runRendered(o: RenderedOptions): Promise<RenderedResult> {
  const items = o.quick ? 40 : 100;
  const rounds = o.repeats ?? (o.quick ? 1 : 3);
  const title = 'rendered: every page written by JavaScript, in Chromium; crawlkit vs Crawlee PlaywrightCrawler at 1, 4, 8 pages at once';
  const systems: System[] = o.skipPeers || !o.peersInstalled ? ['crawlkit'] : ['crawlkit', 'crawlee', 'crawlee-matched'];
  const site = await startSiteProcess<SiteInfo>([...o.script('bench/rendered-site'), '--items', String(items)]);
  const { info } = site;
  o.log(`\n== (f) ${title} ==`);
  o.log(`  site ${info.url}: ${fmt(info.pages)} pages (${fmt(info.items)} items), ${rounds} round(s) of ${systems.join(', ')} at maxPages ${MAX_PAGES.join(', ')}, interleaved`);
  if (systems.length === 1) o.log(`  Crawlee: skipped (${o.skipPeers ? '--skip-peers' : 'not installed: npm run bench:peers:install'})`);
  const runs: RenderedRun[] = [];
  try {
    for (let round = 1; round <= rounds; round++)
      for (const system of systems)
        for (const p of MAX_PAGES) {
          const r = await runOne(system, p, round, info, o.script);
          runs.push(r);
          const rep = r.report;
          o.log(
            `  ${SYSTEMS[system].label} @${p} #${round}: ` +
              (rep ? `${fmt(rep.pages / rep.wallS, 1)} pages/s, ${fmt(Number(rep.extra?.treeCpuS), 1)} CPU-s (tree), tree RSS ${fmt(r.tree?.peakRssMB ?? NaN)} MB / PSS ${fmt(r.tree?.peakPssMB ?? NaN)} MB  ` : '') +
              (r.ok ? 'ok' : `FAIL: ${r.problems.join('; ')}`),
          );
          for (const line of r.ok ? [] : r.stderr.slice(0, 5)) o.log(`      stderr: ${line}`);
        }
  } finally {
    await site.stop();
  }
  const rows = systems.flatMap((s) => MAX_PAGES.map((p) => summarize(s, p, runs.filter((r) => r.system === s && r.maxPages === p))));
  const goals = targets(rows);
  o.log('');
  o.log(renderedTable(rows));
  o.log('  (medians; CPU and memory of the whole process tree: node and Chromium, see bench/tree.ts)');
  for (const t of goals) o.log(`  target ${t.name}: ${fmt(t.value, 2)} (${t.limit}) ${t.met ? 'MET' : 'MISSED'}${o.quick ? ' [--quick]' : ''}`);
  return { scenario: 'f', title, quick: o.quick, ok: runs.every((r) => r.ok), site: info, rounds, rows, targets: goals, runs };
}

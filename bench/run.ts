/**
 * The benchmark runner (never part of `npm test`):
 *
 *   npm run bench                        # scenarios a to f, full size (about 40 minutes)
 *   npm run bench -- --quick             # small sites, one run each (a couple of minutes)
 *   npm run bench -- --scenario a,b      # some scenarios
 *   npm run bench -- --skip-peers        # without Crawlee
 *   npm run bench -- --profile           # and a CPU profile of crawlkit per scenario
 *   npm run bench -- --repeats 5         # runs per system (default 3, 1 with --quick; Crawlee always 1)
 *   npm run bench -- --tsx               # run the children through tsx, as `npx crawl` does
 *
 * For each scenario it starts the site (bench/site.ts) in its own process and
 * runs the crawlers one after the other against it, each in its own process
 * so CPU time and peak RSS are its own, interleaving repeats (crawlkit, floor,
 * regex floor, crawlkit, ...). It prints a table and the ratios, checks every
 * crawl fetched each page once and stored each of the site's items once with
 * the right fields, and writes bench/results/<time>-<scenario>.json and
 * bench/results/latest.json.
 *
 * Scenarios: (a) CPU-bound, N = 20,000, no latency; (b) latency-bound,
 * N = 2,000, 100 ms per response; (c) scale, N = 200,000, crawlkit only (its
 * peak RSS against its RSS at N = 20,000); (d) 1 to 3 workers on one Redis
 * frontier; (e) link-heavy: big pages with up to 300,000 links each, peak RSS
 * and the main thread's longest stall (bench/link-heavy.ts); (f) rendered: pages
 * written by JavaScript, in Chromium, crawlkit vs Crawlee's PlaywrightCrawler at
 * 1, 4, 8 pages at once (bench/rendered.ts). Concurrency 50 in (a) to (c).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { BUILD_DIR, buildForBench, ROOT, sourceFingerprint } from './build.js';
import { runChild, startSiteProcess } from './child.js';
import { runLinkHeavy } from './link-heavy.js';
import { runRendered } from './rendered.js';
import { type CrawlReport, type SiteInfo, type SiteStats } from './common.js';
import { formatProfileSummary, summarizeProfile, type ProfileSummary } from './profile-summary.js';
import { Redis } from 'ioredis';
import { clusterItems } from '../src/cluster/items.js';
import { hasRedis, startRedis } from '../test/helpers/redis.js';
import { expectedDigest, expectedPages, ItemDigest, type Item } from './site-data.js';

const RESULTS_DIR = join(ROOT, 'bench', 'results');
const PROFILE_DIR = join(RESULTS_DIR, 'profiles');
const PEERS_DIR = join(ROOT, 'bench', 'peers');
const CONCURRENCY = 50;

// ---------------------------------------------------------------------------
// What runs

type SystemId = 'crawlkit' | 'floor' | 'regex' | 'crawlee' | 'crawlee-mem';

interface SystemDef {
  label: string;
  /** A script of this project, without extension (bench/spider), or a peer's .mjs. */
  script: string;
  /** Crawlee: run once per scenario (it is slow), only when installed. */
  peer: boolean;
  args?: string[];
}

const SYSTEMS: Record<SystemId, SystemDef> = {
  crawlkit: { label: 'crawlkit', script: 'bench/spider', peer: false },
  floor: { label: 'floor: undici+cheerio', script: 'bench/floor', peer: false },
  regex: { label: 'regex floor (no DOM)', script: 'bench/regex-floor', peer: false },
  crawlee: { label: 'Crawlee CheerioCrawler', script: 'bench/peers/crawlee.mjs', peer: true },
  'crawlee-mem': { label: 'Crawlee, persistence off', script: 'bench/peers/crawlee.mjs', peer: true, args: ['--no-persist'] },
};

type ScenarioId = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
const SCENARIOS: ScenarioId[] = ['a', 'b', 'c', 'd', 'e', 'f'];

interface ScenarioDef {
  id: ScenarioId;
  title: string;
  items: number;
  latencyMs: number;
  systems: SystemId[];
  /** Runs of each non-peer system. */
  repeats: number;
}

/** The shop scenarios; (e) and (f) have sites of their own (bench/link-heavy.ts, bench/rendered.ts). */
function scenarioDefs(quick: boolean, repeats: number | undefined): Record<Exclude<ScenarioId, 'e' | 'f'>, ScenarioDef> {
  const r = repeats ?? (quick ? 1 : 3);
  return {
    a: { id: 'a', title: 'CPU-bound: no latency', items: quick ? 2_000 : 20_000, latencyMs: 0, systems: ['crawlkit', 'floor', 'regex', 'crawlee', 'crawlee-mem'], repeats: r },
    b: { id: 'b', title: 'latency-bound: 100 ms per response', items: quick ? 500 : 2_000, latencyMs: 100, systems: ['crawlkit', 'floor', 'regex', 'crawlee'], repeats: r },
    // One run: at full size it takes minutes, and what it measures is a memory ceiling.
    c: { id: 'c', title: 'scale: RSS must stay flat', items: quick ? 5_000 : 200_000, latencyMs: 0, systems: ['crawlkit'], repeats: 1 },
    d: { id: 'd', title: 'scaling out: 1, 2, 3 workers on one Redis frontier, 100 ms per response', items: quick ? 1_000 : 6_000, latencyMs: 100, systems: ['crawlkit'], repeats: 1 },
  };
}

interface Options {
  quick: boolean;
  scenarios: ScenarioId[];
  skipPeers: boolean;
  profile: boolean;
  repeats: number | undefined;
  tsx: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      'skip-peers': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      tsx: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*?|^ \* ?/gm, '')}\n`);
    process.exit(0);
  }
  const wanted = (values.scenario ?? ['all']).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase());
  const scenarios = wanted.includes('all') ? SCENARIOS : [...new Set(wanted)];
  for (const s of scenarios) if (!(SCENARIOS as string[]).includes(s)) throw new Error(`unknown scenario '${s}' (${SCENARIOS.join(', ')} or all)`);
  const repeats = values.repeats === undefined ? undefined : Number(values.repeats);
  if (repeats !== undefined && (!Number.isInteger(repeats) || repeats < 1)) throw new Error(`bad --repeats: ${values.repeats}`);
  return {
    quick: values.quick,
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    skipPeers: values['skip-peers'],
    profile: values.profile,
    repeats,
    tsx: values.tsx,
  };
}

// ---------------------------------------------------------------------------
// Processes

/** The node command line of a child: a project script (built JS, or .ts through tsx) or a peer's .mjs. */
function nodeArgs(script: string, options: Options, nodeFlags: string[] = []): string[] {
  if (script.endsWith('.mjs')) return [...nodeFlags, join(ROOT, script)];
  if (options.tsx) return ['--import', 'tsx', ...nodeFlags, join(ROOT, `${script}.ts`)];
  return [...nodeFlags, join(BUILD_DIR, `${script}.js`)];
}

interface Site {
  info: SiteInfo;
  stats(): Promise<SiteStats>;
  stop(): Promise<void>;
}

async function startSite(items: number, latencyMs: number, options: Options): Promise<Site> {
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

// ---------------------------------------------------------------------------
// Runs and their checks

interface SiteShare {
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

interface RunRecord {
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

async function runSystem(system: SystemId, run: number, site: Site, options: Options, profileName?: string): Promise<RunRecord> {
  const def = SYSTEMS[system];
  const items = site.info.items;
  const record: RunRecord = { system, label: def.label, run, items, ok: false, problems: [], stderr: [], exitCode: null, processS: 0 };
  const storage = def.peer ? mkdtempSync(join(tmpdir(), 'crawlee-bench-')) : undefined;
  const nodeFlags = profileName ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${profileName}`] : [];
  const args = [...nodeArgs(def.script, options, nodeFlags), '--base-url', site.info.url, '--items', String(items), '--concurrency', String(CONCURRENCY), ...(def.args ?? [])];
  // A generous deadline: 20 pages/s would be far below anything seen, plus start-up.
  const timeoutS = 120 + expectedPages(items) / 20;
  try {
    const before = await site.stats();
    const child = await runChild<CrawlReport>(args, storage ? { CRAWLEE_STORAGE_DIR: storage, CRAWLEE_PURGE_ON_START: 'true' } : {}, timeoutS);
    const after = await site.stats();
    Object.assign(record, { report: child.report, exitCode: child.exitCode, stderr: child.stderr, processS: child.processS });
    if (child.timedOut) record.problems.push(`killed after ${timeoutS.toFixed(0)} s`);
    else if (child.exitCode !== 0) record.problems.push(`exited with ${child.exitCode ?? child.signal}`);
    if (!child.report) record.problems.push('no report');
    else {
      const cpuS = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6;
      const pages = Math.max(child.report.pages, 1);
      record.site = {
        requests: after.requests - before.requests,
        robots: after.robots - before.robots,
        notFound: (after.statuses['404'] ?? 0) - (before.statuses['404'] ?? 0),
        cpuS,
        cpuPer1kPages: (cpuS * 1000) / pages,
        cpuShare: cpuS / child.report.wallS,
      };
    }
    check(record, items, expectedDigest(items));
  } finally {
    if (storage) rmSync(storage, { recursive: true, force: true });
  }
  record.ok = record.problems.length === 0;
  return record;
}

// ---------------------------------------------------------------------------
// Summaries

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface SystemSummary {
  system: SystemId;
  label: string;
  runs: number;
  ok: boolean;
  pages: number;
  items: number;
  /** Medians over the runs. */
  wallS: number;
  pagesPerS: number;
  cpuS: number;
  cpuPer1kPages: number;
  /** CPU time / wall time: cores kept busy (can exceed 1: GC and libuv threads). */
  cpuUtil: number;
  peakRssMB: number;
  siteCpuPer1kPages: number;
  siteCpuShare: number;
}

function summarize(records: RunRecord[]): SystemSummary | undefined {
  const good = records.filter((r) => r.report);
  if (good.length === 0) return undefined;
  const reps = good.map((r) => r.report!);
  const m = (f: (r: RunRecord, rep: CrawlReport) => number) => median(good.map((r) => f(r, r.report!)));
  return {
    system: good[0]!.system,
    label: good[0]!.label,
    runs: good.length,
    ok: records.every((r) => r.ok),
    pages: Math.min(...reps.map((r) => r.pages)),
    items: Math.min(...reps.map((r) => r.items)),
    wallS: m((_, r) => r.wallS),
    pagesPerS: m((_, r) => r.pages / r.wallS),
    cpuS: m((_, r) => r.cpuS),
    cpuPer1kPages: m((_, r) => (r.cpuS * 1000) / Math.max(r.pages, 1)),
    cpuUtil: m((_, r) => r.cpuS / r.wallS),
    peakRssMB: m((_, r) => r.peakRssMB),
    siteCpuPer1kPages: m((rec) => rec.site?.cpuPer1kPages ?? NaN),
    siteCpuShare: m((rec) => rec.site?.cpuShare ?? NaN),
  };
}

const fmt = (x: number, digits = 0): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

function table(rows: SystemSummary[]): string {
  const head = ['system', 'runs', 'pages', 'items', 'wall s', 'pages/s', 'CPU-s/1000 pages', 'cores busy', 'peak RSS MB', 'site CPU-s/1000', 'site core %', 'check'];
  const body = rows.map((r) => [
    r.label,
    String(r.runs),
    fmt(r.pages),
    fmt(r.items),
    fmt(r.wallS, 1),
    fmt(r.pagesPerS),
    fmt(r.cpuPer1kPages, 2),
    fmt(r.cpuUtil, 2),
    fmt(r.peakRssMB),
    fmt(r.siteCpuPer1kPages, 2),
    fmt(r.siteCpuShare * 100),
    r.ok ? 'ok' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

interface Ratio {
  name: string;
  /** crawlkit's value over the other's. */
  pagesPerS: number;
  cpuPer1kPages: number;
  peakRssMB: number;
}

interface Target {
  name: string;
  value: number;
  limit: string;
  met: boolean;
}

interface ScenarioResult {
  scenario: ScenarioId;
  title: string;
  quick: boolean;
  startedAt: string;
  finishedAt: string;
  site: SiteInfo & { peakRssMB?: number };
  concurrency: number;
  repeats: number;
  expected: { pages: number; items: number; digest: ReturnType<typeof expectedDigest> };
  summaries: SystemSummary[];
  ratios: Ratio[];
  targets: Target[];
  skipped: { system: SystemId; reason: string }[];
  /** Scenario c: crawlkit's peak RSS at the smaller N it is compared with. */
  baseline?: { items: number; peakRssMB: number; runsRssMB: number[]; from: string };
  profile?: { file: string; summary: ProfileSummary };
  runs: RunRecord[];
}

const ratioOf = (ck: SystemSummary, other: SystemSummary): Ratio => ({
  name: `crawlkit / ${other.label}`,
  pagesPerS: ck.pagesPerS / other.pagesPerS,
  cpuPer1kPages: ck.cpuPer1kPages / other.cpuPer1kPages,
  peakRssMB: ck.peakRssMB / other.peakRssMB,
});

// ---------------------------------------------------------------------------
// The run

function machine(src: ReturnType<typeof sourceFingerprint>): Record<string, unknown> {
  const version = (path: string) => {
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    } catch {
      return null;
    }
  };
  return {
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    cheerio: version(join(ROOT, 'node_modules/cheerio/package.json')),
    undici: version(join(ROOT, 'node_modules/undici/package.json')),
    crawlee: version(join(PEERS_DIR, 'node_modules/crawlee/package.json')),
    crawlkitSrc: src,
  };
}

const log = (line = ''): void => void process.stdout.write(`${line}\n`);

function describeRun(r: RunRecord): string {
  const rep = r.report;
  const status = r.ok ? 'ok' : `FAIL: ${r.problems.join('; ')}`;
  if (!rep) return status;
  const peak = rep.memory?.sampledPeak;
  // Where the sampled RSS peak was, and what it was made of: V8's heap, or memory outside it.
  const at = peak ? ` (sampled peak ${fmt(peak[1])} MB at ${fmt(peak[0], 1)} s: V8 heap ${fmt(peak[2])} committed / ${fmt(peak[3])} used, external ${fmt(peak[4])})` : '';
  return `${fmt(rep.pages)} pages, ${fmt(rep.items)} items in ${fmt(rep.wallS, 1)} s: ${fmt(rep.pages / rep.wallS)} pages/s, ${fmt((rep.cpuS * 1000) / Math.max(rep.pages, 1), 2)} CPU-s/1000 pages, ${fmt(rep.peakRssMB)} MB${at}  ${status}`;
}

async function runScenario(def: ScenarioDef, options: Options, peersInstalled: boolean, earlier: Map<ScenarioId, ScenarioResult>): Promise<ScenarioResult> {
  const startedAt = new Date().toISOString();
  log(`\n== (${def.id}) ${def.title}: N = ${fmt(def.items)} items, ${fmt(expectedPages(def.items))} pages, latency ${def.latencyMs} ms, concurrency ${CONCURRENCY} ==`);
  const skipped: ScenarioResult['skipped'] = [];
  const systems = def.systems.filter((s) => {
    if (!SYSTEMS[s].peer) return true;
    if (options.skipPeers) skipped.push({ system: s, reason: '--skip-peers' });
    else if (!peersInstalled) skipped.push({ system: s, reason: 'bench/peers/node_modules is missing: run `npm run bench:peers:install`' });
    else return true;
    return false;
  });
  for (const s of skipped) log(`  ${SYSTEMS[s.system].label}: skipped (${s.reason})`);

  const site = await startSite(def.items, def.latencyMs, options);
  const runs: RunRecord[] = [];
  let profile: ScenarioResult['profile'];
  let sitePeak: number | undefined;
  try {
    log(`  site ${site.info.url} (pid ${site.info.pid})`);
    const own = systems.filter((s) => !SYSTEMS[s].peer);
    const peers = systems.filter((s) => SYSTEMS[s].peer);
    const go = async (s: SystemId, run: number, of: number) => {
      process.stdout.write(`  ${SYSTEMS[s].label}${of > 1 ? ` #${run}` : ''}: `);
      const r = await runSystem(s, run, site, options);
      runs.push(r);
      log(describeRun(r));
      for (const line of r.stderr.slice(0, 5)) log(`      stderr: ${line}`);
      if (r.stderr.length > 5) log(`      stderr: ... ${r.stderr.length - 5} more lines`);
    };
    // Interleaved, so a drift of the machine (thermal, another process) spreads over all systems.
    for (let run = 1; run <= def.repeats; run++) for (const s of own) await go(s, run, def.repeats);
    for (const s of peers) await go(s, 1, 1);

    if (options.profile) {
      mkdirSync(PROFILE_DIR, { recursive: true });
      const name = `crawlkit-${def.id}-${stamp}.cpuprofile`;
      process.stdout.write('  crawlkit, profiled (not counted): ');
      const r = await runSystem('crawlkit', 0, site, options, name);
      log(describeRun(r));
      const file = join(PROFILE_DIR, name);
      if (existsSync(file)) {
        const summary = summarizeProfile(file, 25);
        profile = { file: relative(ROOT, file), summary };
      } else log(`  no profile written to ${file}`);
    }
    sitePeak = (await site.stats()).peakRssMB;
  } finally {
    await site.stop();
  }

  const summaries = systems.map((s) => summarize(runs.filter((r) => r.system === s))).filter((s): s is SystemSummary => s !== undefined);
  const by = (id: SystemId) => summaries.find((s) => s.system === id);
  const ck = by('crawlkit');
  const ratios: Ratio[] = [];
  const targets: Target[] = [];
  let baseline: ScenarioResult['baseline'];
  if (ck) {
    for (const id of ['floor', 'regex', 'crawlee', 'crawlee-mem'] as SystemId[]) {
      const other = by(id);
      if (other) ratios.push(ratioOf(ck, other));
    }
    const floor = by('floor');
    const regex = by('regex');
    if (def.id === 'a') {
      if (floor) targets.push({ name: '(a) crawlkit pages/s >= 1.0x the bare cheerio loop', value: ck.pagesPerS / floor.pagesPerS, limit: '>= 1.0', met: ck.pagesPerS >= floor.pagesPerS });
      targets.push({ name: '(a) crawlkit peak RSS <= 150 MB', value: ck.peakRssMB, limit: '<= 150', met: ck.peakRssMB <= 150 });
    }
    if (def.id === 'b' && regex)
      targets.push({ name: '(b) crawlkit pages/s >= 0.9x the regex loop', value: ck.pagesPerS / regex.pagesPerS, limit: '>= 0.9', met: ck.pagesPerS >= 0.9 * regex.pagesPerS });
    if (def.id === 'c') {
      baseline = await cBaseline(options, earlier);
      if (baseline)
        targets.push({
          name: `(c) crawlkit peak RSS at N = ${fmt(def.items)} <= 1.3x at N = ${fmt(baseline.items)}`,
          value: ck.peakRssMB / baseline.peakRssMB,
          limit: '<= 1.3',
          met: ck.peakRssMB <= 1.3 * baseline.peakRssMB,
        });
    }
  }

  log('');
  log(table(summaries));
  if (def.latencyMs > 0) {
    // Two floors under any crawler's wall time: the listings form a chain (each
    // one's "next" link is known only once it has arrived), and C requests in flight.
    const chainS = (site.info.listings * def.latencyMs) / 1000;
    const parallelS = (expectedPages(def.items) * def.latencyMs) / 1000 / CONCURRENCY;
    log(
      `  bounds: the listing chain takes >= ${fmt(chainS, 1)} s (${fmt(site.info.listings)} listings x ${def.latencyMs} ms), ` +
        `${CONCURRENCY} in flight >= ${fmt(parallelS, 1)} s: no crawler exceeds ${fmt(expectedPages(def.items) / Math.max(chainS, parallelS))} pages/s`,
    );
  }
  log('  (medians over the runs; CPU = user + system of the crawler process during the crawl; site = the server process)');
  for (const r of ratios)
    log(`  ${r.name}: pages/s ${fmt(r.pagesPerS, 2)}x, CPU per page ${fmt(r.cpuPer1kPages, 2)}x, peak RSS ${fmt(r.peakRssMB, 2)}x`);
  if (baseline)
    log(
      `  crawlkit peak RSS: ${fmt(ck!.peakRssMB)} MB at N = ${fmt(def.items)} vs ${fmt(baseline.peakRssMB)} MB at N = ${fmt(baseline.items)} ` +
        `(${baseline.from}: ${baseline.runsRssMB.map((x) => fmt(x)).join(', ')} MB)`,
    );
  for (const t of targets) log(`  target ${t.name}: ${fmt(t.value, 2)} (${t.limit}) ${t.met ? 'MET' : 'MISSED'}${options.quick ? ' [--quick: smaller N than the target is set for]' : ''}`);
  const siteLine = summaries
    .filter((s) => Number.isFinite(s.siteCpuShare))
    .map((s) => `${s.label} ${fmt(s.siteCpuShare * 100)}% (${fmt(s.siteCpuPer1kPages, 2)} CPU-s/1000 pages)`)
    .join(', ');
  log(`  site server: busy ${siteLine}; its peak RSS ${fmt(sitePeak ?? NaN)} MB`);
  if (profile) log(`\n${formatProfileSummary(profile.summary, `crawlkit CPU profile (whole process, start-up included), ${profile.file}`).replace(/^/gm, '  ')}`);
  const failed = runs.filter((r) => !r.ok);
  for (const r of failed) log(`  PROBLEM ${r.label}${r.run > 1 ? ` #${r.run}` : ''}: ${r.problems.join('; ')}`);

  return {
    scenario: def.id,
    title: def.title,
    quick: options.quick,
    startedAt,
    finishedAt: new Date().toISOString(),
    site: { ...site.info, peakRssMB: sitePeak },
    concurrency: CONCURRENCY,
    repeats: def.repeats,
    expected: { pages: expectedPages(def.items), items: def.items, digest: expectedDigest(def.items) },
    summaries,
    ratios,
    targets,
    skipped,
    baseline,
    profile,
    runs,
  };
}

/** Scenario c's comparison point: crawlkit's RSS at scenario a's N, from this invocation's (a), else measured now. */
async function cBaseline(options: Options, earlier: Map<ScenarioId, ScenarioResult>): Promise<ScenarioResult['baseline']> {
  const a = earlier.get('a')?.summaries.find((s) => s.system === 'crawlkit');
  const items = scenarioDefs(options.quick, options.repeats).a.items;
  const aRuns = earlier.get('a')?.runs.filter((r) => r.system === 'crawlkit' && r.report) ?? [];
  if (a) return { items, peakRssMB: a.peakRssMB, runsRssMB: aRuns.map((r) => r.report!.peakRssMB), from: "median of scenario (a)'s crawlkit runs" };
  log(`  baseline: crawlkit at N = ${fmt(items)}, as in scenario (a)`);
  const site = await startSite(items, 0, options);
  try {
    process.stdout.write('  crawlkit: ');
    const r = await runSystem('crawlkit', 1, site, options);
    log(describeRun(r));
    return r.report ? { items, peakRssMB: r.report.peakRssMB, runsRssMB: [r.report.peakRssMB], from: 'a baseline run in scenario (c)' } : undefined;
  } finally {
    await site.stop();
  }
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');

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

/**
 * Scenario d: the same spider started 1, 2, then 3 times on one Redis
 * frontier (its own redis-server), a latency-bound site, 20 requests in
 * flight per worker and no per-host cap. The spider starts from every
 * listing, so the frontier is wide from the start (the listing chain would
 * cap any number of workers). The union of the workers' items is checked in Redis.
 */
async function runClusterScenario(def: ScenarioDef, options: Options) {
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
      await client.flushall();
      const args = [...nodeArgs('bench/spider', options), '--base-url', site.info.url, '--items', String(def.items), '--concurrency', String(CLUSTER_CONCURRENCY), '--frontier', redis.url];
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
      const row: ClusterRow = {
        workers: n,
        pages,
        items,
        ok: problems.length === 0,
        problems,
        wallS,
        pagesPerS,
        speedup: rows.length ? pagesPerS / rows[0]!.pagesPerS : 1,
        cpuPer1kPages: (reports.reduce((a, r) => a + r.cpuS, 0) * 1000) / Math.max(pages, 1),
        peakRssMB: Math.max(...reports.map((r) => r.peakRssMB)),
        perWorkerPages: reports.map((r) => r.pages),
      };
      rows.push(row);
      log(`  ${n} worker${n > 1 ? 's' : ' '}: ${fmt(pages)} pages (${row.perWorkerPages.map((p) => fmt(p)).join(' + ')}), ${fmt(items)} items in ${fmt(wallS, 1)} s: ${fmt(pagesPerS)} pages/s, ${fmt(row.speedup, 2)}x, ${fmt(row.cpuPer1kPages, 2)} CPU-s/1000 pages  ${row.ok ? 'ok' : `PROBLEM: ${problems.join('; ')}`}`);
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

async function main(): Promise<void> {
  const options = parseOptions();
  const t0 = performance.now();
  // Taken with the build: the children run this snapshot even if src/ changes during the run (not so with --tsx).
  const src = sourceFingerprint();
  if (!options.tsx) {
    const n = await buildForBench();
    log(`transpiled ${n} files to ${relative(ROOT, BUILD_DIR)} (children run as plain JavaScript; --tsx runs them through tsx)`);
  }
  const peersInstalled = existsSync(join(PEERS_DIR, 'node_modules', 'crawlee', 'package.json'));
  if (!peersInstalled && !options.skipPeers)
    log('Crawlee is not installed: its rows are skipped. `npm run bench:peers:install` installs it into bench/peers/ (npm registry).');
  const defs = scenarioDefs(options.quick, options.repeats);
  const info = machine(src);
  log(`node ${info.node}, ${info.cores} cores (${info.cpu}), ${info.memoryGB} GB; cheerio ${info.cheerio}, undici ${info.undici}, crawlee ${info.crawlee ?? 'not installed'}`);
  log(`crawlkit src/: ${src.files} files, sha1 ${src.sha1.slice(0, 12)}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const results = new Map<ScenarioId, ScenarioResult>();
  const latest = { startedAt: new Date().toISOString(), argv: process.argv.slice(2), machine: info, scenarios: {} as Record<string, ScenarioResult> };
  for (const id of options.scenarios) {
    if (id === 'd' || id === 'e' || id === 'f') {
      // Scenarios of their own shape: (d) runs a cluster, (e) and (f) their own sites (f: bench/rendered.ts).
      const script = (name: string) => nodeArgs(name, options);
      const result =
        id === 'd'
          ? await runClusterScenario(defs.d, options)
          : id === 'e'
            ? await runLinkHeavy(options.quick, script, log)
            : await runRendered({ quick: options.quick, repeats: options.repeats, skipPeers: options.skipPeers, peersInstalled, script, log });
      const file = join(RESULTS_DIR, `${stamp}-${id}.json`);
      writeFileSync(file, `${JSON.stringify({ machine: info, ...result }, null, 2)}\n`);
      (latest.scenarios as Record<string, unknown>)[id] = result;
      writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
      log(`  saved ${relative(ROOT, file)}`);
      if (!result.ok) process.exitCode = 1;
      continue;
    }
    const result = await runScenario(defs[id], options, peersInstalled, results);
    results.set(id, result);
    const file = join(RESULTS_DIR, `${stamp}-${id}.json`);
    writeFileSync(file, `${JSON.stringify({ machine: info, ...result }, null, 2)}\n`);
    latest.scenarios[id] = result;
    // Written after each scenario, so an interrupted run keeps what it measured.
    writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
    log(`  saved ${relative(ROOT, file)}`);
  }
  log(`\ndone in ${fmt((performance.now() - t0) / 1000)} s`);
  const problems = [...results.values()].flatMap((r) => r.runs).filter((r) => !r.ok).length;
  if (problems > 0) {
    log(`${problems} run(s) had problems (see PROBLEM lines above)`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

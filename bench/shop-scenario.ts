/**
 * A shop scenario (a, b or c): the site started once, every crawler run
 * against it in turn (repeats interleaved), then the table, ratios and targets.
 */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './build.js';
import type { SiteInfo } from './common.js';
import { PROFILE_DIR, RUN_STAMP, runSystem, startSite, type RunRecord, type Site } from './measure.js';
import { CONCURRENCY, type Options, type ScenarioId } from './options.js';
import { allocationProfiles, formatAllocations, summarizeAllocations } from './alloc-profile.js';
import { peerStatus } from './peer-status.js';
import { formatProfileSummary, summarizeProfile, threadProfiles, type ProfileSummary } from './profile-summary.js';
import { describeRun, fmt, log, ratioOf, summarize, table, type Ratio, type SystemSummary, type Target } from './report.js';
import { shopTargets } from './targets.js';
import { scenarioDefs, SYSTEMS, type ScenarioDef, type SystemId } from './scenarios.js';
import { expectedDigest, expectedPages } from './site-data.js';

/** What a shop scenario found; saved as bench/results/<time>-<scenario>.json. */
export interface ScenarioResult {
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
  /** --profile: a CPU profile of each thread (the main thread's first). */
  profile?: { thread: string; kind: 'cpu' | 'allocations'; file: string; summary: ProfileSummary }[];
  runs: RunRecord[];
}

type Skipped = ScenarioResult['skipped'];

/** The scenario's systems that will run; the others listed in `skipped` with why. */
function pickSystems(def: ScenarioDef, options: Options, skipped: Skipped): SystemId[] {
  const systems = def.systems.filter((s) => {
    const peer = SYSTEMS[s].peer;
    if (!peer) return true;
    const missing = peerStatus()[peer].missing;
    if (options.skipPeers) skipped.push({ system: s, reason: '--skip-peers' });
    else if (missing) skipped.push({ system: s, reason: missing });
    else return true;
    return false;
  });
  for (const s of skipped) log(`  ${SYSTEMS[s.system].label}: skipped (${s.reason})`);
  return systems;
}

/** Runs every system (own ones `repeats` times, interleaved; peers once), logging each run. */
async function runAll(def: ScenarioDef, systems: SystemId[], site: Site, options: Options): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
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
  return runs;
}

/** One more crawlkit run with a CPU profile of each thread (not counted), summarised. */
async function profiled(def: ScenarioDef, site: Site, options: Options): Promise<ScenarioResult['profile']> {
  const dir = join(PROFILE_DIR, `crawlkit-${def.id}-${RUN_STAMP}`);
  mkdirSync(dir, { recursive: true });
  process.stdout.write('  crawlkit, profiled (not counted): ');
  const r = await runSystem('crawlkit', 0, site, options, dir);
  log(describeRun(r));
  const threads = threadProfiles(dir);
  if (threads.length === 0) log(`  no profile written to ${dir}`);
  const cpu = threads.map((t) => ({ ...t, kind: 'cpu' as const, file: relative(ROOT, t.file), summary: summarizeProfile(t.file, 25) }));
  const alloc = allocationProfiles(dir).map((t) => ({ ...t, kind: 'allocations' as const, file: relative(ROOT, t.file), summary: summarizeAllocations(t.file) }));
  return [...cpu, ...alloc];
}

/** The ratios of crawlkit to the others, and the scenario's targets. */
async function judge(def: ScenarioDef, summaries: SystemSummary[], options: Options, earlier: Map<ScenarioId, ScenarioResult>) {
  const by = (id: SystemId) => summaries.find((s) => s.system === id);
  const ck = by('crawlkit');
  const ratios: Ratio[] = [];
  const targets: Target[] = shopTargets(def.id, summaries);
  let baseline: ScenarioResult['baseline'];
  if (!ck) return { ratios, targets, baseline };
  for (const id of ['floor', 'regex', 'crawlee', 'crawlee-mem', 'scrapy'] as SystemId[]) {
    const other = by(id);
    if (other) ratios.push(ratioOf(ck, other));
  }
  const ckDefault = by('crawlkit-default');
  const floorDefault = by('floor-default');
  if (ckDefault && floorDefault) ratios.push({ ...ratioOf(ckDefault, floorDefault), name: `${ckDefault.label} / ${floorDefault.label}` });
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
  return { ratios, targets, baseline };
}

/** Prints the scenario's table, bounds, ratios, targets, site share, profile and problems. */
function print(def: ScenarioDef, r: ScenarioResult, options: Options): void {
  log('');
  log(table(r.summaries));
  if (def.latencyMs > 0) {
    // Two floors under any crawler's wall time: the listings form a chain (each
    // one's "next" link is known only once it has arrived), and C requests in flight.
    const chainS = (r.site.listings * def.latencyMs) / 1000;
    const parallelS = (expectedPages(def.items) * def.latencyMs) / 1000 / CONCURRENCY;
    log(
      `  bounds: the listing chain takes >= ${fmt(chainS, 1)} s (${fmt(r.site.listings)} listings x ${def.latencyMs} ms), ` +
        `${CONCURRENCY} in flight >= ${fmt(parallelS, 1)} s: no crawler exceeds ${fmt(expectedPages(def.items) / Math.max(chainS, parallelS))} pages/s`,
    );
  }
  log('  (medians over the runs; CPU = user + system of the crawler process during the crawl; site = the server process)');
  for (const x of r.ratios) log(`  ${x.name}: pages/s ${fmt(x.pagesPerS, 2)}x, CPU per page ${fmt(x.cpuPer1kPages, 2)}x, peak RSS ${fmt(x.peakRssMB, 2)}x`);
  const ck = r.summaries.find((s) => s.system === 'crawlkit');
  const b = r.baseline;
  if (b && ck)
    log(
      `  crawlkit peak RSS: ${fmt(ck.peakRssMB)} MB at N = ${fmt(def.items)} vs ${fmt(b.peakRssMB)} MB at N = ${fmt(b.items)} ` +
        `(${b.from}: ${b.runsRssMB.map((x) => fmt(x)).join(', ')} MB)`,
    );
  for (const t of r.targets) log(`  target ${t.name}: ${fmt(t.value, 2)} (${t.limit}) ${t.met ? 'MET' : 'MISSED'}${options.quick ? ' [--quick: smaller N than the target is set for]' : ''}`);
  const siteLine = r.summaries
    .filter((s) => Number.isFinite(s.siteCpuShare))
    .map((s) => `${s.label} ${fmt(s.siteCpuShare * 100)}% (${fmt(s.siteCpuPer1kPages, 2)} CPU-s/1000 pages)`)
    .join(', ');
  log(`  site server: busy ${siteLine}; its peak RSS ${fmt(r.site.peakRssMB ?? NaN)} MB`);
  for (const p of r.profile ?? []) {
    const text = p.kind === 'cpu' ? formatProfileSummary(p.summary, `crawlkit CPU profile, ${p.thread} (start-up included), ${p.file}`) : formatAllocations(p.summary, `crawlkit allocations, ${p.thread}, ${p.file}`);
    log(`\n${text.replace(/^/gm, '  ')}`);
  }
  for (const x of r.runs.filter((x) => !x.ok)) log(`  PROBLEM ${x.label}${x.run > 1 ? ` #${x.run}` : ''}: ${x.problems.join('; ')}`);
}

/** Runs one shop scenario: every system against one site, then the summary. */
export async function runScenario(def: ScenarioDef, options: Options, earlier: Map<ScenarioId, ScenarioResult>): Promise<ScenarioResult> {
  const startedAt = new Date().toISOString();
  log(`\n== (${def.id}) ${def.title}: N = ${fmt(def.items)} items, ${fmt(expectedPages(def.items))} pages, latency ${def.latencyMs} ms, concurrency ${CONCURRENCY} ==`);
  const skipped: Skipped = [];
  const systems = pickSystems(def, options, skipped);
  const site = await startSite(def.items, def.latencyMs, options);
  let runs: RunRecord[];
  let profile: ScenarioResult['profile'];
  let sitePeak: number | undefined;
  try {
    log(`  site ${site.info.url} (pid ${site.info.pid})`);
    runs = await runAll(def, systems, site, options);
    if (options.profile) profile = await profiled(def, site, options);
    sitePeak = (await site.stats()).peakRssMB;
  } finally {
    await site.stop();
  }
  const summaries = systems.map((s) => summarize(runs.filter((r) => r.system === s))).filter((s): s is SystemSummary => s !== undefined);
  const { ratios, targets, baseline } = await judge(def, summaries, options, earlier);
  const result: ScenarioResult = {
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
  print(def, result, options);
  return result;
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

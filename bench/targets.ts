/**
 * The benchmark's targets for the shop scenarios (issue 15 and before), each
 * judged from one interleaved run's medians: speed against the floor and
 * Scrapy, memory against Scrapy, and the main thread's longest stall.
 */
import type { ScenarioId } from './options.js';
import type { SystemSummary, Target } from './report.js';
import type { SystemId } from './scenarios.js';

/** The main thread's longest event-loop stall, at most (issue 15). */
export const STALL_TARGET_MS = 50;

/** crawlkit at least `x` times another's pages/s. */
const faster = (name: string, ck: SystemSummary, other: SystemSummary, x: number): Target => ({
  name,
  value: ck.pagesPerS / other.pagesPerS,
  limit: `>= ${x.toFixed(1)}`,
  met: ck.pagesPerS >= x * other.pagesPerS,
});

/** The main-thread stall target for every crawlkit row of a scenario. */
export function stallTargets(id: string, rows: SystemSummary[]): Target[] {
  return rows
    .filter((r) => r.system.startsWith('crawlkit') && Number.isFinite(r.lagMaxMs))
    .map((r) => ({ name: `(${id}) ${r.label}: longest main-thread stall < ${STALL_TARGET_MS} ms`, value: r.lagMaxMs, limit: `< ${STALL_TARGET_MS}`, met: r.lagMaxMs < STALL_TARGET_MS }));
}

/** Scenario a to c's targets but (c)'s baseline one, from the summaries present. */
export function shopTargets(id: ScenarioId, summaries: SystemSummary[]): Target[] {
  const by = (s: SystemId) => summaries.find((x) => x.system === s);
  const ck = by('crawlkit');
  if (!ck) return [];
  const targets: Target[] = [];
  const floor = by('floor');
  const regex = by('regex');
  const scrapy = by('scrapy');
  if (id === 'a') {
    if (floor) targets.push(faster('(a) crawlkit pages/s >= 1.0x the bare cheerio loop', ck, floor, 1));
    const ckDefault = by('crawlkit-default');
    const floorDefault = by('floor-default');
    if (ckDefault && floorDefault) targets.push(faster('(a) crawlkit at default settings, pages/s >= 1.0x the cheerio loop at the same cap', ckDefault, floorDefault, 1));
    if (ckDefault && floorDefault && Number.isFinite(ckDefault.latencyMs) && Number.isFinite(floorDefault.latencyMs))
      targets.push({
        name: '(a) crawlkit at default settings: loopback latency it sees <= 2x the cheerio loop\'s at the same cap',
        value: ckDefault.latencyMs / floorDefault.latencyMs,
        limit: '<= 2.0',
        met: ckDefault.latencyMs <= 2 * floorDefault.latencyMs,
      });
    targets.push({ name: '(a) crawlkit peak RSS <= 150 MB', value: ck.peakRssMB, limit: '<= 150', met: ck.peakRssMB <= 150 });
  }
  if (scrapy && (id === 'a' || id === 'b')) {
    if (id === 'a') targets.push(faster(`(${id}) crawlkit pages/s >= 3x Scrapy's`, ck, scrapy, 3));
    targets.push({ name: `(${id}) crawlkit peak RSS <= Scrapy's (ratio)`, value: ck.peakRssMB / scrapy.peakRssMB, limit: '<= 1.0', met: ck.peakRssMB <= scrapy.peakRssMB });
  }
  if (id === 'b' && regex) targets.push({ name: '(b) crawlkit pages/s >= 0.9x the regex loop', value: ck.pagesPerS / regex.pagesPerS, limit: '>= 0.9', met: ck.pagesPerS >= 0.9 * regex.pagesPerS });
  return [...targets, ...stallTargets(id, summaries.filter((s) => s.system.startsWith('crawlkit')))];
}

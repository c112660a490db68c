/**
 * What runs in the benchmark: the crawlers (crawlkit, the floors, the peers)
 * and the shop scenarios (a to d) with their sizes and latencies.
 */
import { defaultSettings } from '../src/settings/defaults.js';
import type { ScenarioId } from './options.js';

/** A crawler the benchmark can run. */
export type SystemId = 'crawlkit' | 'floor' | 'regex' | 'crawlee' | 'crawlee-mem' | 'scrapy' | 'crawlkit-default' | 'floor-default';

/** How to start a crawler. */
export interface SystemDef {
  label: string;
  /** A script of this project, without extension (bench/spider), or a peer's .mjs or .py. */
  script: string;
  /** A peer (Crawlee, Scrapy): run once per scenario (they are slow), only when installed. */
  peer?: 'crawlee' | 'scrapy';
  args?: string[];
  /** Requests in flight, when not the scenario's. */
  concurrency?: number;
}

/** What crawlkit keeps in flight on one host at its defaults: min(concurrency, perHost.concurrency), 8 today. */
export const DEFAULT_HOST_CAP = Math.min(defaultSettings.concurrency, defaultSettings.perHost.concurrency);

export const SYSTEMS: Record<SystemId, SystemDef> = {
  crawlkit: { label: 'crawlkit', script: 'bench/spider' },
  floor: { label: 'floor: undici+cheerio', script: 'bench/floor' },
  regex: { label: 'regex floor (no DOM)', script: 'bench/regex-floor' },
  // Scenario (a) at crawlkit's default settings (no concurrency, perHost or workers set), against the floor at the same cap.
  'crawlkit-default': { label: `crawlkit, default settings (${DEFAULT_HOST_CAP} in flight)`, script: 'bench/spider', args: ['--defaults'], concurrency: DEFAULT_HOST_CAP },
  'floor-default': { label: `floor, ${DEFAULT_HOST_CAP} in flight`, script: 'bench/floor', concurrency: DEFAULT_HOST_CAP },
  crawlee: { label: 'Crawlee CheerioCrawler', script: 'bench/peers/crawlee.mjs', peer: 'crawlee' },
  'crawlee-mem': { label: 'Crawlee, persistence off', script: 'bench/peers/crawlee.mjs', peer: 'crawlee', args: ['--no-persist'] },
  scrapy: { label: 'Scrapy', script: 'bench/peers/scrapy_bench.py', peer: 'scrapy' },
};

/** A shop scenario: the site's size and latency, and who crawls it. */
export interface ScenarioDef {
  id: ScenarioId;
  title: string;
  items: number;
  latencyMs: number;
  systems: SystemId[];
  /** Runs of each non-peer system. */
  repeats: number;
}

/** The shop scenarios; (e) and (f) have sites of their own (bench/link-heavy.ts, bench/rendered.ts). */
export function scenarioDefs(quick: boolean, repeats: number | undefined): Record<Exclude<ScenarioId, 'e' | 'f'>, ScenarioDef> {
  const r = repeats ?? (quick ? 1 : 3);
  return {
    a: { id: 'a', title: 'CPU-bound: no latency', items: quick ? 2_000 : 20_000, latencyMs: 0, systems: ['crawlkit', 'floor', 'regex', 'crawlkit-default', 'floor-default', 'crawlee', 'crawlee-mem', 'scrapy'], repeats: r },
    b: { id: 'b', title: 'latency-bound: 100 ms per response', items: quick ? 500 : 2_000, latencyMs: 100, systems: ['crawlkit', 'floor', 'regex', 'crawlee', 'scrapy'], repeats: r },
    // One run: at full size it takes minutes, and what it measures is a memory ceiling. The floor (90 s at
    // 210,000 pages) shows what an in-memory frontier costs at that size; the peers are left out: at their
    // 111-216 pages/s on (a), 210,000 pages would take Scrapy and Crawlee 16 to 32 minutes each.
    c: { id: 'c', title: 'scale: RSS must stay flat', items: quick ? 5_000 : 200_000, latencyMs: 0, systems: ['crawlkit', 'floor'], repeats: 1 },
    d: { id: 'd', title: 'scaling out: 1, 2, 3 workers on one Redis frontier, 100 ms per response', items: quick ? 1_000 : 6_000, latencyMs: 100, systems: ['crawlkit'], repeats: 1 },
  };
}

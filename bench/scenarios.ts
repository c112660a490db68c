/**
 * What runs in the benchmark: the crawlers (crawlkit, the floors, the peers)
 * and the shop scenarios (a to d) with their sizes and latencies.
 */
import type { ScenarioId } from './options.js';

/** A crawler the benchmark can run. */
export type SystemId = 'crawlkit' | 'floor' | 'regex' | 'crawlee' | 'crawlee-mem';

/** How to start a crawler. */
export interface SystemDef {
  label: string;
  /** A script of this project, without extension (bench/spider), or a peer's .mjs. */
  script: string;
  /** Crawlee: run once per scenario (it is slow), only when installed. */
  peer: boolean;
  args?: string[];
}

export const SYSTEMS: Record<SystemId, SystemDef> = {
  crawlkit: { label: 'crawlkit', script: 'bench/spider', peer: false },
  floor: { label: 'floor: undici+cheerio', script: 'bench/floor', peer: false },
  regex: { label: 'regex floor (no DOM)', script: 'bench/regex-floor', peer: false },
  crawlee: { label: 'Crawlee CheerioCrawler', script: 'bench/peers/crawlee.mjs', peer: true },
  'crawlee-mem': { label: 'Crawlee, persistence off', script: 'bench/peers/crawlee.mjs', peer: true, args: ['--no-persist'] },
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

/** The shop scenarios; (e) has a site of its own (bench/link-heavy.ts). */
export function scenarioDefs(quick: boolean, repeats: number | undefined): Record<Exclude<ScenarioId, 'e'>, ScenarioDef> {
  const r = repeats ?? (quick ? 1 : 3);
  return {
    a: { id: 'a', title: 'CPU-bound: no latency', items: quick ? 2_000 : 20_000, latencyMs: 0, systems: ['crawlkit', 'floor', 'regex', 'crawlee', 'crawlee-mem'], repeats: r },
    b: { id: 'b', title: 'latency-bound: 100 ms per response', items: quick ? 500 : 2_000, latencyMs: 100, systems: ['crawlkit', 'floor', 'regex', 'crawlee'], repeats: r },
    // One run: at full size it takes minutes, and what it measures is a memory ceiling.
    c: { id: 'c', title: 'scale: RSS must stay flat', items: quick ? 5_000 : 200_000, latencyMs: 0, systems: ['crawlkit'], repeats: 1 },
    d: { id: 'd', title: 'scaling out: 1, 2, 3 workers on one Redis frontier, 100 ms per response', items: quick ? 1_000 : 6_000, latencyMs: 100, systems: ['crawlkit'], repeats: 1 },
  };
}

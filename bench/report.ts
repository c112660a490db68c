/**
 * The benchmark's reporting: medians over runs, the table, the ratios and
 * targets, one line per run, and the machine the figures come from.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT, type sourceFingerprint } from './build.js';
import type { CrawlReport } from './common.js';
import { PEERS_DIR, type RunRecord } from './measure.js';
import type { SystemId } from './scenarios.js';

/** Prints one line on stdout. */
export const log = (line = ''): void => void process.stdout.write(`${line}\n`);

/** A number with thousands separators and `digits` decimals; '-' when not finite. */
export const fmt = (x: number, digits = 0): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

/** The median of a non-empty list. */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One system's runs in a scenario, summarised. */
export interface SystemSummary {
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
  /** Main-thread event-loop delay: median of the runs' p99, and the longest of any run, ms. */
  lagP99Ms: number;
  lagMaxMs: number;
  /** Median of the runs' average response time as the crawler saw it, ms (NaN when not reported). */
  latencyMs: number;
  siteCpuPer1kPages: number;
  siteCpuShare: number;
}

/** Medians over the runs of one system; undefined when none reported. */
export function summarize(records: RunRecord[]): SystemSummary | undefined {
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
    lagP99Ms: m((_, r) => r.lag?.p99Ms ?? NaN),
    lagMaxMs: Math.max(...reps.map((r) => r.lag?.maxMs ?? NaN)),
    latencyMs: m((_, r) => r.latencyMs ?? NaN),
    siteCpuPer1kPages: m((rec) => rec.site?.cpuPer1kPages ?? NaN),
    siteCpuShare: m((rec) => rec.site?.cpuShare ?? NaN),
  };
}

/** A markdown table of the summaries. */
export function table(rows: SystemSummary[]): string {
  const head = ['system', 'runs', 'pages', 'items', 'wall s', 'pages/s', 'CPU-s/1000 pages', 'cores busy', 'peak RSS MB', 'stall p99 / max ms', 'latency ms', 'site CPU-s/1000', 'site core %', 'check'];
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
    `${fmt(r.lagP99Ms)} / ${fmt(r.lagMaxMs)}`,
    Number.isFinite(r.latencyMs) ? fmt(r.latencyMs, 1) : '-',
    fmt(r.siteCpuPer1kPages, 2),
    fmt(r.siteCpuShare * 100),
    r.ok ? 'ok' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

/** crawlkit's figures over another system's. */
export interface Ratio {
  name: string;
  /** crawlkit's value over the other's. */
  pagesPerS: number;
  cpuPer1kPages: number;
  peakRssMB: number;
}

/** A goal of the benchmark, and whether this run met it. */
export interface Target {
  name: string;
  value: number;
  limit: string;
  met: boolean;
}

/** crawlkit's summary over another's. */
export const ratioOf = (ck: SystemSummary, other: SystemSummary): Ratio => ({
  name: `crawlkit / ${other.label}`,
  pagesPerS: ck.pagesPerS / other.pagesPerS,
  cpuPer1kPages: ck.cpuPer1kPages / other.cpuPer1kPages,
  peakRssMB: ck.peakRssMB / other.peakRssMB,
});

/** The machine and the versions the figures come from. */
export function machine(src: ReturnType<typeof sourceFingerprint>): Record<string, unknown> {
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

/** One run on one line: pages, speed, CPU, RSS and where the sampled peak was. */
export function describeRun(r: RunRecord): string {
  const rep = r.report;
  const status = r.ok ? 'ok' : `FAIL: ${r.problems.join('; ')}`;
  if (!rep) return status;
  const peak = rep.memory?.sampledPeak;
  // Where the sampled RSS peak was, and what it was made of: V8's heap, or memory outside it.
  const at = peak ? ` (sampled peak ${fmt(peak[1])} MB at ${fmt(peak[0], 1)} s: V8 heap ${fmt(peak[2])} committed / ${fmt(peak[3])} used, external ${fmt(peak[4])})` : '';
  return `${fmt(rep.pages)} pages, ${fmt(rep.items)} items in ${fmt(rep.wallS, 1)} s: ${fmt(rep.pages / rep.wallS)} pages/s, ${fmt((rep.cpuS * 1000) / Math.max(rep.pages, 1), 2)} CPU-s/1000 pages, ${fmt(rep.peakRssMB)} MB${at}  ${status}`;
}

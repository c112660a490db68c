/**
 * A run's counters over time, in `run_status`: a point every
 * `statusIntervalMs` while it crawls, read by `crawl ui` for its charts.
 */
import { latencyQuantile } from '../latency.js';
import type { Stats } from '../stats.js';
import type { Db } from './database.js';

/**
 * Points kept per run. 720 is a chart of 720 px, one point a pixel, and 2 h of
 * a crawl at the default 10 s interval at full resolution. Past it, every other
 * point is dropped (the older half of the run loses half its resolution each
 * time), so a run of a week keeps 360 to 720 points: some 200 KB.
 */
export const MAX_STATUS_POINTS = 720;

/** Hosts whose latency a point keeps: the busiest, as the summary shows them. */
const LATENCY_HOSTS = 10;

/** One point of a run's status series. */
export interface StatusPoint {
  pages: number;
  items: number;
  /** Requests that failed for good, all reasons together. */
  failed: number;
  requests: number;
  inFlight: number;
  queued: number;
  retrying: number;
  /** Time spent crawling, over all processes of the run. */
  elapsedMs: number;
  /** Responses by status code, counted since the run began. */
  responses: Record<string, number>;
  /** The busiest hosts' response times so far: average and p95, in ms. */
  latency: Record<string, { count: number; avgMs: number; p95Ms: number }>;
  /** The adaptive throttle's delays in force, per host, in ms. */
  hostDelays: Record<string, number>;
  throttleIncreases: number;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** The point of `stats` now: the counters, and the histograms boiled down to average and p95. */
export function statusPoint(stats: Stats): StatusPoint {
  const hosts = Object.entries(stats.latency)
    .sort(([, a], [, b]) => b.count - a.count)
    .slice(0, LATENCY_HOSTS);
  return {
    pages: stats.pages,
    items: stats.items,
    failed: sum(stats.failures),
    requests: stats.requests,
    inFlight: stats.inFlight,
    queued: stats.queued,
    retrying: stats.retrying,
    elapsedMs: stats.elapsedMs,
    responses: { ...stats.responses },
    latency: Object.fromEntries(
      hosts.map(([host, h]) => [host, { count: h.count, avgMs: Math.round(h.totalMs / Math.max(1, h.count)), p95Ms: latencyQuantile(h, 0.95) }]),
    ),
    hostDelays: { ...stats.hostDelays },
    throttleIncreases: stats.throttleIncreases,
  };
}

/** Adds a point to run `runId`'s series, halving the series' older points when it holds {@link MAX_STATUS_POINTS}. */
export function recordStatus(db: Db, runId: number, at: number, point: StatusPoint, max = MAX_STATUS_POINTS): void {
  db.transaction(() => {
    db.prepare('INSERT OR REPLACE INTO run_status (run_id, at, data) VALUES (?, ?, ?)').run(runId, at, JSON.stringify(point));
    const { n } = db.prepare('SELECT count(*) AS n FROM run_status WHERE run_id = ?').get(runId) as { n: number };
    if (n <= max) return;
    // Every other point but the newest: the first stays, so the chart still starts where the run did.
    db.prepare(
      `DELETE FROM run_status WHERE run_id = ? AND at IN (
         SELECT at FROM (SELECT at, row_number() OVER (ORDER BY at) AS rn FROM run_status WHERE run_id = ?) WHERE rn % 2 = 0 AND rn < ?)`,
    ).run(runId, runId, n);
  })();
}

/** Run `runId`'s status series, oldest first. */
export function readStatus(db: Db, runId: number): { at: number; point: StatusPoint }[] {
  const rows = db.prepare('SELECT at, data FROM run_status WHERE run_id = ? ORDER BY at').all(runId) as { at: number; data: string }[];
  return rows.map((r) => ({ at: r.at, point: JSON.parse(r.data) as StatusPoint }));
}

/** The status series of a run (`run_status`, for `crawl ui`'s charts): bounded, downsampled, in a real SQLite file. */
import { afterEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { openForCrawl, type Db } from '../src/storage/database.js';
import { MAX_STATUS_POINTS, readStatus, recordStatus, statusPoint } from '../src/storage/run-status.js';
import { createRun } from '../src/storage/runs.js';
import { createStats } from '../src/stats.js';
import { recordLatency } from '../src/latency.js';
import { tempDir } from './helpers/cli.js';

let dir: string;
let db: Db;
afterEach(async () => {
  db?.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(): Promise<number> {
  dir = await tempDir();
  db = openForCrawl(dir, 'series');
  return createRun(db, 'series', {}).id;
}

describe('run_status', () => {
  it('keeps at most the bound, halving the older points, with the first and the newest kept', async () => {
    const run = await open();
    const other = createRun(db, 'series', {}).id;
    recordStatus(db, other, 1, statusPoint(createStats()));
    for (let i = 0; i < 20; i++) recordStatus(db, run, 1000 + i * 10, statusPoint({ ...createStats(), pages: i }), 8);
    const points = readStatus(db, run);
    expect(points.length).toBeLessThanOrEqual(8);
    expect(points.length).toBeGreaterThanOrEqual(4);
    expect(points[0]!.at).toBe(1000);
    expect(points.at(-1)!.point.pages).toBe(19);
    expect(points.map((p) => p.at)).toEqual([...points.map((p) => p.at)].sort((a, b) => a - b));
    expect(readStatus(db, other)).toHaveLength(1); // another run's series is its own
  });

  it('a long run keeps between half the bound and the bound', async () => {
    const run = await open();
    for (let i = 0; i < 3 * MAX_STATUS_POINTS; i++) recordStatus(db, run, i, statusPoint(createStats()));
    const n = readStatus(db, run).length;
    expect(n).toBeLessThanOrEqual(MAX_STATUS_POINTS);
    expect(n).toBeGreaterThanOrEqual(MAX_STATUS_POINTS / 2);
  });

  it('a point boils the latency histograms down to average and p95 per host, the busiest first', () => {
    const stats = createStats();
    for (let i = 1; i <= 100; i++) recordLatency(stats.latency, 'a.test', i);
    recordLatency(stats.latency, 'b.test', 7);
    stats.failures = { 'http:404': 2, 'callback:error': 1 };
    const point = statusPoint(stats);
    expect(Object.keys(point.latency)).toEqual(['a.test', 'b.test']);
    expect(point.latency['a.test']!.avgMs).toBe(51);
    expect(point.latency['a.test']!.p95Ms).toBeGreaterThanOrEqual(95);
    expect(point.latency['a.test']!.p95Ms).toBeLessThanOrEqual(105);
    expect(point.failed).toBe(3);
  });
});

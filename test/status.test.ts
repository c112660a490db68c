/**
 * Seeing a crawl: the live status line on a terminal, plain status lines when
 * stderr is not one, the JSON-lines --log-file, and the end-of-run summary
 * (bytes, latency per host), printed and stored in the runs table.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, type TestContext } from 'vitest';
import { latencyQuantile, recordLatency, type HostLatency } from '../src/latency.js';
import { BIN, runCli, waitFor } from './helpers/cli.js';
import { siteProject } from './helpers/site.js';


/** `status: pages 12 · items 11 · failed 0 · queued 40 · in flight 4 · 80.0 pages/s · ETA 1.0 s for the queued` */
const STATUS = /^\S+ INFO {2}status: pages (\d+) · items (\d+) · failed (\d+) · queued (\d+) · in flight (\d+) · [\d.]+ pages\/s( · ETA [\d.]+ s for the queued)?$/;

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

const setup = (ctx: TestContext) => siteProject(ctx, { lists: 6, perList: 10, delayMs: 25 });

describe('status and summary', () => {
  it('prints plain status lines now and then when stderr is not a terminal', async (ctx) => {
    const { site, args } = await setup(ctx);
    const r = await runCli(args('-s', 'statusIntervalMs=150'));
    expect(r.code, r.stderr).toBe(0);
    const statuses = r.stderr
      .split('\n')
      .map((l) => STATUS.exec(l))
      .filter((m) => m !== null);
    expect(statuses.length, r.stderr).toBeGreaterThanOrEqual(2);
    const pages = statuses.map((m) => Number(m[1]));
    expect(pages).toEqual([...pages].sort((a, b) => a - b));
    expect(pages.at(-1)!).toBeLessThanOrEqual(site.pages);
    expect(statuses.some((m) => Number(m[4]) + Number(m[5]) > 0 && m[6] !== undefined), 'an ETA while work is queued').toBe(true);
    expect(r.stderr).not.toContain('\x1b[K');
  });

  it('writes JSON lines to --log-file, with status entries and the summary; the summary has bytes and latency per host', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    const logFile = join(project.dir, 'crawl.log');
    const r = await runCli(args('-s', 'statusIntervalMs=150', '--log-file', logFile));
    expect(r.code, r.stderr).toBe(0);
    const entries = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(entries.every((e) => typeof e.time === 'string' && ['debug', 'info', 'warn', 'error'].includes(e.level) && typeof e.message === 'string')).toBe(true);
    expect(entries.some((e) => /^starting run 1/.test(e.message))).toBe(true);
    const status = entries.filter((e) => e.status);
    expect(status.length).toBeGreaterThanOrEqual(2);
    expect(status[0]!.status).toMatchObject({ pages: expect.any(Number), items: expect.any(Number), queued: expect.any(Number), inFlight: expect.any(Number) });
    const last = entries.at(-1)!;
    expect(last.message).toBe('finished run 1');
    const host = new URL(site.url).host;
    const latency = last.summary.stats.latency[host] as HostLatency;
    expect(latency.count).toBe(site.pages); // robots.txt is not a crawl request
    // The site answers every page after 25 ms.
    expect(latency.totalMs / latency.count).toBeGreaterThanOrEqual(25);
    expect(latencyQuantile(latency, 0.95)).toBeGreaterThanOrEqual(25);

    // Printed too, and stored with the run.
    expect(r.stderr).toMatch(new RegExp(`latency +${host.replace(/\./g, '\\.')}: ${latency.count} responses, average \\d+ ms, p95 \\d+ ms`));
    expect(r.stderr).toMatch(/bytes +\d+\.\d MB received/);
    expect(r.stderr).toMatch(/responses +200: \d+/);
    const db = new Database(join(project.storage, 'site.sqlite'), { readonly: true });
    try {
      const stored = JSON.parse((db.prepare('SELECT stats FROM runs').get() as { stats: string }).stats);
      expect(stored.latency[host].count).toBe(latency.count);
      expect(stored.bytes).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it.skipIf(!hasScript)('redraws one live line on a terminal (run under script(1) for a pty)', async (ctx) => {
    const { site, args } = await setup(ctx);
    const cmd = [process.execPath, BIN, ...args('-s', 'statusIntervalMs=60000')].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    site.hold(); // the crawl waits on its first page until the live line has been drawn
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => /pages\/s/.test(out), 30_000, 'the live line');
    site.release();
    expect(await exited).toBe(0);
    expect(out).toMatch(/\r\x1b\[Kpages \d+ · items \d+ · failed \d+ · queued \d+ · in flight \d+ · [\d.]+ pages\/s/);
    expect(out).toMatch(/Finished run 1/);
    expect(out).not.toMatch(/INFO {2}status:/); // the live line replaces the plain ones
  });
});

describe('latency histograms', () => {
  it('reads percentiles within 10% and keeps at most 100 hosts apart', () => {
    const byHost: Record<string, HostLatency> = {};
    for (let ms = 1; ms <= 1000; ms++) recordLatency(byHost, 'a', ms);
    const p95 = latencyQuantile(byHost.a!, 0.95);
    expect(p95).toBeGreaterThanOrEqual(950);
    expect(p95).toBeLessThanOrEqual(950 * 1.1);
    expect(latencyQuantile(byHost.a!, 0.5)).toBeLessThanOrEqual(550);
    for (let h = 0; h < 150; h++) recordLatency(byHost, `host${h}`, 10);
    expect(Object.keys(byHost)).toHaveLength(101);
    expect(byHost['(other hosts)']!.count).toBe(51);
  });
});

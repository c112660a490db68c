/**
 * crawlkit's side of scenario (e), "link-heavy": one crawl of bench/link-site.ts
 * in this process, reported as one JSON line (REPORT_PREFIX + {@link LinkReport}):
 *
 *   node --import tsx bench/link-spider.ts --base-url http://127.0.0.1:PORT/
 *
 * The main thread's event-loop delay is measured by the Meter (node:perf_hooks'
 * `monitorEventLoopDelay`), apart from crawlkit's own counters, so the figure
 * means the same whatever crawlkit reports.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crawl, openForRead, Spider, type CallbackResult, type Response } from '../src/index.js';
import { benchOverrides, Meter, REPORT_PREFIX, runAsScript, total, type CrawlReport } from './common.js';

/** What the child reports. */
export interface LinkReport extends Pick<CrawlReport, 'wallS' | 'cpuS' | 'peakRssMB' | 'memory'> {
  pages: number;
  items: number;
  /** Items stored, and distinct leaf ids among them, read back from the database. */
  stored: number;
  distinct: number;
  /** Requests by state in the frontier at the end. */
  states: Record<number, number>;
  /** The longest main-thread event-loop delay, ms (perf_hooks histogram, 10 ms resolution, the period itself not counted). */
  mainStallMs: number;
  /** p99 and longest main-thread event-loop delay (bench/common.ts Meter). */
  lag?: CrawlReport['lag'];
  errors: number;
  /** crawlkit's own stats. */
  stats: Record<string, unknown>;
}

/** Hubs: every link followed (hubs with `parse`, leaves with `parseLeaf`); leaves: one item. */
export class LinkSpider extends Spider {
  override name = 'links';
  override startUrls = [`${this.arg('baseUrl')}hub/0.html`];

  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    yield* res.followAll('nav a');
    yield* res.followAll('main a', this.parseLeaf);
  }

  async *parseLeaf(res: Response): AsyncIterable<CallbackResult> {
    yield { id: Number(res.$('h1').attr('data-id')) };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'base-url': { type: 'string' } } });
  const baseUrl = values['base-url'];
  if (!baseUrl) throw new Error('usage: --base-url URL');
  const storageDir = mkdtempSync(join(tmpdir(), 'crawlkit-bench-e-'));
  try {
    const meter = new Meter();
    const summary = await crawl(new LinkSpider({ baseUrl }), {
      fresh: true,
      spiderModule: import.meta.url,
      settings: { storageDir, logLevel: 'warn', concurrency: 50, perHost: { concurrency: 50 }, ...benchOverrides() },
    }).run();
    meter.stop();
    const db = openForRead(storageDir, 'links');
    let stored = 0;
    let distinct = 0;
    const states: Record<number, number> = {};
    try {
      ({ stored, distinct } = db.prepare("SELECT count(*) AS stored, count(DISTINCT json_extract(data, '$.id')) AS \"distinct\" FROM items").get() as { stored: number; distinct: number });
      for (const { state, n } of db.prepare('SELECT state, count(*) AS n FROM requests GROUP BY state').all() as { state: number; n: number }[]) states[state] = n;
    } finally {
      db.close();
    }
    const s = summary.stats;
    const { wallS, cpuS, peakRssMB, memory, lag } = meter.result;
    const report: LinkReport = {
      pages: s.pages,
      items: s.items,
      stored,
      distinct,
      states,
      mainStallMs: lag?.maxMs ?? NaN,
      lag,
      errors: total(s.failures),
      wallS,
      cpuS,
      peakRssMB,
      memory,
      stats: s as unknown as Record<string, unknown>,
    };
    process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
  } finally {
    rmSync(storageDir, { recursive: true, force: true });
  }
}

runAsScript(import.meta.url, main);

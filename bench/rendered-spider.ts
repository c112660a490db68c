/**
 * crawlkit's side of scenario (f): the benchmark's spider (bench/spider.ts,
 * the same callbacks and selectors) with `render = true`, so every page is
 * rendered in Chromium and parsed from the DOM the page's script wrote.
 * Run as a script, one crawl, reported as one JSON line (bench/common.ts):
 *
 *   node --import tsx bench/rendered-spider.ts --base-url http://127.0.0.1:PORT/ --items N --concurrency P
 *
 * --concurrency is `browser.maxPages` here (pages open at once); the other
 * settings are crawlkit's defaults (16 requests in flight, images, fonts and
 * media blocked, a new browser every 100 pages). BENCH_BROWSER_SETTINGS (JSON)
 * overrides browser settings, for experiments.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crawl, type Render } from '../src/index.js';
import { childArgs, leftoverResources, Meter, printReport, runAsScript, total } from './common.js';
import { BenchSpider, storedDigest } from './spider.js';
import { descendants, treeCpu } from './tree.js';

/** The benchmark's spider, every request rendered. */
export default class RenderedSpider extends BenchSpider {
  override name = 'bench-rendered';
  override render: Render = true;
}

async function main(): Promise<void> {
  const args = childArgs();
  const storageDir = mkdtempSync(join(tmpdir(), 'crawlkit-bench-f-'));
  try {
    const spider = new RenderedSpider({ baseUrl: args.baseUrl });
    // The same Chromium as Crawlee's (bench/peers/crawlee-playwright.mjs): Debian's.
    const browser = { maxPages: args.concurrency, executablePath: '/usr/bin/chromium', ...(JSON.parse(process.env.BENCH_BROWSER_SETTINGS ?? '{}') as object) };
    // Loaded before the clock starts, as Crawlee loads playwright when its crawler is made: module loading is
    // not the crawl (playwright-core's bundle took 2.5 CPU-s to load, 15% of a 105-page crawl at maxPages 4).
    await import('playwright-core');
    const cpu0 = treeCpu();
    const meter = new Meter();
    const summary = await crawl(spider, {
      fresh: true,
      spiderModule: import.meta.url,
      settings: { storageDir, logLevel: 'warn', browser },
    }).run();
    meter.stop();
    const cpu1 = treeCpu();
    // Chromium has been closed and waited for by now: a process still under this one would be missing from the CPU figure.
    const leftoverProcesses = descendants(process.pid).length;
    const { digest } = await storedDigest(storageDir, spider.name, summary.runId, args.items);
    const s = summary.stats;
    printReport({
      system: 'crawlkit',
      pages: s.pages,
      items: s.items,
      digest: digest.toJSON(),
      ...meter.result,
      errors: total(s.failures),
      extra: {
        maxPages: args.concurrency,
        browser,
        treeCpuS: cpu1.selfS - cpu0.selfS + (cpu1.childrenS - cpu0.childrenS),
        childrenCpuS: cpu1.childrenS - cpu0.childrenS,
        leftoverProcesses,
        leftoverResources: leftoverResources(),
        stats: s,
      },
    });
  } finally {
    rmSync(storageDir, { recursive: true, force: true });
  }
}

runAsScript(import.meta.url, main);

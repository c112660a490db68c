/**
 * The peer: Crawlee's CheerioCrawler doing the benchmark's crawl and
 * extraction (the same selectors as bench/site-data.ts SELECTORS), with its
 * defaults apart from maxConcurrency. Plain JS, resolved from this folder's
 * own node_modules, so Crawlee never enters crawlkit's dependencies:
 *
 *   npm run bench:peers:install      # once: npm --prefix bench/peers install
 *   CRAWLEE_STORAGE_DIR=/tmp/x node bench/peers/crawlee.mjs --base-url http://127.0.0.1:PORT/ --items N [--concurrency 50] [--no-persist]
 *   CRAWLEE_STORAGE_DIR=/tmp/x node bench/peers/crawlee.mjs --site links --base-url http://127.0.0.1:PORT/    # scenario (e)
 *
 * --no-persist runs Crawlee's in-memory storage without writing it to disk
 * (Configuration persistStorage: false). Prints the same report line as the
 * other benchmark children (bench/common.ts CrawlReport).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CheerioCrawler, Configuration, log } from 'crawlee';
import { linkHandlers } from './links.mjs';
import { createDigest, reportCrawlee, shopHandlers } from './shop.mjs';

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    items: { type: 'string' },
    concurrency: { type: 'string', default: '50' },
    'no-persist': { type: 'boolean', default: false },
    site: { type: 'string', default: 'shop' },
  },
});
const links = values.site === 'links';
const baseUrl = values['base-url']?.replace(/\/?$/, '/');
const items = links ? 0 : Number(values.items);
const concurrency = Number(values.concurrency);
if (!baseUrl || !Number.isInteger(items) || !Number.isInteger(concurrency)) throw new Error('usage: --base-url URL --items N [--concurrency C] [--no-persist]');
if (!process.env.CRAWLEE_STORAGE_DIR) throw new Error('set CRAWLEE_STORAGE_DIR to a scratch folder');

const { digest, add } = createDigest(items);
const shop = links ? linkHandlers() : shopHandlers(add);

log.setLevel(log.LEVELS.WARNING);
const persist = !values['no-persist'];
const config = new Configuration({ persistStorage: persist });

const crawler = new CheerioCrawler(
  {
    maxConcurrency: concurrency,
    async requestHandler(context) {
      await (links ? shop.handle(context) : shop.handle(context, context.$));
    },
    failedRequestHandler: shop.failedRequestHandler,
  },
  config,
);

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const stats = await crawler.run([links ? { url: `${baseUrl}hub/0.html`, label: 'HUB' } : { url: `${baseUrl}list/1.html`, label: 'LIST' }]);
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
delay.disable();
// As bench/common.ts Meter: the 10 ms period itself is not a delay.
const lag = { p99Ms: Math.max(0, delay.percentile(99) / 1e6 - 10), maxMs: Math.max(0, delay.max / 1e6 - 10) };
reportCrawlee({
  system: persist ? 'crawlee' : 'crawlee (no persist)',
  stats,
  digest,
  wallS,
  cpu,
  // Scenario (e) checks a LinkReport: items stored, distinct leaves, requests by state (2: done), the longest stall.
  more: links
    ? { lag, items: shop.counts.stored, stored: shop.counts.stored, distinct: shop.distinct(), states: { 2: stats.requestsFinished }, mainStallMs: lag.maxMs }
    : { lag },
  extra: {
    persistStorage: persist,
    requestsFailed: stats.requestsFailed,
    crawlerRuntimeMillis: stats.crawlerRuntimeMillis,
  },
});

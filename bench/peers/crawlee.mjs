/**
 * The peer: Crawlee's CheerioCrawler doing the benchmark's crawl and
 * extraction (the same selectors as bench/site-data.ts SELECTORS), with its
 * defaults apart from maxConcurrency. Plain JS, resolved from this folder's
 * own node_modules, so Crawlee never enters crawlkit's dependencies:
 *
 *   npm run bench:peers:install      # once: npm --prefix bench/peers install
 *   CRAWLEE_STORAGE_DIR=/tmp/x node bench/peers/crawlee.mjs --base-url http://127.0.0.1:PORT/ --items N [--concurrency 50] [--no-persist]
 *
 * --no-persist runs Crawlee's in-memory storage without writing it to disk
 * (Configuration persistStorage: false). Prints the same report line as the
 * other benchmark children (bench/common.ts CrawlReport).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CheerioCrawler, Configuration, log } from 'crawlee';

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    items: { type: 'string' },
    concurrency: { type: 'string', default: '50' },
    'no-persist': { type: 'boolean', default: false },
  },
});
const baseUrl = values['base-url']?.replace(/\/?$/, '/');
const items = Number(values.items);
const concurrency = Number(values.concurrency);
if (!baseUrl || !Number.isInteger(items) || !Number.isInteger(concurrency)) throw new Error('usage: --base-url URL --items N [--concurrency C] [--no-persist]');
if (!process.env.CRAWLEE_STORAGE_DIR) throw new Error('set CRAWLEE_STORAGE_DIR to a scratch folder');

const STARS = ['One', 'Two', 'Three', 'Four', 'Five'];

// The item digest of bench/site-data.ts (ItemDigest, itemHash), repeated here
// because this script runs as plain JS: sum of FNV-1a hashes of each item's
// fields, plus a bitmap of the ids seen. A mismatch with the runner's expected
// digest means a wrong extraction (or a drift between the two copies).
const seen = new Uint8Array(items + 1);
const digest = { count: 0, distinct: 0, sum: 0, badIds: 0 };
function addToDigest(item) {
  const s = `${item.id}\t${item.title}\t${item.price.toFixed(2)}\t${item.sku}\t${item.rating}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  digest.count++;
  digest.sum = (digest.sum + (h >>> 0)) >>> 0;
  if (!Number.isInteger(item.id) || item.id < 1 || item.id > items) digest.badIds++;
  else if (seen[item.id] === 0) {
    seen[item.id] = 1;
    digest.distinct++;
  }
}

log.setLevel(log.LEVELS.WARNING);
const persist = !values['no-persist'];
const config = new Configuration({ persistStorage: persist });
let failed = 0;

const crawler = new CheerioCrawler(
  {
    maxConcurrency: concurrency,
    async requestHandler({ request, $, enqueueLinks, pushData }) {
      if (request.label === 'ITEM') {
        const product = $('article.product');
        const rating = product.find('p.star-rating');
        const item = {
          id: Number(product.attr('data-id')),
          title: product.find('h1.title').text().trim(),
          price: Number(product.find('p.price span.amount').text().replace(/[^0-9.]/g, '')),
          sku: product.find('td.sku').text().trim(),
          rating: STARS.findIndex((word) => rating.hasClass(word)) + 1,
        };
        addToDigest(item);
        await pushData(item);
        await enqueueLinks({ selector: 'ul.related a', label: 'ITEM' });
      } else {
        await enqueueLinks({ selector: 'ol.products h3 a', label: 'ITEM' });
        await enqueueLinks({ selector: 'ul.pager li.next a', label: 'LIST' });
      }
    },
    failedRequestHandler({ request }, error) {
      failed++;
      if (failed <= 5) process.stderr.write(`failed ${request.url}: ${error.message}\n`);
    },
  },
  config,
);

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const stats = await crawler.run([{ url: `${baseUrl}list/1.html`, label: 'LIST' }]);
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const peakRssMB = process.resourceUsage().maxRSS / 1024;
delay.disable();
// As bench/common.ts Meter: the 10 ms period itself is not a delay.
const lag = { p99Ms: Math.max(0, delay.percentile(99) / 1e6 - 10), maxMs: Math.max(0, delay.max / 1e6 - 10) };
const heapUsedMB = process.memoryUsage().heapUsed / 2 ** 20;
const total = process.cpuUsage();

const report = {
  system: persist ? 'crawlee' : 'crawlee (no persist)',
  pages: stats.requestsFinished,
  items: digest.count,
  digest,
  wallS,
  cpuS: (cpu.user + cpu.system) / 1e6,
  cpuUserS: cpu.user / 1e6,
  cpuSystemS: cpu.system / 1e6,
  processCpuS: (total.user + total.system) / 1e6,
  peakRssMB,
  heapUsedMB,
  lag,
  errors: stats.requestsFailed,
  extra: {
    persistStorage: persist,
    requestsTotal: stats.requestsTotal,
    requestsFailed: stats.requestsFailed,
    retryHistogram: stats.retryHistogram,
    crawlerRuntimeMillis: stats.crawlerRuntimeMillis,
  },
};
process.stdout.write(`BENCH_REPORT ${JSON.stringify(report)}\n`);
// Crawlee can leave timers behind (storage persistence, event manager); a benchmark child must end.
setTimeout(() => process.exit(0), 3_000).unref();

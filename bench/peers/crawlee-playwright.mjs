/**
 * Scenario (f)'s peer: Crawlee's PlaywrightCrawler on the rendered shop
 * (bench/rendered-site.ts), with Debian's Chromium (/usr/bin/chromium, the
 * one crawlkit drives; no browser is ever downloaded), headless, doing the
 * benchmark's crawl and extraction (./shop.mjs) on the DOM the pages' scripts
 * wrote (parseWithCheerio: page.content() into cheerio, as crawlkit does):
 *
 *   CRAWLEE_STORAGE_DIR=/tmp/x node bench/peers/crawlee-playwright.mjs --base-url URL --items N --concurrency P [--matched]
 *
 * --concurrency P: maxConcurrency (pages at once), as crawlkit's browser.maxPages.
 * Crawlee's defaults otherwise: its AutoscaledPool starts at 1 page and adds
 * pages while the machine's CPU and memory allow, every browser gets a
 * generated fingerprint (user agent, screen, headers, injected into each
 * page), nothing is blocked, and a browser serves 100 pages.
 * --matched makes it do what crawlkit does: P pages from the start
 * (minConcurrency = P), no fingerprints, and images, fonts and media blocked
 * (blockRequests with those URL patterns; crawlkit blocks them by resource type).
 *
 * Prints the report line of bench/common.ts, with the CPU of the whole tree
 * (node and Chromium, from /proc/self/stat, see bench/tree.ts) in extra.treeCpuS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Configuration, log, PlaywrightCrawler } from 'crawlee';
import { createDigest, reportCrawlee, shopHandlers } from './shop.mjs';

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    items: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    matched: { type: 'boolean', default: false },
  },
});
const baseUrl = values['base-url']?.replace(/\/?$/, '/');
const items = Number(values.items);
const concurrency = Number(values.concurrency);
if (!baseUrl || !Number.isInteger(items) || !Number.isInteger(concurrency)) throw new Error('usage: --base-url URL --items N [--concurrency P] [--matched]');
if (!process.env.CRAWLEE_STORAGE_DIR) throw new Error('set CRAWLEE_STORAGE_DIR to a scratch folder');
const matched = values.matched;

/** Images, fonts and media by extension: what crawlkit's browser.blockResources aborts by resource type. */
const BLOCKED = ['.jpg', '.jpeg', '.png', '.gif', '.webp', '.svg', '.ico', '.woff', '.woff2', '.ttf', '.otf', '.mp4', '.webm', '.mp3'];

// CPU of this process and of the children it has waited for (Chromium, once closed), seconds: bench/tree.ts treeCpu().
const stat = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
};
const treeCpu = () => {
  const f = stat('self');
  return { selfS: (Number(f[11]) + Number(f[12])) / 100, childrenS: (Number(f[13]) + Number(f[14])) / 100 };
};
const childProcesses = () =>
  readdirSync('/proc').filter((name) => {
    try {
      return /^\d+$/.test(name) && Number(stat(name)[1]) === process.pid;
    } catch {
      return false;
    }
  }).length;

const { digest, add } = createDigest(items);
const shop = shopHandlers(add);
log.setLevel(log.LEVELS.WARNING);

const crawler = new PlaywrightCrawler(
  {
    maxConcurrency: concurrency,
    ...(matched ? { minConcurrency: concurrency } : {}),
    launchContext: { launchOptions: { executablePath: '/usr/bin/chromium', headless: true } },
    ...(matched ? { browserPoolOptions: { useFingerprints: false } } : {}),
    preNavigationHooks: matched ? [({ blockRequests }) => blockRequests({ urlPatterns: BLOCKED })] : [],
    async requestHandler(context) {
      await shop.handle(context, await context.parseWithCheerio());
    },
    failedRequestHandler: shop.failedRequestHandler,
  },
  new Configuration({ persistStorage: false }),
);

const cpu0 = treeCpu();
const t0 = performance.now();
const ownCpu0 = process.cpuUsage();
const stats = await crawler.run([{ url: `${baseUrl}list/1.html`, label: 'LIST' }]);
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(ownCpu0);
const cpu1 = treeCpu();
reportCrawlee({
  system: matched ? 'crawlee-playwright (matched)' : 'crawlee-playwright',
  stats,
  digest,
  wallS,
  cpu,
  extra: {
    maxPages: concurrency,
    matched,
    treeCpuS: cpu1.selfS - cpu0.selfS + (cpu1.childrenS - cpu0.childrenS),
    childrenCpuS: cpu1.childrenS - cpu0.childrenS,
    // Chromium closed and waited for? A process still under this one would be missing from the CPU figure.
    leftoverProcesses: childProcesses(),
  },
});

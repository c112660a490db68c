/**
 * The shop's extraction and item digest for the Crawlee peers (plain JS, run
 * from this folder's own packages): the selectors of bench/site-data.ts
 * SELECTORS and the digest of its ItemDigest, repeated here because the peers
 * do not load crawlkit's TypeScript. A mismatch with the runner's expected
 * digest means a wrong extraction (or a drift between the two copies).
 */

const STARS = ['One', 'Two', 'Three', 'Four', 'Five'];

/** The item on an item page, from a cheerio document. */
export function extractItem($) {
  const product = $('article.product');
  const rating = product.find('p.star-rating');
  return {
    id: Number(product.attr('data-id')),
    title: product.find('h1.title').text().trim(),
    price: Number(product.find('p.price span.amount').text().replace(/[^0-9.]/g, '')),
    sku: product.find('td.sku').text().trim(),
    rating: STARS.findIndex((word) => rating.hasClass(word)) + 1,
  };
}

/** Sum of FNV-1a hashes of each item's fields, plus a bitmap of the ids seen (ItemDigest). */
export function createDigest(items) {
  const seen = new Uint8Array(items + 1);
  const digest = { count: 0, distinct: 0, sum: 0, badIds: 0 };
  const add = (item) => {
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
  };
  return { digest, add };
}

/**
 * The crawl's handlers for a Crawlee crawler, given the page's cheerio
 * document: an item page yields its item and follows its related items; a
 * listing follows its items and the next listing. `add` counts each item.
 */
export function shopHandlers(add) {
  let failed = 0;
  return {
    async handle({ request, enqueueLinks, pushData }, $) {
      if (request.label === 'ITEM') {
        const item = extractItem($);
        add(item);
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
  };
}

/**
 * Prints a Crawlee run's report line (the bench's BENCH_REPORT) and makes sure the process ends: Crawlee can
 * leave timers behind (storage persistence, its event manager), and a benchmark child must end.
 * `cpu` is this process's own CPU over the crawl (process.cpuUsage(start)); `more` goes beside the common fields.
 */
export function reportCrawlee({ system, stats, digest, wallS, cpu, more = {}, extra }) {
  const total = process.cpuUsage();
  const report = {
    system,
    pages: stats.requestsFinished,
    items: digest.count,
    digest,
    wallS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    cpuUserS: cpu.user / 1e6,
    cpuSystemS: cpu.system / 1e6,
    processCpuS: (total.user + total.system) / 1e6,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    heapUsedMB: process.memoryUsage().heapUsed / 2 ** 20,
    ...more,
    errors: stats.requestsFailed,
    extra: { requestsTotal: stats.requestsTotal, retryHistogram: stats.retryHistogram, ...extra },
  };
  process.stdout.write(`BENCH_REPORT ${JSON.stringify(report)}\n`);
  setTimeout(() => process.exit(0), 3_000).unref();
}

/**
 * Scenario (e)'s floor: the bare loop of bench/loop.ts (undici, a Set of seen
 * URLs, 50 in flight, no persistence) over the link-heavy site, with the
 * extraction of bench/link-spider.ts on cheerio (htmlparser2, as crawlkit's
 * default parser): a hub's `nav a` links lead to hubs, its `main a` links to
 * leaves, a leaf gives one item, its id. Reported as the LinkReport the
 * scenario checks.
 *
 *   node --import tsx bench/link-floor.ts --base-url http://127.0.0.1:PORT/
 */
import { load } from 'cheerio';
import { parseArgs } from 'node:util';
import { Meter, REPORT_PREFIX, runAsScript } from './common.js';
import type { LinkReport } from './link-spider.js';
import { bareLoop, type PageKind, type Parsed } from './loop.js';

/** Hubs are the loop's 'listing' pages, leaves its 'item' pages. */
function parse(html: string, _url: string, kind: PageKind): Parsed {
  const $ = load(html, { xml: { xmlMode: false, decodeEntities: true } });
  if (kind === 'item') return { item: { id: Number($('h1').attr('data-id')) }, links: [] };
  // Attributes read straight off the elements, as crawlkit's followAll does.
  const hrefs = (selector: string, to: PageKind): [string, PageKind][] =>
    $(selector)
      .toArray()
      .map((el) => [(el as { attribs: Record<string, string> }).attribs.href!, to]);
  return { links: [...hrefs('nav a', 'listing'), ...hrefs('main a', 'item')] };
}

/** Leaves stored, and distinct leaf ids among them. */
function leafCounter() {
  const ids = new Set<number>();
  return {
    count: 0,
    get distinct() {
      return ids.size;
    },
    add(item: Record<string, unknown>) {
      this.count++;
      ids.add(item.id as number);
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'base-url': { type: 'string' }, concurrency: { type: 'string', default: '50' } } });
  const baseUrl = values['base-url']?.replace(/\/?$/, '/');
  if (!baseUrl) throw new Error('usage: --base-url URL [--concurrency 50]');
  const digest = leafCounter();
  const meter = new Meter();
  const result = await bareLoop({ startUrl: `${baseUrl}hub/0.html`, items: 0, concurrency: Number(values.concurrency), parse, digest });
  meter.stop();
  const { wallS, cpuS, peakRssMB, memory, lag } = meter.result;
  const report: LinkReport = {
    pages: result.pages,
    items: digest.count,
    stored: digest.count,
    distinct: digest.distinct,
    states: { 2: result.pages },
    mainStallMs: lag?.maxMs ?? NaN,
    lag,
    errors: result.errors,
    wallS,
    cpuS,
    peakRssMB,
    memory,
    stats: { seen: result.seen, duplicates: result.duplicates, latencyMs: result.latencyMs },
  };
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
}

runAsScript(import.meta.url, main);

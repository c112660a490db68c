/**
 * The floor: the bare loop (bench/loop.ts) with the same extraction as the
 * crawlkit spider, on cheerio with htmlparser2, as crawlkit's default parser.
 *
 *   node --import tsx bench/floor.ts --base-url http://127.0.0.1:PORT/ --items N [--concurrency 50]
 */
import { load } from 'cheerio';
import { extractItem } from './extract.js';
import { runLoopChild, type PageKind, type Parsed } from './loop.js';
import { SELECTORS } from './site-data.js';


function parse(html: string, _url: string, kind: PageKind): Parsed {
  // The options crawlkit's Response passes for htmlparser2 (decodeEntities is the default; written out as it does).
  const $ = load(html, { xml: { xmlMode: false, decodeEntities: true } });
  const hrefs = (selector: string, to: PageKind): [string, PageKind][] =>
    $(selector)
      .map((_, el) => $(el).attr('href'))
      .get()
      .map((href: string) => [href, to]);
  if (kind === 'listing') {
    const links = hrefs(SELECTORS.listingItems, 'item');
    const next = $(SELECTORS.next).attr('href');
    if (next) links.push([next, 'listing']);
    return { links };
  }
  return { item: extractItem($), links: hrefs(SELECTORS.related, 'item') };
}

await runLoopChild('floor', parse);

/**
 * The regex floor: the bare loop (bench/loop.ts) with the extraction done by
 * regular expressions over the site's known markup, no DOM. What is left is
 * mostly HTTP and URL handling: the I/O ceiling of a single-threaded crawler
 * on this site (and, with the site's CPU beside it, the site's own ceiling).
 *
 *   node --import tsx bench/regex-floor.ts --base-url http://127.0.0.1:PORT/ --items N [--concurrency 50]
 */
import { decodeEntities, parsePrice } from './common.js';
import { runLoopChild, type PageKind, type Parsed } from './loop.js';
import { STARS } from './site-data.js';

// Anchored on the site's exact markup (bench/site-data.ts); the same fields the
// selectors in SELECTORS pick.
const LISTING_LINK = /<h3><a href="([^"]*)"/g;
const NEXT = /<li class="next"><a href="([^"]*)"/;
const ID = /<article class="product" data-id="(\d+)"/;
const TITLE = /<h1 class="title">([^<]*)<\/h1>/;
const PRICE = /<p class="price"><span class="amount">([^<]*)<\/span>/;
const SKU = /<td class="sku">([^<]*)<\/td>/;
const RATING = /<p class="star-rating (\w+)"/;
const RELATED = /<ul class="related">([\s\S]*?)<\/ul>/;
const HREF = /href="([^"]*)"/g;

const hrefs = (html: string, re: RegExp, to: PageKind): [string, PageKind][] => [...html.matchAll(re)].map((m) => [decodeEntities(m[1]!), to]);

function parse(html: string, _url: string, kind: PageKind): Parsed {
  if (kind === 'listing') {
    const links = hrefs(html, LISTING_LINK, 'item');
    const next = NEXT.exec(html)?.[1];
    if (next) links.push([decodeEntities(next), 'listing']);
    return { links };
  }
  const rating = RATING.exec(html)?.[1] ?? '';
  return {
    item: {
      id: Number(ID.exec(html)?.[1]),
      title: decodeEntities(TITLE.exec(html)?.[1] ?? '').trim(),
      price: parsePrice(decodeEntities(PRICE.exec(html)?.[1] ?? '')),
      sku: decodeEntities(SKU.exec(html)?.[1] ?? '').trim(),
      rating: STARS.indexOf(rating as (typeof STARS)[number]) + 1,
    },
    links: hrefs(RELATED.exec(html)?.[1] ?? '', HREF, 'item'),
  };
}

await runLoopChild('regex floor', parse);

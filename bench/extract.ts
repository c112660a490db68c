/**
 * The item extraction on cheerio, shared by the crawlkit spider and the
 * cheerio floor so both do exactly the same work per page. Kept apart from
 * bench/spider.ts so the floor does not load crawlkit.
 */
import type { CheerioAPI } from 'cheerio';
import { parsePrice } from './common.js';
import { SELECTORS, STARS, type Item } from './site-data.js';

/** The item on an item page. */
export function extractItem($: CheerioAPI): Item {
  const product = $(SELECTORS.product);
  const rating = product.find(SELECTORS.rating);
  return {
    id: Number(product.attr('data-id')),
    title: product.find(SELECTORS.title).text().trim(),
    price: parsePrice(product.find(SELECTORS.price).text()),
    sku: product.find(SELECTORS.sku).text().trim(),
    rating: STARS.findIndex((word) => rating.hasClass(word)) + 1,
  };
}

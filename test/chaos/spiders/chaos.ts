/**
 * The spider of the chaos site (test/chaos/server.ts), loaded by the real CLI
 * (`--spiders test/chaos/spiders`) and subclassed by in-process tests. Every
 * page with an `h1.title` yields one item; every link is followed.
 *
 * Arguments: `baseUrl` (required); `padBytes` adds a padding field of that
 * many bytes to each item (to fill a disk).
 */
import { Spider, canonicalUrl, type CallbackResult, type Response } from '../../../src/index.js';

/** Path and query of a URL's canonical form: the `page` of an item. */
export const pagePath = (url: string): string => {
  const u = new URL(canonicalUrl(url));
  return u.pathname + u.search;
};

export default class ChaosSpider extends Spider {
  override name = 'chaos';
  override startUrls = [this.arg('baseUrl')];
  readonly padBytes = Number(this.arg('padBytes', '0'));

  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    const title = res.$('h1.title').first().text().trim();
    if (title) yield this.padBytes > 0 ? { page: pagePath(res.url), title, pad: 'x'.repeat(this.padBytes) } : { page: pagePath(res.url), title };
    yield* res.followAll('a');
  }
}

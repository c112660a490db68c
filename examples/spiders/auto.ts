// The README's render = 'auto' example (the README imports from 'crawlkit-ts'), as test/render-auto.test.ts runs it.
// Against the fixture site: npm run serve:fixtures, then crawl auto --spiders examples/spiders -a base=http://127.0.0.1:8403/ (see the README).
import { Spider, type Response } from '../../src/index.js';

export default class AutoQuotes extends Spider {
  override name = 'auto';
  override startUrls = [this.arg('base') + 'auto/'];
  // Each URL pattern's first pages are fetched both ways; those where HTTP gives the same go HTTP-only.
  override render = 'auto' as const;

  override async *parse(res: Response) {
    yield* res.followAll('a', 'parseQuote');
  }

  async *parseQuote(res: Response) {
    for (const q of res.$('div.quote'))
      yield { page: new URL(res.url).pathname, text: res.$(q).find('.text').text(), author: res.$(q).find('.author').text() };
  }
}

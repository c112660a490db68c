// The README's "Pages that need a browser" example, as it runs in test/browser.test.ts (the README imports from 'crawlkit-ts').
// Against the fixture site: npm run serve:fixtures, then crawl rendered --spiders examples/spiders -a base=http://127.0.0.1:8403/ (see the README).
import { Spider, type Response } from '../../src/index.js';

export default class RenderedQuotes extends Spider {
  override name = 'rendered';
  override startUrls = [this.arg('base')];

  // The index is plain HTML: fetched over HTTP. Each of its pages renders, waiting as it needs.
  override async *parse(res: Response) {
    yield res.follow('inline', 'parseQuotes', { render: true });
    yield res.follow('delayed', 'parseQuotes', { render: { waitFor: 'div.quote', timeoutMs: 10_000 } });
    yield res.follow('scroll', 'parseScroll', { render: { waitFor: 'div.quote' } });
    yield res.follow('more', 'parseMore', { render: { waitFor: 'div.quote' } });
    yield res.follow('beacon', 'parseQuotes', { render: { waitFor: 'div.quote' } });
    yield res.follow('private/', 'parseQuotes', { render: true });
  }

  async *parseQuotes(res: Response) {
    for (const q of res.$('div.quote'))
      yield { page: new URL(res.url).pathname, text: res.$(q).find('.text').text(), author: res.$(q).find('.author').text() };
  }

  // Infinite scroll: scrolls while the list grows (or until the end marker shows), then res.$ has it all.
  async *parseScroll(res: Response) {
    await res.scroll({ until: 'p.end' });
    yield* this.parseQuotes(res);
  }

  // A "load more" button, clicked until it is gone; res.refresh() then takes the DOM as it is now.
  async *parseMore(res: Response) {
    const page = res.page;
    while (page && (await page.$('button.more'))) {
      const shown = await page.locator('div.quote').count();
      await page.click('button.more');
      await page.locator('div.quote').nth(shown).waitFor(); // the next page of quotes is in
    }
    await res.refresh();
    yield* this.parseQuotes(res);
  }
}

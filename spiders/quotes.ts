import { Spider, type Response } from '../src/index.js';

/**
 * Every quote on quotes.toscrape.com, following the "Next →" link to the last page.
 *
 *   crawl quotes                                   # the public site
 *   crawl quotes -a baseUrl=http://127.0.0.1:8400/ -a authors=true
 *
 * With -a authors=true it also visits each author's "(about)" page.
 */
export default class QuotesSpider extends Spider {
  override name = 'quotes';
  override startUrls = [this.arg('baseUrl', 'https://quotes.toscrape.com/')];
  override settings = { concurrency: 8 };
  withAuthors = ['true', '1'].includes(this.arg('authors', ''));

  override async *parse(res: Response) {
    const $ = res.$;
    for (const quote of $('div.quote').toArray()) {
      const q = $(quote);
      yield {
        text: q.find('span.text').text().trim(),
        author: q.find('small.author').text().trim(),
        tags: q.find('div.tags a.tag').toArray().map((a) => $(a).text().trim()),
      };
    }

    if (this.withAuthors) {
      yield* res.followAll('div.quote a[href*="/author/"]', this.parseAuthor);
    }

    const next = $('li.next a').attr('href');
    if (next) yield res.follow(next);
  }

  async *parseAuthor(res: Response) {
    const $ = res.$;
    yield {
      kind: 'author',
      name: $('h3.author-title').text().trim(),
      born: $('span.author-born-date').text().trim(),
      bornLocation: $('span.author-born-location').text().trim(),
      description: $('div.author-description').text().trim(),
    };
  }
}

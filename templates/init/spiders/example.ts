import { Spider, type Response } from 'crawlkit-ts';

/**
 * Every quote of quotes.toscrape.com (a site made for practising scraping),
 * following the "Next" link to the last page.
 *
 *   npx crawl example                                    # the public site
 *   npx crawl example -a baseUrl=http://127.0.0.1:8080/  # or another copy of it
 *   npx crawl parse example https://quotes.toscrape.com/ # try parse() on one page
 */
export default class ExampleSpider extends Spider {
  override name = 'example';
  override startUrls = [this.arg('baseUrl', 'https://quotes.toscrape.com/')];

  override async *parse(res: Response) {
    for (const quote of res.$('div.quote').toArray()) {
      const q = res.$(quote);
      yield {
        text: q.find('span.text').text().trim(),
        author: q.find('small.author').text().trim(),
        tags: q.find('a.tag').toArray().map((tag) => res.$(tag).text()),
      };
    }
    // The next page, if there is one: follow() gives null for a missing link, and a null is skipped.
    yield res.follow(res.$('li.next a').attr('href'));
  }
}

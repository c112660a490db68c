import { Spider, type Response } from '../src/index.js';

const STARS = ['One', 'Two', 'Three', 'Four', 'Five'];

/**
 * All 1000 books of books.toscrape.com: walk the catalogue pages ("next") and
 * open every product page.
 *
 *   crawl books                                    # the public site
 *   crawl books -a baseUrl=http://127.0.0.1:8401/
 */
export default class BooksSpider extends Spider {
  override name = 'books';
  override startUrls = [this.arg('baseUrl', 'https://books.toscrape.com/')];

  override async *parse(res: Response) {
    yield* res.followAll('article.product_pod h3 a', this.parseBook);

    const next = res.$('li.next a').attr('href');
    if (next) yield res.follow(next);
  }

  async *parseBook(res: Response) {
    const $ = res.$;
    const main = $('div.product_main');
    yield {
      title: main.find('h1').text().trim(),
      price: main.find('p.price_color').text().trim(),
      availability: main.find('p.instock.availability').text().replace(/\s+/g, ' ').trim(),
      rating: STARS.findIndex((word) => main.find('p.star-rating').hasClass(word)) + 1,
      upc: $('table.table-striped th:contains("UPC") + td').text().trim(),
      category: $('ul.breadcrumb li').eq(2).find('a').text().trim(),
    };
  }
}

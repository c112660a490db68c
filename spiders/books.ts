import { z } from 'zod';
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

  /** What a book must look like; a page the selectors misread lands in `invalid_items` instead of the CSV. */
  override itemSchema = z.object({
    title: z.string().min(1),
    price: z.string().regex(/^£\d+\.\d\d$/),
    availability: z.string(),
    rating: z.number().int().min(1).max(5),
    upc: z.string().length(16),
    category: z.string().min(1),
  });

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

// The README's JSON API example, as test/forms.test.ts runs it (the README imports from 'crawlkit-ts').
import { Request, Spider, type Response } from '../../src/index.js';

interface SearchPage {
  results: { rank: number; name: string }[];
  /** The next page's cursor; null on the last page. */
  next: string | null;
}

/** Every result of a search API that pages with a cursor: POST `{ q, cursor }` as JSON, one request per page. */
export default class CatalogSpider extends Spider {
  override name = 'catalog';
  base = this.arg('base', 'http://127.0.0.1:8402').replace(/\/$/, '');
  query = this.arg('q', 'tea');

  override async *start() {
    yield this.search();
  }

  search(cursor?: string): Request {
    return new Request(`${this.base}/api/search`, { json: { q: this.query, cursor }, callback: this.parseResults });
  }

  async *parseResults(res: Response) {
    const page = res.json<SearchPage>();
    yield* page.results;
    if (page.next) yield this.search(page.next);
  }
}

import * as cheerio from 'cheerio';
import { describe, expect, it } from 'vitest';
import { BOOKS_PAGES, BOOKS_TOTAL, booksExpected, booksSite, type BookItem } from './fixtures/books.js';
import { quotesAuthorsExpected, quotesExpected, quotesSite, type QuoteItem } from './fixtures/quotes.js';
import { startFixtureServers } from './fixtures/serve.js';
import { serveSite, startServer } from './helpers/server.js';

const ORIGIN = 'http://fixture.test';

/** Every <a href> on every page that points inside the site, as [fromPage, targetPath]. */
function internalLinks(site: Map<string, string>): [string, string][] {
  const links: [string, string][] = [];
  for (const [path, html] of site) {
    const $ = cheerio.load(html);
    for (const a of $('a[href]').toArray()) {
      const url = new URL($(a).attr('href') as string, ORIGIN + path);
      if (url.origin === ORIGIN) links.push([path, url.pathname]);
    }
  }
  return links;
}

/** Follow `li.next a` from `start`, collecting the pages visited. */
function paginate(site: Map<string, string>, start: string): string[] {
  const pages: string[] = [];
  let path: string | undefined = start;
  while (path !== undefined) {
    const html = site.get(path);
    if (html === undefined) throw new Error(`pagination points at unserved page ${path}`);
    pages.push(path);
    const next = cheerio.load(html)('li.next a').attr('href');
    path = next ? new URL(next, ORIGIN + path).pathname : undefined;
  }
  return pages;
}

describe('quotes fixture site', () => {
  const site = quotesSite();

  it('has 10 pages of 10 quotes matching quotesExpected()', () => {
    const pages = paginate(site, '/');
    expect(pages).toEqual(['/', ...Array.from({ length: 9 }, (_, i) => `/page/${i + 2}/`)]);
    const items: QuoteItem[] = [];
    for (const p of pages) {
      const $ = cheerio.load(site.get(p) as string);
      for (const el of $('div.quote').toArray()) {
        const q = $(el);
        items.push({
          text: q.find('span.text').text().trim(),
          author: q.find('small.author').text().trim(),
          tags: q.find('div.tags a.tag').toArray().map((a) => $(a).text().trim()),
        });
        expect(q.find('meta.keywords').attr('content')).toBe(items.at(-1)?.tags.join(','));
      }
    }
    expect(items).toHaveLength(100);
    expect(items).toEqual(quotesExpected());
    expect(items[0]?.text).toMatch(/^“The world as we have created it.*”$/);
  });

  it('has an author page for every author, matching quotesAuthorsExpected()', () => {
    const authors = quotesAuthorsExpected();
    expect(authors.length).toBeGreaterThanOrEqual(45);
    expect(new Set(quotesExpected().map((q) => q.author))).toEqual(new Set(authors.map((a) => a.name)));
    const linked = new Set(internalLinks(site).map(([, to]) => to).filter((to) => to.startsWith('/author/')));
    expect(linked.size).toBe(authors.length);
    for (const path of linked) {
      const $ = cheerio.load(site.get(path) as string);
      const item = {
        kind: 'author',
        name: $('h3.author-title').text().trim(),
        born: $('span.author-born-date').text().trim(),
        bornLocation: $('span.author-born-location').text().trim(),
        description: $('div.author-description').text().trim(),
      };
      expect(authors).toContainEqual(item);
    }
  });

  it('every internal link resolves to a served page', () => {
    const broken = internalLinks(site).filter(([, to]) => !site.has(to));
    expect(broken).toEqual([]);
  });
});

describe('books fixture site', () => {
  const site = booksSite();
  const expected = booksExpected();

  it('has 1000 books with unique UPCs, 50 categories', () => {
    expect(expected).toHaveLength(BOOKS_TOTAL);
    expect(new Set(expected.map((b) => b.upc)).size).toBe(BOOKS_TOTAL);
    expect(expected.every((b) => /^[0-9a-f]{16}$/.test(b.upc))).toBe(true);
    expect(new Set(expected.map((b) => b.category)).size).toBe(50);
    expect(expected[0]).toEqual({
      title: 'A Light in the Attic',
      price: '£51.77',
      availability: 'In stock (22 available)',
      rating: 3,
      upc: 'a897fe39b1053632',
      category: 'Poetry',
    });
  });

  it('pagination reaches all 50 catalogue pages and 1000 product pages with the expected data', { timeout: 30_000 }, () => {
    const pages = paginate(site, '/index.html');
    expect(pages).toHaveLength(BOOKS_PAGES);
    expect(pages.at(-1)).toBe('/catalogue/page-50.html');
    expect(site.get('/')).toBe(site.get('/index.html'));

    const stars = ['One', 'Two', 'Three', 'Four', 'Five'];
    const items: BookItem[] = [];
    for (const p of pages) {
      const $ = cheerio.load(site.get(p) as string);
      expect($('li.current').text().trim()).toBe(`Page ${pages.indexOf(p) + 1} of 50`);
      const pods = $('article.product_pod').toArray();
      expect(pods).toHaveLength(20);
      for (const pod of pods) {
        const href = $(pod).find('h3 a').attr('href') as string;
        expect(href.startsWith(p === '/index.html' ? 'catalogue/' : '')).toBe(true);
        const productPath = new URL(href, ORIGIN + p).pathname;
        const html = site.get(productPath);
        expect(html, productPath).toBeDefined();
        const $p = cheerio.load(html as string);
        const main = $p('div.product_main');
        items.push({
          title: main.find('h1').text().trim(),
          price: main.find('p.price_color').text().trim(),
          availability: main.find('p.instock.availability').text().replace(/\s+/g, ' ').trim(),
          rating: stars.findIndex((w) => main.find('p.star-rating').hasClass(w)) + 1,
          upc: $p('table.table-striped th:contains("UPC") + td').text().trim(),
          category: $p('ul.breadcrumb li').eq(2).find('a').text().trim(),
        });
        expect($(pod).find('h3 a').attr('title')).toBe(items.at(-1)?.title);
      }
    }
    expect(items).toEqual(expected);
  });

  it('has titles that need HTML escaping and non-ASCII characters', () => {
    expect(expected.some((b) => b.title.includes('&'))).toBe(true);
    expect(expected.some((b) => b.title.includes('"'))).toBe(true);
    expect(expected.some((b) => b.title.includes("'"))).toBe(true);
    expect(expected.some((b) => /[éü]/.test(b.title))).toBe(true);
  });

  it('product pages are 5–10 KB', () => {
    const sizes = [...site].filter(([p]) => /^\/catalogue\/[^/]+_\d+\/index\.html$/.test(p)).map(([, html]) => Buffer.byteLength(html));
    expect(sizes).toHaveLength(BOOKS_TOTAL);
    expect(Math.min(...sizes)).toBeGreaterThan(5_000);
    expect(Math.max(...sizes)).toBeLessThan(10_240);
  });

  it('every internal link resolves to a served page', { timeout: 30_000 }, () => {
    const broken = internalLinks(site).filter(([, to]) => !site.has(to));
    expect(broken).toEqual([]);
  });
});

describe('test server helpers', () => {
  it('serveSite serves pages, 404s, records hits and closes with keep-alive sockets open', async () => {
    const pages = new Map<string, string | { status?: number; headers?: Record<string, string>; body?: string }>([
      ['/', '<html><body>home</body></html>'],
      ['/robots.txt', 'User-agent: *\nDisallow:'],
      ['/moved', { status: 301, headers: { Location: '/' } }],
    ]);
    const server = await serveSite(pages);
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const home = await fetch(`${server.url}/?a=1`);
      expect(home.status).toBe(200);
      expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await home.text()).toContain('home');
      const robots = await fetch(`${server.url}/robots.txt`);
      expect(robots.headers.get('content-type')).toMatch(/^text\/plain/);
      await robots.text();
      const moved = await fetch(`${server.url}/moved`, { redirect: 'manual' });
      expect(moved.status).toBe(301);
      expect(moved.headers.get('location')).toBe('/');
      const missing = await fetch(`${server.url}/nope`);
      expect(missing.status).toBe(404);
      await missing.text();
      expect(server.hits.get('/?a=1')).toBe(1);
      expect(server.requests.map((r) => r.path)).toEqual(['/?a=1', '/robots.txt', '/moved', '/nope']);
    } finally {
      await server.close();
    }
  });

  it('startServer turns handler errors into 500s', async () => {
    const server = await startServer(() => {
      throw new Error('boom');
    });
    try {
      const res = await fetch(`${server.url}/x`);
      expect(res.status).toBe(500);
      await res.text();
    } finally {
      await server.close();
    }
  });

  it('startFixtureServers serves both sites', async () => {
    const servers = await startFixtureServers();
    try {
      const q = await fetch(`${servers.quotes.url}/page/2/`);
      expect(await q.text()).toContain('class="quote"');
      const b = await fetch(`${servers.books.url}/catalogue/page-2.html`);
      expect(await b.text()).toContain('Page 2 of 50');
    } finally {
      await servers.close();
    }
  });
});

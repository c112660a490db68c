/**
 * The bundled spiders, run by the real CLI against the local copies of
 * quotes.toscrape.com and books.toscrape.com, checked against the fixtures'
 * expected items.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { booksExpected, type BookItem } from './fixtures/books.js';
import { quotesAuthorsExpected, quotesExpected } from './fixtures/quotes.js';
import { startFixtureServers, type FixtureServers } from './fixtures/serve.js';
import { CRAWLKIT, lines, runCli, stackLines, tempDir, tempProject } from './helpers/cli.js';
import { canonical, readDb } from './helpers/db.js';
import { parseCsv } from './helpers/csv.js';

let servers: FixtureServers;
let tmp: string;

beforeAll(async () => {
  servers = await startFixtureServers(0);
  tmp = await tempDir();
});

afterAll(async () => {
  await servers?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const quotesUrl = () => `${servers.quotes.url}/`;
const booksUrl = () => `${servers.books.url}/`;

describe.concurrent('bundled spiders', () => {
  it('crawl quotes stores exactly the 100 expected quotes', async () => {
    const storage = join(tmp, 'quotes-plain');
    const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Finished run 1 of 'quotes'/);
    expect(r.stderr).toMatch(/items\s+100\b/);
    const snap = readDb(storage, 'quotes');
    expect(snap.items).toHaveLength(100);
    expect(canonical(snap.items.map((i) => i.data))).toEqual(canonical(quotesExpected()));
    expect(snap.runs).toEqual([{ id: 1, status: 'finished', args: { baseUrl: quotesUrl() } }]);
    expect(snap.states).toEqual({ 2: 10 }); // ten listing pages, all done
  });

  it('crawl quotes -a authors=true also stores one item per author', async () => {
    const storage = join(tmp, 'quotes-authors');
    const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '-a', 'authors=true', '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    const items = readDb(storage, 'quotes').items.map((i) => i.data);
    const authors = items.filter((i) => i.kind === 'author');
    const quotes = items.filter((i) => i.kind !== 'author');
    expect(canonical(quotes)).toEqual(canonical(quotesExpected()));
    expect(canonical(authors)).toEqual(canonical(quotesAuthorsExpected()));
    expect(items).toHaveLength(100 + quotesAuthorsExpected().length);
  });

  it('crawl books stores the 1000 expected books once each, and exports them as RFC 4180 CSV', async () => {
    const storage = join(tmp, 'books');
    const r = await runCli(['books', '-a', `baseUrl=${booksUrl()}`, '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/items\s+1,000\b/);

    const expected = new Map(booksExpected().map((b) => [b.upc, b]));
    expect(expected.size).toBe(1000);
    const stored = readDb(storage, 'books').items.map((i) => i.data as unknown as BookItem);
    expect(stored).toHaveLength(1000);
    expect(new Set(stored.map((b) => b.upc)).size).toBe(1000);
    for (const book of stored) expect(book).toEqual(expected.get(book.upc));

    const csv = await runCli(['export', 'books', '--format', 'csv', '--storage', storage]);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.startsWith('\uFEFF')).toBe(true);
    expect(csv.stdout.endsWith('\r\n')).toBe(true);
    // Every line break outside quoted cells is CRLF: no bare LF between rows.
    const rows = parseCsv(csv.stdout.slice(1));
    expect(rows[0]).toEqual(['title', 'price', 'availability', 'rating', 'upc', 'category']);
    expect(rows).toHaveLength(1001);
    const seen = new Set<string>();
    for (const row of rows.slice(1)) {
      expect(row).toHaveLength(6);
      const [title, price, availability, rating, upc, category] = row as [string, string, string, string, string, string];
      const book = expected.get(upc);
      expect(book, `unknown UPC ${upc}`).toBeDefined();
      expect({ title, price, availability, rating: Number(rating), upc, category }).toEqual(book);
      seen.add(upc);
    }
    expect(seen.size).toBe(1000);
    // Titles with commas and quotes are quoted, not split.
    expect(csv.stdout).toContain('"The Coming Woman: A Novel Based on the Life of the Infamous Feminist, Victoria Woodhull"');

    // The same export to a file (format from the extension) is byte-identical.
    const file = join(tmp, 'books-export.csv');
    const toFile = await runCli(['export', 'books', '-o', file, '--storage', storage]);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(toFile.stdout).toBe('');
    expect(await readFile(file, 'utf8')).toBe(csv.stdout);
  });

  it('crawl <spider> -o items.jsonl writes the items to the file as the crawl goes', async () => {
    const storage = join(tmp, 'quotes-output');
    const file = join(tmp, 'items.jsonl');
    const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '-o', file, '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote 100 items to .*items\.jsonl/);
    const text = await readFile(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const written = lines(text).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(written).toEqual(readDb(storage, 'quotes').items.map((i) => i.data)); // the stored items, in stored order
    expect(canonical(written)).toEqual(canonical(quotesExpected()));
    expect((await readdir(tmp)).filter((f) => f.startsWith('items.jsonl.') && f.endsWith('.tmp'))).toEqual([]); // no temporary file left
  });

  it('crawl <spider> -o items.csv writes CSV as the crawl goes, lists as JSON', async () => {
    const storage = join(tmp, 'quotes-output-csv');
    const file = join(tmp, 'items.csv');
    const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '-o', file, '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseCsv((await readFile(file, 'utf8')).replace(/^\uFEFF/, ''));
    expect(rows[0]).toEqual(['text', 'author', 'tags']);
    expect(rows.slice(1).map(([text, author, tags]) => ({ text, author, tags: JSON.parse(tags!) }))).toEqual(
      readDb(storage, 'quotes').items.map((i) => i.data),
    );
  });

  it('loads a .ts spider from a --spiders folder that is not inside an ES-module package', async () => {
    // A plain folder of spiders, with no package.json declaring "type": "module" above it.
    const project = await tempProject(
      {
        titles: `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Titles extends Spider {
  override name = 'titles';
  override startUrls = [this.arg('baseUrl')];
  override async *parse(res: Response) {
    yield { url: res.url, title: res.$('title').text().trim() };
  }
}
`,
      },
      { esm: false },
    );
    try {
      const r = await runCli(['titles', '-a', `baseUrl=${quotesUrl()}`, '--spiders', project.spiders, '--storage', project.storage]);
      expect(stackLines(r.stderr)).toEqual([]);
      expect(r.stderr).not.toMatch(/crawl: error/);
      expect(r.code, r.stderr).toBe(0);
      expect(readDb(project.storage, 'titles').items.map((i) => i.data)).toEqual([{ url: quotesUrl(), title: 'Quotes to Scrape' }]);
    } finally {
      await project.cleanup();
    }
  });
});

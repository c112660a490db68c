/**
 * Items on their way to storage, through the real CLI: a spider's pipelines
 * (clean, enrich, drop, in order) and its zod schema (invalid items kept apart
 * with the field and reason, counted, never exported; CSV columns in the
 * schema's order). Callbacks run in a parser worker (the CLI's default) and,
 * for one test, in the main thread (-s workers=0).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRAWLKIT, runCli, tempProject } from './helpers/cli.js';
import { parseCsv } from './helpers/csv.js';
import { serveSite, type TestServer } from './helpers/server.js';

/** Product pages: ids 1-6; 3 has no price (invalid), 5 is a "discontinued" one the pipeline drops. */
const products: { id: number; name: string; price: string }[] = [
  { id: 1, name: '  Lamp ', price: '12.50' },
  { id: 2, name: 'Desk', price: '99' },
  { id: 3, name: 'Chair', price: '' },
  { id: 4, name: 'Shelf', price: '-4' },
  { id: 5, name: 'Old stool (discontinued)', price: '5' },
  { id: 6, name: 'Rug', price: '30' },
];

const page = (p: (typeof products)[number]) =>
  `<!DOCTYPE html><html><body><h1> ${p.name} </h1><span class="price">${p.price}</span><p class="tags">a, b</p></body></html>`;
const index = `<!DOCTYPE html><html><body>${products.map((p) => `<a href="/p/${p.id}">${p.id}</a>`).join('')}</body></html>`;

const ZOD = import.meta.resolve('zod');

const spiderSource = `import { Spider } from ${JSON.stringify(CRAWLKIT)};
import { z } from ${JSON.stringify(ZOD)};

export default class Shop extends Spider {
  name = 'shop';
  startUrls = [this.arg('baseUrl')];
  // Not the order the callback yields them in: the CSV must follow the schema.
  itemSchema = z.object({
    id: z.number().int(),
    name: z.string().min(1),
    price: z.number().positive(),
    tags: z.array(z.string()),
    seenBy: z.string(),
  });
  pipelines = [
    (item) => ({ ...item, name: item.name.trim() }),
    (item) => (item.name.includes('discontinued') ? undefined : item),
    async (item, { response }) => ({ ...item, seenBy: new URL(response.url).pathname }),
  ];
  async *parse(res) {
    yield* res.followAll('a', this.parseProduct);
  }
  async *parseProduct(res) {
    const price = res.$('.price').text();
    yield {
      price: price === '' ? null : Number(price),
      tags: res.$('.tags').text().split(',').map((t) => t.trim()),
      name: res.$('h1').text(),
      id: Number(res.url.split('/').pop()),
      extra: 'not in the schema',
    };
  }
}
`;

let server: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;

beforeAll(async () => {
  server = await serveSite(new Map([['/', index], ...products.map((p): [string, string] => [`/p/${p.id}`, page(p)])]));
  project = await tempProject({ shop: spiderSource });
});

afterAll(async () => {
  await server?.close();
  await project?.cleanup();
});

const crawlShop = (storage: string, ...extra: string[]) =>
  runCli(['shop', '-a', `baseUrl=${server.url}/`, '--spiders', project.spiders, '--storage', storage, '-s', 'obeyRobots=false', ...extra]);

interface InvalidRow {
  url: string;
  data: string;
  errors: string;
}

describe.concurrent('pipelines and item schema', () => {
  for (const workers of ['1', '0']) {
    it(`cleans, drops and validates items (workers=${workers}); invalid ones are kept apart and counted`, async () => {
      const storage = join(project.dir, `storage-w${workers}`);
      const r = await crawlShop(storage, '-s', `workers=${workers}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/items\s+3 \(and 2 invalid, kept apart; 1 dropped by pipelines\)/);

      const db = new Database(join(storage, 'shop.sqlite'), { readonly: true });
      try {
        const items = (db.prepare('SELECT data FROM items ORDER BY id').all() as { data: string }[]).map((row) => JSON.parse(row.data));
        // Pipelines trimmed the name and added seenBy; the schema dropped `extra`.
        expect(items.sort((a, b) => a.id - b.id)).toEqual([
          { id: 1, name: 'Lamp', price: 12.5, tags: ['a', 'b'], seenBy: '/p/1' },
          { id: 2, name: 'Desk', price: 99, tags: ['a', 'b'], seenBy: '/p/2' },
          { id: 6, name: 'Rug', price: 30, tags: ['a', 'b'], seenBy: '/p/6' },
        ]);
        const invalid = (db.prepare('SELECT url, data, errors FROM invalid_items').all() as InvalidRow[]).sort((a, b) => a.url.localeCompare(b.url));
        expect(invalid.map((row) => row.url)).toEqual([`${server.url}/p/3`, `${server.url}/p/4`]);
        expect(JSON.parse(invalid[0]!.data)).toMatchObject({ id: 3, name: 'Chair', price: null });
        expect(JSON.parse(invalid[0]!.errors)).toEqual([{ path: 'price', message: expect.stringMatching(/number/) }]);
        expect(JSON.parse(invalid[1]!.errors)).toEqual([{ path: 'price', message: expect.stringMatching(/>0|positive|too small/i) }]);
        const stats = JSON.parse((db.prepare('SELECT stats FROM runs').get() as { stats: string }).stats);
        expect(stats).toMatchObject({ items: 3, invalidItems: 2, droppedItems: 1, pages: 7 });
      } finally {
        db.close();
      }
    });
  }

  it('exports only valid items, with CSV columns in the schema order', async () => {
    const storage = join(project.dir, 'storage-export');
    expect((await crawlShop(storage)).code).toBe(0);
    const csv = await runCli(['export', 'shop', '--format', 'csv', '--storage', storage]);
    expect(csv.code, csv.stderr).toBe(0);
    const rows = parseCsv(csv.stdout.replace(/^\uFEFF/, ''));
    expect(rows[0]).toEqual(['id', 'name', 'price', 'tags', 'seenBy']);
    expect(rows.slice(1).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      ['1', 'Lamp', '12.5', '["a","b"]', '/p/1'],
      ['2', 'Desk', '99', '["a","b"]', '/p/2'],
      ['6', 'Rug', '30', '["a","b"]', '/p/6'],
    ]);
    const jsonl = await runCli(['export', 'shop', '--storage', storage]);
    expect(jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l).id).sort()).toEqual([1, 2, 6]);
  });

  it('fails the page, not the crawl, when a pipeline throws', async () => {
    const storage = join(project.dir, 'storage-throw');
    const thrower = await tempProject({
      shop: spiderSource.replace('pipelines = [', "pipelines = [\n    (item) => { if (item.id === 2) throw new Error('no desks'); return item; },"),
    });
    try {
      const r = await runCli(['shop', '-a', `baseUrl=${server.url}/`, '--spiders', thrower.spiders, '--storage', storage, '-s', 'obeyRobots=false']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/an item pipeline failed on http:\/\/127\.0\.0\.1:\d+\/p\/2: no desks/);
      expect(r.stderr).toMatch(/failed\s+1 \(callback:error: 1\)/);
      expect(r.stderr).toMatch(/items\s+2 /);
    } finally {
      await thrower.cleanup();
      await rm(storage, { recursive: true, force: true });
    }
  });

  it('crawl parse shows what the pipelines and the schema make of one page', async () => {
    const parse = (path: string, ...extra: string[]) =>
      runCli(['parse', 'shop', `${server.url}${path}`, '-c', 'parseProduct', '-a', `baseUrl=${server.url}/`, '--spiders', project.spiders, '--no-robots', ...extra]);
    const bad = await parse('/p/3');
    expect(bad.code, bad.stderr).toBe(0);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/: 0 items \(and 1 invalid, 0 dropped by pipelines\), 0 requests/);
    expect(bad.stderr).toMatch(/invalid: \{.*"name":"Chair".*\}: price: .*number/);
    const json = JSON.parse((await parse('/p/5', '--json')).stdout);
    expect(json).toMatchObject({ items: [], invalid: [], dropped: 1 });
    const good = JSON.parse((await parse('/p/1', '--json')).stdout);
    expect(good.items).toEqual([{ id: 1, name: 'Lamp', price: 12.5, tags: ['a', 'b'], seenBy: '/p/1' }]);
  });
});

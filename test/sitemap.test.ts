/**
 * Sitemaps: `readSitemap` on its own (entries, gzip, size cap, a 50,000-URL
 * file read as a stream), and crawls from sitemaps against a real server on
 * 127.0.0.1: robots.txt → index → sitemaps (gzipped with and without
 * Content-Encoding) → pages routed by `sitemapRules` and filtered by
 * `sitemapFilter`, in a worker thread via the CLI and across a resume.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError, crawl, readSitemap, SITEMAP_MAX_ENTRIES, Spider, type CallbackResult, type Response, type SitemapEntry } from '../src/index.js';
import { CRAWLKIT, runCli, tempProject } from './helpers/cli.js';
import { crawlAndRead, fastSettings, hits, html, readDb, STATE, useTestSite } from './helpers/crawl.js';
import { sendRoute, type Route } from './helpers/server.js';

const { serve } = useTestSite();

const NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"';
type Entry = { loc: string; lastmod?: string };
const fields = (e: Entry) => `<loc>${e.loc}</loc>${e.lastmod ? `<lastmod>${e.lastmod}</lastmod>` : ''}`;
const urlset = (entries: Entry[]) => `<?xml version="1.0" encoding="UTF-8"?>\n<urlset ${NS}>\n${entries.map((e) => `<url>${fields(e)}</url>`).join('\n')}\n</urlset>\n`;
const sitemapIndex = (entries: Entry[]) => `<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex ${NS}>\n${entries.map((e) => `<sitemap>${fields(e)}</sitemap>`).join('\n')}\n</sitemapindex>\n`;
const xml = (body: string): Route => ({ headers: { 'content-type': 'application/xml' }, body });

async function collect(it: AsyncIterable<SitemapEntry>): Promise<SitemapEntry[]> {
  const out: SitemapEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** A sitemap of `n` URLs, https://shop.example/product/0 ... n-1, each with lastmod, changefreq and priority. */
function bigSitemap(n: number): Buffer {
  const parts = [`<?xml version="1.0" encoding="UTF-8"?>\n<urlset ${NS}>\n`];
  for (let i = 0; i < n; i++)
    parts.push(`<url><loc>https://shop.example/product/${i}?ref=sitemap&amp;n=${i}</loc><lastmod>2026-11-${String((i % 28) + 1).padStart(2, '0')}</lastmod><changefreq>weekly</changefreq><priority>0.5</priority></url>\n`);
  parts.push('</urlset>\n');
  return Buffer.from(parts.join(''));
}

describe('readSitemap', () => {
  it('reads urls and index entries: fields, entities, CDATA, namespace prefixes; extension elements and loc-less entries ignored', async () => {
    const set = `<?xml version="1.0" encoding="UTF-8"?>
<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <sm:url>
    <sm:loc>
      https://a.example/p?x=1&amp;y=2
    </sm:loc>
    <image:image><image:loc>https://a.example/img.png</image:loc></image:image>
    <sm:lastmod>2026-03-04T05:06:07+00:00</sm:lastmod><sm:changefreq>daily</sm:changefreq><sm:priority>0.8</sm:priority>
  </sm:url>
  <sm:url><sm:loc><![CDATA[https://a.example/c?d=<e>]]></sm:loc><sm:priority>high</sm:priority></sm:url>
  <sm:url><sm:lastmod>2026-01-01</sm:lastmod></sm:url>
</sm:urlset>`;
    expect(await collect(readSitemap(Buffer.from(set)))).toEqual([
      { kind: 'url', loc: 'https://a.example/p?x=1&y=2', lastmod: '2026-03-04T05:06:07+00:00', changefreq: 'daily', priority: 0.8 },
      { kind: 'url', loc: 'https://a.example/c?d=<e>' },
    ]);
    const index = sitemapIndex([{ loc: 'https://a.example/s1.xml', lastmod: '2026-01-02' }, { loc: 'https://a.example/s2.xml.gz' }]);
    expect(await collect(readSitemap(Buffer.from(index)))).toEqual([
      { kind: 'sitemap', loc: 'https://a.example/s1.xml', lastmod: '2026-01-02' },
      { kind: 'sitemap', loc: 'https://a.example/s2.xml.gz' },
    ]);
  });

  it('gunzips by the magic bytes, from a buffer or from a stream whose first chunk is one byte', async () => {
    const plain = urlset([{ loc: 'https://a.example/1' }, { loc: 'https://a.example/é' }]);
    const gz = gzipSync(plain);
    const expected = [
      { kind: 'url', loc: 'https://a.example/1' },
      { kind: 'url', loc: 'https://a.example/é' },
    ];
    expect(await collect(readSitemap(gz))).toEqual(expected);
    // Byte by byte: a stream may split the magic bytes, and UTF-8 characters, anywhere.
    async function* bytes(b: Buffer) {
      for (let i = 0; i < b.length; i++) yield b.subarray(i, i + 1);
    }
    expect(await collect(readSitemap(bytes(gz)))).toEqual(expected);
    expect(await collect(readSitemap(bytes(Buffer.from(plain))))).toEqual(expected);
  });

  it('throws past maxBytes uncompressed (a gzip bomb stops there) and on corrupt gzip', async () => {
    const bomb = gzipSync(Buffer.alloc(5_000_000, 0x20));
    expect(bomb.length).toBeLessThan(10_000);
    await expect(collect(readSitemap(bomb, { maxBytes: 1_000_000 }))).rejects.toThrow(/^sitemap larger than 1000000 bytes uncompressed/);
    const corrupt = Buffer.concat([gzipSync(urlset([{ loc: 'https://a.example/1' }])).subarray(0, 12), Buffer.from('garbage garbage garbage')]);
    await expect(collect(readSitemap(corrupt))).rejects.toThrow(/^sitemap is not valid gzip/);
  });

  it('yields every entry of a 50,000-URL sitemap, plain and gzipped, and streams: entries come out before the input is all read', async () => {
    const N = 50_000;
    const body = bigSitemap(N);
    for (const input of [body, gzipSync(body)]) {
      let n = 0;
      let last: SitemapEntry | undefined;
      const started = performance.now();
      for await (const e of readSitemap(input)) {
        if (n === 0) expect(e).toEqual({ kind: 'url', loc: 'https://shop.example/product/0?ref=sitemap&n=0', lastmod: '2026-11-01', changefreq: 'weekly', priority: 0.5 });
        n++;
        last = e;
      }
      expect(n).toBe(N);
      expect(last?.loc).toBe(`https://shop.example/product/${N - 1}?ref=sitemap&n=${N - 1}`);
      expect(performance.now() - started).toBeLessThan(10_000);
    }
    // Fed as a stream of 64 KB chunks, the first entry must arrive after the first chunk, not after all of them:
    // no DOM and no whole-file string is built first.
    const CHUNK = 64 * 1024;
    const chunks = Math.ceil(body.length / CHUNK);
    let pulled = 0;
    async function* stream() {
      for (let i = 0; i < body.length; i += CHUNK) {
        pulled++;
        yield body.subarray(i, i + CHUNK);
      }
    }
    let pulledAtFirst = -1;
    let n = 0;
    for await (const _ of readSitemap(stream())) if (n++ === 0) pulledAtFirst = pulled;
    expect(n).toBe(N);
    expect(chunks).toBeGreaterThan(100);
    expect(pulledAtFirst).toBe(1);
  });
});

describe('the protocol\'s 50,000 entries per file', () => {
  it('readSitemap reads 50,000 entries and stops at the next, calling onLimit once; 50,000 exactly is no limit', async () => {
    const limits: [number, string][] = [];
    const onLimit = (max: number, kind: string) => void limits.push([max, kind]);
    const over = await collect(readSitemap(bigSitemap(SITEMAP_MAX_ENTRIES + 1), { onLimit }));
    expect(SITEMAP_MAX_ENTRIES).toBe(50_000);
    expect(over).toHaveLength(50_000);
    expect(over.at(-1)!.loc).toBe('https://shop.example/product/49999?ref=sitemap&n=49999');
    expect(limits).toEqual([[50_000, 'url']]);
    expect(await collect(readSitemap(bigSitemap(50_000), { onLimit }))).toHaveLength(50_000);
    expect(limits).toHaveLength(1);
    // An index counts its sitemaps; the cap can be lowered.
    const index = sitemapIndex(Array.from({ length: 12 }, (_, i) => ({ loc: `https://a.example/s${i}.xml` })));
    expect(await collect(readSitemap(Buffer.from(index), { maxEntries: 10, onLimit }))).toHaveLength(10);
    expect(limits.at(-1)).toEqual([10, 'sitemap']);
  });

  it('stops reading at the limit: a 500,000-entry stream is not read to its end', async () => {
    const body = bigSitemap(60_000);
    let pulled = 0;
    async function* stream() {
      for (let i = 0; i < 10; i++)
        for (let j = 0; j < body.length; j += 64 * 1024) {
          pulled++;
          yield i === 0 || j > 0 ? body.subarray(j, j + 64 * 1024) : body.subarray(body.indexOf('<url>'), j + 64 * 1024);
        }
    }
    let n = 0;
    for await (const _ of readSitemap(stream(), { maxBytes: 10 * body.length })) n++;
    expect(n).toBe(50_000);
    expect(pulled).toBeLessThan(Math.ceil(body.length / (64 * 1024)) + 2);
  });

  /** A crawl of one sitemap (or index) through the CLI; its entries point to another host, out of scope: recorded, never fetched. */
  async function crawlSitemap(body: (base: string) => string) {
    const site = new Map<string, string | Route>();
    const { base } = await serve(site);
    site.set('/sitemap.xml', xml(body(base)));
    const project = await tempProject({
      maps: `import { Spider } from ${JSON.stringify(CRAWLKIT)};
export default class Maps extends Spider {
  override name = 'maps';
  override sitemapUrls = [this.arg('baseUrl') + '/sitemap.xml'];
}
`,
    });
    try {
      const r = await runCli(['maps', '-a', `baseUrl=${base}`, '--spiders', project.spiders, '--storage', project.storage, '-s', 'allowedDomains=127.0.0.1', '-s', 'obeyRobots=false', '-L', 'warn'], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      return { r, db: readDb(project.storage, 'maps'), base };
    } finally {
      await project.cleanup();
    }
  }

  it('a sitemap of 50,001 URLs: the first 50,000 are queued, and one warning names the sitemap (CLI)', async () => {
    const { r, db, base } = await crawlSitemap((b) => urlset(Array.from({ length: 50_001 }, (_, i) => ({ loc: `${b.replace('127.0.0.1', 'localhost')}/p/${i}` }))));
    const pages = db.requests.filter((q) => q.url.includes('/p/'));
    expect(pages).toHaveLength(50_000);
    expect(pages.every((q) => q.state === STATE.skipped && q.error === 'offsite' && q.callback === 'parse')).toBe(true);
    expect(pages.at(-1)!.url).toMatch(/\/p\/49999$/);
    // Once, not once per entry left out.
    const warnings = r.stderr.split('\n').filter((l) => l.includes("the sitemap protocol's limit"));
    expect(warnings, r.stderr).toHaveLength(1);
    expect(warnings[0]).toMatch(/ WARN /);
    expect(warnings[0]).toContain(`${base}/sitemap.xml: lists more than 50,000 URLs, the sitemap protocol's limit: the rest are ignored`);
  }, 90_000);

  it('an index of 50,001 sitemaps: the first 50,000 are queued, and one warning (CLI)', async () => {
    const { r, db, base } = await crawlSitemap((b) => sitemapIndex(Array.from({ length: 50_001 }, (_, i) => ({ loc: `${b.replace('127.0.0.1', 'localhost')}/s/${i}.xml` }))));
    const maps = db.requests.filter((q) => q.url.includes('/s/'));
    expect(maps).toHaveLength(50_000);
    expect(maps.every((q) => q.state === STATE.skipped && q.callback === 'parseSitemap')).toBe(true);
    expect(r.stderr).toContain(`${base}/sitemap.xml: lists more than 50,000 sitemaps, the sitemap protocol's limit: the rest are ignored`);
  }, 90_000);
});

/** Pages for the sitemap crawls: a product or a post, each saying what it is. */
const page = (kind: string, path: string) => html(`<h1 data-kind="${kind}">${path}</h1>`);

describe('crawling from sitemaps', () => {
  it('robots.txt → index → gzipped and plain sitemaps → pages, routed by sitemapRules and filtered by sitemapFilter (CLI, worker thread)', async () => {
    const site = new Map<string, string | Route>();
    const { server, base } = await serve(site);
    site.set('/robots.txt', `User-agent: *\nDisallow: /private/\nSitemap: ${base}/sitemap_index.xml\nSitemap: /sitemap-news.xml\n`);
    site.set(
      '/sitemap_index.xml',
      xml(
        sitemapIndex([
          { loc: `${base}/sitemap-products.xml`, lastmod: '2026-06-01' },
          { loc: `${base}/sitemap-blog.xml.gz` },
          { loc: `${base}/sitemap-old.xml`, lastmod: '2020-01-01' }, // dropped by sitemapFilter: never fetched
        ]),
      ),
    );
    site.set(
      '/sitemap-products.xml',
      xml(
        urlset([
          { loc: `${base}/product/1`, lastmod: '2026-05-01' },
          { loc: `${base}/product/2`, lastmod: '2019-12-31' }, // too old
          { loc: `${base}/product/3` }, // no lastmod: kept
          { loc: `${base}/private/secret` }, // routed, but robots.txt disallows it
          { loc: `${base}/about` }, // no rule matches it
        ]),
      ),
    );
    // A .xml.gz served as bytes (no Content-Encoding): readSitemap gunzips it.
    site.set('/sitemap-blog.xml.gz', {
      headers: { 'content-type': 'application/gzip' },
      body: gzipSync(
        urlset([
          { loc: `${base}/blog/hello`, lastmod: '2026-02-01T10:00:00Z' },
          { loc: `${base}/blog/old`, lastmod: '2018-01-01' },
          { loc: `${base}/blog/2026/nested` }, // "**/blog/*" does not reach two segments down
        ]),
      ),
    });
    // Compressed in transit (Content-Encoding): the fetcher gunzips it.
    site.set('/sitemap-news.xml', { headers: { 'content-type': 'application/xml', 'content-encoding': 'gzip' }, body: gzipSync(urlset([{ loc: `${base}/blog/news` }])) });
    site.set('/sitemap-old.xml', xml(urlset([{ loc: `${base}/product/9` }])));
    for (const p of ['/product/1', '/product/2', '/product/3', '/product/9', '/about', '/private/secret']) site.set(p, page('product', p));
    for (const p of ['/blog/hello', '/blog/old', '/blog/2026/nested', '/blog/news']) site.set(p, page('post', p));

    const project = await tempProject({
      shop: `import { Spider, type Response, type SitemapEntry, type UrlPattern } from ${JSON.stringify(CRAWLKIT)};
export default class Shop extends Spider {
  override name = 'shop';
  override sitemapUrls = [this.arg('baseUrl') + '/robots.txt'];
  override sitemapRules: [UrlPattern, string][] = [
    [/\\/product\\/\\d+$/, 'parseProduct'],
    ['**/blog/*', 'parsePost'],
    ['**/private/**', 'parse'],
  ];
  override sitemapFilter(entry: SitemapEntry) {
    return !entry.lastmod || new Date(entry.lastmod) >= new Date('2026-01-01');
  }
  async *parseProduct(res: Response) {
    yield { callback: 'parseProduct', path: new URL(res.url).pathname, kind: res.$('h1').attr('data-kind') };
  }
  async *parsePost(res: Response) {
    yield { callback: 'parsePost', path: new URL(res.url).pathname, kind: res.$('h1').attr('data-kind') };
  }
  override async *parse(res: Response) {
    yield { callback: 'parse', path: new URL(res.url).pathname };
  }
}
`,
    });
    try {
      const r = await runCli(['shop', '-a', `baseUrl=${base}`, '--spiders', project.spiders, '--storage', project.storage, '-s', 'workers=1', '-L', 'warn']);
      expect(r.code, r.stderr).toBe(0);
      const db = readDb(project.storage, 'shop');
      const items = db.items.map((i) => i.data).sort((a, b) => String(a.path).localeCompare(String(b.path)));
      expect(items).toEqual([
        { callback: 'parsePost', path: '/blog/hello', kind: 'post' },
        { callback: 'parsePost', path: '/blog/news', kind: 'post' },
        { callback: 'parseProduct', path: '/product/1', kind: 'product' },
        { callback: 'parseProduct', path: '/product/3', kind: 'product' },
      ]);
      for (const p of ['/sitemap-old.xml', '/product/9', '/product/2', '/blog/old', '/blog/2026/nested', '/about', '/private/secret']) expect(hits(server, p), p).toBe(0);
      expect(db.request('/private/secret')).toMatchObject({ state: STATE.disallowed, callback: 'parse' });
      // Callbacks are stored by name, so a worker or a resumed run finds them.
      const byPath = (p: string) => db.request(p)!;
      for (const p of ['/robots.txt', '/sitemap_index.xml', '/sitemap-products.xml', '/sitemap-blog.xml.gz', '/sitemap-news.xml'])
        expect(byPath(p), p).toMatchObject({ state: STATE.done, callback: 'parseSitemap' });
      expect(byPath('/product/1')).toMatchObject({ callback: 'parseProduct', depth: 3 });
      expect(byPath('/blog/news')).toMatchObject({ callback: 'parsePost', depth: 2 });
      expect(db.requests).toHaveLength(5 + 4 + 1);
    } finally {
      await project.cleanup();
    }
  });

  it('a sitemap may exceed maxBodyBytes (its requests carry a 50 MiB cap, still a cap); pages may not', async () => {
    const N = 5_000;
    const entries = Array.from({ length: N }, (_, i) => ({ loc: `BASE/skip/${i}` }));
    entries[10] = { loc: 'BASE/keep/a' };
    entries[N - 1] = { loc: 'BASE/keep/b' };
    const site = new Map<string, string | Route>();
    const { server, dir, base } = await serve(site);
    const sitemap = urlset(entries).replaceAll('BASE', base);
    site.set('/sitemap.xml', xml(sitemap));
    site.set('/big', html(`<p>${'x'.repeat(300_000)}</p>`));
    // 60 MB of whitespace in 60 KB of gzip: past the sitemap cap once inflated.
    site.set('/huge.xml', { headers: { 'content-type': 'application/xml', 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(60 * 1024 * 1024, 0x20)) });
    site.set('/keep/a', html('<h1>a</h1>'));
    site.set('/keep/b', html('<h1>b</h1>'));
    class Big extends Spider {
      override name = 'big';
      override startUrls = [`${base}/big`];
      override sitemapUrls = [`${base}/sitemap.xml`, `${base}/huge.xml`];
      override sitemapRules: [string, string][] = [['**/keep/*', 'parse']];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield { path: new URL(res.url).pathname };
      }
    }
    const { db } = await crawlAndRead(new Big(), dir, { maxBodyBytes: 200_000 });
    expect(sitemap.length).toBeGreaterThan(200_000);
    expect(db.request('/sitemap.xml')).toMatchObject({ state: STATE.done, callback: 'parseSitemap' });
    expect(db.request('/big')).toMatchObject({ state: STATE.failed, error: expect.stringMatching(/^too-large/) });
    expect(db.request('/huge.xml')).toMatchObject({ state: STATE.failed, error: `too-large: body larger than maxBodyBytes (${50 * 1024 * 1024})` });
    expect(db.items.map((i) => i.data.path).sort()).toEqual(['/keep/a', '/keep/b']);
    expect(hits(server, '/skip/0')).toBe(0);
  });

  it('resumes mid-sitemap: a child sitemap queued when the crawl stopped is parsed by parseSitemap in the next run', async () => {
    const site = new Map<string, string | Route>();
    const stop = new AbortController();
    // The child sitemaps are served by the fallback, which stops the crawl as the first is asked for: with one
    // request at a time, that one finishes and is stored, and the other stays queued for the next run.
    const { server, dir, base } = await serve(site, (req, res) => {
      const path = req.url ?? '/';
      if (path !== '/a.xml' && path !== '/b.xml') return sendRoute(req, res, { status: 404 }, path);
      stop.abort();
      sendRoute(req, res, xml(urlset([{ loc: `${base}/p${path.replace('.xml', '')}` }])), path);
    });
    site.set('/index.xml', xml(sitemapIndex([{ loc: `${base}/a.xml` }, { loc: `${base}/b.xml` }])));
    site.set('/p/a', page('product', '/p/a'));
    site.set('/p/b', page('product', '/p/b'));
    class Resumable extends Spider {
      override name = 'resumable';
      override sitemapUrls = [`${base}/index.xml`];
      override sitemapRules: [RegExp, string][] = [[/\/p\//, 'parsePage']];
      async *parsePage(res: Response): AsyncIterable<CallbackResult> {
        yield { path: new URL(res.url).pathname };
      }
    }
    const settings = fastSettings(dir, { perHost: { concurrency: 1 }, concurrency: 1 });
    const first = await crawl(new Resumable(), { settings, signal: stop.signal }).run();
    expect(first.status).toBe('interrupted');
    expect(hits(server, '/a.xml') + hits(server, '/b.xml')).toBe(1);
    const second = await crawl(new Resumable(), { settings }).run();
    expect(second).toMatchObject({ resumed: true, status: 'finished' });
    const db = readDb(dir, 'resumable');
    expect(hits(server, '/a.xml') + hits(server, '/b.xml')).toBe(2);
    expect(db.items.map((i) => i.data.path).sort()).toEqual(['/p/a', '/p/b']);
    expect(db.requests.filter((r) => r.callback === 'parseSitemap').every((r) => r.state === STATE.done)).toBe(true);
  });

  it('a sitemapRules callback that is not a method is a one-line ConfigError before anything is fetched', async () => {
    const { server, dir, base } = await serve(new Map([['/s.xml', xml(urlset([{ loc: 'https://a.example/x' }]))]]));
    class Bad extends Spider {
      override name = 'badrules';
      override sitemapUrls = [`${base}/s.xml`];
      override sitemapRules: [string, string][] = [['**', 'parseNothing']];
    }
    const err = await crawl(new Bad(), { settings: fastSettings(dir) })
      .run()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`sitemapRules: "parseNothing" is not a method of spider 'badrules' (rules are [pattern, 'methodName'])`);
    expect(hits(server, '/s.xml')).toBe(0);
  });
});

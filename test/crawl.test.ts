/**
 * End-to-end crawls against a real HTTP server on 127.0.0.1, with a real
 * SQLite file in a temp folder: pagination, dedupe, callbacks, limits, resume.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, crawl, InvalidUrlError, LockedError, Request, Spider, type CallbackResult, type CrawlSummary, type Response, type SettingsOverride } from '../src/index.js';
import { crawlAndRead, fastSettings, hits, html, readDb, STATE, useTestSite } from './helpers/crawl.js';
import { serveSite, startServer, type Route } from './helpers/server.js';

const { serve, start, use, storage } = useTestSite();

/** A chain of `n` pages, /page/1 .. /page/n, each with `perPage` items and a "next" link. */
function chainSite(n: number, perPage = 2): Map<string, string> {
  const site = new Map<string, string>();
  for (let p = 1; p <= n; p++) {
    const items = Array.from({ length: perPage }, (_, i) => `<li class="item">item ${p}-${i + 1}</li>`).join('');
    const next = p < n ? `<a class="next" href="/page/${p + 1}">next</a>` : '';
    site.set(`/page/${p}`, html(`<ul>${items}</ul>${next}`));
  }
  return site;
}

class ChainSpider extends Spider {
  override name = 'chain';
  constructor(base: string) {
    super();
    this.startUrls = [`${base}/page/1`];
  }
  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    for (const li of res.$('li.item').toArray()) yield { text: res.$(li).text(), page: new URL(res.url).pathname };
    yield res.follow(res.$('a.next').attr('href'));
  }
}

describe('pagination', () => {
  it('follows "next" to the last page and stores every item in order', async () => {
    const N = 8;
    const { server, dir } = await serve(chainSite(N));
    const expected = Array.from({ length: N }, (_, p) => [1, 2].map((i) => ({ text: `item ${p + 1}-${i}`, page: `/page/${p + 1}` }))).flat();

    const c = crawl(new ChainSpider(server.url), { settings: fastSettings(dir) });
    const yielded: Record<string, unknown>[] = [];
    for await (const item of c) yielded.push(item);

    expect(yielded).toEqual(expected);
    const summary = c.summary!;
    expect(summary.status).toBe('finished');
    expect(summary.reason).toBe('finished');
    expect(summary.stats.items).toBe(2 * N);
    expect(summary.stats.pages).toBe(N);

    const db = readDb(dir, 'chain');
    expect(db.items.map((i) => i.data)).toEqual(expected);
    expect(db.items.every((i) => i.runId === summary.runId)).toBe(true);
    expect(db.requests).toHaveLength(N);
    expect(db.requests.every((r) => r.state === STATE.done && r.status === 200)).toBe(true);
    expect(db.runs.at(-1)?.status).toBe('finished');
    for (let p = 1; p <= N; p++) expect(hits(server, `/page/${p}`)).toBe(1);
  });

  it('run() resolves to the summary with the database path', async () => {
    const { server, dir } = await serve(chainSite(3, 1));
    const summary = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir) }).run();
    expect(summary.status).toBe('finished');
    expect(summary.resumed).toBe(false);
    expect(summary.database).toMatch(/chain\.sqlite$/);
    expect(readDb(dir, 'chain').items.map((i) => i.data.text)).toEqual(['item 1-1', 'item 2-1', 'item 3-1']);
  });
});

describe('dedupe', () => {
  it('fetches each page once across fragments, reordered queries, case, explicit ports and dot segments', async () => {
    let base = '';
    const page = (name: string) => () =>
      html(
        `<h1>${name}</h1>` +
          [
            // itself and the home page, in several spellings
            `#top`,
            `/#frag`,
            `${base}/`,
            `HTTP://127.0.0.1:${server!.port}/#x`,
            // /a
            `/a`,
            `/a#section`,
            `./a`,
            `/x/../a`,
            `/./a`,
            `http://0X7F.0.0.1:${server!.port}/a`, // upper-case (hex) spelling of 127.0.0.1
            `HTTP://127.0.0.1:0${server!.port}/a`, // explicit port written with a leading zero
            // /b with a query in two orders
            `/b?x=1&y=2`,
            `/b?y=2&x=1`,
            `/b?y=2&x=1#frag`,
            `${base}/b?x=1&y=2`,
            // /c
            `/c`,
            `/c#`,
            `http://127.0.0.1:${server!.port}/c`,
          ]
            .map((h) => `<a href="${h}">link</a>`)
            .join(''),
      );
    const routes: Record<string, () => string> = { '/': page('home'), '/a': page('a'), '/b': page('b'), '/c': page('c') };
    const { server, dir } = await start((req, res) => {
      const pathname = (req.url ?? '/').split('?')[0]!;
      const route = routes[pathname];
      res.writeHead(route ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(route ? route() : 'not found');
    });
    base = server.url;

    class Everything extends Spider {
      override name = 'dedupe';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield { page: res.$('h1').text() };
        yield* res.followAll('a');
      }
    }
    const { summary, db } = await crawlAndRead(new Everything(), dir);

    // Count hits per canonical page: path plus sorted query.
    const perPage = new Map<string, number>();
    for (const { path } of server.requests) {
      const u = new URL(path, base);
      u.searchParams.sort();
      perPage.set(u.pathname + u.search, (perPage.get(u.pathname + u.search) ?? 0) + 1);
    }
    expect(Object.fromEntries(perPage)).toEqual({ '/': 1, '/a': 1, '/b?x=1&y=2': 1, '/c': 1 });
    expect(summary.stats.requests).toBe(4);
    expect(summary.stats.duplicates).toBeGreaterThan(0);
    expect(db.requests).toHaveLength(4);
    expect(db.items.map((i) => i.data.page).sort()).toEqual(['a', 'b', 'c', 'home']);
  });

  it('treats upper-case host names and schemes, and protocol-relative links, as the same page', async () => {
    const { server, dir } = await start((req, res) => {
      const port = server!.port;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        html(
          `<h1>${req.url}</h1>` +
            [`http://LOCALHOST:${port}/a`, `http://LocalHost:${port}/a#x`, `HTTP://localhost:${port}/a`, '/a', `//LOCALHOST:${port}/`]
              .map((h) => `<a href="${h}">l</a>`)
              .join(''),
        ),
      );
    });
    const base = `http://localhost:${server.port}`;
    class Upper extends Spider {
      override name = 'upper';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield { url: res.url };
        yield* res.followAll('a');
      }
    }
    const { db } = await crawlAndRead(new Upper(), dir);
    expect(Object.fromEntries(server.hits)).toEqual({ '/': 1, '/a': 1 });
    expect(db.items.map((i) => i.data.url)).toEqual([`${base}/`, `${base}/a`]);
  });

  it('dontFilter schedules a request again', async () => {
    const { server, dir, base } = await serve(new Map([['/', html('<p>home</p>')], ['/again', html('<p>again</p>')]]));
    class Twice extends Spider {
      override name = 'twice';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        if (res.meta.round === 2) return;
        yield res.follow('/again', this.parse, { meta: { round: 2 } });
        yield res.follow('/again', this.parse, { meta: { round: 2 }, dontFilter: true });
        yield res.follow('/again', this.parse, { meta: { round: 2 } }); // a plain duplicate: dropped
      }
    }
    await crawl(new Twice(), { settings: fastSettings(dir) }).run();
    expect(hits(server, '/again')).toBe(2);
  });
});

describe('callbacks', () => {
  it('a throwing callback fails its request with callback:error and the stack; the crawl goes on', async () => {
    const site = new Map<string, string>([
      ['/', html('<a class="d" href="/d/1">1</a><a class="d" href="/d/bad">bad</a><a class="d" href="/d/2">2</a><a class="d" href="/d/3">3</a>')],
      ['/d/1', html('<h1>one</h1>')],
      ['/d/bad', html('<h1>bad</h1>')],
      ['/d/2', html('<h1>two</h1>')],
      ['/d/3', html('<h1>three</h1>')],
    ]);
    const { dir, base } = await serve(site);
    class Thrower extends Spider {
      override name = 'thrower';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield* res.followAll('a.d', this.parseDetail);
      }
      async *parseDetail(res: Response): AsyncIterable<CallbackResult> {
        const title = res.$('h1').text();
        yield { title };
        if (title === 'bad') throw new Error('boom in parseDetail');
      }
    }
    const { summary, db } = await crawlAndRead(new Thrower(), dir);

    expect(summary.status).toBe('finished');
    expect(summary.stats.failures).toEqual({ 'callback:error': 1 });
    const bad = db.request('/d/bad')!;
    expect(bad.state).toBe(STATE.failed);
    expect(bad.error).toMatch(/^callback:error/);
    expect(bad.error).toContain('boom in parseDetail');
    expect(bad.error).toMatch(/\n\s+at /); // the stack, not just the message
    expect(bad.callback).toBe('parseDetail');
    // The failed callback's partial output is not stored.
    expect(db.items.map((i) => i.data.title).sort()).toEqual(['one', 'three', 'two']);
    for (const p of ['/d/1', '/d/2', '/d/3']) expect(db.request(p)?.state).toBe(STATE.done);
  });

  it('calls callbacks named by method or by name, and passes meta through', async () => {
    const site = new Map<string, string>([
      ['/', html('<a class="cat" href="/cat/fiction">Fiction</a><a class="cat" href="/cat/poetry">Poetry</a>')],
      ['/cat/fiction', html('<a class="book" href="/book/1">b1</a><a class="book" href="/book/2">b2</a>')],
      ['/cat/poetry', html('<a class="book" href="/book/3">b3</a>')],
      ['/book/1', html('<h1>Book One</h1>')],
      ['/book/2', html('<h1>Book Two</h1>')],
      ['/book/3', html('<h1>Book Three</h1>')],
    ]);
    const { dir, base } = await serve(site);
    const called: string[] = [];
    class Books extends Spider {
      override name = 'books';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        called.push('parse');
        for (const a of res.$('a.cat').toArray())
          yield res.follow(res.$(a).attr('href'), this.parseCategory, { meta: { category: res.$(a).text() } });
      }
      async *parseCategory(res: Response): AsyncIterable<CallbackResult> {
        called.push('parseCategory');
        for (const a of res.$('a.book').toArray())
          yield res.follow(res.$(a).attr('href'), 'parseBook', { meta: { ...res.meta, from: new URL(res.url).pathname } });
      }
      async *parseBook(res: Response): AsyncIterable<CallbackResult> {
        called.push('parseBook');
        yield { title: res.$('h1').text(), category: res.meta.category, from: res.meta.from };
      }
    }
    const { db } = await crawlAndRead(new Books(), dir);

    expect(called.filter((c) => c === 'parse')).toHaveLength(1);
    expect(called.filter((c) => c === 'parseCategory')).toHaveLength(2);
    expect(called.filter((c) => c === 'parseBook')).toHaveLength(3);
    const items = db.items.map((i) => i.data).sort((a, b) => String(a.title).localeCompare(String(b.title)));
    expect(items).toEqual([
      { title: 'Book One', category: 'Fiction', from: '/cat/fiction' },
      { title: 'Book Three', category: 'Poetry', from: '/cat/poetry' },
      { title: 'Book Two', category: 'Fiction', from: '/cat/fiction' },
    ]);
    expect(db.request('/book/1')?.callback).toBe('parseBook');
    expect(db.request('/cat/poetry')?.callback).toBe('parseCategory');
    expect(JSON.parse(db.request('/cat/poetry')!.meta!)).toEqual({ category: 'Poetry' });
  });

  it('res.json() reads a paginated JSON API', async () => {
    const pages: Record<string, object> = {
      '/api/items?page=1': { items: [{ id: 1 }, { id: 2 }], next: '/api/items?page=2' },
      '/api/items?page=2': { items: [{ id: 3 }], next: '/api/items?page=3' },
      '/api/items?page=3': { items: [{ id: 4 }, { id: 5 }], next: null },
    };
    const { dir, base } = await serve(new Map(Object.entries(pages).map(([k, v]): [string, Route] => [k, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(v) }])));
    class Api extends Spider {
      override name = 'api';
      override startUrls = [`${base}/api/items?page=1`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        const data = res.json<{ items: { id: number }[]; next: string | null }>();
        for (const item of data.items) yield { ...item, page: res.url };
        if (data.next) yield res.follow(data.next);
      }
    }
    const { summary, db } = await crawlAndRead(new Api(), dir);
    expect(summary.stats.items).toBe(5);
    expect(db.items.map((i) => i.data.id)).toEqual([1, 2, 3, 4, 5]);
    expect(db.items[4]?.data.page).toBe(`${base}/api/items?page=3`);
  });

  it('followAll(selector) follows every matching link and skips non-http ones', async () => {
    const site = new Map<string, string>([
      [
        '/',
        html(
          '<a class="p" href="/p/1">1</a><a class="p" href="p/2">2</a><a class="p" href="/p/3?x=1">3</a>' +
            '<a class="p" href="mailto:a@b.c">mail</a><a class="p" href="javascript:void(0)">js</a><a class="other" href="/p/no">no</a>',
        ),
      ],
      ['/p/1', html('<h1>1</h1>')],
      ['/p/2', html('<h1>2</h1>')],
      ['/p/3', html('<h1>3</h1>')],
      ['/p/no', html('<h1>no</h1>')],
    ]);
    const { server, dir, base } = await serve(site);
    class All extends Spider {
      override name = 'all';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield* res.followAll('a.p', this.parseP);
      }
      async *parseP(res: Response): AsyncIterable<CallbackResult> {
        yield { h: res.$('h1').text() };
      }
    }
    const { summary, db } = await crawlAndRead(new All(), dir);
    expect(db.items.map((i) => i.data.h).sort()).toEqual(['1', '2', '3']);
    expect(hits(server, '/p/no')).toBe(0);
    expect(summary.stats.badLinks).toBe(2);
  });

  it('a callback that never finishes fails with callback:timeout; the crawl goes on', async () => {
    const { dir, base } = await serve(new Map([['/', html('<a href="/stuck">s</a><a href="/fine">f</a>')], ['/stuck', html('<h1>stuck</h1>')], ['/fine', html('<h1>fine</h1>')]]));
    class Stuck extends Spider {
      override name = 'stuck';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield* res.followAll('a', this.parseDetail);
      }
      async *parseDetail(res: Response): AsyncIterable<CallbackResult> {
        const h = res.$('h1').text();
        if (h === 'stuck') await new Promise(() => {});
        yield { h };
      }
    }
    const { summary, db } = await crawlAndRead(new Stuck(), dir, { callbackTimeoutMs: 200 });
    expect(summary.status).toBe('finished');
    expect(summary.stats.failures).toEqual({ 'callback:timeout': 1 });
    expect(db.request('/stuck')).toMatchObject({ state: STATE.failed });
    expect(db.request('/stuck')?.error).toMatch(/^callback:timeout/);
    expect(db.items.map((i) => i.data.h)).toEqual(['fine']);
  });

  it('yielding something that is neither an item nor a Request, or an item that is not JSON, fails that request', async () => {
    const { dir, base } = await serve(new Map([['/', html('<a href="/str">s</a><a href="/big">b</a><a href="/ok">o</a>')], ['/str', html('')], ['/big', html('')], ['/ok', html('')]]));
    class Bad extends Spider {
      override name = 'bad';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield* res.followAll('a', this.parseDetail);
      }
      async *parseDetail(res: Response): AsyncIterable<CallbackResult> {
        const p = new URL(res.url).pathname;
        if (p === '/str') yield 'just a string' as unknown as CallbackResult;
        if (p === '/big') yield { n: 10n } as unknown as CallbackResult;
        yield { p };
      }
    }
    const { summary, db } = await crawlAndRead(new Bad(), dir);
    expect(summary.status).toBe('finished');
    expect(summary.stats.failures).toEqual({ 'callback:error': 2 });
    expect(db.request('/str')?.error).toMatch(/^callback:error/);
    expect(db.request('/big')?.error).toMatch(/^callback:error/);
    expect(db.items.map((i) => i.data.p)).toEqual(['/ok']);
  });
});

describe('consumers', () => {
  it('breaking out of the item loop leaves the run interrupted, and it resumes to the full set', async () => {
    const { server, dir } = await serve(chainSite(6, 1));
    const c = crawl(new ChainSpider(server.url), { settings: fastSettings(dir) });
    let n = 0;
    for await (const _ of c) if (++n === 2) break;
    expect(c.summary).toBeUndefined();
    expect(readDb(dir, 'chain').runs.map((r) => r.status)).toEqual(['interrupted']);

    const summary = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir) }).run();
    expect(summary.resumed).toBe(true);
    const texts = readDb(dir, 'chain').items.map((i) => i.data.text);
    expect(texts).toEqual(['item 1-1', 'item 2-1', 'item 3-1', 'item 4-1', 'item 5-1', 'item 6-1']);
    for (let p = 1; p <= 6; p++) expect(hits(server, `/page/${p}`)).toBe(1);
  });

  it('a second crawl of the same spider and storage is refused while the first runs', async () => {
    const { server, dir } = await serve(chainSite(4, 1));
    const first = crawl(new ChainSpider(server.url), { settings: fastSettings(dir) })[Symbol.asyncIterator]();
    expect((await first.next()).value).toEqual({ text: 'item 1-1', page: '/page/1' });
    try {
      await expect(crawl(new ChainSpider(server.url), { settings: fastSettings(dir) }).run()).rejects.toThrow(LockedError);
    } finally {
      await first.return?.(undefined);
    }
    // The first crawl is resumable and, once it let go, the database opens again.
    const summary = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir) }).run();
    expect(summary.resumed).toBe(true);
    expect(readDb(dir, 'chain').items).toHaveLength(4);
  });

  it('a signal aborted before the crawl starts stops it at once: nothing fetched, the run interrupted', async () => {
    const { server, dir } = await serve(chainSite(5, 1));
    const ac = new AbortController();
    ac.abort();
    const summary = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir), signal: ac.signal }).run();
    expect(summary.status).toBe('interrupted');
    expect(server.requests).toHaveLength(0);
    expect(readDb(dir, 'chain').runs.map((r) => r.status)).toEqual(['interrupted']);
  });

  it('a stop while start() is still enqueueing is not lost', async () => {
    const { server, dir, base } = await serve(chainSite(5, 1));
    const ac = new AbortController();
    class SlowStart extends Spider {
      override name = 'slowstart';
      override async *start(): AsyncIterable<string> {
        yield `${base}/page/1`;
        ac.abort(); // e.g. Ctrl-C while a long start() is still producing requests
        yield `${base}/page/2`;
      }
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield { url: res.url };
      }
    }
    const summary = await crawl(new SlowStart(), { settings: fastSettings(dir), signal: ac.signal }).run();
    expect(summary.status).toBe('interrupted');
    expect(server.requests).toHaveLength(0);
  });

  it('a start URL that is not an absolute http(s) URL is an error before anything is stored', async () => {
    const dir = storage();
    class BadStart extends Spider {
      override name = 'badstart';
      override startUrls = ['example.com/no-scheme'];
    }
    await expect(crawl(new BadStart(), { settings: fastSettings(dir) }).run()).rejects.toThrow(InvalidUrlError);
    expect(fs.existsSync(path.join(dir, 'badstart.sqlite'))).toBe(false);
  });

  it('a crawl can be iterated only once', async () => {
    const { server, dir } = await serve(chainSite(1, 1));
    const c = crawl(new ChainSpider(server.url), { settings: fastSettings(dir) });
    await c.run();
    await expect(c.run()).rejects.toThrow(/once/);
  });

  it('a spider without a usable name is refused', () => {
    class Nameless extends Spider {}
    expect(() => crawl(new Nameless())).toThrow(ConfigError);
    class Slashed extends Spider {
      override name = '../etc';
    }
    expect(() => crawl(new Slashed())).toThrow(/bad spider name "..\/etc": a spider name is letters, digits, _ . and -, never a path/);
  });
});

describe('limits', () => {
  it('maxDepth: links deeper than maxDepth are recorded as skipped, never fetched', async () => {
    const { server, dir } = await serve(chainSite(6, 1));
    const summary = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir, { maxDepth: 2 }) }).run();
    expect(hits(server, '/page/1')).toBe(1);
    expect(hits(server, '/page/2')).toBe(1);
    expect(hits(server, '/page/3')).toBe(1);
    expect(hits(server, '/page/4')).toBe(0);
    expect(summary.stats.skipped).toEqual({ depth: 1 });
    const db = readDb(dir, 'chain');
    expect(db.request('/page/4')).toMatchObject({ state: STATE.skipped, error: 'depth', depth: 3 });
    expect(db.request('/page/3')?.depth).toBe(2);
    expect(db.items).toHaveLength(3);
  });

  it('allowedDomains: links to other hosts are recorded offsite, never fetched', async () => {
    const site = new Map<string, string>([
      ['/in', html('<h1>in</h1>')],
      ['/out', html('<h1>out</h1>')],
    ]);
    const { server, dir, base } = await serve(site);
    const port = server.port;
    // localhost is the same server under another host name; the other link's host does not even resolve.
    site.set('/', html(`<a href="/in">in</a><a href="http://localhost:${port}/out">out</a><a href="http://www.127.0.0.1.example:${port}/x">x</a>`));
    class Scoped extends Spider {
      override name = 'scoped';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield { h: res.$('h1').text() };
        yield* res.followAll('a');
      }
    }
    const { summary, db } = await crawlAndRead(new Scoped(), dir, { allowedDomains: ['127.0.0.1'] });
    expect(hits(server, '/in')).toBe(1);
    expect(hits(server, '/out')).toBe(0);
    expect(summary.stats.skipped).toEqual({ offsite: 2 });
    expect(db.request(`http://localhost:${port}/out`)).toMatchObject({ state: STATE.skipped, error: 'offsite' });
  });

  it('allowedDomains matches the host name whatever the port', async () => {
    const other = await serveSite(new Map([['/there', html('<h1>there</h1>')]]));
    try {
      const { server, dir } = await serve(new Map([['/', html(`<a href="http://localhost:${other.port}/there">there</a>`)]]));
      const base = server.url.replace('127.0.0.1', 'localhost');
      class Ports extends Spider {
        override name = 'ports';
        override startUrls = [`${base}/`];
        override async *parse(res: Response): AsyncIterable<CallbackResult> {
          yield { url: res.url };
          yield* res.followAll('a');
        }
      }
      await crawl(new Ports(), { settings: fastSettings(dir, { allowedDomains: ['localhost'] }) }).run();
      expect(hits(other, '/there')).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("the spider's own settings apply, and crawl() settings override them", async () => {
    const { server, dir } = await serve(chainSite(5, 1));
    class Shallow extends ChainSpider {
      override name = 'shallow';
      override settings = { maxDepth: 1 };
    }
    await crawl(new Shallow(server.url), { settings: fastSettings(dir) }).run();
    expect(readDb(dir, 'shallow').items).toHaveLength(2);
    await crawl(new Shallow(server.url), { settings: fastSettings(dir, { maxDepth: 3 }) }).run();
    expect(readDb(dir, 'shallow').items.filter((i) => i.runId === 2)).toHaveLength(4);
  });

  it('maxItems stops the crawl once that many items are stored', async () => {
    const { server, dir } = await serve(chainSite(20, 1));
    const summary = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir, { maxItems: 5 }) }).run();
    expect(summary.reason).toBe('maxItems');
    expect(summary.status).toBe('finished');
    expect(summary.stats.items).toBe(5);
    expect(readDb(dir, 'chain').items).toHaveLength(5);
    expect(hits(server, '/page/6')).toBe(0);
    expect(hits(server, '/page/20')).toBe(0);
  });

  it('maxItems on a wide site does not count the requests it drops as failures', async () => {
    const site = new Map<string, string>([['/', html(Array.from({ length: 30 }, (_, i) => `<a href="/d/${i}">${i}</a>`).join(''))]]);
    for (let i = 0; i < 30; i++) site.set(`/d/${i}`, html(`<h1>${i}</h1>`));
    const { dir, base } = await serve(site);
    class Wide extends Spider {
      override name = 'wide';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield* res.followAll('a', this.parseD);
      }
      async *parseD(res: Response): AsyncIterable<CallbackResult> {
        yield { h: res.$('h1').text() };
      }
    }
    const { summary, db } = await crawlAndRead(new Wide(), dir, { maxItems: 3, perHost: { concurrency: 4, delayMs: 20 } });
    expect(summary.reason).toBe('maxItems');
    expect(db.items.length).toBeGreaterThanOrEqual(3);
    expect(db.items.length).toBeLessThan(30);
    // Requests left unfetched because the limit was reached did not fail.
    expect(summary.stats.failures).toEqual({});
    expect(db.requests.filter((r) => r.state === STATE.failed).map((r) => `${r.url}: ${r.error?.split('\n')[0]}`)).toEqual([]);
  });

  it('maxRequests stops scheduling after that many fetches', async () => {
    const { server, dir } = await serve(chainSite(10, 1));
    const summary = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir, { maxRequests: 4 }) }).run();
    expect(summary.reason).toBe('maxRequests');
    expect(server.requests).toHaveLength(4);
    expect(readDb(dir, 'chain').items).toHaveLength(4);
  });
});

describe('resume', () => {
  const N = 20;
  function wideSite(): Map<string, string | Route> {
    const site = new Map<string, string | Route>([['/', html(Array.from({ length: N }, (_, i) => `<a href="/d/${i}">${i}</a>`).join(''))]]);
    for (let i = 0; i < N; i++) site.set(`/d/${i}`, html(`<h1>detail ${i}</h1>`));
    return site;
  }
  class Wide extends Spider {
    override name = 'resumable';
    constructor(base: string) {
      super();
      this.startUrls = [`${base}/`];
    }
    override async *parse(res: Response): AsyncIterable<CallbackResult> {
      yield* res.followAll('a', this.parseDetail);
    }
    async *parseDetail(res: Response): AsyncIterable<CallbackResult> {
      yield { title: res.$('h1').text() };
    }
  }
  const all = Array.from({ length: N }, (_, i) => `detail ${i}`).sort();

  async function interruptedRun(base: string, storage: string, perHost: SettingsOverride['perHost'] = { concurrency: 2 }) {
    const ac = new AbortController();
    const c = crawl(new Wide(base), { settings: fastSettings(storage, { perHost }), signal: ac.signal });
    let seen = 0;
    for await (const _ of c) {
      seen++;
      if (seen === 3) ac.abort();
    }
    return c.summary!;
  }

  /** The wide site, each page answered after a short pause so a stop lands mid-crawl. */
  const slowWideSite = () =>
    startServer(async (req, res) => {
      const page = wideSite().get(req.url ?? '/');
      await new Promise((r) => setTimeout(r, 10));
      res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(typeof page === 'string' ? page : 'nope');
    });

  async function expectResumedToCompletion(base: string, storage: string, first: CrawlSummary) {
    expect(first.status).toBe('interrupted');
    expect(first.reason).toBe('stopped');
    expect(first.resumed).toBe(false);
    let db = readDb(storage, 'resumable');
    expect(db.runs.at(-1)?.status).toBe('interrupted');
    const storedFirst = db.items.length;
    expect(storedFirst).toBeGreaterThanOrEqual(3);
    expect(storedFirst).toBeLessThan(N);
    // Requests the stop kept from being fetched are back in the queue, untouched, not failed.
    expect(db.requests.filter((r) => r.state === STATE.failed).map((r) => `${r.url}: ${r.error?.split('\n')[0]}`)).toEqual([]);
    expect(db.requests.some((r) => r.state === STATE.queued)).toBe(true);
    expect(db.requests.some((r) => r.state === STATE.inFlight)).toBe(false);

    const second = crawl(new Wide(base), { settings: fastSettings(storage) });
    const summary = await second.run();
    expect(summary.resumed).toBe(true);
    expect(second.resumed).toBe(true);
    expect(summary.status).toBe('finished');
    expect(summary.runId).toBe(first.runId);
    expect(summary.stats.items).toBe(N);
    expect(summary.stats.failures).toEqual({});

    db = readDb(storage, 'resumable');
    const titles = db.items.filter((i) => i.runId === first.runId).map((i) => String(i.data.title));
    expect(titles.sort()).toEqual(all);
    expect(new Set(titles).size).toBe(N);
    expect(db.runs).toHaveLength(1);
    expect(db.runs[0]?.status).toBe('finished');
    expect(db.requests.every((r) => r.state === STATE.done)).toBe(true);
  }

  it('an aborted crawl is interrupted, and the next run resumes it to the full item set with no duplicates', async () => {
    const { server, dir } = await use(slowWideSite());
    const first = await interruptedRun(server.url, dir);
    await expectResumedToCompletion(server.url, dir, first);
    // Nothing fetched twice: the start page was not re-fetched, and every detail page once.
    expect(hits(server, '/')).toBe(1);
    for (let i = 0; i < N; i++) expect(hits(server, `/d/${i}`)).toBe(1);
  });

  it('stopping a crawl with a per-host delay requeues the requests waiting on the delay, and resume completes it', async () => {
    const { server, dir } = await use(slowWideSite());
    const first = await interruptedRun(server.url, dir, { concurrency: 2, delayMs: 30 });
    await expectResumedToCompletion(server.url, dir, first);
    for (let i = 0; i < N; i++) expect(hits(server, `/d/${i}`)).toBe(1);
  });

  it('fresh: true starts a new run instead of resuming', async () => {
    const { server, dir } = await serve(wideSite());
    const first = await interruptedRun(server.url, dir);
    expect(first.status).toBe('interrupted');

    const summary = await crawl(new Wide(server.url), { settings: fastSettings(dir), fresh: true }).run();
    expect(summary.resumed).toBe(false);
    expect(summary.runId).not.toBe(first.runId);
    expect(summary.status).toBe('finished');
    expect(summary.stats.items).toBe(N);
    const db = readDb(dir, 'resumable');
    expect(db.runs.map((r) => r.status)).toEqual(['interrupted', 'finished']);
    const titles = db.items.filter((i) => i.runId === summary.runId).map((i) => String(i.data.title));
    expect(titles.sort()).toEqual(all);
    expect(hits(server, '/')).toBe(2);
  });

  it('a finished run is not resumed: the next crawl starts a new run', async () => {
    const { server, dir } = await serve(chainSite(2, 1));
    const a = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir) }).run();
    const b = await crawl(new ChainSpider(server.url), { settings: fastSettings(dir) }).run();
    expect(b.resumed).toBe(false);
    expect(b.runId).toBeGreaterThan(a.runId);
    expect(b.stats.items).toBe(2);
    expect(hits(server, '/page/1')).toBe(2);
  });
});

describe('start requests', () => {
  it('start() may yield Requests with a callback, method and body', async () => {
    const { dir, base } = await start(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, body }));
    });
    class Poster extends Spider {
      override name = 'poster';
      override async *start(): AsyncIterable<Request | string> {
        yield new Request(`${base}/search`, { method: 'POST', body: 'q=1', callback: 'parseResult' });
        yield new Request(`${base}/search`, { method: 'POST', body: 'q=2', callback: 'parseResult' });
        yield new Request(`${base}/search`, { method: 'POST', body: 'q=1', callback: 'parseResult' }); // duplicate
      }
      async *parseResult(res: Response): AsyncIterable<CallbackResult> {
        yield res.json<Record<string, unknown>>();
      }
    }
    const { db } = await crawlAndRead(new Poster(), dir);
    const items = db.items.map((i) => i.data);
    expect(items.sort((a, b) => String(a.body).localeCompare(String(b.body)))).toEqual([
      { method: 'POST', body: 'q=1' },
      { method: 'POST', body: 'q=2' },
    ]);
  });
});

/**
 * Following links: `followAll({ include, exclude, sameDomain })`, the spider's
 * `allowedDomains`, and `-s maxDepth`, in real crawls against servers on
 * 127.0.0.1 (and the CLI, with callbacks in a worker thread).
 */
import { describe, expect, it } from 'vitest';
import { globToRegExp, Request, Response, Spider, type CallbackResult, type FollowAllOptions } from '../src/index.js';
import { CRAWLKIT, runCli, tempProject } from './helpers/cli.js';
import { crawlAndRead, hits, html, readDb, STATE, useTestSite } from './helpers/crawl.js';
import { serveSite } from './helpers/server.js';

const { serve } = useTestSite();

/** A spider that follows links from its start page only, with `followAll(options)`. */
function linkSpider(name: string, start: string, options: FollowAllOptions, props: Partial<Spider> = {}): Spider {
  class Links extends Spider {
    override name = name;
    override startUrls = [start];
    override async *parse(res: Response): AsyncIterable<CallbackResult> {
      yield { path: new URL(res.url).pathname + new URL(res.url).search, host: new URL(res.url).host };
      if (res.url === start) yield* res.followAll(options);
    }
  }
  return Object.assign(new Links(), props);
}

const paths = (items: { data: Record<string, unknown> }[]) => items.map((i) => i.data.path).sort();

describe('followAll({ include, exclude })', () => {
  it('follows exactly the links the globs and regexes select; the rest are neither fetched, recorded nor bad links', async () => {
    const site = new Map<string, string>();
    const { server, dir, base } = await serve(site);
    const links = [
      '/product/1',
      '/product/2', // excluded by a glob
      '/product/2/reviews', // `*` stops at "/"
      '/product/3#top', // matched without its fragment
      '/product/cart', // included, but excluded by a regex
      '/search?page=2', // "?" is literal in a glob
      '/searchXpage=3', // ... so it does not stand for this "X"
      '/Item/7', // a /gi regex: matched every time, not every other time
      '/item/8',
      '/about', // matches no include
      'mailto:someone@example.com', // not http(s): a bad link, the only one
    ];
    for (const l of links) if (l.startsWith('/')) site.set(l.split('#')[0]!, html(`<h1>${l}</h1>`));
    site.set('/', html(links.map((l) => `<a href="${l}">x</a>`).join('')));
    const spider = linkSpider('filtered', `${base}/`, {
      include: [`${base}/product/*`, `${base}/search?page=*`, /\/item\/\d+$/gi],
      exclude: ['**/product/2', /cart/],
      meta: { from: 'home' },
    });
    const { summary, db } = await crawlAndRead(spider, dir);
    const followed = ['/product/1', '/product/3', '/search?page=2', '/Item/7', '/item/8'];
    expect(paths(db.items)).toEqual(['/', ...followed].sort());
    expect(db.requests.map((r) => new URL(r.url).pathname + new URL(r.url).search).sort()).toEqual(['/', ...followed].sort());
    for (const p of ['/product/2', '/product/2/reviews', '/product/cart', '/searchXpage=3', '/about']) expect(hits(server, p), p).toBe(0);
    expect(summary.stats.badLinks).toBe(1);
    expect(db.requests.filter((r) => r.url !== `${base}/`).every((r) => r.meta === '{"from":"home"}' && r.callback === null)).toBe(true);
  });

  it('glob semantics: * within a segment, ** across, everything else literal, the whole URL', () => {
    const cases: [string, string, boolean][] = [
      ['https://a.example/p/*', 'https://a.example/p/1', true],
      ['https://a.example/p/*', 'https://a.example/p/1/2', false],
      ['https://a.example/p/**', 'https://a.example/p/1/2', true],
      ['https://*.example/**', 'https://www.a.example/x', true],
      ['https://*.example/**', 'https://evil.test/?https://a.example/', false],
      ['**/p/*', 'https://a.example/p/1', true],
      ['**?q=*', 'https://a.example/s?q=1', true],
      ['**?q=*', 'https://a.example/sxq=1', false],
      ['https://a.example/(x)+[y]', 'https://a.example/(x)+[y]', true],
      ['https://a.example/p', 'https://a.example/p/1', false], // anchored at the end
      ['a.example/**', 'https://a.example/p', false], // ... and at the start
    ];
    for (const [glob, url, want] of cases) expect(globToRegExp(glob).test(url), `${glob} ~ ${url}`).toBe(want);
  });

  it('a bad pattern fails the callback with a message naming it', async () => {
    const { dir, base } = await serve(new Map([['/', html('<a href="/x">x</a>')]]));
    const { db } = await crawlAndRead(linkSpider('badpattern', `${base}/`, { include: 42 as unknown as string }), dir);
    expect(db.request('/')).toMatchObject({ state: STATE.failed });
    expect(db.request('/')?.error).toMatch(/^callback:error: .*bad URL pattern 42: expected a glob string or a RegExp/);
  });
});

describe('followAll({ sameDomain })', () => {
  it('in a crawl: on by default, same host name on another port is the same site, localhost is not 127.0.0.1; off (with allowedDomains *) follows all', async () => {
    // Both servers are 127.0.0.1; localhost reaches the first under another host name. What this proves: the filter
    // runs in a real crawl, compares host names without ports, and treats an IP and localhost as sites of their own.
    // Registrable domains proper (www.example.co.uk ~ shop.example.co.uk) need DNS names: see the next test.
    const other = await serveSite(new Map([['/b', html('<h1>b</h1>')]]));
    try {
      const site = new Map([
        ['/self', html('<h1>self</h1>')],
        ['/l', html('<h1>l</h1>')],
      ]);
      const { server, dir, base } = await serve(site);
      site.set('/', html(`<a href="/self">s</a><a href="http://127.0.0.1:${other.port}/b">b</a><a href="http://localhost:${server.port}/l">l</a>`));

      const on = await crawlAndRead(linkSpider('sameon', `${base}/`, {}), dir);
      expect(paths(on.db.items)).toEqual(['/', '/b', '/self']);
      expect(hits(server, '/l')).toBe(0);
      expect(on.db.request(`http://localhost:${server.port}/l`)).toBeUndefined(); // not followed, so not recorded as skipped
      expect(on.summary.stats.badLinks).toBe(0);

      // The crawl's own scope (the start's site) would keep localhost out too: `*` lifts it, to show the filter alone.
      const off = await crawlAndRead(linkSpider('sameoff', `${base}/`, { sameDomain: false }, { allowedDomains: ['*'] }), dir);
      expect(paths(off.db.items)).toEqual(['/', '/b', '/l', '/self']);
      expect(off.db.items.find((i) => i.data.path === '/l')?.data.host).toBe(`localhost:${server.port}`);
      expect(hits(other, '/b')).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('compares registrable domains by the Public Suffix List (no fetch needed: the filter runs before any request exists)', () => {
    const on = (page: string, hrefs: string[]) => {
      const res = new Response({ url: page, status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: Buffer.from(hrefs.map((h) => `<a href="${h}">x</a>`).join('')), request: new Request(page) });
      return res.followAll({}).map((r) => r.url);
    };
    expect(
      on('https://shop.example.co.uk/', [
        'https://www.example.co.uk/a', // same registrable domain
        'https://example.co.uk/b',
        'http://deep.er.example.co.uk:8080/c', // scheme and port do not matter
        'https://other.co.uk/d', // co.uk is a public suffix: another site
        'https://example.com/e',
        'https://co.uk/f',
      ]),
    ).toEqual(['https://www.example.co.uk/a', 'https://example.co.uk/b', 'http://deep.er.example.co.uk:8080/c']);
    // github.io is a private public suffix: each user's site is its own.
    expect(on('https://alice.github.io/', ['https://alice.github.io/p', 'https://bob.github.io/p', 'https://www.alice.github.io/q'])).toEqual([
      'https://alice.github.io/p',
      'https://www.alice.github.io/q',
    ]);
    expect(on('http://10.0.0.1/', ['http://10.0.0.1:81/a', 'http://10.0.0.2/b', 'http://localhost/c'])).toEqual(['http://10.0.0.1:81/a']);
  });
});

describe('Spider.allowedDomains', () => {
  function scopedSite() {
    const site = new Map([
      ['/in', html('<h1>in</h1>')],
      ['/out', html('<h1>out</h1>')],
    ]);
    return site;
  }

  it('keeps the crawl on those domains: other hosts are recorded offsite and never contacted', async () => {
    const site = scopedSite();
    const { server, dir, base } = await serve(site);
    site.set('/', html(`<a href="/in">in</a><a href="http://localhost:${server.port}/out">out</a>`));
    const spider = linkSpider('scoped', `${base}/`, { sameDomain: false }, { allowedDomains: ['127.0.0.1'] });
    const { summary, db } = await crawlAndRead(spider, dir);
    expect(paths(db.items)).toEqual(['/', '/in']);
    expect(hits(server, '/out')).toBe(0);
    expect(summary.stats.skipped).toEqual({ offsite: 1 });
    expect(db.request(`http://localhost:${server.port}/out`)).toMatchObject({ state: STATE.skipped, error: 'offsite' });
  });

  it('an allowedDomains setting wins over the property', async () => {
    const site = scopedSite();
    const { server, dir, base } = await serve(site);
    site.set('/', html(`<a href="/in">in</a><a href="http://localhost:${server.port}/out">out</a>`));
    const spider = linkSpider('scopedset', `${base}/`, { sameDomain: false }, { allowedDomains: ['127.0.0.1'], settings: { allowedDomains: ['localhost'] } });
    const { db } = await crawlAndRead(spider, dir);
    expect(paths(db.items)).toEqual(['/', '/out']); // the start request is never out of scope
    expect(db.request('/in')).toMatchObject({ state: STATE.skipped, error: 'offsite' });
  });
});

describe('the CLI: followAll options, allowedDomains and -s maxDepth, with callbacks in a worker thread', () => {
  it('-s maxDepth=2 fetches depths 0 to 2 and records depth 3 as skipped; the property keeps localhost out', async () => {
    const site = new Map<string, string>();
    const { server, base } = await serve(site);
    for (let d = 0; d <= 4; d++) site.set(`/d/${d}`, html(`<a class="next" href="/d/${d + 1}">next</a><a class="next" href="http://localhost:${server.port}/off/${d}">off</a><a href="/d/99">not next</a>`));
    const project = await tempProject({
      deep: `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Deep extends Spider {
  override name = 'deep';
  override startUrls = [this.arg('baseUrl') + '/d/0'];
  override allowedDomains = ['127.0.0.1'];
  override async *parse(res: Response) {
    yield { path: new URL(res.url).pathname };
    yield* res.followAll({ selector: 'a.next', sameDomain: false });
  }
}
`,
    });
    try {
      const r = await runCli(['deep', '-a', `baseUrl=${base}`, '--spiders', project.spiders, '--storage', project.storage, '-s', 'maxDepth=2', '-s', 'workers=1']);
      expect(r.code, r.stderr).toBe(0);
      const db = readDb(project.storage, 'deep');
      expect(paths(db.items)).toEqual(['/d/0', '/d/1', '/d/2']);
      expect(db.request('/d/3')).toMatchObject({ state: STATE.skipped, error: 'depth', depth: 3 });
      expect(db.request('/d/2')).toMatchObject({ state: STATE.done, depth: 2 });
      expect(db.requests.filter((r) => r.error === 'offsite').map((r) => new URL(r.url).pathname).sort()).toEqual(['/off/0', '/off/1']);
      for (const p of ['/d/3', '/d/99', '/off/0', '/off/1']) expect(hits(server, p), p).toBe(0);
    } finally {
      await project.cleanup();
    }
  });
});

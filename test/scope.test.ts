/**
 * Safe defaults for where a crawl goes (issue 10, section 5), in real crawls
 * against servers on 127.0.0.1: the default scope is the start requests'
 * registrable domains, for links (follow, followAll in both forms), redirects
 * and sitemaps alike; and no connection reaches a kind of address no start URL
 * was on, by IP literal or by a name that resolves there. Every address used
 * is a loopback one: `localhost` (a name of 127.0.0.1) plays "another host",
 * and `0.0.0.0` (which Linux connects to the local host, the classic way round
 * a loopback filter) plays "another kind of address".
 */
import { describe, expect, it } from 'vitest';
import { FetchError } from '../src/errors.js';
import { addressKind, addressPolicy } from '../src/fetch/addresses.js';
import { createFetcher } from '../src/fetch/fetcher.js';
import { crawl, Request, resolveSettings, Spider, type CallbackResult, type Response } from '../src/index.js';
import { runCli, tempProject } from './helpers/cli.js';
import { crawlAndRead, fastSettings, hits, html, readDb, STATE, useTestSite } from './helpers/crawl.js';
import type { Route } from './helpers/server.js';
import { followSpiderSource } from './helpers/spiders.js';

const { serve } = useTestSite();

/** A spider that follows links from its start page in every way a spider can: follow(), followAll(selector), followAll({ ... }). */
class Everyway extends Spider {
  override name = 'everyway';
  constructor(base: string, props: Partial<Spider> = {}) {
    super();
    this.startUrls = [`${base}/`];
    Object.assign(this, props);
  }
  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    yield { path: new URL(res.url).pathname, host: new URL(res.url).host };
    if (new URL(res.url).pathname !== '/') return;
    yield res.follow(res.$('a.one').attr('href'));
    yield* res.followAll('a.many');
    yield* res.followAll({ selector: 'a.any', sameDomain: false });
  }
}

/** A site on 127.0.0.1 whose links, redirect and sitemap lead to `localhost` (same server, another host) as well as home. */
function leakySite(): Map<string, string | Route> {
  return new Map<string, string | Route>([['/in', html('<h1>in</h1>')], ['/in2', html('<h1>in2</h1>')]]);
}
function fillLeaky(site: Map<string, string | Route>, port: number): void {
  const away = `http://localhost:${port}`;
  site.set('/', html(`<a class="many" href="/in">in</a><a class="many" href="/go">go</a><a class="one" href="${away}/out1">1</a><a class="many" href="${away}/out2">2</a><a class="any" href="${away}/out3">3</a>`));
  site.set('/go', { status: 302, headers: { location: `${away}/out4` } });
  site.set('/s.xml', `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://127.0.0.1:${port}/in2</loc></url><url><loc>${away}/out5</loc></url></urlset>`);
  for (const p of ['/out1', '/out2', '/out3', '/out4', '/out5']) site.set(p, html(`<h1>${p}</h1>`));
}
const OUT = ['/out1', '/out2', '/out3', '/out4', '/out5'];

describe('the default scope: the start requests’ registrable domains', () => {
  it('follow(), followAll(selector), followAll({ sameDomain: false }), a redirect and a sitemap entry to another host are recorded offsite and never fetched', async () => {
    const site = leakySite();
    const { server, dir, base } = await serve(site);
    fillLeaky(site, server.port);
    const { summary, db } = await crawlAndRead(new Everyway(base, { sitemapUrls: [`${base}/s.xml`] }), dir);
    for (const p of OUT) expect(hits(server, p), p).toBe(0);
    for (const p of OUT) expect(db.request(`http://localhost:${server.port}${p}`), p).toMatchObject({ state: STATE.skipped, error: 'offsite' });
    expect(summary.stats.skipped).toEqual({ offsite: 5 });
    expect(db.items.map((i) => i.data.path).sort()).toEqual(['/', '/in', '/in2']);
  });

  it.each([[['127.0.0.1', 'localhost']], [['*']]])('allowedDomains %j widens it (`*` lifts it): the same links are followed', async (allowedDomains) => {
    const site = leakySite();
    const { server, dir, base } = await serve(site);
    fillLeaky(site, server.port);
    const { summary } = await crawlAndRead(new Everyway(base, { sitemapUrls: [`${base}/s.xml`], allowedDomains }), dir);
    for (const p of OUT) expect(hits(server, p), p).toBe(1);
    expect(summary.stats.skipped).toEqual({});
  });

  it('allowedDomains narrows it: the start is fetched, its links on the start’s own host are not', async () => {
    const site = leakySite();
    const { server, dir, base } = await serve(site);
    fillLeaky(site, server.port);
    const { db } = await crawlAndRead(new Everyway(base, { allowedDomains: ['localhost'] }), dir);
    expect(hits(server, '/')).toBe(1);
    expect(hits(server, '/in')).toBe(0);
    expect(db.request('/in')).toMatchObject({ state: STATE.skipped, error: 'offsite' });
    expect(hits(server, '/out1')).toBe(1);
  });

  it('a Request start() yields widens the scope too, and a resumed run keeps that scope', async () => {
    const site = new Map<string, string | Route>();
    const { server, dir, base } = await serve(site);
    const away = `http://localhost:${server.port}`;
    site.set('/', html(`<a class="many" href="${away}/a">a</a>`));
    site.set('/b', html(`<a class="many" href="${away}/c">c</a>`));
    for (const p of ['/a', '/c', '/d']) site.set(p, html(`<a class="many" href="/d">d</a>`));
    const stop = new AbortController();
    class FromStart extends Spider {
      override name = 'fromstart';
      override startUrls = [`${base}/`];
      override async *start() {
        yield* super.start();
        yield new Request(`${away}/b`, { callback: 'parseB' }); // the site of localhost joins the scope
      }
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield { path: new URL(res.url).pathname };
        yield* res.followAll('a.many');
      }
      async *parseB(res: Response): AsyncIterable<CallbackResult> {
        stop.abort(); // interrupt: the rest is crawled by a resumed run, which never runs start() again
        yield* this.parse(res);
      }
    }
    const settings = fastSettings(dir, { concurrency: 1, perHost: { concurrency: 1 }, workers: 0 });
    const first = await crawl(new FromStart(), { settings, signal: stop.signal }).run();
    expect(first.status).toBe('interrupted');
    const second = await crawl(new FromStart(), { settings }).run();
    expect(second.resumed).toBe(true);
    expect(second.stats.skipped).toEqual({});
    for (const p of ['/a', '/c', '/d']) expect(hits(server, p), p).toBe(1);
    expect(readDb(dir, 'fromstart').requests.every((r) => r.state === STATE.done)).toBe(true);
  });
});

describe('addresses: nothing a page serves reaches a kind of address no start URL was on', () => {
  it('kinds of address: loopback, private, link-local and reserved ranges (IPv4, IPv6, IPv4-mapped) are not public', () => {
    const cases: [string, string][] = [
      ['127.0.0.2', 'loopback'],
      ['::1', 'loopback'],
      ['[::ffff:127.0.0.1]', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['fd12:3456::1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['0.0.0.0', 'reserved'],
      ['::', 'reserved'],
      ['224.0.0.1', 'reserved'],
      ['8.8.8.8', 'public'],
      ['172.32.0.1', 'public'],
      ['2606:4700::1111', 'public'],
    ];
    for (const [ip, kind] of cases) expect(addressKind(ip), ip).toBe(kind);
  });

  it('from a start on 127.0.0.1, a link and a redirect to 0.0.0.0 are refused before connecting, even with every domain allowed', async () => {
    const site = new Map<string, string | Route>();
    const { server, dir, base } = await serve(site);
    site.set('/', html(`<a class="many" href="http://0.0.0.0:${server.port}/by-link">x</a><a class="many" href="/go">go</a>`));
    site.set('/go', { status: 302, headers: { location: `http://0.0.0.0:${server.port}/by-redirect` } });
    const { db } = await crawlAndRead(new Everyway(base, { allowedDomains: ['*'] }), dir);
    for (const p of ['/by-link', '/by-redirect']) {
      expect(hits(server, p), p).toBe(0);
      expect(db.request(`http://0.0.0.0:${server.port}${p}`), p).toMatchObject({ state: STATE.failed });
      expect(db.request(`http://0.0.0.0:${server.port}${p}`)?.error, p).toMatch(/^blocked:reserved: 0\.0\.0\.0 is a reserved address, and no start URL was/);
    }
  });

  it('a name is judged by the address it resolves to: from a start on 0.0.0.0, localhost (127.0.0.1) is refused like 127.0.0.1 itself', async () => {
    const site = new Map<string, string | Route>();
    const { server, dir } = await serve(site);
    site.set('/', html(`<a class="many" href="http://localhost:${server.port}/by-name">n</a><a class="many" href="http://127.0.0.1:${server.port}/by-ip">i</a>`));
    const { db } = await crawlAndRead(new Everyway(`http://0.0.0.0:${server.port}`, { allowedDomains: ['*'] }), dir);
    expect(hits(server, '/')).toBe(1); // the start itself, on 0.0.0.0
    expect(hits(server, '/by-name')).toBe(0);
    expect(hits(server, '/by-ip')).toBe(0);
    expect(db.request(`http://localhost:${server.port}/by-name`)?.error).toMatch(/^blocked:loopback: localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/);
    expect(db.request(`http://127.0.0.1:${server.port}/by-ip`)?.error).toMatch(/^blocked:loopback: /);
  });

  it('the fetcher of a crawl that started on public addresses connects to no loopback address, by IP or by name', async () => {
    const { server } = await serve(new Map([['/x', 'x']]));
    const fetcher = createFetcher(resolveSettings(), addressPolicy(false));
    try {
      for (const url of [`${server.url}/x`, `http://localhost:${server.port}/x`]) {
        const err = await fetcher.fetch({ url, method: 'GET', headers: null, body: null }).catch((e: unknown) => e);
        expect(err, url).toBeInstanceOf(FetchError);
        expect((err as FetchError).reason).toBe('blocked:loopback');
        expect((err as FetchError).retryable).toBe(false);
      }
      expect(hits(server, '/x')).toBe(0);
    } finally {
      await fetcher.close();
    }
  });

  it('-s allowPrivateAddresses=true connects anyway (the CLI)', async () => {
    const site = new Map<string, string | Route>();
    const { server, base } = await serve(site);
    site.set('/', html(`<a href="http://0.0.0.0:${server.port}/private">p</a>`));
    site.set('/private', html('<h1>private</h1>'));
    const project = await tempProject({ follower: followSpiderSource('follower') });
    try {
      const args = ['follower', '-a', `start=${base}/`, '--spiders', project.spiders, '--storage', project.storage, '-s', 'allowedDomains=*', '-L', 'warn'];
      const blocked = await runCli(args);
      expect(blocked.code, blocked.stderr).toBe(0);
      expect(hits(server, '/private')).toBe(0);
      const allowed = await runCli([...args, '--fresh', '-s', 'allowPrivateAddresses=true']);
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(hits(server, '/private')).toBe(1);
    } finally {
      await project.cleanup();
    }
  });
});

describe('crawl parse: the rules of a crawl', () => {
  it('refuses what a crawl would not hand to the callback: an off-scope redirect, a loop, a non-public address, a 404 and a 500', async () => {
    const site = new Map<string, string | Route>([
      ['/ok', html('<a href="/in">in</a><a href="http://localhost/out">out</a>')],
      ['/loop-a', { status: 302, headers: { location: '/loop-b' } }],
      ['/loop-b', { status: 302, headers: { location: '/loop-a' } }],
      ['/self', { status: 301, headers: { location: '/self#again' } }],
      ['/boom', { status: 500, body: 'boom' }],
    ]);
    const { server, base } = await serve(site);
    site.set('/away', { status: 302, headers: { location: `http://localhost:${server.port}/ok` } });
    site.set('/zero', { status: 302, headers: { location: `http://0.0.0.0:${server.port}/ok` } });
    const project = await tempProject({ follower: followSpiderSource('follower') });
    const parse = (path: string, ...extra: string[]) => runCli(['parse', 'follower', `${base}${path}`, '-a', 'start=unused', '--spiders', project.spiders, '--json', ...extra]);
    const refused = (r: Awaited<ReturnType<typeof runCli>>, pattern: RegExp) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^crawl: error: [^\n]*\n$/);
      expect(r.stderr).toMatch(pattern);
    };
    try {
      const ok = await parse('/ok');
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).requests).toEqual([
        { url: `${base}/in`, callback: 'parse' },
        { url: 'http://localhost/out', callback: 'parse', skipped: 'offsite' },
      ]);
      refused(await parse('/away'), /redirects to http:\/\/localhost:\d+\/ok, outside the crawl's scope/);
      refused(await parse('/loop-a'), /loop-b redirects in a loop, back to .*\/loop-a \(redirect:loop\)/);
      refused(await parse('/self'), /self redirects in a loop, back to .*\/self \(redirect:loop\)/);
      refused(await parse('/zero', '-s', 'allowedDomains=*'), /cannot fetch http:\/\/0\.0\.0\.0:\d+\/ok: blocked:reserved/);
      refused(await parse('/missing'), /missing answered 404: a crawl fails it as http:404, without calling back \(-s handleStatuses=404/);
      refused(await parse('/boom'), /boom answered 500: a crawl retries it, then fails it as http:500/);
      expect(hits(server, '/ok')).toBe(1);
      const handled = await parse('/missing', '-s', 'handleStatuses=404');
      expect(handled.code, handled.stderr).toBe(0);
      expect(JSON.parse(handled.stdout).items).toEqual([{ path: '/missing', status: 404 }]);
    } finally {
      await project.cleanup();
    }
  });
});

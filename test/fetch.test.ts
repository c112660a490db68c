/**
 * Fetch behaviour through whole crawls against a real HTTP server on
 * 127.0.0.1: retries and Retry-After, timeouts, body size caps and
 * compression, redirects, and charset decoding.
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Request, Spider, type CallbackResult, type Response, type SettingsOverride } from '../src/index.js';
import { crawlAndRead, hits, hitTimes, html, STATE, useTestSite } from './helpers/crawl.js';
import { serveSite, startServer, type Handler, type Route, type TestServer } from './helpers/server.js';

const { serve, start, use, storage, cleanup } = useTestSite();

/** A spider that fetches `paths` and stores one item per page: its final URL, status and text. */
class PageSpider extends Spider {
  constructor(
    override name: string,
    base: string,
    paths: string[],
  ) {
    super();
    this.startUrls = paths.map((p) => base + p);
  }
  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    yield { url: res.url, status: res.status, text: res.$('p').first().text() || res.text.slice(0, 200) };
    yield* res.followAll('a');
  }
}

async function crawlPaths(handlerOrServer: Handler | TestServer, paths: string[], settings: SettingsOverride = {}, name = 'pages') {
  const { server, dir, base } = typeof handlerOrServer === 'function' ? await start(handlerOrServer) : await use(handlerOrServer);
  return { ...(await crawlAndRead(new PageSpider(name, base, paths), dir, settings)), server };
}

describe('retry', () => {
  it('retries a 503 twice, then stores the item of the 200', async () => {
    let n = 0;
    const { summary, db, server: s } = await crawlPaths(
      (_req, res) => {
        n++;
        if (n <= 2) {
          res.writeHead(503, { 'content-type': 'text/html' });
          res.end('busy');
        } else {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(html('<p>finally</p>'));
        }
      },
      ['/flaky'],
      { retry: { maxAttempts: 4 } },
    );
    expect(hits(s, '/flaky')).toBe(3);
    expect(summary.stats.retries).toBe(2);
    expect(summary.stats.responses).toEqual({ '200': 1, '503': 2 });
    expect(summary.stats.failures).toEqual({});
    expect(db.items.map((i) => i.data.text)).toEqual(['finally']);
    expect(db.request('/flaky')).toMatchObject({ state: STATE.done, status: 200, attempts: 3 });
  });

  it('a permanent 503 fails with http:503 after retry.maxAttempts attempts', async () => {
    const { summary, db, server: s } = await crawlPaths(
      (_req, res) => {
        res.writeHead(503, { 'content-type': 'text/html' });
        res.end('down');
      },
      ['/down'],
      { retry: { maxAttempts: 3 } },
    );
    expect(hits(s, '/down')).toBe(3);
    expect(summary.status).toBe('finished');
    expect(summary.stats.retries).toBe(2);
    expect(summary.stats.failures).toEqual({ 'http:503': 1 });
    expect(db.request('/down')).toMatchObject({ state: STATE.failed, error: 'http:503', status: 503, attempts: 3 });
    expect(db.items).toHaveLength(0);
  });

  it('a 404 fails at once without retries; handleStatuses hands it to the callback', async () => {
    const site = new Map<string, string | Route>([['/gone', { status: 404, body: html('<p>gone</p>') }]]);
    const first = await crawlPaths(await serveSite(site), ['/gone'], {}, 'notfound');
    expect(hits(first.server, '/gone')).toBe(1);
    expect(first.db.request('/gone')).toMatchObject({ state: STATE.failed, error: 'http:404', status: 404 });
    await cleanup();

    const second = await crawlPaths(await serveSite(site), ['/gone'], { handleStatuses: [404] }, 'handled');
    expect(second.db.items.map((i) => i.data)).toEqual([{ url: `${second.server.url}/gone`, status: 404, text: 'gone' }]);
  });

  it('honours Retry-After in seconds', async () => {
    let n = 0;
    const { db, server: s } = await crawlPaths(
      (_req, res) => {
        if (++n === 1) {
          res.writeHead(503, { 'retry-after': '1' });
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(html('<p>ok</p>'));
        }
      },
      ['/later'],
    );
    const [t1, t2] = hitTimes(s, '/later');
    expect(t2).toBeDefined();
    expect(t2! - t1!).toBeGreaterThanOrEqual(950);
    expect(db.items.map((i) => i.data.text)).toEqual(['ok']);
  });

  it('honours Retry-After as an HTTP date', async () => {
    let n = 0;
    let until = 0;
    const { db, server: s } = await crawlPaths(
      (_req, res) => {
        if (++n === 1) {
          // HTTP dates have whole seconds: this is between 1 and 2 s from now.
          const date = new Date(Date.now() + 2000).toUTCString();
          until = Date.parse(date);
          res.writeHead(429, { 'retry-after': date });
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(html('<p>ok</p>'));
        }
      },
      ['/dated'],
    );
    const [t1, t2] = hitTimes(s, '/dated');
    expect(until - t1!).toBeGreaterThanOrEqual(1000);
    expect(t2).toBeDefined();
    expect(t2!).toBeGreaterThanOrEqual(until - 50);
    expect(db.items.map((i) => i.data.text)).toEqual(['ok']);
  });

  it('caps a huge Retry-After at retry.maxRetryAfterMs', async () => {
    let n = 0;
    const { db, server: s } = await crawlPaths(
      (_req, res) => {
        if (++n === 1) {
          res.writeHead(503, { 'retry-after': '86400' });
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(html('<p>ok</p>'));
        }
      },
      ['/capped'],
      { retry: { maxRetryAfterMs: 100 } },
    );
    expect(hits(s, '/capped')).toBe(2);
    expect(db.items.map((i) => i.data.text)).toEqual(['ok']);
  });
});

describe('timeouts', () => {
  it('a server that never sends headers fails with timeout:headers after maxAttempts, and the crawl ends', async () => {
    const { summary, db, server: s } = await crawlPaths(
      () => {
        /* never answer */
      },
      ['/hang'],
      { timeouts: { headersMs: 300 }, retry: { maxAttempts: 2 } },
    );
    expect(summary.status).toBe('finished');
    expect(hits(s, '/hang')).toBe(2);
    expect(summary.stats.failures).toEqual({ 'timeout:headers': 1 });
    const row = db.request('/hang')!;
    expect(row.state).toBe(STATE.failed);
    expect(row.error).toMatch(/^timeout:headers/);
    expect(row.attempts).toBe(2);
  });

  it('a body that stalls fails with timeout:body', async () => {
    const { summary, db, server: s } = await crawlPaths(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': '10000' });
        res.write('<html><body><p>start of a page that never ends');
      },
      ['/stall'],
      { timeouts: { bodyMs: 300 }, retry: { maxAttempts: 2 } },
    );
    expect(summary.status).toBe('finished');
    expect(hits(s, '/stall')).toBe(2);
    expect(summary.stats.failures).toEqual({ 'timeout:body': 1 });
    expect(db.request('/stall')?.error).toMatch(/^timeout:body/);
    expect(db.items).toHaveLength(0);
  });

  it('a slow-drip body is cut off by timeouts.requestMs', async () => {
    const { summary, db } = await crawlPaths(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        const timer = setInterval(() => res.write('.'), 50);
        res.on('close', () => clearInterval(timer));
      },
      ['/drip'],
      { timeouts: { bodyMs: 1000, requestMs: 400 }, retry: { maxAttempts: 1 } },
    );
    expect(summary.status).toBe('finished');
    expect(summary.stats.failures).toEqual({ 'timeout:request': 1 });
    expect(db.request('/drip')?.error).toMatch(/^timeout:request/);
  });

  it('a refused connection is retried, then fails with a network reason', async () => {
    const closed = await startServer(() => {});
    const port = closed.port;
    await closed.close();
    const dir = storage();
    class Refused extends Spider {
      override name = 'refused';
      override startUrls = [`http://127.0.0.1:${port}/`];
    }
    const { summary, db } = await crawlAndRead(new Refused(), dir, { retry: { maxAttempts: 2 } });
    expect(summary.status).toBe('finished');
    expect(Object.keys(summary.stats.failures)).toEqual(['network:ECONNREFUSED']);
    expect(db.requests[0]).toMatchObject({ state: STATE.failed, attempts: 2, error: 'network:ECONNREFUSED' });
  });
});

describe('body size', () => {
  const MB = 1024 * 1024;

  it('a 5 MB response with Content-Length over a 1 MB cap fails too-large, without retries', async () => {
    const big = Buffer.alloc(5 * MB, 'a');
    const { summary, db, server: s } = await crawlPaths(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(big.length) });
        res.end(big);
      },
      ['/big'],
      { maxBodyBytes: MB },
    );
    expect(hits(s, '/big')).toBe(1);
    expect(summary.stats.failures).toEqual({ 'too-large': 1 });
    expect(db.request('/big')).toMatchObject({ state: STATE.failed });
    expect(db.request('/big')?.error).toMatch(/^too-large/);
  });

  it('a 5 MB chunked response (no Content-Length) fails too-large', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'b');
    const { summary, db } = await crawlPaths(
      async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        for (let sent = 0; sent < 5 * MB && !res.destroyed; sent += chunk.length) {
          // Whichever comes first, drain or close; the other listener is removed, or 80 writes would leave 80 behind.
          if (!res.write(chunk))
            await new Promise<void>((resolve) => {
              const done = () => (res.off('drain', done).off('close', done), resolve());
              res.on('drain', done).on('close', done);
            });
        }
        res.end();
      },
      ['/chunked'],
      { maxBodyBytes: MB },
    );
    expect(summary.stats.failures).toEqual({ 'too-large': 1 });
    expect(db.request('/chunked')?.error).toMatch(/^too-large/);
  });

  it('a gzip bomb (small body inflating past the cap) is cut off as too-large', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * MB, 0));
    expect(bomb.length).toBeLessThan(MB / 4);
    const { summary, db } = await crawlPaths(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
        res.end(bomb);
      },
      ['/bomb'],
      { maxBodyBytes: MB },
    );
    expect(summary.stats.failures).toEqual({ 'too-large': 1 });
    expect(db.request('/bomb')?.error).toMatch(/^too-large/);
    expect(db.items).toHaveLength(0);
  });

  it('decodes gzip, deflate and br bodies', async () => {
    const page = (name: string) => Buffer.from(html(`<p>${name} — café ✓</p>`), 'utf8');
    const encoded: Record<string, [string, Buffer]> = {
      '/gzip': ['gzip', zlib.gzipSync(page('gzip'))],
      '/deflate': ['deflate', zlib.deflateSync(page('deflate'))],
      '/br': ['br', zlib.brotliCompressSync(page('br'))],
    };
    const { summary, db, server: s } = await crawlPaths(
      (req, res) => {
        const [encoding, body] = encoded[req.url ?? '']!;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': encoding, 'content-length': String(body.length) });
        res.end(body);
      },
      Object.keys(encoded),
    );
    expect(summary.stats.failures).toEqual({});
    expect(Object.fromEntries(db.items.map((i) => [new URL(i.url).pathname, i.data.text]))).toEqual({
      '/gzip': 'gzip — café ✓',
      '/deflate': 'deflate — café ✓',
      '/br': 'br — café ✓',
    });
    // The crawler asked for compression.
    expect(s.requests.every((r) => /gzip/.test(String(r.headers['accept-encoding'])) && /br/.test(String(r.headers['accept-encoding'])))).toBe(true);
  });
});

describe('redirects', () => {
  it('follows a 301/302 chain; the callback sees the final URL and relative links resolve against it', async () => {
    const site = new Map<string, string | Route>([
      ['/start', { status: 301, headers: { location: '/mid' } }],
      ['/mid', { status: 302, headers: { location: '/dir/final/' } }],
      ['/dir/final/', html('<p>final</p><a href="next.html">next</a>')],
      ['/dir/final/next.html', html('<p>next</p>')],
      ['/next.html', html('<p>wrong base</p>')],
    ]);
    const { summary, db, server: s } = await crawlPaths(await serveSite(site), ['/start']);
    const base = s.url;
    expect(db.items.map((i) => i.data)).toEqual([
      { url: `${base}/dir/final/`, status: 200, text: 'final' },
      { url: `${base}/dir/final/next.html`, status: 200, text: 'next' },
    ]);
    expect(hits(s, '/next.html')).toBe(0);
    expect(summary.stats.redirects).toBe(2);
    expect(db.request('/start')).toMatchObject({ state: STATE.done, status: 301 });
    expect(db.request('/dir/final/')).toMatchObject({ state: STATE.done, status: 200, redirects: 2, depth: 0 });
  });

  it('a redirect keeps the callback and meta of the original request', async () => {
    const site = new Map<string, string | Route>([
      ['/', html('<a href="/old">old</a>')],
      ['/old', { status: 302, headers: { location: '/new' } }],
      ['/new', html('<h1>new</h1>')],
    ]);
    const { dir, base } = await serve(site);
    class Meta extends Spider {
      override name = 'meta';
      override startUrls = [`${base}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield res.follow('/old', this.parseDetail, { meta: { from: 'home' } });
      }
      async *parseDetail(res: Response): AsyncIterable<CallbackResult> {
        yield { url: res.url, h1: res.$('h1').text(), from: res.meta.from };
      }
    }
    const { db } = await crawlAndRead(new Meta(), dir);
    expect(db.items.map((i) => i.data)).toEqual([{ url: `${base}/new`, h1: 'new', from: 'home' }]);
  });

  it('a redirect loop ends: each hop fetched once, the crawl finishes', async () => {
    const site = new Map<string, string | Route>([
      ['/loop/a', { status: 302, headers: { location: '/loop/b' } }],
      ['/loop/b', { status: 302, headers: { location: '/loop/a' } }],
      ['/self', { status: 301, headers: { location: '/self' } }],
    ]);
    const { summary, db, server: s } = await crawlPaths(await serveSite(site), ['/loop/a', '/self']);
    expect(summary.status).toBe('finished');
    expect(hits(s, '/loop/a')).toBe(1);
    expect(hits(s, '/loop/b')).toBe(1);
    expect(hits(s, '/self')).toBe(1);
    expect(db.items).toHaveLength(0);
    expect(db.requests.every((r) => r.state !== STATE.queued && r.state !== STATE.inFlight)).toBe(true);
  });

  it('a chain longer than maxRedirects fails with redirect:too-many', async () => {
    const { summary, db, server: s } = await crawlPaths(
      (req, res) => {
        const n = Number(/^\/r\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
        res.writeHead(302, { location: `/r/${n + 1}` });
        res.end();
      },
      ['/r/0'],
      { maxRedirects: 3 },
    );
    expect(summary.status).toBe('finished');
    expect(summary.stats.failures).toEqual({ 'redirect:too-many': 1 });
    for (const p of ['/r/0', '/r/1', '/r/2', '/r/3']) expect(hits(s, p)).toBe(1);
    expect(hits(s, '/r/4')).toBe(0);
    expect(db.request('/r/3')).toMatchObject({ state: STATE.failed, error: 'redirect:too-many', redirects: 3 });
  });

  it('a redirect to a host outside allowedDomains is not fetched', async () => {
    const { summary, db, server: s } = await crawlPaths(
      (req, res) => {
        if (req.url === '/go') {
          res.writeHead(302, { location: `http://localhost:${req.socket.localPort}/away` });
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(html('<p>should not be fetched</p>'));
        }
      },
      ['/go'],
      { allowedDomains: ['127.0.0.1'] },
    );
    expect(hits(s, '/away')).toBe(0);
    expect(summary.stats.skipped).toEqual({ offsite: 1 });
    expect(db.request(`http://localhost:${s.port}/away`)).toMatchObject({ state: STATE.skipped, error: 'offsite' });
    expect(db.items).toHaveLength(0);
  });

  it('a redirect to a non-http Location fails with redirect:bad-location', async () => {
    const site = new Map<string, string | Route>([['/ftp', { status: 302, headers: { location: 'ftp://example.com/file' } }]]);
    const { summary, db } = await crawlPaths(await serveSite(site), ['/ftp']);
    expect(summary.stats.failures).toEqual({ 'redirect:bad-location': 1 });
    expect(db.request('/ftp')?.error).toMatch(/^redirect:bad-location/);
  });

  it('307 repeats a POST with its body; 303 turns it into a GET', async () => {
    const { dir, base } = await start(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      if (req.url === '/p307') {
        res.writeHead(307, { location: '/echo307' });
        res.end();
      } else if (req.url === '/p303') {
        res.writeHead(303, { location: '/echo303' });
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ path: req.url, method: req.method, body }));
      }
    });
    class Poster extends Spider {
      override name = 'poster';
      override async *start() {
        yield new Request(`${base}/p307`, { method: 'POST', body: 'a=1' });
        yield new Request(`${base}/p303`, { method: 'POST', body: 'b=2' });
      }
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        yield res.json<Record<string, unknown>>();
      }
    }
    const { db } = await crawlAndRead(new Poster(), dir);
    const items = db.items.map((i) => i.data);
    expect(items).toContainEqual({ path: '/echo307', method: 'POST', body: 'a=1' });
    expect(items).toContainEqual({ path: '/echo303', method: 'GET', body: '' });
  });
});

describe('charset', () => {
  const latin1 = (text: string) => Buffer.from(text, 'latin1');

  it('decodes a page served as text/html; charset=ISO-8859-1', async () => {
    const site = new Map<string, Route>([['/latin1', { headers: { 'content-type': 'text/html; charset=ISO-8859-1' }, body: latin1('<html><body><p>café</p></body></html>') }]]);
    const { db } = await crawlPaths(await serveSite(site), ['/latin1']);
    expect(db.items.map((i) => i.data.text)).toEqual(['café']);
  });

  it('decodes by <meta charset> when the header has no charset', async () => {
    const site = new Map<string, Route>([
      ['/meta-1252', { headers: { 'content-type': 'text/html' }, body: latin1('<html><head><meta charset="windows-1252"></head><body><p>café – naïve</p></body></html>'.replace('–', '\x96')) }],
      [
        '/meta-http-equiv',
        { headers: { 'content-type': 'text/html' }, body: latin1('<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head><body><p>café</p></body></html>') },
      ],
    ]);
    const { db } = await crawlPaths(await serveSite(site), ['/meta-1252', '/meta-http-equiv']);
    expect(Object.fromEntries(db.items.map((i) => [new URL(i.url).pathname, i.data.text]))).toEqual({
      '/meta-1252': 'café – naïve',
      '/meta-http-equiv': 'café',
    });
  });

  it('decodes UTF-8 with no charset anywhere, with or without a Content-Type', async () => {
    const utf8 = Buffer.from('<html><body><p>café ✓ 日本</p></body></html>', 'utf8');
    const { db } = await crawlPaths(
      (req, res) => {
        res.writeHead(200, req.url === '/typed' ? { 'content-type': 'text/html' } : {});
        res.end(utf8);
      },
      ['/typed', '/untyped'],
    );
    expect(db.items.map((i) => i.data.text)).toEqual(['café ✓ 日本', 'café ✓ 日本']);
  });

  it('the header charset wins over a contradicting <meta>', async () => {
    const site = new Map<string, Route>([
      ['/both', { headers: { 'content-type': 'text/html; charset=utf-8' }, body: Buffer.from('<html><head><meta charset="iso-8859-1"></head><body><p>café</p></body></html>', 'utf8') }],
    ]);
    const { db } = await crawlPaths(await serveSite(site), ['/both']);
    expect(db.items.map((i) => i.data.text)).toEqual(['café']);
  });
});

/**
 * Each built-in middleware of src/middleware/ on its own (with the fetch at
 * the end of its chain), against a real HTTP server on 127.0.0.1: what the
 * server sees, and how the exchange ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLimiter } from '../src/fetch/limiter.js';
import { createRobots } from '../src/fetch/robots.js';
import { createThrottle } from '../src/fetch/throttle.js';
import { createSqliteFrontier } from '../src/frontier/sqlite.js';
import { cacheMiddleware } from '../src/middleware/cache.js';
import { Exchange, type Chain } from '../src/middleware/chain.js';
import { cookiesMiddleware } from '../src/middleware/cookies.js';
import { follow, robotsFetcher } from '../src/middleware/follow.js';
import { headersMiddleware } from '../src/middleware/headers.js';
import { politenessMiddleware } from '../src/middleware/politeness.js';
import { redirectMiddleware, REDIRECT_URLS } from '../src/middleware/redirect.js';
import { retryDelayFor, retryMiddleware } from '../src/middleware/retry.js';
import { robotsMiddleware } from '../src/middleware/robots.js';
import { scopeMiddleware } from '../src/middleware/scope.js';
import { statsMiddleware } from '../src/middleware/stats.js';
import type { AnyMiddleware } from '../src/middleware/types.js';
import { createStats } from '../src/stats.js';
import { openForCrawl } from '../src/storage/database.js';
import { responseStore } from '../src/storage/responses.js';
import { Request, type Settings } from '../src/index.js';
import { chainSettings, quiet, testChain } from './helpers/chain.js';
import { removeDir, tmpStorage } from './helpers/crawl.js';
import { sendRoute, startServer, type Handler, type TestServer } from './helpers/server.js';

const servers: TestServer[] = [];
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const s of servers.splice(0)) await s.close();
});

async function serve(handler: Handler): Promise<TestServer> {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}

function chainOf(middlewares: AnyMiddleware[], settings?: Settings) {
  const t = testChain(middlewares, settings);
  closers.push(t.close);
  return t;
}

describe('headers', () => {
  it('sends the User-Agent and the default headers; a request’s own win, and the request the exchange began with is untouched', async () => {
    const s = await serve((req, res) => sendRoute(req, res, { body: 'ok' }));
    const { run } = chainOf([headersMiddleware({ userAgent: 'testbot/2.0', headers: {}, hostHeaders: {} })]);
    const own = new Request(`${s.url}/own`, { headers: { accept: 'application/json' } });
    const ex = new Exchange({ purpose: 'crawl', settings: chainSettings(), log: quiet, request: own });
    await run(`${s.url}/plain`);
    await chainOf([headersMiddleware({ userAgent: 'testbot/2.0', headers: {}, hostHeaders: {} })]).chain.run(ex);
    expect(s.requests.map((r) => [r.path, r.headers['user-agent'], r.headers.accept, r.headers['accept-encoding']])).toEqual([
      ['/plain', 'testbot/2.0', expect.stringContaining('text/html'), 'gzip, deflate, br'],
      ['/own', 'testbot/2.0', 'application/json', 'gzip, deflate, br'],
    ]);
    expect(own.headers).toEqual({ accept: 'application/json' });
  });
});

describe('cookies', () => {
  it('keeps each Set-Cookie line (an Expires date has a comma) and sends them back to their site only', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/set') res.setHeader('set-cookie', ['a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/', 'b=2']);
      res.end(req.headers.cookie ?? '');
    });
    const { run } = chainOf([cookiesMiddleware()], chainSettings());
    await run(`${s.url}/set`);
    const back = await run(`${s.url}/next`);
    expect(back.kind === 'response' && back.res.text).toBe('a=1; b=2');
    const other = await run(`http://localhost:${s.port}/next`);
    expect(other.kind === 'response' && other.res.text).toBe('');
  });
});

describe('redirect', () => {
  it('a redirect ends the exchange with its next hop, built from the request the exchange began with', async () => {
    const s = await serve((req, res) => sendRoute(req, res, { status: req.url === '/from' ? 302 : 200, headers: { location: '/to' } }));
    const addsHeader: AnyMiddleware = { name: 'adds', request: (req: Request) => new Request(req.url, { headers: { authorization: 'secret' } }) };
    const { run } = chainOf([redirectMiddleware(), addsHeader]);
    const first = new Request(`${s.url}/from`, { method: 'POST', body: 'x', meta: { keep: 1 }, headers: { 'x-own': 'y' } });
    const result = await run(first);
    expect(result.kind).toBe('follow');
    if (result.kind !== 'follow') return;
    expect([result.req.url, result.req.method, result.req.body, result.req.headers, result.status]).toEqual([`${s.url}/to`, 'GET', undefined, { 'x-own': 'y' }, 302]);
    expect(result.req.meta).toEqual({ keep: 1, [REDIRECT_URLS]: [`${s.url}/from`] });
    expect(s.requests[0]!.headers.authorization).toBe('secret'); // sent, but not carried to the next hop
  });

  it('follows a chain to its end one hop at a time, and fails a loop as redirect:loop with the status', async () => {
    const s = await serve((req, res) => {
      const to = { '/a': '/b', '/b': '/c', '/loop': '/loop2', '/loop2': '/loop' }[req.url ?? ''];
      sendRoute(req, res, to ? { status: 301, headers: { location: to } } : { body: `at ${req.url}` });
    });
    const { chain, settings } = chainOf([redirectMiddleware()]);
    const done = await follow(chain, new Request(`${s.url}/a`), { purpose: 'parse', settings, log: quiet });
    expect([done.hops, done.result.kind === 'response' && done.result.res.text]).toEqual([2, 'at /c']);
    const loop = await follow(chain, new Request(`${s.url}/loop`), { purpose: 'parse', settings, log: quiet });
    expect(loop.result).toMatchObject({ kind: 'failed', reason: 'redirect:loop', status: 301, detail: `${s.url}/loop` });
  });
});

describe('retry', () => {
  const policy = chainSettings({ retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 5_000 } });

  it('retries a 503 after its Retry-After, and a refused connection; passes a 404 and a too-large body as they are', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/busy') return sendRoute(req, res, { status: 503, headers: { 'retry-after': '2' } });
      if (req.url === '/big') return sendRoute(req, res, { body: 'x'.repeat(5_000) });
      sendRoute(req, res, { status: 404 });
    });
    const { run } = chainOf([retryMiddleware(policy.retry)], { ...policy, maxBodyBytes: 1_000 });
    expect(await run(`${s.url}/busy`)).toEqual({ kind: 'retry', reason: 'http:503', status: 503, delayMs: 2_000 });
    expect(await run('http://127.0.0.1:1/')).toMatchObject({ kind: 'retry', reason: 'network:ECONNREFUSED', status: null, delayMs: null });
    expect(await run(`${s.url}/missing`)).toMatchObject({ kind: 'response', res: { status: 404 } });
    expect(await run(`${s.url}/big`)).toMatchObject({ kind: 'failed', reason: 'too-large', status: 200 });
  });

  it('gives each attempt its wait (the asked one capped at maxRetryAfterMs, else backoff), and none past maxAttempts', () => {
    expect(retryDelayFor(1, 2_000, policy.retry)).toBe(2_000);
    expect(retryDelayFor(2, 60_000, policy.retry)).toBe(5_000);
    expect(retryDelayFor(2, null, policy.retry)).toBeGreaterThanOrEqual(100);
    expect(retryDelayFor(2, null, policy.retry)).toBeLessThanOrEqual(200);
    expect(retryDelayFor(3, 10, policy.retry)).toBeNull();
  });
});

describe('scope', () => {
  it('skips what is out of the scope, but never a start request', async () => {
    const s = await serve((req, res) => sendRoute(req, res, { body: 'ok' }));
    const settings = chainSettings({ allowedDomains: ['example.com'], maxDepth: 2 });
    const { run } = chainOf([scopeMiddleware()], settings);
    expect((await run(`${s.url}/start`, { purpose: 'parse' })).kind).toBe('response');
    expect(await run(`${s.url}/hop`, { purpose: 'parse', redirects: 1 })).toEqual({ kind: 'skipped', reason: 'offsite' });
    expect(await run(`${s.url}/robots.txt`, { purpose: 'robots', redirects: 1 })).toEqual({ kind: 'skipped', reason: 'offsite' });
    const inScope = chainOf([scopeMiddleware()], chainSettings({ allowedDomains: ['127.0.0.1'], maxDepth: 2 }));
    expect(await inScope.run(`${s.url}/deep`, { purpose: 'parse', depth: 3 })).toEqual({ kind: 'skipped', reason: 'depth' });
    expect(s.requests.map((r) => r.path)).toEqual(['/start']);
  });

  it("a crawl's request was vetted as it was stored: only one a middleware before changed is vetted again", async () => {
    const s = await serve((req, res) => sendRoute(req, res, { body: 'ok' }));
    const settings = chainSettings({ allowedDomains: ['127.0.0.1'] });
    const elsewhere: AnyMiddleware = { name: 'elsewhere', request: (req: Request) => new Request(req.url.replace('127.0.0.1', 'localhost')) };
    expect((await chainOf([scopeMiddleware()], settings).run(`${s.url}/stored`, { depth: 1 })).kind).toBe('response');
    expect(await chainOf([elsewhere, scopeMiddleware()], settings).run(`${s.url}/changed`, { depth: 1 })).toEqual({ kind: 'skipped', reason: 'offsite' });
    expect(s.requests.map((r) => r.path)).toEqual(['/stored']);
  });
});

describe('robots', () => {
  /** A crawl's robots.txt, fetched through the same chain its middleware is in. */
  function robotsChain(settings = chainSettings({ allowedDomains: ['127.0.0.1'] })) {
    let chain: Chain | undefined;
    const robots = createRobots(robotsFetcher(() => chain!, { settings, log: quiet }), 'crawlkit-ts', () => {});
    const t = chainOf([scopeMiddleware(), robotsMiddleware(robots), redirectMiddleware()], settings);
    chain = t.chain;
    return t;
  }

  it('disallowed is not fetched; allowed is; an unreadable robots.txt retries the request until it can be read', async () => {
    const s = await serve((req, res) => sendRoute(req, res, req.url === '/robots.txt' ? { body: 'User-agent: *\nDisallow: /private' } : { body: 'ok' }));
    const { run } = robotsChain();
    expect(await run(`${s.url}/private/x`)).toEqual({ kind: 'disallowed' });
    expect((await run(`${s.url}/public`)).kind).toBe('response');
    expect(s.requests.map((r) => r.path)).toEqual(['/robots.txt', '/public']);
    const down = await serve((req, res) => sendRoute(req, res, { status: 503 }));
    const result = await run(`${down.url}/x`);
    expect(result).toMatchObject({ kind: 'retry', reason: 'robots:http:503', status: null });
    expect(result.kind === 'retry' && result.delayMs).toBeGreaterThan(25_000);
  });

  it('robots.txt follows its redirects through the chain, but never out of scope: a hop elsewhere is no rules', async () => {
    const elsewhere = await serve((req, res) => sendRoute(req, res, { body: 'User-agent: *\nDisallow: /' }));
    const s = await serve((req, res) => {
      if (req.url === '/robots.txt') return sendRoute(req, res, { status: 301, headers: { location: '/real-robots.txt' } });
      if (req.url === '/real-robots.txt') return sendRoute(req, res, { status: 302, headers: { location: `http://localhost:${elsewhere.port}/robots.txt` } });
      sendRoute(req, res, { body: 'ok' });
    });
    const { run } = robotsChain();
    expect((await run(`${s.url}/page`)).kind).toBe('response');
    expect(s.requests.map((r) => r.path)).toEqual(['/robots.txt', '/real-robots.txt', '/page']);
    expect(elsewhere.requests).toHaveLength(0);
  });
});

describe('politeness', () => {
  it('holds a host to its slots and delay, and feeds the throttle', async () => {
    const s = await serve((req, res) => void setTimeout(() => sendRoute(req, res, { status: req.url === '/busy' ? 503 : 200 }), 50));
    const settings = chainSettings({ perHost: { concurrency: 1, delayMs: 0 }, throttle: { enabled: true } });
    const limiter = createLimiter(settings);
    const delays: Record<string, number> = {};
    const throttle = createThrottle(settings.throttle, 1, (host, ms) => (delays[host] = ms));
    const stats = createStats();
    const inFlight = new Set<Exchange>();
    const { run } = chainOf([politenessMiddleware(limiter, throttle), statsMiddleware(stats, inFlight)], settings);
    await Promise.all([run(`${s.url}/a`), run(`${s.url}/b`), run(`${s.url}/busy`)]);
    const [a, b, busy] = s.requests.map((r) => r.time);
    expect(b! - a!).toBeGreaterThanOrEqual(45); // one at a time: the second starts when the first has answered
    expect(busy! - b!).toBeGreaterThanOrEqual(45);
    expect(delays).toEqual({ [`127.0.0.1:${s.port}`]: 250 }); // the 503 raised the host's delay
    expect([stats.requests, stats.responses, stats.bytes > 0, inFlight.size]).toEqual([3, { 200: 2, 503: 1 }, false, 0]);
    expect(stats.latency[`127.0.0.1:${s.port}`]?.count).toBe(3);
    await limiter.stop();
    expect(await run(`${s.url}/late`)).toEqual({ kind: 'requeue' }); // stopping: a request waiting for a slot goes back
  });
});

describe('cache', () => {
  it('stores every final response with the frontier’s next settle; a replay answers from it, and fails what it lacks as cache:miss', async () => {
    const dir = tmpStorage();
    closers.push(() => removeDir(dir));
    const db = openForCrawl(dir, 'cached');
    closers.unshift(() => db.close());
    const { responses, frontier } = responseStore(db, createSqliteFrontier(db, 1));
    const s = await serve((req, res) => sendRoute(req, res, { status: req.url === '/gone' ? 404 : 200, body: `page ${req.url}` }));
    const settings = chainSettings();
    const store = chainOf([cacheMiddleware(responses, 'store', settings.retry)], settings);
    await store.run(`${s.url}/a`);
    await store.run(`${s.url}/gone`, { readBody: (status) => status < 300 });
    frontier.settle([]);
    const replay = chainOf([cacheMiddleware(responses, 'replay', settings.retry)], settings);
    const before = s.requests.length;
    expect(await replay.run(`${s.url}/a`)).toMatchObject({ kind: 'response', res: { status: 200, text: `page /a` } });
    expect(await replay.run(`${s.url}/gone`)).toMatchObject({ kind: 'response', res: { status: 404, text: 'page /gone' } });
    expect(await replay.run(`${s.url}/never`)).toMatchObject({ kind: 'failed', reason: 'cache:miss', detail: `GET ${s.url}/never is not in the cache` });
    expect(s.requests.length).toBe(before);
  });
});

/**
 * The middleware chain itself (src/middleware/chain.ts, order.ts), against a
 * real HTTP server on 127.0.0.1: hook order, short-circuits, skips, errors
 * turned into responses, retries and re-routes, placement.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { placeMiddlewares } from '../src/middleware/order.js';
import { ConfigError, crawl, Request, Response, respond, retryRequest, Spider, type Middleware } from '../src/index.js';
import { fastSettings, removeDir, tmpStorage } from './helpers/crawl.js';
import { testChain } from './helpers/chain.js';
import { serveSite, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await server?.close();
  server = undefined;
});

async function site(pages: Record<string, string> = { '/a': 'page a', '/b': 'page b' }) {
  server = await serveSite(new Map(Object.entries(pages)));
  return server;
}

function chainOf(middlewares: Middleware[]) {
  const t = testChain(middlewares);
  closers.push(t.close);
  return t;
}

/** A middleware that notes each of its hooks as it runs. */
const noting = (name: string, seen: string[]): Middleware => ({
  name,
  request: (req) => (seen.push(`${name}.request`), req),
  response: (res) => (seen.push(`${name}.response`), res),
  error: (err) => void seen.push(`${name}.error ${err.message.slice(0, 20)}`),
});

describe('the chain', () => {
  it('runs request hooks in order and response hooks in reverse, around one fetch', async () => {
    const s = await site();
    const seen: string[] = [];
    const { run } = chainOf([noting('a', seen), noting('b', seen), noting('c', seen)]);
    const result = await run(`${s.url}/a`);
    expect(result.kind).toBe('response');
    expect(result.kind === 'response' && result.res.text).toBe('page a');
    expect(seen).toEqual(['a.request', 'b.request', 'c.request', 'c.response', 'b.response', 'a.response']);
    expect(s.hits.get('/a')).toBe(1);
  });

  it('a Response from a request hook answers without a fetch; only the middlewares before it see it', async () => {
    const s = await site();
    const seen: string[] = [];
    const cache: Middleware = { name: 'stub', request: (req) => respond(req, { body: 'from the stub', headers: { 'x-stub': '1' } }) };
    const { run } = chainOf([noting('a', seen), cache, noting('c', seen)]);
    const result = await run(`${s.url}/a`);
    expect(result.kind === 'response' && [result.res.status, result.res.text, result.res.headers['x-stub']]).toEqual([200, 'from the stub', '1']);
    expect(seen).toEqual(['a.request', 'a.response']);
    expect(s.hits.get('/a')).toBeUndefined();
  });

  it('new Response({ url, status, body }) is enough to answer a request', async () => {
    const s = await site();
    const { run } = chainOf([{ name: 'plain', request: (req) => new Response({ url: req.url, status: 203, body: 'made here' }) }]);
    const result = await run(`${s.url}/a`);
    expect(result.kind === 'response' && [result.res.status, result.res.text, result.res.request.url]).toEqual([203, 'made here', `${s.url}/a`]);
    expect(s.requests).toHaveLength(0);
  });

  it('null from a request hook skips the request, with the middleware as the reason, and nothing after it runs', async () => {
    const s = await site();
    const seen: string[] = [];
    const { run } = chainOf([noting('a', seen), { name: 'no-b', request: (req) => (req.url.endsWith('/b') ? null : req) }, noting('c', seen)]);
    expect(await run(`${s.url}/b`)).toEqual({ kind: 'skipped', reason: 'no-b' });
    expect(seen).toEqual(['a.request']);
    expect((await run(`${s.url}/a`)).kind).toBe('response');
    expect(s.hits.get('/b')).toBeUndefined();
  });

  it('a changed request is what the network gets', async () => {
    const s = await site();
    const { run } = chainOf([{ name: 'to-b', request: (req) => new Request(req.url.replace(/\/a$/, '/b'), { headers: { 'x-moved': 'yes' } }) }]);
    const result = await run(`${s.url}/a`);
    expect(result.kind === 'response' && result.res.text).toBe('page b');
    expect(s.requests.map((r) => [r.path, r.headers['x-moved']])).toEqual([['/b', 'yes']]);
  });

  it('an error hook turns a fetch failure into a response; the hooks before it see the response', async () => {
    const seen: string[] = [];
    const rescue: Middleware = { name: 'rescue', error: (err, req) => respond(req, { status: 299, body: `rescued from ${(err as { reason?: string }).reason}` }) };
    const { run } = chainOf([noting('a', seen), rescue, noting('c', seen)]);
    const result = await run('http://127.0.0.1:1/nothing-listens-here');
    expect(result.kind === 'response' && [result.res.status, result.res.text]).toEqual([299, 'rescued from network:ECONNREFUSED']);
    expect(seen).toEqual(['a.request', 'c.request', 'c.error connect ECONNREFUSED', 'a.response']);
  });

  it('an error no hook handles fails the request with the fetch reason', async () => {
    const { run } = chainOf([]);
    const result = await run('http://127.0.0.1:1/x');
    expect(result).toMatchObject({ kind: 'failed', reason: 'network:ECONNREFUSED', status: null });
  });

  it('a hook that throws fails the request with its name as the reason; only the middlewares before it hear of it', async () => {
    const s = await site();
    const seen: string[] = [];
    const { run } = chainOf([noting('a', seen), { name: 'broken', request: () => { throw new Error('boom'); } }, noting('c', seen)]);
    const result = await run(`${s.url}/a`);
    expect(result).toMatchObject({ kind: 'failed', reason: 'broken', status: null });
    expect(result.kind === 'failed' && result.detail).toMatch(/^Error: boom/);
    expect(seen).toEqual(['a.request', 'a.error boom']);
    expect(s.requests).toHaveLength(0);
  });

  it('a hook that returns nothing usable fails the request, saying what it returned', async () => {
    const s = await site();
    const { run } = chainOf([{ name: 'forgetful', response: () => undefined as unknown as Response }]);
    const result = await run(`${s.url}/a`);
    expect(result).toMatchObject({ kind: 'failed', reason: 'forgetful' });
    expect(result.kind === 'failed' && result.error.message).toBe("middleware 'forgetful': response() returned nothing; expected a Response or a Request");
  });

  it('the same request from a response hook is a retry; another is a new request to follow', async () => {
    const s = await site();
    const again: Middleware = { name: 'again', response: (res, req) => (res.text === 'page a' ? req : res) };
    const { run } = chainOf([{ name: 'elsewhere', response: (res) => (res.text === 'page b' ? new Request(res.url.replace(/b$/, 'c')) : res) }, again]);
    expect(await run(`${s.url}/a`)).toEqual({ kind: 'retry', reason: 'again', status: 200, delayMs: null });
    const followed = await run(`${s.url}/b`);
    expect(followed.kind === 'follow' && [followed.req.url, followed.by]).toEqual([`${s.url}/c`, 'elsewhere']);
  });

  it('retryRequest gives the retry its reason and delay, from any hook', async () => {
    const s = await site();
    const { run } = chainOf([{ name: 'ban', response: (res, req) => (res.text.includes('page') ? retryRequest(req, { reason: 'banned', delayMs: 1234 }) : res) }]);
    expect(await run(`${s.url}/a`)).toEqual({ kind: 'retry', reason: 'banned', status: 200, delayMs: 1234 });
    const early = chainOf([{ name: 'later', request: (req) => retryRequest(req) }]);
    expect(await early.run(`${s.url}/a`)).toEqual({ kind: 'retry', reason: 'later', status: null, delayMs: null });
    expect(s.hits.get('/a')).toBe(1);
  });

  it('async hooks are awaited, and the context tells the purpose, attempt and depth', async () => {
    const s = await site();
    const told: unknown[] = [];
    const { run } = chainOf([
      {
        name: 'slow',
        async request(req, ctx) {
          await new Promise((r) => setTimeout(r, 5));
          told.push([ctx.purpose, ctx.attempt, ctx.depth, ctx.request.url]);
          return req;
        },
        async response(res, _req, ctx) {
          told.push(ctx.sentAt >= 0);
          return res;
        },
      },
    ]);
    expect((await run(`${s.url}/a`, { attempt: 3, depth: 2 })).kind).toBe('response');
    expect(told).toEqual([['crawl', 3, 2, `${s.url}/a`], true]);
  });
});

describe('placement', () => {
  const builtin = (name: string) => ({ name, about: name, purposes: ['crawl'] as const, request: (r: Request) => r });
  const builtins = ['scope', 'robots', 'headers', 'retry', 'cache'].map(builtin);
  const names = (list: { name: string }[]) => list.map((m) => m.name);
  const mw = (name: string, place: Partial<Middleware> = {}): Middleware => ({ name, request: (r) => r, ...place });

  it('puts middlewares after headers by default, in the order given, and before or after the one they name', () => {
    expect(names(placeMiddlewares(builtins, [mw('a'), mw('b')]))).toEqual(['scope', 'robots', 'headers', 'a', 'b', 'retry', 'cache']);
    expect(names(placeMiddlewares(builtins, [mw('first', { before: 'scope' }), mw('last', { after: 'cache' }), mw('mine')]))).toEqual([
      'first', 'scope', 'robots', 'headers', 'mine', 'retry', 'cache', 'last',
    ]);
    expect(names(placeMiddlewares(builtins, [mw('a', { after: 'headers' }), mw('b'), mw('c', { before: 'b' })]))).toEqual([
      'scope', 'robots', 'headers', 'a', 'c', 'b', 'retry', 'cache',
    ]);
  });

  it('refuses a name used twice, a place naming no middleware, both places, and objects that are no middleware', () => {
    expect(() => placeMiddlewares(builtins, [mw('retry')])).toThrow(/two middlewares are named 'retry'/);
    expect(() => placeMiddlewares(builtins, [mw('x', { before: 'nope' })])).toThrow(/middleware 'x': no middleware named 'nope' to go before \(the chain: scope, robots, headers, retry, cache\)/);
    expect(() => placeMiddlewares(builtins, [mw('x', { before: 'scope', after: 'cache' })])).toThrow(/give before or after, not both/);
    expect(() => placeMiddlewares(builtins, [{ request: () => null }])).toThrow(/middlewares\[0\] has no name/);
    expect(() => placeMiddlewares(builtins, [{ name: 'idle' }])).toThrow(/middleware 'idle' has no hook/);
    expect(() => placeMiddlewares(builtins, [{ name: 'odd', request: 'yes' }])).toThrow(ConfigError);
    expect(() => placeMiddlewares(builtins, [42])).toThrow(/middlewares\[0\] is not a middleware/);
  });
});

describe('crawl() with middlewares', () => {
  it("runs the options' middlewares after the spider's, and refuses a bad one before anything is opened", async () => {
    const s = await site({ '/a': '<a href="/b">b</a>', '/b': 'page b' });
    const dir = tmpStorage();
    closers.push(async () => removeDir(dir));
    const order: string[] = [];
    class Two extends Spider {
      override name = 'two';
      override startUrls = [`${s.url}/a`];
      override middlewares: Middleware[] = [{ name: 'spider-own', request: (req) => (order.push(`spider ${new URL(req.url).pathname}`), req) }];
      override async *parse(res: Response) {
        yield { path: new URL(res.url).pathname };
        yield* res.followAll('a');
      }
    }
    const extra: Middleware = { name: 'from-options', request: (req) => (order.push(`options ${new URL(req.url).pathname}`), new URL(req.url).pathname === '/b' ? null : req) };
    const summary = await crawl(new Two(), { settings: fastSettings(dir), middlewares: [extra] }).run();
    expect(order).toEqual(['spider /a', 'options /a', 'spider /b', 'options /b']);
    expect([summary.stats.pages, summary.stats.skipped]).toEqual([1, { 'from-options': 1 }]);
    expect(() => crawl(new Two(), { settings: fastSettings(dir), middlewares: [{ name: 'spider-own', request: (r) => r }] })).toThrow(/two middlewares are named 'spider-own'/);
    expect(s.hits.get('/b')).toBeUndefined();
  });
});

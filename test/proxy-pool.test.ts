/**
 * The proxy pool's rotation and bench, on its own (a clock of the test's)
 * and in a chain over the real fetcher and a real forward proxy: sticky
 * sessions, bans reported by the sessions middleware, and requests waiting
 * while every proxy is benched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exchange } from '../src/middleware/chain.js';
import { proxiesMiddleware } from '../src/middleware/proxies.js';
import type { Middleware } from '../src/middleware/types.js';
import { proxyEndpoints } from '../src/proxy/list.js';
import { BAN_WINDOW_MS, createProxyPool, type ProxyPoolOptions } from '../src/proxy/pool.js';
import { parseSettingValue } from '../src/settings.js';
import { chainSettings, testChain } from './helpers/chain.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { startServer, type TestServer } from './helpers/server.js';

const endpoints = (n: number) => proxyEndpoints({ proxy: '', proxies: Array.from({ length: n }, (_, i) => `http://u:pw@127.0.0.1:${9001 + i}`) });

function poolAt(n: number, options: Partial<ProxyPoolOptions> = {}) {
  const clock = { t: 1_000_000 };
  const benchings: string[] = [];
  const pool = createProxyPool(endpoints(n), {
    proxyRotation: 'request',
    proxyBenchMs: 100,
    proxyBanLimit: 3,
    now: () => clock.t,
    onBench: (p, ms, why) => benchings.push(`${p.id} ${ms} ${why}`),
    ...options,
  });
  return { pool, clock, benchings, ids: pool.proxies.map((p) => p.id) };
}

describe('the proxy pool', () => {
  it('labels proxies without their passwords, telling apart two with the same label', () => {
    const list = proxyEndpoints({ proxy: 'http://u:pw@h:1', proxies: ['http://u:other@h:1', 'https://k@h2'] });
    expect(list.map((p) => p.id)).toEqual(['http://u:***@h:1', 'http://u:***@h:1#2', 'https://***@h2:443']);
  });

  it('rotates per request, skipping a benched proxy until its time is up, and backs off for repeat offenders', () => {
    const { pool, clock, benchings, ids } = poolAt(3);
    expect([1, 2, 3, 4].map(() => pool.pick(undefined).proxy!.id)).toEqual([ids[0], ids[1], ids[2], ids[0]]);
    expect(pool.bench(ids[1]!, 'proxy:connect')).toBe(100);
    expect(pool.bench(ids[1]!, 'proxy:closed')).toBe(0); // the same outage: requests in flight failing together
    expect([1, 2, 3].map(() => pool.pick(undefined).proxy!.id)).toEqual([ids[2], ids[0], ids[2]]);
    clock.t += 100;
    expect(pool.isBenched(ids[1]!)).toBe(false);
    expect(pool.bench(ids[1]!, 'proxy:connect')).toBe(200);
    clock.t += 200;
    expect(pool.bench(ids[1]!, 'proxy:connect')).toBe(400);
    clock.t += 400;
    pool.noteSuccess(ids[1]!);
    expect(pool.bench(ids[1]!, 'proxy:auth')).toBe(100);
    expect(benchings).toEqual([`${ids[1]} 100 proxy:connect`, `${ids[1]} 200 proxy:connect`, `${ids[1]} 400 proxy:connect`, `${ids[1]} 100 proxy:auth`]);
  });

  it('keeps a session on its proxy, and moves it when that proxy is benched', () => {
    const { pool, ids } = poolAt(3, { proxyRotation: 'session' });
    const a = pool.pick('a').proxy!.id;
    const b = pool.pick('b').proxy!.id;
    expect(a).not.toBe(b);
    expect([1, 2, 3].map(() => pool.pick('a').proxy!.id)).toEqual([a, a, a]);
    expect(pool.pick(undefined).proxy!.id).not.toBe(undefined); // no session: one session of its own
    pool.bench(a, 'proxy:closed');
    const moved = pool.pick('a').proxy!.id;
    expect(moved).not.toBe(a);
    expect(pool.pick('a').proxy!.id).toBe(moved);
    expect(pool.pick('b').proxy!.id).toBe(b);
    expect(ids).toContain(moved);
  });

  it('benches a proxy after proxyBanLimit bans within the window, not after bans spread wider', () => {
    const { pool, clock, ids } = poolAt(2, { proxyBanLimit: 2 });
    expect(pool.noteBan(ids[0]!)).toBe(false);
    clock.t += BAN_WINDOW_MS;
    expect(pool.noteBan(ids[0]!)).toBe(false); // the first one is out of the window
    expect(pool.noteBan(ids[0]!)).toBe(true);
    expect(pool.isBenched(ids[0]!)).toBe(true);
    expect(pool.noteBan('http://nobody:1')).toBe(false);
    const never = poolAt(1, { proxyBanLimit: 0 });
    for (let i = 0; i < 5; i++) expect(never.pool.noteBan(never.ids[0]!)).toBe(false);
  });

  it('says how long until the first benched proxy is back, when all are', () => {
    const { pool, clock, ids } = poolAt(2);
    pool.bench(ids[0]!, 'proxy:connect');
    clock.t += 30;
    pool.bench(ids[1]!, 'proxy:connect');
    expect(pool.pick(undefined)).toEqual({ waitMs: 70 });
  });

  it('refuses a socks5 proxy, which is another protocol', () => {
    expect(() => parseSettingValue('proxies', 'socks5://127.0.0.1:1080')).toThrow(/has scheme socks5, not http or https/);
  });
});

describe('the proxies middleware', () => {
  let site: TestServer;
  let proxies: TestProxy[];
  beforeAll(async () => {
    site = await startServer((req, res) => void res.end(String(req.headers.via)));
    proxies = [await startProxy(), await startProxy(), await startProxy()];
  });
  afterAll(async () => Promise.all([site.close(), ...proxies.map((p) => p.close())]));

  const settingsWith = (extra: Record<string, unknown>) => chainSettings({ proxies: proxies.map((p) => p.url), ...extra });
  const poolOf = (settings: ReturnType<typeof chainSettings>) => createProxyPool(proxyEndpoints(settings), settings);
  /** A stand-in for the sessions middleware: the session is the request's `s` query parameter. */
  const sessions: Middleware = {
    name: 'test-sessions',
    request(req, ctx) {
      (ctx as Exchange).session = { id: new URL(req.url).searchParams.get('s')!, jar: null };
      return req;
    },
  };

  it('with proxyRotation=session, each session goes through its own proxy', async () => {
    const settings = settingsWith({ proxyRotation: 'session' });
    const t = testChain([sessions, proxiesMiddleware(poolOf(settings))], settings);
    try {
      const via = new Map<string, Set<string>>();
      for (const s of ['a', 'b', 'a', 'b', 'a', 'b']) {
        const r = await t.run(`${site.url}/?s=${s}`);
        if (r.kind !== 'response') throw new Error(r.kind);
        via.set(s, (via.get(s) ?? new Set()).add(r.res.text));
      }
      expect([...via.values()].map((v) => v.size)).toEqual([1, 1]);
      expect(via.get('a')).not.toEqual(via.get('b'));
    } finally {
      await t.close();
    }
  });

  it('a one-off fetch (robots.txt) that fails through a proxy is tried through the next at once, not given up on', async () => {
    const dropping = await startProxy({ drop: true });
    proxies.push(dropping);
    const settings = settingsWith({ proxies: [dropping.url, proxies[0]!.url] });
    const pool = poolOf(settings);
    const t = testChain([proxiesMiddleware(pool)], settings);
    try {
      const r = await t.run(`${site.url}/robots.txt`, { purpose: 'robots' });
      expect(r.kind === 'response' && r.res.text).toBe(`1.1 test-proxy-${proxies[0]!.port}`);
      expect(dropping.total).toBe(1);
      expect(pool.isBenched(pool.proxies[0]!.id)).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('sends a proxy URL\'s user name alone (a proxy service\'s key) as its credentials', async () => {
    const keyed = await startProxy({ auth: 'Zq7key:' });
    proxies.push(keyed);
    const settings = settingsWith({ proxies: [keyed.urlWith('Zq7key')] });
    const t = testChain([proxiesMiddleware(poolOf(settings))], settings);
    try {
      const r = await t.run(`${site.url}/keyed`);
      expect(r.kind === 'response' && r.res.text).toBe(`1.1 test-proxy-${keyed.port}`);
      expect(keyed.refused).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('waits for a benched proxy to come back, or fails as proxy:none when that is past the request deadline', async () => {
    const settings = settingsWith({ proxies: [proxies[0]!.url], proxyBenchMs: 300 });
    const pool = poolOf(settings);
    const t = testChain([proxiesMiddleware(pool)], settings);
    try {
      pool.bench(pool.proxies[0]!.id, 'proxy:connect');
      const started = Date.now();
      const r = await t.run(`${site.url}/wait`);
      expect(r.kind).toBe('response');
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      pool.noteSuccess(pool.proxies[0]!.id);
      const long = poolOf(settingsWith({ proxies: [proxies[0]!.url], proxyBenchMs: 60_000 }));
      long.bench(long.proxies[0]!.id, 'proxy:connect');
      const t2 = testChain([proxiesMiddleware(long)], settings);
      const none = await t2.run(`${site.url}/none`).finally(() => t2.close());
      expect(none).toMatchObject({ kind: 'failed', reason: 'proxy:none' });
      expect(site.hits.get('/none')).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

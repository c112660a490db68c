/**
 * The Redis frontier against a real redis-server: dedupe, order, leases
 * between workers, exactly-once items, and the same answers as the SQLite
 * frontier for the same sequence of calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Frontier } from '../src/frontier/frontier.js';
import { createRedisFrontier, type RedisFrontier } from '../src/cluster/frontier.js';
import { clusterKeys } from '../src/cluster/keys.js';
import { createSqliteFrontier } from '../src/frontier/sqlite.js';
import { settleSteps } from '../src/frontier/steps.js';
import { openForCrawl } from '../src/storage/database.js';
import { doneOutcome, newRequest } from './helpers/frontier.js';
import { hasRedis, startRedis, type TestRedis } from './helpers/redis.js';

const done = doneOutcome;

describe.skipIf(!hasRedis)('Redis frontier (skipped: needs redis-server on the PATH)', () => {
  let server: TestRedis;
  const clients: Redis[] = [];
  const frontiers: RedisFrontier[] = [];
  let spiderSeq = 0;
  let spider = '';

  /** A worker: its own client and frontier on the current test's spider. */
  const worker = (workerId: string, leaseMs?: number) => {
    const client = new Redis(server.url);
    clients.push(client);
    const f = createRedisFrontier(client, { spider, runId: 7, workerId, leaseMs });
    frontiers.push(f);
    return f;
  };
  let admin: Redis;
  const keys = () => clusterKeys(spider);

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  afterEach(async () => {
    for (const f of frontiers.splice(0)) await f.close();
    for (const c of clients.splice(0)) c.disconnect();
    spider = `s${++spiderSeq}`;
  });
  spider = `s${++spiderSeq}`;

  it('adds each fingerprint once and counts what is queued', async () => {
    const f = worker('w1');
    expect(await f.add([newRequest('https://a.test/1'), newRequest('https://a.test/2'), newRequest('https://a.test/1')])).toBe(2);
    expect(await f.add([newRequest('https://a.test/2'), newRequest('https://a.test/3')])).toBe(1);
    // Out of scope: recorded (its fingerprint dedupes later links) and counted, never queued.
    expect(await f.add([newRequest('https://b.test/x', { skipped: 'offsite' })])).toBe(1);
    expect(await f.add([newRequest('https://b.test/x')])).toBe(0);
    expect(await f.counts()).toEqual({ queued: 3, inFlight: 0, done: 0, failed: 0, disallowed: 0, skipped: 1 });
    expect(await admin.scard(keys().frontier[8]!)).toBe(4);
  });

  it('pops highest priority first, then oldest, with every stored field back', async () => {
    const f = worker('w1');
    await f.add([
      newRequest('https://a.test/low', { priority: -1 }),
      newRequest('https://a.test/high1', { priority: 5, method: 'POST', body: 'q=1', headers: '{"x-a":"1"}', meta: JSON.stringify({ n: 0.1 + 0.2, big: 1e15 + 1 }), callback: 'item', depth: 3, redirects: 1, parentId: 9 }),
      newRequest('https://a.test/mid', { priority: 1 }),
      newRequest('https://a.test/high2', { priority: 5, headers: null, meta: null }),
    ]);
    const got = await f.pop(10, Date.now(), []);
    expect(got.map((r) => r.url)).toEqual(['https://a.test/high1', 'https://a.test/high2', 'https://a.test/mid', 'https://a.test/low']);
    expect(got[0]).toEqual({
      id: 2,
      url: 'https://a.test/high1',
      method: 'POST',
      headers: { 'x-a': '1' },
      body: 'q=1',
      callback: 'item',
      meta: { n: 0.1 + 0.2, big: 1e15 + 1 },
      depth: 3,
      priority: 5,
      redirects: 1,
      host: 'a.test',
      attempts: 1,
    });
    // No headers and meta come back as null, as from SQLite.
    expect(got[1]).toMatchObject({ headers: null, meta: null });
    expect(await f.counts()).toMatchObject({ queued: 0, inFlight: 4 });
    expect(await f.pop(10, Date.now(), [])).toEqual([]);
  });

  it('skips requests of busy hosts and leaves them queued', async () => {
    const f = worker('w1');
    // More busy requests ahead than one look at the queue takes: the free ones behind them are still found.
    await f.add(Array.from({ length: 300 }, (_, i) => newRequest(`https://busy.test/${i}`, { priority: 9 })));
    await f.add([newRequest('https://free.test/1'), newRequest('https://other.test/1')]);
    const got = await f.pop(1, Date.now(), ['busy.test']);
    expect(got.map((r) => r.url)).toEqual(['https://free.test/1']);
    expect((await f.pop(10, Date.now(), ['busy.test', 'other.test'])).length).toBe(0);
    expect((await f.pop(3, Date.now(), [])).map((r) => r.url)).toEqual(['https://busy.test/0', 'https://busy.test/1', 'https://busy.test/2']);
    expect((await f.pop(500, Date.now(), ['busy.test'])).map((r) => r.url)).toEqual(['https://other.test/1']);
    expect(await f.counts()).toMatchObject({ queued: 297, inFlight: 5 });
  });

  it('stores items and invalid items in streams, adds follow-ups once, and forgets done requests', async () => {
    const f = worker('w1');
    await f.add([newRequest('https://a.test/1'), newRequest('https://a.test/2')]);
    const [r1, r2] = await f.pop(2, Date.now(), []);
    const follow = (n: number) => newRequest(`https://a.test/f${n}`, { parentId: r1!.id, depth: 1 });
    const result = await f.settle([
      {
        ...done(r1!.id, ['{"title":"one"}', '{"title":"two"}'], [follow(1), follow(2), newRequest('https://a.test/2'), newRequest('https://x.test/', { skipped: 'offsite' })]),
        invalid: [{ data: '{"title":null}', issues: [{ path: 'title', message: 'Expected string' }] }],
      },
      done(r2!.id, [], [follow(1), follow(3)]),
    ]);
    expect(result).toEqual({ items: 2, invalid: 1, queued: 3, skipped: { offsite: 1 }, duplicates: 2, stale: 0 });

    const items = await admin.xrange(keys().items, '-', '+');
    expect(items.map(([, fields]) => fields.slice(0, 8))).toEqual([
      ['run', '7', 'request', String(r1!.id), 'url', 'https://a.test/1', 'data', '{"title":"one"}'],
      ['run', '7', 'request', String(r1!.id), 'url', 'https://a.test/1', 'data', '{"title":"two"}'],
    ]);
    expect(Math.abs(Number(items[0]![1][9]) - Date.now())).toBeLessThan(5_000);
    const invalid = await admin.xrange(keys().invalid, '-', '+');
    expect(invalid[0]![1].slice(0, 10)).toEqual(['run', '7', 'request', String(r1!.id), 'url', 'https://a.test/1', 'data', '{"title":null}', 'errors', '[{"path":"title","message":"Expected string"}]']);

    const next = await f.pop(10, Date.now(), []);
    expect(next.map((r) => [r.url, r.depth])).toEqual([['https://a.test/f1', 1], ['https://a.test/f2', 1], ['https://a.test/f3', 1]]);
    expect(await f.counts()).toEqual({ queued: 0, inFlight: 3, done: 2, failed: 0, disallowed: 0, skipped: 1 });
    // Done requests keep only their fingerprint: no data left behind.
    expect(await admin.hexists(keys().frontier[4]!, String(r1!.id))).toBe(0);
    expect(await admin.hlen(keys().frontier[4]!)).toBe(3);
  });

  it('holds a retry until its delay has passed, then gives it with the next attempt', async () => {
    const f = worker('w1');
    await f.add([newRequest('https://a.test/1')]);
    const [r] = await f.pop(1, Date.now(), []);
    const before = Date.now();
    expect(await f.settle([{ kind: 'retry', id: r!.id, status: 503, reason: 'http:503', readyAt: before + 400 }])).toMatchObject({ queued: 1 });
    expect(await f.counts()).toMatchObject({ queued: 1, inFlight: 0 });
    expect(await f.pop(1, Date.now(), [])).toEqual([]);
    const at = await f.nextReadyAt();
    expect(at).toBeGreaterThanOrEqual(before + 250);
    expect(at).toBeLessThanOrEqual(Date.now() + 450);
    await sleep(Math.max(0, at! - Date.now()) + 30);
    const again = await f.pop(1, Date.now(), []);
    expect(again.map((q) => [q.id, q.attempts])).toEqual([[r!.id, 2]]);
  });

  it('records failures for inspection, and requeues without counting the attempt', async () => {
    const f = worker('w1');
    await f.add([newRequest('https://a.test/1'), newRequest('https://a.test/2'), newRequest('https://a.test/3')]);
    const [a, b, c] = await f.pop(3, Date.now(), []);
    const result = await f.settle([
      { kind: 'failed', id: a!.id, status: 404, reason: 'http:404' },
      { kind: 'disallowed', id: b!.id, reason: 'robots.txt' },
      { kind: 'requeue', id: c!.id },
    ]);
    expect(result).toMatchObject({ queued: 1, stale: 0 });
    expect(await f.counts()).toEqual({ queued: 1, inFlight: 0, done: 0, failed: 1, disallowed: 1, skipped: 0 });
    const failures = await admin.hgetall(keys().failures);
    expect(JSON.parse(failures[String(a!.id)]!)).toEqual({ state: 'failed', url: 'https://a.test/1', status: 404, reason: 'http:404' });
    expect(JSON.parse(failures[String(b!.id)]!)).toEqual({ state: 'disallowed', url: 'https://a.test/2', status: null, reason: 'robots.txt' });
    expect((await f.pop(1, Date.now(), [])).map((q) => [q.id, q.attempts])).toEqual([[c!.id, 1]]);
  });

  it('clear forgets the whole frontier of its spider only, keeping stored items', async () => {
    const f = worker('w1');
    await f.add([newRequest('https://a.test/1'), newRequest('https://a.test/2')]);
    const [r] = await f.pop(1, Date.now(), []);
    await f.settle([done(r!.id, ['{"a":1}'])]);
    const otherSpider = spider;
    spider = `${otherSpider}-other`;
    const other = worker('w1');
    await other.add([newRequest('https://a.test/1')]);
    spider = otherSpider;

    await f.clear();
    expect(await f.counts()).toEqual({ queued: 0, inFlight: 0, done: 0, failed: 0, disallowed: 0, skipped: 0 });
    expect(await admin.exists(...keys().frontier)).toBe(0);
    expect(await admin.xlen(keys().items)).toBe(1);
    expect(await f.nextReadyAt()).toBeNull();
    expect(await f.add([newRequest('https://a.test/1')])).toBe(1);
    expect(await other.counts()).toMatchObject({ queued: 1 });
  });

  it('gives two workers disjoint requests', async () => {
    const w1 = worker('w1');
    const w2 = worker('w2');
    await w1.add(Array.from({ length: 200 }, (_, i) => newRequest(`https://a.test/${i}`)));
    const taken: number[][] = [[], []];
    await Promise.all(
      [w1, w2].map(async (w, k) => {
        for (;;) {
          const batch = await w.pop(7, Date.now(), []);
          if (batch.length === 0) return;
          taken[k]!.push(...batch.map((r) => r.id));
        }
      }),
    );
    expect(taken[0]!.length).toBeGreaterThan(0);
    expect(taken[1]!.length).toBeGreaterThan(0);
    expect(new Set([...taken[0]!, ...taken[1]!]).size).toBe(200);
    expect(taken[0]!.length + taken[1]!.length).toBe(200);
    // Each can settle only its own.
    expect(await w1.settle(taken[1]!.slice(0, 3).map((id) => done(id, ['{}'])))).toMatchObject({ items: 0, stale: 3 });
    expect(await w2.settle(taken[1]!.slice(0, 3).map((id) => done(id, ['{}'])))).toMatchObject({ items: 3, stale: 0 });
  });

  it('reclaims an expired lease for another worker and discards the late settle: items stored once', async () => {
    const slow = worker('slow', 150);
    const live = worker('live', 5_000);
    await slow.add([newRequest('https://a.test/1'), newRequest('https://a.test/2')]);
    const [r] = await slow.pop(1, Date.now(), []);
    await slow.close(); // a paused worker: no heartbeat
    expect(await live.requeueInFlight()).toBe(0); // not expired yet: a live lease is never taken
    await sleep(250);
    expect(await live.nextReadyAt()).toBeLessThanOrEqual(Date.now());
    const got = await live.pop(10, Date.now(), []);
    // Reclaimed with its attempt uncounted, so this is attempt 1 again.
    expect(got.map((q) => [q.id, q.attempts])).toEqual([[r!.id, 1], [r!.id + 1, 1]]);
    expect(await live.settle([done(r!.id, ['{"v":"live"}'], [newRequest('https://a.test/from-live')])])).toMatchObject({ items: 1, queued: 1, stale: 0 });
    expect(await slow.settle([done(r!.id, ['{"v":"slow"}'], [newRequest('https://a.test/from-slow')])])).toEqual({ items: 0, invalid: 0, queued: 0, skipped: {}, duplicates: 0, stale: 1 });
    const items = await admin.xrange(keys().items, '-', '+');
    expect(items.map(([, fields]) => fields[7])).toEqual(['{"v":"live"}']);
    expect(await live.counts()).toEqual({ queued: 1, inFlight: 1, done: 1, failed: 0, disallowed: 0, skipped: 0 });
    expect((await live.pop(10, Date.now(), [])).map((q) => q.url)).toEqual(['https://a.test/from-live']);
  });

  it('requeueInFlight returns expired leases only', async () => {
    const gone = worker('gone', 150);
    const other = worker('other', 5_000);
    await gone.add([newRequest('https://a.test/1'), newRequest('https://a.test/2')]);
    await gone.pop(1, Date.now(), []);
    await gone.close();
    await other.pop(1, Date.now(), []); // a lease still running
    await sleep(300);
    expect(await other.requeueInFlight()).toBe(1);
    expect(await other.counts()).toMatchObject({ queued: 1, inFlight: 1 });
  });

  it('keeps a slow request leased while its worker beats, and the cluster is finished only when all is empty', async () => {
    const slow = worker('slow', 300);
    const idle = worker('idle', 300);
    expect(await idle.nextReadyAt()).toBeNull();
    await slow.add([newRequest('https://a.test/1')]);
    expect(await idle.nextReadyAt()).toBeLessThanOrEqual(Date.now() + 5);
    const [r] = await slow.pop(1, Date.now(), []);
    await sleep(1_000); // over three lease times
    expect(await idle.pop(10, Date.now(), [])).toEqual([]);
    expect(await idle.requeueInFlight()).toBe(0);
    // Another worker's lease may still bring follow-ups: poll soon, do not end.
    const at = await idle.nextReadyAt();
    expect(at).not.toBeNull();
    expect(at!).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(await slow.settle([done(r!.id, ['{"ok":true}'])])).toMatchObject({ items: 1, stale: 0 });
    expect(await idle.nextReadyAt()).toBeNull();
    expect(await admin.xlen(keys().items)).toBe(1);
  });

  it('settles a page with tens of thousands of items and follow-ups in one call', async () => {
    const f = worker('w1');
    await f.add([newRequest('https://a.test/'), ...Array.from({ length: 2_500 }, (_, i) => newRequest(`https://a.test/${i * 2}`))]);
    const [r] = await f.pop(1, Date.now(), []);
    const items = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ i }));
    const links = Array.from({ length: 5_000 }, (_, i) => newRequest(`https://a.test/${i}`));
    expect(await f.settle([done(r!.id, items, links)])).toMatchObject({ items: 30_000, queued: 2_500, duplicates: 2_500 });
    expect(await admin.xlen(keys().items)).toBe(30_000);
    // Large pops, with and without busy hosts to look past.
    expect((await f.pop(3_000, Date.now(), ['other.test'])).length).toBe(3_000);
    expect((await f.pop(6_000, Date.now(), [])).length).toBe(2_000);
  });

  it('a page settled in steps keeps its lease until its done step; a kill between steps stores nothing twice', async () => {
    const first = worker('first', 300);
    await first.add([newRequest('https://a.test/hub')]);
    const [hub] = await first.pop(1, Date.now(), []);
    const outcome = done(hub!.id, ['{"hub":1}'], Array.from({ length: 1_200 }, (_, i) => newRequest(`https://a.test/p/${i}`)), hub!.url);
    const steps = [...settleSteps([outcome], 500)];
    expect(steps.map((s) => s.map((o) => o.kind))).toEqual([['links'], ['links'], ['done']]);
    expect(await first.settle(steps[0]!)).toEqual({ items: 0, invalid: 0, queued: 500, skipped: {}, duplicates: 0, stale: 0 });
    await sleep(700); // two lease times: the heartbeat still renews the hub's lease, its done step not being settled yet
    expect(await first.requeueInFlight()).toBe(0);
    // Killed before its second step (no heartbeat any more): the lease expires and another worker takes the hub over.
    await first.close();
    const second = worker('second', 5_000);
    await sleep(400);
    const again = await second.pop(1, Date.now(), []);
    expect(again.map((q) => q.id)).toEqual([hub!.id]);
    // The first worker's late steps are discarded; a links step is not counted stale, its page's done step is.
    expect(await first.settle(steps[1]!)).toMatchObject({ queued: 0, stale: 0 });
    expect(await first.settle(steps[2]!)).toMatchObject({ items: 0, stale: 1 });
    const totals = { queued: 0, duplicates: 0, items: 0 };
    for (const step of settleSteps([outcome], 500)) {
      const r = await second.settle(step);
      totals.queued += r.queued;
      totals.duplicates += r.duplicates;
      totals.items += r.items;
    }
    expect(totals).toEqual({ queued: 700, duplicates: 500, items: 1 });
    expect(await admin.xlen(keys().items)).toBe(1);
    expect(await second.counts()).toMatchObject({ queued: 1_200, inFlight: 0, done: 1 });
  });

  it('rejects a spider name that cannot make a hash tag', () => {
    expect(() => createRedisFrontier(admin, { spider: 'a{b}', runId: 1, workerId: 'w' })).toThrow(/spider name 'a\{b\}'/);
  });

  describe('answers as the SQLite frontier does', () => {
    let dir = '';
    afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

    /** One crawl's worth of calls; returns everything the frontier answered, and the items it stored. */
    const script = async (f: Frontier) => {
      const log: unknown[] = [];
      const pop = async () => (await f.pop(10, Date.now(), [])).map((r) => ({ ...r }));
      log.push(await f.add([newRequest('https://a.test/'), newRequest('https://a.test/b'), newRequest('https://a.test/'), newRequest('https://x.test/', { skipped: 'offsite' })]));
      log.push(await f.counts());
      const [start, second] = await pop();
      log.push(start, second);
      const follow = (path: string, priority = 0) => newRequest(`https://a.test/${path}`, { parentId: start!.id, depth: 1, priority, meta: JSON.stringify({ from: start!.id }) });
      // Split in steps of two rows: links ahead of the done mark, as a page with many follow-ups is.
      const steps = settleSteps(
        [
          done(start!.id, ['{"n":1}'], [follow('f1', 1), follow('f2'), newRequest('https://a.test/b'), newRequest('https://y.test/', { skipped: 'depth' })], start!.url),
          { kind: 'retry', id: second!.id, status: 503, reason: 'http:503', readyAt: Date.now() - 1 },
        ],
        2,
      );
      for (const step of steps) log.push(step.map((o) => o.kind), await f.settle(step));
      log.push(await f.counts());
      const [f1, again, f2] = await pop();
      log.push(f1, again, f2);
      log.push(
        await f.settle([
          { kind: 'failed', id: f1!.id, status: 404, reason: 'http:404' },
          { kind: 'disallowed', id: again!.id, reason: 'robots.txt' },
          { kind: 'requeue', id: f2!.id },
        ]),
      );
      const [last] = await pop();
      log.push(last);
      log.push(await f.settle([{ ...done(last!.id, ['{"n":2}', '{"n":3}'], [], last!.url), invalid: [{ data: '{}', issues: [{ path: 'n', message: 'Required' }] }] }]));
      log.push(await f.counts(), await f.nextReadyAt(), await pop());
      return log;
    };
    const withoutStale = (log: unknown[]) => log.map((e) => (e && typeof e === 'object' && 'stale' in e ? { ...e, stale: undefined } : e));

    it('for the same sequence of calls, with the same items stored', async () => {
      dir = mkdtempSync(join(tmpdir(), 'crawlkit-contract-'));
      const db = openForCrawl(dir, 'contract');
      let sqliteLog: unknown[];
      let sqliteItems: unknown[];
      try {
        sqliteLog = await script(createSqliteFrontier(db, 7));
        sqliteItems = db.prepare('SELECT request_id AS request, url, data FROM items ORDER BY id').all();
      } finally {
        db.close();
      }
      const redisLog = await script(worker('w1'));
      const redisItems = (await admin.xrange(keys().items, '-', '+')).map(([, fields]) => ({ request: Number(fields[3]), url: fields[5], data: fields[7] }));

      expect(withoutStale(redisLog)).toEqual(withoutStale(sqliteLog));
      expect(redisItems).toEqual(sqliteItems);
      // The sequence did reach every state, so the comparison covers them all.
      expect(sqliteLog.at(-3)).toEqual({ queued: 0, inFlight: 0, done: 2, failed: 1, disallowed: 1, skipped: 2 });
      expect(redisItems).toHaveLength(3);
    });
  });
});

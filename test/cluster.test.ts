/**
 * One crawl on several processes sharing a Redis frontier (`--frontier
 * redis://...`), through the real CLI against a real redis-server: the union
 * of the workers' items is the site's, each once, even when a worker is
 * killed -9 or Redis stops answering for a while; export, collect and runs
 * read the cluster's data; bad URLs and an unreachable Redis get one-line errors.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { lines, runCli, spawnCli, stackLines, waitFor, type CliResult } from './helpers/cli.js';
import { canonical, readDb } from './helpers/db.js';
import { hasRedis, startRedis, type TestRedis } from './helpers/redis.js';
import { siteProject } from './helpers/site.js';

let redis: TestRedis;

beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** A slow site and its spider, under a spider name of its own so tests sharing the Redis do not meet. */
async function cluster(ctx: TestContext, name: string, siteOptions = { lists: 12, perList: 10, delayMs: 20 }) {
  const setup = await siteProject(ctx, siteOptions, name);
  // Short leases and request deadlines: a killed worker's requests and per-host slots come back within seconds.
  const worker = (...extra: string[]) => setup.args('--frontier', redis.url, '-s', 'frontierLeaseMs=2000', '-s', 'timeouts.requestMs=2000', ...extra);
  const exported = async () => {
    const r = await runCli(['export', name, '--frontier', redis.url]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  return { ...setup, worker, exported };
}

// The summary's `  items   N` line: a crawl slowed past statusIntervalMs also prints status lines, whose `items 0` came first.
const itemsOf = (r: CliResult) => Number(/^ +items +([\d,]+)/m.exec(r.stderr)?.[1]?.replace(/,/g, '') ?? NaN);

describe.skipIf(!hasRedis)('cluster crawls (--frontier redis://)', () => {
  it('three workers crawl one site: every item once, the work shared, the per-host cap held by the cluster', async (ctx) => {
    const { site, worker, exported } = await cluster(ctx, 'c3');
    // 3 workers × 4 in flight each would be 12; the cap is per host, for the whole cluster.
    const results = await Promise.all([1, 2, 3].map(() => spawnCli(worker('-s', 'perHost.concurrency=3')).result));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(results.map((r) => /(starting|joining) run 1 of 'c3'/.exec(r.stderr)?.[1]).sort()).toEqual(['joining', 'joining', 'starting']);
    const items = await exported();
    expect(canonical(items)).toEqual(canonical(site.expected));
    // Each worker stored some of them, and together exactly the site's.
    const perWorker = results.map(itemsOf);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(site.expected.length);
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    // Every page was fetched once, by one of them, never more than 3 at a time.
    expect(site.pageHits()).toBe(site.pages);
    expect(site.maxInFlight()).toBe(3);
    // robots.txt once for the cluster: the other workers read the first one's verdict from Redis.
    expect(site.server.hits.get('/robots.txt')).toBe(1);

    const runs = await runCli(['runs', 'c3', '--frontier', redis.url, '--json']);
    expect(runs.code, runs.stderr).toBe(0);
    const [run] = lines(runs.stdout).map((l) => JSON.parse(l));
    expect(run).toMatchObject({ id: 1, status: 'finished', items: site.expected.length, pages: site.pages });
    expect(run.stats.workers).toBe(3);
  });

  it('a worker killed -9 mid-crawl: its requests go to the others after the lease, items still exactly once', async (ctx) => {
    const { site, worker, exported } = await cluster(ctx, 'ckill');
    const victim = spawnCli(worker());
    await waitFor(() => /starting run/.test(victim.stderr()), 20_000, 'the first worker');
    const others = [spawnCli(worker()), spawnCli(worker())];
    site.onPageHit = (n) => {
      if (n === 40) victim.child.kill('SIGKILL');
    };
    expect((await victim.result).signal).toBe('SIGKILL');
    for (const w of others) expect((await w.result).code, w.stderr()).toBe(0);
    expect(canonical(await exported())).toEqual(canonical(site.expected));
  });

  it('collect moves the items into the local database once, and export reads them there', async (ctx) => {
    const { site, project, worker } = await cluster(ctx, 'ccollect', { lists: 4, perList: 10, delayMs: 5 });
    expect((await runCli(worker())).code).toBe(0);
    const storage = join(project.dir, 'collected');
    const first = await runCli(['collect', 'ccollect', '--frontier', redis.url, '--storage', storage]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(new RegExp(`collected ${site.expected.length} items of run 1`));
    const again = await runCli(['collect', 'ccollect', '--frontier', redis.url, '--storage', storage]);
    expect(again.stderr).toMatch(/no items of 'ccollect' waiting/);
    expect(canonical(readDb(storage, 'ccollect').items.map((i) => i.data))).toEqual(canonical(site.expected));
    // Drained from Redis: nothing left to export there.
    const left = await runCli(['export', 'ccollect', '--frontier', redis.url]);
    expect(left.code).toBe(2);
    expect(left.stderr).toMatch(/no items in Redis/);
  });

  it('a Redis that stops answering: the worker gives up with one line and a non-zero exit; a new worker finishes the run exactly', async (ctx) => {
    const { site, worker, exported } = await cluster(ctx, 'cpause');
    const w = spawnCli(worker());
    site.onPageHit = (n) => {
      if (n === 30) process.kill(redis.pid, 'SIGSTOP');
    };
    const r = await w.result;
    process.kill(redis.pid, 'SIGCONT');
    site.onPageHit = undefined;
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/crawl: error: lost Redis at redis:\/\/127\.0\.0\.1:\d+: .*start the worker again to continue/);
    expect(stackLines(r.stderr)).toEqual([]);
    const again = await runCli(worker());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/joining run 1/);
    expect(canonical(await exported())).toEqual(canonical(site.expected));
  });

  it('bad URLs and an unreachable Redis get one-line errors', async (ctx) => {
    const { worker } = await cluster(ctx, 'cbad', { lists: 1, perList: 1, delayMs: 0 });
    const cases: [string[], RegExp][] = [
      [[...worker(), '--frontier', 'http://nope'], /bad --frontier URL "http:\/\/nope": expected redis:\/\/host:port/],
      [[...worker(), '--frontier', 'redis://127.0.0.1:1'], /cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/],
      [[...worker(), '--cache'], /cannot be used with --frontier/],
      [['export', 'cbad', '--frontier', 'redis://127.0.0.1:1'], /cannot reach Redis/],
      [['export', 'cbad', '--frontier', redis.url], /no run of spider 'cbad' in Redis/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(2);
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });
});

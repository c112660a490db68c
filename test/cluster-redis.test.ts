/**
 * What a cluster worker does to Redis, seen from the server (a real
 * redis-server of this file's own): how many connections one worker opens,
 * which keys a crawl leaves (all under the spider's hash tag, so a Redis
 * Cluster keeps them in one slot), and that a worker stops everything it
 * started: `crawl()` with `frontier` in a program that never calls
 * process.exit ends by itself at once, with no timer left running.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { hasRedis, startRedis, type TestRedis } from './helpers/redis.js';
import { siteProject } from './helpers/site.js';

const WORKER = fileURLToPath(new URL('./helpers/cluster-crawl.ts', import.meta.url));

/** One line of `CLIENT LIST`, as fields. */
type Client = Record<string, string>;
const clientList = (text: string): Client[] =>
  text
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));

/** The first `{...}` of a key with something inside: what Redis Cluster hashes. */
const hashTag = (key: string): string | null => {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : null;
};

interface Worker {
  lines: Record<string, unknown>[];
  /** When the summary line arrived. */
  summaryAt?: number;
  stderr: string;
  exited: Promise<{ code: number | null; at: number }>;
}

/** Runs test/helpers/cluster-crawl.ts with the spider in `file` on the site at `url`; killed after 30 s, so a worker that never exits fails the test rather than hanging it. */
function startWorker(redis: TestRedis, file: string, url: string, fresh: boolean): Worker {
  const config = { redis: redis.url, file, url, fresh, settings: { frontierLeaseMs: 3_000 } };
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Worker = { lines: [], stderr: '', exited: undefined as never };
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = JSON.parse(out.slice(0, nl)) as Record<string, unknown>;
      out = out.slice(nl + 1);
      if ('summary' in line) w.summaryAt = Date.now();
      w.lines.push(line);
    }
  });
  child.stderr!.on('data', (b: Buffer) => (w.stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  w.exited = new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, at: Date.now() });
    }),
  );
  return w;
}

describe.skipIf(!hasRedis)('a cluster worker and its Redis (needs redis-server)', () => {
  let redis: TestRedis;
  let admin: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  /** A site of 45 pages, and a project with its spider. */
  const setup = (ctx: TestContext, spider: string) => siteProject(ctx, { lists: 4, perList: 10, delayMs: 20 }, spider);

  /** One worker crawls the site to the end. */
  async function crawlOnce({ site, project }: Awaited<ReturnType<typeof setup>>, spider: string, fresh = false) {
    const me = String(await admin.client('ID'));
    /** The other clients of the server, in the middle of the crawl (page 20 of 45). */
    let during: Promise<Client[]> | undefined;
    site.onPageHit = (n) => {
      if (n === 20) during = admin.client('LIST').then((text) => clientList(String(text)).filter((c) => c.id !== me));
    };
    const worker = startWorker(redis, join(project.spiders, `${spider}.ts`), site.url, fresh);
    const exited = await worker.exited;
    expect(exited.code, worker.stderr).toBe(0);
    expect(worker.lines.find((l) => 'summary' in l)).toEqual({ summary: { status: 'finished', items: site.expected.length, pages: site.pages } });
    return { worker, exited, during: await during! };
  }

  it("one worker holds two connections (commands; the limiter's pub/sub), both named for it", async (ctx) => {
    const { during } = await crawlOnce(await setup(ctx, 'conn'), 'conn');
    expect(during.map((c) => c.name)).toEqual([expect.stringMatching(/^crawlkit:conn:/), expect.stringMatching(/^crawlkit:conn:/)]);
    expect(during[0]!.name).toBe(during[1]!.name);
    // One of them is bottleneck's subscriber (it has channels), the other carries every command.
    expect(during.map((c) => Number(c.sub)).sort()).toEqual([0, expect.any(Number)]);
    expect(Number(during.find((c) => c.sub !== '0')?.sub)).toBeGreaterThan(0);
  });

  it("every key a crawl leaves carries the spider's hash tag: frontier, run, items, per-host limits, robots.txt", async (ctx) => {
    await crawlOnce(await setup(ctx, 'tagged'), 'tagged');
    const keys: string[] = [];
    for await (const page of admin.scanStream({ count: 1000 }) as AsyncIterable<string[]>) keys.push(...page);
    const mine = keys.filter((k) => k.includes('tagged'));
    expect(mine.filter((k) => hashTag(k) !== 'tagged')).toEqual([]);
    // Each family is there (a family whose keys were left out of the check would pass it unseen).
    const families = ['frontier:', 'items', 'runs:', 'run:', 'b_', 'robots'];
    for (const f of families) expect(mine.some((k) => k.includes(f)), `a key of '${f}' in ${JSON.stringify(mine)}`).toBe(true);
  });

  it('crawl() with a frontier ends its process by itself, at once, with no timer of its left running, fresh or not', async (ctx) => {
    const site = await setup(ctx, 'exits');
    // Then with `fresh`: the frontier is emptied, its dedupe set too, so the site is crawled whole once more (crawlOnce checks).
    for (const fresh of [false, true]) {
      const { worker, exited } = await crawlOnce(site, 'exits', fresh);
      expect(worker.summaryAt).toBeDefined();
      expect(exited.at - worker.summaryAt!).toBeLessThan(3_000);
      expect(worker.lines.find((l) => 'timers' in l)).toEqual({ timers: [] });
    }
  });
});

/**
 * Chaos: whole crawls against a fault-injecting site (test/chaos/server.ts)
 * whose ground truth is known, with real parts only: node:http on 127.0.0.1,
 * SQLite files in temp folders, and the real CLI in child processes where a
 * process is killed, measured or made to fail.
 *
 * The first group runs its tests concurrently (each is mostly a child
 * process); the second runs one test at a time, because its crawls share this
 * process (and one of them measures request spacing).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, type TestContext } from 'vitest';
import { crawl, type CallbackResult, type Response, type Stats } from '../src/index.js';
import { startChaosServer, canonical, rngFor, BAD_LINKS, type ChaosServer, type Expected, type GroundTruth, type TruthSettings } from './chaos/server.js';
import { rng as seeded } from './fixtures/util.js';
import ChaosSpider, { pagePath } from './chaos/spiders/chaos.js';
import { CRAWLKIT, lines, ROOT, runCli, spawnCli, stackLines, tempDir, tempProject, type CliProcess, type CliResult } from './helpers/cli.js';
import { readDb as readRequests, removeDir, STATE, tmpStorage, type RequestRow } from './helpers/crawl.js';
import { canonical as canonicalItems, readDb } from './helpers/db.js';
import { startServer, type TestServer } from './helpers/server.js';

/** Change it to explore another fault plan; every expectation follows from the server's ground truth. */
const SEED = 20_251_123;
const SPIDERS = join(ROOT, 'test', 'chaos', 'spiders');
const MAXRSS_PROBE = join(ROOT, 'test', 'chaos', 'maxrss.mjs');
const MiB = 1024 * 1024;

type Flat = Record<string, number | boolean | string | string[]>;

/** Settings of the chaos crawls (dotted keys: the same object serves `-s` and `crawl()`). Small timeouts, so faults cost little. */
const CHAOS: Flat = {
  concurrency: 16,
  'perHost.concurrency': 16,
  'timeouts.connectMs': 1_000,
  'timeouts.headersMs': 300,
  'timeouts.bodyMs': 300,
  'timeouts.requestMs': 2_000,
  // Four attempts: pages recover after one or two errors, which leaves one attempt of slack for a timeout caused by a loaded machine.
  'retry.maxAttempts': 4,
  'retry.baseDelayMs': 20,
  'retry.maxDelayMs': 200,
  'retry.maxRetryAfterMs': 1_000,
  maxBodyBytes: 2 * MiB,
  maxRedirects: 10,
  allowedDomains: ['127.0.0.1'],
  // Adaptive politeness would (rightly) slow a crawl of a host this faulty to a few pages a second; it has its own test below.
  'throttle.enabled': false,
};

const truthSettings = (s: Flat): TruthSettings => ({
  maxAttempts: s['retry.maxAttempts'] as number,
  maxRedirects: s.maxRedirects as number,
  allowedDomains: (s.allowedDomains as string[] | undefined) ?? [],
});

/** `-s key=value` arguments for settings. */
const setArgs = (s: Flat) => Object.entries(s).flatMap(([k, v]) => ['-s', `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`]);

/** Arguments of the real CLI crawling `server` with the chaos spider into `storage`. */
const cliArgs = (server: ChaosServer, storage: string, settings: Flat, ...extra: string[]) => [
  'chaos',
  '-a',
  `baseUrl=${server.startUrl}`,
  '--spiders',
  SPIDERS,
  '--storage',
  storage,
  ...setArgs(settings),
  ...extra,
];

/** A chaos server closed when the test ends. */
async function chaosServer(ctx: TestContext, options: Parameters<typeof startChaosServer>[0]): Promise<ChaosServer> {
  const server = await startChaosServer(options);
  ctx.onTestFinished(() => server.close());
  return server;
}

/** A temp storage folder removed when the test ends. */
function storageFor(ctx: TestContext): string {
  const dir = tmpStorage();
  ctx.onTestFinished(() => removeDir(dir));
  return dir;
}

/** The run's stats as the crawl saved them in its database. */
function savedStats(storage: string, spider = 'chaos'): Stats {
  const run = readRequests(storage, spider).runs.at(-1);
  expect(run?.stats, 'the run saved its stats').toBeTruthy();
  return JSON.parse(run!.stats!) as Stats;
}

const describeRow = (r: RequestRow, items: number) =>
  `state ${Object.entries(STATE).find(([, v]) => v === r.state)?.[0]} status ${r.status} items ${items} error ${JSON.stringify((r.error ?? '').split('\n')[0])}`;

function matches(e: Expected, r: RequestRow, items: number): boolean {
  switch (e.kind) {
    case 'item':
      return r.state === STATE.done && items === 1;
    case 'noitem':
      return r.state === STATE.done && items === 0 && r.status !== null && r.status >= 200 && r.status < 300;
    case 'redirect':
      return r.state === STATE.done && items === 0 && r.status === e.status;
    case 'failed':
      return r.state === STATE.failed && e.reason.test(r.error ?? '');
    case 'disallowed':
      return r.state === STATE.disallowed;
    case 'skipped':
      return r.state === STATE.skipped && r.error === e.reason;
  }
}

/**
 * What a crawl stored against the site's ground truth: the requests table
 * holds exactly the discovered URLs (canonicalised), each ended as the truth
 * says, nothing queued or in flight, every row in exactly one category, and
 * the items are exactly the truth's, none twice.
 */
function expectMatchesTruth(storage: string, truth: GroundTruth): { rows: RequestRow[] } {
  const { requests: rows } = readRequests(storage, 'chaos');
  const { items } = readDb(storage, 'chaos');

  // Nothing left queued or in flight.
  expect(rows.filter((r) => r.state === STATE.queued || r.state === STATE.inFlight).map((r) => r.url)).toEqual([]);

  // One row per canonical URL, and exactly the URLs a correct crawler discovers.
  const byUrl = new Map<string, RequestRow>();
  const twice: string[] = [];
  for (const r of rows) {
    const c = canonical(r.url);
    if (byUrl.has(c)) twice.push(c);
    byUrl.set(c, r);
  }
  expect(twice, 'URLs recorded twice').toEqual([]);
  const missing = [...truth.outcomes.keys()].filter((u) => !byUrl.has(u));
  const extra = [...byUrl.keys()].filter((u) => !truth.outcomes.has(u));
  expect({ missing, extra }).toEqual({ missing: [], extra: [] });

  // No page's item twice; items only on done rows.
  const perRequest = new Map<number, number>();
  for (const i of items) perRequest.set(i.requestId!, (perRequest.get(i.requestId!) ?? 0) + 1);
  const pages = items.map((i) => String(i.data.page));
  expect(pages.filter((p, k) => pages.indexOf(p) !== k), 'pages stored twice').toEqual([]);

  // Each URL ended as the truth says.
  const wrong: string[] = [];
  for (const [url, e] of truth.outcomes) {
    const r = byUrl.get(url)!;
    const n = perRequest.get(r.id) ?? 0;
    if (!matches(e, r, n)) wrong.push(`${url}: expected ${e.kind}${'reason' in e ? ` ${String(e.reason)}` : ''}${'status' in e ? ` ${e.status}` : ''}, got ${describeRow(r, n)}`);
  }
  expect(wrong).toEqual([]);

  // Stored items + failed (with a reason) + disallowed + skipped + done without items = every row.
  const withItems = rows.filter((r) => r.state === STATE.done && (perRequest.get(r.id) ?? 0) > 0);
  const failed = rows.filter((r) => r.state === STATE.failed);
  const disallowed = rows.filter((r) => r.state === STATE.disallowed);
  const skipped = rows.filter((r) => r.state === STATE.skipped);
  const doneEmpty = rows.filter((r) => r.state === STATE.done && (perRequest.get(r.id) ?? 0) === 0);
  expect(withItems.length + failed.length + disallowed.length + skipped.length + doneEmpty.length).toBe(rows.length);
  expect(failed.filter((r) => !r.error?.trim()).map((r) => r.url), 'failed without a reason').toEqual([]);
  expect(skipped.filter((r) => !r.error?.trim()).map((r) => r.url), 'skipped without a reason').toEqual([]);
  const count = (kind: Expected['kind']) => [...truth.outcomes.values()].filter((e) => e.kind === kind).length;
  expect({
    items: withItems.length,
    failed: failed.length,
    disallowed: disallowed.length,
    skipped: skipped.length,
    doneWithoutItems: doneEmpty.length,
  }).toEqual({
    items: count('item'),
    failed: count('failed'),
    disallowed: count('disallowed'),
    skipped: count('skipped'),
    doneWithoutItems: count('noitem') + count('redirect'),
  });

  expect(canonicalItems(items.map((i) => i.data))).toEqual(canonicalItems(truth.items));
  return { rows };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---------------------------------------------------------------------------------------------------------------------
// Mounts (full disk; read-only storage when running as root, where chmod does not stop writes)

const isRoot = process.getuid?.() === 0;

/** Null when a tmpfs can be mounted here; otherwise why not. Decided once, at collection time. */
function probeMount(): string | null {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux (this is ${process.platform})`;
  const dir = mkdtempSync(join(tmpdir(), 'crawlkit-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return `mounting a tmpfs is not permitted here (${(e.stderr?.toString() || e.message).trim().split('\n')[0]})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const NO_MOUNT = probeMount();
const NO_READ_ONLY_FOLDER = isRoot ? NO_MOUNT : null; // not root: chmod works

function mountTmpfs(ctx: TestContext, size: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'crawlkit-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  ctx.onTestFinished(() => {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // something still holds a file: detach it anyway
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// ---------------------------------------------------------------------------------------------------------------------

describe.concurrent('chaos: the real CLI', () => {
  /*
   * Bound on "finishes by itself": one request takes at most maxAttempts × (requestMs + maxRetryAfterMs)
   * (each attempt ends by its deadline, each wait by the Retry-After cap, the longest wait here); allow
   * four of those in a row on the slowest discovery path, plus a generous 60 s for starting the CLI and
   * 2,200 local pages on a loaded 2-core machine (about 15 s when it is idle).
   */
  const perRequestMs = (CHAOS['retry.maxAttempts'] as number) * ((CHAOS['timeouts.requestMs'] as number) + (CHAOS['retry.maxRetryAfterMs'] as number));
  const BIG_CRAWL_BOUND_MS = 60_000 + 4 * perRequestMs;

  it(
    'a crawl of 2,000+ faulty pages finishes by itself and stores exactly the ground truth, in bounded memory',
    async (ctx) => {
      const server = await chaosServer(ctx, { seed: SEED, lists: 40, perList: 50, profile: 'full', robots: 'redirect' });
      const truth = server.truth(truthSettings(CHAOS));
      expect(truth.outcomes.size).toBeGreaterThanOrEqual(2_000);
      const storage = storageFor(ctx);
      const rssFile = join(storage, 'maxrss');

      const r = await spawnCli(cliArgs(server, storage, CHAOS, '-L', 'warn'), {
        timeoutMs: BIG_CRAWL_BOUND_MS,
        env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${MAXRSS_PROBE}`.trim(), CHAOS_MAXRSS_FILE: rssFile },
      }).result;
      expect(r.timedOut, `the crawl did not finish within ${BIG_CRAWL_BOUND_MS} ms:\n${r.stderr.slice(-3000)}`).toBe(false);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(r.stderr).toMatch(/Finished run 1 of 'chaos'/);

      expectMatchesTruth(storage, truth);

      // The fault plan did what it says, once per page where it should.
      const stats = savedStats(storage);
      expect(stats.badLinks).toBe(truth.badLinks);
      expect(stats.items).toBe(truth.items.length);
      // Cut off, not read to the end: too-large is final. (An attempt may first time out when the machine is loaded: inflating 2 MiB
      // takes ~130 zlib steps, each an event-loop turn; a timeout is retried. Asserting a single fetch would assert speed.)
      for (const p of ['/special/bomb', '/special/big', '/special/big-chunked']) expect(server.hits.get(p), p).toBeLessThanOrEqual(CHAOS['retry.maxAttempts'] as number);
      expect(server.hits.get('/real-robots.txt')).toBe(1);
      expect([...server.hits.keys()].filter((p) => p.startsWith('/private/')), 'disallowed paths fetched').toEqual([]);

      // The 50 MB bodies and the 1 GiB gzip bomb were cut off at maxBodyBytes (2 MiB): the process stayed small (about
      // 170 MiB here with or without them; the bomb inflated in memory would pass 300 many times over).
      const peakKiB = Number(readFileSync(rssFile, 'utf8'));
      expect(peakKiB).toBeGreaterThan(10_000); // the probe measured a real process
      expect(peakKiB / 1024, 'peak RSS of the crawl (MiB); about 175 here').toBeLessThan(300);
    },
    BIG_CRAWL_BOUND_MS + 30_000,
  );

  it('kill -9 at ten seeded moments, then a run to the end: the same items as an uninterrupted crawl, nothing in flight', async (ctx) => {
    // A fault-light site with a little latency; the crawl is killed ten times, a twin crawled once without interruption.
    const site = { seed: SEED + 1, lists: 12, perList: 30, profile: 'light', robots: 'ok', latencyMs: 20 } as const;
    const [killed, calm] = await Promise.all([chaosServer(ctx, site), chaosServer(ctx, site)]);
    // No permanent faults here, so generous timeouts and attempts: every page must end with its item.
    const settings: Flat = {
      ...CHAOS,
      concurrency: 8,
      'perHost.concurrency': 8,
      'timeouts.headersMs': 2_000,
      'timeouts.bodyMs': 2_000,
      'timeouts.requestMs': 5_000,
      'retry.maxAttempts': 6,
    };
    const truth = killed.truth(truthSettings(settings));
    expect(truth.items.length).toBeGreaterThan(300);
    const [killedStorage, calmStorage] = [storageFor(ctx), storageFor(ctx)];
    const uninterrupted = runCli(cliArgs(calm, calmStorage, settings), { timeoutMs: 60_000 });

    const rng = seeded(SEED);
    const kills: CliResult[] = [];
    for (let i = 0; i < 10; i++) {
      // A seeded moment: the k-th page request of this process, then 0-40 ms more (mid-parse, mid-commit, mid-request).
      const k = 1 + Math.floor(rng() * 30);
      const delay = Math.floor(rng() * 40);
      const before = killed.pageHits();
      let proc: CliProcess | undefined;
      let armed = true;
      killed.onHit = (n) => {
        if (armed && n - before >= k) {
          armed = false;
          setTimeout(() => proc!.child.kill('SIGKILL'), delay);
        }
      };
      proc = spawnCli(cliArgs(killed, killedStorage, settings), { timeoutMs: 30_000 });
      const r = await proc.result;
      killed.onHit = undefined;
      expect(r.signal, `run ${i + 1} was to be killed after ${k} requests:\n${r.stderr}`).toBe('SIGKILL');
      expect(r.stderr).toMatch(i === 0 ? /starting run 1 of 'chaos'/ : /resuming run 1 of 'chaos'/);
      kills.push(r);
    }
    expect(kills).toHaveLength(10);
    const partial = readDb(killedStorage, 'chaos');
    expect(partial.items.length).toBeLessThan(truth.items.length); // the kills did interrupt the crawl

    const last = await runCli(cliArgs(killed, killedStorage, settings), { timeoutMs: 60_000 });
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toMatch(/resuming run 1 of 'chaos'/);
    const calmResult = await uninterrupted;
    expect(calmResult.code, calmResult.stderr).toBe(0);

    const a = readDb(killedStorage, 'chaos');
    const b = readDb(calmStorage, 'chaos');
    expect(canonicalItems(a.items.map((i) => i.data))).toEqual(canonicalItems(b.items.map((i) => i.data)));
    expect(a.runs.map((r) => [r.id, r.status])).toEqual([[1, 'finished']]);
    expect(a.states[STATE.queued] ?? 0).toBe(0);
    expect(a.states[STATE.inFlight] ?? 0).toBe(0);
    expectMatchesTruth(killedStorage, truth);
    expectMatchesTruth(calmStorage, calm.truth(truthSettings(settings)));
  }, 120_000);

  it('storage under a regular file: a one-line error, exit 2, and the file is untouched', async (ctx) => {
    const dir = await tempDir();
    ctx.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'precious');
    const server = await chaosServer(ctx, { seed: SEED, lists: 1, perList: 3, profile: 'none' });
    const r = await runCli(cliArgs(server, join(file, 'storage'), { 'throttle.enabled': false }), { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^crawl: error: .*storage.*(not writable|not a directory|ENOTDIR)/i);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe('precious');
    expect(server.pageHits()).toBe(0);
  });

  it.skipIf(NO_READ_ONLY_FOLDER !== null)(
    `read-only storage folder with a database in it: a one-line error, exit 2, and the database is unchanged${NO_READ_ONLY_FOLDER ? ` (skipped: ${NO_READ_ONLY_FOLDER})` : ''}`,
    async (ctx) => {
      // Root ignores file modes, so as root the folder is a tmpfs remounted read-only; otherwise chmod.
      const storage = isRoot ? mountTmpfs(ctx, '16m') : storageFor(ctx);
      const server = await chaosServer(ctx, { seed: SEED, lists: 2, perList: 5, profile: 'none' });
      await crawl(new ChaosSpider({ baseUrl: server.startUrl }), { settings: { storageDir: storage, logLevel: 'silent', 'throttle.enabled': false } }).run();
      const before = readDb(storage, 'chaos');
      expect(before.items.length).toBeGreaterThan(0);
      const dbPath = join(storage, 'chaos.sqlite');
      const hash = sha256(dbPath);
      const files = readdirSync(storage).sort();
      const hitsBefore = server.pageHits();

      const makeWritable = () => (isRoot ? execFileSync('mount', ['-o', 'remount,rw', storage], { stdio: 'pipe' }) : chmodSync(storage, 0o755));
      if (isRoot) execFileSync('mount', ['-o', 'remount,ro', storage], { stdio: 'pipe' });
      else chmodSync(storage, 0o555);
      let r: CliResult;
      try {
        r = await runCli(cliArgs(server, storage, { 'throttle.enabled': false }), { timeoutMs: 30_000 });
      } finally {
        makeWritable();
      }
      expect(r.code, r.stderr).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^crawl: error: .*(not writable|read-only|EROFS|EACCES)/i);
      expect(stackLines(r.stderr)).toEqual([]);
      expect(server.pageHits()).toBe(hitsBefore);

      // Not a byte changed, no journal left behind; it opens, passes an integrity check and holds the same items.
      expect(sha256(dbPath)).toBe(hash);
      expect(readdirSync(storage).sort()).toEqual(files);
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
      const after = readDb(storage, 'chaos');
      expect(after.items).toEqual(before.items);
      expect(after.runs).toEqual(before.runs);
    },
  );

  it.skipIf(NO_MOUNT !== null)(
    `full disk: a one-line "full" error, non-zero exit, and the database stays intact with what it had committed${NO_MOUNT ? ` (skipped: ${NO_MOUNT})` : ''}`,
    async (ctx) => {
      const storage = mountTmpfs(ctx, '2m');
      // Run 1 fits and finishes; run 2 stores 20 KB items from 200 pages, about twice what the disk holds.
      const small = await chaosServer(ctx, { seed: SEED, lists: 1, perList: 10, profile: 'none' });
      await crawl(new ChaosSpider({ baseUrl: small.startUrl }), { settings: { storageDir: storage, logLevel: 'silent', 'throttle.enabled': false } }).run();
      const run1 = readDb(storage, 'chaos');
      expect(run1.runs.map((r) => [r.id, r.status])).toEqual([[1, 'finished']]);
      expect(run1.items.length).toBeGreaterThan(5);

      const big = await chaosServer(ctx, { seed: SEED, lists: 4, perList: 50, profile: 'none' });
      const r = await runCli(cliArgs(big, storage, { 'throttle.enabled': false, obeyRobots: false }, '-a', 'padBytes=20000', '-L', 'silent'), { timeoutMs: 60_000 });
      expect(r.timedOut).toBe(false);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.signal).toBeNull(); // an orderly exit, not a crash by signal
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^crawl: error: .*(full|no space|ENOSPC)/i);
      expect(stackLines(r.stderr)).toEqual([]);

      // Read the files as they were left (copied off the full disk: a WAL reader needs room for its -shm index).
      const copy = storageFor(ctx);
      for (const f of readdirSync(storage)) if (f === 'chaos.sqlite' || f === 'chaos.sqlite-wal') copyFileSync(join(storage, f), join(copy, f));
      const db = new Database(join(copy, 'chaos.sqlite'), { readonly: true, fileMustExist: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
      const after = readDb(copy, 'chaos');
      // Run 1 is intact; run 2 kept the items it had committed, each whole.
      expect(after.items.filter((i) => i.runId === 1)).toEqual(run1.items);
      const run2 = after.items.filter((i) => i.runId === 2);
      expect(run2.length).toBeGreaterThan(0);
      for (const i of run2) expect(i.data).toMatchObject({ page: expect.stringMatching(/^\//), pad: 'x'.repeat(20_000) });
      expect(after.runs.map((x) => x.id)).toEqual([1, 2]);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------------

/** Settings for in-process crawls of small chaos sites. */
const inProcess = (storage: string, extra: Flat = {}): Flat => ({ ...CHAOS, storageDir: storage, logLevel: 'silent', ...extra });

describe('chaos: in-process crawls, one at a time', () => {
  describe('robots.txt', () => {
    const small = { lists: 2, perList: 5, profile: 'none' } as const;

    it('404: everything is allowed and fetched', async (ctx) => {
      const server = await chaosServer(ctx, { seed: SEED, ...small, robots: '404' });
      const storage = storageFor(ctx);
      const summary = await crawl(new ChaosSpider({ baseUrl: server.startUrl }), { settings: inProcess(storage) }).run();
      expect(summary.status).toBe('finished');
      expect(server.hits.get('/robots.txt')).toBe(1);
      expect(server.hits.get('/private/0')).toBe(1);
      expect(summary.stats.disallowed).toBe(0);
      expectMatchesTruth(storage, server.truth(truthSettings(CHAOS)));
    });

    it.for(['500', 'hang'] as const)('%s: no page of the origin is fetched; the start request fails with a robots reason', async (variant, ctx) => {
      const server = await chaosServer(ctx, { seed: SEED, ...small, robots: variant });
      const storage = storageFor(ctx);
      const summary = await crawl(new ChaosSpider({ baseUrl: server.startUrl }), { settings: inProcess(storage) }).run();
      expect(summary.status).toBe('finished');
      expect(server.hits.get('/robots.txt')).toBeGreaterThanOrEqual(1);
      expect(server.pageHits()).toBe(0);
      const { requests } = readRequests(storage, 'chaos');
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({ url: server.startUrl, state: STATE.failed });
      expect(requests[0]!.error).toMatch(variant === '500' ? /^robots:http:500/ : /^robots:timeout:/);
      expectMatchesTruth(storage, server.truth(truthSettings(CHAOS)));
    });

    it('a robots.txt redirect to a Location that does not parse is a robots problem, not a crash of every request to the origin', async (ctx) => {
      const server = await chaosServer(ctx, { seed: SEED, ...small, robots: 'bad-redirect' });
      const storage = storageFor(ctx);
      const summary = await crawl(new ChaosSpider({ baseUrl: server.startUrl }), { settings: inProcess(storage) }).run();
      expect(summary.status).toBe('finished');
      expect(server.hits.get('/robots.txt')).toBe(1);
      const { requests } = readRequests(storage, 'chaos');
      expect(requests.filter((r) => /^internal/.test(r.error ?? '')).map((r) => `${r.url}: ${r.error?.split('\n')[0]}`)).toEqual([]);
      // Either robots.txt counts as missing (everything fetched) or the requests fail with a robots reason.
      for (const r of requests) expect(r.state === STATE.done || (r.state === STATE.failed && /^robots:/.test(r.error ?? '')), `${r.url}: ${r.error}`).toBe(true);
    });

    it('a redirected robots.txt is followed and its rules apply', async (ctx) => {
      const server = await chaosServer(ctx, { seed: SEED, ...small, robots: 'redirect' });
      const storage = storageFor(ctx);
      const summary = await crawl(new ChaosSpider({ baseUrl: server.startUrl }), { settings: inProcess(storage) }).run();
      expect(server.hits.get('/real-robots.txt')).toBe(1);
      expect(server.hits.get('/private/0') ?? 0).toBe(0);
      expect(summary.stats.disallowed).toBe(2);
      const { requests } = readRequests(storage, 'chaos');
      expect(requests.filter((r) => r.state === STATE.disallowed).map((r) => new URL(r.url).pathname).sort()).toEqual(['/private/0', '/private/1']);
      expectMatchesTruth(storage, server.truth(truthSettings(CHAOS)));
    });
  });

  it('URL canonicalisation: duplicate forms are fetched once; bad links are counted; odd redirects end as they should', async (ctx) => {
    // Both names of this server are in scope here, so the host-case duplicates are fetched (once) too.
    const settings = { ...CHAOS, allowedDomains: ['127.0.0.1', 'localhost'] };
    const server = await chaosServer(ctx, { seed: SEED, lists: 2, perList: 5, profile: 'full', offsiteOrigin: 'http://offsite.invalid' });
    const storage = storageFor(ctx);
    const summary = await crawl(new ChaosSpider({ baseUrl: server.startUrl }), { settings: inProcess(storage, settings) }).run();
    expect(summary.status).toBe('finished');
    const truth = server.truth(truthSettings(settings));
    const { rows } = expectMatchesTruth(storage, truth);

    // Fragment, scheme case, dot segments, padding, relative: one fetch. Query order: one fetch. Host case: one fetch.
    expect(server.hits.get('/special/canon')).toBe(1);
    expect(server.hits.get('/special/canon-host')).toBe(1);
    expect((server.hits.get('/special/q?a=1&b=2') ?? 0) + (server.hits.get('/special/q?b=2&a=1') ?? 0)).toBe(1);
    // Default port, three spellings: one row (offsite, never fetched).
    expect(rows.filter((r) => new URL(r.url).hostname === 'default-port.invalid').map((r) => [r.url, r.state, r.error])).toEqual([
      ['http://default-port.invalid/special/dp', STATE.skipped, 'offsite'],
    ]);
    // Non-http(s) and malformed links are skipped and counted.
    expect(truth.badLinks).toBeGreaterThanOrEqual(BAD_LINKS.length);
    expect(summary.stats.badLinks).toBe(truth.badLinks);
    // Redirects to ftp: and javascript: fail; loops fail as redirect:loop with each hop fetched once; a chain of 30 stops at maxRedirects (10).
    for (const p of ['/special/to-ftp', '/special/to-javascript']) expect(rows.find((r) => r.url.endsWith(p))?.error).toMatch(/^redirect:bad-location/);
    for (const p of ['/special/loop/a', '/special/loop/b', '/special/self']) expect(server.hits.get(p), p).toBe(1);
    for (const p of ['/special/loop/b', '/special/self']) expect(rows.find((r) => r.url.endsWith(p))?.error, p).toMatch(/^redirect:loop: /);
    for (let i = 0; i <= 10; i++) expect(server.hits.get(`/special/chain/${i}`), `chain hop ${i}`).toBe(1);
    expect(server.hits.get('/special/chain/11') ?? 0).toBe(0);
    expect(rows.find((r) => r.url.endsWith('/special/chain/10'))).toMatchObject({ state: STATE.failed, error: 'redirect:too-many', redirects: 10 });
  });

  describe('security: allowedDomains', () => {
    /** A second server, reached only under another host name: it must never see a request. */
    async function elsewhere(ctx: TestContext): Promise<TestServer> {
      const other = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<h1 class="title">you should not be here</h1><a href="/deeper">deeper</a>');
      });
      ctx.onTestFinished(() => other.close());
      return other;
    }

    it('no request reaches a host outside allowedDomains: not by links, tricky URL forms or redirect hops', async (ctx) => {
      const other = await elsewhere(ctx);
      const server = await chaosServer(ctx, { seed: SEED, lists: 3, perList: 10, profile: 'full', offsiteOrigin: `http://localhost:${other.port}` });
      const storage = storageFor(ctx);
      const summary = await crawl(new ChaosSpider({ baseUrl: server.startUrl }), { settings: inProcess(storage) }).run();
      expect(summary.status).toBe('finished');
      expect(other.requests.map((r) => r.path)).toEqual([]);
      const { rows } = expectMatchesTruth(storage, server.truth(truthSettings(CHAOS)));
      const offsite = rows.filter((r) => new URL(r.url).port === String(other.port));
      expect(offsite.length).toBeGreaterThanOrEqual(5); // a link, protocol-relative, userinfo, backslash, a redirect target
      expect(offsite.every((r) => r.state === STATE.skipped && r.error === 'offsite')).toBe(true);
      expect(rows.find((r) => r.url.endsWith('/special/to-offsite'))).toMatchObject({ state: STATE.done, status: 302 });
    });

    it('a robots.txt that redirects to a host outside allowedDomains is not followed there', async (ctx) => {
      const other = await elsewhere(ctx);
      const server = await chaosServer(ctx, { seed: SEED, lists: 1, perList: 5, profile: 'none', robots: 'offsite-redirect', offsiteOrigin: `http://localhost:${other.port}` });
      const storage = storageFor(ctx);
      const summary = await crawl(new ChaosSpider({ baseUrl: server.startUrl }), { settings: inProcess(storage) }).run();
      expect(summary.status).toBe('finished');
      expect(server.hits.get('/robots.txt')).toBe(1);
      expect(other.requests.map((r) => r.path)).toEqual([]);
    });
  });

  it('a callback that throws fails its page with callback:error and the stack; one that never returns is cut off; the crawl goes on', async (ctx) => {
    const server = await chaosServer(ctx, { seed: SEED, lists: 3, perList: 10, profile: 'none' });
    const rng = rngFor(SEED, 'callbacks');
    const content = Array.from({ length: 30 }, (_, i) => `/p/${Math.floor(i / 10)}/${i % 10}`);
    const throwing = new Set(content.filter(() => rng() < 0.2));
    const hanging = new Set(content.filter((p) => !throwing.has(p) && rng() < 0.1));
    expect(throwing.size).toBeGreaterThan(0);
    expect(hanging.size).toBeGreaterThan(0);
    class Fragile extends ChaosSpider {
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        const page = pagePath(res.url);
        if (throwing.has(page)) throw new Error(`chaos: callback refuses ${page}`);
        if (hanging.has(page)) await new Promise(() => {});
        yield* super.parse(res);
      }
    }
    const storage = storageFor(ctx);
    const summary = await crawl(new Fragile({ baseUrl: server.startUrl }), { settings: inProcess(storage, { callbackTimeoutMs: 500 }) }).run();
    expect(summary.status).toBe('finished');
    expect(summary.stats.failures).toEqual({ 'callback:error': throwing.size, 'callback:timeout': hanging.size });

    const { requests } = readRequests(storage, 'chaos');
    const row = (p: string) => requests.find((r) => new URL(r.url).pathname === p)!;
    for (const p of throwing) {
      expect(row(p)).toMatchObject({ state: STATE.failed, status: 200 });
      expect(row(p).error).toMatch(/^callback:error/);
      expect(row(p).error).toContain(`chaos: callback refuses ${p}`);
      expect(row(p).error).toMatch(/\n\s+at .*parse/); // the stack
    }
    for (const p of hanging) expect(row(p)).toMatchObject({ state: STATE.failed, error: expect.stringMatching(/^callback:timeout/) });
    // Every other page was stored as usual.
    const expected = server.truth(truthSettings(CHAOS)).items.filter((i) => !throwing.has(i.page) && !hanging.has(i.page));
    expect(canonicalItems(readDb(storage, 'chaos').items.map((i) => i.data))).toEqual(canonicalItems(expected));
    expect(requests.filter((r) => r.state === STATE.queued || r.state === STATE.inFlight)).toEqual([]);
  });

  // workers = 0 runs callbacks on the crawler's main thread: the busy callback freezes the loop that fetches. With workers it
  // freezes one worker; fetching must be unaffected either way.
  it.for([0, 1])('a callback that busy-waits 1.5 s does not fail the requests in flight meanwhile; a blocked loop is reported (workers = %s)', async (workers, ctx) => {
    // The crawler runs in its own process (the CLI), so this server keeps answering while the crawler is blocked:
    // the responses sit in its sockets while its timeout timers expire.
    const FAST = 30;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // /block is answered once the other requests have all arrived (so they are in flight, their timers running);
    // they are answered 100 ms later, while the crawler is busy with /block.
    let arrived = 0;
    let answeredBlock = false;
    let allArrived!: () => void;
    const inFlight = new Promise<void>((r) => (allArrived = r));
    let blockSent!: () => void;
    const blocked = new Promise<void>((r) => (blockSent = r));
    const server = await startServer(async (req, res) => {
      const path = req.url ?? '/';
      if (path === '/robots.txt') return void res.writeHead(404).end();
      if (path === '/block') await Promise.race([inFlight, sleep(5_000)]);
      if (path.startsWith('/fast/') && !answeredBlock) {
        if (++arrived === FAST) allArrived();
        await blocked;
        await sleep(100);
      }
      const links = path === '/' ? ['/block', ...Array.from({ length: FAST }, (_, i) => `/fast/${i}`)] : [];
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<h1>${path}</h1>${links.map((l) => `<a href="${l}">${l}</a>`).join('')}`);
      if (path === '/block') {
        answeredBlock = true;
        blockSent();
      }
    });
    ctx.onTestFinished(() => server.close());
    const project = await tempProject({
      blocker: `import { Spider } from ${JSON.stringify(CRAWLKIT)};
export default class Blocker extends Spider {
  name = 'blocker';
  startUrls = [this.arg('baseUrl')];
  async *parse(res) {
    if (res.url.endsWith('/block')) {
      const until = Date.now() + 1500;
      while (Date.now() < until); // busy: nothing else in this process runs
    }
    yield { path: new URL(res.url).pathname };
    yield* res.followAll('a');
  }
}
`,
    });
    ctx.onTestFinished(() => project.cleanup());
    // One attempt: a request failed by the stall could not hide behind a retry. Every timeout is 1 s, shorter than
    // the block, while the server answers in 0.1 s. (undici's own headers/body timers advance by ticks, not by the
    // wall clock; the whole-request deadline does follow the wall clock.)
    const settings: Flat = {
      workers,
      concurrency: 64,
      'perHost.concurrency': 64,
      'timeouts.headersMs': 1_000,
      'timeouts.bodyMs': 1_000,
      'timeouts.requestMs': 1_000,
      'retry.maxAttempts': 1,
      'throttle.enabled': false,
    };
    const r = await runCli(['blocker', '-a', `baseUrl=${server.url}/`, '--spiders', project.spiders, '--storage', project.storage, '-L', 'warn', ...setArgs(settings)], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(arrived, 'the other requests were in flight when /block was answered').toBe(FAST);
    const { requests } = readRequests(project.storage, 'blocker');
    const fast = requests.filter((x) => new URL(x.url).pathname.startsWith('/fast/'));
    expect(fast).toHaveLength(FAST);
    expect(fast.filter((x) => x.state !== STATE.done).map((x) => `${x.url}: ${x.error}`)).toEqual([]);
    expect(readDb(project.storage, 'blocker').items).toHaveLength(FAST + 2);
    const stats = savedStats(project.storage, 'blocker');
    expect(Object.keys(stats.failures).filter((k) => k.startsWith('timeout:'))).toEqual([]);
    // The block is reported either way: on the main thread it froze the crawler's loop; in a worker, only that
    // worker's, and it is told apart from the main thread's, which went on.
    expect(stats.maxEventLoopLagMs).toBeGreaterThanOrEqual(1_000);
    if (workers > 0) {
      expect(r.stderr).toMatch(/parser worker's event loop was blocked for \d+ ms/);
      expect(stats.maxWorkerLagMs).toBeGreaterThanOrEqual(1_000);
      expect(stats.maxMainLagMs).toBeLessThan(stats.maxWorkerLagMs); // the main thread went on (bar the machine's own hiccups)
      expect(r.stderr).toMatch(/parser workers blocked up to [\d,]+ ms/);
    } else {
      expect(stats.maxMainLagMs).toBeGreaterThanOrEqual(1_000);
      expect(stats.maxWorkerLagMs).toBe(0);
      expect(r.stderr).toMatch(/event loop blocked up to [\d,]+ ms on the main thread/);
    }
  });

  it('adaptive politeness: a host that answers 503 at first gets a delay, and its requests are spaced wider afterwards', async (ctx) => {
    const PAGES = 40;
    const REFUSE = 6;
    let served = 0;
    const refused: number[] = []; // server times of the 503s
    const server = await startServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end(Array.from({ length: PAGES }, (_, i) => `<a href="/t/${i}">${i}</a>`).join(''));
      }
      if (++served <= REFUSE) {
        refused.push(Date.now());
        res.writeHead(503, { 'content-type': 'text/plain' });
        return void res.end('busy');
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<h1 class="title">${path}</h1>`);
    });
    ctx.onTestFinished(() => server.close());
    const storage = storageFor(ctx);
    const summary = await crawl(new ChaosSpider({ baseUrl: `${server.url}/` }), {
      settings: {
        storageDir: storage,
        logLevel: 'silent',
        obeyRobots: false,
        concurrency: 4,
        'perHost.concurrency': 4,
        'retry.maxAttempts': 5,
        'retry.baseDelayMs': 20,
        'retry.maxDelayMs': 100,
        'throttle.enabled': true,
        'throttle.maxDelayMs': 200, // keeps the test short; the spacing is still unmistakable
      },
    }).run();
    expect(summary.status).toBe('finished');
    expect(summary.stats.items).toBe(PAGES);
    expect(summary.stats.throttleIncreases).toBeGreaterThan(0);
    expect(typeof summary.stats.hostDelays).toBe('object');

    // Server-side start times: the first wave (sent before any answer could be seen) against the requests after the last 503.
    const starts = server.requests.filter((r) => r.path.startsWith('/t/')).map((r) => r.time);
    const before = starts.slice(0, 4);
    const after = starts.filter((t) => t > refused.at(-1)!).slice(0, 9);
    expect(after).toHaveLength(9);
    const gaps = (ts: number[]) => ts.slice(1).map((t, i) => t - ts[i]!);
    expect(median(gaps(after))).toBeGreaterThan(median(gaps(before)) + 40);
  });

  it('never stuck: when every queued request waits on a 1 s Retry-After and nothing is in flight, it sleeps, then finishes', async (ctx) => {
    const N = 20;
    const server = await startServer((req, res) => {
      const path = req.url ?? '/';
      if (server.hits.get(path) === 1) {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' });
        return void res.end('later');
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<h1 class="title">${path}</h1>`);
    });
    ctx.onTestFinished(() => server.close());
    class Patient extends ChaosSpider {
      override startUrls = Array.from({ length: N }, (_, i) => `${server.url}/w/${i}`);
    }
    const storage = storageFor(ctx);
    const summary = await crawl(new Patient({ baseUrl: server.url }), {
      settings: { ...inProcess(storage), obeyRobots: false, concurrency: 32, 'perHost.concurrency': 32, 'retry.maxRetryAfterMs': 5_000 },
    }).run();
    expect(summary.status).toBe('finished');
    expect(summary.stats.items).toBe(N);
    for (let i = 0; i < N; i++) {
      const path = `/w/${i}`;
      expect(server.hits.get(path), path).toBe(2); // no early exit, no spinning retries
      const [first, second] = server.requests.filter((r) => r.path === path).map((r) => r.time);
      expect(second! - first!, `${path} waited for its Retry-After`).toBeGreaterThanOrEqual(900);
    }
    const { states } = readDb(storage, 'chaos');
    expect(states).toEqual({ [STATE.done]: N });
  });
});

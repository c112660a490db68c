/**
 * Stopping and resuming the real CLI: SIGKILL at several points, SIGINT, a
 * crashing spider, and a second crawl on the same database. Each test has its
 * own local site, spiders folder and storage folder, so they run concurrently.
 */
import { describe, expect, it } from 'vitest';
import { lines, runCli, spawnCli, stackLines, waitFor, type CliProcess, type CliResult } from './helpers/cli.js';
import { canonical, readDb, type DbSnapshot } from './helpers/db.js';
import { siteProject, type SlowSite } from './helpers/site.js';

const setup = siteProject;

/** Stored items are a subset of the site's items, none twice. */
function expectPartial(snap: DbSnapshot, site: SlowSite): void {
  const stored = canonical(snap.items.map((i) => i.data));
  expect(new Set(stored).size).toBe(stored.length);
  const all = new Set(canonical(site.expected));
  for (const s of stored) expect(all.has(s), `unexpected item ${s}`).toBe(true);
}

/** The whole site is stored exactly once, in one finished run, and no request is left in flight. */
function expectComplete(snap: DbSnapshot, site: SlowSite): void {
  expect(snap.items).toHaveLength(site.expected.length);
  expect(canonical(snap.items.map((i) => i.data))).toEqual(canonical(site.expected));
  expect(new Set(snap.items.map((i) => i.requestId)).size).toBe(site.expected.length); // one item per page (bar the index)
  expect(snap.runs.map((r) => [r.id, r.status])).toEqual([[1, 'finished']]);
  expect(snap.states).toEqual({ 2: site.pages }); // every request done: none queued (0) or in flight (1)
}

/** What a stopped crawl left stored, checked to be a clean part of the site. */
function readPartial(storage: string, site: SlowSite): DbSnapshot {
  const snap = readDb(storage, 'site');
  expectPartial(snap, site);
  return snap;
}

/** The next run resumes run 1 and stores the whole site. */
async function expectResumesToCompletion(site: SlowSite, storage: string, args: string[]): Promise<void> {
  const done = await runCli(args, { timeoutMs: 30_000 });
  expect(done.code, done.stderr).toBe(0);
  expect(done.stderr).toMatch(/resuming run 1 of 'site'/);
  expectComplete(readDb(storage, 'site'), site);
}

/** Spawns the crawl and kills it with `signal` as the `n`-th page request of this process arrives. */
async function stopAtPageHit(site: SlowSite, args: string[], n: number, signal: NodeJS.Signals): Promise<CliResult> {
  const before = site.pageHits();
  let proc: CliProcess | undefined;
  let sent = false;
  site.onPageHit = (hits) => {
    if (!sent && hits - before >= n) {
      sent = true;
      proc!.child.kill(signal);
    }
  };
  proc = spawnCli(args, { timeoutMs: 30_000 });
  const result = await proc.result;
  site.onPageHit = undefined;
  expect(sent, `the crawl ended before its page request #${n}:\n${result.stderr}`).toBe(true);
  return result;
}

describe.concurrent('stop and resume', () => {
  it('resumes after SIGKILL at three different points and stores every item exactly once', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    const snapshots: DbSnapshot[] = [];

    // Kill 1: as soon as the crawler asks for robots.txt, i.e. before its first page is fetched.
    {
      let proc: CliProcess | undefined;
      let killed = false;
      site.onRobots = () => {
        if (!killed) {
          killed = true;
          proc!.child.kill('SIGKILL');
        }
      };
      proc = spawnCli(args(), { timeoutMs: 30_000 });
      const r = await proc.result;
      site.onRobots = undefined;
      expect(killed, r.stderr).toBe(true);
      expect(r.signal).toBe('SIGKILL');
      expect(r.stderr).toMatch(/starting run 1 of 'site'/);
      const snap = readDb(project.storage, 'site');
      expect(snap.runs.map((x) => [x.id, x.status])).toEqual([[1, 'running']]);
      expect(snap.items).toHaveLength(0);
      snapshots.push(snap);
    }

    // Kill 2 and 3: in the middle of the crawl, after 40 and then 150 more page requests.
    for (const n of [40, 150]) {
      const r = await stopAtPageHit(site, args(), n, 'SIGKILL');
      expect(r.signal).toBe('SIGKILL');
      expect(r.stderr).toMatch(/resuming run 1 of 'site'/);
      const snap = readDb(project.storage, 'site');
      expectPartial(snap, site);
      // Committed work survives the kill, and nothing stored before is lost.
      expect(snap.items.length).toBeGreaterThan(snapshots.at(-1)!.items.length);
      expect(snap.items.slice(0, snapshots.at(-1)!.items.length)).toEqual(snapshots.at(-1)!.items);
      // The request whose response never arrived is still marked in flight.
      expect(snap.states[1] ?? 0).toBeGreaterThan(0);
      expect(snap.runs).toHaveLength(1);
      snapshots.push(snap);
    }
    expect(snapshots[2]!.items.length).toBeLessThan(site.expected.length);

    // Run to the end.
    const last = await runCli(args(), { timeoutMs: 30_000 });
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toMatch(/resuming run 1 of 'site' \(\d+ requests were in flight\)/);
    expect(last.stderr).toMatch(/Finished run 1 of 'site'/);
    expectComplete(readDb(project.storage, 'site'), site);
  });

  it('stops gracefully on SIGINT (exit 130, says how to resume) and the next run completes the crawl', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    const r = await stopAtPageHit(site, args(), 60, 'SIGINT');
    expect(r.code, r.stderr).toBe(130);
    expect(r.signal).toBeNull();
    expect(r.stderr).toMatch(/SIGINT: stopping/);
    expect(r.stderr).toMatch(/Interrupted run 1 of 'site'/);
    expect(r.stderr).toMatch(/run `crawl site` again to resume/);
    expect(stackLines(r.stderr)).toEqual([]);

    const snap = readPartial(project.storage, site);
    expect(snap.items.length).toBeGreaterThan(0);
    expect(snap.items.length).toBeLessThan(site.expected.length);
    expect(snap.runs.map((x) => [x.id, x.status])).toEqual([[1, 'interrupted']]);
    expect(snap.states[1] ?? 0).toBe(0); // a graceful stop leaves nothing in flight

    await expectResumesToCompletion(site, project.storage, args());
  });

  it('keeps what was stored when the spider crashes the process, and the next run resumes', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    // workers=0: callbacks in the main thread, so the spider's uncaught exception takes the process down.
    const crashed = await runCli(args('-a', 'crashAt=12-5', '-s', 'workers=0'), { timeoutMs: 30_000 });
    expect(crashed.code, crashed.stderr).not.toBe(0);
    expect(crashed.stderr).toMatch(/spider crashed on purpose at 12-5/);

    const snap = readPartial(project.storage, site);
    expect(snap.items.length).toBeGreaterThan(30); // at least the lists were stored before item 12-5
    expect(snap.items.length).toBeLessThan(site.expected.length);
    expect(snap.runs.map((x) => x.status)).not.toContain('finished');

    await expectResumesToCompletion(site, project.storage, args());
  });

  it('survives a spider that crashes its parser worker: the worker is replaced and the crawl completes', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    const done = await runCli(args('-a', 'crashAt=12-5', '-s', 'workers=1'), { timeoutMs: 30_000 });
    expect(done.code, done.stderr).toBe(0);
    // The crash comes from a timer the callback left: while the worker parses other pages (named), or after its last (named too).
    expect(done.stderr).toMatch(/parser worker failed (while|after) parsing http:\/\/127\.0\.0\.1:\d+\/\S*.*: spider crashed on purpose at 12-5/);
    expectComplete(readDb(project.storage, 'site'), site);
  });

  it('ends a parser worker whose callback computes forever: that page fails callback:timeout, every other is stored', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    const done = await runCli(args('-a', 'blockAt=3-2', '-s', 'workers=1', '-s', 'callbackTimeoutMs=1000'), { timeoutMs: 40_000 });
    expect(done.code, done.stderr).toBe(0);
    const snap = readDb(project.storage, 'site');
    const ids = snap.items.map((i) => i.data.id);
    expect(ids).not.toContain('3-2');
    expect(snap.items).toHaveLength(site.expected.length - 1);
    expect(snap.states).toEqual({ 2: site.pages - 1, 3: 1 });
    expect(snap.runs.map((r) => r.status)).toEqual(['finished']);
  });

  it('refuses a second crawl of the same database while one runs (an export reads it meanwhile); the first finishes', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    let held = false;
    site.onPageHit = (n) => {
      if (n >= 10 && !held) {
        held = true;
        site.hold(); // keep the first crawl busy until the checks below are done
      }
    };
    const first = spawnCli(args(), { timeoutMs: 45_000 });
    await waitFor(() => held || first.child.exitCode !== null, 20_000, 'the first crawl to fetch 10 pages');
    expect(held, first.stderr()).toBe(true);

    const [second, exported] = await Promise.all([
      runCli(args(), { timeoutMs: 30_000 }),
      runCli(['export', 'site', '--storage', project.storage], { timeoutMs: 30_000 }),
    ]);
    expect(first.child.exitCode).toBeNull(); // still crawling

    expect(second.code, second.stderr).toBe(2);
    expect(lines(second.stderr)).toHaveLength(1);
    expect(second.stderr).toMatch(/^crawl: error: another crawl is using .*site\.sqlite/);
    expect(stackLines(second.stderr)).toEqual([]);

    // WAL mode lets readers in beside the crawl: the export gives what was committed so far.
    expect(exported.code, exported.stderr).toBe(0);
    expect(lines(exported.stdout).length).toBeLessThan(site.expected.length);

    site.onPageHit = undefined;
    site.release();
    const r = await first.result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/resuming/);
    expectComplete(readDb(project.storage, 'site'), site);
  });
});

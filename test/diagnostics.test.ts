/**
 * What a user sees while a crawl goes wrong, through the real CLI against
 * servers on 127.0.0.1: `crawl runs` and `crawl export` beside a running
 * crawl, the crawl lock after kill -9, `crawl failures`, retries of start
 * URLs and robots.txt, a run that fetched nothing, unread `-a` keys,
 * `--version` and "did you mean".
 */
import { describe, expect, it } from 'vitest';
import { lines, runCli, spawnCli, stackLines, waitFor } from './helpers/cli.js';
import { readDb } from './helpers/db.js';
import { siteProject } from './helpers/site.js';

describe.concurrent('reading a database while a crawl runs', () => {
  it('crawl runs and crawl export work during a crawl; a second crawl is refused; after kill -9 the lock is gone', async (ctx) => {
    const { site, project, args } = await siteProject(ctx);
    let held = false;
    site.onPageHit = (n) => {
      if (n >= 60 && !held) {
        held = true;
        site.hold(); // the crawl waits on the server, with 60 pages' worth committed or nearly
      }
    };
    const first = spawnCli(args(), { timeoutMs: 45_000 });
    await waitFor(() => held || first.child.exitCode !== null, 20_000, 'the crawl to fetch 60 pages');
    expect(held, first.stderr()).toBe(true);
    // The periodic stats save (every 2 s) has run at least once.
    await new Promise((r) => setTimeout(r, 2_500));

    const [runs, exported, second] = await Promise.all([
      runCli(['runs', 'site', '--storage', project.storage, '--json'], { timeoutMs: 20_000 }),
      runCli(['export', 'site', '--storage', project.storage], { timeoutMs: 20_000 }),
      runCli(args(), { timeoutMs: 20_000 }),
    ]);
    expect(first.child.exitCode).toBeNull(); // still crawling

    expect(runs.code, runs.stderr).toBe(0);
    const [run] = lines(runs.stdout).map((l) => JSON.parse(l) as { id: number; status: string; items: number });
    expect(run).toMatchObject({ id: 1, status: 'running' });
    expect(run!.items).toBeGreaterThan(10);

    expect(exported.code, exported.stderr).toBe(0);
    const items = lines(exported.stdout).map((l) => JSON.parse(l) as { kind: string });
    expect(items.length).toBeGreaterThan(10);
    expect(items.length).toBeLessThan(site.expected.length);

    expect(second.code, second.stderr).toBe(2);
    expect(lines(second.stderr)).toEqual([expect.stringMatching(/^crawl: error: another crawl is using .*site\.sqlite/)]);
    expect(stackLines(second.stderr)).toEqual([]);

    // kill -9 while the lock is held: the OS drops it, and the next crawl resumes and finishes.
    first.child.kill('SIGKILL');
    expect((await first.result).signal).toBe('SIGKILL');
    site.onPageHit = undefined;
    site.release();
    const resumed = await runCli(args(), { timeoutMs: 30_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming run 1 of 'site'/);
    expect(readDb(project.storage, 'site').items).toHaveLength(site.expected.length);
  });
});

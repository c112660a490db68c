/**
 * `crawl NAME -o FILE`: items reach the file while the crawl runs, the file is
 * valid after one Ctrl-C and after two (the second exits at once), and a
 * resumed run's file ends up with every item of the run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { spawnCli, waitFor } from './helpers/cli.js';
import { canonical, readDb } from './helpers/db.js';
import { siteProject } from './helpers/site.js';


const jsonLines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.endsWith('}'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];

const setup = (ctx: TestContext) => siteProject(ctx, { lists: 12, perList: 10, delayMs: 15 });

describe('crawl -o', () => {
  it('writes items as they are stored, and a valid JSON array after Ctrl-C', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    const file = join(project.dir, 'items.json');
    const cli = spawnCli(args('-o', file));
    // Items are in the file while the crawl is still fetching: the first lines of the array.
    await waitFor(() => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length > 20 : false), 20_000, 'items in the file');
    expect(site.pageHits()).toBeLessThan(site.pages);
    expect(readFileSync(file, 'utf8').startsWith('[\n{')).toBe(true);
    cli.child.kill('SIGINT');
    const r = await cli.result;
    expect(r.code, r.stderr).toBe(130);
    const items = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    const stored = readDb(project.storage, 'site').items.map((i) => i.data);
    expect(items.length).toBeGreaterThan(0);
    expect(items.length).toBeLessThan(site.expected.length);
    expect(canonical(items)).toEqual(canonical(stored));
  });

  it('ends the file validly on a second Ctrl-C, with only stored items in it', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    const file = join(project.dir, 'items.json');
    const cli = spawnCli(args('-o', file));
    await waitFor(() => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length > 20 : false), 20_000, 'items in the file');
    // Requests arriving from now on hang, so the first Ctrl-C cannot finish and the second one exits. One must have
    // arrived before the first Ctrl-C: on a loaded machine the requests answered before hold() could be all there were.
    const hits = site.pageHits();
    site.hold();
    await waitFor(() => site.pageHits() > hits, 10_000, 'a request to be held');
    cli.child.kill('SIGINT');
    await waitFor(() => /stopping/.test(cli.stderr()), 10_000, 'the first Ctrl-C to be seen');
    cli.child.kill('SIGINT');
    const r = await cli.result;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/exiting now/);
    const items = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    const stored = new Set(canonical(readDb(project.storage, 'site').items.map((i) => i.data)));
    expect(items.length).toBeGreaterThan(0);
    for (const item of canonical(items)) expect(stored.has(item), item).toBe(true);
  });

  it('writes every item of a resumed run', async (ctx) => {
    const { site, project, args } = await setup(ctx);
    const first = spawnCli(args());
    site.onPageHit = (n) => {
      if (n === 40) first.child.kill('SIGINT');
    };
    expect((await first.result).code).toBe(130);
    site.onPageHit = undefined;
    const file = join(project.dir, 'all.jsonl');
    const second = spawnCli(args('-o', file));
    const r = await second.result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming run 1/);
    expect(canonical(jsonLines(file))).toEqual(canonical(site.expected));
  });
});

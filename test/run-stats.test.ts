/**
 * Stats and limits that tell the truth after a kill, through the real CLI
 * against servers on 127.0.0.1: the run's counters after kill -9 and resume,
 * `maxItems` exact (uninterrupted and across kills), and a summary that says
 * a run stopped at a limit and what it left queued.
 */
import { describe, expect, it } from 'vitest';
import { CRAWLKIT, lines, runCli, spawnCli, tempProject, type CliProcess } from './helpers/cli.js';
import { canonical, readDb } from './helpers/db.js';
import { startServer } from './helpers/server.js';
import { siteProject, type SlowSite } from './helpers/site.js';

/** Runs the crawl and kills it (SIGKILL) as its `n`-th page request arrives. */
async function killAtPageHit(site: SlowSite, args: string[], n: number): Promise<void> {
  const before = site.pageHits();
  let proc: CliProcess | undefined;
  site.onPageHit = (hits) => {
    if (hits - before === n) proc!.child.kill('SIGKILL');
  };
  proc = spawnCli(args, { timeoutMs: 30_000 });
  const r = await proc.result;
  site.onPageHit = undefined;
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

interface RunJson {
  id: number;
  status: string;
  stoppedAt: string | null;
  pages: number;
  items: number;
  failed: number;
  stats: Record<string, unknown>;
}

async function runsJson(storage: string, spider = 'site'): Promise<RunJson[]> {
  const r = await runCli(['runs', spider, '--storage', storage, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return lines(r.stdout).map((l) => JSON.parse(l) as RunJson);
}

describe.concurrent('stats after kill -9', () => {
  it('crawl runs gives the stored items, pages and failures after two kills, before and after the resume', async (ctx) => {
    const { site, project, args } = await siteProject(ctx, { lists: 30, perList: 10 });
    // Both kills come before the first periodic save of the stats (every 2 s) has counted everything.
    await killAtPageHit(site, args(), 80);
    const killed = readDb(project.storage, 'site');
    const [run] = await runsJson(project.storage);
    expect(run).toMatchObject({ id: 1, status: 'running', items: killed.items.length, pages: killed.states[2] });

    await killAtPageHit(site, args(), 120);
    const done = await runCli(args(), { timeoutMs: 30_000 });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/resuming run 1/);
    const snap = readDb(project.storage, 'site');
    expect(snap.items).toHaveLength(site.expected.length);
    const [finished] = await runsJson(project.storage);
    expect(finished).toMatchObject({ status: 'finished', items: site.expected.length, pages: site.pages, failed: 0 });
    // The summary printed at the end says the same.
    expect(done.stderr).toMatch(new RegExp(`items +${site.expected.length}\\n`));
    expect(done.stderr).toMatch(new RegExp(`pages +${site.pages} parsed`));
  });
});

/** A site of pages that each yield `perPage` items and link to the next three pages. */
const manySpider = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Many extends Spider {
  override name = 'many';
  override startUrls = [this.arg('start')];
  override async *parse(res: Response) {
    const n = Number(new URL(res.url).pathname.slice(3));
    for (let i = 0; i < 7; i++) yield { page: n, i };
    yield* res.followAll('a');
  }
}
`;

describe.concurrent('maxItems', () => {
  it('stores exactly maxItems: the page that crosses it keeps the items up to the limit; the summary says so and what was left queued', async (ctx) => {
    const server = await startServer((req, res) => {
      const n = Number(/^\/p\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
      const links = [1, 2, 3].map((k) => `<a href="/p/${n * 3 + k}">next</a>`).join('');
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body>${links}</body></html>`), 5);
    });
    ctx.onTestFinished(() => server.close());
    const project = await tempProject({ many: manySpider });
    ctx.onTestFinished(() => project.cleanup());
    const r = await runCli(['many', '-a', `start=${server.url}/p/0`, '--spiders', project.spiders, '--storage', project.storage, '-s', 'obeyRobots=false', '-s', 'maxItems=100', '-s', 'concurrency=8']);
    expect(r.code, r.stderr).toBe(0);

    const snap = readDb(project.storage, 'many');
    expect(snap.items).toHaveLength(100);
    expect(new Set(canonical(snap.items.map((i) => i.data))).size).toBe(100);
    // 100 is not a multiple of 7: one page kept only its first items.
    const perPage = new Map<number, number>();
    for (const i of snap.items) perPage.set(i.data.page as number, (perPage.get(i.data.page as number) ?? 0) + 1);
    expect([...perPage.values()].filter((n) => n !== 7)).toEqual([100 % 7]);

    const queued = snap.states[0] ?? 0;
    expect(queued).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/Finished run 1 of 'many' \(stopped at maxItems=100\):/);
    const stopped = /stopped +at maxItems=100: ([\d,]+) requests left queued, not fetched; ([\d,]+) items past the limit not stored/.exec(r.stderr);
    expect(stopped, r.stderr).not.toBeNull();
    expect(Number(stopped![1]!.replace(/,/g, ''))).toBe(queued);
    expect(Number(stopped![2]!)).toBeGreaterThanOrEqual(7 - (100 % 7));

    const [run] = await runsJson(project.storage, 'many');
    expect(run).toMatchObject({ status: 'finished', stoppedAt: 'maxItems=100', items: 100 });
    const table = await runCli(['runs', 'many', '--storage', project.storage]);
    expect(lines(table.stdout)[1]).toMatch(/ finished at maxItems=100 /);
    // The run is finished: the next crawl is a new run, with a budget of its own.
    const again = await runCli(['many', '-a', `start=${server.url}/p/0`, '--spiders', project.spiders, '--storage', project.storage, '-s', 'obeyRobots=false', '-s', 'maxItems=10']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/starting run 2 of 'many'/);
    expect(readDb(project.storage, 'many').items.filter((i) => i.runId === 2)).toHaveLength(10);
  });

  it('maxRequests: the summary and crawl runs say the run stopped there, and what it left queued', async (ctx) => {
    const server = await startServer((req, res) => {
      const n = Number(/^\/p\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
      res.writeHead(200, { 'content-type': 'text/html' }).end([1, 2, 3].map((k) => `<a href="/p/${n * 3 + k}">next</a>`).join(''));
    });
    ctx.onTestFinished(() => server.close());
    const project = await tempProject({ many: manySpider });
    ctx.onTestFinished(() => project.cleanup());
    const r = await runCli(['many', '-a', `start=${server.url}/p/0`, '--spiders', project.spiders, '--storage', project.storage, '-s', 'obeyRobots=false', '-s', 'maxRequests=5']);
    expect(r.code, r.stderr).toBe(0);
    const snap = readDb(project.storage, 'many');
    expect(snap.states[2]).toBe(5);
    expect(r.stderr).toMatch(/Finished run 1 of 'many' \(stopped at maxRequests=5\):/);
    expect(r.stderr).toMatch(new RegExp(`stopped +at maxRequests=5: ${snap.states[0]} requests left queued, not fetched\n`));
    const [run] = await runsJson(project.storage, 'many');
    expect(run).toMatchObject({ status: 'finished', stoppedAt: 'maxRequests=5', pages: 5 });
  });

  it('stores exactly maxItems across two kills and a resume', async (ctx) => {
    const { site, project, args } = await siteProject(ctx, { lists: 30, perList: 10 });
    const limited = () => args('-s', 'maxItems=200');
    await killAtPageHit(site, limited(), 90);
    await killAtPageHit(site, limited(), 90);
    const done = await runCli(limited(), { timeoutMs: 30_000 });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/resuming run 1/);
    expect(done.stderr).toMatch(/stopped at maxItems=200/);
    const snap = readDb(project.storage, 'site');
    expect(snap.items).toHaveLength(200);
    expect(new Set(canonical(snap.items.map((i) => i.data))).size).toBe(200);
    const [run] = await runsJson(project.storage);
    expect(run).toMatchObject({ status: 'finished', stoppedAt: 'maxItems=200', items: 200 });
  });
});

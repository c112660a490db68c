/**
 * `render: 'auto'` (issue 14) through the real `crawl` CLI, against the /auto/
 * pages of test/fixtures/rendered.ts on 127.0.0.1: /static/N has its quote in
 * the HTML, /dynamic/N has it written by script. The README's example
 * (examples/spiders/auto.ts) is the spider run. The static pattern goes
 * HTTP-only, the dynamic one to the browser, every item is right and stored
 * once; the decisions survive a kill -9 and a resume; a static page that
 * starts being script-written is caught by a recheck. Without a Chromium the
 * tests skip, and their title says so.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from './helpers/browser.js';
import { renderedSite } from './fixtures/rendered.js';
import { CRAWLKIT, ROOT, runCli, spawnCli, tempProject, waitFor } from './helpers/cli.js';
import { dbFile, readDb } from './helpers/db.js';
import { hasRedis, startRedis, type TestRedis } from './helpers/redis.js';
import { serveSite, type TestServer } from './helpers/server.js';

const EXAMPLES = join(ROOT, 'examples', 'spiders');
const PAGES = 6;

/** The example, but slower per page (a kill lands mid-crawl) and on a site whose static pages are script-written from /static/7 on. */
const slowAuto = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class SlowAuto extends Spider {
  override name = 'slowauto';
  override startUrls = [this.arg('base') + 'auto/'];
  override render = 'auto' as const;
  override async *parse(res: Response) {
    yield* res.followAll('a', 'parseQuote');
  }
  async *parseQuote(res: Response) {
    await new Promise((r) => setTimeout(r, Number(this.arg('pauseMs', '0'))));
    for (const q of res.$('div.quote')) yield { page: new URL(res.url).pathname, text: res.$(q).find('.text').text() };
  }
}
`;
const badRender = `import { Spider } from ${JSON.stringify(CRAWLKIT)};
export default class Bad extends Spider {
  override name = 'bad';
  override startUrls = ['http://127.0.0.1:9/'];
  override render = 'sometimes' as never;
}
`;

let site: TestServer;
let changing: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;

beforeAll(async () => {
  site = await serveSite(renderedSite({ autoPages: PAGES }));
  changing = await serveSite(renderedSite({ autoPages: 12, scriptFrom: 7 }));
  project = await tempProject({ slowauto: slowAuto, bad: badRender });
});
afterAll(async () => {
  await Promise.all([site?.close(), changing?.close(), project?.cleanup()]);
});

interface PatternRow {
  pattern: string;
  mode: string;
  pages: number;
  compared: number;
  agreed: number;
  rechecked: number;
  differed: number;
}

/** The stored render patterns of the spider's latest run, by the path part of the pattern. */
function patterns(storage: string, spider: string): Record<string, PatternRow> {
  const db = new Database(dbFile(storage, spider), { readonly: true });
  try {
    const rows = db.prepare('SELECT * FROM render_patterns WHERE run_id = (SELECT MAX(id) FROM runs)').all() as PatternRow[];
    return Object.fromEntries(rows.map((r) => [r.pattern.slice(r.pattern.indexOf('/')), r]));
  } finally {
    db.close();
  }
}

const quotesOf = (items: { data: Record<string, unknown> }[]) => items.map((i) => `${String(i.data.page)} ${String(i.data.text)}`).sort();
const expected = (kinds: [string, number][], pages: number[]) =>
  kinds.flatMap(([kind, base]) => pages.map((n) => `/${kind}/${n} Rendered quote ${base + n}.`)).sort();
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

it("refuses a spider whose render is not one, in one line", async () => {
  const run = await runCli(['run', 'bad', '--spiders', project.spiders, '--storage', join(project.dir, 'bad')]);
  expect(run.code).not.toBe(0);
  expect(run.stderr).toMatch(/crawl: error: spider 'bad': render must be true, false, 'auto' or \{ waitFor, timeoutMs \}, not "sometimes"/);
});

describe.skipIf(!hasChromium)(hasChromium ? "render: 'auto'" : "render: 'auto': SKIPPED, no Chromium on PATH (apt-get install chromium)", () => {
  it('sends the pattern whose pages are script-written to the browser, the other over HTTP; every item right and stored once', async () => {
    const storage = join(project.dir, 'example');
    const run = await runCli(['run', 'auto', '--spiders', EXAMPLES, '--storage', storage, '-a', `base=${site.url}/`, '-s', 'browser.autoLearnPages=2', '-s', 'concurrency=2'], { timeoutMs: 90_000 });
    expect(run.code, run.stderr).toBe(0);
    const { items } = readDb(storage, 'auto');
    expect(quotesOf(items)).toEqual(expected([['static', 200], ['dynamic', 300]], range(1, PAGES)));
    const p = patterns(storage, 'auto');
    expect(p['/static/:id']).toMatchObject({ mode: 'http', pages: PAGES, differed: 0 });
    expect(p['/static/:id']!.agreed).toBe(p['/static/:id']!.compared);
    expect(p['/static/:id']!.compared).toBeGreaterThanOrEqual(2);
    expect(p['/dynamic/:id']).toMatchObject({ mode: 'browser', pages: PAGES });
    expect(p['/dynamic/:id']!.agreed).toBeLessThan(p['/dynamic/:id']!.compared);
    // HTTP-only static pages were not rendered: fewer renders than pages (the index and the learning pages are, and,
    // two pages in flight at once, a static page begun before the second comparison ended).
    const rendered = Number(/browser +(\d+) pages rendered/.exec(run.stderr)?.[1]);
    expect(rendered).toBeLessThan(2 * PAGES + 1);
    // The summary, per pattern: mode, pages, agreement; and the stats of `crawl runs --json`.
    expect(run.stderr).toMatch(new RegExp(`render +127\\.0\\.0\\.1:${site.port}/\\S+ +\\w+ +${PAGES} pages \\(\\d+/\\d+ agreed\\)`));
    expect(run.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${site.port}/static/:id +http +${PAGES} pages \\(${p['/static/:id']!.agreed}/${p['/static/:id']!.compared} agreed\\)`));
    const runs = await runCli(['runs', 'auto', '--storage', storage, '--json']);
    const stats = JSON.parse(runs.stdout.trim().split('\n').at(-1)!).stats;
    expect(stats.renderPatternCount).toBe(3);
    expect(stats.renderPatterns.map((r: PatternRow) => [r.pattern.slice(r.pattern.indexOf('/')), r.mode]).slice(0, 2).sort()).toEqual([
      ['/dynamic/:id', 'browser'],
      ['/static/:id', 'http'],
    ]);
  });

  it('keeps its decisions across a kill -9: the resumed run learns nothing again', async () => {
    const storage = join(project.dir, 'resume');
    const args = ['run', 'slowauto', '--spiders', project.spiders, '--storage', storage, '-a', `base=${site.url}/`, '-a', 'pauseMs=300', '-s', 'browser.autoLearnPages=2', '-s', 'concurrency=1'];
    const first = spawnCli(args, { timeoutMs: 90_000 });
    await waitFor(() => /dynamic\/:id needs the browser/.test(first.stderr()) && /static\/:id goes over HTTP/.test(first.stderr()), 60_000, 'both decisions');
    // The decisions are written within a second.
    await waitFor(() => patterns(storage, 'slowauto')['/dynamic/:id']?.mode === 'browser', 5_000, 'the decisions stored');
    first.child.kill('SIGKILL');
    const killed = await first.result;
    expect(killed.signal).toBe('SIGKILL');
    const before = patterns(storage, 'slowauto');
    expect(before['/static/:id']?.mode).toBe('http');

    const second = await runCli(args, { timeoutMs: 90_000 });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming run 1/);
    expect(second.stderr).not.toMatch(/goes over HTTP|needs the browser/);
    const after = patterns(storage, 'slowauto');
    // Nothing compared again; the page counts go on from what was stored (approximate across a kill -9: the pages of its
    // last second may be lost, or counted again when the page had not been committed).
    for (const kind of ['/static/:id', '/dynamic/:id']) {
      expect(after[kind]).toMatchObject({ mode: before[kind]!.mode, compared: before[kind]!.compared, agreed: before[kind]!.agreed });
      expect(after[kind]!.pages).toBeGreaterThanOrEqual(before[kind]!.pages);
    }
    expect(after['/dynamic/:id']!.pages + after['/static/:id']!.pages).toBeGreaterThan(before['/dynamic/:id']!.pages + before['/static/:id']!.pages);
    const { items } = readDb(storage, 'slowauto');
    expect(quotesOf(items)).toEqual(expected([['static', 200], ['dynamic', 300]], range(1, PAGES)));
  });

  it.skipIf(!hasRedis)('shares its decisions through Redis with a cluster (--frontier): a worker that takes over learns nothing again', async () => {
    let redis: TestRedis | undefined;
    try {
      redis = await startRedis();
      const args = ['run', 'slowauto', '--spiders', project.spiders, '--frontier', redis.url, '-a', `base=${site.url}/`, '-a', 'pauseMs=400'];
      const settings = ['-s', 'browser.autoLearnPages=2', '-s', 'concurrency=1', '-s', 'frontierLeaseMs=2000'];
      const first = spawnCli([...args, ...settings], { timeoutMs: 90_000 });
      await waitFor(() => /dynamic\/:id needs the browser/.test(first.stderr()) && /static\/:id goes over HTTP/.test(first.stderr()), 60_000, 'both decisions');
      // Written to the run's hash within a second; then the worker dies, and another takes its requests over.
      await new Promise((r) => setTimeout(r, 1_500));
      first.child.kill('SIGKILL');
      await first.result;
      const second = await runCli([...args, ...settings], { timeoutMs: 90_000 });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/joining run 1/);
      // It fetched the rest (the dynamic pages among them: in the browser), deciding nothing: the decisions were the run's.
      expect(Number(/browser +(\d+) pages rendered/.exec(second.stderr)?.[1] ?? 0)).toBeGreaterThan(0);
      expect(second.stderr).not.toMatch(/goes over HTTP|needs the browser/);
      const exported = await runCli(['export', 'slowauto', '--frontier', redis.url]);
      const items = exported.stdout.trim().split('\n').map((l) => ({ data: JSON.parse(l) as Record<string, unknown> }));
      expect(quotesOf(items)).toEqual(expected([['static', 200], ['dynamic', 300]], range(1, PAGES)));
      const runs = await runCli(['runs', 'slowauto', '--frontier', redis.url, '--json']);
      const stats = JSON.parse(runs.stdout.trim().split('\n').at(-1)!).stats;
      const modes = Object.fromEntries(stats.renderPatterns.map((r: PatternRow) => [r.pattern.slice(r.pattern.indexOf('/')), r.mode]));
      expect(modes).toMatchObject({ '/static/:id': 'http', '/dynamic/:id': 'browser' });
    } finally {
      await redis?.stop();
    }
  });

  it('catches a pattern that starts needing the browser by rechecking 1 page in autoRecheckEvery', async () => {
    const storage = join(project.dir, 'recheck');
    // One page at a time, in link order: /static/1 and 2 learn (same both ways), 3 to 6 are HTTP-only (4 and 6 rechecked, the same),
    // 7 on are script-written: 7 goes over HTTP unseen, 8 is rechecked, differs, and the pattern goes to the browser.
    const args = ['run', 'slowauto', '--spiders', project.spiders, '--storage', storage, '-a', `base=${changing.url}/`];
    const run = await runCli([...args, '-s', 'browser.autoLearnPages=2', '-s', 'browser.autoRecheckEvery=2', '-s', 'concurrency=1'], { timeoutMs: 90_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/static\/:id needs the browser: http:\/\/127\.0\.0\.1:\d+\/static\/(\d+) gave other items or links over HTTP/);
    const caughtAt = Number(/static\/(\d+) gave other items/.exec(run.stderr)![1]);
    expect(caughtAt).toBeGreaterThanOrEqual(7);
    const p = patterns(storage, 'slowauto');
    expect(p['/static/:id']).toMatchObject({ mode: 'browser', differed: 1, pages: 12 });
    expect(p['/static/:id']!.agreed).toBe(p['/static/:id']!.compared);
    expect(p['/static/:id']!.rechecked).toBeGreaterThanOrEqual(2);
    expect(run.stderr).toMatch(/static\/:id +browser +12 pages \((\d+)\/\1 agreed, \d+ rechecked, 1 differed\)/);
    // The page caught, and those fetched once the pattern had gone to the browser, have their items (the browser's); a page
    // fetched over HTTP and parsed while the recheck was under way keeps what HTTP gave (nothing), as those before it.
    const { items } = readDb(storage, 'slowauto');
    const statics = quotesOf(items).filter((q) => q.startsWith('/static/'));
    for (const n of [...range(1, 6), caughtAt, 12]) expect(statics).toContain(`/static/${n} Rendered quote ${200 + n}.`);
    expect(statics.length).toBeGreaterThanOrEqual(9);
  });
});

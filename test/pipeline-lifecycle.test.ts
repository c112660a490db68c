/**
 * Pipelines with a lifecycle, through the real CLI: an object pipeline that
 * opens a file in open(), writes each item to it in process() and closes it
 * in close(). In each thread that runs callbacks (workers=2: two workers;
 * workers=0: the main thread; crawl parse) open and close are called once,
 * around every item, and every item is processed once, Ctrl-C included. An
 * open() that throws stops the crawl in one line; a close() that throws is a warning.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRAWLKIT, lines, runCli, spawnCli, stackLines, tempProject, waitFor } from './helpers/cli.js';
import { checkLifecycle, recorderEvents, recorderSource } from './helpers/recorder.js';
import { startServer, type TestServer } from './helpers/server.js';

const PAGES = 20;

/** Writes `{ event, thread, page? }` lines to `-a out=FILE`, through a descriptor only open() opens. */
const recorderSpider = `${recorderSource}
import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};

export default class Piped extends Spider {
  override name = 'piped';
  override startUrls = [this.arg('start')];
  override pipelines = [(item: Record<string, unknown>) => ({ ...item, seen: true }), new Recorder(this.arg('out'))];
  override settings = { obeyRobots: false, retry: { maxAttempts: 1 } };
  override async *parse(res: Response) {
    yield { page: new URL(res.url).pathname };
    yield* res.followAll('a[href]');
  }
}
`;

/** A pipeline that fails as -a fail= says: in open(), in close(), or by not being one. */
const brokenSource = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
const fail = (where: string) => { throw new Error('no database at ' + where); };
export default class Broken extends Spider {
  override name = 'broken';
  override startUrls = [this.arg('start')];
  kind = this.arg('fail');
  override pipelines = this.kind === 'entry' ? [42 as never] : [{
    name: 'store',
    open: () => (this.kind === 'open' ? fail('open') : undefined),
    process: (item: Record<string, unknown>) => item,
    close: () => (this.kind === 'close' ? fail('close') : undefined),
  }];
  override settings = { obeyRobots: false, retry: { maxAttempts: 1 } };
  override async *parse(res: Response) {
    yield { page: new URL(res.url).pathname };
  }
}
`;

/**
 * Its worker dies on /p/1 the first time (leaving a marker file); a worker
 * started after that cannot open its pipeline, so the pages go to the other.
 */
const phoenixSource = `import { existsSync, writeFileSync } from 'node:fs';
import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Phoenix extends Spider {
  override name = 'phoenix';
  override startUrls = [this.arg('start')];
  marker = this.arg('marker');
  override pipelines = [{ name: 'reopen', open: () => { if (existsSync(this.marker)) throw new Error('refused after a crash'); }, process: (item: Record<string, unknown>) => item }];
  override settings = { obeyRobots: false, workers: 2 };
  override async *parse(res: Response) {
    const page = new URL(res.url).pathname;
    if (page === '/p/1' && !existsSync(this.marker)) {
      writeFileSync(this.marker, 'crashed');
      process.exit(1); // in a worker thread: ends the thread
    }
    yield { page };
    yield* res.followAll('a[href]');
  }
}
`;

const events = recorderEvents;

const allPages = ['/', ...Array.from({ length: PAGES }, (_, i) => `/p/${i + 1}`)].sort();

describe('pipeline objects with open() and close()', () => {
  let server: TestServer;
  let project: Awaited<ReturnType<typeof tempProject>>;
  let slowMs = 0;
  beforeAll(async () => {
    server = await startServer(async (req, res) => {
      if (slowMs && req.url !== '/') await new Promise((r) => setTimeout(r, slowMs));
      const links = req.url === '/' ? Array.from({ length: PAGES }, (_, i) => `<a href="/p/${i + 1}">${i + 1}</a>`).join('') : '';
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body>${links}</body></html>`);
    });
    project = await tempProject({ piped: recorderSpider, broken: brokenSource, phoenix: phoenixSource });
  });
  afterAll(async () => {
    await server?.close();
    await project?.cleanup();
  });
  const base = (spider: string, storage: string, ...extra: string[]) => [spider, '-a', `start=${server.url}/`, '--spiders', project.spiders, '--storage', join(project.dir, storage), ...extra];

  it.each([
    ['workers=2', 2],
    ['workers=0', 0],
  ])('%s: open and close once per thread, every item processed once', async (label, workers) => {
    const out = join(project.dir, `events-${workers}.jsonl`);
    const r = await runCli(base('piped', `storage-${workers}`, '-a', `out=${out}`, '-s', `workers=${workers}`, '-L', 'warn'), { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const { threads, pages } = checkLifecycle(events(out));
    expect(pages).toEqual(allPages);
    if (workers === 0) expect(threads).toEqual([0]);
    else {
      expect(threads).toHaveLength(2);
      expect(threads).not.toContain(0);
    }
    const exported = await runCli(['export', 'piped', '--storage', join(project.dir, `storage-${workers}`)]);
    expect(lines(exported.stdout).map((l) => JSON.parse(l) as { page: string; seen: boolean }).map((i) => i.page).sort()).toEqual(allPages);
  });

  it('crawl parse opens and closes them around the page', async () => {
    const out = join(project.dir, 'events-parse.jsonl');
    const r = await runCli(['parse', 'piped', `${server.url}/`, '-a', `start=${server.url}/`, '-a', `out=${out}`, '--spiders', project.spiders, '-s', 'obeyRobots=false']);
    expect(r.code, r.stderr).toBe(0);
    expect(events(out)).toEqual([
      { event: 'open', thread: 0 },
      { event: 'item', thread: 0, page: '/' },
      { event: 'close', thread: 0 },
    ]);
  });

  it('Ctrl-C closes them too', async () => {
    const out = join(project.dir, 'events-sigint.jsonl');
    slowMs = 300;
    try {
      const p = spawnCli(base('piped', 'storage-sigint', '-a', `out=${out}`, '-s', 'workers=1', '-s', 'concurrency=2', '-L', 'warn'), { timeoutMs: 30_000 });
      await waitFor(() => {
        try {
          return events(out).some((e) => e.event === 'item' && e.page !== '/');
        } catch {
          return false;
        }
      }, 20_000, 'a first item');
      p.child.kill('SIGINT');
      const r = await p.result;
      expect(r.code, r.stderr).toBe(130);
      const { threads, pages } = checkLifecycle(events(out));
      expect(threads).toHaveLength(1);
      expect(pages.length).toBeLessThan(allPages.length);
      expect(new Set(pages).size).toBe(pages.length);
    } finally {
      slowMs = 0;
    }
  });

  it.each([
    ['workers=2', 2],
    ['workers=0', 0],
  ])('%s: an open() that throws stops the crawl in one line naming the pipeline', async (label, workers) => {
    const fetched = server.hits.get('/') ?? 0;
    const r = await runCli(base('broken', `broken-${workers}`, '-a', 'fail=open', '-s', `workers=${workers}`), { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(lines(r.stderr).filter((l) => l.startsWith('crawl: error:'))).toEqual(['crawl: error: pipeline store failed to open: no database at open']);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(server.hits.get('/') ?? 0).toBe(fetched); // nothing was fetched
  });

  it('crawl parse with an open() that throws: the same line', async () => {
    const r = await runCli(['parse', 'broken', `${server.url}/`, '-a', `start=${server.url}/`, '-a', 'fail=open', '--spiders', project.spiders]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('crawl: error: pipeline store failed to open: no database at open\n');
  });

  it('an entry that is no pipeline is named before anything is fetched', async () => {
    const r = await runCli(base('broken', 'broken-entry', '-a', 'fail=entry', '-s', 'workers=0'), { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^crawl: error: spider 'broken': pipelines\[0\] is a number, not a pipeline \(a function, or an object with process\(\)\)$/m);
  });

  it('a restarted worker whose pipeline cannot open gets no pages: the others take them', async () => {
    const r = await runCli(base('phoenix', 'phoenix', '-a', `marker=${join(project.dir, 'crashed')}`, '-L', 'warn'), { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ERROR +a restarted parser worker could not start: pipeline reopen failed to open: refused after a crash/);
    const exported = await runCli(['export', 'phoenix', '--storage', join(project.dir, 'phoenix')]);
    expect(lines(exported.stdout).map((l) => (JSON.parse(l) as { page: string }).page).sort()).toEqual(allPages);
  });

  it.each([
    ['workers=1', 1],
    ['workers=0', 0],
  ])('%s: a close() that throws is a warning; the items are stored', async (label, workers) => {
    const r = await runCli(base('broken', `close-${workers}`, '-a', 'fail=close', '-s', `workers=${workers}`, '-L', 'warn'), { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/WARN +pipeline store failed to close: no database at close/);
    const exported = await runCli(['export', 'broken', '--storage', join(project.dir, `close-${workers}`)]);
    expect(lines(exported.stdout)).toHaveLength(1);
  });
});

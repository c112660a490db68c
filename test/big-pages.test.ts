/**
 * Big pages off the main thread, through the real CLI: with workers=0, a page
 * whose body is over `offThreadPageBytes` is parsed in a parser worker
 * started for it, the rest in the main thread. Its items are stored once and
 * its follow-ups crawled; the pipelines open and close in each thread used;
 * a worker whose pipeline cannot open fails the big page alone;
 * offThreadPageBytes=0 keeps every page in the main thread.
 */
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crawl as crawlIn, Spider, type CallbackResult, type Response } from '../src/index.js';
import { CRAWLKIT, lines, runCli, tempProject } from './helpers/cli.js';
import { checkLifecycle, recorderEvents, recorderSource } from './helpers/recorder.js';
import { startServer, type TestServer } from './helpers/server.js';

/** Distinct pages the big page links to, each many times over. */
const LEAVES = 50;
const SMALL = 5;

/** Yields `{ page, thread }`; `-a failInWorker=1`: its pipeline cannot open outside the main thread. */
const spiderSource = `${recorderSource}
import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};

export default class Big extends Spider {
  override name = 'big';
  override startUrls = [this.arg('start')];
  failInWorker = this.arg('failInWorker', '');
  override pipelines = [
    { name: 'guard', open: () => { if (this.failInWorker && threadId !== 0) throw new Error('no database here'); }, process: (item: Record<string, unknown>) => item },
    new Recorder(this.arg('out')),
  ];
  override settings = { obeyRobots: false, retry: { maxAttempts: 1 } };
  override async *parse(res: Response) {
    yield { page: new URL(res.url).pathname, thread: threadId };
    yield* res.followAll('a[href]');
  }
}
`;

/** About 1 MB of links to LEAVES pages, each many times over. */
function bigPage(): string {
  const parts: string[] = ['<html><body>'];
  for (let i = 0, size = 0; size < 1_000_000; i++) {
    const a = `<a href="/leaf/${i % LEAVES}">leaf ${i}</a>\n`;
    parts.push(a);
    size += a.length;
  }
  return parts.join('') + '</body></html>';
}

const small = ['/', ...Array.from({ length: SMALL }, (_, i) => `/s/${i}`), ...Array.from({ length: LEAVES }, (_, i) => `/leaf/${i}`)];

const all = [...small, '/big', '/big2'].sort();

interface Item {
  page: string;
  thread: number;
}

describe('big pages parsed off the main thread (workers=0)', () => {
  let server: TestServer;
  let project: Awaited<ReturnType<typeof tempProject>>;
  beforeAll(async () => {
    const big = bigPage();
    server = await startServer((req, res) => {
      const body = req.url === '/big' || req.url === '/big2' ? big : req.url === '/' ? `<a href="/big">big</a><a href="/big2">big</a>${Array.from({ length: SMALL }, (_, i) => `<a href="/s/${i}">s</a>`).join('')}` : '<p>small</p>';
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body>${body}</body></html>`);
    });
    project = await tempProject({ big: spiderSource });
  });
  afterAll(async () => {
    await server?.close();
    await project?.cleanup();
  });

  /** Crawls with `extra`; returns the exported items and the recorder's events. */
  const crawl = async (run: string, ...extra: string[]) => {
    const out = join(project.dir, `${run}.jsonl`);
    const storage = join(project.dir, run);
    const r = await runCli(['big', '-a', `start=${server.url}/`, '-a', `out=${out}`, '--spiders', project.spiders, '--storage', storage, '-s', 'workers=0', '-L', 'warn', ...extra], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const exported = await runCli(['export', 'big', '--storage', storage]);
    const items = lines(exported.stdout).map((l) => JSON.parse(l) as Item);
    return { items, events: recorderEvents(out), storage, stderr: r.stderr };
  };

  it('the big page in a worker thread, the small ones in the main thread; items once, its links crawled, pipelines opened in both', async () => {
    const { items, events } = await crawl('default');
    expect(items.map((i) => i.page).sort()).toEqual(all);
    // Both big pages in one worker, kept between them.
    const offThread = items.filter((i) => i.thread !== 0);
    expect(offThread.map((i) => i.page).sort()).toEqual(['/big', '/big2']);
    expect(new Set(offThread.map((i) => i.thread)).size).toBe(1);
    const { threads, pages } = checkLifecycle(events);
    expect(threads).toEqual([0, offThread[0]!.thread]);
    expect(pages).toEqual(all);
  });

  it('offThreadPageBytes=0: every page in the main thread', async () => {
    const { items, events } = await crawl('never', '-s', 'offThreadPageBytes=0');
    expect(items.map((i) => i.page).sort()).toEqual(all);
    expect(items.filter((i) => i.thread !== 0)).toEqual([]);
    expect(checkLifecycle(events).threads).toEqual([0]);
  });

  it('a worker whose pipeline cannot open fails the big page alone', async () => {
    const { items, storage, stderr } = await crawl('refused', '-a', 'failInWorker=1');
    expect(stderr).toMatch(/WARN +the parser worker for big pages could not start: pipeline guard failed to open: no database here/);
    expect(items.map((i) => i.page).sort()).toEqual(['/', ...Array.from({ length: SMALL }, (_, i) => `/s/${i}`)].sort());
    const failures = await runCli(['failures', 'big', '--storage', storage, '--json']);
    const failed = lines(failures.stdout).map((l) => JSON.parse(l) as { url: string; reason: string; message: string });
    // Both big pages failed, and they alone.
    expect(failed.map((f) => f.url).sort()).toEqual([`${server.url}/big`, `${server.url}/big2`]);
    for (const f of failed) expect(f).toMatchObject({ reason: 'callback:error', message: expect.stringContaining('pipeline guard failed to open: no database here') });
  });

  it('a bad value is refused in one line', async () => {
    const r = await runCli(['big', '-a', `start=${server.url}/`, '-a', 'out=x', '--spiders', project.spiders, '--storage', join(project.dir, 'bad'), '-s', 'offThreadPageBytes=-1']);
    expect(r.code).not.toBe(0);
    expect(lines(r.stderr).filter((l) => l.startsWith('crawl: error:'))).toEqual([`crawl: error: bad value for setting 'offThreadPageBytes': "-1" (expected a non-negative number)`]);
  });

  it('without the spider\'s module (crawl() in a program), every page in this thread', async () => {
    const pages: Item[] = [];
    class InProcess extends Spider {
      override name = 'inprocess';
      override startUrls = [`${server.url}/`];
      override async *parse(res: Response): AsyncIterable<CallbackResult> {
        pages.push({ page: new URL(res.url).pathname, thread: threadId });
        yield* res.followAll('a[href]');
      }
    }
    await crawlIn(new InProcess(), { settings: { storageDir: join(project.dir, 'inprocess'), obeyRobots: false, workers: 0, logLevel: 'silent' } }).run();
    expect(pages.map((p) => p.page).sort()).toEqual(all);
    expect(pages.filter((p) => p.thread !== threadId)).toEqual([]);
  });
});

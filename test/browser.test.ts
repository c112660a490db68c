/**
 * Rendering in a browser (issue 14) through the real `crawl` CLI, against the
 * fixture site of test/fixtures/rendered.ts on 127.0.0.1: quotes written by
 * script (at once, after 2 s, by infinite scroll, behind a "load more"
 * button), a page whose script calls another server (aborted, that server
 * never hit), robots.txt, --cache then --replay without a browser, a browser
 * killed mid-crawl, a crawl killed and resumed, a rendered page kept in the
 * main thread (with workers=0) whatever its size. The README's example
 * (examples/spiders/rendered.ts) is the spider run here. Without a Chromium the
 * browser's tests skip, and their title says so.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar } from 'tough-cookie';
import { hasChromium } from './helpers/browser.js';
import { createBrowserPool } from '../src/browser/pool.js';
import { defaultSettings } from '../src/settings.js';
import { API_PAGES, PER_PAGE, renderedSite } from './fixtures/rendered.js';
import { CRAWLKIT, ROOT, lines, runCli, stackLines, spawnCli, tempProject, waitFor } from './helpers/cli.js';
import { quiet } from './helpers/chain.js';
import { readDb } from './helpers/db.js';
import { serveSite, startServer, type TestServer } from './helpers/server.js';


const EXAMPLES = join(ROOT, 'examples', 'spiders');
const SLOW_PAGES = 6;
/**
 * How long a crawl of the slow pages may take: 5–15 s alone, but past 30 s to
 * the second page (and the 60 s test timeout) on a 2-core machine at a load of
 * 20 (node, tsx and Chromium starting with other helpers' benchmarks running). A deadline, not an assertion.
 */
const SLOW_CRAWL_MS = 120_000;

let site: TestServer;
let offsite: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;

/**
 * Renders every page (the spider's `render`, which does not wait for the quotes), the quote pages
 * waiting for their quote (their own `render`, which a redirect hop keeps: /slow/go/1 redirects).
 */
const slowSpider = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Slow extends Spider {
  override name = 'slow';
  override startUrls = [this.arg('base') + 'slow/'];
  override render = { waitFor: 'h1' };
  override async *parse(res: Response) {
    yield* res.followAll('a', 'parseQuote', { render: { waitFor: 'div.quote' } });
  }
  async *parseQuote(res: Response) {
    yield { url: res.url, text: res.$('div.quote .text').text(), rendered: res.page !== undefined };
  }
}
`;

/** /inline rendered, / not; yields the thread each ran in (`-s offThreadPageBytes=1`: both over it). */
const threadsSpider = `import { threadId } from 'node:worker_threads';
import { Spider, Request, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Threads extends Spider {
  override name = 'threads';
  override settings = { obeyRobots: false };
  override async *start() {
    yield new Request(this.arg('base') + 'inline', { render: true });
    yield new Request(this.arg('base'), { render: false });
  }
  override async *parse(res: Response) {
    yield { page: new URL(res.url).pathname, thread: threadId, live: res.page !== undefined };
  }
}
`;

beforeAll(async () => {
  offsite = await startServer((_req, res) => void res.end('seen'));
  // localhost: another host than the start URL's 127.0.0.1, so outside the crawl's scope.
  site = await serveSite(renderedSite({ offsite: `http://localhost:${offsite.port}/beacon`, slowPages: SLOW_PAGES }));
  project = await tempProject({ slow: slowSpider, threads: threadsSpider });
});
afterAll(async () => {
  await Promise.all([site?.close(), offsite?.close(), project?.cleanup()]);
});

/** The Chromium processes started under `root` (the browser, not its own children: killing it ends them). */
function browsersOf(root: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((r) => r.length >= 3)
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm: comm! }));
  const ours = new Set([root]);
  const found: number[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows)
      if (ours.has(r.ppid) && !ours.has(r.pid)) {
        ours.add(r.pid);
        grew = true;
        if (/chrom/i.test(r.comm) && !/chrom/i.test(rows.find((p) => p.pid === r.ppid)?.comm ?? '')) found.push(r.pid);
      }
  }
  return found;
}

const base = () => `${site.url}/`;
const byPage = (items: { data: Record<string, unknown> }[]) => {
  const out: Record<string, number> = {};
  for (const { data } of items) out[String(data.page)] = (out[String(data.page)] ?? 0) + 1;
  return out;
};

describe('rendering needs a browser: without one, one line names what to install', () => {
  it('fails at once, naming the Chromium to install or the path that is not there', async () => {
    const run = (...more: string[]) => runCli(['run', 'slow', '--spiders', project.spiders, '--storage', join(project.dir, more.length ? 'bad' : 'none'), '-a', `base=${base()}`, ...more], { env: { PATH: project.dir } });
    const [noPath, badPath] = await Promise.all([run(), run('-s', 'browser.executablePath=/nonexistent/chrome')]);
    expect(noPath.code).toBe(2);
    // One line says it, without a stack, before anything is fetched.
    expect(lines(noPath.stderr).filter((l) => /error/.test(l))).toEqual([
      'crawl: error: rendering needs a Chromium, and none of chromium, chromium-browser, google-chrome, google-chrome-stable is on PATH: apt-get install chromium, or -s browser.executablePath=/path/to/chrome',
    ]);
    expect(stackLines(noPath.stderr)).toEqual([]);
    expect(badPath.code).toBe(2);
    expect(badPath.stderr).toMatch(/browser\.executablePath "\/nonexistent\/chrome" is not an executable file/);
    expect(site.hits.get('/slow/') ?? 0).toBe(0);
  });
});

describe.skipIf(!hasChromium)(hasChromium ? 'rendering in a browser' : 'rendering in a browser: SKIPPED, no Chromium on PATH (apt-get install chromium)', () => {
  it('renders script-written, delayed, scrolled and load-more quotes; keeps the page in scope and obeys robots.txt; --replay needs no browser', async () => {
    const storage = join(project.dir, 'example');
    const args = ['run', 'rendered', '--spiders', EXAMPLES, '--storage', storage, '-a', `base=${base()}`];
    const run = await runCli([...args, '--cache'], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const all = API_PAGES * PER_PAGE;
    const first = readDb(storage, 'rendered');
    expect(byPage(first.items)).toEqual({ '/inline': 3, '/delayed': 3, '/scroll': all, '/more': all, '/beacon': 1 });
    expect(first.items.find((i) => i.data.page === '/delayed')?.data).toEqual({ page: '/delayed', text: 'Rendered quote 11.', author: 'Author 11' });
    // The page's call to another host was aborted: that server saw nothing, and the summary counts it.
    expect(offsite.requests).toHaveLength(0);
    expect(run.stderr).toMatch(/browser +5 pages rendered; requests they made aborted: .*offsite: 1/);
    // So was the image (browser.blockResources).
    expect(run.stderr).toMatch(/browser +5 pages rendered; requests they made aborted: .*resource: 1/);
    expect(site.hits.get('/pic.png') ?? 0).toBe(0);
    // robots.txt holds for a rendered request: never fetched, by HTTP or by the browser.
    expect(site.hits.get('/private/') ?? 0).toBe(0);
    expect(run.stderr).toMatch(/1 disallowed by robots\.txt/);
    // The page's own API calls went through crawlkit's fetch to the site.
    expect(site.hits.get('/api/quotes?page=3')).toBe(2);
    // ...saying the crawl's User-Agent, and with the cookie /scroll's document set (its Set-Cookie reached the browser).
    const api = site.requests.filter((r) => r.path.startsWith('/api/'));
    expect(new Set(api.map((r) => r.headers['user-agent']))).toEqual(new Set([site.requests.find((r) => r.path === '/')!.headers['user-agent']]));
    expect(api.some((r) => r.headers.cookie === 'scroll=1')).toBe(true);

    const hitsBefore = site.requests.length;
    const replay = await runCli([...args, '--replay', '-s', 'browser.executablePath=/nonexistent/chrome'], { env: { PATH: project.dir } });
    expect(replay.code, replay.stderr).toBe(0);
    expect(site.requests.length).toBe(hitsBefore);
    const replayed = readDb(storage, 'rendered').items.filter((i) => i.runId === 2);
    // The cache holds each page's DOM as rendered: the callbacks' own scrolls and clicks are not replayed.
    expect(byPage(replayed)).toEqual({ '/inline': 3, '/delayed': 3, '/scroll': PER_PAGE, '/more': PER_PAGE, '/beacon': 1 });
  });

  it("shares a session's cookies with the browser: the jar's go into the page's context, the page's come back", async () => {
    const jar = new CookieJar();
    jar.setCookieSync('sid=from-http; Path=/', base());
    const pool = createBrowserPool(defaultSettings.browser, quiet, 'testbot/1.0');
    try {
      const lease = await pool.open({ id: 's1', jar }, `${base()}inline`);
      await lease.page.goto(`${base()}inline`);
      expect(await lease.page.evaluate('document.cookie')).toBe('sid=from-http');
      expect(await lease.page.evaluate('navigator.userAgent')).toBe('testbot/1.0');
      await lease.page.evaluate("document.cookie = 'seen=from-page; path=/'");
      await lease.close();
      expect(jar.getCookieStringSync(base())).toBe('sid=from-http; seen=from-page');
      expect(pool.launches).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('replaces the browser after browser.restartAfterPages pages, closing the old one once its pages are closed', async () => {
    const pool = createBrowserPool({ ...defaultSettings.browser, restartAfterPages: 2, maxPages: 2 }, quiet, 'testbot/1.0');
    try {
      const [a, b] = await Promise.all([pool.open(undefined, base()), pool.open(undefined, base())]);
      const old = a.page.context().browser()!;
      await a.close();
      expect(old.isConnected()).toBe(true); // b still open in it
      const c = await pool.open(undefined, base());
      expect(c.page.context().browser()).not.toBe(old);
      await b.close();
      await waitFor(() => !old.isConnected(), 5_000, 'the old browser to close');
      await c.close();
      expect(pool.launches).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('crawl parse renders with --render [waitFor]; with browser.sameScopeRequests off the page reaches another host, but never navigates there', async () => {
    const args = ['parse', 'rendered', `${base()}leave`, '--spiders', EXAMPLES, '-a', `base=${base()}`, '-c', 'parseQuotes', '--json', '--render', 'div.quote'];
    const rendered = await runCli([...args, '-s', 'browser.sameScopeRequests=false']);
    expect(rendered.code, rendered.stderr).toBe(0);
    const { url, items } = JSON.parse(rendered.stdout) as { url: string; items: { page: string; text: string }[] };
    expect(items).toEqual([{ page: '/leave', text: 'Rendered quote 41.', author: 'Author 41' }]);
    expect(url).toBe(`${base()}leave`);
    expect(offsite.requests.map((r) => r.path)).toEqual(['/beacon']);
  });

  it('retries the pages of a browser killed mid-crawl in a new one, and the crawl completes', async () => {
    const storage = join(project.dir, 'killed');
    const crawl = spawnCli(['run', 'slow', '--spiders', project.spiders, '--storage', storage, '-a', `base=${base()}`, '-s', 'browser.maxPages=2', '-s', 'retry.baseDelayMs=50'], {
      timeoutMs: SLOW_CRAWL_MS,
    });
    await waitFor(() => (site.hits.get('/slow/2') ?? 0) > 0, SLOW_CRAWL_MS / 2, 'the second page');
    const chromium = browsersOf(crawl.child.pid!);
    expect(chromium.length).toBeGreaterThan(0);
    for (const pid of chromium) process.kill(pid, 'SIGKILL');
    const result = await crawl.result;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/the browser died with \d+ page\(s\) open/);
    const items = readDb(storage, 'slow').items;
    expect(items.map((i) => i.data.text).sort()).toEqual(Array.from({ length: SLOW_PAGES }, (_, i) => `Rendered quote ${101 + i}.`).sort());
    expect(items.every((i) => i.data.rendered === true)).toBe(true);
    expect(result.stderr).toMatch(/failed +0/);
  }, SLOW_CRAWL_MS + 10_000);

  it('resumes a crawl killed with SIGKILL: the requests still queued render, and every item is stored once', async () => {
    const storage = join(project.dir, 'resumed');
    const args = ['run', 'slow', '--spiders', project.spiders, '--storage', storage, '-a', `base=${base()}`, '-s', 'browser.maxPages=2'];
    const first = spawnCli(args, { timeoutMs: SLOW_CRAWL_MS });
    const seen = site.hits.get('/slow/3') ?? 0;
    await waitFor(() => (site.hits.get('/slow/3') ?? 0) > seen, SLOW_CRAWL_MS / 2, 'the third page');
    first.child.kill('SIGKILL');
    await first.result;
    const partial = readDb(storage, 'slow').items.length;
    expect(partial).toBeLessThan(SLOW_PAGES);
    const second = await runCli(args, { timeoutMs: SLOW_CRAWL_MS });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resum/i);
    const items = readDb(storage, 'slow').items;
    expect(items.map((i) => i.data.text).sort()).toEqual(Array.from({ length: SLOW_PAGES }, (_, i) => `Rendered quote ${101 + i}.`).sort());
  }, 2 * SLOW_CRAWL_MS);
});

describe.skipIf(!hasChromium)(hasChromium ? 'rendered pages and big pages' : 'rendered pages and big pages: SKIPPED, no Chromium on PATH (apt-get install chromium)', () => {
  it('with workers=0, a rendered page stays in the main thread, with its live page, whatever offThreadPageBytes', async () => {
    const storage = join(project.dir, 'threads');
    const r = await runCli(['threads', '-a', `base=${base()}`, '--spiders', project.spiders, '--storage', storage, '-s', 'workers=0', '-s', 'offThreadPageBytes=1', '-L', 'warn'], { timeoutMs: SLOW_CRAWL_MS });
    expect(r.code, r.stderr).toBe(0);
    const items = lines((await runCli(['export', 'threads', '--storage', storage])).stdout).map((l) => JSON.parse(l) as { page: string; thread: number; live: boolean });
    const byPage = Object.fromEntries(items.map((i) => [i.page, i]));
    expect(byPage['/inline']).toEqual({ page: '/inline', thread: 0, live: true });
    expect(byPage['/']).toMatchObject({ live: false, thread: expect.any(Number) });
    expect(byPage['/']!.thread).not.toBe(0); // the same page unrendered goes to the worker
  });
});

/**
 * `crawl ui` (issue 16) in a real Chromium, over a real crawl: the real
 * `crawl` CLI crawls a slowed-down site on 127.0.0.1 (about 4 s) while the
 * real `crawl ui` serves its database; the browser watches the run page grow,
 * then checks the figures against `crawl runs --json`, a chart's pixels, a
 * failure's stack, the items (an XSS item shown as text) and the CSV download
 * against `crawl export`. Screenshots of each page go to the test's temp
 * folder (UI_SCREENSHOTS=dir keeps them elsewhere). Without a Chromium the
 * browser's tests skip, and their title says so.
 */
import { mkdir, readFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../src/browser/launch.js';
import { defaultSettings } from '../src/settings.js';
import { hasChromium } from './helpers/browser.js';
import { CRAWLKIT, runCli, spawnCli, tempProject, waitFor, type CliProcess } from './helpers/cli.js';
import { startServer, type TestServer } from './helpers/server.js';

const PAGES = 40;
const DELAY_MS = 100;
const XSS = '<script>alert(1)</script>';

const spider = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Watched extends Spider {
  override name = 'watched';
  override itemKey = 'n';
  override startUrls = [this.arg('base')];
  override settings = { concurrency: 2, perHost: { concurrency: 2 }, retry: { maxAttempts: 1 } };
  override async *parse(res: Response) {
    yield* res.followAll('a', 'parsePage');
  }
  async *parsePage(res: Response) {
    if (res.url.endsWith('/boom')) throw new Error('boom on purpose');
    yield { n: Number(res.url.split('/').pop()), title: res.$('h1').text() };
  }
}
`;

/** Pages answered at once; those after wait for {@link release}, so the run is still going when the browser looks. */
const BEFORE_GATE = 10;
/** The site as a second crawl finds it: page PAGES gone, page PAGES + 1 new, page 2 retitled. */
let version = 1;
let release: () => void;
const gate = new Promise<void>((open) => (release = open));

/**
 * The site: an index of PAGES pages answered DELAY_MS late (after the first
 * BEFORE_GATE, once released), one titled with a script, one whose callback throws, one missing.
 */
const site = () =>
  startServer(async (req, res) => {
    const path = req.url ?? '/';
    if (path === '/robots.txt') return void res.writeHead(404).end();
    if (path === '/') {
      const pages = Array.from({ length: PAGES }, (_, i) => i + 1).map((n) => (version === 2 && n === PAGES ? PAGES + 1 : n));
      const links = [...pages.map((n) => `/p/${n}`), '/boom', '/missing'].map((h) => `<a href="${h}">${h}</a>`);
      return void res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body>${links.join('\n')}</body></html>`);
    }
    if (path === '/missing') return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>no</h1>');
    const n = Number(path.split('/').pop());
    if (!(n <= BEFORE_GATE)) await gate;
    await new Promise((r) => setTimeout(r, DELAY_MS));
    const title = n === 1 ? XSS.replace(/</g, '&lt;') : version === 2 && n === 2 ? 'Title 2 (new)' : `Title ${n}`;
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><h1>${title}</h1></body></html>`);
  });

let server: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;
let crawl: CliProcess;
let ui: CliProcess;
let base: string;
let shots: string;

/** The URL `crawl ui` printed, once it did. */
async function uiUrl(proc: CliProcess): Promise<string> {
  await waitFor(() => /http:\/\/\S+/.test(proc.stdout()), 15_000, 'crawl ui to print its URL');
  return /http:\/\/\S+/.exec(proc.stdout())![0];
}

beforeAll(async () => {
  server = await site();
  project = await tempProject({ watched: spider });
  shots = process.env.UI_SCREENSHOTS ?? join(project.dir, 'screenshots');
  await mkdir(shots, { recursive: true });
  const storage = ['--storage', project.storage];
  crawl = spawnCli(['watched', '-a', `base=${server.url}`, '--spiders', project.spiders, ...storage, '-s', 'statusIntervalMs=250', '-L', 'warn'], { timeoutMs: 300_000 });
  ui = spawnCli(['ui', '--port', '0', ...storage], { timeoutMs: 300_000 });
  base = (await uiUrl(ui)).replace(/\/$/, '');
  // The run's page answers once the crawl has begun its run.
  for (let i = 0; (await fetch(`${base}/run?spider=watched&run=1`)).status !== 200; i++) {
    if (i > 150) throw new Error(`the crawl did not begin: ${crawl.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  release();
  crawl?.child.kill('SIGKILL');
  ui?.child.kill('SIGINT');
  await ui?.result;
  await Promise.all([server?.close(), project?.cleanup()]);
});

describe('crawl ui over HTTP', () => {
  it('answers GET and HEAD alone, takes no path from the URL, and checks names and numbers', async () => {
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${base}/assets/../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/assets/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${base}/assets/uplot.js`)).status).toBe(200);
    expect((await fetch(`${base}/run?spider=..%2Fwatched&run=1`)).status).toBe(400);
    expect((await fetch(`${base}/run?spider=watched&run=1%20OR%201`)).status).toBe(400);
    expect((await fetch(`${base}/run?spider=nobody&run=1`)).status).toBe(404);
    // A page under another host name than a loopback one (DNS rebinding) is refused.
    const rebound = await new Promise<number>((done, fail) =>
      request(`${base}/`, { headers: { host: 'evil.example' } }, (res) => done(res.resume().statusCode!)).on('error', fail).end(),
    );
    expect(rebound).toBe(401);
    // What the URL brings back into the page (the filter's text) is escaped too.
    const reflected = await (await fetch(`${base}/items?spider=watched&run=1&col=title&q=${encodeURIComponent('"><script>alert(2)</script>')}`)).text();
    expect(reflected).not.toContain('<script>alert(2)');
    expect(reflected).toContain('value="&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"');
    expect((await fetch(`${base}/`, { method: 'HEAD' })).status).toBe(200);
    const csp = (await fetch(`${base}/`)).headers.get('content-security-policy');
    expect(csp).toContain("script-src 'self'");
  });

  it('refuses a bad --port, or a port in use, in one line', async () => {
    const [bad, taken] = await Promise.all([runCli(['ui', '--port', '80x']), runCli(['ui', '--port', new URL(base).port])]);
    expect({ code: bad.code, err: bad.stderr }).toEqual({ code: 2, err: 'crawl: error: bad --port "80x": expected a port number, 0 to 65535 (0: any free port)\n' });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/^crawl: error: port \d+ on 127\.0\.0\.1 is in use: pass another --port \(0: any free one\)\n$/);
  });

  it('on another host than loopback, needs the token it printed on every request', async () => {
    const open = spawnCli(['ui', '--host', '0.0.0.0', '--port', '0', '--storage', project.storage]);
    try {
      const printed = await uiUrl(open);
      const token = new URL(printed).searchParams.get('token')!;
      expect(token).toMatch(/^[\w-]{20,}$/);
      const at = `http://127.0.0.1:${new URL(printed).port}`;
      expect((await fetch(`${at}/`)).status).toBe(401);
      expect((await fetch(`${at}/assets/app.js`)).status).toBe(401);
      expect((await fetch(`${at}/?token=${token}x`)).status).toBe(401);
      const ok = await fetch(`${at}/?token=${token}`);
      expect(ok.status).toBe(200);
      const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
      expect((await fetch(`${at}/`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(`${at}/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      open.child.kill('SIGINT');
      expect((await open.result).code).toBe(0);
    }
  });
});

describe.skipIf(!hasChromium)(`crawl ui in Chromium${hasChromium ? '' : ' (skipped: no Chromium on PATH)'}`, () => {
  let browser: Browser;
  let page: Page;
  /** Dialogs opened: an item's script that ran would open one. */
  const dialogs: string[] = [];
  beforeAll(async () => {
    browser = await launchBrowser(defaultSettings.browser);
    page = await browser.newPage({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
    page.on('dialog', (d) => void dialogs.push(d.message()));
  });
  afterAll(async () => {
    await browser?.close();
  });
  // In the browser, where the tests' types (no DOM's) do not reach; the page's CSP forbids evaluating strings, so these are functions.
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const counter = async (k: string) => Number(((await page.textContent(`#counters [data-k="${k}"]`)) ?? '').replace(/,/g, ''));

  it('shows the run live: its counters grow while it crawls, and equal `crawl runs --json` at the end', async () => {
    await page.goto(`${base}/run?spider=watched&run=1`);
    expect(await page.getAttribute('#run', 'data-live')).toBe('1');
    const before = await counter('pages');
    release();
    await page.waitForFunction((n) => Number((globalThis as any).document.querySelector('#counters [data-k="pages"]').textContent.replace(/,/g, '')) > n, before + 3, { timeout: 10_000 });
    expect(await counter('pages')).toBeGreaterThan(before);
    await page.screenshot({ path: join(shots, 'run-live.png') });

    expect((await crawl.result).code).toBe(0);
    await page.waitForSelector('#run[data-done="1"]', { timeout: 10_000 });
    const runs = await runCli(['runs', 'watched', '--json', '--storage', project.storage]);
    const run = JSON.parse(runs.stdout.trim().split('\n')[0]!) as { pages: number; items: number; failed: number; requests: number };
    expect(run.pages).toBe(PAGES + 1); // the index and the pages; /boom's callback failed, /missing is a 404
    expect({ pages: await counter('pages'), items: await counter('items'), failed: await counter('failed'), requests: await counter('requests') }).toEqual({
      pages: run.pages,
      items: run.items,
      failed: run.failed,
      requests: run.requests,
    });
    expect(await page.textContent('#counters [data-k="status"]')).toBe('finished');
  });

  it('draws the charts of the run: the pages/s line is on the canvas', async () => {
    release(); // when run alone (-t), without the test that watches the run
    await crawl.result;
    await page.goto(`${base}/run?spider=watched&run=1`);
    await page.waitForSelector('.chart[data-chart="pagesPerS"] canvas');
    // Pixels of the line's colour (#1f77b4), not of the axes or the grid.
    const linePixels = await page.evaluate(() => {
      const canvas = (globalThis as any).document.querySelector('.chart[data-chart="pagesPerS"] canvas');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data as number[];
      let n = 0;
      for (let i = 0; i < data.length; i += 4)
        if (Math.abs(data[i]! - 31) < 30 && Math.abs(data[i + 1]! - 119) < 30 && Math.abs(data[i + 2]! - 180) < 30 && data[i + 3]! > 200) n++;
      return n;
    });
    expect(linePixels).toBeGreaterThan(50);
    expect(Number(await page.getAttribute('.chart[data-chart="pagesPerS"]', 'data-points'))).toBeGreaterThan(5);
    expect(await page.locator('.chart[data-chart="responses"] .u-legend .u-label').allTextContents()).toEqual(['200', '404']);
    expect(await page.textContent('#latency')).toContain('127.0.0.1');
    expect(await page.textContent('#responses')).toMatch(/200\s*4\d/);
    await page.screenshot({ path: join(shots, 'run.png'), fullPage: true });
    await page.goto(`${base}/`);
    expect(await page.textContent('section[data-spider="watched"] table')).toContain('finished');
    await page.screenshot({ path: join(shots, 'spiders.png') });
  });

  it('shows a failure with its stack, its screenshot, and the crawl parse command to copy', async () => {
    release(); // when run alone (-t), without the test that watches the run
    await crawl.result;
    // A screenshot as a failed rendered page leaves one (-s browser.screenshotOnError), here of the 404.
    const png = await page.screenshot({ clip: { x: 0, y: 0, width: 40, height: 30 } });
    const db = new Database(join(project.storage, 'watched.sqlite'));
    db.prepare("INSERT INTO screenshots (run_id, request_id, url, png, taken_at) SELECT 1, request_id, url, ?, 0 FROM failures WHERE reason = 'http:404'").run(png);
    db.close();
    await page.goto(`${base}/failures?spider=watched&run=1`);
    const section = page.locator('section.reason', { hasText: 'callback:error' });
    await section.locator('summary').first().click();
    const stack = await section.locator('pre.stack').first().textContent();
    expect(stack).toContain('boom on purpose');
    expect(stack).toMatch(/\n\s+at /);
    expect(await section.locator('p.cmd code').first().textContent()).toBe(`npx crawl parse watched ${server.url}/boom -c parsePage -a base=${server.url}`);
    expect(await page.textContent('section.reason:has-text("http:404")')).toContain(`${server.url}/missing`);
    const shot = page.locator('section.reason:has-text("http:404") img.shot');
    expect(await shot.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(40);
    const served = Buffer.from(await (await fetch(base + (await shot.getAttribute('src'))!)).arrayBuffer());
    expect(served.equals(png)).toBe(true);
    expect(await page.locator('section.reason:has-text("callback:error") img.shot').count()).toBe(0);
    await page.screenshot({ path: join(shots, 'failures.png'), fullPage: true });
  });

  it('shows the items, the script item as text, filters them, and downloads the bytes of `crawl export`', async () => {
    release(); // when run alone (-t), without the test that watches the run
    await crawl.result;
    await page.goto(`${base}/items?spider=watched&run=1`);
    expect(await page.locator('table.items td', { hasText: XSS }).count()).toBe(1);
    expect(await page.locator('table.items script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(await page.locator('table.items tbody tr').count()).toBe(PAGES);
    await page.screenshot({ path: join(shots, 'items.png') });
    // `crawl export` in each format, meanwhile: each is a process of its own.
    const exports = Object.fromEntries(
      await Promise.all(['csv', 'json', 'jsonl'].map(async (f) => [f, (await runCli(['export', 'watched', '--format', f, '--storage', project.storage])).stdout])),
    ) as Record<string, string>;
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.download:text("CSV")')]);
    const csv = await readFile((await download.path())!);
    expect(csv.toString('utf8')).toBe(exports.csv);
    for (const format of ['json', 'jsonl']) {
      const body = await (await fetch(`${base}/download?spider=watched&run=1&format=${format}`)).text();
      expect(body).toBe(exports[format]);
    }
    await page.selectOption('select[name="col"]', 'title');
    await page.fill('input[name="q"]', 'title 3');
    await page.click('form.filter button');
    const titles = await page.locator('table.items tbody tr td:nth-child(3)').allTextContents();
    expect(titles.sort()).toEqual(['Title 3', 'Title 30', 'Title 31', 'Title 32', 'Title 33', 'Title 34', 'Title 35', 'Title 36', 'Title 37', 'Title 38', 'Title 39']);
  });

  it('compares two runs: items added, removed and changed, by the spider\'s itemKey, another field or as wholes', async () => {
    release(); // when run alone (-t), without the test that watches the run
    await crawl.result;
    version = 2;
    const second = await runCli(['watched', '-a', `base=${server.url}`, '--spiders', project.spiders, '--storage', project.storage, '-L', 'warn']);
    expect(second.code).toBe(0);
    await page.goto(`${base}/`);
    await page.click('a:text("compare the last two runs")');
    const figures = async () =>
      Object.fromEntries(await Promise.all(['added', 'removed', 'changed', 'unchanged'].map(async (k) => [k, Number(await page.textContent(`[data-k="${k}"]`))])));
    // By the spider's itemKey ('n') at first: the retitled item is changed.
    expect(await page.inputValue('select[name="key"]')).toBe('n');
    expect(await figures()).toEqual({ added: 1, removed: 1, changed: 1, unchanged: PAGES - 2 });
    // As wholes, it is one removed and one added.
    await page.selectOption('select[name="key"]', '');
    await page.click('form.filter button');
    expect(await figures()).toEqual({ added: 2, removed: 2, changed: 0, unchanged: PAGES - 2 });
    await page.selectOption('select[name="key"]', 'n');
    await page.click('form.filter button');
    expect(await page.textContent('ul.changes')).toBe('title: Title 2 → Title 2 (new)');
    expect(await page.textContent('ul.sample >> nth=0')).toContain(`"n":${PAGES + 1}`);
    await page.screenshot({ path: join(shots, 'compare.png'), fullPage: true });
  });
});

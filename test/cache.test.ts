/**
 * `crawl NAME --cache` and `crawl NAME --replay`, through the real CLI against
 * local sites: what the cache stores, and that a replay re-runs (possibly
 * edited) callbacks over it without a single request to the server.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { describe, expect, it, type TestContext } from 'vitest';
import { quotesAuthorsExpected, quotesExpected, quotesSite } from './fixtures/quotes.js';
import { CRAWLKIT, lines, runCli, spawnCli, stackLines, tempProject, waitFor, type CliResult } from './helpers/cli.js';
import { canonical, dbFile, readDb } from './helpers/db.js';
import { sendRoute, serveSite, startServer, type TestServer } from './helpers/server.js';

/** A server for this test only (the tests run concurrently), closed when it ends. */
async function serve(ctx: TestContext, started: Promise<TestServer>): Promise<TestServer> {
  const server = await started;
  ctx.onTestFinished(() => server.close());
  return server;
}

/** A temp project holding `spiders` (name → source), with a storage folder, removed when the test ends. */
async function project(ctx: TestContext, spiders: Record<string, string> = {}) {
  const p = await tempProject(spiders);
  ctx.onTestFinished(() => p.cleanup());
  return p;
}

/** A spider file: `name`, starting at `-a baseUrl`, whose `parse` is `body`. */
const spiderSource = (name: string, body: string) => `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class S extends Spider {
  override name = ${JSON.stringify(name)};
  override startUrls = [this.arg('baseUrl')];
  slowMs = Number(this.arg('slowMs', '0'));
  override async *parse(res: Response) {
${body}
  }
}
`;

/** The quotes spider's pages, as a user edits it: first it extracts the text, later the author and tag count. */
const quotesTextSpider = spiderSource(
  'q',
  `    if (this.slowMs) await new Promise((r) => setTimeout(r, this.slowMs));
    for (const q of res.$('div.quote').toArray()) yield { text: res.$(q).find('span.text').text() };
    const next = res.$('li.next a').attr('href');
    if (next) yield res.follow(next);`,
);
const quotesAuthorSpider = quotesTextSpider.replace(
  "yield { text: res.$(q).find('span.text').text() }",
  "yield { author: res.$(q).find('small.author').text(), tags: res.$(q).find('a.tag').length }",
);

interface RunInfo {
  id: number;
  status: string;
  mode: string;
  stats: { requests: number; redirects: number; retries: number; failures: Record<string, number> };
}

interface ResponseRow {
  url: string;
  status: number;
  headers: string;
  body: Buffer;
  encoding: string;
}

/** Runs and cached responses of a spider's database (read while no crawl has it open). */
function readCache(storage: string, spider: string): { runs: RunInfo[]; responses: ResponseRow[] } {
  const db = new Database(dbFile(storage, spider), { readonly: true, fileMustExist: true });
  try {
    const runs = (db.prepare('SELECT id, status, mode, stats FROM runs ORDER BY id').all() as { id: number; status: string; mode: string; stats: string }[]).map(
      (r) => ({ ...r, stats: JSON.parse(r.stats) as RunInfo['stats'] }),
    );
    const responses = db.prepare('SELECT url, status, headers, body, encoding FROM responses ORDER BY url').all() as ResponseRow[];
    return { runs, responses };
  } finally {
    db.close();
  }
}

/** `error` of every failed request of the current run. */
function readFailed(storage: string, spider: string): string[] {
  const db = new Database(dbFile(storage, spider), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT error FROM requests WHERE state = 3 ORDER BY id').all() as { error: string }[]).map((r) => r.error);
  } finally {
    db.close();
  }
}

const bodyOf = (row: ResponseRow): string => (row.encoding === 'br' ? brotliDecompressSync(row.body) : row.body).toString('utf8');

/** Items of one run, in stored order. */
const itemsOf = (storage: string, spider: string, runId: number) =>
  readDb(storage, spider)
    .items.filter((i) => i.runId === runId)
    .map((i) => i.data);

/** A bad-input failure: exit code 2 and exactly one `crawl: error:` line, no stack. */
function expectOneLineError(r: CliResult): string {
  expect(r.code, r.stderr).toBe(2);
  expect(stackLines(r.stderr)).toEqual([]);
  expect(lines(r.stderr), r.stderr).toHaveLength(1);
  return lines(r.stderr)[0]!;
}

describe.concurrent('crawl --cache and --replay', () => {
  it('--cache stores each page compressed; --replay rebuilds the same items with the server gone, and export gives the replay', async (ctx) => {
    const site = await serve(ctx, serveSite(quotesSite()));
    const { storage } = await project(ctx);
    const base = `${site.url}/`;
    const crawled = await runCli(['quotes', '-a', `baseUrl=${base}`, '--cache', '--storage', storage]);
    expect(crawled.code, crawled.stderr).toBe(0);

    const { responses } = readCache(storage, 'quotes');
    // The ten listing pages the crawl requested, and nothing else (robots.txt was fetched but is not a page).
    expect(site.hits.get('/robots.txt')).toBe(1);
    expect(responses.map((r) => r.url).sort()).toEqual([base, ...Array.from({ length: 9 }, (_, i) => `${base}page/${i + 2}/`)].sort());
    for (const row of responses) {
      expect(row.status).toBe(200);
      expect(row.encoding).toBe('br');
      expect(row.body.length).toBeLessThan(bodyOf(row).length / 2);
      expect(JSON.parse(row.headers)['content-type']).toBe('text/html; charset=utf-8');
    }
    expect(bodyOf(responses.find((r) => r.url === `${base}page/2/`)!)).toBe(quotesSite().get('/page/2/'));

    const hits = site.requests.length;
    await site.close();
    const replayed = await runCli(['quotes', '-a', `baseUrl=${base}`, '--replay', '--storage', storage]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stderr).toMatch(/replaying cached responses/);
    expect(replayed.stderr).toMatch(/Finished replay run 2 of 'quotes'/);
    expect(site.requests.length).toBe(hits);

    const { runs } = readCache(storage, 'quotes');
    expect(runs.map(({ id, status, mode }) => ({ id, status, mode }))).toEqual([
      { id: 1, status: 'finished', mode: 'crawl' },
      { id: 2, status: 'finished', mode: 'replay' },
    ]);
    expect(runs[1]!.stats.failures).toEqual({});
    const replayItems = itemsOf(storage, 'quotes', 2);
    expect(canonical(replayItems)).toEqual(canonical(quotesExpected()));
    expect(canonical(replayItems)).toEqual(canonical(itemsOf(storage, 'quotes', 1)));

    const exported = await runCli(['export', 'quotes', '--storage', storage]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(lines(exported.stdout).map((l) => JSON.parse(l) as unknown)).toEqual(replayItems);
  });

  it('a replay runs the edited spider: the new fields come out of the cached pages', async (ctx) => {
    const site = await serve(ctx, serveSite(quotesSite()));
    const p = await project(ctx, { q: quotesTextSpider });
    const args = ['q', '-a', `baseUrl=${site.url}/`, '--spiders', p.spiders, '--storage', p.storage];
    const crawled = await runCli([...args, '--cache']);
    expect(crawled.code, crawled.stderr).toBe(0);
    expect(canonical(itemsOf(p.storage, 'q', 1))).toEqual(canonical(quotesExpected().map((q) => ({ text: q.text }))));

    await writeFile(join(p.spiders, 'q.ts'), quotesAuthorSpider);
    const hits = site.requests.length;
    await site.close();
    const replayed = await runCli([...args, '--replay']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(site.requests.length).toBe(hits);
    expect(canonical(itemsOf(p.storage, 'q', 2))).toEqual(canonical(quotesExpected().map((q) => ({ author: q.author, tags: q.tags.length }))));
  });

  it('a request the cache lacks fails as cache:miss, is counted, and the CLI names it and suggests --cache', async (ctx) => {
    const site = await serve(ctx, serveSite(quotesSite()));
    const { storage } = await project(ctx);
    const args = ['quotes', '-a', `baseUrl=${site.url}/`, '--storage', storage];
    expect((await runCli([...args, '--cache'])).code).toBe(0);

    // With authors=true the spider also follows the author pages, which the first crawl never fetched.
    const hits = site.requests.length;
    const replayed = await runCli([...args, '-a', 'authors=true', '--replay']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(site.requests.length).toBe(hits);
    const authors = quotesAuthorsExpected().length;
    const report = lines(replayed.stderr).find((l) => l.includes('not in the cache'));
    expect(report).toMatch(new RegExp(`^${authors} requests were not in the cache, so not fetched \\(${site.url}/author/[^,]+/(, ${site.url}/author/[^,]+/){4}, \\.\\.\\.\\); run \`crawl quotes --cache\` to cache them$`));
    expect(replayed.stderr).toMatch(new RegExp(`failed\\s+${authors} \\(cache:miss: ${authors}\\)`));

    const { runs } = readCache(storage, 'quotes');
    expect(runs[1]!.stats.failures).toEqual({ 'cache:miss': authors });
    const failed = readFailed(storage, 'quotes');
    expect(failed).toHaveLength(authors);
    for (const error of failed) expect(error).toMatch(/^cache:miss: GET .*\/author\/.* is not in the cache$/);
    expect(canonical(itemsOf(storage, 'quotes', 2))).toEqual(canonical(quotesExpected()));
  });

  it('caches redirects and final errors (with their bodies) but not retried 503s or robots.txt, and replays the same path', async (ctx) => {
    let flaky = 0;
    const site = await serve(ctx, 
      startServer((req, res) => {
        const path = req.url ?? '/';
        if (path === '/robots.txt') return sendRoute(req, res, { body: 'User-agent: *\nAllow: /\n' }, path);
        if (path === '/old') return sendRoute(req, res, { status: 301, headers: { location: '/new' } });
        if (path === '/missing') return sendRoute(req, res, { status: 404, body: '<h1>gone</h1>' });
        if (path === '/flaky' && flaky++ === 0) return sendRoute(req, res, { status: 503, body: 'busy' });
        const links = path === '/' ? '<a href="/old">o</a><a href="/missing">m</a><a href="/flaky">f</a>' : '';
        sendRoute(req, res, { body: `<h1>${path}</h1>${links}` });
      }),
    );
    const p = await project(ctx, { site: spiderSource('site', "    yield { h1: res.$('h1').text() };\n    yield* res.followAll('a');") });
    const args = ['site', '-a', `baseUrl=${site.url}/`, '--spiders', p.spiders, '--storage', p.storage, '-s', 'retry.baseDelayMs=10', '-s', 'retry.maxDelayMs=20'];
    const crawled = await runCli([...args, '--cache']);
    expect(crawled.code, crawled.stderr).toBe(0);
    expect(flaky).toBe(2);

    const { responses } = readCache(p.storage, 'site');
    const byPath = Object.fromEntries(responses.map((r) => [new URL(r.url).pathname, r]));
    expect(Object.keys(byPath).sort()).toEqual(['/', '/flaky', '/missing', '/new', '/old']);
    expect(Object.fromEntries(Object.entries(byPath).map(([k, r]) => [k, r.status]))).toEqual({ '/': 200, '/flaky': 200, '/missing': 404, '/new': 200, '/old': 301 });
    expect(JSON.parse(byPath['/old']!.headers).location).toBe('/new');
    expect(bodyOf(byPath['/missing']!)).toBe('<h1>gone</h1>'); // kept though this crawl did not parse it

    const crawlItems = canonical(itemsOf(p.storage, 'site', 1));
    expect(crawlItems).toEqual(canonical(['/', '/new', '/flaky'].map((h1) => ({ h1 }))));
    const hits = site.requests.length;
    await site.close();
    const replayed = await runCli([...args, '--replay']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(site.requests.length).toBe(hits);
    expect(canonical(itemsOf(p.storage, 'site', 2))).toEqual(crawlItems);
    const stats = readCache(p.storage, 'site').runs[1]!.stats;
    expect({ redirects: stats.redirects, retries: stats.retries, failures: stats.failures, requests: stats.requests }).toEqual({
      redirects: 1,
      retries: 0,
      failures: { 'http:404': 1 },
      requests: 5,
    });

    // The 404's stored body reaches a callback once the replay is told to handle 404s.
    const with404 = await runCli([...args, '--replay', '-s', 'handleStatuses=404']);
    expect(with404.code, with404.stderr).toBe(0);
    expect(canonical(itemsOf(p.storage, 'site', 3))).toEqual(canonical(['/', '/new', '/flaky', 'gone'].map((h1) => ({ h1 }))));
  });

  it('an interrupted replay resumes as a replay, without the flag', async (ctx) => {
    const site = await serve(ctx, serveSite(quotesSite()));
    const p = await project(ctx, { q: quotesTextSpider });
    const args = ['q', '-a', `baseUrl=${site.url}/`, '--spiders', p.spiders, '--storage', p.storage];
    expect((await runCli([...args, '--cache'])).code).toBe(0);
    const hits = site.requests.length;
    await site.close();

    // Each page takes 300 ms in its callback, and pages come one after another (each links the next).
    const slow = spawnCli([...args, '--replay', '-a', 'slowMs=300']);
    await waitFor(() => slow.stderr().includes('starting run 2'), 15_000, 'the replay to start');
    await new Promise((r) => setTimeout(r, 700));
    slow.child.kill('SIGINT');
    const stopped = await slow.result;
    expect(stopped.code, stopped.stderr).toBe(130);
    const middle = readCache(p.storage, 'q').runs[1]!;
    expect({ status: middle.status, mode: middle.mode }).toEqual({ status: 'interrupted', mode: 'replay' });
    expect(itemsOf(p.storage, 'q', 2).length).toBeLessThan(100);

    const resumed = await runCli(args);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming replay run 2 of 'q'/);
    expect(site.requests.length).toBe(hits);
    const { runs } = readCache(p.storage, 'q');
    expect(runs.map(({ id, status, mode }) => ({ id, status, mode }))).toEqual([
      { id: 1, status: 'finished', mode: 'crawl' },
      { id: 2, status: 'finished', mode: 'replay' },
    ]);
    const items = itemsOf(p.storage, 'q', 2);
    expect(items).toHaveLength(100);
    expect(canonical(items)).toEqual(canonical(quotesExpected().map((q) => ({ text: q.text }))));
  });

  it('--cache with --replay, and --replay without a cache, are one-line errors that change nothing', async (ctx) => {
    const site = await serve(ctx, serveSite(quotesSite()));
    const { storage } = await project(ctx);
    const args = ['quotes', '-a', `baseUrl=${site.url}/`, '--storage', storage];

    expect(expectOneLineError(await runCli([...args, '--cache', '--replay']))).toBe("crawl: error: option '--replay' cannot be used with option '--cache'");
    const noCache = "crawl: error: no cached responses for spider 'quotes': run `crawl quotes --cache` first";
    expect(expectOneLineError(await runCli([...args, '--replay']))).toBe(noCache);
    expect(existsSync(dbFile(storage, 'quotes'))).toBe(false);

    // A database from a crawl without --cache: still nothing to replay, and its run and items stay as they were.
    expect((await runCli(args)).code).toBe(0);
    expect(expectOneLineError(await runCli([...args, '--replay']))).toBe(noCache);
    expect(readCache(storage, 'quotes').runs.map(({ id, status, mode }) => ({ id, status, mode }))).toEqual([{ id: 1, status: 'finished', mode: 'crawl' }]);
    expect(readDb(storage, 'quotes').items).toHaveLength(100);
  });
});

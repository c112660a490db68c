/**
 * The spider writer's commands end to end, through the real CLI against a
 * local site: `crawl shell` (a REPL fed on a pipe), `crawl runs` (and
 * `export --run`), `crawl parse --json` and its robots.txt check, and a
 * `crawl new` spider run through `crawl parse`.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRAWLKIT, lines, ROOT, runCli, spawnCli, stackLines, tempProject, type CliResult } from './helpers/cli.js';
import { runsTable } from '../src/runs-table.js';
import { formatDuration } from '../src/stats.js';
import type { Run } from '../src/storage/runs.js';
import { readDb } from './helpers/db.js';
import { serveSite, type Route, type TestServer } from './helpers/server.js';

const page = (title: string, body: string) => `<!DOCTYPE html><html><head><title>${title}</title></head><body>${body}</body></html>`;

const site = new Map<string, string | Route>([
  ['/robots.txt', 'User-agent: *\nDisallow: /private/\n'],
  ['/', page('Home', '<h1>Welcome</h1><a href="/a.html">A</a> <a href="/b.html">B</a> <a href="/missing.html">gone</a>')],
  ['/a.html', page('A', '<h1>Page A</h1><a href="/b.html">B</a>')],
  ['/b.html', page('B', '<h1>Page B</h1>')],
  ['/page2.html', page('Two', '<h1>Second page</h1>')],
  ['/moved', { status: 301, headers: { location: '/page2.html' } }],
  ['/to-private', { status: 302, headers: { location: '/private/secret.html' } }],
  ['/private/secret.html', page('Secret', '<h1>Secret</h1>')],
  ['/list/1', page('List 1', '<a href="/a.html">A</a><ul><li class="next"><a href="/list/2">next</a></li></ul>')],
]);

/** A spider storing each page's heading and following every link. */
const pagesSpider = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class PagesSpider extends Spider {
  override name = 'pages';
  override startUrls = [this.arg('start')];
  override settings = { workers: 0, retry: { maxAttempts: 1 } };
  override async *parse(res: Response) {
    yield { url: res.url, h1: res.$('h1').text() };
    yield* res.followAll('a[href]');
  }
}
`;

let server: TestServer;
let base: string;
let project: Awaited<ReturnType<typeof tempProject>>;

beforeAll(async () => {
  server = await serveSite(site);
  base = server.url;
  project = await tempProject({ pages: pagesSpider });
});

afterAll(async () => {
  await server?.close();
  await project?.cleanup();
});

/** Hits on a path so far. */
const hits = (path: string) => server.hits.get(path) ?? 0;

/** Exit code 2 and one `crawl: error:` line matching `pattern`, no stack trace, nothing on stdout. */
function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(stackLines(r.stderr)).toEqual([]);
  expect(lines(r.stderr), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^crawl: error: /);
  expect(r.stderr).toMatch(pattern);
}

/** Runs `crawl shell` with `input` written to its stdin in one go, then closed. */
async function shell(args: string[], input: string): Promise<CliResult> {
  const p = spawnCli(['shell', ...args], { stdin: 'pipe', timeoutMs: 20_000 });
  p.child.stdin!.end(input);
  return p.result;
}

describe('crawl shell', () => {
  it('binds res and $ to the page, fetch() rebinds them (relative URLs, redirects), a failed fetch() leaves them', async () => {
    const seen = server.requests.length;
    const r = await shell(
      [`${base}/`, '-s', 'userAgent=shell-test/1.0'],
      [
        "$('h1').text()",
        'res.status',
        // Sent in the same write as the lines after it: each must see the page this one loads.
        "await fetch('/page2.html')",
        "$('h1').text()",
        'res.url',
        "(await fetch(res.follow('moved'))).url", // a Request, relative to /page2.html, then a redirect
        "await fetch('http://127.0.0.1:1/')",
        "await fetch('mailto:someone@example.com')",
        "res.url + ' ' + $('title').text()",
        '.exit',
        "'never evaluated'",
        '',
      ].join('\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(lines(r.stdout)).toEqual([
      "'Welcome'",
      '200',
      `<Response 200 ${base}/page2.html>`,
      "'Second page'",
      `'${base}/page2.html'`,
      `'${base}/page2.html'`,
      'Uncaught:',
      expect.stringMatching(/^Error: cannot fetch http:\/\/127\.0\.0\.1:1\/: network:ECONNREFUSED/),
      'Uncaught:',
      `Error: invalid URL "mailto:someone@example.com": expected an http(s) URL, absolute or relative to ${base}/page2.html`,
      `'${base}/page2.html Two'`,
    ]);
    expect(stackLines(r.stdout)).toEqual([]);
    // The banner, on stderr so that piped output is only what the lines evaluate to.
    expect(lines(r.stderr)[0]).toBe(`200 ${base}/ (text/html, ${Buffer.byteLength(site.get('/') as string)} bytes)`);
    for (const name of ['res ', '$ ', 'fetch(url)', '.exit']) expect(r.stderr).toContain(`  ${name}`);
    // Through crawlkit's fetcher, with the -s settings: the user agent of a crawl, compressed bodies accepted.
    const made = server.requests.slice(seen).filter((q) => q.headers['user-agent'] === 'shell-test/1.0');
    expect(made.map((q) => q.path)).toEqual(['/', '/page2.html', '/moved', '/page2.html']);
    expect(made[0]!.headers['accept-encoding']).toMatch(/gzip/);
  });

  it('ends when its input ends, without .exit', async () => {
    const r = await shell([`${base}/a.html`], "$('a').attr('href')\n");
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual(["'/b.html'"]);
  });

  it('a bad URL or a first page that cannot be fetched: one line, exit 2', async () => {
    expectOneLineError(await shell(['notaurl'], 'res.status\n'), /invalid URL "notaurl"/);
    expectOneLineError(await shell(['http://127.0.0.1:1/'], 'res.status\n'), /cannot fetch http:\/\/127\.0\.0\.1:1\/: network:ECONNREFUSED/);
  });
});

/** `crawl runs` table rows, split on runs of two or more spaces, header first. */
const tableRows = (stdout: string) => lines(stdout).map((l) => l.trim().split(/ {2,}/));

describe('crawl runs, export --run', () => {
  it('lists two real runs with their figures, as a table and as JSON lines; export --run picks a run', async () => {
    const storage = join(project.dir, 'runs-storage');
    const crawl = async (start: string, fresh: boolean) => {
      const before = Date.now();
      const pageHits = () => server.requests.filter((q) => q.path !== '/robots.txt').length;
      const hitsBefore = pageHits();
      const r = await runCli(['pages', '-a', `start=${start}`, '--spiders', project.spiders, '--storage', storage, ...(fresh ? ['--fresh'] : [])]);
      expect(r.code, r.stderr).toBe(0);
      return { before, after: Date.now(), fetched: pageHits() - hitsBefore };
    };
    // Run 1: /, /a.html, /b.html parsed, /missing.html fails with a 404. Run 2: /b.html alone.
    const first = await crawl(`${base}/`, false);
    const second = await crawl(`${base}/b.html`, true);
    expect([first.fetched, second.fetched]).toEqual([4, 1]);
    const stored = readDb(storage, 'pages').items;

    const table = await runCli(['runs', 'pages', '--storage', storage]);
    expect(table.code, table.stderr).toBe(0);
    const out = lines(table.stdout);
    expect(out).toHaveLength(3);
    expect(new Set(out.map((l) => l.length)).size).toBe(1); // aligned: the last column is right-aligned
    const [header, row1, row2] = tableRows(table.stdout);
    expect(header).toEqual(['id', 'mode', 'status', 'started', 'duration', 'pages', 'items', 'failed', 'requests']);
    expect([row1![0], row1![1], row1![2], ...row1!.slice(5)]).toEqual(['1', 'crawl', 'finished', '3', '3', '1', String(first.fetched)]);
    expect([row2![0], row2![1], row2![2], ...row2!.slice(5)]).toEqual(['2', 'crawl', 'finished', '1', '1', '0', String(second.fetched)]);
    for (const [row, { before, after }] of [[row1!, first], [row2!, second]] as const) {
      const started = new Date(row[3]!.replace(' ', 'T')).getTime(); // local time, as shown
      expect(started).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(started).toBeLessThanOrEqual(after);
      const secs = Number(/^([\d.]+) s$/.exec(row[4]!)?.[1]);
      expect(secs).toBeGreaterThanOrEqual(0);
      expect(secs).toBeLessThanOrEqual((after - before) / 1000 + 0.05);
    }

    const json = await runCli(['runs', 'pages', '--storage', storage, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const runs = lines(json.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(runs).toEqual([
      expect.objectContaining({ id: 1, mode: 'crawl', status: 'finished', pages: 3, items: 3, failed: 1, requests: 4, args: { start: `${base}/` } }),
      expect.objectContaining({ id: 2, mode: 'crawl', status: 'finished', pages: 1, items: 1, failed: 0, requests: 1, args: { start: `${base}/b.html` } }),
    ]);
    expect((runs[0]!.stats as { failures: unknown }).failures).toEqual({ 'http:404': 1 });
    for (const [run, { before, after }] of [[runs[0]!, first], [runs[1]!, second]] as const) {
      expect(Date.parse(run.startedAt as string)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(run.finishedAt as string)).toBeLessThanOrEqual(after);
      expect(run.durationMs).toBe((run.stats as { elapsedMs: number }).elapsedMs);
    }

    // export --run N: that run's items; without it, the latest run's.
    const exported = async (...extra: string[]) => {
      const r = await runCli(['export', 'pages', '--storage', storage, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const ofRun = (id: number) => stored.filter((i) => i.runId === id).map((i) => i.data);
    expect(ofRun(1).map((i) => i.h1).sort()).toEqual(['Page A', 'Page B', 'Welcome']);
    expect(await exported('--run', '1')).toEqual(ofRun(1));
    expect(await exported('--run', '2')).toEqual([{ url: `${base}/b.html`, h1: 'Page B' }]);
    expect(await exported()).toEqual(ofRun(2));
  });

  it('a spider with no database: the one-line error export gives', async () => {
    const storage = join(project.dir, 'no-storage');
    const runs = await runCli(['runs', 'pages', '--storage', storage]);
    const exported = await runCli(['export', 'pages', '--storage', storage]);
    expectOneLineError(runs, /no data for spider 'pages'/);
    expect(runs.stderr).toBe(exported.stderr);
  });
});

describe('runsTable', () => {
  const run = (id: number, fields: Partial<Run>): Run => ({
    id, spider: 's', status: 'finished', args: {}, startedAt: Date.UTC(2026, 0, 2, 3, 4, 5), finishedAt: null, startsDone: true, stats: null, mode: 'crawl', columns: null, scope: null, itemKey: null, ...fields,
  });

  it('right-aligns numbers with thousands separators; a run with no stats yet shows zeros', () => {
    const out = runsTable([
      run(9, { stats: { pages: 12345, items: 1000000, failures: { 'http:404': 2, timeout: 3 }, requests: 12400, elapsedMs: 3_725_000 } }),
      run(10, { status: 'running', mode: 'replay' }),
    ]);
    expect(new Set(out.map((l) => l.length)).size).toBe(1);
    expect(out.map((l) => l.split(/ {2,}/).filter((c, i) => i !== 3))).toEqual([
      ['id', 'mode', 'status', 'duration', 'pages', 'items', 'failed', 'requests'],
      [' 9', 'crawl', 'finished', '1 h 02 min', '12,345', '1,000,000', '5', '12,400'],
      ['10', 'replay', 'running', '0.0 s', '0', '0', '0', '0'],
    ]);
  });

  it('durations: seconds, then minutes, then hours', () => {
    expect([1234, 59_949, 60_000, 125_000, 3_600_000, 7_322_000].map(formatDuration)).toEqual(['1.2 s', '59.9 s', '1 min 00 s', '2 min 05 s', '1 h 00 min', '2 h 02 min']);
  });
});

describe('crawl parse --json and robots.txt', () => {
  const parse = (url: string, ...extra: string[]) => runCli(['parse', 'pages', url, '-a', 'start=unused', '--spiders', project.spiders, ...extra]);

  it('--json prints one document: url (after redirects), status, items, requests', async () => {
    const r = await parse(`${base}/`, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      url: `${base}/`,
      status: 200,
      items: [{ url: `${base}/`, h1: 'Welcome' }],
      invalid: [],
      dropped: 0,
      requests: ['a.html', 'b.html', 'missing.html'].map((p) => ({ url: `${base}/${p}`, callback: 'parse' })),
    });
    // The page asked for is the start, and makes the scope: its redirect on its own site is followed.
    const moved = await parse(`${base}/moved`, '--json');
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout)).toEqual({ url: `${base}/page2.html`, status: 200, items: [{ url: `${base}/page2.html`, h1: 'Second page' }], invalid: [], dropped: 0, requests: [] });
    // The page asked for is fetched whatever allowedDomains says; a redirect out of them is refused, as a crawl skips it (offsite).
    const page2Hits = hits('/page2.html');
    const movedOff = await parse(`${base}/moved`, '--json', '-s', 'allowedDomains=example.com');
    expectOneLineError(movedOff, /moved redirects to .*page2\.html, outside the crawl's scope \(allowedDomains: example\.com\).*offsite/);
    expect(hits('/page2.html')).toBe(page2Hits);
    const offsite = await parse(`${base}/a.html`, '--json', '-s', 'allowedDomains=example.com');
    expect(JSON.parse(offsite.stdout).requests).toEqual([{ url: `${base}/b.html`, callback: 'parse', skipped: 'offsite' }]);
  });

  it('refuses a URL robots.txt disallows, even behind a redirect, naming robots.txt and --no-robots', async () => {
    const secretHits = hits('/private/secret.html');
    const direct = await parse(`${base}/private/secret.html`);
    expectOneLineError(direct, /private\/secret\.html is disallowed by .*\/robots\.txt \(add --no-robots to fetch it anyway\)/);
    const redirected = await parse(`${base}/to-private`, '--json');
    expectOneLineError(redirected, /private\/secret\.html is disallowed by .*\/robots\.txt.*--no-robots/);
    expect(hits('/private/secret.html')).toBe(secretHits); // never fetched
  });

  it('--no-robots (or obeyRobots off) fetches it without reading robots.txt', async () => {
    const robotsHits = hits('/robots.txt');
    for (const flag of ['--no-robots', '-s obeyRobots=false']) {
      const r = await parse(`${base}/private/secret.html`, '--json', ...flag.split(' '));
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).items).toEqual([{ url: `${base}/private/secret.html`, h1: 'Secret' }]);
    }
    expect(hits('/robots.txt')).toBe(robotsHits);
  });

  it('a robots.txt that answers 503 disallows the site (RFC 9309): refused, naming it', async () => {
    const down = await serveSite(new Map<string, string | Route>([['/robots.txt', { status: 503, body: 'down' }], ['/', page('Up', '<h1>Up</h1>')]]));
    try {
      const r = await parse(`${down.url}/`);
      expectOneLineError(r, /robots\.txt is unavailable \(robots:http:503\).*--no-robots/);
      expect(down.hits.get('/') ?? 0).toBe(0);
    } finally {
      await down.close();
    }
  });
});

describe('crawl new, then crawl parse', () => {
  it('the template runs as written: an item per page, the next page first, and no overwrite', async () => {
    const spiders = join(project.dir, 'new-spiders');
    const made = await runCli(['new', 'shop', `${base}/list/1`, '--spiders', spiders]);
    expect(made.code, made.stderr).toBe(0);
    const file = join(spiders, 'shop.ts');
    const source = (await readFile(file, 'utf8')).replace("from 'crawlkit-ts'", `from ${JSON.stringify(CRAWLKIT)}`);
    expect(source).toMatch(/\/\/ .*res\.\$\('article\.product'\)/); // the commented selector example
    await writeFile(file, source);
    const r = await runCli(['parse', 'shop', `${base}/list/1`, '--json', '--spiders', spiders]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { items: unknown[]; requests: { url: string }[] };
    expect(result.items).toEqual([{ url: `${base}/list/1`, title: 'List 1' }]);
    // Pagination is yielded before the other links, though it comes last on the page (then again
    // among them: `crawl parse` shows all the callback yields; a crawl would drop the duplicate).
    expect(result.requests.map((q) => q.url)).toEqual([`${base}/list/2`, `${base}/a.html`, `${base}/list/2`]);

    const again = await runCli(['new', 'shop', `${base}/`, '--spiders', spiders]);
    expectOneLineError(again, /shop\.ts already exists/);
    expect(await readFile(file, 'utf8')).toBe(source);
  });

  it('writes nothing from its arguments as code: hostile URLs stay strings, and a name is never a path', async () => {
    const spiders = join(project.dir, 'hostile-spiders');
    const pwn = (file: string) => `process.getBuiltinModule('fs').writeFileSync('${file}','p')`;
    const cases: [name: string, url: string][] = [
      ['quote', `${base}/x'+String(${pwn('pwned.txt')})+'`], // out of a '...' string literal (today's template runs it)
      ['comment', `${base}/y*/;${pwn('pwned-comment.txt')};/*`], // out of the block comment
      ['host', `http://a'+String(${pwn('pwned-host.txt')})+'b/`], // a quote in the host name
    ];
    const check = async ([name, url]: [string, string]) => {
      const made = await runCli(['new', name, url, '--spiders', spiders]);
      expect(made.code, made.stderr).toBe(0);
      const file = join(spiders, `${name}.ts`);
      const source = (await readFile(file, 'utf8')).replace("from 'crawlkit'", `from ${JSON.stringify(CRAWLKIT)}`);
      const href = new URL(url).href;
      expect(source).toContain(`this.arg('baseUrl', ${JSON.stringify(href)})`);
      expect(source).toContain(`allowedDomains: [${JSON.stringify(new URL(url).hostname)}]`);
      await writeFile(file, source);
      // Loaded and run from the project folder, where a payload would write its file.
      const r = await runCli(['parse', name, `${base}/a.html`, '--json', '--no-robots', '-s', 'allowedDomains=127.0.0.1', '--spiders', spiders], { cwd: project.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).items).toEqual([{ url: `${base}/a.html`, title: 'A' }]);
    };
    const refuse = async (name: string) => expectOneLineError(await runCli(['new', name, `${base}/`, '--spiders', spiders]), /^crawl: error: bad spider name /);
    await Promise.all([...cases.map(check), ...['../x', 'a/b', 'x.ts', 'a--b'].map(refuse)]);
    for (const dir of [project.dir, spiders, ROOT]) expect((await readdir(dir)).filter((f) => f.startsWith('pwned'))).toEqual([]);
    expect(existsSync(join(project.dir, 'x.ts'))).toBe(false);
    expect((await readdir(spiders)).sort()).toEqual(['comment.ts', 'host.ts', 'quote.ts']);
  });
});

/**
 * What a user sees while a crawl goes wrong, through the real CLI against
 * servers on 127.0.0.1: `crawl runs` and `crawl export` beside a running
 * crawl, the crawl lock after kill -9, `crawl failures`, retries of start
 * URLs and robots.txt, a run that fetched nothing, unread `-a` keys,
 * `--version` and "did you mean".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CRAWLKIT, lines, ROOT, runCli, spawnCli, stackLines, tempProject, waitFor } from './helpers/cli.js';
import { html } from './helpers/crawl.js';
import { readDb } from './helpers/db.js';
import { serveSite, startServer, type Route } from './helpers/server.js';
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

/** A spider that follows every link and stores each page's URL; `/boom` pages make it throw. */
const failingSpider = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Fails extends Spider {
  override name = 'fails';
  override startUrls = [this.arg('start')];
  override async *parse(res: Response) {
    if (res.url.includes('/boom')) throw new Error('boom on purpose at ' + res.url);
    yield { url: res.url };
    yield* res.followAll('a');
  }
}
`;

describe('crawl failures', () => {
  it('lists a run’s failed requests with reason, status, attempts and a spider error’s stack; --run, --reason, --json; named states in SQL', async (ctx) => {
    const page = (...links: string[]) => html(links.map((l) => `<a href="${l}">${l}</a>`).join(''));
    const server = await serveSite(
      new Map<string, string | Route>([
        ['/', page('/ok', '/missing', '/boom', '/gone')],
        ['/ok', page()],
        ['/boom', page()],
        ['/gone', { status: 500, body: 'down' }],
        ['/two', page('/missing-too')],
      ]),
    );
    ctx.onTestFinished(() => server.close());
    const project = await tempProject({ fails: failingSpider });
    ctx.onTestFinished(() => project.cleanup());
    const dirs = ['--spiders', project.spiders, '--storage', project.storage];
    const fast = ['-s', 'obeyRobots=false', '-s', 'retry.maxAttempts=2', '-s', 'retry.baseDelayMs=10'];
    for (const start of ['/', '/two']) {
      const r = await runCli(['fails', '-a', `start=${server.url}${start}`, ...dirs, ...fast]);
      expect(r.code, r.stderr).toBe(0);
    }
    const failures = (...extra: string[]) => runCli(['failures', 'fails', '--storage', project.storage, ...extra]);

    // The latest run by default: run 2, one 404.
    const latest = await failures();
    expect(latest.code, latest.stderr).toBe(0);
    expect(lines(latest.stdout)).toEqual([expect.stringMatching(new RegExp(`^http:404 +404 +1 attempt +${server.url}/missing-too$`))]);
    expect(latest.stderr).toBe("run 2 of 'fails' (finished): 1 failed request\n");

    // Run 1, whose requests a new run cleared: kept in the archive. One line each, the spider error's stack indented below it.
    const first = await failures('--run', '1');
    expect(first.code, first.stderr).toBe(0);
    const out = lines(first.stdout);
    const rows = out.filter((l) => !l.startsWith('    '));
    expect(rows).toEqual([
      expect.stringMatching(new RegExp(`^http:404 +404 +1 attempt +${server.url}/missing$`)),
      expect.stringMatching(new RegExp(`^callback:error +200 +1 attempt +${server.url}/boom$`)),
      expect.stringMatching(new RegExp(`^http:500 +500 +2 attempts +${server.url}/gone$`)),
    ]);
    const boom = out.indexOf(rows[1]!);
    expect(out[boom + 1]).toBe(`    Error: boom on purpose at ${server.url}/boom`);
    expect(out[boom + 2]).toMatch(/^ {8}at .*parse/);
    expect(first.stderr).toBe("run 1 of 'fails' (finished): 3 failed requests\n");

    // --reason is a prefix; --json gives the stack apart from the message.
    const http = await failures('--run', '1', '--reason', 'http:');
    expect(lines(http.stdout).map((l) => l.split(/ +/)[0])).toEqual(['http:404', 'http:500']);
    const json = await failures('--run', '1', '--reason', 'callback', '--json');
    const [spiderError, ...rest] = lines(json.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rest).toEqual([]);
    expect(spiderError).toMatchObject({ run: 1, url: `${server.url}/boom`, reason: 'callback:error', status: 200, attempts: 1, message: `Error: boom on purpose at ${server.url}/boom` });
    expect(spiderError!.stack).toMatch(/^Error: boom on purpose[^\n]*\n {4}at /);

    const none = await failures('--run', '2', '--reason', 'network:');
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', "run 2 of 'fails' (finished): no failed requests with a reason starting 'network:'\n"]);
    const missing = await failures('--run', '7');
    expect([missing.code, missing.stderr]).toEqual([2, "crawl: error: there is no run 7 of spider 'fails'\n"]);

    // The requests table, read with SQL: states by name through the requests_named view.
    const db = new Database(join(project.storage, 'fails.sqlite'), { readonly: true });
    ctx.onTestFinished(() => void db.close());
    expect(db.prepare('SELECT url, state, reason FROM requests_named ORDER BY id').all()).toEqual([
      { url: `${server.url}/two`, state: 'done', reason: null },
      { url: `${server.url}/missing-too`, state: 'failed', reason: 'http:404' },
    ]);
  });
});

/** A spider over the comma-separated start URLs `-a start=...`, storing each page's URL. */
const startsSpider = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Starts extends Spider {
  override name = 'starts';
  override startUrls = this.arg('start').split(',');
  override async *parse(res: Response) {
    yield { url: res.url };
  }
}
`;

/** The base URL of a port on 127.0.0.1 where nothing listens (connections are refused). */
async function refusingUrl(): Promise<string> {
  const server = await startServer(() => {});
  await server.close();
  return server.url;
}

describe.concurrent('a start URL that cannot be fetched', () => {
  const setup = async (ctx: { onTestFinished(fn: () => unknown): void }) => {
    const project = await tempProject({ starts: startsSpider });
    ctx.onTestFinished(() => project.cleanup());
    return (...extra: string[]) => ['starts', '--spiders', project.spiders, '--storage', project.storage, '-s', 'retry.maxAttempts=3', '-s', 'statusIntervalMs=100', ...extra];
  };
  const failingLine = (name: string) => new RegExp(`^crawl: error: no page was fetched successfully in run 1 of '${name}': `);

  it('refused connections: the retry is logged once per host at info level, the status line counts the waiting retries, exit 1 with one line', async (ctx) => {
    const args = await setup(ctx);
    const base = await refusingUrl();
    const r = await runCli(args('-a', `start=${base}/a,${base}/b`, '-s', 'obeyRobots=false', '-s', 'retry.baseDelayMs=400'), { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    const host = base.replace('http://', '');
    const notices = lines(r.stderr).filter((l) => l.includes(' INFO ') && l.includes('start URL'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(new RegExp(`INFO  start URL ${base}/[ab] failed \\(network:ECONNREFUSED\\): retried in [\\d.]+ s \\(attempt 1 of 3\\); further retries on ${host} are logged at debug level`));
    expect(r.stderr).toMatch(/status: pages 0 · items 0 · failed 0 · queued 2 \(2 waiting to retry\)/);
    expect(lines(r.stderr).at(-1)).toMatch(failingLine('starts'));
    expect(lines(r.stderr).at(-1)).toMatch(/: 2 failed \(network:ECONNREFUSED: 2\); see `crawl failures starts`$/);
    expect(lines(r.stderr).filter((l) => l.startsWith('crawl: error:'))).toHaveLength(1);
  });

  it('an unreachable robots.txt: said once at info level; its requests wait and fail with a robots: reason; exit 1', async (ctx) => {
    const args = await setup(ctx);
    const base = await refusingUrl();
    const r = await runCli(args('-a', `start=${base}/`, '-s', 'retry.maxRetryAfterMs=300'), { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    const notices = lines(r.stderr).filter((l) => l.includes('robots.txt of'));
    expect(notices).toEqual([
      expect.stringMatching(new RegExp(`INFO  robots.txt of ${base.replace('http://', '')} cannot be read \\(network:ECONNREFUSED\\): its requests wait, retried in 0.3 s \\(attempt 1 of 3\\)`)),
    ]);
    expect(r.stderr).toMatch(/queued 1 \(1 waiting to retry\)/);
    expect(lines(r.stderr).at(-1)).toMatch(/: 1 failed \(robots:network:ECONNREFUSED: 1\); see `crawl failures starts`$/);
  });

  it('a run that fetched one page of two exits 0', async (ctx) => {
    const args = await setup(ctx);
    const server = await serveSite(new Map([['/', html('ok')]]));
    ctx.onTestFinished(() => server.close());
    const r = await runCli(args('-a', `start=${server.url}/,${server.url}/missing`, '-s', 'obeyRobots=false'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/crawl: error/);
  });
});

describe('-a keys the spider never read', () => {
  it('warns once about each, naming what the spider reads; crawl parse too', async (ctx) => {
    const server = await serveSite(new Map([['/', html('<h1>home</h1>')]]));
    ctx.onTestFinished(() => server.close());
    const source = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Args extends Spider {
  override name = 'args';
  override startUrls = [this.arg('baseUrl', ${JSON.stringify(`${server.url}/`)})];
  limit = Number(this.args.limit ?? 10);
  override async *parse(res: Response) {
    yield { h1: res.$('h1').text(), limit: this.limit };
  }
}
`;
    const project = await tempProject({ args: source });
    ctx.onTestFinished(() => project.cleanup());
    const given = ['-a', 'baseurl=http://127.0.0.1:1/', '-a', 'limit=3', '-a', 'colour=red'];
    const r = await runCli(['args', ...given, '--spiders', project.spiders, '--storage', project.storage, '-s', 'obeyRobots=false']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stderr).filter((l) => l.includes(' WARN '))).toEqual([
      expect.stringMatching(/WARN  spider 'args' did not read -a baseurl \(it read -a baseUrl, -a limit\): misspelled\?$/),
      expect.stringMatching(/WARN  spider 'args' did not read -a colour \(it read -a baseUrl, -a limit\): misspelled\?$/),
    ]);
    expect(readDb(project.storage, 'args').items.map((i) => i.data)).toEqual([{ h1: 'home', limit: 3 }]);

    const parsed = await runCli(['parse', 'args', `${server.url}/`, ...given, '--spiders', project.spiders, '--no-robots']);
    expect(parsed.code, parsed.stderr).toBe(0);
    expect(lines(parsed.stderr).filter((l) => l.startsWith('warning:'))).toEqual([
      "warning: spider 'args' did not read -a baseurl (it read -a baseUrl, -a limit): misspelled?",
      "warning: spider 'args' did not read -a colour (it read -a baseUrl, -a limit): misspelled?",
    ]);
  });
});

describe.concurrent('crawl --version and "did you mean"', () => {
  it('--version and -V print the version of package.json', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect([r.code, r.stdout, r.stderr]).toEqual([0, `${version}\n`, '']);
    }
  });

  it('a misspelled command, option or spider: one line naming the likely one, exit 2', async () => {
    const project = await tempProject({ quotes: `export default class { name = 'quotes'; async *parse() {} }\n` });
    try {
      const cases: [string[], string][] = [
        [['expor', 'quotes'], "crawl: error: unknown command 'expor' (did you mean `crawl export`?)"],
        [['lsit'], "crawl: error: unknown command 'lsit' (did you mean `crawl list`?)"],
        [['quotes', '--fresj'], "crawl: error: unknown option '--fresj' (did you mean --fresh?)"],
        [['export', 'quotes', '--formt', 'csv'], "crawl: error: unknown option '--formt' (did you mean --format?)"],
        [['quots'], "crawl: error: unknown spider 'quots' (known: quotes); did you mean 'quotes'?"],
      ];
      for (const [args, line] of cases) {
        const r = await runCli([...args, '--spiders', project.spiders, '--storage', project.storage]);
        expect([r.code, r.stdout, lines(r.stderr)], args.join(' ')).toEqual([2, '', [line]]);
      }
    } finally {
      await project.cleanup();
    }
  });
});

/**
 * Smaller defects of issue 10 (section 6), each through a real crawl or the
 * real CLI against servers on 127.0.0.1: redirect loops, settings that cannot
 * work, a too-large body, `-o` on a resumed run killed again, a class that is
 * not a Spider, a spider name that is a path, and a failing `start()`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, crawl, Request, resolveSettings, Spider } from '../src/index.js';
import { CRAWLKIT, lines, runCli, spawnCli, stackLines, tempProject, waitFor, type CliResult } from './helpers/cli.js';
import { crawlAndRead, fastSettings, hits, html, STATE, useTestSite } from './helpers/crawl.js';
import { canonical, readDb } from './helpers/db.js';
import type { Route } from './helpers/server.js';
import { siteProject } from './helpers/site.js';
import { FollowSpider, followSpiderSource } from './helpers/spiders.js';

const { serve, storage } = useTestSite();

/** The FollowSpider of the helpers, named `follow`. */
const follow = (base: string) => new FollowSpider('follow', base);

/** Exit code `code` and one `crawl: error:` line matching `pattern`, no stack trace. */
function expectOneLine(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(stackLines(r.stderr)).toEqual([]);
  expect(lines(r.stderr).filter((l) => l.startsWith('crawl: error:')), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe('redirect loops', () => {
  it('A→B→A and a page redirecting to itself end as failed redirect:loop, not done', async () => {
    const { server, dir, base } = await serve(
      new Map<string, string | Route>([
        ['/', html('<a href="/a">a</a><a href="/self">self</a><a href="/post">303 to itself, as GET: no loop</a>')],
        ['/a', { status: 302, headers: { location: '/b' } }],
        ['/b', { status: 302, headers: { location: '/a' } }],
        ['/self', { status: 301, headers: { location: '/self' } }],
      ]),
    );
    const { summary, db } = await crawlAndRead(follow(base), dir);
    expect(db.request('/a')).toMatchObject({ state: STATE.done, status: 302 });
    expect(db.request('/b')).toMatchObject({ state: STATE.failed, status: 302, error: `redirect:loop: ${base}/a` });
    expect(db.request('/self')).toMatchObject({ state: STATE.failed, status: 301, error: `redirect:loop: ${base}/self` });
    expect(summary.stats.failures).toMatchObject({ 'redirect:loop': 2 });
    expect(hits(server, '/a')).toBe(1);
    expect(hits(server, '/self')).toBe(1);
  });

  it('a request redirected by 303 to its own URL as a GET is no loop', async () => {
    class Poster extends FollowSpider {
      override async *start() {
        yield new Request(`${this.startUrls[0]}form`, { method: 'POST', body: 'q=1', callback: 'parse' });
      }
    }
    const { dir, base } = await serve(new Map(), (req, res) => {
      if (req.method === 'POST') res.writeHead(303, { location: '/form' }).end();
      else res.writeHead(200, { 'content-type': 'text/html' }).end(html('<h1>thanks</h1>'));
    });
    const { db } = await crawlAndRead(new Poster('follow', base), dir);
    expect(db.items.map((i) => i.data.path)).toEqual(['/form']);
    expect(db.requests.map((r) => [r.method, r.state])).toEqual([
      ['POST', STATE.done],
      ['GET', STATE.done],
    ]);
  });
});

describe('settings that cannot work', () => {
  it('timeouts.* = 0 and maxBodyBytes = 0 are bad settings; 0x10 is not a number', () => {
    for (const key of ['timeouts.connectMs', 'timeouts.headersMs', 'timeouts.bodyMs', 'timeouts.requestMs', 'maxBodyBytes'])
      expect(() => resolveSettings({ [key]: 0 }), key).toThrow(new RegExp(`bad value for setting '${key.replace('.', '\\.')}': 0 \\(expected a number above 0\\)`));
    expect(resolveSettings({ 'timeouts.connectMs': 1, maxBodyBytes: 1 }).maxBodyBytes).toBe(1);
    expect(resolveSettings({ maxDepth: 0, 'perHost.delayMs': 0 }).maxDepth).toBe(0); // 0 still means "none" where it can
  });

  it('the CLI refuses them in one line, naming the setting', async () => {
    const project = await tempProject({ follow: followSpiderSource('follow') });
    try {
      const run = (...set: string[]) => runCli(['follow', '-a', 'start=http://127.0.0.1:9/', '--spiders', project.spiders, '--storage', project.storage, ...set.flatMap((s) => ['-s', s])]);
      expectOneLine(await run('timeouts.requestMs=0'), 2, /bad value for setting 'timeouts\.requestMs': "0" \(expected a number above 0\)/);
      expectOneLine(await run('maxBodyBytes=0'), 2, /bad value for setting 'maxBodyBytes': "0" \(expected a number above 0\)/);
      expectOneLine(await run('concurrency=0x10'), 2, /bad value for setting 'concurrency': "0x10" \(expected a non-negative number\)/);
      expect(existsSync(join(project.storage, 'follow.sqlite'))).toBe(false); // refused before anything was opened
    } finally {
      await project.cleanup();
    }
  });
});

describe('a body over maxBodyBytes', () => {
  it('fails as too-large with the status it came with, and does not slow the host down', async () => {
    const big = html(`<p>${'x'.repeat(5_000)}</p>`);
    const { dir, base } = await serve(
      new Map<string, string | Route>([
        ['/', html('<a href="/big/1">1</a><a href="/big/2">2</a><a href="/big/3">3</a><a href="/small">s</a>')],
        ['/big/1', big],
        ['/big/2', big],
        ['/big/3', big],
        ['/small', html('<h1>small</h1>')],
      ]),
    );
    const { summary, db } = await crawlAndRead(follow(base), dir, { maxBodyBytes: 2_000, concurrency: 1 });
    for (const p of ['/big/1', '/big/2', '/big/3']) expect(db.request(p), p).toMatchObject({ state: STATE.failed, status: 200, error: 'too-large: body larger than maxBodyBytes (2000)' });
    expect(summary.stats.failures).toEqual({ 'too-large': 3 });
    expect(summary.stats.throttleIncreases).toBe(0);
    expect(summary.stats.hostDelays).toEqual({});
  });
});

describe('-o FILE on a resumed run', () => {
  const items = (file: string) =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .map((l) => l.replace(/,$/, ''))
          .filter((l) => l.startsWith('{') && l.endsWith('}'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];

  it.for(['jsonl', 'json'])('keeps the items the file had, killed twice: .%s ends with the whole run, once', async (format, ctx) => {
    const { site, project, args } = await siteProject(ctx, { lists: 12, perList: 10, delayMs: 15 });
    const file = join(project.dir, `items.${format}`);
    const first = spawnCli(args('-o', file));
    await waitFor(() => items(file).length >= 10, 20_000, 'items from the first run');
    first.child.kill('SIGKILL');
    await first.result;
    const storedFirst = canonical(readDb(project.storage, 'site').items.map((i) => i.data));
    expect(storedFirst.length).toBeGreaterThanOrEqual(10);

    const second = spawnCli(args('-o', file));
    await waitFor(() => items(file).length >= storedFirst.length + 10, 20_000, 'items from the resumed run');
    second.child.kill('SIGKILL');
    await second.result;
    const inFile = canonical(items(file));
    expect(new Set(inFile).size, 'no item twice').toBe(inFile.length);
    for (const item of storedFirst) expect(inFile, 'an item of the first run').toContain(item);
    const stored = new Set(canonical(readDb(project.storage, 'site').items.map((i) => i.data)));
    for (const item of inFile) expect(stored.has(item), 'only stored items').toBe(true);

    const third = await runCli(args('-o', file), { timeoutMs: 30_000 });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/resuming run 1/);
    const whole = format === 'json' ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[]) : items(file);
    expect(canonical(whole)).toEqual(canonical(site.expected));
    expect(whole).toHaveLength(site.expected.length);
  });
});

describe('spiders and their names', () => {
  it('a class that does not extend Spider: one line saying so', async () => {
    const project = await tempProject({
      lookalike: `export default class Lookalike { name = 'lookalike'; startUrls = ['http://127.0.0.1:9/']; async *parse() {} }\n`,
    });
    try {
      const r = await runCli(['lookalike', '--spiders', project.spiders, '--storage', project.storage]);
      expectOneLine(r, 2, /^crawl: error: \S*spiders\/lookalike\.ts: class Lookalike does not extend Spider \(import \{ Spider \} from 'crawlkit' and write `class Lookalike extends Spider`\)\n$/);
    } finally {
      await project.cleanup();
    }
  });

  it('a spider name is a name, never a path: export, runs and run refuse ../elsewhere/name', async () => {
    const { dir, base } = await serve(new Map([['/', html('<h1>secret</h1>')]]));
    const elsewhere = join(dir, 'elsewhere');
    await crawl(new FollowSpider('name', base), { settings: fastSettings(elsewhere) }).run();
    expect(readDb(elsewhere, 'name').items).toHaveLength(1); // the database the path would reach
    const project = await tempProject({ follow: followSpiderSource('follow') });
    try {
      const storageDir = join(dir, 'storage');
      for (const command of [['export', '../elsewhere/name'], ['runs', '../elsewhere/name'], ['run', '../elsewhere/name']]) {
        const r = await runCli([...command, '--storage', storageDir, ...(command[0] === 'run' ? ['--spiders', project.spiders] : [])]);
        expectOneLine(r, 2, /bad spider name "\.\.\/elsewhere\/name": a spider name is letters, digits, _ \. and -, never a path/);
        expect(r.stdout).toBe('');
      }
    } finally {
      await project.cleanup();
    }
  });
});

describe('a failing start()', () => {
  it('says "start() failed: <message>", exits 1 and marks the run failed; the next crawl runs start() again', async () => {
    const { base } = await serve(new Map([['/', html('<h1>home</h1>')]]));
    const project = await tempProject({
      keyed: `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Keyed extends Spider {
  override name = 'keyed';
  override settings = { workers: 0, obeyRobots: false };
  override async *start() {
    yield ${JSON.stringify(`${base}/`)};
    if (!this.args.key) throw new Error('no API key: pass -a key=...');
  }
  override async *parse(res: Response) {
    yield { path: new URL(res.url).pathname };
  }
}
`,
    });
    try {
      const args = ['keyed', '--spiders', project.spiders, '--storage', project.storage];
      const failed = await runCli(args);
      expectOneLine(failed, 1, /^(?:.*\n)*crawl: error: start\(\) failed: no API key: pass -a key=\.\.\.\n$/);
      expect(failed.stderr).not.toMatch(/database|unreachable/);
      const runs = await runCli(['runs', 'keyed', '--storage', project.storage, '--json']);
      expect(lines(runs.stdout).map((l) => (JSON.parse(l) as { status: string }).status)).toEqual(['failed']);
      const again = await runCli([...args, '-a', 'key=k']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/resuming run 1/);
      expect(readDb(project.storage, 'keyed').runs.map((r) => r.status)).toEqual(['finished']);
    } finally {
      await project.cleanup();
    }
  });

  it('through the API: a StartError-like one-line message, not the cause’s bare text', async () => {
    const dir = storage();
    class Broken extends Spider {
      override name = 'broken';
      override async *start(): AsyncIterable<string> {
        throw new TypeError('cannot read the URL list');
      }
    }
    const err = await crawl(new Broken(), { settings: fastSettings(dir) })
      .run()
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('start() failed: cannot read the URL list');
    expect(err).not.toBeInstanceOf(ConfigError);
    expect(readDb(dir, 'broken').runs.map((r) => r.status)).toEqual(['failed']);
  });
});

describe('a promise a callback never awaited, rejected (workers=0)', () => {
  it('is logged with its stack, and the crawl goes on to store every page', async () => {
    const { base } = await serve(
      new Map([
        ['/', html('<a href="/a">a</a><a href="/b">b</a>')],
        ['/a', html('<h1>a</h1>')],
        ['/b', html('<h1>b</h1>')],
      ]),
    );
    const project = await tempProject({
      careless: `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Careless extends Spider {
  override name = 'careless';
  override startUrls = [${JSON.stringify(`${base}/`)}];
  override settings = { workers: 0, obeyRobots: false };
  override async *parse(res: Response) {
    if (new URL(res.url).pathname === '/a') void Promise.reject(new Error('forgot to await this'));
    yield { path: new URL(res.url).pathname };
    yield* res.followAll('a');
  }
}
`,
    });
    try {
      const r = await runCli(['careless', '--spiders', project.spiders, '--storage', project.storage]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/unhandled promise rejection .*: Error: forgot to await this/);
      expect(readDb(project.storage, 'careless').items.map((i) => (i.data as { path: string }).path).sort()).toEqual(['/', '/a', '/b']);
    } finally {
      await project.cleanup();
    }
  });
});

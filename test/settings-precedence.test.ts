/**
 * Settings are resolved once, each source over the one before: the defaults,
 * the spider's allowedDomains property, its settings, -s (or crawl()'s
 * settings option), the dedicated flags (--storage, -L). Through the real CLI:
 * a crawl stores where that order says, and export, runs and failures find
 * the database the same way (the spider's own storageDir included).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveSettings } from '../src/index.js';
import { resolveRunOptions, spiderSettings } from '../src/settings.js';
import { workersFor } from '../src/settings/defaults.js';
import { CRAWLKIT, lines, runCli, tempProject } from './helpers/cli.js';
import { serveSite, type TestServer } from './helpers/server.js';

/** Stores `{ tag }` from /ok and fails on /gone-TAG (a 404), so each database tells which crawl wrote it. */
const layeredSource = (storageDir: string) => `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Layered extends Spider {
  override name = 'layered';
  base = this.arg('base', 'http://127.0.0.1:9');
  tag = this.arg('tag', 'none');
  override startUrls = [this.base + '/ok', this.base + '/gone-' + this.tag];
  override settings = { storageDir: ${JSON.stringify(storageDir)}, logLevel: 'silent' as const, workers: 0, obeyRobots: false, retry: { maxAttempts: 1 } };
  override async *parse(res: Response) {
    yield { tag: this.tag };
  }
}
`;

/** Needs -a base, so it cannot be loaded without arguments to read its storageDir. */
const needySource = (storageDir: string) => `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Needy extends Spider {
  override name = 'needy';
  override startUrls = [this.arg('base') + '/ok'];
  override settings = { storageDir: ${JSON.stringify(storageDir)}, workers: 0, obeyRobots: false, logLevel: 'warn' as const };
  override async *parse(res: Response) {
    yield { page: res.url };
  }
}
`;

describe('settings precedence through the CLI', () => {
  let server: TestServer;
  let project: Awaited<ReturnType<typeof tempProject>>;
  const dirs = { spider: '', set: '', flag: '', needy: '' };
  /** Runs the CLI in the project folder, where `storage/` is the default storage and `spiders/` the default spiders. */
  const cli = (...args: string[]) => runCli(args, { cwd: project.dir, timeoutMs: 30_000 });
  const exported = async (...args: string[]) => {
    const r = await cli('export', 'layered', ...args);
    expect(r.code, r.stderr).toBe(0);
    return lines(r.stdout).map((l) => (JSON.parse(l) as { tag: string }).tag);
  };

  beforeAll(async () => {
    server = await serveSite(new Map([['/ok', '<h1>ok</h1>']]));
    project = await tempProject({});
    Object.assign(dirs, { spider: join(project.dir, 'from-spider'), set: join(project.dir, 'from-set'), flag: join(project.dir, 'from-flag'), needy: join(project.dir, 'needy-data') });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(project.spiders, 'layered.ts'), layeredSource(dirs.spider));
    await writeFile(join(project.spiders, 'needy.ts'), needySource(dirs.needy));
    const crawl = (tag: string, ...extra: string[]) => cli('layered', '-a', `base=${server.url}`, '-a', `tag=${tag}`, ...extra);
    // One after the other: each crawl's database must be where the order says, and nowhere else.
    const bySpider = await crawl('a');
    expect(bySpider.code, bySpider.stderr).toBe(0);
    expect(bySpider.stderr).not.toMatch(/Finished/); // the spider's logLevel: silent
    const bySet = await crawl('b', '-s', `storageDir=${dirs.set}`, '-s', 'logLevel=info');
    expect(bySet.code, bySet.stderr).toBe(0);
    expect(bySet.stderr).toMatch(/Finished run 1 of 'layered'/); // -s logLevel over the spider's
    const byFlag = await crawl('c', '-s', `storageDir=${dirs.set}`, '--storage', dirs.flag, '-s', 'logLevel=info', '-L', 'silent');
    expect(byFlag.code, byFlag.stderr).toBe(0);
    expect(byFlag.stderr).not.toMatch(/Finished/); // -L over -s logLevel
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await project?.cleanup();
  });

  it('crawl NAME stores in the spider storageDir, under -s storageDir, under --storage', () => {
    for (const dir of [dirs.spider, dirs.set, dirs.flag]) expect(existsSync(join(dir, 'layered.sqlite')), dir).toBe(true);
    expect(existsSync(join(project.dir, 'storage'))).toBe(false);
  });

  it('crawl export finds the database the same way', async () => {
    const [spider, set, flag] = await Promise.all([exported(), exported('-s', `storageDir=${dirs.set}`), exported('-s', `storageDir=${dirs.set}`, '--storage', dirs.flag)]);
    expect([spider, set, flag]).toEqual([['a'], ['b'], ['c']]);
  });

  it('crawl runs finds the database the same way', async () => {
    const runs = (...args: string[]) => cli('runs', 'layered', '--json', ...args);
    const results = await Promise.all([runs(), runs('-s', `storageDir=${dirs.set}`), runs('-s', `storageDir=${dirs.set}`, '--storage', dirs.flag)]);
    const tags = results.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return lines(r.stdout).map((l) => (JSON.parse(l) as { args: Record<string, string> }).args.tag);
    });
    expect(tags).toEqual([['a'], ['b'], ['c']]);
  });

  it('crawl failures finds the database the same way', async () => {
    const failures = (...args: string[]) => cli('failures', 'layered', '--json', ...args);
    const results = await Promise.all([failures(), failures('-s', `storageDir=${dirs.set}`), failures('-s', `storageDir=${dirs.set}`, '--storage', dirs.flag)]);
    const urls = results.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return lines(r.stdout).map((l) => new URL((JSON.parse(l) as { url: string }).url).pathname);
    });
    expect(urls).toEqual([['/gone-a'], ['/gone-b'], ['/gone-c']]);
  });

  it('a spider that cannot be loaded without -a is passed over, and the error says so', async () => {
    const crawled = await cli('needy', '-a', `base=${server.url}`);
    expect(crawled.code, crawled.stderr).toBe(0);
    expect(existsSync(join(dirs.needy, 'needy.sqlite'))).toBe(true);
    const missing = await cli('export', 'needy');
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toHaveLength(1);
    expect(missing.stderr).toMatch(/^crawl: error: no data for spider 'needy': .*storage.needy\.sqlite does not exist .*; spider 'needy' could not be loaded to read its storageDir \(spider argument 'base' is required: pass -a base=\.\.\.\): pass --storage\n$/);
    const given = await cli('export', 'needy', '--storage', dirs.needy);
    expect(given.code, given.stderr).toBe(0);
    expect(lines(given.stdout)).toHaveLength(1);
  });

  it('-s on export takes storageDir alone, and checks it', async () => {
    const other = await cli('export', 'layered', '-s', 'concurrency=2');
    expect(other.code).toBe(2);
    expect(other.stderr).toBe("crawl: error: crawl export takes -s storageDir alone: concurrency is a setting of the crawl\n");
    const bad = await cli('runs', 'layered', '-s', 'storageDir=');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^crawl: error: bad value for setting 'storageDir': "" \(expected a string\)\n$/);
  });
});

describe('the order of the sources', () => {
  const spider = (allowedDomains: string[], settings: Record<string, unknown>) => ({ allowedDomains, settings });

  it('defaults < allowedDomains property < spider settings < -s or crawl() < flags', () => {
    expect(spiderSettings(spider([], {})).allowedDomains).toEqual([]);
    expect(spiderSettings(spider(['a.com'], {})).allowedDomains).toEqual(['a.com']);
    expect(spiderSettings(spider(['a.com'], { allowedDomains: ['b.com'] })).allowedDomains).toEqual(['b.com']);
    expect(spiderSettings(spider(['a.com'], { allowedDomains: ['b.com'] }), { allowedDomains: ['c.com'] }).allowedDomains).toEqual(['c.com']);
    const s = spiderSettings(spider([], { storageDir: 'spider', logLevel: 'warn', perHost: { concurrency: 2, delayMs: 5 } }), { storageDir: 'set', 'perHost.concurrency': 3 }, { storageDir: 'flag' });
    expect([s.storageDir, s.logLevel, s.perHost.concurrency, s.perHost.delayMs]).toEqual(['flag', 'warn', 3, 5]);
  });

  it('a key set to undefined sets nothing (a flag not given)', () => {
    expect(resolveSettings({ storageDir: 'set' }, { storageDir: undefined }).storageDir).toBe('set');
  });

  it('run options resolve apart: a bad crawl setting beside them is left for the crawl', () => {
    expect(resolveRunOptions({ storageDir: 'spider', concurrency: 0 }, { logLevel: 'warn' })).toEqual({ storageDir: 'spider', statusIntervalMs: 10_000, logLevel: 'warn', heapGrowthPercent: 20 });
    expect(() => resolveRunOptions({ storageDir: 7 })).toThrow(/bad value for setting 'storageDir': 7 \(expected a string\)/);
  });

  it('counts are whole numbers, lists hold the right things, settings are an object', () => {
    expect(() => resolveSettings({ heapGrowthPercent: -5 })).toThrow(/bad value for setting 'heapGrowthPercent': -5/);
    expect(() => resolveSettings({ workers: 2.5 })).toThrow(/bad value for setting 'workers': 2.5 \(expected a whole number\)/);
    expect(() => resolveSettings({ allowedDomains: ['a.com', 7] as unknown as string[] })).toThrow(/bad value for setting 'allowedDomains': \["a.com",7\] \(expected a list of strings\)/);
    expect(() => resolveSettings({ retry: { statuses: [503, 42] } })).toThrow(/bad value for setting 'retry\.statuses': \[503,42\] \(expected a list of HTTP statuses\)/);
    expect(() => resolveSettings({ perHost: 3 } as Record<string, unknown>)).toThrow(/bad value for setting 'perHost': 3 \(expected an object of concurrency, delayMs, maxCrawlDelayMs\)/);
    expect(() => resolveSettings(null as unknown as Record<string, unknown>)).toThrow(ConfigError);
  });
});

describe('the default number of parser workers, from the core count', () => {
  it('none on 2 cores or fewer (one V8 heap measured leaner and faster there), else one per core but one, at most 4', () => {
    expect([1, 2, 3, 4, 5, 8, 64].map(workersFor)).toEqual([0, 0, 2, 3, 4, 4, 4]);
    expect(resolveSettings({}).workers).toBe(workersFor(availableParallelism()));
  });
});

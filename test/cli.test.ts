/**
 * The `crawl` command line end to end: `list`, `export` in every format to
 * stdout and to files, and the one-line errors (exit code 2, no stack trace
 * unless --debug) for bad input.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotesExpected } from './fixtures/quotes.js';
import { startFixtureServers, type FixtureServers } from './fixtures/serve.js';
import { CRAWLKIT, lines, runCli, stackLines, tempDir, tempProject, type CliResult } from './helpers/cli.js';
import { parseCsv } from './helpers/csv.js';
import { canonical, readDb } from './helpers/db.js';

let servers: FixtureServers;
let tmp: string;
/** Storage with one finished quotes crawl, shared by the export tests (read only). */
let storage: string;
/** The stored quotes, in stored order. */
let stored: Record<string, unknown>[];
/** A project whose spiders folder holds broken spiders. */
let project: Awaited<ReturnType<typeof tempProject>>;

const quotesUrl = () => `${servers.quotes.url}/`;

beforeAll(async () => {
  servers = await startFixtureServers(0);
  tmp = await tempDir();
  storage = join(tmp, 'storage');
  project = await tempProject({
    broken: "import { Spider } from 'nowhere';\nexport default class Broken extends Spider {\n  name = 'broken'\n  async *parse(res) {\n    yield { a: 1 ;\n  }\n}\n",
    empty: `import { Spider } from ${JSON.stringify(CRAWLKIT)};\nexport default class Empty extends Spider {\n  name = 'empty';\n  startUrls = [this.arg('baseUrl')];\n  async *parse() {}\n}\n`,
    thrower: "throw new Error('kaboom while importing the spider');\nexport default class Thrower { parse() {} }\n",
  });
  const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '--storage', storage]);
  if (r.code !== 0) throw new Error(`setup crawl failed (${r.code}):\n${r.stderr}`);
  stored = readDb(storage, 'quotes').items.map((i) => i.data);
  if (stored.length !== 100) throw new Error(`setup crawl stored ${stored.length} items`);
});

afterAll(async () => {
  await servers?.close();
  await project?.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The CSV rows `crawl export quotes --format csv` should give for `items`. */
const quoteRows = (items: Record<string, unknown>[]) => items.map((q) => [q.text, q.author, JSON.stringify(q.tags)]);

function expectCsvOfQuotes(text: string): void {
  expect(text.startsWith('\uFEFF')).toBe(true);
  const rows = parseCsv(text.slice(1));
  expect(rows[0]).toEqual(['text', 'author', 'tags']);
  expect(rows.slice(1)).toEqual(quoteRows(stored));
}

/** A bad-input failure: exit code 2, one line on stderr starting `crawl: error:`, no stack trace, nothing on stdout. */
function expectOneLineError(r: CliResult, pattern: RegExp): string {
  expect(r.code, r.stderr).toBe(2);
  expect(r.signal).toBeNull();
  expect(r.stdout).toBe('');
  expect(stackLines(r.stderr)).toEqual([]);
  expect(lines(r.stderr), r.stderr).toHaveLength(1);
  const line = lines(r.stderr)[0]!;
  expect(line).toMatch(/^crawl: error: /);
  expect(line).toMatch(pattern);
  return line;
}

describe.concurrent('crawl list', () => {
  it('lists the bundled spiders', async () => {
    const r = await runCli(['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual(['books', 'quotes']);
  });

  it('lists the spiders of a --spiders folder', async () => {
    const r = await runCli(['list', '--spiders', project.spiders]);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual(['broken', 'empty', 'thrower']);
  });
});

describe.concurrent('crawl export', () => {
  it('the setup crawl stored the 100 expected quotes', () => {
    expect(canonical(stored)).toEqual(canonical(quotesExpected()));
  });

  it('writes JSON Lines to stdout by default', async () => {
    const r = await runCli(['export', 'quotes', '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.endsWith('}\n')).toBe(true);
    const out = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toEqual(stored);
    const explicit = await runCli(['export', 'quotes', '--format', 'jsonl', '--storage', storage]);
    expect(explicit.code, explicit.stderr).toBe(0);
    expect(explicit.stdout).toBe(r.stdout);
  });

  it('writes one JSON document with -f json', async () => {
    const r = await runCli(['export', 'quotes', '-f', 'json', '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(stored);
  });

  it('writes RFC 4180 CSV with a BOM and CRLF with -f csv', async () => {
    const r = await runCli(['export', 'quotes', '-f', 'csv', '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/); // no quote text has a line break, so every line end is CRLF
    expect(lines(r.stdout)).toHaveLength(101);
    expectCsvOfQuotes(r.stdout);
  });

  for (const [ext, check] of [
    ['jsonl', (t: string) => expect(lines(t).map((l) => JSON.parse(l) as unknown)).toEqual(stored)],
    ['json', (t: string) => expect(JSON.parse(t)).toEqual(stored)],
    ['csv', (t: string) => expectCsvOfQuotes(t)],
  ] as const) {
    it(`writes a .${ext} file with -o, inferring the format from the extension`, async () => {
      const dir = await tempDir();
      try {
        const file = join(dir, `quotes.${ext}`);
        const r = await runCli(['export', 'quotes', '-o', file, '--storage', storage]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(new RegExp(`wrote 100 items to .*quotes\\.${ext}`));
        check(await readFile(file, 'utf8'));
        expect(await readdir(dir)).toEqual([`quotes.${ext}`]); // no temporary file left behind
        const toStdout = await runCli(['export', 'quotes', '-f', ext, '--storage', storage]);
        expect(await readFile(file, 'utf8')).toBe(toStdout.stdout);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('overwrites an existing output file', async () => {
    const file = join(tmp, 'overwrite.json');
    await writeFile(file, 'old content that is not JSON');
    const r = await runCli(['export', 'quotes', '-o', file, '--storage', storage]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(stored);
  });
});

describe.concurrent('errors: one line, exit code 2, no stack trace', () => {
  const store = (name: string) => join(tmp, `err-${name}`);

  it('unknown spider (lists the known ones)', async () => {
    const r = await runCli(['nope', '--storage', store('unknown')]);
    const line = expectOneLineError(r, /unknown spider 'nope'/);
    expect(line).toMatch(/known: books, quotes/);
    expect(existsSync(store('unknown'))).toBe(false);
  });

  it('spider file with a syntax error (names the file)', async () => {
    const r = await runCli(['broken', '--spiders', project.spiders, '--storage', store('broken')]);
    expectOneLineError(r, /broken\.ts/);
    expect(existsSync(store('broken'))).toBe(false);
  });

  it('spider file that throws at import (names the file and the error)', async () => {
    const r = await runCli(['thrower', '--spiders', project.spiders, '--storage', store('thrower')]);
    const line = expectOneLineError(r, /thrower\.ts/);
    expect(line).toMatch(/kaboom while importing the spider/);
  });

  it('bad -a syntax', async () => {
    const r = await runCli(['quotes', '-a', 'novalue', '--storage', store('arg')]);
    expectOneLineError(r, /-a "novalue".*key=value/);
    expect(existsSync(store('arg'))).toBe(false);
  });

  it('unknown setting', async () => {
    const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '-s', 'nope=1', '--storage', store('setting')]);
    expectOneLineError(r, /unknown setting 'nope'/);
    expect(existsSync(store('setting'))).toBe(false);
  });

  it('bad setting value (names the setting and the value given)', async () => {
    const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '-s', 'concurrency=abc', '--storage', store('value')]);
    expectOneLineError(r, /setting 'concurrency'/);
    expect(r.stderr).toMatch(/abc/);
    expect(existsSync(store('value'))).toBe(false);
  });

  it('invalid start URL', async () => {
    // The quotes spider puts baseUrl into startUrls as given; the Request for it rejects it.
    const r = await runCli(['quotes', '-a', 'baseUrl=notaurl', '--storage', store('url')]);
    expectOneLineError(r, /invalid URL "notaurl"/);
  });

  it('an invalid start URL does not spoil the next crawl in the same storage', async () => {
    const dir = store('url-then-good');
    const bad = await runCli(['quotes', '-a', 'baseUrl=notaurl', '--storage', dir]);
    expect(bad.code, bad.stderr).toBe(2);
    const good = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '--storage', dir]);
    expect(good.code, good.stderr).toBe(0);
    const exported = await runCli(['export', 'quotes', '-f', 'json', '--storage', dir]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(canonical(JSON.parse(exported.stdout) as object[])).toEqual(canonical(quotesExpected()));
  });

  it('unwritable storage folder (a path under a regular file)', async () => {
    const file = join(tmp, 'a-regular-file');
    await writeFile(file, 'not a folder');
    const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '--storage', join(file, 'storage')]);
    expectOneLineError(r, /storage .*a-regular-file.*not writable/);
  });

  it('-o with an unknown extension on a crawl, before anything is opened', async () => {
    const r = await runCli(['quotes', '-a', `baseUrl=${quotesUrl()}`, '-o', join(tmp, 'items.xml'), '--storage', store('crawl-o')]);
    expectOneLineError(r, /items\.xml.*\.jsonl, \.json or \.csv/);
    expect(existsSync(store('crawl-o'))).toBe(false);
  });

  it('export of a spider that has no data', async () => {
    const r = await runCli(['export', 'quotes', '--storage', store('empty')]);
    expectOneLineError(r, /no data for spider 'quotes'/);
  });

  it('export of a run that stored no items', async () => {
    const dir = store('no-items');
    const crawl = await runCli(['empty', '-a', `baseUrl=${quotesUrl()}`, '--spiders', project.spiders, '--storage', dir]);
    expect(crawl.code, crawl.stderr).toBe(0);
    expect(crawl.stderr).toMatch(/items\s+0\b/);
    const r = await runCli(['export', 'empty', '--storage', dir]);
    expectOneLineError(r, /stored no items|nothing to export/);
  });

  it('export with an unknown --format', async () => {
    const r = await runCli(['export', 'quotes', '--format', 'xml', '--storage', storage]);
    expectOneLineError(r, /xml/);
  });

  it('export to a file with an unknown extension', async () => {
    const file = join(tmp, 'quotes.xml');
    const r = await runCli(['export', 'quotes', '-o', file, '--storage', storage]);
    expectOneLineError(r, /quotes\.xml/);
    expect(existsSync(file)).toBe(false);
  });

  it('with --debug the stack trace is shown', async () => {
    const r = await runCli(['thrower', '--spiders', project.spiders, '--storage', store('debug'), '--debug']);
    expect(r.code, r.stderr).toBe(2);
    expect(lines(r.stderr)[0]).toMatch(/^crawl: error: .*kaboom while importing the spider/);
    expect(stackLines(r.stderr).length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/loader\.ts/);
  });
});

describe('crawl parse', () => {
  it('prints what a callback yields on one page, stores nothing', async () => {
    const dir = join(tmp, 'parse-storage');
    const page = `${servers.quotes.url}/page/2/`;
    const r = await runCli(['parse', 'quotes', page, '--spiders', 'spiders', '-s', `storageDir=${dir}`]);
    expect(r.code, r.stderr).toBe(0);
    const items = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(canonical(items)).toEqual(canonical(quotesExpected().slice(10, 20)));
    expect(lines(r.stderr)[0]).toBe(`200 ${page}: 10 items, 1 requests`);
    expect(r.stderr).toContain(`-> ${servers.quotes.url}/page/3/ (parse)`);
    expect(existsSync(dir)).toBe(false);
  });

  it('runs the callback named by --callback', async () => {
    const r = await runCli(['parse', 'quotes', `${servers.quotes.url}/author/Albert-Einstein/`, '-c', 'parseAuthor']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'author', name: 'Albert Einstein' });
  });

  it('names a missing callback in one line', async () => {
    const r = await runCli(['parse', 'quotes', `${servers.quotes.url}/`, '-c', 'nope']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual(["crawl: error: spider 'quotes' has no method nope()"]);
  });
});

describe('crawl new', () => {
  it('writes a spider that loads and crawls the site it was made for', async () => {
    const dir = await tempDir();
    const spiders = join(dir, 'spiders');
    const made = await runCli(['new', 'shop', `${servers.books.url}/`, '--spiders', spiders]);
    expect(made.code, made.stderr).toBe(0);
    const file = join(spiders, 'shop.ts');
    const source = await readFile(file, 'utf8');
    expect(source).toContain("from 'crawlkit-ts'");
    expect(source).toContain(`this.arg('baseUrl', ${JSON.stringify(`${servers.books.url}/`)})`);
    // Outside a project with crawlkit installed, point the import at the sources to run it.
    await writeFile(file, source.replace("from 'crawlkit-ts'", `from ${JSON.stringify(CRAWLKIT)}`));
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }');
    const r = await runCli(['shop', '--spiders', spiders, '--storage', join(dir, 'storage'), '-s', 'maxDepth=1']);
    expect(r.code, r.stderr).toBe(0);
    const items = readDb(join(dir, 'storage'), 'shop').items.map((i) => i.data);
    expect(items.length).toBeGreaterThan(20); // the home page and the pages it links to
    expect(items[0]).toMatchObject({ url: `${servers.books.url}/`, title: expect.stringContaining('Books') });
    const again = await runCli(['new', 'shop', `${servers.books.url}/`, '--spiders', spiders]);
    expect(again.code).toBe(2);
    expect(lines(again.stderr)).toHaveLength(1);
    expect(again.stderr).toMatch(/^crawl: error: .*shop\.ts already exists/);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a bad URL or name', async () => {
    const bad = await runCli(['new', 'x', 'notaurl', '--spiders', join(tmp, 'never')]);
    expect([bad.code, lines(bad.stderr)]).toEqual([2, ['crawl: error: invalid URL "notaurl": expected an absolute http:// or https:// URL']]);
    const name = await runCli(['new', '9lives', 'http://127.0.0.1/', '--spiders', join(tmp, 'never')]);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/^crawl: error: bad spider name "9lives"/);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });
});

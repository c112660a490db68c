/**
 * Errors: every class crawlkit throws on purpose is in src/errors.ts and
 * extends CrawlkitError with a code of its own; `crawl parse` and `crawl
 * shell` fail with FetchError, PageError or CallbackError, never ConfigError,
 * when the network, the site or the callback is what failed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { CallbackError, ConfigError, CrawlkitError, ERROR_CODES, FetchError, PageError, resolveSettings, Spider, type CallbackResult, type Response } from '../src/index.js';
import * as errors from '../src/errors.js';
import { parseSingle } from '../src/parser/single.js';
import { startShell } from '../src/shell.js';
import { ROOT } from './helpers/cli.js';
import { serveSite, type Route, type TestServer } from './helpers/server.js';

/** Every .ts file under src/, with its text. */
function sources(dir = join(ROOT, 'src')): [string, string][] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e): [string, string][] =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [[join(dir, e.name), readFileSync(join(dir, e.name), 'utf8')]] : [],
  );
}

describe('error classes', () => {
  it('no error class is declared outside src/errors.ts', () => {
    const elsewhere = sources()
      .filter(([file]) => !file.endsWith(join('src', 'errors.ts')))
      .flatMap(([file, text]) => [...text.matchAll(/class (\w+) extends (\w*Error)\b/g)].map((m) => `${file}: ${m[1]} extends ${m[2]}`));
    expect(elsewhere).toEqual([]);
  });

  it('every error class extends CrawlkitError with a code of its own, from ERROR_CODES', () => {
    type Class = (new (...a: unknown[]) => CrawlkitError) & { name: string };
    const classes = (Object.values(errors) as unknown[]).filter((v): v is Class => typeof v === 'function' && v.prototype instanceof CrawlkitError);
    // Constructed with plausible arguments: the code is a field, set whatever the message.
    const codes = classes.map((Cls) => {
      const err = new Cls('reason', 'message', false);
      expect(err, Cls.name).toBeInstanceOf(Error);
      expect(err.name).toBe(Cls.name);
      return err.code;
    });
    expect(classes.length).toBeGreaterThanOrEqual(14);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('the public ones are exported from the package', () => {
    for (const name of ['CrawlkitError', 'ConfigError', 'StorageError', 'LockedError', 'FetchError', 'PageError', 'CallbackError', 'PipelineError', 'UnstorableValueError', 'StartError'])
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    expect(new api.LockedError('x').code).toBe('locked');
    expect(new api.LockedError('x')).toBeInstanceOf(api.StorageError);
  });
});

class Pages extends Spider {
  override name = 'pages';
  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    yield { url: res.url };
  }
  async *explode(): AsyncIterable<CallbackResult> {
    throw new Error('boom in the callback');
  }
}

describe('crawl parse and crawl shell failures are not ConfigErrors', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serveSite(
      new Map<string, string | Route>([
        ['/robots.txt', 'User-agent: *\nDisallow: /private/\n'],
        ['/ok', '<h1>ok</h1>'],
        ['/private/x', '<h1>secret</h1>'],
        ['/loop', { status: 302, headers: { location: '/loop' } }],
      ]),
    );
  });
  afterAll(() => server.close());
  const settings = () => resolveSettings({ timeouts: { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000, requestMs: 5_000 } });

  /** The error `promise` rejects with. */
  const failure = async (promise: Promise<unknown>): Promise<CrawlkitError> => {
    const err: unknown = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CrawlkitError);
    expect(err).not.toBeInstanceOf(ConfigError);
    return err as CrawlkitError;
  };

  it('a page that cannot be fetched: FetchError with the reason', async () => {
    const err = await failure(parseSingle(new Pages(), { ...settings(), obeyRobots: false }, 'http://127.0.0.1:1/'));
    expect(err).toBeInstanceOf(FetchError);
    expect(err.code).toBe('fetch');
    expect((err as FetchError).reason).toBe('network:ECONNREFUSED');
    expect(err.message).toMatch(/^cannot fetch http:\/\/127\.0\.0\.1:1\/: network:ECONNREFUSED/);
    const loop = await failure(parseSingle(new Pages(), settings(), `${server.url}/loop`));
    expect([loop.code, (loop as FetchError).reason]).toEqual(['fetch', 'redirect:loop']);
  });

  it('a page a crawl would not call back on: PageError with what a crawl records', async () => {
    const disallowed = await failure(parseSingle(new Pages(), settings(), `${server.url}/private/x`));
    expect(disallowed).toBeInstanceOf(PageError);
    expect([disallowed.code, (disallowed as PageError).reason]).toEqual(['page', 'disallowed']);
    const missing = await failure(parseSingle(new Pages(), settings(), `${server.url}/nope`));
    expect([missing.code, (missing as PageError).reason]).toEqual(['page', 'http:404']);
  });

  it('a callback that throws: CallbackError with the spider stack', async () => {
    const err = await failure(parseSingle(new Pages(), settings(), `${server.url}/ok`, 'explode'));
    expect(err).toBeInstanceOf(CallbackError);
    expect([err.code, (err as CallbackError).reason]).toEqual(['callback', 'callback:error']);
    expect(err.message).toMatch(/explode\(\) failed on .*\/ok: boom in the callback/);
    expect((err as CallbackError).spiderStack).toMatch(/boom in the callback\n\s+at /);
    // A missing callback is bad input: still a ConfigError.
    await expect(parseSingle(new Pages(), settings(), `${server.url}/ok`, 'nothing')).rejects.toBeInstanceOf(ConfigError);
  });

  it('crawl shell on a page that cannot be fetched: FetchError', async () => {
    const err = await failure(startShell(settings(), 'http://127.0.0.1:1/'));
    expect(err).toBeInstanceOf(FetchError);
  });
});

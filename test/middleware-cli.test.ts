/**
 * A spider's middlewares through the real `crawl` CLI, against a server on
 * 127.0.0.1: a header the server sees (for one host only, robots.txt
 * included, never stored), a URL pattern skipped under the middleware's
 * name, a request answered without reaching the server, a ban page retried,
 * placement before and after built-ins, `crawl middlewares`, `crawl parse`.
 * The README's examples (examples/middlewares.ts) are the ones run here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRAWLKIT, ROOT, lines, runCli, tempProject } from './helpers/cli.js';
import { readDb, STATE } from './helpers/crawl.js';
import { sendRoute, startServer, type TestServer } from './helpers/server.js';

const EXAMPLES = join(ROOT, 'examples', 'middlewares.ts');

const spiderSource = `import { Spider, respond, type Middleware, type Response } from ${JSON.stringify(CRAWLKIT)};
import { banDetector, bearerToken } from ${JSON.stringify(EXAMPLES)};

const noting = (name: string, header: string, place: Partial<Middleware> = {}): Middleware => ({
  name,
  ...place,
  request(req) {
    req.headers[header] = req.headers.cookie ? 'cookie' : 'none';
    return req;
  },
});

export default class Mw extends Spider {
  override name = 'mw';
  override startUrls = [this.arg('baseUrl')];
  override middlewares: Middleware[] = [
    bearerToken(new URL(this.arg('baseUrl')).host, 'sekret-token'),
    { name: 'no-pdf', request: (req) => (req.url.endsWith('.pdf') ? null : req) },
    { name: 'stub', request: (req) => (new URL(req.url).pathname === '/stubbed' ? respond(req, { body: '<h1>answered by the stub</h1>' }) : req) },
    banDetector({ delayMs: 50 }),
    noting('before-cookies', 'x-before-cookies'),
    noting('after-cookies', 'x-after-cookies', { after: 'cookies' }),
    { name: 'first', before: 'scope', request: (req) => req },
  ];
  override async *parse(res: Response) {
    yield { path: new URL(res.url).pathname, host: new URL(res.url).host, h1: res.$('h1').text() };
    yield* res.followAll({ sameDomain: false });
  }
}
`;

let server: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;
let captchaOnce = 0;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const other = `http://localhost:${server.port}`;
    const page = (h1: string, links: string[] = []) => `<html><body><h1>${h1}</h1>${links.map((l) => `<a href="${l}">x</a>`).join('')}</body></html>`;
    if (path === '/')
      return sendRoute(req, res, {
        headers: { 'set-cookie': 'sid=1; Path=/' },
        body: page('home', ['/next', '/doc.pdf', '/stubbed', '/ban-once', '/always-banned', `${other}/other`]),
      });
    if (path === '/ban-once' && captchaOnce++ === 0) return sendRoute(req, res, { body: page('please solve the captcha') });
    if (path === '/always-banned') return sendRoute(req, res, { body: page('captcha, again') });
    if (path === '/robots.txt') return sendRoute(req, res, { status: 404, body: '' });
    sendRoute(req, res, { body: page(`page ${path}`) });
  });
  project = await tempProject({ mw: spiderSource });
});

afterAll(async () => {
  await server?.close();
  await project?.cleanup();
});

const base = () => `${server.url}/`;
const common = () => ['--spiders', project.spiders, '-a', `baseUrl=${base()}`];
const seen = (path: string, host = `127.0.0.1:${server.port}`) => server.requests.filter((r) => r.path === path && r.headers.host === host);

describe("a spider's middlewares in a crawl", () => {
  let stderr = '';
  beforeAll(async () => {
    const storage = join(project.dir, 'crawl-storage');
    const settings = ['-s', 'allowedDomains=*', '-s', 'retry.maxAttempts=3', '-s', 'retry.baseDelayMs=20'];
    const result = await runCli(['mw', ...common(), '--storage', storage, ...settings], { cwd: project.dir });
    stderr = result.stderr;
    expect(result.code, result.stderr).toBe(0);
  });

  it('adds a header the server sees, for its one host only, robots.txt included', () => {
    expect(seen('/').map((r) => r.headers.authorization)).toEqual(['Bearer sekret-token']);
    expect(seen('/next').map((r) => r.headers.authorization)).toEqual(['Bearer sekret-token']);
    expect(seen('/robots.txt').map((r) => [r.headers.authorization, r.headers['user-agent']])).toEqual([['Bearer sekret-token', expect.stringMatching(/^crawlkit-ts\//)]]);
    const elsewhere = seen('/other', `localhost:${server.port}`);
    expect(elsewhere).toHaveLength(1);
    expect(elsewhere[0]!.headers.authorization).toBeUndefined();
  });

  it('never stores the header it adds', () => {
    const storage = join(project.dir, 'crawl-storage');
    for (const file of readdirSync(storage)) expect(readFileSync(join(storage, file)).includes('sekret-token'), file).toBe(false);
  });

  it('skips a URL pattern, recorded as skipped with its name, never fetched', () => {
    expect(seen('/doc.pdf')).toHaveLength(0);
    const row = readDb(join(project.dir, 'crawl-storage'), 'mw').request('/doc.pdf');
    expect([row?.state, row?.error]).toEqual([STATE.skipped, 'no-pdf']);
  });

  it('answers a request itself: no request reaches the server, the callback gets its response', () => {
    expect(seen('/stubbed')).toHaveLength(0);
    const items = readDb(join(project.dir, 'crawl-storage'), 'mw').items.map((i) => i.data);
    expect(items).toContainEqual({ path: '/stubbed', host: `127.0.0.1:${server.port}`, h1: 'answered by the stub' });
  });

  it('retries a 200 captcha page after a delay, counted, and fails it as banned once the attempts are used', () => {
    const db = readDb(join(project.dir, 'crawl-storage'), 'mw');
    expect(seen('/ban-once')).toHaveLength(2);
    expect(db.items.map((i) => i.data)).toContainEqual({ path: '/ban-once', host: `127.0.0.1:${server.port}`, h1: 'page /ban-once' });
    expect(seen('/always-banned')).toHaveLength(3);
    expect([db.request('/always-banned')?.state, db.request('/always-banned')?.error]).toEqual([STATE.failed, 'banned']);
    const stats = JSON.parse(db.runs[0]!.stats!) as { retries: number; failures: Record<string, number>; skipped: Record<string, number> };
    expect([stats.retries, stats.failures, stats.skipped]).toEqual([3, { banned: 1 }, { 'no-pdf': 1 }]);
    expect(stderr).toMatch(/failed +1 \(banned: 1\)/);
  });

  it('goes where it is placed: before cookies by default, after them when it says so', () => {
    const next = seen('/next')[0]!;
    expect([next.headers['x-before-cookies'], next.headers['x-after-cookies'], next.headers.cookie]).toEqual(['none', 'cookie', 'sid=1']);
  });
});

describe('crawl middlewares', () => {
  it('prints the chain in order, the spider’s middlewares in their places, the fetch last', async () => {
    const { code, stdout, stderr } = await runCli(['middlewares', 'mw', ...common()], { cwd: project.dir });
    expect(code, stderr).toBe(0);
    const names = lines(stdout)
      .slice(2, -1)
      .map((l) => l.trim().split(/\s+/).slice(0, 2));
    expect(names.map(([n, name]) => (/^\d+$/.test(n!) ? name : n))).toEqual([
      'first', 'scope', 'robots', 'headers', 'auth', 'no-pdf', 'stub', 'ban-detector', 'before-cookies', 'retry', 'redirect', 'sessions', 'cookies', 'after-cookies', 'proxies', 'politeness', 'stats', 'cache', 'fetch',
    ]);
    expect(stdout).toMatch(/ first +request +the spider's, before scope/);
    expect(stdout).toMatch(/ auth +request +the spider's, after headers, the default/);
    expect(stdout).toMatch(/ cache +\(off\) .*\(off: without --cache or --replay\)/);
  });

  it('refuses a place that names no middleware, in one line', async () => {
    const bad = await tempProject({ bad: spiderSource.replace("{ after: 'cookies' }", "{ after: 'cookie' }").replace("name = 'mw'", "name = 'bad'") });
    try {
      const { code, stderr } = await runCli(['middlewares', 'bad', '--spiders', bad.spiders, '-a', `baseUrl=${base()}`], { cwd: bad.dir });
      expect(code).toBe(2);
      expect(lines(stderr)).toEqual([expect.stringMatching(/^crawl: error: middleware 'after-cookies': no middleware named 'cookie' to go after \(the chain: scope, robots, headers, auth, no-pdf, /)]);
    } finally {
      await bad.cleanup();
    }
  });
});

describe('crawl parse', () => {
  it("goes through the spider's middlewares too", async () => {
    const before = seen('/next').length;
    const { code, stderr } = await runCli(['parse', 'mw', `${server.url}/next`, ...common()], { cwd: project.dir });
    expect(code, stderr).toBe(0);
    expect(seen('/next').slice(before).map((r) => r.headers.authorization)).toEqual(['Bearer sekret-token']);
    const skipped = await runCli(['parse', 'mw', `${server.url}/doc.pdf`, ...common()], { cwd: project.dir });
    expect(skipped.code).toBe(2);
    expect(lines(skipped.stderr)).toEqual([`crawl: error: ${server.url}/doc.pdf is skipped by middleware 'no-pdf'`]);
  });
});

describe('the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('shows the examples that run here, as they are', () => {
    const source = readFileSync(EXAMPLES, 'utf8');
    const body = source.slice(source.indexOf('\n', source.indexOf("from '../src/index.js'")) + 1).trim();
    expect(readme).toContain(`import { retryRequest, type Middleware } from 'crawlkit-ts';\n\n${body}\n`);
  });

  it('shows the default chain as `crawl middlewares` prints it', async () => {
    const { code, stdout } = await runCli(['middlewares', 'quotes']);
    expect(code).toBe(0);
    expect(readme).toContain(`$ npx crawl middlewares quotes\n${stdout}`);
  });
});

/**
 * Default headers through the real `crawl` CLI, against one server on
 * 127.0.0.1 reached as two hosts (127.0.0.1 and localhost): per crawl
 * (`-s headers.NAME=...`), per host (`hostHeaders`, in the spider and by
 * `-s`), a request's own header over both whatever its case, '' dropping a
 * default; bad names and values refused in one line; credentials in no log,
 * no database file and no `crawl runs` output.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettingValue, resolveSettings } from '../src/settings.js';
import { CRAWLKIT, lines, runCli, tempProject } from './helpers/cli.js';
import { sendRoute, startServer, type TestServer } from './helpers/server.js';

const spiderSource = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Hdr extends Spider {
  override name = 'hdr';
  override startUrls = [this.arg('start')];
  override settings = {
    workers: 0,
    obeyRobots: false,
    retry: { maxAttempts: 1 },
    allowedDomains: ['127.0.0.1', 'localhost'],
    hostHeaders: { LocalHost: { Authorization: 'Bearer HOST-SECRET' } },
  };
  override async *parse(res: Response) {
    yield { url: res.url };
    if (new URL(res.url).pathname !== '/') return;
    yield* res.followAll('a[href]');
    yield res.follow('/own', undefined, { headers: { 'Accept-Language': 'de', 'X-Crawl': '' } });
  }
}
`;

let server: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const other = `http://localhost:${server.port}`;
    const body = req.url === '/' ? `<a href="/plain">plain</a><a href="${other}/api">api</a>` : `<p>${req.url}</p>`;
    sendRoute(req, res, { body: `<html><body>${body}</body></html>` });
  });
  project = await tempProject({ hdr: spiderSource });
});

afterAll(async () => {
  await server?.close();
  await project?.cleanup();
});

const crawlArgs = (storage: string, ...more: string[]) => ['run', 'hdr', '--spiders', project.spiders, '--storage', storage, '-a', `start=${server.url}/`, ...more];
/** The headers the server got for a path on a host. */
const got = (path: string, host: string) => {
  const found = server.requests.filter((r) => r.path === path && r.headers.host === `${host}:${server.port}`);
  expect(found, `${host}${path}`).toHaveLength(1);
  return found[0]!.headers;
};

describe('default headers', () => {
  it('per crawl, per host, the request’s own over both; credentials in no log, database or crawl runs', async () => {
    const storage = join(project.dir, 'storage-headers');
    const logFile = join(project.dir, 'crawl.log');
    const settings = [
      ['headers.Accept-Language', 'fr'],
      ['headers.X-Crawl', 'yes'],
      ['headers.accept', ''],
      ['headers.Cookie', 'session=CRAWL-SECRET'],
      ['hostHeaders.localhost.X-Api-Key', 'KEY'],
      ['hostHeaders.localhost.proxy-authorization', 'Basic PROXY-SECRET'],
    ].flatMap(([k, v]) => ['-s', `${k}=${v}`]);
    const run = await runCli(crawlArgs(storage, ...settings, '--debug', '--log-file', logFile));
    expect(run.code, run.stderr).toBe(0);

    const home = got('/', '127.0.0.1');
    expect(home['accept-language']).toBe('fr');
    expect(home['x-crawl']).toBe('yes');
    expect(home.accept).toBeUndefined(); // '' drops crawlkit's default
    expect(home.cookie).toBe('session=CRAWL-SECRET');
    expect(home['user-agent']).toMatch(/^crawlkit-ts\//);
    expect([home.authorization, home['x-api-key'], home['proxy-authorization']]).toEqual([undefined, undefined, undefined]);
    expect(got('/plain', '127.0.0.1').authorization).toBeUndefined();

    // The host's headers, from the spider's settings (its host name given as LocalHost) and from -s, over the crawl's.
    const api = got('/api', 'localhost');
    expect(api.authorization).toBe('Bearer HOST-SECRET');
    expect(api['x-api-key']).toBe('KEY');
    expect(api['proxy-authorization']).toBe('Basic PROXY-SECRET');
    expect(api['accept-language']).toBe('fr');

    // The request's own Accept-Language (capitalised) replaces the default, not sent beside it; its '' drops X-Crawl.
    const own = got('/own', '127.0.0.1');
    expect(own['accept-language']).toBe('de');
    expect(own['x-crawl']).toBeUndefined();

    const [runs, runsJson] = await Promise.all([
      runCli(['runs', 'hdr', '--spiders', project.spiders, '--storage', storage]),
      runCli(['runs', 'hdr', '--json', '--spiders', project.spiders, '--storage', storage]),
    ]);
    expect(runs.code, runs.stderr).toBe(0);
    expect(lines(runsJson.stdout)).toHaveLength(1);
    const files = readdirSync(storage).map((f) => readFileSync(join(storage, f)).toString('latin1'));
    const shown = [run.stdout, run.stderr, readFileSync(logFile, 'utf8'), runs.stdout, runs.stderr, runsJson.stdout, ...files].join('\n');
    expect(shown).toContain('/api'); // the places searched do hold the crawl
    for (const secret of ['HOST-SECRET', 'CRAWL-SECRET', 'PROXY-SECRET']) expect(shown).not.toContain(secret);
  });

  it('a bad header name or value is a one-line error naming it, a credential’s value not shown', async () => {
    const storage = join(project.dir, 'storage-bad');
    const [name, value, host] = await Promise.all([
      runCli(crawlArgs(storage, '-s', 'headers.Bad Name=x')),
      runCli(crawlArgs(storage, '-s', 'headers.Authorization=Bearer BAD-SECRET\r\nX-Injected: 1')),
      runCli(crawlArgs(storage, '-s', 'hostHeaders.localhost.X-Ok=a\nb')),
    ]);
    expect([name.code, value.code, host.code]).toEqual([2, 2, 2]);
    expect(lines(name.stderr)).toEqual([expect.stringMatching(/bad name in setting 'headers': "Bad Name" \(expected a header name/)]);
    expect(lines(value.stderr)).toEqual([expect.stringMatching(/bad value for setting 'headers\.Authorization': "<redacted>" \(expected a header value: no CR, LF/)]);
    expect(value.stderr).not.toContain('BAD-SECRET');
    expect(lines(host.stderr)).toEqual([expect.stringMatching(/bad value for setting 'hostHeaders\.localhost\.X-Ok': "a\\nb"/)]);
    expect(server.requests.some((r) => r.headers['x-injected'] !== undefined)).toBe(false);
  });
});

describe('header settings', () => {
  it('names are lower-cased, so sources override each other whatever the case; a host name may hold dots', () => {
    const s = resolveSettings({ headers: { 'Accept-Language': 'de' } }, { 'headers.accept-language': 'fr', 'hostHeaders.API.example.com.X-Key': 'k' });
    expect(s.headers).toEqual({ 'accept-language': 'fr' });
    expect(s.hostHeaders).toEqual({ 'api.example.com': { 'x-key': 'k' } });
    expect(parseSettingValue('headers.Accept-Language', '')).toBe('');
    // One source giving a host's headers both dotted and nested keeps both.
    expect(resolveSettings({ 'hostHeaders.a.com.X-A': '1', hostHeaders: { 'a.com': { 'X-B': '2' } } }).hostHeaders).toEqual({ 'a.com': { 'x-a': '1', 'x-b': '2' } });
  });

  it('refuses the User-Agent (the userAgent setting), framing headers, and a host with a scheme or port', () => {
    expect(() => parseSettingValue('headers.User-Agent', 'x')).toThrow(/set userAgent instead/);
    expect(() => parseSettingValue('headers.Content-Length', '3')).toThrow(/bad name in setting 'headers': "Content-Length"/);
    expect(() => resolveSettings({ hostHeaders: { 'https://a.com': { x: 'y' } } })).toThrow(/bad name in setting 'hostHeaders'.*a host name/);
    expect(() => resolveSettings({ hostHeaders: { 'a.com:8080': { x: 'y' } } })).toThrow(/a host name/);
    expect(() => resolveSettings({ hostHeaders: { 'a.com': 'x' } } as never)).toThrow(/expected an object of header names and values/);
  });
});

/**
 * Cookies through whole crawls: kept and sent back to the site that set them,
 * never sent to another host, refused for a domain the setter does not own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { crawl, Spider, type CallbackResult, type Response } from '../src/index.js';
import { fastSettings, removeDir, tmpStorage } from './helpers/crawl.js';
import { startServer, type TestServer } from './helpers/server.js';

let servers: TestServer[] = [];
let dir: string | undefined;

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  removeDir(dir);
  dir = undefined;
});

/** Fetches its start URLs one after another (concurrency 1), storing the Cookie header each request carried. */
class CookieSpider extends Spider {
  override name = 'cookies';
  constructor(readonly pages: string[]) {
    super();
  }
  override async *start() {
    yield this.pages[0]!;
  }
  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    yield { url: res.url, cookie: res.text };
    const i = this.pages.indexOf(res.url);
    if (i + 1 < this.pages.length) yield res.follow(this.pages[i + 1]);
  }
}

/** A server that sets the given cookies on /set and echoes the Cookie header it receives on every page. */
async function cookieServer(setCookies: string[]): Promise<TestServer> {
  const server = await startServer((req, res) => {
    const headers: Record<string, string | string[]> = { 'content-type': 'text/plain' };
    if (req.url === '/set') headers['set-cookie'] = setCookies;
    res.writeHead(200, headers);
    res.end(req.headers.cookie ?? '');
  });
  servers.push(server);
  return server;
}

async function run(pages: string[], cookies = true) {
  dir = tmpStorage();
  const items: Record<string, unknown>[] = [];
  // allowedDomains * : these crawls go from host to host on purpose, which the default scope (the start's site) would not.
  const settings = fastSettings(dir, { cookies, concurrency: 1, obeyRobots: false, allowedDomains: ['*'] });
  for await (const item of crawl(new CookieSpider(pages), { settings })) items.push(item);
  return new Map(items.map((i) => [i.url as string, i.cookie as string]));
}

describe('cookies', () => {
  it('are sent back to the host that set them', async () => {
    const a = await cookieServer(['sid=abc; Path=/', 'theme=dark']);
    const seen = await run([`${a.url}/set`, `${a.url}/next`]);
    expect(seen.get(`${a.url}/set`)).toBe('');
    expect(seen.get(`${a.url}/next`)).toBe('sid=abc; theme=dark');
  });

  it('never reach another host, even one on the same machine', async () => {
    const a = await cookieServer(['sid=abc']);
    const b = await cookieServer([]);
    const other = `http://localhost:${b.port}`; // another host name: another registrable domain
    const seen = await run([`${a.url}/set`, `${other}/page`, `${a.url}/back`]);
    expect(seen.get(`${other}/page`)).toBe('');
    expect(seen.get(`${a.url}/back`)).toBe('sid=abc');
  });

  it('refuses a cookie for a domain the setting host does not belong to', async () => {
    const a = await cookieServer(['evil=1; Domain=localhost', 'good=1']);
    const b = await cookieServer([]);
    const seen = await run([`${a.url}/set`, `http://localhost:${b.port}/page`, `${a.url}/back`]);
    expect(seen.get(`http://localhost:${b.port}/page`)).toBe('');
    expect(seen.get(`${a.url}/back`)).toBe('good=1');
  });

  it('are neither kept nor sent with cookies: false', async () => {
    const a = await cookieServer(['sid=abc']);
    const seen = await run([`${a.url}/set`, `${a.url}/next`], false);
    expect(seen.get(`${a.url}/next`)).toBe('');
  });
});

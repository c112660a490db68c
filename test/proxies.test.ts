/**
 * Proxies through the real CLI, against real forward proxies on 127.0.0.1
 * (test/helpers/proxy.ts): every request through them, rotated, a failing
 * proxy benched and its request retried through another, https through
 * CONNECT, the address guard kept, and no password anywhere.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRAWLKIT, runCli, tempProject } from './helpers/cli.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { startServer, TEST_TLS, type TestServer } from './helpers/server.js';

const PAGES = ['/', '/p1', '/p2', '/p3', '/p4', '/p5', '/p6'];
const page = (body: string) => `<!DOCTYPE html><html><body>${body}</body></html>`;
const links = PAGES.slice(1).map((p) => `<a href="${p}">${p}</a>`).join('');

/** The site: / links to six pages; /ssrf links to the same server by 127.0.0.1 and localhost. */
const handler = (port: () => number) => (req: { url?: string }, res: import('node:http').ServerResponse) => {
  const path = req.url ?? '/';
  if (path === '/robots.txt') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'text/html' });
  if (path === '/') return void res.end(page(links));
  if (path === '/ssrf') return void res.end(page(`<a href="http://127.0.0.1:${port()}/secret">ip</a><a href="http://localhost:${port()}/secret2">name</a>`));
  res.end(page(`page ${path}`));
};

const spiderSource = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Via extends Spider {
  override name = 'via';
  override startUrls = [this.arg('start')];
  override settings = { workers: 0, obeyRobots: false };
  override async *parse(res: Response) {
    yield { path: new URL(res.url).pathname };
    yield* res.followAll('a[href]');
  }
}
`;

let site: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;
const proxies: TestProxy[] = [];
const proxy = async (options?: Parameters<typeof startProxy>[0]) => {
  const p = await startProxy(options);
  proxies.push(p);
  return p;
};

beforeAll(async () => {
  site = await startServer(handler(() => site.port));
  project = await tempProject({ via: spiderSource });
});
afterAll(async () => {
  await Promise.all([site.close(), ...proxies.map((p) => p.close()), project.cleanup()]);
});

/** `crawl run via` from `start`, fresh, with fast retries and these -s settings. */
const crawlVia = (start: string, sets: string[], extra: string[] = [], env?: Record<string, string>) =>
  runCli(
    ['run', 'via', '-a', `start=${start}`, '--spiders', project.spiders, '--storage', project.storage, '--fresh',
      '-s', 'retry.baseDelayMs=10', '-s', 'retry.maxDelayMs=50', '-s', 'timeouts.connectMs=2000', '-s', 'timeouts.requestMs=10000',
      ...sets.flatMap((s) => ['-s', s]), ...extra],
    { timeoutMs: 30_000, env },
  );

const viaOf = (from: number) => site.requests.slice(from).map((r) => r.headers.via);

describe('proxies', () => {
  it('one proxy: every request of the crawl, robots.txt too, reaches the site through it', async () => {
    const p = await proxy({ auth: 'bob:pw' });
    const before = site.requests.length;
    const r = await crawlVia(`${site.url}/`, [`proxy=${p.urlWith('bob:pw')}`, 'obeyRobots=true']);
    expect(r.code, r.stderr).toBe(0);
    const seen = site.requests.slice(before).map((q) => q.path);
    expect(seen.sort()).toEqual([...PAGES, '/robots.txt'].sort());
    expect(viaOf(before)).toEqual(seen.map(() => `1.1 test-proxy-${p.port}`));
    expect(p.requests.length).toBe(PAGES.length + 1);
    expect(r.stderr).toMatch(new RegExp(`proxies +http://bob:\\*\\*\\*@127\\.0\\.0\\.1:${p.port}: ${PAGES.length + 1}\\n`));
  });

  it('proxies=a,b,c rotate per request, round-robin', async () => {
    const three = [await proxy(), await proxy(), await proxy()];
    const r = await crawlVia(`${site.url}/`, [`proxies=${three.map((p) => p.url).join(',')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(three.map((p) => p.requests.length).sort()).toEqual([2, 2, 3]);
  });

  it('a 407 and a dropping proxy are benched, every page comes through the good one, and no password is shown or stored anywhere', async () => {
    const [good, bad, dropping] = [await proxy({ auth: 'alice:Zq7-good-PW' }), await proxy({ auth: 'alice:right' }), await proxy({ drop: true })];
    const out = join(project.dir, 'items.jsonl');
    const logFile = join(project.dir, 'log.jsonl');
    const before = site.requests.length;
    const list = [good.urlWith('alice:Zq7-good-PW'), bad.urlWith('alice:Zq7-bad-PW'), dropping.urlWith('carol:Zq7-drop-PW')];
    const r = await crawlVia(`${site.url}/`, [`proxies=${list.join(',')}`, 'retry.maxAttempts=4'], ['--debug', '-o', out, '--log-file', logFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(site.requests.slice(before).map((q) => q.path).sort()).toEqual([...PAGES].sort());
    expect(new Set(viaOf(before))).toEqual(new Set([`1.1 test-proxy-${good.port}`]));
    // Requests sent at once may all meet a proxy before its first failure comes back: benched once all the same.
    expect(bad.refused).toBeGreaterThanOrEqual(1);
    expect(dropping.total).toBeGreaterThanOrEqual(1);
    expect(r.stderr).toContain(`proxy http://alice:***@127.0.0.1:${bad.port} benched for`);
    expect(r.stderr).toMatch(/\(proxy:auth\)/);
    expect(r.stderr).toMatch(/\(proxy:closed\)/);
    expect(r.stderr).not.toMatch(/throttle +\d+ delay increases/); // a proxy's failure is not the site's: its delay stays
    expect(r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${bad.port}: \\d \\(benched 1x\\)`));
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(PAGES.length);

    const runs = await runCli(['runs', 'via', '--storage', project.storage]);
    const failures = await runCli(['failures', 'via', '--storage', project.storage]);
    expect(runs.code, runs.stderr).toBe(0);
    const stored = readdirSync(project.storage).map((f) => readFileSync(join(project.storage, f)).toString('latin1'));
    const everything = [r.stdout, r.stderr, runs.stdout, runs.stderr, failures.stdout, failures.stderr, readFileSync(out, 'utf8'), readFileSync(logFile, 'utf8'), ...stored].join('\n');
    expect(everything).toContain(`127.0.0.1:${good.port}`); // the stats name the proxies, by label
    expect(everything).not.toMatch(/Zq7-/);
  });

  it('an https site through CONNECT, the first proxy dropping the tunnel, the next an https:// proxy', async () => {
    // The test-only certificate of test/fixtures/tls (its CA given as tls.ca): the crawl's TLS trust holds inside the tunnel, and for the https:// proxy.
    const [key, cert] = [TEST_TLS.key, TEST_TLS.cert];
    const paths: string[] = [];
    const tls = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      paths.push(req.url ?? '');
      handler(() => 0)(req, res);
    });
    await new Promise<void>((done) => tls.listen(0, '127.0.0.1', done));
    const port = (tls.address() as AddressInfo).port;
    try {
      const [dropping, good] = [await proxy({ drop: true }), await proxy({ tls: { key: readFileSync(key), cert: readFileSync(cert) } })];
      expect(good.url).toMatch(/^https:/);
      const r = await crawlVia(`https://127.0.0.1:${port}/`, [`proxies=${dropping.url},${good.url}`, 'retry.maxAttempts=3', `tls.ca=${TEST_TLS.ca}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(paths.sort()).toEqual([...PAGES].sort());
      expect(dropping.connects).toEqual([`127.0.0.1:${port}`]);
      expect(new Set(good.connects)).toEqual(new Set([`127.0.0.1:${port}`]));
      expect(good.requests).toEqual([]); // a tunnel: the proxy never sees a request
      expect(r.stderr).toMatch(/benched for [\d.]+ s \(proxy:closed\)/);
    } finally {
      tls.closeAllConnections();
      await new Promise((done) => tls.close(done));
    }
  });

  it('bans through one proxy bench it (proxyBanLimit): its sessions retire, and the crawl goes on through the other', async () => {
    const [bad, good] = [await proxy(), await proxy()];
    const banning: TestServer = await startServer((req, res) => {
      if (String(req.headers.via).includes(`test-proxy-${bad.port}`)) return void res.writeHead(403, { 'content-type': 'text/html' }).end('<p>blocked</p>');
      handler(() => banning.port)(req, res);
    });
    try {
      const r = await crawlVia(`${banning.url}/`, [`proxies=${bad.url},${good.url}`, 'proxyRotation=session', 'sessions.size=2', 'proxyBanLimit=2', 'retry.maxAttempts=6']);
      expect(r.code, r.stderr).toBe(0);
      const served = banning.requests.filter((q) => String(q.headers.via).includes(`test-proxy-${good.port}`)).map((q) => q.path);
      expect(served.sort()).toEqual([...PAGES].sort());
      expect(r.stderr).toMatch(new RegExp(`proxy http://127\\.0\\.0\\.1:${bad.port} benched for [\\d.]+ s \\(bans\\)`));
      expect(r.stderr).toMatch(/sessions +\d+ used, [1-9]\d* retired \(bans: banned:403: [1-9]/);
      // Benched after its second ban (requests already on their way through it still arrive): fewer than a page each.
      expect(bad.requests.length).toBeLessThan(PAGES.length);
    } finally {
      await banning.close();
    }
  });

  it('through a proxy, a page still cannot send the crawl to a loopback address, by IP or by name', async () => {
    const p = await proxy();
    const before = site.requests.length;
    const r = await crawlVia(`http://0.0.0.0:${site.port}/ssrf`, [`proxy=${p.url}`, 'allowedDomains=*']);
    const failures = await runCli(['failures', 'via', '--storage', project.storage]);
    expect(r.code, r.stderr).toBe(0);
    expect(site.requests.slice(before).map((q) => q.path)).toEqual(['/ssrf']);
    expect(p.requests).toEqual([`GET http://0.0.0.0:${site.port}/ssrf`]);
    expect(failures.stdout).toMatch(/blocked:loopback/);
    expect(failures.stdout).toContain(`/secret2`);
    expect(failures.stdout).toMatch(/localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/);
  });

  it('a malformed proxy URL is a one-line error naming the setting, its password masked', async () => {
    const file = join(project.dir, 'proxies.txt');
    writeFileSync(file, `# ours\n${site.url.replace('//', '//u:ok@')}\nhttp://dave:Zq7-file-PW@127.0.0.1:99999 # typo\n`);
    for (const [set, pattern] of [
      ['proxy=http://dave:Zq7-arg-PW@127.0.0.1:99999', /^crawl: error: bad value for setting 'proxy': "http:\/\/dave:\*\*\*@127\.0\.0\.1:99999" \(expected [^\n]* has a bad port\)\n$/],
      [`proxies=@${file}`, /^crawl: error: bad value for setting 'proxies': [^\n]*"http:\/\/dave:\*\*\*@127\.0\.0\.1:99999" has a bad port\)\n$/],
    ] as const) {
      const r = await crawlVia(`${site.url}/`, [set]);
      expect(r.code, set).toBe(2);
      expect(r.stderr, set).toMatch(pattern);
      expect(r.stderr).not.toMatch(/Zq7-/);
    }
  });
});

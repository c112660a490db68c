/**
 * HTTP/2 and TLS through the real `crawl` CLI, against two `node:http2` TLS
 * servers on 127.0.0.1: one of HTTP/2 alone (allowHTTP1 false), one of both.
 * Each checks the version server-side (`req.httpVersion`), so a crawl that
 * fell back to HTTP/1.1 fails the test. The certificate is a test-only one
 * (test/fixtures/tls/README.md), signed by a test CA no system trusts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsConnectOptions } from '../src/fetch/tls.js';
import { CRAWLKIT, ROOT, lines, runCli, tempProject, type CliResult } from './helpers/cli.js';
import { sendRoute, startServer, TEST_TLS, type Handler, type TestServer } from './helpers/server.js';

const CA = TEST_TLS.ca;

/** Starts at each URL of `-a start=` (space-separated), follows every link; one thread, no robots.txt. */
const spiderSource = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Follow extends Spider {
  override name = 'follow';
  override startUrls = this.arg('start').split(' ');
  override settings = { workers: 0, obeyRobots: false, retry: { maxAttempts: 1 } };
  override async *parse(res: Response) {
    yield { url: res.url };
    yield* res.followAll('a[href]');
  }
}
`;

/** A site of `/` linking to `/next`, both tagged with the run's `?run=` so that crawls at once tell theirs apart. */
const site: Handler = (req, res) => {
  const url = new URL(req.url ?? '/', 'https://x');
  sendRoute(req, res, { body: url.pathname === '/' ? `<a href="/next${url.search}">next</a>` : '<p>next</p>' });
};

let h2only: TestServer;
let both: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;

/** `crawl run follow` from each server's `/?run=NAME`, into a storage folder of its own. */
const crawlFrom = (servers: TestServer[], run: string, ...settings: string[]) =>
  runCli([
    'run',
    'follow',
    '--spiders',
    project.spiders,
    '--storage',
    join(project.dir, run),
    '-a',
    `start=${servers.map((s) => `${s.url}/?run=${run}`).join(' ')}`,
    ...settings.flatMap((s) => ['-s', s]),
  ]);
/** `PATH VERSION` of each request of a run, as the server saw it. */
const versions = (server: TestServer, run: string) =>
  server.requests.filter((r) => r.path.endsWith(`run=${run}`)).map((r) => `${r.path.split('?')[0]} ${r.version}`);

/** A crawl, then `crawl failures` of it. */
const withFailures = async (run: string, crawling: Promise<CliResult>) => {
  const crawled = await crawling;
  return { crawled, listed: await runCli(['failures', 'follow', '--spiders', project.spiders, '--storage', join(project.dir, run)]) };
};

// Every crawl of this file at once, started before the tests (a CLI process costs about a second of CPU; they are kept few).
let runs: ReturnType<typeof startRuns>;
const startRuns = () => ({
  h2only: crawlFrom([h2only], 'h2only', 'http2=true', `tls.ca=${CA}`, 'headers.X-Over=h2'),
  h1both: crawlFrom([both], 'h1both', 'tls.rejectUnauthorized=false'),
  // No setting: h2only refuses the handshake (no HTTP/2 offered) before a certificate is sent, both's certificate is not trusted.
  failing: withFailures('failing', crawlFrom([h2only, both], 'failing', 'retry.maxAttempts=3', 'retry.baseDelayMs=10')),
  // robots.txt read first: it fails the same way, and fails the request at once (not after two waits of 30 s).
  robots: withFailures('robots', crawlFrom([both], 'robots', 'obeyRobots=true', 'retry.maxAttempts=3')),
  noca: crawlFrom([both], 'noca', `tls.ca=${join(ROOT, 'test', 'fixtures', 'tls', 'missing.pem')}`),
});

beforeAll(async () => {
  [h2only, both, project] = await Promise.all([
    startServer(site, { tls: { http1: false } }),
    startServer(site, { tls: {} }),
    tempProject({ follow: spiderSource }),
  ]);
  runs = startRuns();
});

afterAll(async () => {
  if (runs) await Promise.allSettled(Object.values(runs));
  await Promise.all([h2only?.close(), both?.close()]);
  await project?.cleanup();
});

describe('HTTP/2', () => {
  it('-s http2=true speaks HTTP/2 to a server of HTTP/2 alone; without it, HTTP/1.1 to one of both', async () => {
    const [only, plain] = await Promise.all([runs.h2only, runs.h1both]);
    for (const r of [only, plain]) expect(r.code, r.stderr).toBe(0);
    expect(versions(h2only, 'h2only')).toEqual(['/ 2.0', '/next 2.0']);
    expect(h2only.requests.find((r) => r.path.endsWith('run=h2only'))!.headers['x-over']).toBe('h2');
    expect(versions(both, 'h1both')).toEqual(['/ 1.1', '/next 1.1']);
  });

  it('a server of HTTP/2 alone, without http2, fails as tls:, not retried, saying what to set', async () => {
    const { crawled, listed } = await runs.failing;
    expect(crawled.code, crawled.stderr).toBe(1); // no page fetched
    expect(crawled.stderr).toMatch(/requests +2 \(0 retries/);
    expect(crawled.stderr).toContain('tls:ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL: 1');
    const line = lines(listed.stdout).findIndex((l) => l.includes(h2only.url));
    expect(lines(listed.stdout)[line]).toMatch(/^tls:ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL +- +1 attempt /);
    expect(lines(listed.stdout)[line + 1]).toContain('-s http2=true');
  });
});

describe('TLS', () => {
  it('a certificate no trusted CA signed fails as tls:, not retried; tls.ca or tls.rejectUnauthorized=false accept it', async () => {
    const { crawled, listed } = await runs.failing;
    expect(crawled.stderr).toContain('tls:UNABLE_TO_VERIFY_LEAF_SIGNATURE: 1');
    expect(versions(both, 'failing')).toEqual([]);
    const line = lines(listed.stdout).findIndex((l) => l.includes(both.url));
    expect(lines(listed.stdout)[line]).toMatch(/^tls:UNABLE_TO_VERIFY_LEAF_SIGNATURE +- +1 attempt /);
    expect(lines(listed.stdout)[line + 1]).toContain('-s tls.ca=FILE');
    // Accepted with tls.ca (the h2only crawl) and with tls.rejectUnauthorized=false (h1both).
    const accepted = await Promise.all([runs.h2only, runs.h1both]);
    expect(accepted.map((r) => r.code)).toEqual([0, 0]);
  });

  it('with robots.txt obeyed, the request fails at once as robots:tls:, saying what to set', async () => {
    const { crawled, listed } = await runs.robots;
    expect(crawled.stderr).toContain('failed     1 (robots:tls:UNABLE_TO_VERIFY_LEAF_SIGNATURE: 1)');
    expect(lines(listed.stdout)[0]).toMatch(/^robots:tls:UNABLE_TO_VERIFY_LEAF_SIGNATURE +- +1 attempt /);
    expect(lines(listed.stdout)[1]).toContain('robots.txt not fetched: certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE (-s tls.ca=FILE');
  });

  it('a tls.ca file that cannot be read, or holds no certificate, is a one-line error before anything is opened', async () => {
    const missing = await runs.noca;
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/cannot read tls\.ca ".*missing\.pem": ENOENT/)]);
    expect(existsSync(join(project.dir, 'noca'))).toBe(false);
    const tls = (ca: string) => tlsConnectOptions({ http2: false, tls: { rejectUnauthorized: true, ca } });
    expect(() => tls(join(ROOT, 'test', 'fixtures', 'tls', 'README.md'))).toThrow(/tls\.ca ".*README\.md" holds no PEM certificate/);
    expect(tls(CA).secureContext).toBeDefined();
  });
});

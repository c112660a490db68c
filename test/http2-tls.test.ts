/**
 * HTTP/2 and TLS through the real `crawl` CLI, against two `node:http2` TLS
 * servers on 127.0.0.1: one of HTTP/2 alone (allowHTTP1 false), one of both.
 * Each checks the version server-side (`req.httpVersion`), so a crawl that
 * fell back to HTTP/1.1 fails the test. The certificate is a test-only one
 * (test/fixtures/tls/README.md), signed by a test CA no system trusts.
 */
import { existsSync, readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsConnectOptions } from '../src/fetch/tls.js';
import { CRAWLKIT, ROOT, lines, runCli, tempProject } from './helpers/cli.js';

const TLS = join(ROOT, 'test', 'fixtures', 'tls');
const CA = join(TLS, 'ca.pem');

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

interface Seen {
  run: string;
  path: string;
  version: string;
  headers: http2.IncomingHttpHeaders;
}

interface TlsServer {
  url: string;
  seen: Seen[];
  close(): void;
}

/** A TLS server answering `/` with a link to `/next`, both tagged with the run's `?run=` so parallel crawls tell apart. */
async function startTlsServer(allowHTTP1: boolean): Promise<TlsServer> {
  const seen: Seen[] = [];
  const sockets = new Set<TLSSocket>();
  const server = http2.createSecureServer({ key: readFileSync(join(TLS, 'server-key.pem')), cert: readFileSync(join(TLS, 'server.pem')), allowHTTP1 }, (req, res) => {
    const url = new URL(req.url, 'https://x');
    seen.push({ run: url.searchParams.get('run') ?? '', path: url.pathname, version: req.httpVersion, headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(url.pathname === '/' ? `<a href="/next${url.search}">next</a>` : '<p>next</p>');
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

let h2only: TlsServer;
let both: TlsServer;
let project: Awaited<ReturnType<typeof tempProject>>;

/** `crawl run follow` from each server's `/?run=NAME`, into a storage folder of its own. */
const crawlFrom = (servers: TlsServer[], run: string, ...settings: string[]) =>
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
const versions = (server: TlsServer, run: string) => server.seen.filter((s) => s.run === run).map((s) => `${s.path} ${s.version}`);

// Every crawl of this file at once, started before the tests (a CLI process costs about a second of CPU; they are kept few).
let runs: ReturnType<typeof startRuns>;
const startRuns = () => ({
  h2only: crawlFrom([h2only], 'h2only', 'http2=true', `tls.ca=${CA}`, 'headers.X-Over=h2'),
  h1both: crawlFrom([both], 'h1both', 'tls.rejectUnauthorized=false'),
  // No setting: h2only refuses the handshake (no HTTP/2 offered) before a certificate is sent, both's certificate is not trusted.
  failing: crawlFrom([h2only, both], 'failing', 'retry.maxAttempts=3', 'retry.baseDelayMs=10').then(async (crawled) => ({
    crawled,
    listed: await runCli(['failures', 'follow', '--spiders', project.spiders, '--storage', join(project.dir, 'failing')]),
  })),
  noca: crawlFrom([both], 'noca', `tls.ca=${join(TLS, 'missing.pem')}`),
});

beforeAll(async () => {
  [h2only, both, project] = await Promise.all([startTlsServer(false), startTlsServer(true), tempProject({ follow: spiderSource })]);
  runs = startRuns();
});

afterAll(async () => {
  if (runs) await Promise.allSettled(Object.values(runs));
  h2only?.close();
  both?.close();
  await project?.cleanup();
});

describe('HTTP/2', () => {
  it('-s http2=true speaks HTTP/2 to a server of HTTP/2 alone; without it, HTTP/1.1 to one of both', async () => {
    const [only, plain] = await Promise.all([runs.h2only, runs.h1both]);
    for (const r of [only, plain]) expect(r.code, r.stderr).toBe(0);
    expect(versions(h2only, 'h2only')).toEqual(['/ 2.0', '/next 2.0']);
    expect(h2only.seen.find((s) => s.run === 'h2only')!.headers['x-over']).toBe('h2');
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

  it('a tls.ca file that cannot be read, or holds no certificate, is a one-line error before anything is opened', async () => {
    const missing = await runs.noca;
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/cannot read tls\.ca ".*missing\.pem": ENOENT/)]);
    expect(existsSync(join(project.dir, 'noca'))).toBe(false);
    const tls = (ca: string) => tlsConnectOptions({ http2: false, tls: { rejectUnauthorized: true, ca } });
    expect(() => tls(join(TLS, 'README.md'))).toThrow(/tls\.ca ".*README\.md" holds no PEM certificate/);
    expect(tls(CA).secureContext).toBeDefined();
  });
});

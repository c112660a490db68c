/**
 * Failures you can see (issue 14): `-s browser.screenshotOnError=true` keeps a
 * PNG of the page of a rendered request that fails for good (its waitFor never
 * came, its status failed it, its callback threw on the live page), and `crawl
 * failures --screenshots DIR` writes them out, named from the run's and the
 * request's ids. Through the real CLI, against test/fixtures/rendered.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from './helpers/browser.js';
import { CRAWLKIT, runCli, tempProject } from './helpers/cli.js';
import { dbFile } from './helpers/db.js';
import { renderedSite } from './fixtures/rendered.js';
import { serveSite, type TestServer } from './helpers/server.js';

/** Four rendered pages: one whose callback throws on the live page, one whose waitFor never comes, a 404, and one that works. */
const spider = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Shots extends Spider {
  override name = 'shots';
  override startUrls = [this.arg('base')];
  override async *parse(res: Response) {
    yield res.follow('inline', 'boom', { render: { waitFor: 'div.quote' } });
    yield res.follow('delayed', 'quotes', { render: { waitFor: 'div.never', timeoutMs: 1_000 } });
    yield res.follow('missing', 'quotes', { render: true });
    yield res.follow('scroll', 'quotes', { render: { waitFor: 'div.quote' } });
  }
  async *boom(res: Response) {
    await res.page!.evaluate("document.querySelector('h1').textContent = 'Clicked'");
    throw new Error('no price on the page');
  }
  async *quotes(res: Response) {
    for (const q of res.$('div.quote')) yield { text: res.$(q).find('.text').text() };
  }
}
`;

let site: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;

beforeAll(async () => {
  site = await serveSite(renderedSite());
  project = await tempProject({ shots: spider });
});
afterAll(async () => {
  await Promise.all([site?.close(), project?.cleanup()]);
});

/** A PNG's width and height (from its IHDR), and how many distinct byte values its pixels inflate to (a blank page has a handful). */
function png(bytes: Buffer): { width: number; height: number; values: number } {
  expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  const idat: Buffer[] = [];
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    if (bytes.subarray(at + 4, at + 8).toString('latin1') === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), values: new Set(inflateSync(Buffer.concat(idat))).size };
}

const shotsIn = (storage: string) => {
  const db = new Database(dbFile(storage, 'shots'), { readonly: true });
  try {
    return db.prepare('SELECT run_id AS run, request_id AS request, url FROM screenshots ORDER BY url').all() as { run: number; request: number; url: string }[];
  } finally {
    db.close();
  }
};

describe.skipIf(!hasChromium)(hasChromium ? 'screenshots of failed rendered pages' : 'screenshots of failed rendered pages: SKIPPED, no Chromium on PATH (apt-get install chromium)', () => {
  it('keeps one of a waitFor that never came, a 404 and a callback that threw; crawl failures writes them out; an old run keeps them; off, none', async () => {
    const storage = join(project.dir, 'shots');
    const crawl = (...more: string[]) =>
      runCli(['run', 'shots', '--spiders', project.spiders, '--storage', storage, '-a', `base=${site.url}/`, '-s', 'retry.maxAttempts=2', '-s', 'retry.baseDelayMs=50', ...more]);
    const first = await crawl('-s', 'browser.screenshotOnError=true');
    expect(first.code, first.stderr).toBe(0);
    const base = `${site.url}/`;
    expect(shotsIn(storage).map((s) => [s.run, s.url])).toEqual([
      [1, `${base}delayed`],
      [1, `${base}inline`],
      [1, `${base}missing`],
    ]);
    // The render that timed out was tried twice; one screenshot, the last attempt's.
    expect(site.hits.get('/delayed')).toBe(2);

    // A second run, the setting off: it stores none, and the first run's are still found (its failures archived).
    const second = await crawl();
    expect(second.code, second.stderr).toBe(0);
    expect(shotsIn(storage).map((s) => s.run)).toEqual([1, 1, 1]);
    const out = join(project.dir, 'out');
    const [latest, listed, json, unmakeable] = await Promise.all([
      runCli(['failures', 'shots', '--storage', storage]),
      runCli(['failures', 'shots', '--storage', storage, '--run', '1', '--screenshots', out]),
      runCli(['failures', 'shots', '--storage', storage, '--run', '1', '--json']),
      // A folder that cannot be made is a one-line error (a recursive mkdir under /proc looped for ever).
      runCli(['failures', 'shots', '--storage', storage, '--run', '1', '--screenshots', '/proc/crawlkit-nope']),
    ]);
    expect([unmakeable.code, unmakeable.stderr]).toEqual([2, expect.stringMatching(/^crawl: error: cannot make the --screenshots folder "\/proc\/crawlkit-nope": ENOENT[^\n]*\n$/)]);
    expect(latest.stdout).toMatch(/browser:timeout/);
    expect(latest.stdout).not.toMatch(/screenshot/);

    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toMatch(/3 failed requests, 3 with a screenshot written to/);
    const ids = Object.fromEntries(shotsIn(storage).map((s) => [new URL(s.url).pathname, s.request]));
    for (const path of ['/inline', '/delayed', '/missing']) expect(listed.stdout).toContain(`screenshot: ${join(out, `run1-req${ids[path]}.png`)}`);
    expect(readdirSync(out).sort()).toEqual(Object.values(ids).map((id) => `run1-req${id}.png`).sort());
    for (const file of readdirSync(out)) {
      const image = png(readFileSync(join(out, file)));
      // The viewport, not the full page (/scroll's is 2,000 px tall).
      expect([image.width, image.height]).toEqual([1280, 720]);
      expect(image.values, file).toBeGreaterThan(8);
    }

    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { url: string; reason: string; request: number; screenshot: boolean; screenshotFile?: string });
    expect(rows.map((r) => [new URL(r.url).pathname, r.reason, r.screenshot, r.screenshotFile])).toEqual([
      ['/inline', 'callback:error', true, undefined],
      ['/delayed', 'browser:timeout', true, undefined],
      ['/missing', 'http:404', true, undefined],
    ]);
    // Two crawls that launch a browser: more than the default 60 s on a loaded 2-core machine.
  }, 120_000);
});

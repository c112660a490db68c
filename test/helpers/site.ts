/**
 * A generated site that takes a while to crawl, for stop/resume tests, and the
 * spider that crawls it.
 *
 *   /                   links to /list/1/ … /list/L/           (no item)
 *   /list/N/            one item {kind:'list', n}, links to /item/N/1/ … /item/N/P/
 *   /item/N/M/          one item {kind:'item', id:'N-M', value}
 *
 * Every response is delayed by `delayMs`; `hold()` makes responses wait until
 * `release()`. `onPageHit` is called synchronously as each page request
 * arrives (robots.txt excluded), so a test can kill the crawler at an exact point.
 */
import { sendRoute, startServer, type TestServer } from './server.js';
import type { TestContext } from 'vitest';
import { CRAWLKIT, tempProject } from './cli.js';

export interface SiteItem {
  kind: 'list' | 'item';
  [key: string]: unknown;
}

export interface SlowSite {
  server: TestServer;
  /** The start URL ("http://127.0.0.1:PORT/"). */
  url: string;
  /** Every item the spider should store, once each. */
  expected: SiteItem[];
  /** Number of pages on the site (= requests a full crawl makes, robots.txt aside). */
  pages: number;
  /** Page requests received so far (robots.txt excluded). */
  pageHits(): number;
  /** The most page requests that were ever being answered at once. */
  maxInFlight(): number;
  onPageHit: ((n: number, path: string) => void) | undefined;
  /** Called synchronously as each robots.txt request arrives. */
  onRobots: (() => void) | undefined;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

const value = (n: number, m: number) => `value “${n}·${m}” & <${n * 1000 + m}>`;
const escHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startSlowSite({ lists = 30, perList = 10, delayMs = 20 } = {}): Promise<SlowSite> {
  let gate: { promise: Promise<void>; open: () => void } | null = null;
  let pageHits = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const site: Partial<SlowSite> = {};

  const page = (path: string): string | null => {
    if (path === '/') {
      const links = Array.from({ length: lists }, (_, i) => `<li><a class="list" href="/list/${i + 1}/">List ${i + 1}</a></li>`).join('\n');
      return `<!DOCTYPE html><html><head><title>Index</title></head><body><ul>${links}</ul></body></html>`;
    }
    let m = /^\/list\/(\d+)\/$/.exec(path);
    if (m) {
      const n = Number(m[1]);
      if (n < 1 || n > lists) return null;
      const links = Array.from({ length: perList }, (_, i) => `<li><a class="item" href="../../item/${n}/${i + 1}/">Item ${n}-${i + 1}</a></li>`).join('\n');
      return `<!DOCTYPE html><html><head><title>List ${n}</title></head><body><h1 data-n="${n}">List ${n}</h1><ul>${links}</ul></body></html>`;
    }
    m = /^\/item\/(\d+)\/(\d+)\/$/.exec(path);
    if (m) {
      const n = Number(m[1]);
      const k = Number(m[2]);
      if (n < 1 || n > lists || k < 1 || k > perList) return null;
      return `<!DOCTYPE html><html><head><title>Item ${n}-${k}</title></head><body><h1>${n}-${k}</h1><p class="value">${escHtml(value(n, k))}</p></body></html>`;
    }
    return null;
  };

  const server = await startServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/robots.txt') {
      site.onRobots?.();
      return sendRoute(req, res, { body: 'User-agent: *\nAllow: /\n' }, path);
    }
    pageHits++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    site.onPageHit?.(pageHits, path);
    if (gate) await gate.promise;
    await new Promise((r) => setTimeout(r, delayMs));
    const html = page(path);
    if (html === null) return sendRoute(req, res, { status: 404, body: 'not found' }, path);
    sendRoute(req, res, { body: html }, path);
  });

  const expected: SiteItem[] = [];
  for (let n = 1; n <= lists; n++) expected.push({ kind: 'list', n });
  for (let n = 1; n <= lists; n++) for (let k = 1; k <= perList; k++) expected.push({ kind: 'item', id: `${n}-${k}`, value: value(n, k) });

  return Object.assign(site, {
    server,
    url: `${server.url}/`,
    expected,
    pages: 1 + lists + lists * perList,
    pageHits: () => pageHits,
    maxInFlight: () => maxInFlight,
    onPageHit: undefined,
    onRobots: undefined,
    hold() {
      if (gate) return;
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = null;
    },
    close: () => {
      site.release?.();
      return server.close();
    },
  }) as SlowSite;
}

/**
 * Source of the spider for {@link startSlowSite}, as a user would write it in
 * `spiders/<name>.ts`. `-a crashAt=N-M` makes the process crash (an uncaught
 * exception) when it parses that item page; `-a blockAt=N-M` makes that
 * callback loop forever.
 */
export function siteSpiderSource(name = 'site'): string {
  return `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};

export default class SiteSpider extends Spider {
  override name = ${JSON.stringify(name)};
  override startUrls = [this.arg('baseUrl')];
  override settings = { concurrency: 4, perHost: { concurrency: 4 } };
  crashAt = this.arg('crashAt', '');
  blockAt = this.arg('blockAt', '');

  override async *parse(res: Response) {
    yield* res.followAll('a.list', this.parseList);
  }

  async *parseList(res: Response) {
    yield { kind: 'list', n: Number(res.$('h1').attr('data-n')) };
    yield* res.followAll('a.item', this.parseItem);
  }

  async *parseItem(res: Response) {
    const id = res.$('h1').text().trim();
    if (this.crashAt && id === this.crashAt) {
      setImmediate(() => {
        throw new Error('spider crashed on purpose at ' + id);
      });
    }
    if (this.blockAt && id === this.blockAt) for (;;); // computes forever: only ending its thread stops it
    yield { kind: 'item', id, value: res.$('p.value').text() };
  }
}
`;
}

/** A slow site, a project with its spider, and the crawl arguments; removed when the test ends. */
export async function siteProject(ctx: TestContext, siteOptions?: Parameters<typeof startSlowSite>[0], name = 'site') {
  const site = await startSlowSite(siteOptions);
  ctx.onTestFinished(() => site.close());
  const project = await tempProject({ [name]: siteSpiderSource(name) });
  ctx.onTestFinished(() => project.cleanup());
  const args = (...extra: string[]) => [name, '-a', `baseUrl=${site.url}`, '--spiders', project.spiders, '--storage', project.storage, ...extra];
  return { site, project, args };
}

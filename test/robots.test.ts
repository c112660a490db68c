/**
 * robots.txt through whole crawls against a real HTTP server on 127.0.0.1:
 * Disallow, obeyRobots: false, Crawl-delay spacing, 404 and 5xx robots.txt.
 */
import { describe, expect, it } from 'vitest';
import { Spider, type CallbackResult, type Response, type SettingsOverride } from '../src/index.js';
import { crawlAndRead, hits, html, STATE, useTestSite } from './helpers/crawl.js';
import type { Route } from './helpers/server.js';

const { serve } = useTestSite();

class LinkSpider extends Spider {
  override name = 'robots';
  constructor(base: string) {
    super();
    this.startUrls = [`${base}/`];
  }
  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    yield { path: new URL(res.url).pathname };
    yield* res.followAll('a');
  }
}

function site(robots: string | Route | undefined, links: string[]): Map<string, string | Route> {
  const pages = new Map<string, string | Route>([['/', html(links.map((l) => `<a href="${l}">${l}</a>`).join(''))]]);
  for (const l of links) pages.set(l, html(`<p>${l}</p>`));
  if (robots !== undefined) pages.set('/robots.txt', robots);
  return pages;
}

async function run(pages: Map<string, string | Route>, settings: SettingsOverride = {}) {
  const { server, dir, base } = await serve(pages);
  return { ...(await crawlAndRead(new LinkSpider(base), dir, { obeyRobots: true, ...settings })), server };
}

const LINKS = ['/public', '/private/a', '/private/b', '/privateer'];

describe('robots.txt', () => {
  it('Disallow is obeyed: disallowed URLs are never requested and are recorded as disallowed', async () => {
    const { summary, db, server: s } = await run(site('User-agent: *\nDisallow: /private/\n', LINKS));
    expect(hits(s, '/robots.txt')).toBe(1);
    expect(hits(s, '/public')).toBe(1);
    expect(hits(s, '/privateer')).toBe(1);
    expect(hits(s, '/private/a')).toBe(0);
    expect(hits(s, '/private/b')).toBe(0);
    expect(summary.stats.disallowed).toBe(2);
    for (const p of ['/private/a', '/private/b']) expect(db.request(p)).toMatchObject({ state: STATE.disallowed, error: 'robots.txt' });
    expect(db.items.map((i) => i.data.path).sort()).toEqual(['/', '/privateer', '/public']);
  });

  it('rules for our user agent apply; rules for other agents do not', async () => {
    const robots = 'User-agent: otherbot\nDisallow: /public\n\nUser-agent: crawlkit-ts\nDisallow: /privateer\n';
    const { db, server: s } = await run(site(robots, LINKS));
    expect(hits(s, '/public')).toBe(1);
    expect(hits(s, '/privateer')).toBe(0);
    expect(db.request('/privateer')?.state).toBe(STATE.disallowed);
  });

  it('a redirected robots.txt is followed and its rules apply', async () => {
    const pages = site({ status: 301, headers: { location: '/real-robots.txt' } }, LINKS);
    pages.set('/real-robots.txt', 'User-agent: *\nDisallow: /public\n');
    const { db, server: s } = await run(pages);
    expect(hits(s, '/real-robots.txt')).toBe(1);
    expect(hits(s, '/public')).toBe(0);
    expect(hits(s, '/privateer')).toBe(1);
    expect(db.request('/public')?.state).toBe(STATE.disallowed);
  });

  it('obeyRobots: false ignores robots.txt and does not fetch it', async () => {
    const { summary, server: s } = await run(site('User-agent: *\nDisallow: /\n', LINKS), { obeyRobots: false });
    expect(hits(s, '/robots.txt')).toBe(0);
    expect(hits(s, '/')).toBe(1);
    for (const p of LINKS) expect(hits(s, p)).toBe(1);
    expect(summary.stats.disallowed).toBe(0);
  });

  it('a robots.txt 404 allows everything', async () => {
    const { summary, db, server: s } = await run(site(undefined, LINKS));
    expect(hits(s, '/robots.txt')).toBe(1);
    for (const p of LINKS) expect(hits(s, p)).toBe(1);
    expect(summary.stats.disallowed).toBe(0);
    expect(db.items).toHaveLength(LINKS.length + 1);
  });

  it('a robots.txt 500 means nothing is fetched; the requests fail with a robots reason after their retries', async () => {
    const { summary, db, server: s } = await run(site({ status: 500, body: 'oops' }, LINKS), {
      retry: { maxAttempts: 3, baseDelayMs: 20, maxRetryAfterMs: 50 },
    });
    expect(summary.status).toBe('finished');
    expect(hits(s, '/')).toBe(0);
    for (const p of LINKS) expect(hits(s, p)).toBe(0);
    expect(hits(s, '/robots.txt')).toBeGreaterThanOrEqual(1);
    const start = db.request('/')!;
    expect(start.state).toBe(STATE.failed);
    expect(start.error).toMatch(/^robots:/);
    expect(start.error).toContain('500');
    expect(start.attempts).toBe(3);
    expect(summary.stats.failures).toEqual({ 'robots:http:500': 1 });
    expect(db.items).toHaveLength(0);
  });

  it('Crawl-delay: 1 spaces the starts of requests to the host by about a second', async () => {
    const links = ['/p1', '/p2', '/p3'];
    const { summary, server: s } = await run(site('User-agent: *\nCrawl-delay: 1\n', links), { perHost: { concurrency: 4 } });
    expect(summary.stats.pages).toBe(4);
    const times = s.requests.filter((r) => r.path !== '/robots.txt').map((r) => r.time);
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
  });

  it('Crawl-delay is capped by perHost.maxCrawlDelayMs', async () => {
    const links = ['/p1', '/p2'];
    const { summary, server: s } = await run(site('User-agent: *\nCrawl-delay: 3600\n', links), { perHost: { maxCrawlDelayMs: 500 } });
    // It finished (within the test timeout, far below 3600 s a page), still spaced by the cap.
    expect(summary.stats.pages).toBe(3);
    const times = s.requests.filter((r) => r.path !== '/robots.txt').map((r) => r.time);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toHaveLength(2);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(450);
  });

  it('perHost.delayMs spaces requests without any robots.txt', async () => {
    const links = ['/p1', '/p2'];
    const { summary, server: s } = await run(site(undefined, links), { obeyRobots: false, perHost: { delayMs: 500, concurrency: 4 } });
    expect(summary.stats.pages).toBe(3);
    const times = s.requests.map((r) => r.time);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toHaveLength(2);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(450);
  });
});

/**
 * robots.txt to RFC 9309 where robots-parser alone falls short, in crawls
 * against a real server on 127.0.0.1: the 500 KiB parsing limit, the product
 * token (robotsUserAgent), groups across `Sitemap:` lines, byte order marks,
 * and the 24-hour life of a fetched robots.txt.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addressPolicy } from '../src/fetch/addresses.js';
import { createFetcher } from '../src/fetch/fetcher.js';
import { createRobots } from '../src/fetch/robots.js';
import { ConfigError, resolveSettings, type SettingsOverride } from '../src/index.js';
import { crawlAndRead, hits, html, STATE, useTestSite } from './helpers/crawl.js';
import type { Route } from './helpers/server.js';
import { FollowSpider } from './helpers/spiders.js';

const { serve } = useTestSite();

const LINKS = ['/public', '/private/a', '/privateer'];

async function crawlWith(robots: string | Buffer, settings: SettingsOverride = {}) {
  const pages = new Map<string, string | Route>([['/', html(LINKS.map((l) => `<a href="${l}">${l}</a>`).join(''))], ['/robots.txt', { body: robots }]]);
  for (const l of LINKS) pages.set(l, html(`<p>${l}</p>`));
  const { server, dir, base } = await serve(pages);
  const { summary, db } = await crawlAndRead(new FollowSpider('robotsrfc', base), dir, { obeyRobots: true, ...settings });
  const fetched = LINKS.filter((l) => hits(server, l) === 1);
  return { summary, db, fetched };
}

describe('robots.txt, RFC 9309', () => {
  it('a robots.txt over 500 KiB is read to 500 KiB (its own limit, not maxBodyBytes): the site is not disallowed', async () => {
    const head = 'User-agent: *\nDisallow: /private/\n';
    const padding = `# ${'x'.repeat(98)}\n`.repeat(Math.ceil((520 * 1024) / 101));
    const robots = `${head}${padding}Disallow: /public\n`; // this rule is past the limit: ignored
    expect(robots.length).toBeGreaterThan(520 * 1024);
    const { fetched, db, summary } = await crawlWith(robots, { maxBodyBytes: 100_000 });
    expect(fetched).toEqual(['/public', '/privateer']);
    expect(db.request('/private/a')).toMatchObject({ state: STATE.disallowed });
    expect(summary.stats.failures).toEqual({});
  });

  it('robotsUserAgent is the product token groups are matched by: a browser-style User-Agent finds its bot’s group', async () => {
    const robots = 'User-agent: mozilla\nDisallow: /public\n\nUser-agent: MyBot\nDisallow: /privateer\n';
    const userAgent = 'Mozilla/5.0 (compatible; MyBot/1.0; +https://example.com/bot)';
    const mine = await crawlWith(robots, { userAgent, robotsUserAgent: 'MyBot' });
    expect(mine.fetched).toEqual(['/public', '/private/a']);
    // Without it, the User-Agent's first token speaks, as RFC 9309 reads it.
    const first = await crawlWith(robots, { userAgent });
    expect(first.fetched).toEqual(['/private/a', '/privateer']);
  });

  it('robotsUserAgent must be a product token; so must the User-Agent’s first token when robots.txt is obeyed', () => {
    expect(() => resolveSettings({ robotsUserAgent: 'My Bot/1.0' })).toThrow(/bad value for setting 'robotsUserAgent': "My Bot\/1.0" \(expected a robots.txt product token: letters, _ and -\)/);
    expect(() => resolveSettings({ userAgent: 'my.bot/1.0' })).toThrow(ConfigError);
    expect(() => resolveSettings({ userAgent: 'my.bot/1.0' })).toThrow(/first token "my.bot" is not a robots.txt product token .*: set robotsUserAgent/);
    expect(resolveSettings({ userAgent: 'my.bot/1.0', robotsUserAgent: 'my-bot' }).robotsUserAgent).toBe('my-bot');
    expect(resolveSettings({ userAgent: 'my.bot/1.0', obeyRobots: false }).obeyRobots).toBe(false);
  });

  it('a Sitemap line between two User-agent lines does not end the group', async () => {
    const robots = 'User-agent: crawlkit-ts\nSitemap: http://127.0.0.1/sitemap.xml\nUser-agent: otherbot\nDisallow: /privateer\n';
    const { fetched, db } = await crawlWith(robots);
    expect(fetched).toEqual(['/public', '/private/a']);
    expect(db.request('/privateer')).toMatchObject({ state: STATE.disallowed });
  });

  it.each([
    ['a whole', [0xef, 0xbb, 0xbf]],
    ['a partial', [0xef, 0xbb]],
    ['a one-byte', [0xef]],
  ])('%s byte order mark is ignored', async (_, bom) => {
    const robots = Buffer.concat([Buffer.from(bom), Buffer.from('User-agent: *\nDisallow: /privateer\n')]);
    const { fetched } = await crawlWith(robots);
    expect(fetched).toEqual(['/public', '/private/a']);
  });
});

describe('robots.txt cache', () => {
  afterEach(() => vi.useRealTimers());

  it('a robots.txt is used for 24 hours, then fetched again (RFC 9309 section 2.4)', async () => {
    const { server, base } = await serve(new Map([['/robots.txt', 'User-agent: *\nDisallow: /x\n']]));
    const fetcher = createFetcher(resolveSettings(), addressPolicy(true));
    try {
      vi.useFakeTimers({ toFake: ['Date'] });
      const robots = createRobots(fetcher, 'crawlkit', () => {});
      expect((await robots.check(`${base}/x`)).kind).toBe('disallowed');
      vi.setSystemTime(Date.now() + 23 * 3_600_000);
      expect((await robots.check(`${base}/y`)).kind).toBe('allowed');
      expect(hits(server, '/robots.txt')).toBe(1);
      vi.setSystemTime(Date.now() + 2 * 3_600_000);
      expect((await robots.check(`${base}/x`)).kind).toBe('disallowed');
      expect(hits(server, '/robots.txt')).toBe(2);
    } finally {
      await fetcher.close();
    }
  });
});

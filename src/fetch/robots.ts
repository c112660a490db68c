import { createRequire } from 'node:module';
import { FetchError } from '../errors.js';
import { toHttpUrl } from '../request.js';
import type { Fetcher } from './fetcher.js';

/** What robots.txt says about one URL. */
export type RobotsVerdict =
  | { kind: 'allowed' }
  | { kind: 'disallowed' }
  /** robots.txt answered 5xx or could not be fetched: RFC 9309 says assume full disallow, and try again later. */
  | { kind: 'unavailable'; reason: string; retryAt: number };

/** robots.txt of every origin a crawl visits, fetched once and cached. */
export interface Robots {
  check(url: string): Promise<RobotsVerdict>;
}

// robots-parser is CommonJS whose typings claim an ES default export; require() gets the function itself.
const robotsParser = createRequire(import.meta.url)('robots-parser') as (url: string, text: string) => Rules;

type Rules = { isAllowed(url: string, ua?: string): boolean | undefined; getCrawlDelay(ua?: string): number | undefined; getSitemaps(): string[] };

/** The sitemap URLs a robots.txt lists in its `Sitemap:` lines (they apply to every user agent). */
export function robotsSitemaps(url: string, text: string): string[] {
  return robotsParser(url, text).getSitemaps();
}
type Entry = { rules: Rules | null } | { unavailable: string; retryAt: number };

/** How long an unreachable robots.txt counts as "disallow all" before it is fetched again. */
const UNAVAILABLE_TTL_MS = 30_000;
/** Origins whose rules are kept; the oldest are dropped (and fetched again if met again), so a crawl of millions of hosts stays small. */
const MAX_ORIGINS = 10_000;
/** RFC 9309: follow at least five redirects for robots.txt. */
const MAX_REDIRECTS = 5;

/**
 * Fetches robots.txt per origin (once; concurrent checks share the fetch) and
 * applies it with robots-parser. A 4xx means no rules; 5xx or a network error
 * means disallow all for a while. `onCrawlDelay` receives a host's Crawl-delay;
 * `inScope` vets each redirect hop of robots.txt itself.
 */
export function createRobots(
  fetcher: Fetcher,
  userAgent: string,
  onCrawlDelay: (host: string, ms: number) => void,
  inScope: (url: URL) => boolean = () => true,
): Robots {
  const cache = new Map<string, Promise<Entry>>();

  /** Never rejects: whatever goes wrong becomes an entry, so one bad site cannot break every check of it. */
  async function load(origin: string): Promise<Entry> {
    try {
      return await fetchRules(origin);
    } catch (err) {
      return { unavailable: `robots:error: ${(err as Error).message}`, retryAt: Date.now() + UNAVAILABLE_TTL_MS };
    }
  }

  async function fetchRules(origin: string): Promise<Entry> {
    let url = `${origin}/robots.txt`;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      let res;
      try {
        res = await fetcher.fetch({ url, method: 'GET', headers: null, body: null }, (s) => s >= 200 && s < 300);
      } catch (err) {
        return { unavailable: `robots:${(err as FetchError).reason ?? 'error'}`, retryAt: Date.now() + UNAVAILABLE_TTL_MS };
      }
      if (res.status >= 300 && res.status < 400 && res.headers.location) {
        // A redirect that leaves http(s) or the crawl's scope is not followed: the crawler never
        // contacts a host it was told to stay away from. RFC 9309 reads an unreachable file as "no rules".
        const next = toHttpUrl(res.headers.location, url);
        if (!next || !inScope(next)) return { rules: null };
        url = next.href;
        continue;
      }
      if (res.status >= 200 && res.status < 300) {
        const rules = robotsParser(url, res.body.toString('utf8')) ;
        const delay = rules.getCrawlDelay(userAgent);
        if (delay !== undefined && delay > 0) onCrawlDelay(new URL(origin).host, delay * 1000);
        // robots-parser matches by the URL's origin; keep the rules keyed to ours even after a redirect.
        return { rules: new URL(url).origin === origin ? rules : (robotsParser(`${origin}/robots.txt`, res.body.toString('utf8'))) };
      }
      if (res.status >= 400 && res.status < 500) return { rules: null };
      return { unavailable: `robots:http:${res.status}`, retryAt: Date.now() + UNAVAILABLE_TTL_MS };
    }
    return { rules: null }; // too many redirects: RFC 9309 treats it as unavailable-as-4xx, i.e. allow
  }

  return {
    async check(url) {
      const origin = new URL(url).origin;
      let entry = cache.get(origin);
      if (entry) {
        const e = await entry;
        if ('unavailable' in e && e.retryAt <= Date.now()) entry = undefined;
      }
      if (!entry) {
        entry = load(origin);
        cache.delete(origin);
        cache.set(origin, entry);
        if (cache.size > MAX_ORIGINS) cache.delete(cache.keys().next().value!);
      }
      const e = await entry;
      if ('unavailable' in e) return { kind: 'unavailable', reason: e.unavailable, retryAt: e.retryAt };
      if (!e.rules) return { kind: 'allowed' };
      return e.rules.isAllowed(url, userAgent) === false ? { kind: 'disallowed' } : { kind: 'allowed' };
    },
  };
}

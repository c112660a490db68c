import { createRequire } from 'node:module';
import type { FetchError } from '../errors.js';
import { robotsReason, type FetchReason } from '../reasons.js';
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
  /** The verdict at once when the origin's robots.txt is at hand (fetched, not expired); null when `check` has to fetch it. */
  verdict(url: string): RobotsVerdict | null;
}

// robots-parser is CommonJS whose typings claim an ES default export; require() gets the function itself.
const robotsParser = createRequire(import.meta.url)('robots-parser') as (url: string, text: string) => Rules;

type Rules = { isAllowed(url: string, ua?: string): boolean | undefined; getCrawlDelay(ua?: string): number | undefined; getSitemaps(): string[] };

/** The sitemap URLs a robots.txt lists in its `Sitemap:` lines (they apply to every user agent). */
export function robotsSitemaps(url: string, text: string): string[] {
  return robotsParser(url, groupedLines(text)).getSitemaps();
}

/** Lines that belong to a group (RFC 9309 section 2.1: user-agent and rules; Crawl-delay as robots-parser reads it). */
const GROUP_KEYS = new Set(['user-agent', 'allow', 'disallow', 'crawl-delay']);

/**
 * The text with every line that is not part of a group (`Sitemap:`, `Host:`,
 * unknown keys) moved after the groups: RFC 9309 lets such lines appear
 * anywhere without ending a group, but robots-parser starts a new group at
 * the next `User-agent:` after any of them, so `User-agent: a` / `Sitemap: ...`
 * / `User-agent: b` / `Disallow: /` would leave `a` without its rule.
 */
export function groupedLines(text: string): string {
  const group: string[] = [];
  const other: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    const key = /^\s*([^:#]*?)\s*:/.exec(line)?.[1]?.toLowerCase();
    (key === undefined || GROUP_KEYS.has(key) ? group : other).push(line);
  }
  return other.length === 0 ? text : [...group, ...other].join('\n');
}

/** RFC 9309 section 2.5: parse at least the first 500 KiB; a bigger file is read that far, never refused. */
export const ROBOTS_MAX_BYTES = 500 * 1024;

/** A robots.txt body as text: a UTF-8 byte order mark dropped, even a partial one, and a file cut at the size limit ended at its last whole line. */
export function robotsText(body: Buffer): string {
  let start = 0;
  while (start < 3 && body[start] === [0xef, 0xbb, 0xbf][start]) start++;
  let end = body.length;
  if (end >= ROBOTS_MAX_BYTES) end = Math.max(start, body.lastIndexOf(0x0a) + 1);
  return body.subarray(start, end).toString('utf8');
}

type Entry = ({ rules: Rules | null } | { unavailable: string }) & { expiresAt: number };

/**
 * A robots.txt outcome as workers of a cluster share it: the file's text
 * (null: no rules, e.g. a 4xx), or why it is unavailable and until when.
 */
export type SharedRobotsEntry = { text: string | null } | { unavailable: string; retryAt: number };

/** Where the workers of a cluster share robots.txt, so each origin's is fetched once (see `cluster/robots-cache.ts`). */
export interface RobotsCache {
  /** The stored outcome for an origin, or null. */
  get(origin: string): Promise<SharedRobotsEntry | null>;
  /** Stores an origin's outcome for `ttlMs`, and releases the lock on it. */
  set(origin: string, entry: SharedRobotsEntry, ttlMs: number): Promise<void>;
  /** Takes the right to fetch an origin's robots.txt for `ms`; false if another worker holds it, or the entry is stored already. */
  lock(origin: string, ms: number): Promise<boolean>;
}

/** Sharing robots.txt across a cluster. */
export interface SharedRobots {
  cache: RobotsCache;
  /** How long a worker may take to fetch robots.txt before another one tries (its lock's life). Default 65 s. */
  lockMs?: number;
}

/** How long an unreachable robots.txt counts as "disallow all" before it is fetched again. */
const UNAVAILABLE_TTL_MS = 30_000;
/** RFC 9309 section 2.4: a robots.txt is not used for longer than 24 hours without fetching it again. */
const RULES_TTL_MS = 24 * 60 * 60_000;
/** Origins whose rules are kept; the oldest are dropped (and fetched again if met again), so a crawl of millions of hosts stays small. */
const MAX_ORIGINS = 10_000;
/** How long a fetched robots.txt is shared; RFC 9309 asks not to use one older than 24 hours. */
const SHARED_TTL_MS = 60 * 60_000;
/** How often a worker waiting for another's fetch of robots.txt looks for it. */
const SHARED_POLL_MS = 50;

/**
 * How one origin's robots.txt becomes an entry: fetched (or, with `shared`,
 * read from the cluster's cache or fetched under its lock), parsed, its
 * Crawl-delay handed to `onCrawlDelay`. Never rejects: whatever goes wrong
 * becomes an entry, so one bad site cannot break every check of it.
 */
function robotsLoader(fetcher: Fetcher, userAgent: string, onCrawlDelay: (host: string, ms: number) => void, shared?: SharedRobots): (origin: string) => Promise<Entry> {
  const unavailable = (reason: string): Entry => ({ unavailable: reason, expiresAt: Date.now() + UNAVAILABLE_TTL_MS });
  const noRules = (rules: Rules | null): Entry => ({ rules, expiresAt: Date.now() + RULES_TTL_MS });

  /** Never rejects: whatever goes wrong becomes an entry, so one bad site cannot break every check of it. */
  async function load(origin: string, text?: { current: string | null }): Promise<Entry> {
    try {
      return await fetchRules(origin, text);
    } catch (err) {
      return unavailable(robotsReason(`error: ${(err as Error).message}`));
    }
  }

  /** Through the cluster's cache; if Redis fails, this worker fetches for itself rather than stall. */
  async function loadShared(origin: string, { cache: store, lockMs = 65_000 }: SharedRobots): Promise<Entry> {
    try {
      for (;;) {
        const hit = await store.get(origin);
        if (hit) return fromShared(origin, hit);
        if (await store.lock(origin, lockMs)) break;
        // Another worker is fetching it; if that worker dies, its lock expires and one of us takes over.
        await new Promise((resolve) => setTimeout(resolve, SHARED_POLL_MS));
      }
    } catch {
      return load(origin);
    }
    const text = { current: null as string | null };
    const entry = await load(origin, text);
    const ttl = 'unavailable' in entry ? entry.expiresAt - Date.now() : SHARED_TTL_MS;
    const stored: SharedRobotsEntry = 'unavailable' in entry ? { unavailable: entry.unavailable, retryAt: entry.expiresAt } : { text: entry.rules ? text.current : null };
    await store.set(origin, stored, Math.max(1, ttl)).catch(() => {});
    return entry;
  }

  /** An entry another worker stored: parsed here, and its Crawl-delay applied here too. */
  function fromShared(origin: string, hit: SharedRobotsEntry): Entry {
    if ('unavailable' in hit) return { unavailable: hit.unavailable, expiresAt: hit.retryAt };
    return noRules(hit.text === null ? null : parse(origin, `${origin}/robots.txt`, hit.text));
  }

  /** Rules keyed to `origin` (robots-parser matches by the URL's origin, even after a redirect); the host's Crawl-delay goes to `onCrawlDelay`. */
  function parse(origin: string, url: string, text: string): Rules {
    const rules = robotsParser(new URL(url).origin === origin ? url : `${origin}/robots.txt`, groupedLines(text));
    const delay = rules.getCrawlDelay(userAgent);
    if (delay !== undefined && delay > 0) onCrawlDelay(new URL(origin).host, delay * 1000);
    return rules;
  }

  /** `text` receives the body of a 2xx robots.txt, for sharing. */
  async function fetchRules(origin: string, text?: { current: string | null }): Promise<Entry> {
    let res;
    try {
      res = await fetcher.fetch({ url: `${origin}/robots.txt`, method: 'GET', headers: null, body: null, truncateAt: ROBOTS_MAX_BYTES }, (s) => s >= 200 && s < 300);
    } catch (err) {
      return unavailable(robotsReason(((err as FetchError).reason as FetchReason | undefined) ?? 'error: fetch failed'));
    }
    if (res.status >= 200 && res.status < 300) {
      const body = robotsText(res.body);
      if (text) text.current = body;
      return noRules(parse(origin, res.url, body));
    }
    // A redirect not followed (out of http(s) or the crawl's scope, a loop, past five hops): the crawler never
    // contacts a host it was told to stay away from, and RFC 9309 reads an unreachable file as a 4xx: no rules.
    if (res.status >= 300 && res.status < 500) return noRules(null);
    return unavailable(robotsReason(`http:${res.status}`));
  }

  return (origin) => (shared ? loadShared(origin, shared) : load(origin));
}

/**
 * Fetches robots.txt per origin (once, then again after 24 hours; concurrent
 * checks share the fetch) and applies it with robots-parser. A 4xx means no
 * rules; 5xx or a network error means disallow all for a while. `userAgent` is
 * the product token groups are matched by (`robotsToken`). `onCrawlDelay` receives a host's Crawl-delay.
 * `fetcher` follows redirects itself: a crawl's is its middleware chain,
 * which follows them by the crawl's one rule (at most five hops, RFC 9309's
 * minimum, each in the crawl's scope); a redirect it does not follow comes
 * back as a 3xx, read as no rules. With `shared`, the
 * workers of a cluster fetch each origin's robots.txt once between them: one
 * takes a lock and fetches, the others wait for what it stores.
 */
export function createRobots(fetcher: Fetcher, userAgent: string, onCrawlDelay: (host: string, ms: number) => void, shared?: SharedRobots): Robots {
  /** An origin's entry, or the fetch that will give it. */
  const cache = new Map<string, Entry | Promise<Entry>>();
  const loadEntry = robotsLoader(fetcher, userAgent, onCrawlDelay, shared);

  /** What an origin's entry says about `url`. */
  const verdictOf = (e: Entry, url: string): RobotsVerdict => {
    if ('unavailable' in e) return { kind: 'unavailable', reason: e.unavailable, retryAt: e.expiresAt };
    if (!e.rules) return ALLOWED;
    return e.rules.isAllowed(url, userAgent) === false ? DISALLOWED : ALLOWED;
  };

  return {
    async check(url) {
      const origin = new URL(url).origin;
      let entry = cache.get(origin);
      if (entry && (await entry).expiresAt <= Date.now()) entry = undefined;
      if (!entry) {
        const loading = loadEntry(origin);
        entry = loading;
        cache.delete(origin);
        cache.set(origin, loading);
        if (cache.size > MAX_ORIGINS) cache.delete(cache.keys().next().value!);
        // Kept as the entry itself once known, so that `verdict` can answer without a promise.
        void loading.then((e) => cache.get(origin) === loading && cache.set(origin, e));
      }
      return verdictOf(await entry, url);
    },
    verdict(url) {
      // Cut at the path: new URL() for the origin would cost more than the whole check.
      const end = url.indexOf('/', url.indexOf('//') + 2);
      const e = cache.get(end < 0 ? url : url.slice(0, end));
      return e === undefined || e instanceof Promise || e.expiresAt <= Date.now() ? null : verdictOf(e, url);
    },
  };
}

const ALLOWED: RobotsVerdict = { kind: 'allowed' };
const DISALLOWED: RobotsVerdict = { kind: 'disallowed' };

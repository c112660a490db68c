import { scopeOf, toNewRequest } from '../callbacks.js';
import { CallbackError, ConfigError, PageError } from '../errors.js';
import { addressPolicy } from '../fetch/addresses.js';
import { createFetcher } from '../fetch/fetcher.js';
import { fetchPage } from '../fetch/page.js';
import { isRetryableStatus, reachesCallback } from '../fetch/retry.js';
import { createRobots, type Robots } from '../fetch/robots.js';
import { allFollowUps } from '../followups.js';
import { Request } from '../request.js';
import { scopedSettings, scopeOfUrls } from '../run-scope.js';
import { robotsToken, type Settings } from '../settings.js';
import type { Spider } from '../spider.js';
import { parsePage } from './parse.js';

/** What one callback made of one page. */
export interface SingleParse {
  /** The page's final URL, after redirects. */
  url: string;
  status: number;
  items: Record<string, unknown>[];
  /** Items the spider's schema rejected, with why. */
  invalid: { item: Record<string, unknown>; issues: { path: string; message: string }[] }[];
  /** Items a pipeline dropped. */
  dropped: number;
  requests: { url: string; callback: string; skipped?: string }[];
  /** What the callback (or a sitemap it read) had to say about the page (`response.warn`); absent when nothing. */
  warnings?: string[];
}

/** Refuses a hop robots.txt disallows or cannot tell about, naming the way round. */
async function obey(robots: Robots, hop: string): Promise<void> {
  const verdict = await robots.check(hop);
  const origin = new URL(hop).origin;
  if (verdict.kind === 'disallowed') throw new PageError('disallowed', `${hop} is disallowed by ${origin}/robots.txt (add --no-robots to fetch it anyway)`);
  if (verdict.kind === 'unavailable')
    throw new PageError(verdict.reason, `${origin}/robots.txt is unavailable (${verdict.reason}), which disallows the whole site for now (add --no-robots to fetch anyway)`);
}

/** Refuses a final status a crawl would not hand to the callback, saying what the crawl would do. */
function checkStatus(url: string, status: number, settings: Settings): void {
  if (reachesCallback(status, settings.handleStatuses) && !isRetryableStatus(status, settings.retry)) return;
  const fate = isRetryableStatus(status, settings.retry) ? 'retries it, then fails it' : 'fails it';
  throw new PageError(`http:${status}`, `${url} answered ${status}: a crawl ${fate} as http:${status}, without calling back (-s handleStatuses=${status} hands it to the callback)`);
}

/**
 * Fetches one URL and runs a callback on it, storing nothing: the `crawl
 * parse` command, for trying a callback while writing it. The URL is the
 * start of a one-page crawl, under a crawl's rules: redirects stay in its
 * scope (the URL's registrable domain, or `allowedDomains`) and on the kinds
 * of address it is on, a loop is refused, robots.txt is checked for every hop
 * (with `obeyRobots`), and a status a crawl would fail is an error.
 */
export async function parseSingle(spider: Spider, settings: Settings, url: string, callback = 'parse'): Promise<SingleParse> {
  if (typeof (spider as unknown as Record<string, unknown>)[callback] !== 'function')
    throw new ConfigError(`spider '${spider.name}' has no method ${callback}()`);
  const start = new Request(url);
  const scope = await scopeOfUrls([start.url], settings.timeouts.connectMs);
  const scoped = scopedSettings(settings, scope);
  const fetcher = createFetcher(settings, addressPolicy(settings.allowPrivateAddresses, scope.addressKinds));
  try {
    const robots = settings.obeyRobots ? createRobots(fetcher, robotsToken(settings), () => {}, (u) => scopeOf(u, 0, scoped) === null) : null;
    const vet = async (hop: string, n: number) => {
      if (n > 0 && scopeOf(new URL(hop), 0, scoped) === 'offsite')
        throw new PageError('offsite', `${start.url} redirects to ${hop}, outside the crawl's scope (allowedDomains: ${scoped.allowedDomains.join(', ')}): a crawl records it as skipped, offsite`);
      if (robots) await obey(robots, hop);
    };
    const { req: current, res } = await fetchPage(fetcher, start.url, settings.maxRedirects, vet);
    checkStatus(res.url, res.status, settings);
    const req = { ...toNewRequest(spider, current, { id: null, depth: -1 }, scoped), headers: current.headers, meta: current.meta, id: 0, attempts: 1, callback };
    const result = await parsePage(spider, scoped, { req, res }, { dedupe: false });
    if (!result.ok) throw new CallbackError(result.reason, result.message, result.stack);
    return {
      url: res.url,
      status: res.status,
      items: result.items.map((json) => JSON.parse(json) as Record<string, unknown>),
      invalid: result.invalid.map((bad) => ({ item: JSON.parse(bad.data) as Record<string, unknown>, issues: bad.issues })),
      dropped: result.dropped,
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
      requests: allFollowUps(result.followUps).map((f) => ({ url: f.url, callback: f.callback ?? 'parse', ...(f.skipped ? { skipped: f.skipped } : {}) })),
    };
  } finally {
    await fetcher.close();
  }
}

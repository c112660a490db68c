import { toNewRequest } from '../callbacks.js';
import { CallbackError, ConfigError } from '../errors.js';
import { addressPolicy } from '../fetch/addresses.js';
import { fetchPage, pageChain } from '../fetch/page.js';
import { reachesCallback } from '../fetch/retry.js';
import { allFollowUps } from '../followups.js';
import type { Followed } from '../middleware/follow.js';
import { Reason } from '../reasons.js';
import { Request } from '../request.js';
import { scopedSettings, scopeOfUrls } from '../run-scope.js';
import type { Render } from '../browser/render.js';
import type { Settings } from '../settings.js';
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

/**
 * Why `crawl parse` gives no page where a crawl would not call back either,
 * naming the way round: a redirect out of scope, robots.txt, a status a
 * crawl retries or fails. Undefined for the rest (a failed fetch, a loop),
 * which `fetchPage` words as for `crawl shell`.
 */
function refusal(start: string, { req, result }: Followed, settings: Settings): string | undefined {
  const origin = new URL(req.url).origin;
  if (result.kind === 'skipped' && result.reason === Reason.offsite)
    return `${start} redirects to ${req.url}, outside the crawl's scope (allowedDomains: ${settings.allowedDomains.join(', ')}): a crawl records it as skipped, offsite`;
  if (result.kind === 'disallowed') return `${req.url} is disallowed by ${origin}/robots.txt (add --no-robots to fetch it anyway)`;
  if (result.kind === 'retry' && result.reason.startsWith('robots:'))
    return `${origin}/robots.txt is unavailable (${result.reason}), which disallows the whole site for now (add --no-robots to fetch anyway)`;
  const status = result.kind === 'response' ? result.res.status : result.kind === 'retry' && result.status !== null && result.reason === `http:${result.status}` ? result.status : null;
  if (status === null || (result.kind === 'response' && reachesCallback(status, settings.handleStatuses))) return undefined;
  const fate = result.kind === 'retry' ? 'retries it, then fails it' : 'fails it';
  return `${req.url} answered ${status}: a crawl ${fate} as http:${status}, without calling back (-s handleStatuses=${status} hands it to the callback)`;
}

/**
 * Fetches one URL and runs a callback on it, storing nothing: the `crawl
 * parse` command, for trying a callback while writing it. The URL is the
 * start of a one-page crawl, under a crawl's rules: redirects stay in its
 * scope (the URL's registrable domain, or `allowedDomains`) and on the kinds
 * of address it is on, a loop is refused, robots.txt is checked for every hop
 * (with `obeyRobots`), and a status a crawl would fail is an error. The
 * request goes through the crawl's middleware chain, the spider's included,
 * and renders in a browser with `render` or the spider's own `render`.
 */
export async function parseSingle(spider: Spider, settings: Settings, url: string, callback = 'parse', render?: Render): Promise<SingleParse> {
  if (typeof (spider as unknown as Record<string, unknown>)[callback] !== 'function')
    throw new ConfigError(`spider '${spider.name}' has no method ${callback}()`);
  const start = new Request(url);
  const scope = await scopeOfUrls([start.url], settings.timeouts.connectMs);
  const scoped = scopedSettings(settings, scope);
  const page = pageChain('parse', scoped, addressPolicy(settings.allowPrivateAddresses, scope.addressKinds), spider.middlewares, undefined, spider.render);
  try {
    const { req: current, res } = await fetchPage(page, start.url, (followed) => refusal(start.url, followed, scoped), render);
    const req = { ...toNewRequest(spider, current, { id: null, depth: -1 }, scoped), headers: current.headers, meta: current.meta, id: 0, attempts: 1, callback };
    const result = await parsePage(spider, scoped, { req, res: { url: res.url, status: res.status, headers: res.headers, body: res.body }, live: res.page ? res : undefined }, { dedupe: false });
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
    await page.close();
  }
}

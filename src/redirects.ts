import { REDIRECT_STATUSES } from './fetch/fetcher.js';
import { canonicalUrl, toHttpUrl } from './request.js';

/**
 * What a redirect leads to: the one rule for a crawl's redirect hops and
 * `crawl parse`'s (and `crawl shell`'s).
 */

/** The meta key under which a redirected request keeps the URLs it came through, first to last (as Scrapy's `redirect_urls`). */
export const REDIRECT_URLS = 'redirectUrls';

/** A request as a redirect sees it. */
interface Hop {
  url: string;
  method: string;
  body: string | null | undefined;
  meta: Record<string, unknown> | null;
}

/** Why a redirect chain failed. */
export type RedirectFailure = 'redirect:bad-location' | 'redirect:too-many' | 'redirect:loop';

/** What to do with a response: not a redirect; follow it with the next request; or fail. */
export type RedirectStep =
  | { kind: 'none' }
  | { kind: 'follow'; url: string; method: string; body: string | null; meta: Record<string, unknown> }
  /** `detail`: the bad Location, or the URL a loop leads back to. */
  | { kind: 'fail'; reason: RedirectFailure; detail?: string };

/**
 * The next hop of a redirect. 307 and 308 repeat the request as it was; the
 * others become a GET without a body. The next request carries the chain in
 * `meta.redirectUrls`. A hop back to a request of its own chain (same URL,
 * canonically, and same method: a POST answered by 303 to its own URL is no
 * loop) fails as `redirect:loop`; the hop past `maxRedirects` as `redirect:too-many`.
 * @param hops - redirect hops that led to `req`.
 */
export function redirectStep(req: Hop, res: { status: number; headers: Record<string, string> }, hops: number, maxRedirects: number): RedirectStep {
  const location = res.headers.location;
  if (!REDIRECT_STATUSES.includes(res.status) || !location) return { kind: 'none' };
  const target = toHttpUrl(location, req.url);
  if (!target) return { kind: 'fail', reason: 'redirect:bad-location', detail: location };
  target.hash = '';
  const keepMethod = res.status === 307 || res.status === 308;
  const method = keepMethod ? req.method : 'GET';
  const earlier = req.meta?.[REDIRECT_URLS];
  const chain = [...(Array.isArray(earlier) ? earlier.filter((u): u is string => typeof u === 'string') : []), req.url];
  // Same method as this hop: exact for a chain that keeps one method (every GET chain). After a POST turned GET,
  // a hop back to the POST's URL counts as a loop too: a chain that revisits a URL is not worth following.
  if (method === req.method) {
    const canonical = canonicalUrl(target);
    if (chain.some((u) => canonicalUrl(u) === canonical)) return { kind: 'fail', reason: 'redirect:loop', detail: target.href };
  }
  if (hops >= maxRedirects) return { kind: 'fail', reason: 'redirect:too-many' };
  return { kind: 'follow', url: target.href, method, body: keepMethod ? (req.body ?? null) : null, meta: { ...req.meta, [REDIRECT_URLS]: chain } };
}

import { FetchError } from '../errors.js';
import { Reason } from '../reasons.js';
import { canonicalUrl, givenFields, Request, toHttpUrl } from '../request.js';
import { ALL_PURPOSES, type BuiltinMiddleware } from './types.js';

/** Statuses followed as redirects, when they carry a Location. */
export const REDIRECT_STATUSES: readonly number[] = [301, 302, 303, 307, 308];

/** The meta key under which a redirected request keeps the URLs it came through, first to last (as Scrapy's `redirect_urls`). */
export const REDIRECT_URLS = 'redirectUrls';

/** RFC 9309: follow at least five redirects for robots.txt. */
export const ROBOTS_MAX_REDIRECTS = 5;

/** A request as a redirect sees it. */
interface Hop {
  url: string;
  method: string;
  body: string | null | undefined;
  meta: Record<string, unknown> | null;
}

/** Why a redirect chain failed. */
export type RedirectFailure = typeof Reason.redirectBadLocation | typeof Reason.redirectTooMany | typeof Reason.redirectLoop;

/** What to do with a response: not a redirect; follow it with the next request; or fail. */
export type RedirectStep =
  | { kind: 'none' }
  | { kind: 'follow'; url: string; method: string; body: string | null; meta: Record<string, unknown> }
  /** `detail`: the bad Location, or the URL a loop leads back to. */
  | { kind: 'fail'; reason: RedirectFailure; detail?: string };

/**
 * The next hop of a redirect: the one rule for a crawl's hops, `crawl
 * parse`'s, `crawl shell`'s and robots.txt's. 307 and 308 repeat the request
 * as it was; the others become a GET without a body. The next request carries
 * the chain in `meta.redirectUrls`. A hop back to a request of its own chain
 * (same URL, canonically, and same method: a POST answered by 303 to its own
 * URL is no loop) fails as `redirect:loop`; the hop past `maxRedirects` as `redirect:too-many`.
 * @param hops - redirect hops that led to `req`.
 */
export function redirectStep(req: Hop, res: { status: number; headers: Record<string, string> }, hops: number, maxRedirects: number): RedirectStep {
  const location = res.headers.location;
  if (!REDIRECT_STATUSES.includes(res.status) || !location) return { kind: 'none' };
  const target = toHttpUrl(location, req.url);
  if (!target) return { kind: 'fail', reason: Reason.redirectBadLocation, detail: location };
  target.hash = '';
  const keepMethod = res.status === 307 || res.status === 308;
  const method = keepMethod ? req.method : 'GET';
  const earlier = req.meta?.[REDIRECT_URLS];
  const chain = [...(Array.isArray(earlier) ? earlier.filter((u): u is string => typeof u === 'string') : []), req.url];
  // Same method as this hop: exact for a chain that keeps one method (every GET chain). After a POST turned GET,
  // a hop back to the POST's URL counts as a loop too: a chain that revisits a URL is not worth following.
  if (method === req.method) {
    const canonical = canonicalUrl(target);
    if (chain.some((u) => canonicalUrl(u) === canonical)) return { kind: 'fail', reason: Reason.redirectLoop, detail: target.href };
  }
  if (hops >= maxRedirects) return { kind: 'fail', reason: Reason.redirectTooMany };
  return { kind: 'follow', url: target.href, method, body: keepMethod ? (req.body ?? null) : null, meta: { ...req.meta, [REDIRECT_URLS]: chain } };
}

/**
 * Redirects, as new requests: the next hop is built from the request as the
 * exchange began (`ctx.request`: what the frontier holds, so a header a
 * middleware added for one host never travels with a hop to another), keeps
 * its callback, headers and priority, and goes through the whole chain again
 * (scope, robots.txt, politeness) as any request. A crawl stores it as a
 * link of the request it came from (same depth; dedupe applies); `crawl
 * parse`, `crawl shell` and robots.txt follow it at once. A chain that fails
 * the rule fails the request with its reason.
 */
export function redirectMiddleware(): BuiltinMiddleware {
  return {
    name: 'redirect',
    about: '3xx with a Location followed as a new request; loops and chains past maxRedirects failed (maxRedirects)',
    purposes: ALL_PURPOSES,
    response(res, _req, ctx) {
      if (!REDIRECT_STATUSES.includes(res.status)) return res;
      const from = ctx.request;
      const max = ctx.purpose === 'robots' ? ROBOTS_MAX_REDIRECTS : ctx.settings.maxRedirects;
      const step = redirectStep(from, res, ctx.redirects, max);
      if (step.kind === 'none') return res;
      if (step.kind === 'fail') throw new FetchError(step.reason, step.detail ?? '', false, { status: res.status });
      const { headers } = givenFields(from);
      return new Request(step.url, { method: step.method, body: step.body ?? undefined, headers, meta: step.meta, callback: from.callback, priority: from.priority, render: from.render });
    },
  };
}

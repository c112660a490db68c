import { FetchError } from '../errors.js';
import type { Fetched, Fetcher } from '../fetch/fetcher.js';
import type { Logger } from '../log.js';
import { Reason } from '../reasons.js';
import { Request } from '../request.js';
import type { Settings } from '../settings.js';
import { Exchange, type Chain } from './chain.js';
import type { ExchangeResult } from './outcomes.js';
import { ROBOTS_MAX_REDIRECTS } from './redirect.js';
import type { Purpose } from './types.js';

/** What a one-page fetch starts from. */
export interface FollowInit {
  purpose: Exclude<Purpose, 'crawl'>;
  settings: Settings;
  log: Logger;
  readBody?: (status: number) => boolean;
}

/** How a one-page fetch ended: the last request, how its exchange ended, and the hops before it. */
export interface Followed {
  req: Request;
  result: Exclude<ExchangeResult, { kind: 'follow' }>;
  hops: number;
  /** The status of the response whose next hop `req` is (a redirect), if any. */
  from: number | null;
}

/**
 * A request through the chain, and each request a middleware re-routes it to
 * (a redirect's next hop) through it again, at once: how `crawl parse`,
 * `crawl shell` and robots.txt fetch, where a crawl stores the next hop as a
 * link instead. Every hop passes every middleware (scope, robots.txt...).
 */
export async function follow(chain: Chain, first: Request, init: FollowInit): Promise<Followed> {
  const max = init.purpose === 'robots' ? ROBOTS_MAX_REDIRECTS : init.settings.maxRedirects;
  let req = first;
  let from: number | null = null;
  for (let hops = 0; ; hops++) {
    const result = await chain.run(new Exchange({ ...init, request: req, redirects: hops }));
    if (result.kind !== 'follow') return { req, result, hops, from };
    // The redirect middleware stops its own chains; this stops a middleware's re-routes that never end.
    if (hops + 1 > max) {
      const error = new FetchError(Reason.redirectTooMany, `${result.by} re-routed it more than ${max} times`, false);
      return { req, result: { kind: 'failed', reason: Reason.redirectTooMany, status: null, detail: error.message, error }, hops, from };
    }
    [req, from] = [result.req, 300];
  }
}

/**
 * robots.txt's fetcher: the chain (which holds the robots middleware, so it
 * comes as a getter), for purpose `robots`, following redirects
 * (at most five, each in scope). What the chain does not follow comes back
 * as the redirect response, read as no rules: a hop out of scope (or a
 * robots.txt a middleware skipped), a loop, a chain past five hops.
 */
export function robotsFetcher(chain: () => Chain, init: Omit<FollowInit, 'purpose'>): Fetcher {
  return {
    async fetch(req, readBody) {
      const { result, req: last, from } = await follow(chain(), new Request(req.url), { ...init, purpose: 'robots', readBody });
      const noFurther = (status: number): Fetched => ({ url: last.url, status, headers: {}, body: Buffer.alloc(0) });
      switch (result.kind) {
        case 'response':
          return { url: result.res.url, status: result.res.status, headers: result.res.headers, body: result.res.body };
        case 'skipped':
          return noFurther(from ?? 404);
        case 'failed':
          if (result.reason.startsWith('redirect:')) return noFurther(result.status ?? 300);
          throw result.error;
        case 'retry':
          throw result.error ?? new FetchError(result.reason, `a middleware asked to retry ${last.url}`, true);
        default:
          throw new FetchError(Reason.internal, `robots.txt fetch ended as ${result.kind}`, false);
      }
    },
    close: async () => {},
  };
}

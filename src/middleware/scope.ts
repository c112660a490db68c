import { scopeOf } from '../callbacks.js';
import type { Request } from '../request.js';
import { skip, type End } from './outcomes.js';
import type { BuiltinMiddleware } from './types.js';

/**
 * The crawl's scope (`scope.ts`: `allowedDomains` as the run resolved it, and
 * `maxDepth`) on every request but the start requests, which make it: a
 * request outside it is skipped as `offsite` or `depth`, never fetched. A
 * crawl applies the same rule to the links a callback yields, and to redirect
 * hops, as it stores them (they are recorded as skipped there, never queued),
 * so a crawl's request is vetted here again only if a middleware before this
 * one changed it; `crawl parse`'s and robots.txt's redirect hops, which are
 * never stored, are vetted here.
 */
export function scopeMiddleware(): BuiltinMiddleware {
  return {
    name: 'scope',
    about: 'skips requests outside the crawl\'s domains or past its depth: offsite, depth (allowedDomains, maxDepth)',
    purposes: ['crawl', 'robots', 'parse'],
    request(req, ctx): Request | End {
      if ((ctx.purpose === 'crawl' && req === ctx.first) || (ctx.depth <= 0 && ctx.redirects === 0)) return req;
      const why = scopeOf(req, ctx.depth, ctx.settings);
      return why === null ? req : skip(why);
    },
  };
}

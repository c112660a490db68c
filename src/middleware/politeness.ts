import { FetchError } from '../errors.js';
import { LimiterStoppedError, type Limiter } from '../fetch/limiter.js';
import type { Throttle } from '../fetch/throttle.js';
import type { LagMonitor } from '../lag.js';
import type { Request } from '../request.js';
import type { Exchange } from './chain.js';
import { requeue, type End } from './outcomes.js';
import { isProxyFailure } from './proxies.js';
import { stalled } from './retry.js';
import type { BuiltinMiddleware } from './types.js';

/**
 * Politeness: a request waits here for a slot of its host and of the crawl,
 * and for its host's delay (`perHost.delayMs`, robots.txt's Crawl-delay, the
 * adaptive throttle), then holds the slot until its exchange has ended
 * (`limiter.ts`, or the cluster's shared limits). Every exchange with a host
 * feeds its throttle. Nearest the network of crawlkit's request hooks but
 * the cache's: a request that a middleware before skips or answers never
 * waits, and a slot is not held while it waits on anything else.
 */
export function politenessMiddleware(limiter: Limiter, throttle: Throttle, lag?: LagMonitor): BuiltinMiddleware {
  const took = (ctx: Exchange) => Date.now() - ctx.sentAt;
  return {
    name: 'politeness',
    about: 'per-host and crawl-wide slots; per-host delays: perHost.delayMs, Crawl-delay, the adaptive throttle (concurrency, perHost.*, throttle.*)',
    purposes: ['crawl'],
    request(req, ctx) {
      return new Promise<Request | End>((enter, fail) => {
        limiter
          .schedule(req.host, () =>
            new Promise<void>((release) => {
              ctx.onEnd(release);
              enter(req);
            }),
          )
          // Stopping: a request still waiting goes back to the queue untouched.
          .catch((err: unknown) => (err instanceof LimiterStoppedError ? enter(requeue()) : fail(err)));
      });
    },
    response(res, req, ctx) {
      if (ctx.sentAt) throttle.record(req.host, res.status, took(ctx));
      return res;
    },
    error(err, req, ctx) {
      // A body refused for its size or encoding came from a host that answered; a timeout during a stall is not the host's, nor a proxy's failure.
      if (ctx.sentAt && err instanceof FetchError && err.status === undefined && !stalled(err, ctx, lag) && !isProxyFailure(err)) throttle.record(req.host, null, took(ctx));
    },
  };
}

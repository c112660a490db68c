import { recordLatency } from '../latency.js';
import { bump, type Stats } from '../stats.js';
import type { Exchange } from './chain.js';
import type { BuiltinMiddleware } from './types.js';

/**
 * The crawl's traffic counters: requests sent (a replay's included), responses
 * by status, bytes, and each host's response times. It marks when a request
 * leaves (`ctx.sentAt`), and keeps the exchanges under way in `inFlight`
 * for the watchdog, which tells of any past its deadline.
 */
export function statsMiddleware(stats: Stats, inFlight: Set<Exchange>): BuiltinMiddleware {
  return {
    name: 'stats',
    about: 'counts requests, responses by status, bytes and response times per host',
    purposes: ['crawl'],
    request(req, ctx) {
      stats.requests++;
      ctx.sentAt = Date.now();
      inFlight.add(ctx);
      ctx.onEnd(() => inFlight.delete(ctx));
      return req;
    },
    response(res, req, ctx) {
      recordLatency(stats.latency, req.host, Date.now() - ctx.sentAt);
      bump(stats.responses, String(res.status));
      stats.bytes += res.body.length;
      return res;
    },
  };
}

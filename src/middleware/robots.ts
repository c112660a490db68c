import { FetchError } from '../errors.js';
import type { RobotsVerdict, Robots } from '../fetch/robots.js';
import { tlsHint } from '../fetch/tls.js';
import type { Request } from '../request.js';
import { disallow, retryRequest, type End } from './outcomes.js';
import type { BuiltinMiddleware } from './types.js';

/** A request as robots.txt has it: sent on, disallowed, or retried once robots.txt can be read again. */
function obey(req: Request, verdict: RobotsVerdict): Request | End {
  if (verdict.kind === 'allowed') return req;
  if (verdict.kind === 'disallowed') return disallow();
  // A TLS refusal (a certificate not trusted, no protocol in common) is the same after any wait, and the page's would be
  // too: the request fails at once, saying which setting gets past it, rather than after maxAttempts waits of 30 s.
  const tls = /^robots:tls:(.+)$/.exec(verdict.reason);
  if (tls) throw new FetchError(verdict.reason, `robots.txt not fetched: ${tlsHint(tls[1]!)}`, false);
  // RFC 9309: a robots.txt that cannot be read disallows the site until it can; the request waits that long, as a retry.
  return retryRequest(req, { reason: verdict.reason, delayMs: Math.max(0, verdict.retryAt - Date.now()) });
}

/**
 * robots.txt (see `fetch/robots.ts`, which fetches it through this same
 * chain): a request it disallows is not fetched and is recorded as
 * disallowed; while it is unavailable (5xx, unreachable) the request is
 * retried, with a `robots:` reason (failed at once for a TLS refusal, `robots:tls:CODE`). An origin's robots.txt at hand answers
 * without a promise.
 */
export function robotsMiddleware(robots: Robots): BuiltinMiddleware {
  return {
    name: 'robots',
    about: 'robots.txt (RFC 9309): disallowed requests not fetched; while it cannot be read, requests retried (obeyRobots, robotsUserAgent)',
    purposes: ['crawl', 'parse'],
    request(req) {
      const known = robots.verdict(req.url);
      return known ? obey(req, known) : robots.check(req.url).then((verdict) => obey(req, verdict));
    },
  };
}

import { parseRetryAfter } from '../fetch/retry.js';
import { givenFields, hasHeader } from '../request.js';
import { banStatusesRead } from '../session/bans.js';
import type { SessionPool } from '../session/pool.js';
import type { Response } from '../response.js';
import type { SessionSettings } from '../settings.js';
import { Reason } from '../reasons.js';
import { End, retryRequest } from './outcomes.js';
import type { BuiltinMiddleware } from './types.js';

/**
 * Binds each request to a session of the pool (`ctx.session`): the cookies
 * middleware after it uses the session's jar, the proxies its proxy; the
 * session's User-Agent replaces the default one. On the way back, a response
 * `judge` calls a ban retires the session and is retried on another, counted
 * as an attempt, honouring a Retry-After: placed after `retry` in the chain,
 * it sees a 429 first, so a ban wins over `retry.statuses` (a new session is
 * the cure, not the same one later). Out of attempts, the request fails with
 * the ban's reason (`banned:403`).
 */
export function sessionsMiddleware(pool: SessionPool, settings: SessionSettings, judge: (res: Response) => string | null): BuiltinMiddleware {
  const readBan = banStatusesRead(settings);
  return {
    name: 'sessions',
    about: 'binds each request to a session (its cookie jar and User-Agent); a ban retires it and retries on another (sessions.*, userAgents)',
    purposes: ['crawl', 'parse', 'shell'],
    request(req, ctx) {
      const session = pool.pick();
      ctx.session = session;
      // A ban page's body is read, for a spider's isBanned to look into.
      const reads = ctx.readBody;
      ctx.readBody = (status) => reads(status) || readBan(status);
      // The request as the frontier holds it may set its own User-Agent, which wins over the session's.
      if (session.userAgent && !hasHeader(givenFields(ctx.request).headers, 'user-agent')) req.headers['user-agent'] = session.userAgent;
      return req;
    },
    response(res, req, ctx) {
      let reason: string | null;
      try {
        reason = ctx.session ? judge(res) : null;
      } catch (err) {
        // The spider's isBanned threw: its code, failed as a callback's would be.
        const error = err instanceof Error ? err : new Error(String(err));
        return new End({ kind: 'failed', reason: Reason.callbackError, status: res.status, detail: `isBanned() failed on ${res.url}: ${error.stack ?? error.message}`, error });
      }
      if (reason === null) return res;
      pool.ban(ctx, reason);
      return retryRequest(req, { reason, status: res.status, delayMs: parseRetryAfter(res.headers['retry-after']) ?? undefined });
    },
  };
}

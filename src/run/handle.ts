import { toNewRequest } from '../callbacks.js';
import { keepScreenshot, takeScreenshot } from '../browser/screenshot.js';
import type { AutoRender } from '../browser/auto.js';
import { autoTagOf, browserDied, releaseAuto, releasePage } from '../browser/fetch.js';
import { reachesCallback } from '../fetch/retry.js';
import { packFollowUps } from '../followups.js';
import type { Outcome, QueuedRequest } from '../frontier/frontier.js';
import type { Logger } from '../log.js';
import { Exchange, type Chain } from '../middleware/chain.js';
import type { ExchangeResult } from '../middleware/outcomes.js';
import { retryDelayFor } from '../middleware/retry.js';
import { toRequest, type Parser } from '../parser/parse.js';
import { httpReason, Reason } from '../reasons.js';
import type { Request } from '../request.js';
import type { Response } from '../response.js';
import type { RetryTracker } from '../retries.js';
import type { SessionPool } from '../session/pool.js';
import type { Settings } from '../settings.js';
import type { Spider } from '../spider.js';
import { bump, type Stats } from '../stats.js';
import { autoParser } from './auto-parse.js';

/** An outcome plus its items (JSON) to hand to a programmatic consumer after commit. */
export type Completion = { outcome: Outcome; items: string[] };

/** What becomes of one request: the chain, then the callback. */
export interface HandleParts {
  spider: Spider;
  /** The run's settings, its scope resolved. */
  settings: Settings;
  chain: Chain;
  parser: Parser;
  stats: Stats;
  log: Logger;
  retries: RetryTracker;
  /** The session pool: a callback's `res.session.retire()` is a ban judged there. */
  sessions?: SessionPool;
  /** The decisions of `render: 'auto'`; none: an `auto` request renders. */
  auto?: AutoRender;
}

const plain = (outcome: Outcome): Completion => ({ outcome, items: [] });

/** The outcomes a request may end with, counted in the stats as they are made. */
function outcomes({ spider, settings, parser, stats, log, retries, sessions, auto }: HandleParts) {
  const fail = (req: QueuedRequest, reason: string, status: number | null, detail?: string): Outcome => {
    bump(stats.failures, reason);
    log.debug(`failed ${req.url}: ${reason}${detail ? ` ${detail}` : ''}`);
    return { kind: 'failed', id: req.id, status, reason: detail ? `${reason}: ${detail}` : reason };
  };
  /** Another attempt, after the delay the retry policy gives; or, the attempts used up, a failure with the reason. */
  const retryOrFail = (req: QueuedRequest, reason: string, status: number | null, delayMs: number | null): Outcome => {
    const delay = retryDelayFor(req.attempts, delayMs, settings.retry);
    if (delay === null) return fail(req, reason, status);
    stats.retries++;
    retries.waiting(req, reason, delay);
    return { kind: 'retry', id: req.id, status, reason, readyAt: Date.now() + delay };
  };
  /** A redirect's next hop (or a middleware's re-route): this request done, the next one a follow-up of it, with its depth, passing scope and dedupe as any link. */
  const hop = (req: QueuedRequest, next: Request, status: number | null): Outcome => {
    stats.redirects++;
    const followUp = toNewRequest(spider, next, { id: req.id, depth: req.depth }, settings, 0, req.redirects + 1);
    return { kind: 'done', id: req.id, status: status ?? 0, url: req.url, items: [], followUps: packFollowUps([followUp]) };
  };

  const autoParse = auto && autoParser(parser, auto, log);

  /** The callback's outcome: done with its items and follow-ups, or failed (a crashed worker's page retried). */
  const parse = async (req: QueuedRequest, res: Response, ex: Exchange): Promise<Completion> => {
    const live = res.page ? res : undefined;
    const job = { req, res: { url: res.url, status: res.status, headers: res.headers, body: res.body, session: ex.session?.id }, live };
    const result = await (autoParse ? autoParse(job, autoTagOf(ex)) : parser.parse(job));
    if (result === 'requeue') return plain({ kind: 'requeue', id: req.id });
    if (!result.ok) {
      log.warn(result.message);
      if (result.reason === Reason.workerCrashed) return plain(retryOrFail(req, result.reason, res.status, null));
      // A callback that failed because the browser died under its page (res.page) is retried, as the page's render would be.
      if (live && browserDied(live)) return plain(retryOrFail(req, Reason.browserCrashed, res.status, null));
      // The page as the callback left it, still open (released once the request is handled).
      if (live?.page && settings.browser.screenshotOnError) await keepScreenshot(ex, res.url, live.page, log);
      return plain(fail(req, result.reason, res.status, result.stack));
    }
    for (const warning of result.warnings) log.warn(`${res.url}: ${warning}`);
    if (result.retired !== undefined) {
      // The callback saw a ban only it could tell: as a ban rule's, its page's yield dropped.
      sessions?.ban(ex, result.retired);
      return plain(retryOrFail(req, result.retired, res.status, null));
    }
    stats.pages++;
    stats.badLinks += result.badLinks;
    stats.droppedItems += result.dropped;
    stats.duplicates += result.followUps.duplicates;
    for (const bad of result.invalid) log.debug(`invalid item from ${res.url}: ${bad.issues.map((i) => `${i.path || '(item)'}: ${i.message}`).join('; ')}`);
    return {
      outcome: { kind: 'done', id: req.id, status: res.status, url: res.url, items: result.items, invalid: result.invalid, followUps: result.followUps },
      items: result.items,
    };
  };
  return { fail, retryOrFail, hop, parse };
}

/**
 * What becomes of one request of a crawl: through the middleware chain, then
 * to its callback (in a parser worker), and how it ended as the frontier's
 * outcome: done with its items and follow-ups, a redirect hop done with its
 * target as a follow-up, retried, failed with its reason, disallowed or skipped.
 */
export function requestHandler(parts: HandleParts): (req: QueuedRequest) => Promise<Completion> {
  const { settings, chain, stats, log } = parts;
  const { fail, retryOrFail, hop, parse } = outcomes(parts);
  // The bodies worth reading: those a callback gets. Made once, not per request.
  const readBody = (status: number) => reachesCallback(status, settings.handleStatuses);

  const settle = (req: QueuedRequest, r: ExchangeResult, ex: Exchange): Completion | Promise<Completion> => {
    switch (r.kind) {
      case 'response':
        return reachesCallback(r.res.status, settings.handleStatuses) ? parse(req, r.res, ex) : plain(fail(req, httpReason(r.res.status), r.res.status));
      case 'retry':
        return plain(retryOrFail(req, r.reason, r.status, r.delayMs));
      case 'requeue':
        return plain({ kind: 'requeue', id: req.id });
      case 'follow':
        return plain(hop(req, r.req, r.status));
      case 'skipped':
        return plain({ kind: 'skipped', id: req.id, reason: r.reason });
      case 'disallowed':
        stats.disallowed++;
        return plain({ kind: 'disallowed', id: req.id, reason: Reason.robots });
      case 'failed':
        return plain(fail(req, r.reason, r.status, r.detail));
    }
  };

  return async (req) => {
    let ex: Exchange | undefined;
    try {
      ex = new Exchange({
        purpose: 'crawl',
        settings,
        log,
        request: toRequest(req),
        original: () => toRequest(req),
        attempt: req.attempts,
        depth: req.depth,
        redirects: req.redirects,
        readBody,
      });
      const completion = await settle(req, await chain.run(ex), ex);
      // A rendered request failed for good: its last attempt's screenshot, if one was taken, goes with it.
      const screenshot = takeScreenshot(ex);
      if (screenshot && completion.outcome.kind === 'failed') completion.outcome.screenshot = screenshot;
      return completion;
    } catch (err) {
      // A bug (or a Request a middleware made that cannot be stored): this request fails, the crawl goes on.
      return plain(fail(req, Reason.internal, null, (err as Error)?.stack ?? String(err)));
    } finally {
      // A rendered page lives until its callback is over (res.page), however the request ended.
      if (ex) {
        releaseAuto(ex);
        await releasePage(ex);
      }
    }
  };
}

import { releaseAuto } from '../browser/fetch.js';
import { scopeOf } from '../callbacks.js';
import { FetchError, PageError } from '../errors.js';
import { reachesCallback } from '../fetch/retry.js';
import { pageFailure } from '../fetch/page.js';
import type { Logger } from '../log.js';
import { Exchange, type Chain } from '../middleware/chain.js';
import type { ExchangeResult } from '../middleware/outcomes.js';
import { retryDelayFor } from '../middleware/retry.js';
import { Reason } from '../reasons.js';
import type { Request } from '../request.js';
import type { Response } from '../response.js';
import type { Settings } from '../settings.js';

/**
 * `spider.fetch()` in `start()`: one request through the crawl's own chain,
 * at once, for a spider that must see a page before it can say what to crawl
 * (a login: its form, then whether it worked). It is a request of the crawl
 * (purpose `crawl`): scope, robots.txt, headers, the spider's middlewares,
 * cookies (so the session a login opens is the crawl's), politeness, the
 * stats and the cache take part. What a crawl would store as a new request
 * is done here and then: a redirect is followed (each hop in the crawl's
 * scope), a retry waits its backoff and goes again, up to `retry.maxAttempts`.
 */

/** What a fetch in `start()` goes through: the chain, and the run's settings with the scope `start()` has made so far. */
export interface StartFetchParts {
  chain: Chain;
  settings: Settings;
  log: Logger;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why a request ended without a response, as the error `fetch()` throws (a {@link FetchError} for the network's, else a {@link PageError}). */
function failure(first: Request, req: Request, result: Exclude<ExchangeResult, { kind: 'response' | 'follow' | 'retry' | 'requeue' }>, settings: Settings): Error {
  const via = req === first ? '' : ` (redirected from ${first.url})`;
  if (result.kind === 'disallowed') return new PageError(Reason.robots, `${req.url}${via} is disallowed by robots.txt (-s obeyRobots=false fetches it anyway)`);
  const message = pageFailure({ req, result, hops: 0, from: null }, settings.maxRedirects) ?? `${req.url} gave no response`;
  if (result.kind === 'failed' && (result.error instanceof FetchError || result.reason.startsWith('redirect:')))
    return new FetchError(result.reason, message + via, false, { cause: result.error });
  return new PageError(result.reason, message + via, result.kind === 'failed' ? { cause: result.error } : undefined);
}

/**
 * Fetches `first` through the chain and returns the final response (after
 * redirects), if its status is one a crawl hands to its callback (2xx, and
 * `handleStatuses`).
 * @throws {@link FetchError} or {@link PageError} naming the URL and the
 *   reason a crawl would record (`http:404`, `offsite`, `robots.txt`,
 *   `timeout:headers` after the last attempt...).
 */
export async function fetchInStart(first: Request, { chain, settings, log }: StartFetchParts): Promise<Response> {
  let req = first;
  for (let hops = 0, attempt = 1; ; ) {
    const ex = new Exchange({ purpose: 'crawl', settings, log, request: req, attempt, redirects: hops });
    const result = await chain.run(ex);
    // A page of a learning `render: 'auto'` pattern frees its place: nothing is compared in start().
    releaseAuto(ex);
    switch (result.kind) {
      case 'response': {
        const { status } = result.res;
        if (reachesCallback(status, settings.handleStatuses)) return result.res;
        throw new PageError(`http:${status}`, `${req.url} answered ${status} (http:${status}; -s handleStatuses=${status} lets fetch() return it)`);
      }
      case 'follow': {
        const offsite = scopeOf(result.req, 0, settings);
        if (offsite !== null)
          throw new PageError(offsite, `${req.url} redirects to ${result.req.url}, outside the crawl's scope (allowedDomains: ${settings.allowedDomains.join(', ')})`);
        if (hops + 1 > settings.maxRedirects) throw new FetchError(Reason.redirectTooMany, `${first.url} redirects more than maxRedirects (${settings.maxRedirects}) times`, false);
        [req, attempt] = [result.req, 1];
        hops++;
        continue;
      }
      case 'retry':
      case 'requeue': {
        const reason = result.kind === 'retry' ? result.reason : 'requeued';
        const delay = retryDelayFor(attempt, result.kind === 'retry' ? result.delayMs : 0, settings.retry);
        if (delay === null) {
          const detail = result.kind === 'retry' && result.error ? `: ${result.error.message}` : '';
          throw new FetchError(reason, `cannot fetch ${req.url}: ${reason} after ${attempt} attempt${attempt === 1 ? '' : 's'}${detail}`, false, { cause: result.kind === 'retry' ? result.error : undefined });
        }
        log.debug(`start(): fetch ${req.url}: ${reason}, attempt ${attempt + 1} in ${delay} ms`);
        await sleep(delay);
        attempt++;
        continue;
      }
      default:
        throw failure(first, req, result, settings);
    }
  }
}

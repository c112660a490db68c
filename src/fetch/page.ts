import type { Render } from '../browser/render.js';
import { renderer } from '../browser/renderer.js';
import { FetchError, PageError, type CrawlkitError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { builtinMiddlewares } from '../middleware/builtins.js';
import { createChain, type Chain } from '../middleware/chain.js';
import { follow, robotsFetcher, type Followed } from '../middleware/follow.js';
import { placeMiddlewares } from '../middleware/order.js';
import { runProxyPool } from '../middleware/proxies.js';
import type { Middleware } from '../middleware/types.js';
import { Request } from '../request.js';
import type { Response } from '../response.js';
import { robotsToken, type Settings } from '../settings.js';
import type { AddressPolicy } from './addresses.js';
import { createFetcher } from './fetcher.js';
import { createRobots } from './robots.js';

/** One page fetched by hand (`crawl parse`, `crawl shell`): the last response and the request it answers. */
export interface FetchedPage {
  req: Request;
  res: Response;
}

/** The chain of one-page fetches, and what it was built with. */
export interface PageChain {
  purpose: 'parse' | 'shell';
  chain: Chain;
  /** The settings it goes by (for `crawl parse`, with the scope of its one URL). */
  settings: Settings;
  log: Logger;
  close(): Promise<void>;
}

/**
 * The chain `crawl parse` and `crawl shell` fetch through: a crawl's, without
 * what only a crawl has (politeness, stats, the cache). `crawl parse` obeys
 * robots.txt (with `obeyRobots`) and keeps to the scope; `crawl shell`
 * fetches what it is asked. A spider's middlewares take their places.
 */
export function pageChain(
  purpose: 'parse' | 'shell',
  settings: Settings,
  addresses: AddressPolicy,
  middlewares: readonly Middleware[] = [],
  log = silentLogger,
  render?: Render,
): PageChain {
  const network = createFetcher(settings, addresses);
  let chain: Chain | undefined;
  const robots =
    purpose === 'parse' && settings.obeyRobots ? createRobots(robotsFetcher(() => chain!, { settings, log }), robotsToken(settings), () => {}) : null;
  // `crawl parse` renders as the spider does; its page stays open until close(), which closes the browser.
  const fetch = renderer(render, settings, network, log);
  chain = createChain(placeMiddlewares(builtinMiddlewares({ settings, robots, proxies: runProxyPool(settings, log) }), middlewares), fetch.fetch);
  return { purpose, chain, settings, log, close: async () => void (await Promise.all([fetch.close(), network.close()])) };
}

/** Why a fetch that ended as `followed` gave no page, in one line; undefined when it did. */
export function pageFailure({ req, result }: Followed, maxRedirects: number): string | undefined {
  switch (result.kind) {
    case 'response':
      return undefined;
    case 'failed':
      if (result.reason === 'redirect:loop') return `${req.url} redirects in a loop, back to ${result.detail} (${result.reason})`;
      if (result.reason === 'redirect:too-many') return `${req.url} redirects more than maxRedirects (${maxRedirects}) times (${result.reason})`;
      if (result.reason === 'redirect:bad-location') return `${req.url} redirects to ${result.detail}, which is not an http(s) URL (${result.reason})`;
      if (result.error instanceof FetchError) return `cannot fetch ${req.url}: ${result.reason}: ${result.error.message}`;
      return `cannot fetch ${req.url}: middleware '${result.reason}' failed: ${result.error.message}`;
    case 'retry':
      return result.error ? `cannot fetch ${req.url}: ${result.reason}: ${result.error.message}` : `${req.url}: a crawl would retry it (${result.reason})`;
    case 'skipped':
      return `${req.url} is skipped by middleware '${result.reason}'`;
    default:
      return `${req.url} ends as ${result.kind}`;
  }
}

/**
 * Fetches a URL with GET through `page`'s chain, following redirects by a
 * crawl's rule (up to `maxRedirects` hops, a loop refused), each hop through
 * every middleware. `explain` may say first why a fetch gave no page.
 * @throws {@link FetchError} in one line for a failed fetch, a redirect out of http(s), a loop or too many hops;
 *   {@link PageError} for a page a crawl would not call back on (robots.txt, scope, status, a middleware's skip).
 */
export async function fetchPage(page: PageChain, url: string, explain?: (followed: Followed) => string | undefined, render?: Render): Promise<FetchedPage> {
  const followed = await follow(page.chain, new Request(url, render === undefined ? {} : { render }), { purpose: page.purpose, settings: page.settings, log: page.log });
  const why = explain?.(followed) ?? pageFailure(followed, page.settings.maxRedirects);
  if (why !== undefined || followed.result.kind !== 'response') throw pageError(followed, why ?? `${url}: no response`);
  return { req: followed.req, res: followed.result.res };
}

/** The error of a fetch that gave no page: the network's or a redirect's ({@link FetchError}), else the page's ({@link PageError}), with the reason a crawl would record. */
function pageError({ result }: Followed, message: string): CrawlkitError {
  switch (result.kind) {
    case 'response':
      return new PageError(`http:${result.res.status}`, message);
    case 'failed':
    case 'retry':
      if (result.error instanceof FetchError || result.reason.startsWith('redirect:')) return new FetchError(result.reason, message, false, { cause: result.error });
      return new PageError(result.reason, message, { cause: result.error });
    case 'skipped':
      return new PageError(result.reason, message);
    default:
      return new PageError(result.kind, message);
  }
}

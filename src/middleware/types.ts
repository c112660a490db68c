import type { Logger } from '../log.js';
import type { Request } from '../request.js';
import type { Response } from '../response.js';
import type { Settings } from '../settings.js';
import type { Exchange } from './chain.js';
import type { End } from './outcomes.js';

/** A value, or a promise of one: a hook that has nothing to wait for answers at once and costs no promise. */
export type Awaitable<T> = T | Promise<T>;

/**
 * What an exchange is for: a request of a crawl, a robots.txt, the page of
 * `crawl parse`, or a page of `crawl shell` (a page a spider fetches in
 * `start()` with `this.fetch()` is a request of the crawl). The same chain
 * serves all four; a built-in that has nothing to do for one (politeness
 * for `crawl shell`) is left out of it.
 */
export type Purpose = 'crawl' | 'robots' | 'parse' | 'shell';

/** What every hook of one exchange (one request, its response or error) is told. */
export interface MiddlewareContext {
  readonly purpose: Purpose;
  /** The settings of the run (or of `crawl parse` and `crawl shell`). */
  readonly settings: Settings;
  readonly log: Logger;
  /** The request as the exchange began, before any middleware changed it: what the frontier holds. */
  readonly request: Request;
  /** This request's fetch attempt: 1 for the first, 2 for the first retry... */
  readonly attempt: number;
  /** Link depth from the start requests (0 for them, and for their redirects). */
  readonly depth: number;
  /** Redirect hops (and re-routes) that led to this request. */
  readonly redirects: number;
  /**
   * Whether the body of a response with this status is read. A crawl reads
   * those its callbacks get (2xx and `handleStatuses`) and discards others
   * unread; a middleware that needs another body (a ban page's 403) widens it
   * in its request hook.
   */
  readBody: (status: number) => boolean;
  /** When the request left for the network (ms since the epoch); 0 until then, and if it never does. */
  sentAt: number;
}

/**
 * One step of the request path, as a plain object. Every hook is optional
 * and may be async. Request hooks run in chain order, from the scheduler
 * towards the network; response and error hooks in reverse, from the network
 * back, and only for the middlewares whose request hook passed the request on.
 *
 * @example
 * ```ts
 * const auth: Middleware = {
 *   name: 'auth',
 *   request(req) {
 *     if (new URL(req.url).host === 'api.example.com') req.headers.authorization = `Bearer ${process.env.TOKEN}`;
 *     return req;
 *   },
 * };
 * ```
 */
export interface Middleware {
  /** Names it in `crawl middlewares`, in placement, and as the reason of what it skips or fails. */
  readonly name: string;
  /** Place it just before this middleware (a built-in's name, or an earlier one of the spider's). */
  readonly before?: string;
  /** Place it just after this middleware. Default: after `headers`, before `retry` (see the README). */
  readonly after?: string;
  /**
   * Returns the request to send on (this one, changed or not, or another),
   * a {@link Response} to answer it without fetching (the response hooks
   * before this middleware still run), or null to skip it: recorded as
   * `skipped`, with this middleware's name as the reason.
   */
  request?(req: Request, ctx: MiddlewareContext): Awaitable<Request | Response | null>;
  /**
   * Returns the response to pass back (this one or another), or a Request:
   * the same request (method, URL, body) is retried, counted and delayed as
   * any retry (see `retryRequest` for a reason and a delay of its own);
   * another is scheduled instead, as a redirect is. Throwing fails the
   * request with this middleware's name as the reason.
   */
  response?(res: Response, req: Request, ctx: MiddlewareContext): Awaitable<Response | Request>;
  /**
   * Sees a failure: of the fetch, or thrown by a hook closer to the network.
   * Returns a Response or a Request to recover as `response` would, or
   * nothing to let the error pass on.
   */
  error?(err: Error, req: Request, ctx: MiddlewareContext): Awaitable<Response | Request | void>;
}

/**
 * A middleware of crawlkit's own. Besides what a spider's may return, its
 * hooks may end the exchange with a result of their own (`skip('offsite')`,
 * `disallow()`, `requeue()`), and they see the exchange's inner side
 * (`onEnd`, the Set-Cookie lines).
 */
export interface BuiltinMiddleware {
  readonly name: string;
  /** One line for `crawl middlewares`: what it does, and the settings it reads. */
  readonly about: string;
  readonly purposes: readonly Purpose[];
  /** Why it is off in this run (no purpose then): it keeps its place, for placement and for `crawl middlewares`. */
  readonly off?: string;
  request?(req: Request, ctx: Exchange): Awaitable<Request | Response | null | End>;
  response?(res: Response, req: Request, ctx: Exchange): Awaitable<Response | Request | End>;
  error?(err: Error, req: Request, ctx: Exchange): Awaitable<Response | Request | End | void>;
}

/** A middleware of the chain: a spider's or crawlkit's. */
export type AnyMiddleware = Middleware | BuiltinMiddleware;

/** Every purpose: for the built-ins that take part in every exchange. */
export const ALL_PURPOSES: readonly Purpose[] = ['crawl', 'robots', 'parse', 'shell'];

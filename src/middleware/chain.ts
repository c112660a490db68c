import type { CookieJar } from 'tough-cookie';
import { FetchError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProxyEndpoint } from '../proxy/list.js';
import { Request } from '../request.js';
import { Response } from '../response.js';
import type { Settings } from '../settings.js';
import { End, rescheduled, retryOf, type ExchangeResult } from './outcomes.js';
import type { AnyMiddleware, MiddlewareContext, Purpose } from './types.js';

/**
 * The request path: a list of middlewares and, at its end, the fetch. Every
 * request goes through it: a crawl's, robots.txt's, `crawl parse`'s and
 * `crawl shell`'s. Request hooks run in order; the response (or error)
 * comes back through the response (or error) hooks of the middlewares it
 * passed, in reverse, as in Scrapy's downloader middlewares and undici's
 * interceptors (an onion: a middleware that passed the request on always
 * hears how it went, unless one closer to the network ended the exchange).
 *
 * Hooks that answer at once cost no promise: the runner awaits a hook's
 * result only when it is one, so a crawl with only the built-ins (most of
 * whose hooks are synchronous) pays a few function calls per hook, not a
 * promise chain (the SQLite frontier is synchronous for the same reason).
 */

/** The fetch at the end of the chain: undici, with the address guard, timeouts, decompression and the body cap inside it. */
export type Fetch = (req: Request, ctx: Exchange) => Promise<Response>;

/** What an exchange starts from. */
export interface ExchangeInit {
  purpose: Purpose;
  settings: Settings;
  log: Logger;
  /** The request to send through the chain. */
  request: Request;
  /** Makes the request as the exchange began, when a hook asks for it (`ctx.request`); default: `request`. */
  original?: () => Request;
  attempt?: number;
  depth?: number;
  redirects?: number;
  /** Default: every body is read. */
  readBody?: (status: number) => boolean;
}

const everyBody = () => true;

/**
 * The session an exchange is bound to: its cookies, and what else a site
 * sees of one visitor (its proxy, its User-Agent). Bound by the sessions
 * middleware; the proxy and the browser read it.
 */
export interface SessionRef {
  /** Stable for the session's life, and across a resume. */
  readonly id: string;
  /** Its cookies; null when `cookies` is false. */
  readonly jar: CookieJar | null;
  /** Its User-Agent, when `userAgents` gives a list to rotate. */
  readonly userAgent?: string;
}

/** The context of one exchange, and what crawlkit's built-ins keep on it. */
export class Exchange implements MiddlewareContext {
  readonly purpose: Purpose;
  readonly settings: Settings;
  readonly log: Logger;
  readonly attempt: number;
  readonly depth: number;
  readonly redirects: number;
  readBody: (status: number) => boolean;
  sentAt = 0;
  /** The response's Set-Cookie lines as the fetch got them (its headers join them with ", ", which an `Expires` date makes ambiguous). */
  setCookie: string[] | undefined;
  /** The session this exchange is bound to (set by the sessions middleware); none before it, or for robots.txt. */
  session: SessionRef | undefined;
  /** The proxy the fetch goes through (set by the `proxies` middleware); none without proxies: a direct connection. */
  proxy: ProxyEndpoint | undefined;
  /**
   * For a fetch that no retry sends again (robots.txt, `crawl parse`, `crawl
   * shell`): after a failure that was the proxy's, the proxy to try next at
   * once, or undefined to give up. Set by the `proxies` middleware.
   */
  proxyFailover: ((err: unknown) => ProxyEndpoint | undefined) | undefined;
  /** The request the first hook gets. */
  readonly first: Request;
  #original: (() => Request) | undefined;
  #request: Request | undefined;
  #ends: (() => void)[] | undefined;

  constructor(init: ExchangeInit) {
    this.purpose = init.purpose;
    this.settings = init.settings;
    this.log = init.log;
    this.first = init.request;
    this.#original = init.original;
    this.attempt = init.attempt ?? 1;
    this.depth = init.depth ?? 0;
    this.redirects = init.redirects ?? 0;
    this.readBody = init.readBody ?? everyBody;
  }

  get request(): Request {
    // Made on demand: only a redirect or a re-route reads it, and a hook may have changed `first` in place.
    return (this.#request ??= this.#original ? this.#original() : this.first);
  }

  /** Runs `fn` once the exchange has ended, however it ended (a politeness slot is released so). */
  onEnd(fn: () => void): void {
    (this.#ends ??= []).push(fn);
  }

  /** Runs what `onEnd` was given. */
  end(): void {
    if (this.#ends) for (const fn of this.#ends.splice(0)) fn();
  }
}

/** A chain, ready to run exchanges. */
export interface Chain {
  /** Every middleware, in order (each purpose runs those that take part in it). */
  readonly middlewares: readonly AnyMiddleware[];
  run(ex: Exchange): Promise<ExchangeResult>;
}

const takesPart = (m: AnyMiddleware, purpose: Purpose): boolean => !('purposes' in m) || m.purposes.includes(purpose);

/** Builds the chain of `middlewares` in this order, ending with `fetch`. */
export function createChain(middlewares: readonly AnyMiddleware[], fetch: Fetch): Chain {
  const lists = new Map<Purpose, AnyMiddleware[]>();
  const listOf = (purpose: Purpose): AnyMiddleware[] => {
    let list = lists.get(purpose);
    if (!list) lists.set(purpose, (list = middlewares.filter((m) => takesPart(m, purpose))));
    return list;
  };
  return { middlewares, run: (ex) => pass(listOf(ex.purpose), fetch, ex) };
}

/** No error: the response phase. */
const OK = Symbol('ok');

const isPromise = (value: unknown): value is Promise<unknown> =>
  value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';

/** The reason a middleware's own error (not a fetch failure) is recorded under: a spider's middleware by its name, crawlkit's as `internal`. */
const culprit = (m: AnyMiddleware): string => ('about' in m ? 'internal' : m.name);

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

const statusOf = (err: unknown): number | null => (err instanceof FetchError ? (err.status ?? null) : null);

function badReturn(m: AnyMiddleware, hook: string, value: unknown, expected: string): TypeError {
  const got = value === undefined ? 'nothing' : value === null ? 'null' : typeof value === 'object' ? `a ${value.constructor?.name ?? 'object'}` : `a ${typeof value}`;
  return new TypeError(`middleware '${m.name}': ${hook}() returned ${got}; expected ${expected}`);
}

function failure(err: unknown, by: string): ExchangeResult {
  const error = asError(err);
  if (err instanceof FetchError) return { kind: 'failed', reason: err.reason, status: err.status ?? null, detail: err.message, error };
  return { kind: 'failed', reason: by, status: null, detail: error.stack ?? error.message, error };
}

/** One exchange through `list`: the request phase, the fetch, then the response (or error) phase back. */
async function pass(list: readonly AnyMiddleware[], fetch: Fetch, ex: Exchange): Promise<ExchangeResult> {
  try {
    let req = ex.first;
    let res: Response | undefined;
    let err: unknown = OK;
    let by = 'fetch';
    let i = 0;
    for (; i < list.length; i++) {
      const m = list[i]!;
      if (m.request === undefined) continue;
      let r: unknown;
      try {
        r = m.request(req, ex);
        if (isPromise(r)) r = await r;
      } catch (e) {
        [err, by] = [e, culprit(m)];
        break;
      }
      if (r instanceof Request) {
        if (retryOf(r)) return rescheduled(r, m.name, ex, null);
        req = r;
      } else if (r === null) return { kind: 'skipped', reason: m.name };
      else if (r instanceof Response) {
        res = r; // answered here: no fetch, and back through the middlewares before this one
        break;
      } else if (r instanceof End) return r.result;
      else {
        [err, by] = [badReturn(m, 'request', r, 'a Request, a Response or null'), culprit(m)];
        break;
      }
    }
    if (i === list.length) {
      try {
        res = await fetch(req, ex);
      } catch (e) {
        err = e;
      }
    }
    for (let j = i - 1; j >= 0; j--) {
      const m = list[j]!;
      const failing = err !== OK;
      if ((failing ? m.error : m.response) === undefined) continue;
      let r: unknown;
      try {
        r = failing ? m.error!(asError(err), req, ex) : m.response!(res!, req, ex);
        if (isPromise(r)) r = await r;
      } catch (e) {
        [err, by] = [e, culprit(m)];
        continue;
      }
      if (r instanceof Response) [res, err] = [r, OK];
      else if (r instanceof Request) return rescheduled(r, m.name, ex, failing ? statusOf(err) : res!.status, failing ? asError(err) : undefined);
      else if (r instanceof End) return r.result;
      else if (!(failing && r === undefined)) [err, by] = [badReturn(m, failing ? 'error' : 'response', r, failing ? 'a Response, a Request or nothing' : 'a Response or a Request'), culprit(m)];
    }
    return err === OK ? { kind: 'response', res: res! } : failure(err, by);
  } finally {
    ex.end();
  }
}

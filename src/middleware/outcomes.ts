import { requestFingerprint, type Request } from '../request.js';
import { Response } from '../response.js';
import type { MiddlewareContext } from './types.js';

/**
 * How an exchange (a request through the chain) ends, and the helpers a
 * middleware ends one with. The scheduler turns each kind into the
 * frontier's outcome; `crawl parse`, `crawl shell` and robots.txt read them
 * their own way.
 */
export type ExchangeResult =
  /** A response came through: to the callback, or failed by its status (`http:404`). */
  | { kind: 'response'; res: Response }
  /** Fetch the same request again later: `delayMs` null for the retry policy's backoff. */
  | { kind: 'retry'; reason: string; status: number | null; delayMs: number | null; error?: Error }
  /** Back to the queue, the attempt uncounted: the crawl is stopping, or the timeout was the event loop's stall. */
  | { kind: 'requeue' }
  /** Fetch this request instead (a redirect's next hop, a re-route): a new request of the frontier. `status`: the response's that led there. */
  | { kind: 'follow'; req: Request; by: string; status: number | null }
  /** Not fetched: out of scope (`offsite`, `depth`) or dropped by a middleware (its name). */
  | { kind: 'skipped'; reason: string }
  /** robots.txt disallows it. */
  | { kind: 'disallowed' }
  | { kind: 'failed'; reason: string; status: number | null; detail?: string; error: Error };

/** A hook's way to end an exchange at once, with a result of its own (crawlkit's built-ins use it). */
export class End {
  constructor(readonly result: ExchangeResult) {}
}

/** Skip the request: recorded as skipped with this reason. */
export const skip = (reason: string): End => new End({ kind: 'skipped', reason });
/** robots.txt disallows the request. */
export const disallow = (): End => new End({ kind: 'disallowed' });
/** Put the request back untouched. */
export const requeue = (): End => new End({ kind: 'requeue' });

/** What `retryRequest` may say about a retry. */
export interface RetryOptions {
  /** Why, for the log and, once the attempts are used up, as the failure's reason. Default: the middleware's name. */
  reason?: string;
  /** Wait this long first. Default: the `retry` settings' backoff (exponential, with jitter). */
  delayMs?: number;
  /** The status to record with it. Default: the response's, if any. */
  status?: number;
}

const retries = new WeakMap<Request, RetryOptions>();

/**
 * The request, marked to be fetched again later: returned from a hook, it
 * ends the exchange as a retry. A retry counts as an attempt; once
 * `retry.maxAttempts` are used, the request fails with the reason.
 *
 * @example
 * ```ts
 * response(res, req) {
 *   return res.text.includes('captcha') ? retryRequest(req, { reason: 'banned', delayMs: 30_000 }) : res;
 * }
 * ```
 */
export function retryRequest(req: Request, options: RetryOptions = {}): Request {
  retries.set(req, options);
  return req;
}

/** The retry a hook asked for with {@link retryRequest}, if it did. */
export const retryOf = (req: Request): RetryOptions | undefined => retries.get(req);

/**
 * A response to a request, made by a middleware rather than fetched (a
 * cache, a stub in a test): the URL and the request are the request's.
 *
 * @example `request: (req) => (req.url.endsWith('.pdf') ? respond(req, { status: 204 }) : req)`
 */
export function respond(req: Request, init: { status?: number; headers?: Record<string, string>; body?: Buffer | string; url?: string } = {}): Response {
  return new Response({ url: init.url ?? req.url, status: init.status ?? 200, headers: init.headers, body: init.body, request: req });
}

/** A middleware's answer that ends the exchange as a retry or a new request (a Request returned from a response or error hook). */
export function rescheduled(next: Request, by: string, ctx: MiddlewareContext, status: number | null, error?: Error): ExchangeResult {
  const retry = retries.get(next);
  if (retry) return { kind: 'retry', reason: retry.reason ?? by, status: retry.status ?? status, delayMs: retry.delayMs ?? null, ...(error ? { error } : {}) };
  // The same request, by the frontier's identity (method, canonical URL, body): a new one would be dropped as its duplicate.
  if (next === ctx.request || requestFingerprint(next).equals(requestFingerprint(ctx.request))) return { kind: 'retry', reason: by, status, delayMs: null, ...(error ? { error } : {}) };
  return { kind: 'follow', req: next, by, status };
}

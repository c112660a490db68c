import { FetchError } from '../errors.js';
import type { Logger } from '../log.js';
import { proxyEndpoints, type ProxyEndpoint } from '../proxy/list.js';
import { createProxyPool, type BenchReason, type ProxyPool } from '../proxy/pool.js';
import { Reason } from '../reasons.js';
import type { Request } from '../request.js';
import type { Settings } from '../settings.js';
import { bump, type Stats } from '../stats.js';
import type { Exchange } from './chain.js';
import { ALL_PURPOSES, type BuiltinMiddleware } from './types.js';

/** The failures that bench the proxy they went through: it is the proxy that failed, not the site. */
const BENCHING = new Set<string>([Reason.proxyConnect, Reason.proxyAuth, Reason.proxyClosed]);

/** Whether a fetch failed for its proxy (`proxy:*`): the proxy's failure, which says nothing of the site's health. */
export const isProxyFailure = (err: FetchError): boolean => err.reason.startsWith('proxy:');

/**
 * The pool of a run's proxies (`proxy`, `proxies`), or null without any.
 * Each benching is logged (by the proxy's label: no password) and counted
 * in `stats.proxyBenchings`.
 */
export function runProxyPool(settings: Settings, log: Logger, stats?: Stats): ProxyPool | null {
  const proxies = proxyEndpoints(settings);
  if (proxies.length === 0) return null;
  return createProxyPool(proxies, {
    ...settings,
    onBench(proxy, ms, why: BenchReason) {
      if (stats) bump((stats.proxyBenchings ??= {}), proxy.id);
      log.warn(`proxy ${proxy.label} benched for ${Math.round(ms / 100) / 10} s (${why})`);
    },
  });
}

/** The proxies as `crawl middlewares` shows them: by label, a few at most. */
const shown = (pool: ProxyPool) => (pool.proxies.length <= 3 ? pool.proxies.map((p) => p.label).join(', ') : `${pool.proxies.length} proxies`);

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * Proxies: each request goes out through a proxy of the pool, by its
 * rotation (`proxyRotation`), the choice in `ctx.proxy` for the fetch. A
 * failure that is the proxy's (`proxy:connect|auth|closed`) benches it, and
 * the retry middleware sends the request again, through another; a fetch no
 * retry sends again (robots.txt, `crawl parse`, `crawl shell`) is sent through
 * the next proxy at once (`ctx.proxyFailover`), up to `retry.maxAttempts`
 * proxies, so that one bad proxy does not make a robots.txt unreadable and hold
 * its site for 30 s. When every
 * proxy is benched, a request waits for the first to come back, unless that
 * is further off than `timeouts.requestMs`: then it fails as `proxy:none`,
 * to be retried later (a proxy list down for 16 minutes does not hold the
 * crawl's requests in memory meanwhile, nor fail them all at once).
 *
 * Closer to the network than the cookies and the sessions, whose session it
 * keeps a proxy for, and before politeness: a request waiting for a proxy
 * holds no host's slot.
 */
export function proxiesMiddleware(pool: ProxyPool | null, stats?: Stats): BuiltinMiddleware {
  const about = `every request through a proxy${pool ? ` (${shown(pool)}), rotated per ${pool.rotation}` : ''}; failing ones benched (proxy, proxies, proxyRotation, proxyBenchMs, proxyBanLimit)`;
  if (!pool) return { name: 'proxies', about, purposes: [] };
  const use = (ctx: Exchange, proxy: ProxyEndpoint) => {
    ctx.proxy = proxy;
    if (stats) bump((stats.proxyRequests ??= {}), proxy.id);
  };
  const failover = (ctx: Exchange) => {
    let tries = 1;
    return (err: unknown): ProxyEndpoint | undefined => {
      if (!(err instanceof FetchError) || !BENCHING.has(err.reason) || tries++ >= ctx.settings.retry.maxAttempts) return undefined;
      pool.bench(ctx.proxy!.id, err.reason as BenchReason);
      const next = pool.pick(ctx.session?.id).proxy;
      if (next) use(ctx, next);
      return next;
    };
  };
  const through = (req: Request, ctx: Exchange): Request | Promise<Request> => {
    const pick = pool.pick(ctx.session?.id);
    if (pick.proxy) {
      use(ctx, pick.proxy);
      // A crawl's request is retried through the frontier, with backoff; a one-off fetch tries the next proxy at once, as many times.
      if (ctx.purpose !== 'crawl') ctx.proxyFailover = failover(ctx);
      return req;
    }
    if (pick.waitMs > ctx.settings.timeouts.requestMs)
      throw new FetchError(Reason.proxyNone, `every proxy is benched for ${Math.ceil(pick.waitMs / 1000)} s more (proxyBenchMs)`, true);
    return sleep(pick.waitMs).then(() => through(req, ctx));
  };
  return {
    name: 'proxies',
    about,
    purposes: ALL_PURPOSES,
    request: through,
    response(res, req, ctx) {
      if (ctx.proxy) pool.noteSuccess(ctx.proxy.id);
      return res;
    },
    error(err, req, ctx) {
      if (ctx.proxy && err instanceof FetchError && BENCHING.has(err.reason)) pool.bench(ctx.proxy.id, err.reason as BenchReason);
    },
  };
}

import type { Limiter } from '../fetch/limiter.js';
import type { Robots } from '../fetch/robots.js';
import type { Throttle } from '../fetch/throttle.js';
import type { LagMonitor } from '../lag.js';
import { silentLogger } from '../log.js';
import type { ProxyPool } from '../proxy/pool.js';
import type { Settings } from '../settings.js';
import type { Stats } from '../stats.js';
import type { ResponseStore } from '../storage/responses.js';
import { cacheMiddleware } from './cache.js';
import type { Exchange } from './chain.js';
import { cookiesMiddleware } from './cookies.js';
import { headersMiddleware } from './headers.js';
import { politenessMiddleware } from './politeness.js';
import { proxiesMiddleware, runProxyPool } from './proxies.js';
import { redirectMiddleware } from './redirect.js';
import { retryMiddleware } from './retry.js';
import { robotsMiddleware } from './robots.js';
import { scopeMiddleware } from './scope.js';
import { sessionsMiddleware } from './sessions.js';
import { banJudge, type BanPredicate } from '../session/bans.js';
import { createSessionPool, type SessionPool } from '../session/pool.js';
import { statsMiddleware } from './stats.js';
import type { BuiltinMiddleware } from './types.js';

/**
 * crawlkit's middlewares, from the scheduler to the network. The order
 * follows Scrapy's DOWNLOADER_MIDDLEWARES_BASE where the two share a policy
 * (offsite 50, robots.txt 100, default headers 400 and User-Agent 500, retry
 * 550, redirect 600, cookies 700, HTTP proxy 750, stats 850, HTTP cache 900); the sessions
 * go just before the cookies, whose jar they choose. Politeness is
 * Scrapy's downloader slots, which come after every middleware there, and
 * here come just before the stats and the cache, so that a request a
 * middleware skips or answers never waits for one. A spider's middlewares go
 * after `headers` unless they say otherwise (see order.ts).
 */
export const BUILTIN_NAMES = ['scope', 'robots', 'headers', 'retry', 'redirect', 'sessions', 'cookies', 'proxies', 'politeness', 'stats', 'cache'] as const;

/** What the built-ins of a crawl work with; a part left out turns its middleware off (a `crawl parse` has no limiter). */
export interface BuiltinParts {
  /** The run's settings, its scope resolved. */
  settings: Settings;
  /** With `obeyRobots`. */
  robots?: Robots | null;
  lag?: LagMonitor;
  stats?: Stats;
  /** The exchanges under way, for the watchdog (with `stats`). */
  inFlight?: Set<Exchange>;
  limiter?: Limiter;
  throttle?: Throttle;
  /** The run's session pool; without one (`crawl parse`, `crawl shell`), a pool of its own in memory. */
  sessions?: SessionPool;
  /** The spider's `isBanned`, if it has one. */
  isBanned?: BanPredicate;
  /** `--cache` (store) or `--replay`. */
  cache?: { responses: ResponseStore; mode: 'store' | 'replay' };
  /** The run's proxies (null: none); by default, those of `settings`, unlogged. */
  proxies?: ProxyPool | null;
}

/** A built-in that is off in this run, in its place. */
const off = (m: BuiltinMiddleware, why: string): BuiltinMiddleware => ({ name: m.name, about: m.about, purposes: [], off: why });

/** The built-ins, in order, each on or off by what the run has. */
export function builtinMiddlewares(parts: BuiltinParts): BuiltinMiddleware[] {
  const { settings, robots, lag, stats, inFlight, limiter, throttle, cache } = parts;
  const pool = parts.sessions ?? createSessionPool({ size: settings.sessions.size, cookies: settings.cookies, userAgents: settings.userAgents });
  const politeness = politenessMiddleware(limiter!, throttle!, lag);
  const counting = statsMiddleware(stats!, inFlight ?? new Set());
  const caching = cacheMiddleware(cache?.responses as ResponseStore, cache?.mode ?? 'store', settings.retry);
  const cookies = cookiesMiddleware();
  const obeying = robotsMiddleware(robots as Robots);
  const proxyPool = parts.proxies === undefined ? runProxyPool(settings, silentLogger) : parts.proxies;
  const proxying = proxiesMiddleware(proxyPool, stats);
  return [
    scopeMiddleware(),
    robots ? obeying : off(obeying, settings.obeyRobots ? 'a replay reads no robots.txt' : 'obeyRobots is false'),
    headersMiddleware(settings),
    retryMiddleware(settings.retry, lag, stats),
    redirectMiddleware(),
    sessionsMiddleware(pool, settings.sessions, banJudge(settings.sessions, settings.handleStatuses, parts.isBanned)),
    settings.cookies ? cookies : off(cookies, 'cookies is false'),
    cache?.mode === 'replay' ? off(proxying, 'a replay fetches nothing') : proxyPool ? proxying : off(proxying, 'no proxy or proxies set'),
    limiter && throttle ? politeness : off(politeness, 'crawls only'),
    stats ? counting : off(counting, 'crawls only'),
    cache ? caching : off(caching, 'without --cache or --replay'),
  ];
}

import type { Settings } from '../settings.js';
import type { ProxyEndpoint } from './list.js';

/**
 * The proxies of a crawl and which of them may be used now: the rotation
 * (round-robin per request, or a proxy kept per session) and the bench, where
 * a failing proxy sits out. A proxy that refused a connection, answered 407
 * or dropped one is benched for `proxyBenchMs`, doubled for each failure in a
 * row up to 16 times (a proxy down for good costs one try per 16 minutes at
 * the 60 s default, not one per request); a response through it starts its
 * count over. Requests that fail together through one proxy (16 in flight
 * when it went down) bench it once, not 16 times.
 */

/** A benched proxy's longest stay, as a multiple of `proxyBenchMs`: 2^4. */
const MAX_BACKOFF = 16;
/** Bans count against a proxy for this long: `proxyBanLimit` bans in 10 minutes is a pattern, 3 in a day is noise. */
export const BAN_WINDOW_MS = 10 * 60_000;

/** Why a proxy was benched: a fetch's failure through it, or the bans the sessions middleware reported. */
export type BenchReason = 'proxy:connect' | 'proxy:auth' | 'proxy:closed' | 'bans';

/** What a pool is made with. */
export interface ProxyPoolOptions extends Pick<Settings, 'proxyRotation' | 'proxyBenchMs' | 'proxyBanLimit'> {
  /** Told of each benching (the log, the stats). */
  onBench?: (proxy: ProxyEndpoint, ms: number, why: BenchReason) => void;
  /** The clock; tests pass their own. */
  now?: () => number;
}

/** The proxy to use now, or how long until the first benched one is back. */
export type ProxyPick = { proxy: ProxyEndpoint; waitMs?: undefined } | { proxy?: undefined; waitMs: number };

/** The proxies of a crawl (see the module's comment). */
export interface ProxyPool {
  readonly proxies: readonly ProxyEndpoint[];
  readonly rotation: Settings['proxyRotation'];
  /** The proxy for a request of session `sessionId` (undefined: the one session there is without the sessions middleware). */
  pick(sessionId: string | undefined): ProxyPick;
  /** Benches a proxy that failed; the ms it is benched for, or 0 when it was benched already (the same outage). */
  bench(id: string, why: BenchReason): number;
  /** A response came through the proxy: its failures in a row start over. */
  noteSuccess(id: string): void;
  /**
   * A site banned a session using this proxy (the sessions middleware's
   * `onBan`): `proxyBanLimit` bans within {@link BAN_WINDOW_MS} bench it.
   * Returns whether this ban benched it. Unknown ids are ignored.
   */
  noteBan(id: string): boolean;
  /** Whether a proxy is benched now. */
  isBenched(id: string): boolean;
}

interface State {
  proxy: ProxyEndpoint;
  benchedUntil: number;
  /** Failures in a row. */
  strikes: number;
  /** When its recent bans were reported, oldest first. */
  bans: number[];
}

/** A pool of `proxies` (at least one). */
export function createProxyPool(proxies: readonly ProxyEndpoint[], options: ProxyPoolOptions): ProxyPool {
  if (proxies.length === 0) throw new RangeError('a proxy pool needs a proxy');
  const now = options.now ?? Date.now;
  const states = proxies.map((proxy): State => ({ proxy, benchedUntil: 0, strikes: 0, bans: [] }));
  const byId = new Map(states.map((s) => [s.proxy.id, s]));
  // Sessions are as many as `sessions.size`: a small map.
  const sticky = new Map<string, State>();
  let cursor = 0;

  /** The next proxy not benched, round-robin from the cursor, or null. */
  const next = (t: number): State | null => {
    for (let i = 0; i < states.length; i++) {
      const s = states[(cursor + i) % states.length]!;
      if (s.benchedUntil <= t) {
        cursor = (cursor + i + 1) % states.length;
        return s;
      }
    }
    return null;
  };

  const bench = (s: State, why: BenchReason): number => {
    const t = now();
    if (s.benchedUntil > t) return 0;
    s.strikes++;
    const ms = options.proxyBenchMs * Math.min(MAX_BACKOFF, 2 ** (s.strikes - 1));
    s.benchedUntil = t + ms;
    options.onBench?.(s.proxy, ms, why);
    return ms;
  };

  return {
    proxies,
    rotation: options.proxyRotation,
    pick(sessionId) {
      const t = now();
      const key = sessionId ?? '';
      const kept = options.proxyRotation === 'session' ? sticky.get(key) : undefined;
      if (kept && kept.benchedUntil <= t) return { proxy: kept.proxy };
      const s = next(t);
      if (!s) return { waitMs: Math.max(1, Math.min(...states.map((x) => x.benchedUntil)) - t) };
      if (options.proxyRotation === 'session') sticky.set(key, s);
      return { proxy: s.proxy };
    },
    bench(id, why) {
      const s = byId.get(id);
      return s ? bench(s, why) : 0;
    },
    noteSuccess(id) {
      const s = byId.get(id);
      if (s) s.strikes = 0;
    },
    noteBan(id) {
      const s = byId.get(id);
      if (!s || options.proxyBanLimit === 0) return false;
      const t = now();
      s.bans.push(t);
      while (s.bans[0]! <= t - BAN_WINDOW_MS) s.bans.shift();
      if (s.bans.length < options.proxyBanLimit) return false;
      s.bans = [];
      return bench(s, 'bans') > 0;
    },
    isBenched(id) {
      const s = byId.get(id);
      return s !== undefined && s.benchedUntil > now();
    },
  };
}

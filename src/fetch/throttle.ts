import type { ThrottleSettings } from '../settings.js';

/** Adaptive per-host delays, fed by every exchange with the host. */
export interface Throttle {
  /** An exchange finished: `status` null for a network error or timeout. */
  record(host: string, status: number | null, latencyMs: number): void;
  /** Hosts with a delay now, largest first (at most `limit`). */
  delays(limit: number): Record<string, number>;
  /** How many times a host's delay was raised. */
  readonly increases: number;
}

interface HostState {
  delay: number;
  /** Smoothed latency, and the lowest it has been: "climbing" is relative to the host's own normal. */
  ewma: number;
  floor: number;
}

/** Below this a delay is not worth enforcing: the host is healthy. */
const NEGLIGIBLE_MS = 10;
/** The first step when a host starts refusing. */
const FIRST_STEP_MS = 250;

/**
 * Like Scrapy's AutoThrottle, but it also backs off on fast error answers
 * (429, 503, timeouts), which AutoThrottle ignores: a host that answers 503
 * in 2 ms is asking for fewer requests, not more. Delays double on each
 * refusal or latency spike, and decay by a tenth per healthy response, so
 * recovery is gradual. `apply` receives each change.
 */
export function createThrottle(settings: ThrottleSettings, perHostConcurrency: number, apply: (host: string, delayMs: number) => void): Throttle {
  const hosts = new Map<string, HostState>();
  let increases = 0;

  const set = (host: string, state: HostState, delay: number) => {
    const next = delay < NEGLIGIBLE_MS ? 0 : Math.min(settings.maxDelayMs, Math.round(delay));
    if (next === state.delay) return;
    if (next > state.delay) increases++;
    state.delay = next;
    apply(host, next);
  };

  return {
    record(host, status, latencyMs) {
      if (!settings.enabled) return;
      let state = hosts.get(host);
      if (!state) hosts.set(host, (state = { delay: 0, ewma: latencyMs, floor: latencyMs }));
      state.ewma = 0.8 * state.ewma + 0.2 * latencyMs;
      state.floor = Math.min(state.floor, state.ewma);
      const refused = status === null || status === 429 || status === 503;
      const slow = state.ewma > settings.latencyFactor * Math.max(state.floor, 50);
      if (refused || slow) {
        set(host, state, Math.max(state.delay * 2, FIRST_STEP_MS, slow ? state.ewma / perHostConcurrency : 0));
      } else if (state.delay > 0) {
        set(host, state, state.delay * 0.9);
      }
      // A healthy host with no delay needs no state; this keeps a million-host crawl small.
      if (state.delay === 0 && !slow) hosts.delete(host);
    },
    delays(limit) {
      return Object.fromEntries(
        [...hosts]
          .filter(([, s]) => s.delay > 0)
          .sort(([, a], [, b]) => b.delay - a.delay)
          .slice(0, limit)
          .map(([h, s]) => [h, s.delay]),
      );
    },
    get increases() {
      return increases;
    },
  };
}

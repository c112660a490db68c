/**
 * Every Redis key a cluster uses for a spider, named in this one place. All
 * carry the hash tag `{SPIDER}` (the first `{...}` of a key is what Redis
 * Cluster hashes), so a Redis Cluster keeps a spider's keys in one slot, as
 * the multi-key scripts need, and a spider's keys are told apart from any
 * other's on a shared server.
 */
import { ConfigError } from '../errors.js';

/** Names of a spider's Redis keys. */
export interface ClusterKeys {
  /** Every frontier key, in the order the frontier's scripts take them as KEYS (see `lua.ts`). */
  frontier: string[];
  /** Stream of stored items: fields `run`, `request`, `url`, `data` (item JSON), `time` (ms, server clock). */
  items: string;
  /** Stream of items the spider's schema rejected: fields `run`, `request`, `url`, `data`, `errors` (JSON), `time`. */
  invalid: string;
  /** Hash of request id → JSON `{state, url, status, reason}` of every failed or disallowed request. */
  failures: string;
  /** The runs: a counter of run ids, the run being crawled, and each run's hash and its workers' stats. */
  runs: {
    seq: string;
    current: string;
    /** Prefix of the runs' hashes (the scripts append the id). */
    runPrefix: string;
    run(id: number): string;
    /** Hash of worker id → that worker's stats (JSON). */
    workers(id: number): string;
    /** Hash of the run's sessions and their cookies (see sessions.ts). */
    sessions(id: number): string;
    /** Hash of the run's `render: 'auto'` patterns (see render-patterns.ts). */
    renderPatterns(id: number): string;
  };
  /**
   * The id of the bottleneck Group of per-host limiters: bottleneck names its
   * keys `b_ID-HOST_...` (and its pub/sub channels `b_ID-HOST`).
   */
  limiterGroup: string;
  /** A SCAN pattern matching every per-host limiter key (the spider's name taken literally). */
  limiterKeys: string;
  /** A shared robots.txt outcome of an origin (JSON, with a TTL). */
  robots(origin: string): string;
  /** The fetch lock of an origin's robots.txt (SET NX PX). */
  robotsLock(origin: string): string;
}

/** The keys of `spider`, which must be a non-empty name without braces (they would move the hash tag). */
export function clusterKeys(spider: string): ClusterKeys {
  if (!spider || /[{}]/.test(spider)) throw new ConfigError(`spider name '${spider}' cannot name Redis keys: it must be non-empty, without braces`);
  const base = `crawlkit:{${spider}}:`;
  const f = (name: string) => `${base}frontier:${name}`;
  const limiterGroup = `${base}host`;
  return {
    // Order matters: it is the KEYS order the scripts' preamble unpacks.
    frontier: ['ready', 'delayed', 'leases', 'owner', 'data', 'host', 'prio', 'att', 'fps', 'seq', 'counts', 'failures'].map(f),
    items: `${base}items`,
    invalid: `${base}invalid`,
    failures: f('failures'),
    runs: {
      seq: `${base}runs:seq`,
      current: `${base}runs:current`,
      runPrefix: `${base}run:`,
      run: (id) => `${base}run:${id}`,
      workers: (id) => `${base}run:${id}:workers`,
      sessions: (id) => `${base}run:${id}:sessions`,
      renderPatterns: (id) => `${base}run:${id}:render`,
    },
    limiterGroup,
    // SCAN's pattern is a glob: the braces and any * ? [ ] \ of the name are escaped.
    limiterKeys: `b_${limiterGroup.replace(/[*?[\]\\{}]/g, '\\$&')}-*`,
    robots: (origin) => `${base}robots:${origin}`,
    robotsLock: (origin) => `${base}robots-lock:${origin}`,
  };
}

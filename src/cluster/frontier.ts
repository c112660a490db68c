/**
 * The frontier in Redis, shared by every process crawling one spider: the
 * same spider started on N machines with one Redis crawls one site together.
 *
 * Every method is one Lua script (one round trip, atomic: see `lua.ts`,
 * `frontier-scripts.ts`, `settle.ts`), so two workers can never take the
 * same request. A taken request is *leased* to its worker (`leases.ts`), not
 * handed over: a worker that dies or stalls past its lease loses it, the
 * request goes back to the queue, and the late worker's results are
 * discarded, so each request's items are stored exactly once. Leases and ready times use
 * the Redis server's clock, so machines with skewed clocks agree.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import type { Frontier, FrontierCounts, NewRequest, Outcome } from '../frontier/frontier.js';
import { frontierScripts } from './frontier-scripts.js';
import { clusterKeys } from './keys.js';
import { holdLeases } from './leases.js';
import { scriptKeys, type Arg } from './lua.js';
import { poppedRequests, requestArgs } from './requests.js';
import { outcomeArgs, settleResult } from './settle.js';

/** Options of {@link createRedisFrontier}. */
export interface RedisFrontierOptions {
  /** The spider's name: its frontier's keys are `crawlkit:{SPIDER}:...`. */
  spider: string;
  /** Written with each stored item, so a run's items can be told apart. */
  runId: number;
  /** Names this process in leases (a host name, a pid); a random suffix keeps two instances apart. */
  workerId: string;
  /** How long a taken request stays this worker's without a heartbeat (ms). Default 30 000. */
  leaseMs?: number;
}

/** A Redis frontier: a {@link Frontier} plus the lease heartbeat to stop. */
export type RedisFrontier = Frontier & {
  /** Stops the lease heartbeat. Does not quit the Redis client, which the caller owns. */
  close(): Promise<void>;
};

/**
 * A frontier in Redis, shared by every worker given the same spider and
 * Redis. `redis` is an ioredis client the caller owns (and quits). Taken
 * requests are leased for `leaseMs`; a heartbeat renews this worker's leases
 * every `leaseMs / 3` until {@link RedisFrontier.close}.
 *
 * Ready times are the server's: `pop`'s `now` is ignored, and `nextReadyAt`
 * answers in this machine's clock.
 */
export function createRedisFrontier(redis: Redis | Cluster, options: RedisFrontierOptions): RedisFrontier {
  const leaseMs = options.leaseMs ?? 30_000;
  if (!Number.isInteger(leaseMs) || leaseMs < 3) throw new ConfigError(`lease time must be a whole number of ms, at least 3; got ${leaseMs}`);
  const keys = scriptKeys(clusterKeys(options.spider));
  const scripts = frontierScripts(redis);
  // Unique per instance: a worker restarted under the same id must not settle its predecessor's leases.
  const token = `${options.workerId}/${randomUUID()}`;
  const runId = String(options.runId);
  /** Requests this worker took and has not settled. */
  const leases = holdLeases(leaseMs, (ids) => scripts.crawlkitFrontierExtend(keys, [token, leaseMs, ...ids]));

  return {
    shared: true,
    async add(requests: NewRequest[]) {
      if (requests.length === 0) return 0;
      const args: Arg[] = [];
      for (const r of requests) requestArgs(r, args);
      return scripts.crawlkitFrontierAdd(keys, args);
    },

    async pop(limit: number, _now: number, busyHosts: readonly string[]) {
      if (limit <= 0) return [];
      const taken = poppedRequests(await scripts.crawlkitFrontierPop(keys, [token, leaseMs, limit, busyHosts.length, ...busyHosts]));
      for (const r of taken) leases.hold(r.id);
      return taken;
    },

    async settle(outcomes: Outcome[]) {
      if (outcomes.length === 0) return { items: 0, invalid: 0, queued: 0, skipped: {}, duplicates: 0, stale: 0 };
      const args: Arg[] = [token, runId];
      for (const o of outcomes) outcomeArgs(o, args);
      const reply = await scripts.crawlkitFrontierSettle(keys, args);
      // A page whose follow-ups are still being stored keeps its lease (and the heartbeat that renews it) until its 'done'.
      for (const o of outcomes) if (o.kind !== 'links') leases.release(o.id);
      return settleResult(reply);
    },

    async nextReadyAt() {
      const delta = await scripts.crawlkitFrontierNextReady(keys, []);
      return delta === null ? null : Date.now() + Number(delta);
    },

    async requeueInFlight() {
      return Number(await scripts.crawlkitFrontierRequeueExpired(keys, []));
    },

    async counts(): Promise<FrontierCounts> {
      const [queued, inFlight, done, failed, disallowed, skipped] = (await scripts.crawlkitFrontierCounts(keys, [])).map(Number) as number[];
      return { queued: queued!, inFlight: inFlight!, done: done!, failed: failed!, disallowed: disallowed!, skipped: skipped! };
    },

    async clear() {
      await clearRedisFrontier(redis, options.spider);
      leases.clear();
    },

    async close() {
      leases.close();
    },
  };
}

/** Empties a spider's frontier in Redis (its queue, leases, dedupe set and counts); the item streams, the runs' data, are kept. */
export async function clearRedisFrontier(redis: Redis | Cluster, spider: string): Promise<void> {
  // The frontier's keys are a fixed list, so no SCAN is needed (and none could see all of a Cluster);
  // UNLINK frees a large set off the server's main thread.
  await redis.unlink(...clusterKeys(spider).frontier);
}

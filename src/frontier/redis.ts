/**
 * The frontier in Redis, shared by every process crawling one spider: the
 * same spider started on N machines with one Redis crawls one site together.
 *
 * Every method is one Lua script (one round trip, atomic), so two workers can
 * never take the same request. A taken request is *leased* to its worker, not
 * handed over: a worker that dies or stalls past its lease loses it, the
 * request goes back to the queue, and the late worker's results are discarded,
 * so each request's items are stored exactly once. Leases and ready times use
 * the Redis server's clock, so machines with skewed clocks agree.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import { followUpRows } from '../followups.js';
import type { Frontier, FrontierCounts, NewRequest, Outcome, QueuedRequest, SettleResult } from './frontier.js';

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

/** Names of a spider's Redis keys. */
export interface RedisFrontierKeys {
  /** Every frontier key, in the order the scripts take them as KEYS. */
  frontier: string[];
  /** Stream of stored items: fields `run`, `request`, `url`, `data` (item JSON), `time` (ms, server clock). */
  items: string;
  /** Stream of items the spider's schema rejected: fields `run`, `request`, `url`, `data`, `errors` (JSON), `time`. */
  invalid: string;
  /** Hash of request id → JSON `{state, url, status, reason}` of every failed, disallowed or skipped-after-popping request. */
  failures: string;
}

/**
 * The Redis keys of a spider. All share the hash tag `{SPIDER}`, so a Redis
 * Cluster keeps them in one slot, as multi-key scripts need.
 */
export function redisFrontierKeys(spider: string): RedisFrontierKeys {
  if (!spider || /[{}]/.test(spider)) throw new ConfigError(`spider name '${spider}' cannot name Redis keys: it must be non-empty, without braces`);
  const base = `crawlkit:{${spider}}:`;
  const f = (name: string) => `${base}frontier:${name}`;
  // Order matters: it is the KEYS order the scripts' preamble unpacks.
  const frontier = ['ready', 'delayed', 'leases', 'owner', 'data', 'host', 'prio', 'att', 'fps', 'seq', 'counts', 'failures'].map(f);
  return { frontier, items: `${base}items`, invalid: `${base}invalid`, failures: f('failures') };
}

/** Keys every script gets: the frontier's, then the two item streams. */
const KEY_COUNT = 14;

/**
 * Shared head of every script. Ready requests sit in a sorted set scored by
 * -priority, with zero-padded ids as members so that equal priorities come
 * out by id (Redis orders equal scores by member). Delayed retries and leases
 * are sorted sets scored by a server-clock time in ms.
 */
/** Lua: `now`, the Redis server's clock in ms, which every worker shares whatever its own clock says. */
export const LUA_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const PRELUDE = `
local READY, DELAYED, LEASES, OWNER, DATA, HOST, PRIO, ATT, FPS, SEQ, COUNTS, FAILURES, ITEMS, INVALID = unpack(KEYS)
${LUA_NOW}
local function enqueue(id)
  redis.call('ZADD', READY, -tonumber(redis.call('HGET', PRIO, id)), string.format('%012d', id))
end
local function release(id)
  redis.call('ZREM', LEASES, id)
  redis.call('HDEL', OWNER, id)
end
-- Back to the queue with the attempt uncounted: it was never fetched to the end.
local function giveBack(id)
  release(id)
  if tonumber(redis.call('HINCRBY', ATT, id, -1)) < 0 then redis.call('HSET', ATT, id, 0) end
  enqueue(id)
end
-- A finished request keeps only its fingerprint (the dedupe set) and, if it failed, why.
local function forget(id)
  release(id)
  redis.call('HDEL', DATA, id)
  redis.call('HDEL', HOST, id)
  redis.call('HDEL', PRIO, id)
  redis.call('HDEL', ATT, id)
end
local function reclaimExpired(max)
  local ids = redis.call('ZRANGEBYSCORE', LEASES, '-inf', now, 'LIMIT', 0, max)
  for _, id in ipairs(ids) do giveBack(id) end
  return #ids
end
-- Adds the request whose 5 fields start at ARGV[i]: 'new', 'dup', or its skip reason.
local function addAt(i)
  if redis.call('SADD', FPS, ARGV[i]) == 0 then return 'dup' end
  local id = redis.call('INCR', SEQ)
  local skipped = ARGV[i + 4]
  if skipped ~= '' then
    redis.call('HINCRBY', COUNTS, 'skipped', 1)
    return skipped
  end
  redis.call('HSET', DATA, id, ARGV[i + 1])
  redis.call('HSET', HOST, id, ARGV[i + 2])
  redis.call('HSET', PRIO, id, ARGV[i + 3])
  enqueue(id)
  return 'new'
end
`;

/** ARGV: the requests, 5 fields each. Returns how many were new (skipped ones included, as SQLite counts them). */
const ADD = `${PRELUDE}
local added = 0
for i = 1, #ARGV, 5 do
  if addAt(i) ~= 'dup' then added = added + 1 end
end
return added`;

/**
 * How many ready requests of busy hosts one pop looks past before giving up: bounds the
 * script's run time (Redis does nothing else meanwhile). Those hosts' own requests finish
 * soon, so a pop that comes back empty because of it is retried shortly.
 */
const POP_SCAN = 4096;

/**
 * ARGV: token, leaseMs, limit, number of busy hosts, the busy hosts.
 * Returns id, attempts, data JSON for each request taken.
 */
const POP = `${PRELUDE}
local token, leaseMs, limit, nBusy = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DELAYED, '-inf', now, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', DELAYED, id)
  enqueue(id)
end
reclaimExpired(1000)
local busy = {}
for i = 1, nBusy do busy[ARGV[4 + i]] = true end
local taken = {}
-- Bounded: HMGET's arguments pass through Lua's stack, which holds some 8000.
local chunk = math.min(nBusy == 0 and limit or math.max(limit, 128), 1000)
local offset = 0
while #taken < limit and offset < limit + ${POP_SCAN} do
  local members = redis.call('ZRANGE', READY, offset, offset + chunk - 1)
  if #members == 0 then break end
  local hosts = {}
  if nBusy > 0 then
    local ids = {}
    for j, m in ipairs(members) do ids[j] = tonumber(m) end
    hosts = redis.call('HMGET', HOST, unpack(ids))
  end
  for j, m in ipairs(members) do
    if #taken == limit then break end
    if not busy[hosts[j]] then taken[#taken + 1] = m end
  end
  if #members < chunk then break end
  offset = offset + chunk
end
local out = {}
for _, m in ipairs(taken) do
  local id = tonumber(m)
  redis.call('ZREM', READY, m)
  redis.call('ZADD', LEASES, now + leaseMs, id)
  redis.call('HSET', OWNER, id, token)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HINCRBY', ATT, id, 1)
  out[#out + 1] = redis.call('HGET', DATA, id)
end
return out`;

/**
 * ARGV: token, runId, then one record per outcome:
 *   done:       'd', id, status, url, n, n items, m, m × (data, errors), k, k × 5 request fields
 *   links:      'l', id, k, k × 5 request fields (some of a page's follow-ups, ahead of its 'd')
 *   retry:      'r', id, delayMs
 *   failed:     'f', id, status ('' for none), reason
 *   disallowed: 'x', id, reason
 *   skipped:    's', id, reason (not fetched after all: a middleware skipped it)
 *   requeue:    'q', id
 * An outcome counts only if this worker still holds the request's lease;
 * otherwise it is skipped whole and counted stale (a 'l' record is skipped
 * without counting: its page's 'd' counts). Returns items, invalid,
 * queued, duplicates, stale, then one skip reason per follow-up recorded as skipped.
 */
const SETTLE = `${PRELUDE}
local token, run = ARGV[1], ARGV[2]
local items, invalid, queued, duplicates, stale = 0, 0, 0, 0, 0
local skips = {}
local function failure(id, state, status, reason)
  local data = redis.call('HGET', DATA, id)
  local url = data and cjson.decode(data).url or cjson.null
  redis.call('HSET', FAILURES, id, cjson.encode({ state = state, url = url, status = tonumber(status) or cjson.null, reason = reason }))
  redis.call('HINCRBY', COUNTS, state, 1)
  forget(id)
end
local function addAll(at, k)
  for j = at, at + 5 * (k - 1), 5 do
    local r = addAt(j)
    if r == 'new' then queued = queued + 1
    elseif r == 'dup' then duplicates = duplicates + 1
    else skips[#skips + 1] = r end
  end
end
local i = 3
while i <= #ARGV do
  local kind, id = ARGV[i], ARGV[i + 1]
  local owned = redis.call('HGET', OWNER, id) == token
  if not owned and kind ~= 'l' then stale = stale + 1 end
  if kind == 'd' then
    local url = ARGV[i + 3]
    local n = tonumber(ARGV[i + 4])
    local at = i + 5
    if owned then
      for j = at, at + n - 1 do
        redis.call('XADD', ITEMS, '*', 'run', run, 'request', id, 'url', url, 'data', ARGV[j], 'time', now)
      end
      items = items + n
    end
    at = at + n
    local m = tonumber(ARGV[at])
    if owned then
      for j = at + 1, at + 2 * m, 2 do
        redis.call('XADD', INVALID, '*', 'run', run, 'request', id, 'url', url, 'data', ARGV[j], 'errors', ARGV[j + 1], 'time', now)
      end
      invalid = invalid + m
    end
    at = at + 1 + 2 * m
    local k = tonumber(ARGV[at])
    if owned then
      addAll(at + 1, k)
      redis.call('HINCRBY', COUNTS, 'done', 1)
      forget(id)
    end
    i = at + 1 + 5 * k
  elseif kind == 'l' then
    local k = tonumber(ARGV[i + 2])
    if owned then addAll(i + 3, k) end
    i = i + 3 + 5 * k
  elseif kind == 'r' then
    if owned then
      release(id)
      local delay = tonumber(ARGV[i + 2])
      if delay > 0 then redis.call('ZADD', DELAYED, now + delay, id) else enqueue(id) end
      queued = queued + 1
    end
    i = i + 3
  elseif kind == 'f' then
    if owned then failure(id, 'failed', ARGV[i + 2], ARGV[i + 3]) end
    i = i + 4
  elseif kind == 'x' then
    if owned then failure(id, 'disallowed', '', ARGV[i + 2]) end
    i = i + 3
  elseif kind == 's' then
    if owned then
      failure(id, 'skipped', '', ARGV[i + 2])
      skips[#skips + 1] = ARGV[i + 2]
    end
    i = i + 3
  elseif kind == 'q' then
    if owned then
      giveBack(id)
      queued = queued + 1
    end
    i = i + 2
  else
    return redis.error_reply('crawlkit settle: unknown outcome ' .. tostring(kind))
  end
end
local out = { items, invalid, queued, duplicates, stale }
for _, r in ipairs(skips) do out[#out + 1] = r end
return out`;

/** Longest wait `nextReadyAt` answers while other workers hold leases: how often an idle worker looks for their follow-ups. */
const POLL_MS = 100;
/**
 * Milliseconds from now (server clock) until a request may be ready, or nil
 * when nothing is queued, delayed or leased anywhere: the crawl is finished.
 * While only leases remain, their holders may still add follow-ups, so the
 * answer is at most POLL_MS ahead and the caller polls.
 */
const NEXT_READY = `${PRELUDE}
if redis.call('ZCARD', READY) > 0 then return 0 end
local best = nil
local d = redis.call('ZRANGE', DELAYED, 0, 0, 'WITHSCORES')
if #d > 0 then best = tonumber(d[2]) - now end
local l = redis.call('ZRANGE', LEASES, 0, 0, 'WITHSCORES')
if #l > 0 then
  local lease = math.min(tonumber(l[2]) - now, ${POLL_MS})
  if best == nil or lease < best then best = lease end
end
return best`;

/** Returns every expired lease's request to the queue; answers how many. */
const REQUEUE_EXPIRED = `${PRELUDE}
local n, total = 0, 0
repeat
  n = reclaimExpired(1000)
  total = total + n
until n < 1000
return total`;

/** ARGV: token, leaseMs, ids. Extends the leases this worker still holds; returns the ids it lost. */
const EXTEND = `${PRELUDE}
local token, leaseMs = ARGV[1], tonumber(ARGV[2])
local lost = {}
for i = 3, #ARGV do
  if redis.call('HGET', OWNER, ARGV[i]) == token then
    redis.call('ZADD', LEASES, 'XX', now + leaseMs, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost`;

const COUNTS = `${PRELUDE}
local c = redis.call('HMGET', COUNTS, 'done', 'failed', 'disallowed', 'skipped')
return { redis.call('ZCARD', READY) + redis.call('ZCARD', DELAYED), redis.call('ZCARD', LEASES),
  tonumber(c[1]) or 0, tonumber(c[2]) or 0, tonumber(c[3]) or 0, tonumber(c[4]) or 0 }`;

type Arg = string | number | Buffer;
// Keys and arguments go as two arrays, which ioredis flattens: no spread of a batch's thousands of arguments.
type Call<T> = (keys: string[], args: Arg[]) => Promise<T>;
/** The scripts, as ioredis defines them on the client. */
interface Scripts {
  crawlkitFrontierAdd: Call<number>;
  crawlkitFrontierPop: Call<(number | string)[]>;
  crawlkitFrontierSettle: Call<(number | string)[]>;
  crawlkitFrontierNextReady: Call<number | null>;
  crawlkitFrontierRequeueExpired: Call<number>;
  crawlkitFrontierExtend: Call<string[]>;
  crawlkitFrontierCounts: Call<number[]>;
}
const SCRIPTS: Record<keyof Scripts, string> = {
  crawlkitFrontierAdd: ADD,
  crawlkitFrontierPop: POP,
  crawlkitFrontierSettle: SETTLE,
  crawlkitFrontierNextReady: NEXT_READY,
  crawlkitFrontierRequeueExpired: REQUEUE_EXPIRED,
  crawlkitFrontierExtend: EXTEND,
  crawlkitFrontierCounts: COUNTS,
};

/** What the `data` hash keeps of a queued request: headers and meta as the JSON strings the SQLite frontier stores too. */
type StoredData = Omit<NewRequest, 'fp' | 'skipped'>;

/** The 5 script fields of a request to add: fingerprint, data JSON, host, priority, skip reason. */
function requestArgs(r: NewRequest, out: Arg[]): void {
  const data: StoredData = {
    url: r.url,
    method: r.method,
    headers: r.headers,
    body: r.body,
    callback: r.callback,
    meta: r.meta,
    depth: r.depth,
    priority: r.priority,
    redirects: r.redirects,
    host: r.host,
    parentId: r.parentId,
  };
  out.push(r.fp, JSON.stringify(data), r.host, r.priority, r.skipped ?? '');
}

/** The script record of one outcome (see SETTLE). */
function outcomeArgs(o: Outcome, out: Arg[]): void {
  switch (o.kind) {
    case 'done':
      out.push('d', o.id, o.status, o.url, o.items.length);
      for (const item of o.items) out.push(item);
      out.push(o.invalid?.length ?? 0);
      for (const bad of o.invalid ?? []) out.push(bad.data, JSON.stringify(bad.issues));
      out.push(o.followUps.count - (o.from ?? 0) + o.followUps.unfiltered.length);
      for (const r of followUpRows(o.followUps, o.from ?? 0)) requestArgs(r, out);
      for (const r of o.followUps.unfiltered) requestArgs(r, out);
      break;
    case 'links':
      out.push('l', o.id, o.to - o.from);
      for (const r of followUpRows(o.followUps, o.from, o.to)) requestArgs(r, out);
      break;
    case 'retry':
      // The outcome's time is this machine's; the server's clock decides when, so only the delay travels.
      out.push('r', o.id, Math.max(0, Math.round(o.readyAt - Date.now())));
      break;
    case 'failed':
      out.push('f', o.id, o.status ?? '', o.reason);
      break;
    case 'disallowed':
      out.push('x', o.id, o.reason);
      break;
    case 'skipped':
      out.push('s', o.id, o.reason);
      break;
    case 'requeue':
      out.push('q', o.id);
      break;
  }
}

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
  const names = redisFrontierKeys(options.spider);
  const keys = [...names.frontier, names.items, names.invalid];
  for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: KEY_COUNT, lua });
  const scripts = redis as unknown as Scripts;
  // Unique per instance: a worker restarted under the same id must not settle its predecessor's leases.
  const token = `${options.workerId}/${randomUUID()}`;
  const runId = String(options.runId);
  /** Ids this worker took and has not settled: the leases the heartbeat renews. */
  const held = new Set<string>();

  let beating = false;
  const beat = async () => {
    if (beating || held.size === 0) return;
    beating = true;
    try {
      const lost = await scripts.crawlkitFrontierExtend(keys, [token, leaseMs, ...held]);
      for (const id of lost) held.delete(id);
    } catch {
      // Redis unreachable: the next pop or settle reports it; a lease lost meanwhile only costs a refetch.
    } finally {
      beating = false;
    }
  };
  const heartbeat = setInterval(() => void beat(), Math.floor(leaseMs / 3));
  heartbeat.unref();

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
      const reply = await scripts.crawlkitFrontierPop(keys, [token, leaseMs, limit, busyHosts.length, ...busyHosts]);
      const out: QueuedRequest[] = [];
      for (let i = 0; i < reply.length; i += 3) {
        const id = Number(reply[i]);
        const { parentId: _parent, headers, meta, ...fields } = JSON.parse(String(reply[i + 2])) as StoredData;
        out.push({
          id,
          ...fields,
          headers: headers === null ? null : (JSON.parse(headers) as Record<string, string>),
          meta: meta === null ? null : (JSON.parse(meta) as Record<string, unknown>),
          attempts: Number(reply[i + 1]),
        });
        held.add(String(id));
      }
      return out;
    },

    async settle(outcomes: Outcome[]) {
      if (outcomes.length === 0) return { items: 0, invalid: 0, queued: 0, skipped: {}, duplicates: 0, stale: 0 };
      const args: Arg[] = [token, runId];
      for (const o of outcomes) outcomeArgs(o, args);
      const reply = await scripts.crawlkitFrontierSettle(keys, args);
      // A page whose follow-ups are still being stored keeps its lease (and the heartbeat that renews it) until its 'done'.
      for (const o of outcomes) if (o.kind !== 'links') held.delete(String(o.id));
      const [items, invalid, queued, duplicates, stale] = reply.slice(0, 5).map(Number) as [number, number, number, number, number];
      const result: SettleResult = { items, invalid, queued, skipped: {}, duplicates, stale };
      for (const reason of reply.slice(5) as string[]) result.skipped[reason] = (result.skipped[reason] ?? 0) + 1;
      return result;
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
      // The frontier's keys are a fixed list, so no SCAN is needed (and none could see all of a Cluster);
      // UNLINK frees a large set off the server's main thread. The item streams are the runs' data, not the frontier's: kept.
      await redis.unlink(...names.frontier);
      held.clear();
    },

    async close() {
      clearInterval(heartbeat);
    },
  };
}

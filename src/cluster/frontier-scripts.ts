/**
 * The frontier's scripts other than the settle (`settle.ts`): add, pop,
 * the next ready time, lease renewal and reclaim, counts, and how they are
 * defined on an ioredis client. Every one starts with PRELUDE (`lua.ts`).
 */
import type { Cluster, Redis } from 'ioredis';
import { KEY_COUNT, PRELUDE, type Arg } from './lua.js';
import { SETTLE } from './settle.js';

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

// Keys and arguments go as two arrays, which ioredis flattens: no spread of a batch's thousands of arguments.
type Call<T> = (keys: string[], args: Arg[]) => Promise<T>;
/** The scripts, as ioredis defines them on the client. */
export interface FrontierScripts {
  crawlkitFrontierAdd: Call<number>;
  crawlkitFrontierPop: Call<(number | string)[]>;
  crawlkitFrontierSettle: Call<(number | string)[]>;
  crawlkitFrontierNextReady: Call<number | null>;
  crawlkitFrontierRequeueExpired: Call<number>;
  crawlkitFrontierExtend: Call<string[]>;
  crawlkitFrontierCounts: Call<number[]>;
}
const SCRIPTS: Record<keyof FrontierScripts, string> = {
  crawlkitFrontierAdd: ADD,
  crawlkitFrontierPop: POP,
  crawlkitFrontierSettle: SETTLE,
  crawlkitFrontierNextReady: NEXT_READY,
  crawlkitFrontierRequeueExpired: REQUEUE_EXPIRED,
  crawlkitFrontierExtend: EXTEND,
  crawlkitFrontierCounts: COUNTS,
};

/** Defines the frontier's scripts on `redis` (ioredis sends each by its SHA, loading it once) and returns them. */
export function frontierScripts(redis: Redis | Cluster): FrontierScripts {
  for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: KEY_COUNT, lua });
  return redis as unknown as FrontierScripts;
}

/**
 * The Lua every frontier script starts with: the keys unpacked, the server's
 * clock, and the steps that keep the frontier's data consistent (enqueue,
 * release a lease, give a request back, forget a finished one, add one).
 * Each frontier method is one script (one round trip, atomic), so two
 * workers can never take the same request.
 */
import type { ClusterKeys } from './keys.js';

/** Lua: `now`, the Redis server's clock in ms, which every worker shares whatever its own clock says. */
export const LUA_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** The KEYS of every frontier script: the frontier's, then the two item streams (as PRELUDE unpacks them). */
export const scriptKeys = (keys: ClusterKeys): string[] => [...keys.frontier, keys.items, keys.invalid];

/** How many keys {@link scriptKeys} gives. */
export const KEY_COUNT = 14;

/**
 * Shared head of every script. Ready requests sit in a sorted set scored by
 * -priority, with zero-padded ids as members so that equal priorities come
 * out by id (Redis orders equal scores by member). Delayed retries and leases
 * are sorted sets scored by a server-clock time in ms.
 */
export const PRELUDE = `
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

/** One script argument (ARGV). */
export type Arg = string | number | Buffer;

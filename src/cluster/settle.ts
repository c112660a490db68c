/**
 * A settle: the outcomes of a batch of requests, stored in one script (one
 * round trip, atomic), each only if this worker still holds its request's
 * lease: the records the worker sends, the script, and its reply.
 */
import { followUpRows } from '../followups.js';
import type { Outcome, SettleResult } from '../frontier/frontier.js';
import { PRELUDE, type Arg } from './lua.js';
import { requestArgs } from './requests.js';

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
export const SETTLE = `${PRELUDE}
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

/** The script record of one outcome (see SETTLE). */
export function outcomeArgs(o: Outcome, out: Arg[]): void {
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

/** The counts a settle's reply gives: items, invalid, queued, duplicates, stale, then a skip reason per follow-up skipped. */
export function settleResult(reply: (number | string)[]): SettleResult {
  const [items, invalid, queued, duplicates, stale] = reply.slice(0, 5).map(Number) as [number, number, number, number, number];
  const result: SettleResult = { items, invalid, queued, skipped: {}, duplicates, stale };
  for (const reason of reply.slice(5) as string[]) result.skipped[reason] = (result.skipped[reason] ?? 0) + 1;
  return result;
}

/**
 * A cluster run's `render: 'auto'` patterns, shared by its workers: one
 * Redis hash per run, `crawlkit:{SPIDER}:run:ID:render`, with a field per
 * pattern and counter (`PATTERN|pages`, ... added to with HINCRBY, so two
 * workers' counts add up) and one per mode reached (`PATTERN|http`,
 * `PATTERN|browser`: set, never cleared, so a worker that has not heard of a
 * pattern going to the browser cannot move it back). Each worker reads the
 * hash back every second (browser/auto-sync.ts): a decision one worker
 * makes, the others follow within a second.
 */
import type { Redis } from 'ioredis';
import type { PatternRow } from '../browser/auto.js';
import type { PatternStore } from '../browser/auto-sync.js';
import type { ClusterKeys } from './keys.js';

const COUNTS = ['pages', 'compared', 'agreed', 'rechecked', 'differed'] as const;

/** The patterns of cluster run `runId`. */
export function redisPatternStore(redis: Redis, keys: ClusterKeys, runId: number): PatternStore {
  const key = keys.runs.renderPatterns(runId);
  return {
    shared: true,
    async load() {
      const rows = new Map<string, PatternRow>();
      for (const [field, value] of Object.entries(await redis.hgetall(key))) {
        // The part after the last '|' is the counter's name (a pattern may hold a '|', a name never does).
        const bar = field.lastIndexOf('|');
        const pattern = field.slice(0, bar);
        const name = field.slice(bar + 1);
        let row = rows.get(pattern);
        if (!row) rows.set(pattern, (row = { pattern, mode: 'learning', pages: 0, compared: 0, agreed: 0, rechecked: 0, differed: 0 }));
        if (name === 'browser') row.mode = 'browser';
        else if (name === 'http' && row.mode === 'learning') row.mode = 'http';
        else if ((COUNTS as readonly string[]).includes(name)) row[name as (typeof COUNTS)[number]] = Number(value);
      }
      return [...rows.values()];
    },
    async save(changes) {
      const multi = redis.multi();
      for (const c of changes) {
        for (const k of COUNTS) if (c[k] !== 0) multi.hincrby(key, `${c.pattern}|${k}`, c[k]);
        // A pattern seen but not yet counted is still listed (as learning).
        if (c.mode === 'learning') multi.hincrby(key, `${c.pattern}|pages`, 0);
        else multi.hset(key, `${c.pattern}|${c.mode}`, 1);
      }
      await multi.exec();
    },
  };
}

/**
 * Keeps the decisions of `render: 'auto'` (auto.ts) with the run: loaded when
 * it starts (a resume goes on with them), written every second and at the
 * end, each write the patterns that changed (their counts as deltas, so
 * that a cluster's workers add up rather than overwrite each other). A
 * second with nothing new writes nothing; a kill -9 loses at most a second of
 * counts, and a decision lost so is learned again from the counts stored (a
 * few more pages fetched both ways; what is committed is unaffected).
 * Measured on a real SQLite file (2 cores, loaded): a flush of 10 changed
 * patterns takes 0.3 ms, of 100, 4 ms, once a second; a write per page, in a
 * transaction of its own, 0.14 ms a page, 14% of a core at 1,000 pages/s.
 * Inside the response's transaction it would cost less, but exact counts
 * across a kill -9 are not worth a second write path (and Redis's settle
 * script) for counters that only inform.
 */
import type { Awaitable } from '../frontier/frontier.js';
import type { Logger } from '../log.js';
import type { AutoRender, PatternRow } from './auto.js';

/** Where a run's patterns are kept: the spider's SQLite file (storage/render-patterns.ts), or the cluster's Redis (cluster/render-patterns.ts). */
export interface PatternStore {
  /** Other processes write it too: read back after each write. */
  readonly shared: boolean;
  /** Every pattern of the run, with its totals. */
  load(): Awaitable<PatternRow[]>;
  /** Adds `changes` (counts to add; modes that only move forward). */
  save(changes: readonly PatternRow[]): Awaitable<void>;
}

/** How often the patterns that changed are written (and, in a cluster, the others' read back). */
export const PATTERNS_SAVE_MS = 1_000;

/** Keeps `auto` in step with `store`: restored at the start, written every second and at the end. */
export function autoSync(auto: AutoRender, store: PatternStore, log: Logger) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const flush = async () => {
    const changes = auto.changes();
    if (changes.length > 0) {
      await store.save(changes);
      auto.saved(changes);
    }
    if (store.shared) auto.adopt(await store.load());
  };
  // One flush at a time: a slow Redis must not pile them up.
  const once = () => (running ??= flush().finally(() => (running = undefined)));
  return {
    restore: async () => auto.adopt(await store.load()),
    start() {
      timer = setInterval(() => void once().catch((err: Error) => log.warn(`could not save the render patterns: ${err.message}`)), PATTERNS_SAVE_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running?.catch(() => {});
      await flush();
    },
  };
}

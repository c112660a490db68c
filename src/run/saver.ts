import type { Logger } from '../log.js';
import { recordLag, type Stats } from '../stats.js';
import { statusPoint } from '../storage/run-status.js';
import type { RunStatus } from '../storage/runs.js';
import type { AssembledRun, OpenRun } from './assemble.js';

/** How often a run's stats are saved: a kill -9 loses at most this much of the traffic counters (see storage/recount.ts). */
const STATS_SAVE_MS = 2_000;

/** `render: 'auto'` patterns kept in the stats (the most pages first): the summary shows 10. */
const RENDER_PATTERNS_KEPT = 10;

/** The counters only the run's parts know, taken in: stalls, the throttle's, `render: 'auto'`'s patterns. */
export function refresher(stats: Stats, run: AssembledRun): () => void {
  const increasesBefore = stats.throttleIncreases;
  return () => {
    recordLag(stats, run.lag.maxLagMs, run.parser.maxLagMs);
    stats.throttleIncreases = increasesBefore + run.throttle.increases;
    stats.hostDelays = run.throttle.delays(20);
    const patterns = run.auto.top(RENDER_PATTERNS_KEPT);
    stats.renderPatterns = patterns.rows;
    stats.renderPatternCount = patterns.total;
  };
}

/**
 * Saves the run's stats (its elapsed time this process's share added), now
 * and every 2 s while started; and, every `statusIntervalMs` and when the
 * process's part of the run ends, a point of its status series.
 */
export function statsSaver(open: OpenRun, log: Logger, statusIntervalMs: number) {
  const sessionStart = Date.now();
  const elapsedBefore = open.stats.elapsedMs;
  const timers: NodeJS.Timeout[] = [];
  const backend = open.store.backend;
  const elapsed = () => void (open.stats.elapsedMs = elapsedBefore + (Date.now() - sessionStart));
  // A point lost is a gap in a chart, never the run's: warned of, not thrown.
  const point = async () => {
    elapsed();
    await backend.recordStatus?.(open.begun.runId, statusPoint(open.stats));
  };
  const recordPoint = () => point().catch((err: Error) => log.warn(`could not record the run's status: ${err.message}`));
  const save = async (status?: RunStatus) => {
    elapsed();
    await backend.save(open.begun.runId, open.stats, status);
    if (status) await recordPoint();
  };
  return {
    save,
    start(run: AssembledRun, refresh: () => void) {
      timers.push(
        setInterval(() => {
          refresh();
          // Other workers add to a shared frontier too: this process's running count would drift from it.
          const counted = run.frontier.shared ? Promise.resolve(run.frontier.counts()).then((c) => void (open.stats.queued = c.queued)) : Promise.resolve();
          void counted.then(() => save()).catch((err: Error) => log.warn(`could not save the run's stats: ${err.message}`));
        }, STATS_SAVE_MS),
      );
      if (backend.recordStatus && statusIntervalMs > 0)
        timers.push(
          setInterval(() => {
            refresh();
            void recordPoint();
          }, statusIntervalMs),
        );
      for (const t of timers) t.unref();
      // The first point: the chart starts where this process took the run up.
      void recordPoint();
    },
    stop: () => timers.forEach(clearInterval),
  };
}

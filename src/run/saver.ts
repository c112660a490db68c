import type { Logger } from '../log.js';
import { recordLag, type Stats } from '../stats.js';
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

/** Saves the run's stats (its elapsed time this process's share added), now and every 2 s while started. */
export function statsSaver(open: OpenRun, log: Logger) {
  const sessionStart = Date.now();
  const elapsedBefore = open.stats.elapsedMs;
  let timer: NodeJS.Timeout | undefined;
  const save = async (status?: RunStatus) => {
    open.stats.elapsedMs = elapsedBefore + (Date.now() - sessionStart);
    await open.store.backend.save(open.begun.runId, open.stats, status);
  };
  return {
    save,
    start(run: AssembledRun, refresh: () => void) {
      timer = setInterval(() => {
        refresh();
        // Other workers add to a shared frontier too: this process's running count would drift from it.
        const counted = run.frontier.shared ? Promise.resolve(run.frontier.counts()).then((c) => void (open.stats.queued = c.queued)) : Promise.resolve();
        void counted.then(() => save()).catch((err: Error) => log.warn(`could not save the run's stats: ${err.message}`));
      }, STATS_SAVE_MS);
      timer.unref();
    },
    stop: () => clearInterval(timer),
  };
}


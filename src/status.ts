import type { Crawl } from './crawl.js';
import type { Logger } from './log.js';
import { progressLine, progressOf } from './stats.js';

/** The status display of a running crawl. */
export interface StatusDisplay {
  /** Wipes the live line, so a log line can take its row. */
  clear(): void;
  stop(): void;
}

/**
 * Shows a crawl's progress: on a terminal, one line redrawn every second; in
 * any case, every `intervalMs`, a status entry through `logger` (plain lines
 * on a stderr that is not a terminal, structured fields in the JSON log file).
 */
export function showStatus(run: Crawl, options: { tty: boolean; intervalMs: number; logger: Logger }): StatusDisplay {
  let shown = false;
  const progress = () => progressOf(run.stats, run.stats.pages - run.session.pagesAtStart, Date.now() - run.session.startedAt);
  const clear = () => {
    if (shown) process.stderr.write('\r\x1b[K');
    shown = false;
  };
  const live = options.tty
    ? setInterval(() => {
        process.stderr.write(`\r\x1b[K${progressLine(progress())}`);
        shown = true;
      }, 1000)
    : undefined;
  const periodic = setInterval(() => {
    const p = progress();
    options.logger.info(`status: ${progressLine(p)}`, { status: p });
  }, options.intervalMs);
  live?.unref();
  periodic.unref();
  return {
    clear,
    stop() {
      clearInterval(live);
      clearInterval(periodic);
      clear();
    },
  };
}

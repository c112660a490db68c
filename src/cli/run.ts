import { crawl, type CrawlSummary } from '../crawl.js';
import { existsSync } from 'node:fs';
import { exportRun, formatOf, resumeSink, type Format } from '../export/exporter.js';
import { openSink, type ItemSink } from '../export/sink.js';
import { defaultSpidersDir, loadSpider } from '../loader.js';
import { createJsonFileLogger, createLogger, silentLogger, teeLogger, type Logger } from '../log.js';
import { schemaColumns } from '../pipelines.js';
import { Reason } from '../reasons.js';
import { spiderSettings } from '../settings.js';
import { summaryLines, type Stats } from '../stats.js';
import { showStatus, type StatusDisplay } from '../status.js';
import type { Spider } from '../spider.js';
import { databasePath, openForCrawl, openForRead } from '../storage/database.js';
import { resumableRun } from '../storage/local.js';
import { flagSettings, spiderInputs } from './inputs.js';

/** The options of `crawl run`. */
export interface RunCommandOptions {
  arg: string[];
  set: string[];
  output?: string;
  fresh?: boolean;
  storage?: string;
  spiders?: string;
  logLevel?: string;
  logFile?: string;
  debug?: boolean;
  cache?: boolean;
  replay?: boolean;
  frontier?: string;
}

/**
 * The -o file. When the crawl will resume a run of the local database, the
 * file starts with the items that run stored so far, so it ends with the
 * whole run, once, however often the crawl was killed on the way.
 */
async function outputSink(storageDir: string, spider: Spider, opts: RunCommandOptions, format: Format): Promise<ItemSink> {
  if (!opts.frontier && existsSync(databasePath(storageDir, spider.name))) {
    const db = openForRead(storageDir, spider.name);
    try {
      const run = resumableRun(db, { fresh: Boolean(opts.fresh), cache: Boolean(opts.cache), replay: Boolean(opts.replay) });
      if (run) return await resumeSink(db, run.id, opts.output!, format);
    } finally {
      db.close();
    }
  }
  return openSink(opts.output!, format, schemaColumns(spider.itemSchema));
}


/**
 * Ctrl-C (or SIGTERM) stops the crawl gracefully: no new requests, those in
 * flight finish and are committed. A second one exits at once, with what was
 * committed kept. `stop` aborts on the first; `detach` forgets the handlers.
 */
function onSignals(name: string, logger: Logger, stopStatus: () => void): { stop: AbortSignal; detach(): void } {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      stopStatus();
      process.stderr.write(`${signal} again: exiting now; committed work is kept, run \`crawl ${name}\` to resume\n`);
      process.exit(130);
    }
    logger.warn(`${signal}: stopping; finishing requests in flight (press Ctrl-C again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stop: controller.signal,
    detach() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
/**
 * A promise a callback started and never awaited, rejected: with `workers=0`
 * the callback runs in this process, and Node's default would end the crawl
 * with everything in flight (a worker thread is only replaced). It is logged
 * with its stack instead, and the crawl goes on, as Scrapy logs an unhandled
 * Deferred error; the page that started it cannot be told, it has moved on.
 */
function onUnhandledRejection(logger: Logger): () => void {
  const onRejection = (reason: unknown) => {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    logger.error(`unhandled promise rejection (a promise in spider code that nothing awaited): ${error.stack ?? error.message}`);
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}

/** `crawl run NAME`: crawls, shows the status, writes -o, prints the summary; returns the exit code. */
export async function runCommand(name: string, opts: RunCommandOptions): Promise<number> {
  const { args, overrides } = spiderInputs(opts);
  // -s, then the dedicated flags over it: one source for crawl(), as its `settings` option.
  const given = { ...overrides, ...flagSettings(opts) };
  const outputFormat = opts.output ? formatOf(opts.output) : undefined;
  const { spider, moduleUrl } = await loadSpider(opts.spiders ?? defaultSpidersDir(), name, args);
  const settings = spiderSettings(spider, given); // validates before anything is opened

  const tty = process.stderr.isTTY === true;
  let status: StatusDisplay | undefined;
  // On a terminal the live line is wiped before each log line, so the two never share a row; in the file, it is a logged entry.
  const stderrLog = createLogger(settings.logLevel, undefined, () => status?.clear());
  const file = opts.logFile ? createJsonFileLogger(opts.logFile, settings.logLevel) : undefined;
  const logger = file ? teeLogger(stderrLog, file) : stderrLog;
  const signals = onSignals(name, logger, () => status?.stop());
  const detachRejections = onUnhandledRejection(logger);

  const run = crawl(spider, {
    settings: given,
    fresh: opts.fresh,
    signal: signals.stop,
    logger,
    spiderModule: moduleUrl,
    cache: opts.cache,
    replay: opts.replay,
    frontier: opts.frontier,
  });
  // The terminal's live line replaces the periodic plain lines there; the log file gets them either way.
  status = showStatus(run, { tty, intervalMs: settings.statusIntervalMs, logger: tty ? (file ?? silentLogger) : logger });
  // -o: items go to the file as they are stored; a second Ctrl-C exits at once, and the exit handler still ends the file validly.
  const sink = opts.output && outputFormat ? await outputSink(settings.storageDir, spider, opts, outputFormat) : null;
  const closeSink = () => sink?.close();
  process.on('exit', closeSink);
  let summary: CrawlSummary;
  try {
    if (sink) {
      for await (const batch of run.batches()) sink.write(batch);
      summary = run.summary!;
    } else summary = await run.run();
  } finally {
    status.stop();
    closeSink();
    process.off('exit', closeSink);
    signals.detach();
    detachRejections();
  }
  if (settings.logLevel !== 'silent') printSummary(name, summary);
  file?.info(`${summary.status} run ${summary.runId}`, { summary: { ...summary, stats: { ...summary.stats, inFlight: undefined } } });
  file?.close();
  if (sink && outputFormat) {
    // The file holds the run's items (a resumed run's earlier ones were written first); CSV fields the first item lacked need a
    // full export. A cluster's worker has only its own items at hand: the file holds those.
    if (!opts.frontier && sink.columnsGrew && summary.stats.items > 0) {
      const db = openForCrawl(settings.storageDir, spider.name);
      try {
        const n = await exportRun(db, { format: outputFormat, out: opts.output!, runId: summary.runId });
        logger.info(`wrote ${n} items to ${opts.output} (the whole run)`);
      } finally {
        db.close();
      }
    } else logger.info(`wrote ${sink.count} items to ${opts.output}`);
  }
  if (summary.status === 'interrupted') {
    process.stderr.write(`Stopped before the end; run \`crawl ${name}\` again to resume (or add --fresh to start over).\n`);
    return 130;
  }
  // A cluster worker's stats are its own: others may have fetched what it did not.
  if (summary.stats.pages === 0 && !opts.frontier) {
    process.stderr.write(`crawl: error: no page was fetched successfully in run ${summary.runId} of '${name}': ${whyNothing(summary.stats)}; see \`crawl failures ${name}\`\n`);
    return 1;
  }
  return 0;
}

/** The end-of-run summary, on stderr. */
function printSummary(name: string, summary: CrawlSummary): void {
  const limit = summary.stats.stoppedAt ? ` (stopped at ${summary.stats.stoppedAt})` : '';
  process.stderr.write(`${summary.status === 'finished' ? 'Finished' : 'Interrupted'} ${summary.mode === 'replay' ? 'replay ' : ''}run ${summary.runId} of '${name}'${limit}:\n`);
  for (const line of summaryLines(summary.stats)) process.stderr.write(`  ${line}\n`);
  const misses = summary.stats.failures[Reason.cacheMiss] ?? 0;
  if (misses > 0)
    process.stderr.write(
      `${misses} requests were not in the cache, so not fetched (${summary.cacheMisses.join(', ')}${misses > summary.cacheMisses.length ? ', ...' : ''}); run \`crawl ${name} --cache\` to cache them\n`,
    );
}

/** Why a run fetched no page, from its stats: what became of its requests. */
function whyNothing(s: Stats): string {
  const failures = Object.entries(s.failures).sort(([, a], [, b]) => b - a);
  const failed = failures.reduce((n, [, k]) => n + k, 0);
  const skipped = Object.values(s.skipped).reduce((n, k) => n + k, 0);
  const parts = [
    ...(failed ? [`${failed} failed (${failures.map(([reason, n]) => `${reason}: ${n}`).join(', ')})`] : []),
    ...(s.disallowed ? [`${s.disallowed} disallowed by robots.txt`] : []),
    ...(skipped ? [`${skipped} out of scope`] : []),
    ...(s.redirects ? [`${s.redirects} redirects`] : []),
  ];
  return parts.length ? parts.join(', ') : 'there was nothing to fetch (no start requests)';
}


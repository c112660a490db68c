import { ConfigError, StartError } from './errors.js';
import { addressPolicy } from './fetch/addresses.js';
import { createFetcher } from './fetch/fetcher.js';
import type { Limiter } from './fetch/limiter.js';
import { createRobots } from './fetch/robots.js';
import { createThrottle } from './fetch/throttle.js';
import { startLagMonitor, type LagMonitor } from './lag.js';
import { inlineParser, type Parser } from './parser/parse.js';
import { createWorkerPool } from './parser/pool.js';
import { createLogger, type Logger } from './log.js';
import { Request } from './request.js';
import { schedule, type EndReason } from './scheduler.js';
import { scopedSettings } from './run-scope.js';
import { spiderName } from './spider-name.js';
import { startRun } from './starts.js';
import { robotsToken, spiderSettings, type Settings, type SettingsOverride } from './settings.js';
import { givenArgs, unreadArgWarnings, type Spider } from './spider.js';
import { createStats, type Stats } from './stats.js';
import { openCluster } from './cluster/open.js';
import { localBackend } from './storage/local.js';
import type { RunMode, RunStatus } from './storage/runs.js';
import { scopeOf } from './callbacks.js';
import { schemaColumns } from './pipelines.js';

/** Options of {@link crawl}. */
export interface CrawlOptions {
  /** Overrides over the spider's own settings (nested, or dotted keys as `-s` gives them). */
  settings?: SettingsOverride | Record<string, unknown>;
  /** Start a new run even if the last one did not finish. */
  fresh?: boolean;
  /** Abort to stop gracefully: no new requests, in-flight ones finish and are stored. */
  signal?: AbortSignal;
  /** Where log lines go; defaults to stderr at the `logLevel` setting. */
  logger?: Logger;
  /**
   * URL of the module that exports the spider's class (e.g. `import.meta.url`
   * in that module). With it, callbacks run in `workers` worker threads, each
   * with its own instance built from the same arguments; without it, in this thread.
   */
  spiderModule?: string;
  /**
   * Store every response fetched for the spider's requests (redirects and
   * final errors included) in its database, compressed, for a later `replay`.
   */
  cache?: boolean;
  /**
   * Start a new run that fetches nothing: every response comes from the
   * responses an earlier `cache` crawl stored (no robots.txt, no delays), so
   * changed callbacks re-run over the same pages in seconds. A request that
   * was never cached fails with reason `cache:miss`. An unfinished replay
   * resumes as a replay, with or without this option.
   */
  replay?: boolean;
  /**
   * A Redis URL (`redis://host:6379`): keep the frontier, the run and the items
   * there instead of the local SQLite file, so any number of processes with
   * the same spider and URL crawl one site together, each request fetched by
   * one of them and its items stored once.
   */
  frontier?: string;
}

/** How a crawl ended. */
export interface CrawlSummary {
  runId: number;
  /** `finished` when the frontier emptied or a max* limit was reached; `interrupted` when stopped (it resumes). */
  status: 'finished' | 'interrupted';
  reason: EndReason;
  /** True when this process continued an earlier, unfinished run. */
  resumed: boolean;
  stats: Stats;
  database: string;
  /** `replay` when the run re-ran callbacks over cached responses. */
  mode: RunMode;
  /** A replay's first few requests that were not in the cache (their count is `stats.failures['cache:miss']`). */
  cacheMisses: string[];
}

/** A crawl in progress: iterate it for items, or `run()` it for the summary. */
export interface Crawl extends AsyncIterable<Record<string, unknown>> {
  /** Runs to the end without handing out items; resolves to the summary. */
  run(): Promise<CrawlSummary>;
  /** The items in the batches they were stored in (one transaction each), for writers that flush per batch. */
  batches(): AsyncIterable<Record<string, unknown>[]>;
  /** Live counters; read them for progress. */
  readonly stats: Stats;
  /** The summary, once the crawl has ended (after iteration completes or `run()` resolves). */
  readonly summary: CrawlSummary | undefined;
  /** Whether this run continues an unfinished one (known once started). */
  readonly resumed: boolean;
  /** This process's share of the run, for rates: when it started and the page count then. */
  readonly session: { startedAt: number; pagesAtStart: number };
}

const STATS_SAVE_MS = 2_000;
/** Cache misses a summary names. */
const MISSES_SHOWN = 5;

/** Where callbacks run: in `settings.workers` worker threads when the spider's module is known, else in this thread. */
const parserFor = (spider: Spider, settings: Settings, spiderModule: string | undefined, log: Logger): Parser =>
  settings.workers > 0 && spiderModule
    ? createWorkerPool(settings.workers, { spiderModule, args: { ...givenArgs(spider) }, settings }, log)
    : inlineParser(spider, settings, log);

/**
 * Crawls with a spider, storing its items in `storage/<name>.sqlite`, and
 * returns the crawl as an async iterable of the items as they are stored. An
 * unfinished earlier run of the same spider is resumed unless `fresh` is set.
 *
 * @example
 * ```ts
 * for await (const item of crawl(new BooksSpider({ baseUrl }))) console.log(item.title);
 * ```
 */
export function crawl(spider: Spider, options: CrawlOptions = {}): Crawl {
  if (!spider.name) throw new ConfigError(`spider has no name: set name = '...' (letters, digits, _ . -)`);
  spiderName(spider.name);
  if (options.cache && options.replay) throw new ConfigError('cache and replay cannot be used together: a replay fetches nothing to cache');
  const settings = spiderSettings(spider, options.settings);
  const log = options.logger ?? createLogger(settings.logLevel);
  let stats = createStats();
  let summary: CrawlSummary | undefined;
  let resumed = false;
  let started = false;
  const session = { startedAt: Date.now(), pagesAtStart: 0 };

  /** The crawl, as batches of committed items in JSON: parsed only if someone iterates. */
  async function* batches(): AsyncGenerator<string[]> {
    if (started) throw new Error('a crawl can only be iterated once');
    started = true;
    // A bad start URL is an error before anything is opened or recorded.
    for (const url of [...spider.startUrls, ...spider.sitemapUrls]) new Request(url);
    const backend = options.frontier
      ? (await openCluster(options.frontier, spider.name, settings)).backend
      : localBackend(settings.storageDir, spider.name, { replay: Boolean(options.replay) });
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) stop.abort();
    // Public addresses, and whichever kinds the start URLs are on (known once they are enqueued).
    const addresses = addressPolicy(settings.allowPrivateAddresses);
    const network = createFetcher(settings, addresses);
    let limiter: Limiter | undefined;
    let runId: number | null = null;
    const sessionStart = Date.now();
    let elapsedBefore = 0;
    const saveStats = async (status?: RunStatus) => {
      stats.elapsedMs = elapsedBefore + (Date.now() - sessionStart);
      if (runId !== null) await backend.save(runId, stats, status);
    };
    let saver: NodeJS.Timeout | undefined;
    let loop: AsyncGenerator<string[], EndReason> | undefined;
    let parser: Parser | undefined;
    let lag: LagMonitor | undefined;
    let failed = false;
    try {
      const begun = await backend.begin({
        spider: { name: spider.name, args: givenArgs(spider) },
        settings,
        columns: schemaColumns(spider.itemSchema),
        fresh: Boolean(options.fresh),
        cache: Boolean(options.cache),
        replay: Boolean(options.replay),
        network,
        log,
      });
      runId = begun.runId;
      resumed = begun.resumed;
      stats = createStats(begun.stats);
      elapsedBefore = stats.elapsedMs;
      const { frontier, fetcher, mode } = begun;
      const limits = (limiter = begun.limiter);
      const startsWereDone = begun.startsDone;
      const scope = await startRun(spider, settings, begun, backend);
      // Said when the run starts: a resume does not run start(), where a spider may read its arguments.
      if (!startsWereDone) for (const warning of unreadArgWarnings(spider)) log.warn(warning);
      addresses.admit(scope.addressKinds);
      const runSettings = scopedSettings(begun.settings, scope);
      parser = parserFor(spider, scopedSettings(settings, scope), options.spiderModule, log);
      await parser.ready(); // the pipelines' open(), in each thread that runs callbacks: one that throws stops the run here
      stats.queued = (await frontier.counts()).queued;
      session.startedAt = Date.now();
      session.pagesAtStart = stats.pages;
      const robots = runSettings.obeyRobots
        ? createRobots(
            network,
            robotsToken(settings),
            (host, ms) => limits.setDelay(host, 'robots', Math.min(ms, settings.perHost.maxCrawlDelayMs)),
            (url) => scopeOf(url, 0, runSettings) === null,
            begun.robotsCache && { cache: begun.robotsCache, lockMs: settings.timeouts.requestMs + 5_000 },
          )
        : null;
      const throttle = createThrottle(runSettings.throttle, runSettings.perHost.concurrency, (host, ms) => {
        log.debug(`throttle: ${host} delay now ${ms} ms`);
        limits.setDelay(host, 'throttle', ms);
      });
      lag = startLagMonitor(1000, (ms) => log.warn(`event loop blocked for ${ms} ms: a callback computing synchronously stalls every request`));
      const save = async () => {
        // Other workers add to a shared frontier too: this process's running count would drift from it.
        if (frontier.shared) stats.queued = (await frontier.counts()).queued;
        await saveStats();
      };
      saver = setInterval(() => void save().catch((err: Error) => log.warn(`could not save the run's stats: ${err.message}`)), STATS_SAVE_MS);
      saver.unref();
      loop = schedule({ spider, settings: runSettings, frontier, fetcher, robots, limiter: limits, stats, log, throttle, lag, parser, stop: stop.signal });
      let reason: EndReason;
      for (;;) {
        const step = await loop.next();
        if (step.done) {
          reason = step.value;
          break;
        }
        yield step.value;
      }
      if (reason === 'maxItems' || reason === 'maxRequests') {
        // Recorded with the run, which is finished: a limit is a budget for the run, so running again starts a new one.
        stats.stoppedAt = `${reason}=${runSettings[reason]}`;
        stats.queued = (await frontier.counts()).queued;
      }
      const status = reason === 'stopped' ? 'interrupted' : 'finished';
      await saveStats(status);
      const misses = mode === 'replay' ? await backend.cacheMisses(MISSES_SHOWN) : [];
      summary = { runId, status, reason, resumed, stats, database: backend.where, mode, cacheMisses: misses };
    } catch (err) {
      failed = err instanceof StartError;
      throw backend.failure(err);
    } finally {
      clearInterval(saver);
      lag?.stop();
      options.signal?.removeEventListener('abort', onAbort);
      if (!summary && runId !== null) {
        // Left early (an error, or the consumer broke out of its loop): stop, let
        // in-flight requests finish and commit, and leave the run to resume next time.
        try {
          stop.abort();
          if (loop) for (let s = await loop.next(); !s.done; s = await loop.next());
        } catch {
          /* the database may be the thing that failed; what was committed stays */
        }
        try {
          await saveStats(failed ? 'failed' : 'interrupted');
        } catch {
          /* as above */
        }
      }
      await limiter?.stop();
      await parser?.close();
      await network.close().catch(() => {});
      await backend.close();
    }
  }

  return {
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) for (const json of batch) yield JSON.parse(json) as Record<string, unknown>;
    },
    async run() {
      for await (const _ of batches());
      return summary!;
    },
    async *batches() {
      for await (const batch of batches()) yield batch.map((json) => JSON.parse(json) as Record<string, unknown>);
    },
    get stats() {
      return stats;
    },
    get summary() {
      return summary;
    },
    get resumed() {
      return resumed;
    },
    session,
  };
}

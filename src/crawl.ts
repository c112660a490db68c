import { applyHeapGrowth } from './run/heap.js';
import { ConfigError, StartError } from './errors.js';
import { tlsConnectOptions } from './fetch/tls.js';
import { createLogger, type Logger } from './log.js';
import { BUILTIN_NAMES } from './middleware/builtins.js';
import { placeMiddlewares } from './middleware/order.js';
import type { Middleware } from './middleware/types.js';
import { Request } from './request.js';
import { assembleRun, openRun, type AssembledRun, type OpenRun } from './run/assemble.js';
import { refresher, statsSaver } from './run/saver.js';
import { startWatchdog } from './run/watchdog.js';
import { schedule, type EndReason } from './scheduler.js';
import { spiderName } from './spider-name.js';
import { spiderSettings, type Settings, type SettingsOverride } from './settings.js';
import type { Spider } from './spider.js';
import { createStats, type Stats } from './stats.js';
import type { RunMode, RunStatus } from './storage/runs.js';

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
   * with its own instance built from the same arguments (with `workers` = 0,
   * pages over `offThreadPageBytes` in one such thread); without it, in this thread.
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
  /**
   * Middlewares beside the spider's own `middlewares`, placed after them
   * (each after crawlkit's `headers` unless it names a place).
   */
  middlewares?: Middleware[];
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

/** Cache misses a summary names. */
const MISSES_SHOWN = 5;

/** The crawl's own stop, aborted by the caller's signal too. */
function stopSignal(signal: AbortSignal | undefined): { controller: AbortController; detach(): void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) controller.abort();
  return { controller, detach: () => signal?.removeEventListener('abort', onAbort) };
}

/** The scheduler's batches, passed on; returns why it ended. */
async function* drain(loop: AsyncGenerator<string[], EndReason>): AsyncGenerator<string[], EndReason> {
  for (;;) {
    const step = await loop.next();
    if (step.done) return step.value;
    yield step.value;
  }
}

/** The summary of a run that ended by itself or was stopped, its status saved. */
async function finish(open: OpenRun, run: AssembledRun, reason: EndReason, save: (status: RunStatus) => Promise<void>): Promise<CrawlSummary> {
  const { stats, begun, store } = open;
  if (reason === 'maxItems' || reason === 'maxRequests') {
    // Recorded with the run, which is finished: a limit is a budget for the run, so running again starts a new one.
    stats.stoppedAt = `${reason}=${run.settings[reason]}`;
    stats.queued = (await run.frontier.counts()).queued;
  }
  const status = reason === 'stopped' ? 'interrupted' : 'finished';
  await save(status);
  const misses = run.mode === 'replay' ? await store.backend.cacheMisses(MISSES_SHOWN) : [];
  return { runId: begun.runId, status, reason, resumed: begun.resumed, stats, database: store.backend.where, mode: run.mode, cacheMisses: misses };
}

/** A bad middleware (or a place naming none) is an error before anything is opened. */
function checkMiddlewares(spider: Spider, options: CrawlOptions): void {
  for (const [where, list] of [[`spider '${spider.name}'`, spider.middlewares], ['crawl()', options.middlewares ?? []]] as const)
    if (!Array.isArray(list)) throw new ConfigError(`the middlewares of ${where} must be a list`);
  placeMiddlewares(
    BUILTIN_NAMES.map((name) => ({ name, about: name, purposes: [] })),
    [...spider.middlewares, ...(options.middlewares ?? [])],
  );
}

/** A crawl's own state, shared by its iteration and its getters. */
interface CrawlState {
  open?: OpenRun;
  summary?: CrawlSummary;
  started: boolean;
  session: { startedAt: number; pagesAtStart: number };
}

/**
 * The crawl, as batches of committed items in JSON (parsed only if someone
 * iterates): opens the run, assembles it, runs the scheduler with the stats
 * saved and the watchdog on, and sums up; whatever ends it, closes everything.
 */
async function* crawlBatches(spider: Spider, settings: Settings, options: CrawlOptions, log: Logger, state: CrawlState): AsyncGenerator<string[]> {
  if (state.started) throw new Error('a crawl can only be iterated once');
  state.started = true;
  // A bad start URL is an error before anything is opened or recorded.
  for (const url of [...spider.startUrls, ...spider.sitemapUrls]) new Request(url);
  applyHeapGrowth(settings.heapGrowthPercent);
  const stop = stopSignal(options.signal);
  const opened = (state.open = await openRun(spider, settings, options, log).catch((err: unknown) => {
    stop.detach();
    throw err;
  }));
  const saver = statsSaver(opened, log, settings.statusIntervalMs);
  let run: AssembledRun | undefined;
  let loop: AsyncGenerator<string[], EndReason> | undefined;
  let stopWatchdog: (() => void) | undefined;
  let refresh: (() => void) | undefined;
  let failed = false;
  try {
    run = await assembleRun(opened, spider, settings, options, log);
    await run.parser.ready(); // the pipelines' open(), in each thread that runs callbacks: one that throws stops the run here
    opened.stats.queued = (await run.frontier.counts()).queued;
    state.session.startedAt = Date.now();
    state.session.pagesAtStart = opened.stats.pages;
    refresh = refresher(opened.stats, run);
    saver.start(run, refresh);
    stopWatchdog = startWatchdog(run.inFlight, run.settings.timeouts.requestMs, log);
    const { settings: runSettings, frontier, handle, limiter, retries } = run;
    loop = schedule({ settings: runSettings, frontier, handle, limiter, retries, stats: opened.stats, log, stop: stop.controller.signal });
    const reason = yield* drain(loop);
    refresh();
    state.summary = await finish(opened, run, reason, saver.save);
  } catch (err) {
    failed = err instanceof StartError;
    throw opened.store.backend.failure(err);
  } finally {
    saver.stop();
    stopWatchdog?.();
    stop.detach();
    if (!state.summary)
      await leaveEarly(stop.controller, loop, () => {
        refresh?.();
        return saver.save(failed ? 'failed' : 'interrupted');
      });
    await run?.close();
    await opened.store.close();
  }
}

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
  tlsConnectOptions(settings); // a tls.ca file that cannot be read is an error before anything is opened
  checkMiddlewares(spider, options);
  const log = options.logger ?? createLogger(settings.logLevel);
  const fresh = createStats();
  const state: CrawlState = { started: false, session: { startedAt: Date.now(), pagesAtStart: 0 } };
  const batches = () => crawlBatches(spider, settings, options, log, state);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) for (const json of batch) yield JSON.parse(json) as Record<string, unknown>;
    },
    async run() {
      for await (const _ of batches());
      return state.summary!;
    },
    async *batches() {
      for await (const batch of batches()) yield batch.map((json) => JSON.parse(json) as Record<string, unknown>);
    },
    get stats() {
      return state.open?.stats ?? fresh;
    },
    get summary() {
      return state.summary;
    },
    get resumed() {
      return state.open?.begun.resumed ?? false;
    },
    session: state.session,
  };
}

/**
 * Left early (an error, or the consumer broke out of its loop): stop, let
 * in-flight requests finish and commit, and leave the run to resume next time.
 */
async function leaveEarly(stop: AbortController, loop: AsyncGenerator<string[], EndReason> | undefined, save: () => Promise<void>): Promise<void> {
  try {
    stop.abort();
    if (loop) for (let s = await loop.next(); !s.done; s = await loop.next());
  } catch {
    /* the database may be the thing that failed; what was committed stays */
  }
  try {
    await save();
  } catch {
    /* as above */
  }
}

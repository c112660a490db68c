import { renderer } from '../browser/renderer.js';
import { checkBrowser } from '../browser/launch.js';
import { addressPolicy } from '../fetch/addresses.js';
import { createFetcher } from '../fetch/fetcher.js';
import type { Limiter } from '../fetch/limiter.js';
import { createRobots } from '../fetch/robots.js';
import { createThrottle, type Throttle } from '../fetch/throttle.js';
import type { Frontier, QueuedRequest } from '../frontier/frontier.js';
import { startLagMonitor, type LagMonitor } from '../lag.js';
import type { Logger } from '../log.js';
import { builtinMiddlewares } from '../middleware/builtins.js';
import { replaySettings } from '../middleware/cache.js';
import { createChain, type Chain, type Exchange } from '../middleware/chain.js';
import { robotsFetcher } from '../middleware/follow.js';
import { placeMiddlewares } from '../middleware/order.js';
import type { Middleware } from '../middleware/types.js';
import { inlineParser, withMainThread, type Parser } from '../parser/parse.js';
import { createWorkerPool } from '../parser/pool.js';
import { schemaColumns } from '../pipelines.js';
import { retryTracker, type RetryTracker } from '../retries.js';
import { scopedSettings } from '../run-scope.js';
import { robotsToken, type Settings } from '../settings.js';
import { givenArgs, unreadArgWarnings, type Spider } from '../spider.js';
import { createStats, type Stats } from '../stats.js';
import { startRun } from '../starts.js';
import type { Begun } from '../storage/backend.js';
import type { RunMode } from '../storage/runs.js';
import { requestHandler, type Completion } from './handle.js';
import { clusterStore, localStore, type RunStore } from './stores.js';

/**
 * Builds a run: its store (local SQLite, or a cluster's Redis), then over
 * it, once its scope is known, the middleware chain with the limiter, the
 * throttle and robots.txt, and the parser. The one place a run is put
 * together, for both backends; `crawl.ts` drives it.
 */

/** How a run is to be opened (see `CrawlOptions`). */
export interface RunOptions {
  fresh?: boolean;
  cache?: boolean;
  replay?: boolean;
  /** A Redis URL: a cluster's run. */
  frontier?: string;
  spiderModule?: string;
  /** Middlewares beside the spider's own, placed after them. */
  middlewares?: readonly Middleware[];
}

/** A run begun (or joined), its store open: what it resumes from is known. */
export interface OpenRun {
  store: RunStore;
  begun: Begun;
  /** The counters to go on from. */
  stats: Stats;
}

/**
 * Opens the run's store and begins (or resumes, or joins) its run. A
 * failure to begin closes the store again and comes back as the store's one-line error.
 */
export async function openRun(spider: Spider, settings: Settings, options: RunOptions, log: Logger): Promise<OpenRun> {
  const store = options.frontier ? await clusterStore(options.frontier, spider.name, settings) : localStore(settings.storageDir, spider.name, { replay: Boolean(options.replay) });
  try {
    const begun = await store.backend.begin({
      spider: { name: spider.name, args: givenArgs(spider) },
      settings,
      columns: schemaColumns(spider.itemSchema),
      fresh: Boolean(options.fresh),
      cache: Boolean(options.cache),
      replay: Boolean(options.replay),
      log,
    });
    return { store, begun, stats: createStats(begun.stats) };
  } catch (err) {
    await store.close().catch(() => {});
    throw store.backend.failure(err);
  }
}

/** A run put together, ready for the scheduler. */
export interface AssembledRun {
  mode: RunMode;
  /** The settings the run goes by: its scope resolved; a replay's without robots.txt, delays and retried statuses. */
  settings: Settings;
  frontier: Frontier;
  chain: Chain;
  handle: (req: QueuedRequest) => Promise<Completion>;
  limiter: Limiter;
  throttle: Throttle;
  lag: LagMonitor;
  parser: Parser;
  retries: RetryTracker;
  /** The exchanges under way (for the watchdog). */
  inFlight: Set<Exchange>;
  /** Stops and closes what was built here (not the store). */
  close(): Promise<void>;
}

/**
 * Where callbacks run: in `settings.workers` worker threads when the spider's
 * module is known, else in this thread; a rendered page's always here, with its live page.
 */
const parserFor = (spider: Spider, settings: Settings, spiderModule: string | undefined, log: Logger): Parser =>
  settings.workers > 0 && spiderModule
    ? withMainThread(createWorkerPool(settings.workers, { spiderModule, args: { ...givenArgs(spider) }, settings }, log), () => inlineParser(spider, settings, log))
    : inlineParser(spider, settings, log);

/**
 * Enqueues the start requests if the run has not yet, fixing its scope, and
 * builds what the run goes through: settings → middleware chain (with the
 * limiter, the throttle, robots.txt and the cache) → the handler of each
 * request, and the parser. `startRun` may throw (`start()` failed): nothing
 * is built before it.
 */
export async function assembleRun(open: OpenRun, spider: Spider, settings: Settings, options: RunOptions, log: Logger): Promise<AssembledRun> {
  const { store, begun, stats } = open;
  // A spider that renders everything says at once when there is no browser, before its run starts; a replay needs none.
  if (spider.render && begun.mode !== 'replay') await checkBrowser(settings.browser);
  const scope = await startRun(spider, settings, begun, store.backend);
  // Said when the run starts: a resume does not run start(), where a spider may read its arguments.
  if (!begun.startsDone) for (const warning of unreadArgWarnings(spider)) log.warn(warning);
  const base = begun.mode === 'replay' ? replaySettings(settings) : settings;
  const runSettings = scopedSettings(base, scope);
  // Public addresses, and whichever kinds the start URLs are on.
  const network = createFetcher(settings, addressPolicy(settings.allowPrivateAddresses, scope.addressKinds));
  const limiter = store.limiter(base);
  const lag = startLagMonitor(1000, (ms) => log.warn(`event loop blocked for ${ms} ms: a callback computing synchronously stalls every request`));
  const throttle = createThrottle(runSettings.throttle, runSettings.perHost.concurrency, (host, ms) => {
    log.debug(`throttle: ${host} delay now ${ms} ms`);
    limiter.setDelay(host, 'throttle', ms);
  });
  let chain: Chain | undefined;
  const robots = runSettings.obeyRobots
    ? createRobots(
        robotsFetcher(() => chain!, { settings: runSettings, log }),
        robotsToken(settings),
        (host, ms) => limiter.setDelay(host, 'robots', Math.min(ms, settings.perHost.maxCrawlDelayMs)),
        store.robotsCache && { cache: store.robotsCache, lockMs: settings.timeouts.requestMs + 5_000 },
      )
    : null;
  const inFlight = new Set<Exchange>();
  const cache = begun.responses && { responses: begun.responses, mode: begun.mode === 'replay' ? ('replay' as const) : ('store' as const) };
  const builtins = builtinMiddlewares({ settings: runSettings, robots, lag, stats, inFlight, limiter, throttle, cache });
  const browser = renderer(spider.render, runSettings, network, log, stats);
  chain = createChain(placeMiddlewares(builtins, [...spider.middlewares, ...(options.middlewares ?? [])]), browser.fetch);
  const parser = parserFor(spider, scopedSettings(settings, scope), options.spiderModule, log);
  const retries = retryTracker(log, runSettings.retry.maxAttempts, stats, begun.frontier.shared === true);
  const handle = requestHandler({ spider, settings: runSettings, chain, parser, stats, log, retries });
  return {
    mode: begun.mode,
    settings: runSettings,
    frontier: begun.frontier,
    chain,
    handle,
    limiter,
    throttle,
    lag,
    parser,
    retries,
    inFlight,
    async close() {
      lag.stop();
      await limiter.stop();
      await parser.close();
      await browser.close();
      await network.close().catch(() => {});
    },
  };
}

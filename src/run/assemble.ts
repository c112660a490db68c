import { autoRender, type AutoRender } from '../browser/auto.js';
import { autoSync } from '../browser/auto-sync.js';
import { renderProblem } from '../browser/render.js';
import { renderer } from '../browser/renderer.js';
import { ConfigError } from '../errors.js';
import { checkBrowser } from '../browser/launch.js';
import { addressPolicy, hostAddressKinds, type AddressPolicy } from '../fetch/addresses.js';
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
import { runProxyPool } from '../middleware/proxies.js';
import type { Middleware } from '../middleware/types.js';
import { inlineParser, withMainThread, type Parser } from '../parser/parse.js';
import type { ProxyPool } from '../proxy/pool.js';
import { offloadBigPages } from '../parser/offload.js';
import { createWorkerPool } from '../parser/pool.js';
import { schemaColumns } from '../pipelines.js';
import { retryTracker, type RetryTracker } from '../retries.js';
import { scopedSettings, type RunScope } from '../run-scope.js';
import { robotsToken, type Settings } from '../settings.js';
import { givenArgs, unreadArgWarnings, type Spider } from '../spider.js';
import { createStats, type Stats } from '../stats.js';
import { startRun, type StartFetch } from '../starts.js';
import type { Begun } from '../storage/backend.js';
import type { RunMode } from '../storage/runs.js';
import { createSessionPool, type OnBan, type SessionPool } from '../session/pool.js';
import { sessionSync } from '../session/sync.js';
import { requestHandler, type Completion } from './handle.js';
import { fetchInStart } from './start-fetch.js';
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
  /** Told of every ban judged, after its session is retired (the proxies bench a proxy that collects them). */
  onBan?: OnBan;
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
  // Redis holds no blobs of pages: a cluster's failures are listed (crawl collect) without their screenshots.
  if (options.frontier && settings.browser.screenshotOnError) log.warn('browser.screenshotOnError: screenshots are stored by local (SQLite) runs only, not by a cluster (--frontier)');
  try {
    const begun = await store.backend.begin({
      spider: { name: spider.name, args: givenArgs(spider) },
      settings,
      columns: schemaColumns(spider.itemSchema),
      itemKey: spider.itemKey ?? null,
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
  /** The run's proxies (`proxy`, `proxies`), null without: the sessions middleware reports bans through them (`noteBan`). */
  proxies: ProxyPool | null;
  /** The decisions of `render: 'auto'` (for the stats). */
  auto: AutoRender;
  /** Stops and closes what was built here (not the store). */
  close(): Promise<void>;
}

/**
 * Where callbacks run: in `settings.workers` worker threads when the spider's
 * module is known, else in this thread, but for pages over
 * `offThreadPageBytes`, parsed in a worker started for them (given the
 * module); a rendered page's always here, with its live page.
 */
function parserFor(spider: Spider, settings: Settings, spiderModule: string | undefined, log: Logger): Parser {
  const inline = () => inlineParser(spider, settings, log);
  if (!spiderModule) return inline();
  const pool = (size: number) => createWorkerPool(size, { spiderModule, args: { ...givenArgs(spider) }, settings }, log);
  if (settings.workers > 0) return withMainThread(pool(settings.workers), inline);
  return settings.offThreadPageBytes > 0 ? offloadBigPages(inline(), settings.offThreadPageBytes, () => pool(1), log) : inline();
}

/** The network and the request path of a run, built before its scope is known (`start()` fetches through them). */
interface RequestPath {
  network: ReturnType<typeof createFetcher>;
  addresses: AddressPolicy;
  limiter: Limiter;
  lag: LagMonitor;
  throttle: Throttle;
  chain: Chain;
  inFlight: Set<Exchange>;
  proxies: ProxyPool | null;
  sessions: SessionPool;
  auto: AutoRender;
  /** The settings the chain's exchanges go by: the scope so far, then the run's. */
  scoped: { settings: Settings };
  close(): Promise<void>;
}

/**
 * The chain, with the limiter, the throttle, robots.txt and the cache, over
 * the network. The scope is read per exchange (`ctx.settings`), so it may
 * grow while `start()` fetches; the address guard admits the kinds of
 * address each start URL is on as it is added.
 */
async function buildRequestPath(open: OpenRun, spider: Spider, settings: Settings, base: Settings, options: RunOptions, log: Logger): Promise<RequestPath> {
  const { store, begun, stats } = open;
  const scoped = { settings: scopedSettings(base, begun.scope ?? { sites: [], addressKinds: [] }) };
  // Public addresses, and whichever kinds the start URLs are on (admitted as they come).
  const addresses = addressPolicy(settings.allowPrivateAddresses, begun.scope?.addressKinds ?? []);
  const network = createFetcher(settings, addresses);
  const limiter = store.limiter(base);
  const lag = startLagMonitor(1000, (ms) => log.warn(`event loop blocked for ${ms} ms: a callback computing synchronously stalls every request`));
  const throttle = createThrottle(base.throttle, base.perHost.concurrency, (host, ms) => {
    log.debug(`throttle: ${host} delay now ${ms} ms`);
    limiter.setDelay(host, 'throttle', ms);
  });
  let chain: Chain | undefined;
  const robots = base.obeyRobots
    ? createRobots(
        // A getter: robots.txt's redirects are vetted against the scope as it is when each is fetched.
        robotsFetcher(() => chain!, { log, get settings() { return scoped.settings; } }),
        robotsToken(settings),
        (host, ms) => limiter.setDelay(host, 'robots', Math.min(ms, settings.perHost.maxCrawlDelayMs)),
        store.robotsCache && { cache: store.robotsCache, lockMs: settings.timeouts.requestMs + 5_000 },
      )
    : null;
  const inFlight = new Set<Exchange>();
  const proxies = runProxyPool(base, log, stats);
  // A ban counts against the session's proxy too: `proxyBanLimit` bans bench it.
  const onBan: OnBan = (ctx, reason) => {
    if (ctx.proxy) proxies?.noteBan(ctx.proxy.id);
    options.onBan?.(ctx, reason);
  };
  const sessions = createSessionPool({ size: settings.sessions.size, cookies: settings.cookies, userAgents: settings.userAgents, stats, onBan, log });
  const syncing = sessionSync(sessions, store.backend.sessions(begun.runId), log);
  await syncing.restore();
  syncing.start();
  const cache = begun.responses && { responses: begun.responses, mode: begun.mode === 'replay' ? ('replay' as const) : ('store' as const) };
  // The built-ins read the scope per exchange, not from these settings.
  const isBanned = spider.isBanned?.bind(spider);
  const builtins = builtinMiddlewares({ settings: base, robots, lag, stats, inFlight, limiter, throttle, cache, proxies, sessions, isBanned });
  // The browser's settings are not the scope's; what it checks against the scope, it reads per exchange.
  // `render: 'auto'`'s decisions, the run's own (a resume goes on with them); a pattern past the limit is rendered, said once.
  let full = false;
  const auto = autoRender(settings.browser, () => void (full ||= (log.warn("render auto: too many URL patterns: the pages of new ones are rendered"), true)));
  const patterns = autoSync(auto, store.backend.renderPatterns(begun.runId), log);
  await patterns.restore();
  patterns.start();
  const browser = renderer(spider.render, base, network, log, stats, auto);
  chain = createChain(placeMiddlewares(builtins, [...spider.middlewares, ...(options.middlewares ?? [])]), browser.fetch);
  const close = async () => {
    await syncing.stop().catch((err: Error) => log.warn(`could not save the sessions: ${err.message}`));
    await patterns.stop().catch((err: Error) => log.warn(`could not save the render patterns: ${err.message}`));
    lag.stop();
    await limiter.stop();
    await browser.close();
    await network.close().catch(() => {});
  };
  return { network, addresses, limiter, lag, throttle, chain, inFlight, proxies, sessions, auto, scoped, close };
}

/**
 * What `spider.fetch()` goes through in `start()`: the chain, under the
 * scope so far, the request's address kinds admitted first (as a start URL's).
 */
function startFetch(path: RequestPath, base: Settings, log: Logger): StartFetch {
  return async (req, sites) => {
    path.addresses.admit(await hostAddressKinds(new URL(req.url).hostname, base.timeouts.connectMs));
    path.scoped.settings = scopedSettings(base, { sites: [...sites], addressKinds: [] });
    return fetchInStart(req, { chain: path.chain, settings: path.scoped.settings, log });
  };
}

/**
 * Builds what the run goes through: settings → middleware chain (with the
 * limiter, the throttle, robots.txt and the cache); then enqueues the start
 * requests if the run has not yet, `start()` fetching through that chain,
 * fixing its scope; then the handler of each request, and the parser.
 * `startRun` may throw (`start()` failed): what was built is closed again.
 */
export async function assembleRun(open: OpenRun, spider: Spider, settings: Settings, options: RunOptions, log: Logger): Promise<AssembledRun> {
  const { store, begun, stats } = open;
  const base = begun.mode === 'replay' ? replaySettings(settings) : settings;
  const problem = renderProblem(spider.render);
  if (problem) throw new ConfigError(`spider '${spider.name}': ${problem}, not ${JSON.stringify(spider.render)}`);
  // A spider that renders everything (or may: 'auto') says at once when there is no browser, before its run starts; a replay needs none.
  if (spider.render && begun.mode !== 'replay') await checkBrowser(settings.browser);
  const path = await buildRequestPath(open, spider, settings, base, options, log);
  let scope: RunScope;
  try {
    scope = await startRun(spider, settings, begun, store.backend, startFetch(path, base, log));
  } catch (err) {
    await path.close();
    throw err;
  }
  // Said when the run starts: a resume does not run start(), where a spider may read its arguments.
  if (!begun.startsDone) for (const warning of unreadArgWarnings(spider)) log.warn(warning);
  const runSettings = scopedSettings(base, scope);
  path.addresses.admit(scope.addressKinds);
  path.scoped.settings = runSettings;
  const { chain, limiter, throttle, lag, inFlight, proxies, sessions, auto } = path;
  const parser = parserFor(spider, scopedSettings(settings, scope), options.spiderModule, log);
  const retries = retryTracker(log, runSettings.retry.maxAttempts, stats, begun.frontier.shared === true);
  const handle = requestHandler({ spider, settings: runSettings, chain, parser, stats, log, retries, sessions, auto });
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
    proxies,
    auto,
    async close() {
      await path.close();
      await parser.close();
    },
  };
}

import { toNewRequest } from './callbacks.js';
import { FetchError } from './errors.js';
import type { Fetched, Fetcher } from './fetch/fetcher.js';
import { LimiterStoppedError, type Limiter } from './fetch/limiter.js';
import { isRetryableStatus, parseRetryAfter, reachesCallback, retryDelay } from './fetch/retry.js';
import type { Robots } from './fetch/robots.js';
import { packFollowUps } from './followups.js';
import type { Frontier, Outcome, QueuedRequest } from './frontier/frontier.js';
import { settleInSteps } from './frontier/steps.js';
import type { Throttle } from './fetch/throttle.js';
import type { LagMonitor } from './lag.js';
import type { Logger } from './log.js';
import { toRequest, type Parser } from './parser/parse.js';
import { redirectStep } from './redirects.js';
import type { Settings } from './settings.js';
import type { Spider } from './spider.js';
import { bump, recordLag, type Stats } from './stats.js';
import { recordLatency } from './latency.js';
import { capItems } from './limits.js';
import { retryTracker } from './retries.js';

/** What the scheduler drives. */
export interface SchedulerParts {
  spider: Spider;
  settings: Settings;
  frontier: Frontier;
  fetcher: Fetcher;
  robots: Robots | null;
  limiter: Limiter;
  stats: Stats;
  log: Logger;
  throttle: Throttle;
  lag: LagMonitor;
  /** Runs callbacks, here or in worker threads. */
  parser: Parser;
  /** Aborted to stop gracefully: no new requests, in-flight ones finish. */
  stop: AbortSignal;
}

/** Commit when this many completions wait, */
const SETTLE_BATCH = 64;
/** or when the oldest has waited this long. */
const SETTLE_MS = 20;
/** Take at least this many requests from the frontier at once while the pipeline is more than half full, */
const POP_MIN = 16;
/** or this many from a shared frontier, which holds no buffer to draw on meanwhile. */
const POP_MIN_SHARED = 2;

/** How often the watchdog looks for requests in flight past their deadline. */
const WATCHDOG_MS = 5_000;

/** Why the scheduler loop ended. */
export type EndReason = 'finished' | 'stopped' | 'maxItems' | 'maxRequests';

/** An outcome plus its items (JSON) to hand to a programmatic consumer after commit. */
type Completion = { outcome: Outcome; items: string[] };

/**
 * The crawl loop: frontier → robots → per-host limiter → fetch → callback →
 * one transaction per batch of completions. Yields the items of each
 * committed batch, so a consumer only ever sees stored items, and a slow
 * consumer slows the crawl instead of buffering it. Returns why it ended.
 */
export async function* schedule(parts: SchedulerParts): AsyncGenerator<string[], EndReason> {
  const { spider, settings, frontier, fetcher, robots, limiter, stats, log, stop, throttle, lag, parser } = parts;
  // Requests held beyond those in flight keep the pipe full; a shared frontier's are better left to the other workers.
  const ahead = frontier.shared ? 1 : 2;
  const hostBuffer = settings.perHost.concurrency * ahead;
  const globalBuffer = settings.concurrency * ahead;
  const hostLoad = new Map<string, number>();
  const completions: Completion[] = [];
  const inFlight = new Map<number, { url: string; startedAt: number }>();
  const increasesBefore = stats.throttleIncreases;
  const refreshStats = () => {
    recordLag(stats, lag.maxLagMs, parser.maxLagMs);
    stats.throttleIncreases = increasesBefore + throttle.increases;
    stats.hostDelays = throttle.delays(20);
  };
  // The fetcher's own deadline should end every exchange; a request past it means a bug or a stuck
  // socket, and the log says which, instead of the crawl just going quiet.
  const watchdog = setInterval(() => {
    const limit = settings.timeouts.requestMs + WATCHDOG_MS;
    for (const { url, startedAt } of inFlight.values()) {
      const age = Date.now() - startedAt;
      if (age > limit) log.warn(`watchdog: ${url} in flight for ${Math.round(age / 1000)} s (deadline ${settings.timeouts.requestMs / 1000} s)`);
    }
    refreshStats();
  }, WATCHDOG_MS);
  watchdog.unref();
  let outstanding = 0;
  let dispatched = 0;
  const requestsBefore = stats.requests;
  let endReason: EndReason | null = null;

  let wakeUp: (() => void) | null = null;
  const wake = () => {
    wakeUp?.();
    wakeUp = null;
  };
  const sleep = (ms?: number) =>
    new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => resolve(), ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const onStop = () => {
    endReason ??= 'stopped';
    void limiter.stop();
    wake();
  };
  stop.addEventListener('abort', onStop, { once: true });
  if (stop.aborted) onStop(); // stopped before the loop began, e.g. Ctrl-C during a long start()
  if (settings.maxItems > 0 && stats.items >= settings.maxItems) endReason = 'maxItems'; // a resume after a kill at the limit

  const retries = retryTracker(log, settings.retry.maxAttempts, stats, frontier.shared === true);
  const retryOrFail = (req: QueuedRequest, reason: string, status: number | null, retryAfterMs: number | null): Outcome => {
    if (req.attempts < settings.retry.maxAttempts) {
      stats.retries++;
      const delayMs = retryDelay(req.attempts, retryAfterMs, settings.retry);
      retries.waiting(req, reason, delayMs);
      return { kind: 'retry', id: req.id, status, reason, readyAt: Date.now() + delayMs };
    }
    return fail(req, reason, status);
  };
  const fail = (req: QueuedRequest, reason: string, status: number | null, detail?: string): Outcome => {
    bump(stats.failures, reason);
    log.debug(`failed ${req.url}: ${reason}${detail ? ` ${detail}` : ''}`);
    return { kind: 'failed', id: req.id, status, reason: detail ? `${reason}: ${detail}` : reason };
  };

  /** The outcome of a redirect (see redirects.ts), or null when the response is none. */
  const redirect = (req: QueuedRequest, res: Fetched): Outcome | null => {
    const step = redirectStep(req, res, req.redirects, settings.maxRedirects);
    if (step.kind === 'none') return null;
    if (step.kind === 'fail') return fail(req, step.reason, res.status, step.detail);
    stats.redirects++;
    const next = toRequest({ ...req, url: step.url, method: step.method, body: step.body, meta: step.meta });
    // The hop keeps its parent's depth and passes scope and dedupe like any link.
    const followUp = toNewRequest(spider, next, { id: req.id, depth: req.depth }, settings, 0, req.redirects + 1);
    return { kind: 'done', id: req.id, status: res.status, url: req.url, items: [], followUps: packFollowUps([followUp]) };
  };

  const parse = async (req: QueuedRequest, res: Fetched): Promise<Completion> => {
    const result = await parser.parse({ req, res });
    if (!result.ok) {
      log.warn(result.message);
      if (result.reason === 'worker:crashed') return { outcome: retryOrFail(req, result.reason, res.status, null), items: [] };
      return { outcome: fail(req, result.reason, res.status, result.stack), items: [] };
    }
    stats.pages++;
    stats.badLinks += result.badLinks;
    stats.droppedItems += result.dropped;
    stats.duplicates += result.followUps.duplicates;
    for (const warning of result.warnings) log.warn(`${res.url}: ${warning}`);
    for (const bad of result.invalid) log.debug(`invalid item from ${res.url}: ${bad.issues.map((i) => `${i.path || '(item)'}: ${i.message}`).join('; ')}`);
    return {
      outcome: { kind: 'done', id: req.id, status: res.status, url: res.url, items: result.items, invalid: result.invalid, followUps: result.followUps },
      items: result.items,
    };
  };

  const handle = async (req: QueuedRequest): Promise<Completion> => {
    const plain = (outcome: Outcome): Completion => ({ outcome, items: [] });
    if (robots) {
      const verdict = await robots.check(req.url);
      if (verdict.kind === 'disallowed') {
        stats.disallowed++;
        return plain({ kind: 'disallowed', id: req.id, reason: 'robots.txt' });
      }
      if (verdict.kind === 'unavailable') return plain(retryOrFail(req, verdict.reason, null, Math.max(0, verdict.retryAt - Date.now())));
    }
    let res: Fetched;
    let startedAt = 0;
    try {
      res = await limiter.schedule(req.host, async () => {
        stats.requests++;
        startedAt = Date.now();
        inFlight.set(req.id, { url: req.url, startedAt });
        try {
          return await fetcher.fetch(req, (s) => reachesCallback(s, settings.handleStatuses));
        } finally {
          inFlight.delete(req.id);
        }
      });
    } catch (err) {
      // Stopping: jobs the limiter dropped go back to the queue untouched.
      if (err instanceof LimiterStoppedError) return plain({ kind: 'requeue', id: req.id });
      if (!(err instanceof FetchError)) throw err;
      if (err.reason.startsWith('timeout:') && lag.stalledSince(startedAt)) {
        // The clock ran while the event loop was frozen: the server is not to blame.
        stats.stallRetries++;
        return plain({ kind: 'requeue', id: req.id });
      }
      // A body refused for its size or encoding came from a host that answered: no reason to slow down for it.
      if (err.status === undefined) throttle.record(req.host, null, Date.now() - startedAt);
      const status = err.status ?? null;
      return plain(err.retryable ? retryOrFail(req, err.reason, status, null) : fail(req, err.reason, status, err.message));
    }
    const tookMs = Date.now() - startedAt;
    throttle.record(req.host, res.status, tookMs);
    recordLatency(stats.latency, req.host, tookMs);
    bump(stats.responses, String(res.status));
    stats.bytes += res.body.length;
    const hop = redirect(req, res);
    if (hop) return plain(hop);
    if (isRetryableStatus(res.status, settings.retry)) return plain(retryOrFail(req, `http:${res.status}`, res.status, parseRetryAfter(res.headers['retry-after'])));
    if (reachesCallback(res.status, settings.handleStatuses)) return parse(req, res);
    return plain(fail(req, `http:${res.status}`, res.status));
  };

  const dispatch = (req: QueuedRequest) => {
    outstanding++;
    stats.inFlight = outstanding;
    dispatched++;
    hostLoad.set(req.host, (hostLoad.get(req.host) ?? 0) + 1);
    handle(req)
      .catch((err: Error): Completion => ({ outcome: fail(req, 'internal', null, err.stack ?? String(err)), items: [] }))
      .then((c) => {
        if (completions.length === 0) firstPendingAt = Date.now();
        completions.push(c);
        outstanding--;
        stats.inFlight = outstanding;
        const load = hostLoad.get(req.host)! - 1;
        if (load === 0) hostLoad.delete(req.host);
        else hostLoad.set(req.host, load);
        wake();
      });
  };

  const fill = async () => {
    while (endReason === null && outstanding < globalBuffer) {
      let room = Math.min(globalBuffer - outstanding, 64);
      // Popping one request per transaction as each slot frees up would cost a commit per page; wait for a handful.
      if (room < (frontier.shared ? POP_MIN_SHARED : POP_MIN) && outstanding > globalBuffer / 2) return;
      if (settings.maxRequests > 0) {
        room = Math.min(room, settings.maxRequests - requestsBefore - dispatched);
        if (room <= 0) {
          if (outstanding === 0) endReason = 'maxRequests';
          return;
        }
      }
      const busy = [...hostLoad].filter(([, n]) => n >= hostBuffer).map(([h]) => h);
      const batch = await frontier.pop(room, Date.now(), busy);
      if (batch.length === 0) return;
      stats.queued -= batch.length;
      retries.taken(batch);
      for (const req of batch) dispatch(req);
    }
  };

  let firstPendingAt = 0;
  /**
   * Completions are committed in batches: one transaction for many pages costs
   * far less than one each. A batch waits only while the pipeline is full;
   * when it runs low, the follow-ups it holds are needed now, so it commits at once.
   */
  const settleDue = () =>
    completions.length >= SETTLE_BATCH ||
    outstanding < globalBuffer / 2 ||
    endReason !== null ||
    Date.now() - firstPendingAt >= SETTLE_MS;

  try {
    for (;;) {
      if (completions.length > 0 && settleDue()) {
        const batch = completions.splice(0);
        if (settings.maxItems > 0) stats.itemsOverLimit += capItems(batch, settings.maxItems - stats.items);
        const result = await settleInSteps(frontier, batch.map((c) => c.outcome), log);
        stats.items += result.items;
        stats.invalidItems += result.invalid;
        // A shared frontier discards results whose lease another worker took over (this one was too slow): theirs count.
        if (result.stale) log.warn(`${result.stale} results discarded: their requests had passed to another worker (frontierLeaseMs)`);
        stats.duplicates += result.duplicates;
        stats.queued += result.queued;
        for (const [reason, n] of Object.entries(result.skipped)) bump(stats.skipped, reason, n);
        if (settings.maxItems > 0 && stats.items >= settings.maxItems && endReason === null) {
          endReason = 'maxItems';
          void limiter.stop();
        }
        const items = batch.flatMap((c) => c.items);
        if (items.length > 0) yield items;
        continue;
      }
      await fill();
      if (outstanding > 0 || completions.length > 0) {
        await sleep(completions.length > 0 ? Math.max(1, SETTLE_MS - (Date.now() - firstPendingAt)) : undefined);
        continue;
      }
      if (endReason !== null) return endReason;
      const next = await frontier.nextReadyAt();
      if (next === null) return 'finished';
      // Work is left but none is ready: every queued request waits on a retry time. Sleep until the first is due.
      const wait = next - Date.now();
      if (wait > 0) {
        log.debug(`waiting ${wait} ms for the next request to become ready`);
        await sleep(wait);
      }
    }
  } finally {
    clearInterval(watchdog);
    refreshStats();
    stop.removeEventListener('abort', onStop);
  }
}

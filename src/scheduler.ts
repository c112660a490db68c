import type { Limiter } from './fetch/limiter.js';
import type { Frontier, QueuedRequest } from './frontier/frontier.js';
import { settleInSteps } from './frontier/steps.js';
import type { Logger } from './log.js';
import type { Completion } from './run/handle.js';
import type { Settings } from './settings.js';
import { bump, type Stats } from './stats.js';
import { capItems } from './limits.js';
import type { RetryTracker } from './retries.js';

/** What the scheduler drives. */
export interface SchedulerParts {
  settings: Settings;
  frontier: Frontier;
  /** What becomes of one request: the middleware chain, then its callback (see run/handle.ts). */
  handle(req: QueuedRequest): Promise<Completion>;
  /** Stopped to make requests waiting for a slot give up (they go back to the queue). */
  limiter: Pick<Limiter, 'stop'>;
  retries: RetryTracker;
  stats: Stats;
  log: Logger;
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

/** Why the scheduler loop ended. */
export type EndReason = 'finished' | 'stopped' | 'maxItems' | 'maxRequests';

/** A sleep that `wake()` ends early: the loop sleeps until a completion arrives, a retry is due, or the crawl stops. */
function alarm() {
  let wakeUp: (() => void) | null = null;
  return {
    wake() {
      wakeUp?.();
      wakeUp = null;
    },
    sleep: (ms?: number) =>
      new Promise<void>((resolve) => {
        const timer = ms === undefined ? undefined : setTimeout(() => resolve(), ms);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
  };
}

/**
 * The requests dispatched to `handle` and their completions, waiting to be
 * committed; counted per host, so that no host takes more of the buffer than its share.
 */
function pipeline(handle: SchedulerParts['handle'], stats: Stats, wake: () => void) {
  const load = new Map<string, number>();
  const completions: Completion[] = [];
  const p = {
    completions,
    outstanding: 0,
    dispatched: 0,
    /** When the oldest completion waiting to be committed arrived. */
    firstPendingAt: 0,
    /** Hosts with `limit` requests or more under way. */
    busy: (limit: number) => [...load].filter(([, n]) => n >= limit).map(([h]) => h),
    dispatch(req: QueuedRequest) {
      stats.inFlight = ++p.outstanding;
      p.dispatched++;
      load.set(req.host, (load.get(req.host) ?? 0) + 1);
      // handle() never rejects: what goes wrong with a request is that request's outcome.
      void handle(req).then((c) => {
        if (completions.length === 0) p.firstPendingAt = Date.now();
        completions.push(c);
        stats.inFlight = --p.outstanding;
        const n = load.get(req.host)! - 1;
        if (n === 0) load.delete(req.host);
        else load.set(req.host, n);
        wake();
      });
    },
  };
  return p;
}

/**
 * Commits a batch of completions (`maxItems` applied first), in steps of one
 * transaction each, and counts what they stored. Returns their items.
 */
async function commit(batch: Completion[], { frontier, settings, stats, log }: SchedulerParts): Promise<string[]> {
  if (settings.maxItems > 0) stats.itemsOverLimit += capItems(batch, settings.maxItems - stats.items);
  const result = await settleInSteps(frontier, batch.map((c) => c.outcome), log);
  stats.items += result.items;
  stats.invalidItems += result.invalid;
  // A shared frontier discards results whose lease another worker took over (this one was too slow): theirs count.
  if (result.stale) log.warn(`${result.stale} results discarded: their requests had passed to another worker (frontierLeaseMs)`);
  stats.duplicates += result.duplicates;
  stats.queued += result.queued;
  for (const [reason, n] of Object.entries(result.skipped)) bump(stats.skipped, reason, n);
  return batch.flatMap((c) => c.items);
}

/**
 * The crawl loop: pop requests from the frontier, dispatch each to `handle`
 * (the middleware chain and the callback), and settle their outcomes, one
 * transaction per batch. Yields the items of each committed batch, so a
 * consumer only ever sees stored items, and a slow consumer slows the crawl
 * instead of buffering it. Returns why it ended.
 */
export async function* schedule(parts: SchedulerParts): AsyncGenerator<string[], EndReason> {
  const { settings, frontier, handle, limiter, retries, stats, log, stop } = parts;
  // Requests held beyond those in flight keep the pipe full; a shared frontier's are better left to the other workers.
  const ahead = frontier.shared ? 1 : 2;
  const hostBuffer = settings.perHost.concurrency * ahead;
  const globalBuffer = settings.concurrency * ahead;
  const requestsBefore = stats.requests;
  let endReason: EndReason | null = null;
  const { wake, sleep } = alarm();
  const pipe = pipeline(handle, stats, wake);
  const onStop = () => {
    endReason ??= 'stopped';
    void limiter.stop();
    wake();
  };
  stop.addEventListener('abort', onStop, { once: true });
  if (stop.aborted) onStop(); // stopped before the loop began, e.g. Ctrl-C during a long start()
  if (settings.maxItems > 0 && stats.items >= settings.maxItems) endReason = 'maxItems'; // a resume after a kill at the limit

  const fill = async () => {
    while (endReason === null && pipe.outstanding < globalBuffer) {
      let room = Math.min(globalBuffer - pipe.outstanding, 64);
      // Popping one request per transaction as each slot frees up would cost a commit per page; wait for a handful.
      if (room < (frontier.shared ? POP_MIN_SHARED : POP_MIN) && pipe.outstanding > globalBuffer / 2) return;
      if (settings.maxRequests > 0) {
        room = Math.min(room, settings.maxRequests - requestsBefore - pipe.dispatched);
        if (room <= 0) {
          if (pipe.outstanding === 0) endReason = 'maxRequests';
          return;
        }
      }
      const batch = await frontier.pop(room, Date.now(), pipe.busy(hostBuffer));
      if (batch.length === 0) return;
      stats.queued -= batch.length;
      retries.taken(batch);
      for (const req of batch) pipe.dispatch(req);
    }
  };
  /**
   * Completions are committed in batches: one transaction for many pages costs
   * far less than one each. A batch waits only while the pipeline is full;
   * when it runs low, the follow-ups it holds are needed now, so it commits at once.
   */
  const settleDue = () =>
    pipe.completions.length >= SETTLE_BATCH || pipe.outstanding < globalBuffer / 2 || endReason !== null || Date.now() - pipe.firstPendingAt >= SETTLE_MS;

  try {
    for (;;) {
      if (pipe.completions.length > 0 && settleDue()) {
        const items = await commit(pipe.completions.splice(0), parts);
        if (settings.maxItems > 0 && stats.items >= settings.maxItems && endReason === null) {
          endReason = 'maxItems';
          void limiter.stop();
        }
        if (items.length > 0) yield items;
        continue;
      }
      await fill();
      if (pipe.outstanding > 0 || pipe.completions.length > 0) {
        await sleep(pipe.completions.length > 0 ? Math.max(1, SETTLE_MS - (Date.now() - pipe.firstPendingAt)) : undefined);
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
    stop.removeEventListener('abort', onStop);
  }
}

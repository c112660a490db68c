import { Worker } from 'node:worker_threads';
import type { QueuedRequest } from '../frontier/frontier.js';
import { PipelineError } from '../errors.js';
import { errorText } from '../json-value.js';
import type { Logger } from '../log.js';
import type { Settings } from '../settings.js';
import type { Compare, Parser, ParseResult } from './parse.js';

/** What a worker is started with. */
export interface WorkerInit {
  spiderModule: string;
  args: Record<string, string>;
  settings: Settings;
}

/** A page sent to a worker; the body travels as a transferred ArrayBuffer, not a copy. */
export interface WorkerRequest {
  id: number;
  req: QueuedRequest;
  res: { url: string; status: number; headers: Record<string, string>; body: ArrayBuffer; session?: string };
  compare?: Compare;
}

/** A worker's answer. */
export interface WorkerReply {
  id: number;
  result: ParseResult;
  /** Longest stall of the worker's event loop so far. */
  lagMs: number;
}

/** What a worker says besides answers: that it has opened the pipelines (or why not), that it has closed them. */
export type WorkerNotice = { ready: true } | { ready: false; error: string } | { closed: true; problems: string[] };

/** Asks a worker to close the spider's pipelines, and to say so with `{ closed }`. */
export interface WorkerClose {
  close: true;
}

// Run from TypeScript sources (tsx, vitest), a worker must register tsx first; compiled to JavaScript, the
// worker registers it itself before it loads the spider (loader.ts).
const WORKER_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './worker-boot.js' : './worker.js', import.meta.url);

/**
 * A worker's young generation: 12 MB (4 MB semi-spaces) instead of V8's 48.
 * A page's DOM dies young, so a smaller nursery is collected more often at
 * the same CPU: bench scenario (a), 3,150 pages, 2 rounds interleaved on a
 * shared 2-core machine: peak RSS 257-260 MB against 285-293 MB without,
 * 1.61-1.63 CPU-s per 1,000 pages either way (6 MB: 251-265 MB, no better).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 12 };

/** A worker stall worth a warning. */
const LAG_WARN_MS = 1_000;

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: ParseResult) => void; reject: (e: Error) => void; startedAt: number; url: string }>;
  /** Settles once the worker has loaded the spider and opened its pipelines. */
  ready: Promise<void>;
  /** The page it answered last: a crash while it holds no page (code a callback left behind, a timer) is likely that page's. */
  lastUrl?: string;
  /** What it threw, once it crashed: it is ending, and its pages fail when it has. */
  crash?: Error;
  /** Why its pipelines did not open: it gets no pages while another worker can take them. */
  failed?: Error;
  /** Resolves with the problems of closing its pipelines, once asked to. */
  closed?: (problems: string[]) => void;
}

/**
 * Asks a worker to close the spider's pipelines and waits for it to say it
 * has: at most `timeoutMs` (the worker bounds each close() by it too), and
 * not at all once it has exited.
 */
function closeWorker(slot: Slot, timeoutMs: number): Promise<string[]> {
  return new Promise<string[]>((resolve) => {
    const timer = setTimeout(() => resolve([`a parser worker did not close its pipelines within ${timeoutMs} ms`]), timeoutMs + 1_000);
    const done = (problems: string[]) => {
      clearTimeout(timer);
      slot.worker.off('exit', gone);
      resolve(problems);
    };
    const gone = () => done([]);
    slot.closed = done;
    slot.worker.once('exit', gone);
    try {
      slot.worker.postMessage({ close: true } satisfies WorkerClose);
    } catch {
      done([]); // the worker has ended already
    }
  });
}

/** Rejects every page a worker held: the oldest with `first`, the rest with `err`. */
function failPending(slot: Slot, err: Error, first = err): void {
  let oldest = true;
  for (const job of slot.pending.values()) {
    job.reject(oldest ? first : err);
    oldest = false;
  }
  slot.pending.clear();
}

/** Sets `slot.ready` to settle on the worker's first word: its pipelines opened, or why not. */
function watchReady(slot: Slot, respawn: boolean, log: Logger): void {
  slot.ready = new Promise<void>((resolve, reject) => {
    slot.worker.once('message', (msg: WorkerNotice) => ('ready' in msg && !msg.ready ? reject(new PipelineError(msg.error)) : resolve()));
    slot.worker.once('error', reject);
  });
  slot.ready.catch((err: Error) => {
    slot.failed = err;
    // The first workers' failure stops the crawl (see ready()); a replacement's leaves its pages to the others.
    if (respawn && err instanceof PipelineError) log.error(`a restarted parser worker could not start: ${err.message}`);
  });
}

/**
 * The least busy worker that is ready. A worker whose pipelines did not open
 * gets no page while another may still take it: one that fails while a page
 * waits for it sends the page on to the next.
 * @throws the reason the last worker could not start.
 */
async function readySlot(slots: Slot[]): Promise<Slot> {
  const load = (s: Slot) => (s.failed || s.crash ? Infinity : s.pending.size);
  for (;;) {
    const slot = slots.reduce((a, b) => (load(b) < load(a) ? b : a));
    try {
      await slot.ready;
      return slot;
    } catch (err) {
      if (!(err instanceof PipelineError) || slots.every((s) => s.failed)) throw err;
    }
  }
}

/**
 * A callback that computes forever cannot be interrupted inside its thread;
 * the thread is ended instead, and `replace`d.
 */
function startWatchdog(slots: Slot[], callbackTimeoutMs: number, log: Logger, replace: (slot: Slot) => void): NodeJS.Timeout {
  const limit = callbackTimeoutMs + 1_000;
  const watchdog = setInterval(() => {
    for (const slot of [...slots]) {
      const now = Date.now();
      const stuck = [...slot.pending.values()].some((j) => now - j.startedAt > limit);
      if (!stuck) continue;
      log.warn(`a callback blocked a parser worker for over ${limit} ms: restarting the worker`);
      // The oldest page is the one that blocked (a worker takes pages in order); the rest were waiting behind it and are retried.
      const timedOut = Object.assign(new Error(`callback blocked its worker for over ${callbackTimeoutMs} ms`), { timeout: true });
      failPending(slot, new Error('parser worker restarted: another page blocked it'), timedOut);
      replace(slot);
      void slot.worker.terminate();
    }
  }, 1_000);
  watchdog.unref();
  return watchdog;
}

/** Where a worker crashed, for its log line: the pages it held, or the last it parsed. */
function crashSite(slot: Slot): string {
  const urls = [...slot.pending.values()].map((j) => j.url);
  if (urls.length) return ` while parsing ${urls.slice(0, 3).join(', ')}${urls.length > 3 ? ` and ${urls.length - 3} more` : ''}`;
  return slot.lastUrl ? ` after parsing ${slot.lastUrl}` : '';
}

/**
 * Parsing (HTML tree, selectors, the spider's own code) is most of a crawl's
 * CPU; in worker threads it runs beside the main thread's fetching and
 * storing, on the machine's other cores. Each page goes to the least busy
 * worker. A worker whose callback blocks past `callbackTimeoutMs` is replaced,
 * failing only the pages it held.
 */
export function createWorkerPool(size: number, init: WorkerInit, log: Logger): Parser {
  let nextId = 0;
  let closed = false;
  let maxLagMs = 0;
  const slots: Slot[] = [];

  const spawn = (respawn = false): Slot => {
    const worker = new Worker(WORKER_ENTRY, { workerData: init, resourceLimits: WORKER_LIMITS });
    const slot: Slot = { worker, pending: new Map(), ready: Promise.resolve() };
    watchReady(slot, respawn, log);
    worker.on('message', (msg: WorkerReply | WorkerNotice) => {
      if ('closed' in msg) return slot.closed?.(msg.problems);
      if (!('id' in msg)) return;
      const job = slot.pending.get(msg.id);
      if (msg.lagMs >= LAG_WARN_MS && msg.lagMs > maxLagMs + LAG_WARN_MS / 2)
        log.warn(`a parser worker's event loop was blocked for ${msg.lagMs} ms (up to ${job?.url ?? 'a page'}): a big page's parse, or a callback computing synchronously`);
      maxLagMs = Math.max(maxLagMs, msg.lagMs);
      slot.pending.delete(msg.id);
      if (!job) return;
      slot.lastUrl = job.url;
      // Fingerprints arrive as plain Uint8Arrays; SQLite binds Buffers. (The packed rows become Buffer views as they are read.)
      if (msg.result.ok) for (const f of msg.result.followUps.unfiltered) f.fp = Buffer.from(f.fp.buffer, f.fp.byteOffset, f.fp.byteLength);
      job.resolve(msg.result);
    });
    // An 'error' is whatever the worker threw outside a page's handling (an unhandled rejection's reason may be no Error at all).
    worker.on('error', (thrown: unknown) => {
      const err = thrown instanceof Error ? thrown : new Error(errorText(thrown));
      log.error(`parser worker failed${crashSite(slot)}: ${err.message}`);
      // Its pages fail at 'exit', not here: replies it posted before it crashed are still on their way, and
      // failing such a page now would parse it again, crash again (if the crash is its own), and lose it.
      slot.crash = err;
    });
    worker.on('exit', (code) => {
      if (closed) return;
      failPending(slot, slot.crash ?? new Error(`parser worker exited with code ${code}`));
      replace(slot);
    });
    return slot;
  };

  const replace = (slot: Slot) => {
    const i = slots.indexOf(slot);
    if (i >= 0 && !closed) slots[i] = spawn(true);
  };

  for (let i = 0; i < size; i++) slots.push(spawn());

  const watchdog = startWatchdog(slots, init.settings.callbackTimeoutMs, log, replace);

  return {
    ready: () => Promise.all(slots.map((s) => s.ready)).then(() => {}),
    async parse({ req, res, compare }) {
      try {
        const slot = await readySlot(slots);
        // A private copy of the body: transferring a Buffer from Node's shared pool would detach the pool.
        const body = new Uint8Array(res.body).buffer;
        const id = nextId++;
        const message: WorkerRequest = { id, req, res: { url: res.url, status: res.status, headers: res.headers, body, session: res.session }, compare };
        return await new Promise<ParseResult>((resolve, reject) => {
          slot.pending.set(id, { resolve, reject, startedAt: Date.now(), url: res.url });
          slot.worker.postMessage(message, [body]);
        });
      } catch (err) {
        const e = err as Error & { timeout?: boolean };
        const reason = e.timeout ? 'callback:timeout' : e instanceof PipelineError ? 'callback:error' : 'worker:crashed';
        return { ok: false, reason, message: `${req.callback ?? 'parse'}() on ${res.url}: ${e.message}`, stack: e.stack ?? e.message };
      }
    },
    get maxLagMs() {
      return maxLagMs;
    },
    async close() {
      closed = true;
      clearInterval(watchdog);
      const problems = await Promise.all(slots.map((s) => closeWorker(s, init.settings.callbackTimeoutMs)));
      for (const problem of problems.flat()) log.warn(problem);
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

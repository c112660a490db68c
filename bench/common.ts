/**
 * What the benchmark's processes share: the arguments every crawler child
 * takes, the report it prints, and how it measures itself.
 */
import { realpathSync } from 'node:fs';
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import type { ItemDigest } from './site-data.js';

/** What GET /__bench/stats on the site answers. */
export interface SiteStats {
  /** Requests served, the stats endpoint excluded. */
  requests: number;
  /** Responses by status. */
  statuses: Record<string, number>;
  /** Body bytes sent. */
  bytes: number;
  /** Requests for /robots.txt. */
  robots: number;
  /** process.cpuUsage() of the server, microseconds. */
  cpu: { user: number; system: number };
  /** Peak resident set size of the server, MB. */
  peakRssMB: number;
}

/** The JSON line the site server prints once listening. */
export interface SiteInfo {
  url: string;
  items: number;
  listings: number;
  pages: number;
  latencyMs: number;
  pid: number;
}

/** What a crawler child prints, as one line prefixed with {@link REPORT_PREFIX}. */
export interface CrawlReport {
  system: string;
  /** HTML pages fetched and parsed. */
  pages: number;
  /** Items stored (crawlkit: counted in its database after the run). */
  items: number;
  digest: ReturnType<ItemDigest['toJSON']>;
  /** Wall time of the crawl itself, process start-up and module loading excluded. */
  wallS: number;
  /** CPU time (user + system, all threads) of the crawl itself. */
  cpuS: number;
  cpuUserS: number;
  cpuSystemS: number;
  /** CPU time of the whole process up to the report, start-up included. */
  processCpuS: number;
  /** Peak resident set size of the process (getrusage maxrss), MB, measured when the crawl ended. */
  peakRssMB: number;
  /** V8 heap used at the end, MB (after the crawl, before any clean-up). */
  heapUsedMB: number;
  /**
   * The main thread's event-loop delay during the crawl, ms (perf_hooks
   * monitorEventLoopDelay; Scrapy: how late a 10 ms reactor tick fires).
   */
  lag?: EventLoopLag;
  /** Memory every 500 ms during the crawl (see {@link Meter}); absent from peers that do not sample. */
  memory?: { sampledPeak: MemorySample | null; timeline: MemorySample[] };
  /** Requests that failed for good, or pages that could not be handled. */
  errors: number;
  /**
   * Average response time as the crawler saw it, ms: from sending a request
   * to having its body (crawlkit: its stats' per-host latency; the floors: the
   * same span around undici's request()). On loopback, what the crawler's own
   * event loop adds to the site's sub-millisecond answer.
   */
  latencyMs?: number;
  /** Anything else the system reports (its own stats). */
  extra?: Record<string, unknown>;
}

/** Event-loop delay: 99th percentile and longest, ms. */
export interface EventLoopLag {
  p99Ms: number;
  maxMs: number;
}

/** Prefix of the report line on a child's stdout; other output (a peer's logs) is ignored. */
export const REPORT_PREFIX = 'BENCH_REPORT ';

/**
 * Settings a crawlkit child takes over its own, for experiments run by hand:
 * `BENCH_WORKERS=N` (workers), `BENCH_OFF_THREAD_BYTES=N` (offThreadPageBytes), `BENCH_SETTINGS='{"heapGrowthPercent":0}'`
 * (any settings, as JSON).
 */
export function benchOverrides(): Record<string, unknown> {
  return {
    ...(process.env.BENCH_WORKERS ? { workers: Number(process.env.BENCH_WORKERS) } : {}),
    ...(process.env.BENCH_OFF_THREAD_BYTES ? { offThreadPageBytes: Number(process.env.BENCH_OFF_THREAD_BYTES) } : {}),
    ...(process.env.BENCH_SETTINGS ? (JSON.parse(process.env.BENCH_SETTINGS) as Record<string, unknown>) : {}),
  };
}

/** The arguments every crawler child takes. */
export interface ChildArgs {
  /** The site's root URL, ending with a slash. */
  baseUrl: string;
  /** N: items on the site, to check the count against. */
  items: number;
  concurrency: number;
  /** crawlkit only: a Redis frontier shared with other processes (scenario d). */
  frontier?: string;
  /** crawlkit only: its default settings (concurrency, perHost, workers), not the benchmark's. */
  defaults: boolean;
}

/** Parses a crawler child's command line: --base-url URL --items N --concurrency C [--frontier redis://...] [--defaults]. */
export function childArgs(): ChildArgs {
  const { values } = parseArgs({
    options: {
      'base-url': { type: 'string' },
      items: { type: 'string' },
      concurrency: { type: 'string', default: '50' },
      frontier: { type: 'string' },
      defaults: { type: 'boolean', default: false },
    },
  });
  const baseUrl = values['base-url'];
  const items = Number(values.items);
  const concurrency = Number(values.concurrency);
  if (!baseUrl || !Number.isInteger(items) || !Number.isInteger(concurrency) || concurrency < 1)
    throw new Error('usage: --base-url URL --items N [--concurrency C]');
  return { baseUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`, items, concurrency, frontier: values.frontier, defaults: values.defaults };
}

/**
 * A memory sample, MB: seconds since the meter started, RSS, V8 heap
 * committed and used, and memory V8 knows of outside its heap (Buffers). What
 * RSS holds beyond those is native: SQLite, malloc arenas, code, threads' stacks.
 */
export type MemorySample = [t: number, rssMB: number, heapTotalMB: number, heapUsedMB: number, externalMB: number];

/** Sampling period of the memory timeline. */
const MEMORY_SAMPLE_MS = 500;

/**
 * Wall clock, CPU and memory since a start point. Memory is also sampled
 * every 500 ms, so a report can say when the peak happened and whether it was
 * V8's heap or memory outside it (a flat RSS is a claim about the timeline).
 */
export class Meter {
  readonly #t0 = performance.now();
  readonly #cpu0 = process.cpuUsage();
  #wallS = 0;
  #cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  #peakRssMB = 0;
  #heapUsedMB = 0;
  readonly #samples: MemorySample[] = [];
  readonly #timer: NodeJS.Timeout;
  // 10 ms resolution, as bench/link-spider.ts has always measured (a stall is a delay of tens of ms and more).
  readonly #delay = monitorEventLoopDelay({ resolution: 10 });
  #lag: EventLoopLag = { p99Ms: 0, maxMs: 0 };

  constructor() {
    this.#timer = setInterval(() => this.#sample(), MEMORY_SAMPLE_MS);
    this.#timer.unref();
    this.#delay.enable();
  }

  #sample(): void {
    const m = process.memoryUsage();
    const mb = (x: number) => Math.round((x / 2 ** 20) * 10) / 10;
    this.#samples.push([Math.round(performance.now() - this.#t0) / 1000, mb(m.rss), mb(m.heapTotal), mb(m.heapUsed), mb(m.external)]);
  }

  /** Stops the meter: call it the moment the crawl ends, before any checking or clean-up. */
  stop(): void {
    clearInterval(this.#timer);
    this.#delay.disable();
    // The histogram counts the delay plus the 10 ms period itself: the delay is what lies beyond it.
    const beyond = (ns: number) => Math.max(0, ns / 1e6 - 10);
    this.#lag = { p99Ms: beyond(this.#delay.percentile(99)), maxMs: beyond(this.#delay.max) };
    this.#wallS = (performance.now() - this.#t0) / 1000;
    this.#cpu = process.cpuUsage(this.#cpu0);
    this.#peakRssMB = process.resourceUsage().maxRSS / 1024;
    this.#heapUsedMB = process.memoryUsage().heapUsed / 2 ** 20;
    this.#sample();
  }

  /** The measurement part of a report. */
  get result(): Pick<CrawlReport, 'wallS' | 'cpuS' | 'cpuUserS' | 'cpuSystemS' | 'processCpuS' | 'peakRssMB' | 'heapUsedMB' | 'memory' | 'lag'> {
    const total = process.cpuUsage();
    // At most ~120 points in the report: every k-th sample, and the largest RSS one.
    const step = Math.ceil(this.#samples.length / 120);
    const top = this.#samples.reduce<MemorySample | undefined>((a, s) => (a === undefined || s[1] > a[1] ? s : a), undefined);
    const timeline = this.#samples.filter((s, i) => i % step === 0 || s === top || i === this.#samples.length - 1);
    return {
      wallS: this.#wallS,
      cpuS: (this.#cpu.user + this.#cpu.system) / 1e6,
      cpuUserS: this.#cpu.user / 1e6,
      cpuSystemS: this.#cpu.system / 1e6,
      processCpuS: (total.user + total.system) / 1e6,
      peakRssMB: this.#peakRssMB,
      heapUsedMB: this.#heapUsedMB,
      memory: { sampledPeak: top ?? null, timeline },
      lag: this.#lag,
    };
  }
}

/** Prints the report line. */
export function printReport(report: CrawlReport): void {
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
}

/**
 * The live handles left after a crawl (sockets, timers...), for a report: a
 * crawler that leaves some behind keeps a short-lived process from exiting.
 */
export function leftoverResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", pound: '£', nbsp: '\u00a0' };

/** Decodes the HTML entities the site uses (named, decimal, hex): enough for the regex floor. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e] ?? whole;
  });
}

/** The price in a text such as "£12.34". */
/** The sum of a counter map (crawlkit's `failures` by reason). */
export const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

export const parsePrice = (text: string): number => Number(text.replace(/[^0-9.]/g, ''));

/**
 * Runs a crawler child's `main` when its module is the script node was
 * started with, in the main thread: parser workers import the same module for
 * its spider class. Real paths are compared: the built copy lives under
 * node_modules, which a git worktree may link to another checkout's.
 */
export function runAsScript(moduleUrl: string, main: () => Promise<void>): void {
  if (!isMainThread || !process.argv[1] || moduleUrl !== pathToFileURL(realpathSync(process.argv[1])).href) return;
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}

/**
 * A site server's life: listens on 127.0.0.1:`port`, prints `describe(port)`
 * as one JSON line (what the runner waits for), and stops on SIGTERM or SIGINT.
 */
export function serveSite(server: Server, port: number, describe: (port: number) => object): void {
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    process.stdout.write(`${JSON.stringify(describe(address.port))}\n`);
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

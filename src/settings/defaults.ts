import { availableParallelism } from 'node:os';
import { PACKAGE } from '../package.js';
import type { Settings } from '../settings.js';

/**
 * Parser worker threads for a machine with `cores` cores: none on two cores
 * or fewer, else one per core but one (for the main thread), at most 4.
 * On 2 cores a worker costs a second V8 heap and buys little parallelism:
 * bench scenario (a), 3,150 pages, 2 rounds interleaved on a shared 2-core
 * machine, workers=0 against workers=1: 153-195 against 96-176 pages/s,
 * 1.30-1.31 against 1.63-1.70 CPU-s per 1,000 pages, peak RSS 192-246
 * against 251-272 MB (as the issue measured from outside on a real site:
 * 350-379 against 491-508 MB, and faster).
 */
export const workersFor = (cores: number): number => (cores <= 2 ? 0 : Math.min(4, cores - 1));

/**
 * With workers = 0, pages over 256 KiB are parsed in a worker thread (see
 * parser/offload.ts). Parsing a page of nothing but links in one thread, every
 * link followed (`node --import tsx bench/page-parse.ts`, this 2-core
 * machine): 160 to 190 ms per MiB, 40 to 42 ms at 256 KiB, 81 to 95 ms at
 * 512 KiB; with 60 bytes of text between links (`--text 60`), 50 to 90 ms per
 * MiB. 256 KiB keeps the densest page under the 50 ms stall the crawl is held
 * to, while most pages (HTML documents are tens of KB) never start the worker
 * and its second V8 heap.
 */
export const OFF_THREAD_PAGE_BYTES = 256 * 1024;

/** The defaults: polite enough for a public site, fast enough for a local one. */
export const defaultSettings: Readonly<Settings> = Object.freeze({
  concurrency: 16,
  perHost: { concurrency: 8, delayMs: 0, maxCrawlDelayMs: 60_000 },
  throttle: { enabled: true, latencyFactor: 4, maxDelayMs: 30_000 },
  obeyRobots: true,
  cookies: true,
  userAgent: `${PACKAGE.name}/${PACKAGE.version}`,
  robotsUserAgent: '',
  headers: {},
  hostHeaders: {},
  http2: false,
  tls: { rejectUnauthorized: true, ca: '' },
  userAgents: [],
  // Crawlee's SessionPool's blocked statuses.
  sessions: { size: 1, banStatuses: [401, 403, 429], banText: '' },
  timeouts: { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000, requestMs: 60_000 },
  retry: {
    maxAttempts: 4,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    maxRetryAfterMs: 120_000,
    statuses: [408, 429, 500, 502, 503, 504],
  },
  maxBodyBytes: 10 * 1024 * 1024,
  handleStatuses: [],
  maxRedirects: 10,
  allowedDomains: [],
  allowPrivateAddresses: false,
  maxDepth: 0,
  maxRequests: 0,
  maxItems: 0,
  callbackTimeoutMs: 60_000,
  workers: workersFor(availableParallelism()),
  offThreadPageBytes: OFF_THREAD_PAGE_BYTES,
  parser: 'htmlparser2',
  storageDir: 'storage',
  frontierLeaseMs: 30_000,
  proxy: '',
  proxies: [],
  proxyRotation: 'request',
  proxyBenchMs: 60_000,
  proxyBanLimit: 3,
  // 100 pages a browser: Crawlee's default (retireBrowserAfterPageCount), which keeps Chromium's resident memory flat.
  // render: 'auto': 3 pages to learn a pattern, 1 in 20 rechecked; why those figures: browser/auto.ts.
  browser: {
    executablePath: '',
    maxPages: 4,
    restartAfterPages: 100,
    blockResources: true,
    sameScopeRequests: true,
    screenshotOnError: false,
    autoLearnPages: 3,
    autoRecheckEvery: 20,
  },
  statusIntervalMs: 10_000,
  logLevel: 'info',
  // Why 20: run/heap.ts.
  heapGrowthPercent: 20,
} satisfies Settings);

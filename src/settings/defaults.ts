import { availableParallelism } from 'node:os';
import { PACKAGE } from '../package.js';
import type { Settings } from '../settings.js';

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
  workers: Math.min(4, Math.max(1, availableParallelism() - 1)),
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
  browser: { executablePath: '', maxPages: 4, restartAfterPages: 100, blockResources: true, sameScopeRequests: true, autoLearnPages: 3, autoRecheckEvery: 20 },
  statusIntervalMs: 10_000,
  logLevel: 'info',
} satisfies Settings);

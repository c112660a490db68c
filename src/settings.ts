import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.js';
import { PACKAGE } from './package.js';

/** Per-host politeness limits. */
export interface PerHostSettings {
  /** Requests in flight to one host at once. */
  concurrency: number;
  /** Minimum milliseconds between the starts of two requests to one host (raised to a robots.txt Crawl-delay). */
  delayMs: number;
  /** Ceiling on a robots.txt Crawl-delay, so `Crawl-delay: 86400` cannot stall a crawl for a day per page. */
  maxCrawlDelayMs: number;
}

/** Network timeouts, each named so a failure says which one fired. */
export interface TimeoutSettings {
  /** TCP + TLS connection establishment. */
  connectMs: number;
  /** From request sent to response headers received. */
  headersMs: number;
  /** Longest silence between two chunks of the body. */
  bodyMs: number;
  /** Whole request, headers to last byte: a slow-drip server cannot hold a slot longer than this. */
  requestMs: number;
}

/** When and how to retry a failed fetch. */
export interface RetrySettings {
  /** Total fetch attempts per request, the first included. */
  maxAttempts: number;
  /** First backoff step; doubles each attempt, with full jitter. */
  baseDelayMs: number;
  /** Ceiling of one backoff step. */
  maxDelayMs: number;
  /** A Retry-After longer than this is capped to it, so a hostile server cannot park a request for days. */
  maxRetryAfterMs: number;
  /** HTTP statuses that are retried. */
  statuses: number[];
}

/** Adaptive per-host delays (see fetch/throttle.ts). */
export interface ThrottleSettings {
  /** Back off from hosts that refuse (429, 503, timeouts) or slow down. */
  enabled: boolean;
  /** A host is "slowing down" when its smoothed latency exceeds this multiple of its lowest. */
  latencyFactor: number;
  /** Ceiling of an adaptive delay. */
  maxDelayMs: number;
}

/** Everything a crawl can be tuned by. Spiders override parts; `-s key=value` overrides those. */
export interface Settings {
  /** Requests in flight across all hosts. */
  concurrency: number;
  perHost: PerHostSettings;
  throttle: ThrottleSettings;
  /** Fetch and obey each origin's robots.txt. */
  obeyRobots: boolean;
  /** Keep cookies the sites set and send them back (a jar per crawl process, as Scrapy does by default). */
  cookies: boolean;
  /**
   * The User-Agent header; its first word is the token robots.txt groups are matched against. The default,
   * `crawlkit-ts/VERSION`, carries no contact URL: set your own (`mybot/1.0 (+https://example.com/bot)`).
   */
  userAgent: string;
  /**
   * The product token matched against robots.txt `User-agent:` lines (RFC 9309):
   * letters, `_` and `-`. Empty: the User-Agent's first token (`crawlkit-ts` for
   * `crawlkit-ts/0.1.0`); set it when the User-Agent is a browser's
   * (`Mozilla/5.0 (compatible; MyBot/1.0)` with `robotsUserAgent: 'MyBot'`).
   */
  robotsUserAgent: string;
  timeouts: TimeoutSettings;
  retry: RetrySettings;
  /** Largest response body accepted, after decompression. */
  maxBodyBytes: number;
  /** Statuses other than 2xx whose responses still reach the callback (e.g. [404]); by default they fail the request. */
  handleStatuses: number[];
  /** Redirect hops followed from one request. */
  maxRedirects: number;
  /**
   * Domains (and their subdomains) the crawl may visit. Empty: the registrable
   * domains of the start requests (an IP address or `localhost` only itself);
   * `['*']`: any host.
   */
  allowedDomains: string[];
  /**
   * Connect to loopback, private, link-local and reserved addresses even when
   * no start URL is on one. Off: a page on a public address can never send the
   * crawl to 127.0.0.1, 10.x or 169.254.169.254, by link or redirect, whatever
   * name resolves there.
   */
  allowPrivateAddresses: boolean;
  /** Link depth from the start requests; 0 means unlimited. */
  maxDepth: number;
  /** Stop scheduling after this many requests have been fetched; 0 means unlimited. */
  maxRequests: number;
  /** Stop after this many items are stored; 0 means unlimited. */
  maxItems: number;
  /** Longest a spider callback may run on one response. */
  callbackTimeoutMs: number;
  /**
   * Worker threads that run callbacks, beside the main thread's fetching and
   * storing; 0 runs them in the main thread. Workers need the spider's module
   * (the CLI knows it; see `CrawlOptions.spiderModule`), and each worker has its
   * own spider instance, so a spider must not rely on state shared between pages.
   */
  workers: number;
  /**
   * HTML parser behind `response.$`: htmlparser2 costs about half parse5's CPU;
   * parse5 builds the tree a browser would (implied `<tbody>` and the like).
   */
  parser: 'htmlparser2' | 'parse5';
  /** Folder of the SQLite files. */
  storageDir: string;
  /** With `--frontier redis://...`: how long a request stays with a worker that stopped answering before another takes it over. */
  frontierLeaseMs: number;
  /** A status line (progress, ETA) in the log this often when stderr is not a terminal, and in the --log-file; a terminal gets a live line. */
  statusIntervalMs: number;
  /** Log level on stderr. */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

/** A partial, nested override of {@link Settings}. */
export type SettingsOverride = {
  [K in keyof Settings]?: Settings[K] extends unknown[] ? Settings[K] : Settings[K] extends object ? Partial<Settings[K]> : Settings[K];
};

/** The defaults: polite enough for a public site, fast enough for a local one. */
export const defaultSettings: Readonly<Settings> = Object.freeze({
  concurrency: 16,
  perHost: { concurrency: 8, delayMs: 0, maxCrawlDelayMs: 60_000 },
  throttle: { enabled: true, latencyFactor: 4, maxDelayMs: 30_000 },
  obeyRobots: true,
  cookies: true,
  userAgent: `${PACKAGE.name}/${PACKAGE.version}`,
  robotsUserAgent: '',
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
  statusIntervalMs: 10_000,
  logLevel: 'info',
} satisfies Settings);

const numericLists = new Set(['handleStatuses', 'retry.statuses']);

/** Settings that 0 would break: a timeout that fires at once, a body cap that refuses every body. */
const positive = (key: string) => key.startsWith('timeouts.') || key === 'maxBodyBytes';

/** Strings with a form of their own, and what the form is. */
const forms: Record<string, [RegExp, string]> = {
  robotsUserAgent: [/^[A-Za-z_-]+$/, 'a robots.txt product token: letters, _ and -'],
};

/** A number as `-s` takes it: decimal (`1500`, `0.5`, `1e3`), never hex, octal or binary (`0x10` is not 16). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

const enums: Record<string, readonly string[]> = {
  parser: ['htmlparser2', 'parse5'],
  logLevel: ['debug', 'info', 'warn', 'error', 'silent'],
};

/** Every settable dotted key, e.g. `perHost.concurrency`. */
export function settingKeys(base: object = defaultSettings, prefix = ''): string[] {
  return Object.entries(base).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? settingKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function lookup(path: string): unknown {
  let node: unknown = defaultSettings;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function checkValue(key: string, value: unknown, text?: string): unknown {
  const template = lookup(key);
  if (template === undefined || (template !== null && typeof template === 'object' && !Array.isArray(template)))
    throw new ConfigError(`unknown setting '${key}' (known: ${settingKeys().join(', ')})`);
  const bad = (want: string) => new ConfigError(`bad value for setting '${key}': ${JSON.stringify(text ?? value)} (expected ${want})`);
  if (typeof template === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad('a non-negative number');
    if (positive(key) && value === 0) throw bad('a number above 0');
  } else if (typeof template === 'boolean') {
    if (typeof value !== 'boolean') throw bad('true or false');
  } else if (Array.isArray(template)) {
    if (!Array.isArray(value)) throw bad('a list');
    if (numericLists.has(key) && !value.every((v) => Number.isInteger(v) && v >= 100 && v <= 599)) throw bad('a list of HTTP statuses');
  } else if (typeof value !== 'string' || (value === '' && template !== '')) {
    throw bad('a string');
  }
  const form = forms[key];
  if (form && value !== '' && !form[0].test(value as string)) throw bad(form[1]);
  const allowed = enums[key];
  if (allowed && !allowed.includes(value as string)) throw bad(allowed.join(' or '));
  if (key.endsWith('oncurrency') || key === 'retry.maxAttempts') {
    if (!Number.isInteger(value) || (value as number) < 1) throw bad('an integer >= 1');
  }
  return value;
}

/** Parses the text of `-s key=value` into the type the setting's default has. */
export function parseSettingValue(key: string, text: string): unknown {
  const template = lookup(key);
  if (template === undefined) return checkValue(key, text); // throws "unknown setting"
  if (typeof template === 'number') return checkValue(key, DECIMAL.test(text.trim()) ? Number(text) : NaN, text);
  if (typeof template === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(text)) return true;
    if (/^(false|0|no|off)$/i.test(text)) return false;
    return checkValue(key, text, text);
  }
  if (Array.isArray(template)) {
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    return checkValue(key, numericLists.has(key) ? items.map(Number) : items, text);
  }
  return checkValue(key, text, text);
}

/** Flattens a nested override into dotted keys, checking each. */
function flatten(override: object, prefix = ''): [string, unknown][] {
  return Object.entries(override).flatMap(([k, v]): [string, unknown][] => {
    const key = `${prefix}${k}`;
    const template = lookup(key);
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && template !== null && typeof template === 'object' && !Array.isArray(template))
      return flatten(v, `${key}.`);
    return [[key, v]];
  });
}

/**
 * Merges overrides over the defaults, in order, later winning. Accepts nested
 * objects (`{ perHost: { concurrency: 2 } }`) and dotted keys (`{ 'perHost.concurrency': 2 }`).
 * Throws {@link ConfigError} naming the first unknown key or bad value.
 */
export function resolveSettings(...overrides: (SettingsOverride | Record<string, unknown> | undefined)[]): Settings {
  const result = structuredClone(defaultSettings) as Settings;
  for (const override of overrides) {
    if (!override) continue;
    for (const [key, value] of flatten(override)) {
      checkValue(key, value);
      const parts = key.split('.');
      let node = result as unknown as Record<string, unknown>;
      for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
      node[parts.at(-1)!] = Array.isArray(value) ? [...value] : value;
    }
  }
  if (result.obeyRobots) robotsToken(result); // a User-Agent robots.txt cannot be matched against is an error before anything starts
  return result;
}

/**
 * The product token matched against robots.txt groups (RFC 9309 section 2.2.1):
 * `robotsUserAgent`, else the User-Agent's first token (`crawlkit-ts` for `crawlkit-ts/0.1.0`).
 * @throws {@link ConfigError} when that token is not letters, `_` and `-`.
 */
export function robotsToken(settings: Pick<Settings, 'userAgent' | 'robotsUserAgent'>): string {
  if (settings.robotsUserAgent) return settings.robotsUserAgent;
  const token = /^[^\s/;(]*/.exec(settings.userAgent.trim())![0];
  if (!forms.robotsUserAgent![0].test(token))
    throw new ConfigError(`the userAgent's first token ${JSON.stringify(token)} is not a robots.txt product token (letters, _ and -): set robotsUserAgent`);
  return token;
}

/**
 * A spider's settings: the defaults, then its `allowedDomains` property, then
 * its `settings`, then `overrides` (`-s` on the command line).
 */
export function spiderSettings(spider: { allowedDomains: string[]; settings: SettingsOverride }, ...overrides: (SettingsOverride | Record<string, unknown> | undefined)[]): Settings {
  return resolveSettings({ allowedDomains: spider.allowedDomains }, spider.settings, ...overrides);
}

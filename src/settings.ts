/**
 * Settings: their types here; the defaults, the schema that checks them, the
 * order sources override each other in, and `-s` text in settings/.
 */
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

/** The session pool (see session/pool.ts): who the crawl is to a site, and when a site has had enough of one. */
export interface SessionSettings {
  /** Sessions (cookie jar, User-Agent; a proxy when rotated per session), each request bound to one in turn. */
  size: number;
  /**
   * Statuses that ban the session that got them: it is retired and the request
   * retried on another (a ban wins over `retry.statuses`: a new session is the
   * cure). A status in `handleStatuses` is no ban. Empty: none.
   */
  banStatuses: number[];
  /** A marker text (`captcha`) whose presence in a response body bans the session; empty: none. */
  banText: string;
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

/** How the fetch trusts a server's certificate. */
export interface TlsSettings {
  /** Refuse a certificate no trusted CA signed (`tls:` failures); false trusts any, for a test server and nothing else. */
  rejectUnauthorized: boolean;
  /** A PEM file of CA certificates trusted besides Node's own (a path from the working directory), read when the crawl starts; '' for Node's alone. */
  ca: string;
}

/**
 * What a crawl does: how fast and how politely it fetches, where it may go,
 * what it retries, how callbacks run. See {@link Settings} for where values come from.
 */
/** The browser that renders requests with `render` (see the README, "Pages that need a browser"). */
export interface BrowserSettings {
  /** The Chromium (or Chrome) to run; empty: the first of `chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable` on PATH. */
  executablePath: string;
  /** Pages open at once in the one browser of a process; more rendered requests wait for one to close. */
  maxPages: number;
  /** Pages a browser renders before it is replaced by a fresh one (the old one closes once its pages have), so its memory cannot grow with the crawl. */
  restartAfterPages: number;
  /** Abort the images, fonts and media a page asks for: the DOM seldom needs them, and they are most of a page's bytes. */
  blockResources: boolean;
  /**
   * Abort every request a page makes outside the crawl's domains (`allowedDomains`
   * as the run resolved it): its analytics, ads and CDNs; counted in the
   * summary. Off, they are fetched, still never from a private address unless allowed.
   */
  sameScopeRequests: boolean;
  /**
   * Keep a PNG of the page (its viewport) of a rendered request that fails for
   * good: its render timed out or its `waitFor` never came, its status failed it,
   * or its callback threw on the live page. `crawl failures NAME --screenshots DIR` writes them out.
   */
  screenshotOnError: boolean;
  /**
   * `render: 'auto'`: pages of a URL pattern fetched both ways (over HTTP and
   * in the browser) before the pattern may go HTTP-only, if all of them agree.
   */
  autoLearnPages: number;
  /** `render: 'auto'`: one page in this many of an HTTP-only pattern is fetched both ways again, so a change is caught. */
  autoRecheckEvery: number;
}

export interface CrawlPolicy {
  /** Requests in flight across all hosts. */
  concurrency: number;
  perHost: PerHostSettings;
  throttle: ThrottleSettings;
  /** Fetch and obey each origin's robots.txt. */
  obeyRobots: boolean;
  /** Keep cookies the sites set and send them back: a jar per session, kept in the run's database (see `sessions`). */
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
  /**
   * Headers every request carries (`-s headers.Accept-Language=fr`), names
   * lower-cased, over crawlkit's defaults (Accept, Accept-Language,
   * Accept-Encoding); '' drops one. The User-Agent is `userAgent`'s.
   */
  headers: Record<string, string>;
  /**
   * Headers of the requests to one host, by host name (the URL's, without the
   * port; exact, no subdomains), over `headers`: `{ 'api.example.com': { authorization: 'Bearer ...' } }`.
   * A request's own headers win over both. Credentials belong here rather than in
   * `headers`, so that no other host is sent them.
   */
  hostHeaders: Record<string, Record<string, string>>;
  /** Offer HTTP/2 to https servers (ALPN), as browsers do; HTTP/1.1 when the server does not take it. http:// stays HTTP/1.1. */
  http2: boolean;
  tls: TlsSettings;
  /**
   * User-Agents to give the sessions, each session one for its life (a
   * request's own header wins); empty: every request sends `userAgent`. An
   * entry `@path` is a file of them, one a line (`#` comments).
   */
  userAgents: string[];
  sessions: SessionSettings;
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
   * With `workers` = 0: a page whose body is over this many bytes is parsed in
   * a parser worker thread, started for the first such page and kept to the end
   * of the crawl (with its own spider instance and pipelines), so that parsing
   * it does not stall the fetching and storing; smaller pages, and rendered
   * ones, stay in the main thread. 0: every page in the main thread.
   */
  offThreadPageBytes: number;
  /**
   * HTML parser behind `response.$`: htmlparser2 costs about half parse5's CPU;
   * parse5 builds the tree a browser would (implied `<tbody>` and the like).
   */
  parser: 'htmlparser2' | 'parse5';
  /** The browser of rendered requests. */
  browser: BrowserSettings;
  /** With `--frontier redis://...`: how long a request stays with a worker that stopped answering before another takes it over. */
  frontierLeaseMs: number;
  /** One proxy every request goes through, `http://user:pass@host:port` (http or https); '' for none. Put before `proxies`. */
  proxy: string;
  /** Proxies to rotate through: URLs, or `@FILE` for a file of them, one per line, `#` comments (read when the settings are checked). */
  proxies: string[];
  /**
   * `request`: each request (each attempt) through the next proxy, round-robin;
   * `session`: a session keeps its proxy until it is benched (one session without the sessions middleware).
   */
  proxyRotation: 'request' | 'session';
  /** How long a failing proxy (refused connection, 407, dropped connection, `proxyBanLimit` bans) is left out; doubled for each failure in a row, up to 16 times. */
  proxyBenchMs: number;
  /** Bans through one proxy within 10 minutes (reported by the sessions middleware) that bench it; 0: bans never do. */
  proxyBanLimit: number;
}

/**
 * How this process runs a crawl, not what the crawl does: where it stores and
 * how much it says, how its memory is kept. Set like the policy, and also by the CLI's own flags
 * (`--storage`, `-L`, `--debug`), which win. `crawl export`, `runs`,
 * `failures` and `collect` read `storageDir` alone.
 */
export interface RunOptions {
  /** Folder of the SQLite files. */
  storageDir: string;
  /** A status line (progress, ETA) in the log this often when stderr is not a terminal, and in the --log-file (a terminal gets a live line); and a point of the run's status series (`run_status`, charted by `crawl ui`). */
  statusIntervalMs: number;
  /** Log level on stderr. */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * How far V8 lets this process's heap grow past what a full collection
   * kept before collecting again, in percent (V8's `--heap-growing-percent`,
   * set when a crawl starts, for the whole process); 0 leaves V8's own
   * (which grows it 2 to 4 times: faster, and up to twice the peak memory).
   */
  heapGrowthPercent: number;
}

/**
 * Everything a crawl can be tuned by: its {@link CrawlPolicy} and its
 * {@link RunOptions}, resolved once, each source over the one before
 * (later wins):
 *
 * 1. the defaults ({@link defaultSettings});
 * 2. the spider's `allowedDomains` property;
 * 3. the spider's `settings`;
 * 4. `-s key=value` on the command line, or the `settings` option of `crawl()`;
 * 5. the CLI's dedicated flags: `--storage` (storageDir), `-L` and `--debug` (logLevel).
 */
export interface Settings extends CrawlPolicy, RunOptions {}

/** A partial, nested override of {@link Settings}. */
export type SettingsOverride = {
  [K in keyof Settings]?: Settings[K] extends unknown[] ? Settings[K] : Settings[K] extends object ? Partial<Settings[K]> : Settings[K];
};

export { defaultSettings } from './settings/defaults.js';
export { settingKeys, runOptionKeys, LOG_LEVELS } from './settings/schema.js';
export { resolveSettings, spiderSettings, resolveRunOptions, robotsToken, type SettingsLayer } from './settings/resolve.js';
export { parseSettingValue } from './settings/parse.js';

import type { Render } from './browser/render.js';
import { ConfigError } from './errors.js';
import { robotsSitemaps } from './fetch/robots.js';
import { urlMatcher, type UrlPattern } from './patterns.js';
import { Request, type CallbackResult, type RequestOptions } from './request.js';
import type { Response } from './response.js';
import type { Middleware } from './middleware/types.js';
import type { ItemPipeline, ItemSchema, PipelineObject } from './pipelines.js';
import type { SettingsOverride } from './settings.js';
import { readSitemap, SITEMAP_MAX_BYTES, type SitemapEntry } from './sitemap.js';

/** Each spider's arguments as given, and the keys its code has read (through `arg()` or `args`). */
const argsGiven = new WeakMap<Spider, { raw: Readonly<Record<string, string>>; read: Set<string> }>();

/** A spider's arguments as given, read without counting as the spider reading them: for crawlkit's own use (records, workers). */
export const givenArgs = (spider: Spider): Readonly<Record<string, string>> => argsGiven.get(spider)?.raw ?? spider.args;

/**
 * A warning for each argument given to `spider` that its code has not read
 * so far: a misspelled `-a baseurl=` leaves `baseUrl` at its default,
 * silently, unless someone says so.
 */
export function unreadArgWarnings(spider: Spider): string[] {
  const given = argsGiven.get(spider);
  if (!given) return [];
  // Names any object is probed for (JSON.stringify, await, String()) are not arguments the spider asked for.
  const read = [...given.read].filter((k) => Object.hasOwn(given.raw, k) || !(k in Object.prototype || k === 'toJSON' || k === 'then')).sort();
  const readText = read.length ? read.map((k) => `-a ${k}`).join(', ') : 'no arguments';
  return Object.keys(given.raw)
    .filter((k) => !given.read.has(k))
    .map((k) => `spider '${spider.name}' did not read -a ${k} (it read ${readText}): misspelled?`);
}

/** How each spider fetches in `start()`: bound by the run for the time `start()` runs (see `starts.ts`). */
const fetchers = new WeakMap<Spider, (target: string | Request) => Promise<Response>>();

/** Lets `spider.fetch()` go through `fetch` (a run's chain), or (undefined) no longer. */
export function bindFetch(spider: Spider, fetch: ((target: string | Request) => Promise<Response>) | undefined): void {
  if (fetch) fetchers.set(spider, fetch);
  else fetchers.delete(spider);
}

/** The brand of spider classes: a registered symbol, so a spider that imports another copy of crawlkit than the CLI's still has it. */
export const SPIDER_BRAND = Symbol.for('crawlkit.Spider');

/** A request for a sitemap (or a robots.txt naming sitemaps): parsed by `parseSitemap`, with the protocol's larger size cap. */
const sitemapRequest = (): RequestOptions => ({ callback: 'parseSitemap', meta: { maxBodyBytes: SITEMAP_MAX_BYTES } });

/**
 * The class a user extends to write a spider. Set `name` and `startUrls` (or
 * write `async *start()`), and write `async *parse(response)`: yield plain
 * objects to store them as items and {@link Request}s (`response.follow(href,
 * this.parseItem)`) to crawl further.
 *
 * @example
 * ```ts
 * export default class Quotes extends Spider {
 *   override name = 'quotes';
 *   override startUrls = [this.arg('baseUrl', 'https://quotes.toscrape.com/')];
 *   override async *parse(res: Response) {
 *     for (const q of res.$('div.quote').toArray())
 *       yield { text: res.$(q).find('span.text').text() };
 *     yield res.follow(res.$('li.next a').attr('href'));
 *   }
 * }
 * ```
 */
export class Spider {
  /** Marks Spider and every class that extends it, across copies of crawlkit (see `isSpiderClass` in loader.ts). */
  static readonly [SPIDER_BRAND] = true;
  /** Name of the spider; its database is `storage/<name>.sqlite`. */
  name = '';
  /** URLs the crawl starts from, when `start()` is not overridden. */
  startUrls: string[] = [];
  /** Settings this spider overrides; `-s key=value` on the command line overrides these. */
  settings: SettingsOverride = {};
  /**
   * What an item must look like: a zod object (`z.object({...})`) or any
   * Standard Schema. An item that fails is kept in the `invalid_items` table
   * with the field and the reason, counted, and never exported; a zod object's
   * fields give the CSV columns, in order.
   */
  itemSchema?: ItemSchema;
  /**
   * The field that names an item across runs (its URL, an id): `crawl ui`
   * compares two runs of the spider by it, so an item whose other fields
   * changed shows as changed, not as one removed and one added. Default: none
   * (items are compared whole).
   */
  itemKey?: string;
  /**
   * What each item goes through, in order, before the schema: clean, enrich, or
   * drop (return undefined). A function, or an object with `process()` and
   * optional `open()` and `close()` (see {@link PipelineObject}).
   */
  pipelines: ItemPipeline[] = [];
  /**
   * Middlewares on the way of this spider's requests and responses (auth
   * headers, ban detection, answers from elsewhere): each goes after
   * crawlkit's `headers` middleware unless it names a place with `before` or
   * `after`. They run in the crawl's main thread. `crawl middlewares NAME`
   * prints the resulting chain.
   */
  middlewares: Middleware[] = [];
  /**
   * Whether a response shows that its session is banned (a captcha, a login
   * wall served with 200): true, or a short reason (`'captcha'`), retires
   * the session and retries the request on another, as a status of
   * `sessions.banStatuses` does; the failure reason, once the attempts are
   * used, is `banned:REASON` (`banned:spider` for true). Runs in the crawl's
   * main thread on every response: keep it cheap. See `sessions.banText`
   * for a marker text, which needs no code.
   */
  isBanned?(res: Response): boolean | string | null | undefined;
  /**
   * Domains the crawl may visit, with their subdomains (`['example.com']`
   * admits `www.example.com`); empty means any. Applied as the
   * `allowedDomains` setting, so every link and redirect hop outside them is
   * recorded as skipped (`offsite`) and never fetched. An `allowedDomains`
   * setting, in `settings` or `-s allowedDomains=...`, wins over this.
   */
  allowedDomains: string[] = [];
  /**
   * Render every request in a browser (`true`, or `{ waitFor, timeoutMs }`),
   * or only where needed (`'auto' as const`: per URL pattern, learned by
   * fetching its first pages both ways and comparing what the callback
   * yields), unless a request says otherwise with its own `render`. Default
   * false: only requests with `render` are. See the README, "Pages that need a browser".
   */
  render: Render = false;
  /**
   * Sitemaps to crawl from, beside `startUrls`: sitemap or sitemap index URLs
   * (`.xml` or `.xml.gz`), or robots.txt URLs, whose `Sitemap:` lines are
   * read. Each is fetched with callback `parseSitemap`.
   */
  sitemapUrls: string[] = [];
  /**
   * Which callback gets each page a sitemap lists: the first rule whose
   * pattern matches the page's absolute URL wins (a RegExp is tested as
   * usual; a glob string must match the whole URL, `*` within one path
   * segment, `**` across them; see `FollowAllOptions.include`). Pages no rule
   * matches are not followed. Default: every page goes to `parse`. Sitemap
   * hops count as link depth, for `maxDepth`.
   *
   * @example `[[/\/product\//, 'parseProduct'], ['https://shop.example/blog/**', 'parsePost']]`
   */
  sitemapRules: [pattern: UrlPattern, callback: string][] = [['**', 'parse']];
  /** Spider arguments, from `-a key=value` or the constructor. */
  readonly args: Readonly<Record<string, string>>;

  constructor(args: Record<string, string> = {}) {
    const raw = Object.freeze({ ...args });
    const read = new Set<string>();
    argsGiven.set(this, { raw, read });
    // Every read of a key, by arg() or by the spider's own code, is noted, for unreadArgs().
    const note = (key: string | symbol) => typeof key === 'string' && read.add(key);
    this.args = new Proxy(raw, {
      get: (target, key) => (note(key), Reflect.get(target, key)),
      has: (target, key) => (note(key), Reflect.has(target, key)),
    });
  }

  /**
   * A spider argument. Without a default, a missing argument is an error that
   * names it, so the user learns about `-a key=value` at once.
   */
  arg(key: string, defaultValue?: string): string {
    const value = this.args[key] ?? defaultValue;
    if (value === undefined) throw new ConfigError(`spider argument '${key}' is required: pass -a ${key}=...`);
    return value;
  }

  /**
   * The first requests: `startUrls`, then a request for each of
   * `sitemapUrls`. Override to generate them, e.g. from an API or a file;
   * yield URLs or Requests.
   */
  async *start(): AsyncIterable<Request | string> {
    if (this.sitemapUrls.length > 0) this.#sitemapRoute(); // a bad rule is an error before anything is fetched
    for (const url of this.startUrls) yield new Request(url);
    for (const url of this.sitemapUrls) yield new Request(url, sitemapRequest());
  }

  /**
   * Fetches a page from `start()`, before anything is crawled, and returns
   * its Response: to log in (GET the login page, `submitForm`, check that
   * it worked), or to read what to crawl from an API. The request goes
   * through the crawl's own middleware chain as a crawl's request does
   * (scope, robots.txt, headers, the spider's middlewares, cookies,
   * politeness), redirects followed, retries waited for, so the cookies it
   * gets are those the crawl then sends. Its URL counts for the crawl's scope
   * as a start URL does. Returns the final response (after redirects) when
   * its status is one a callback would get (2xx, and `handleStatuses`).
   *
   * Only in `start()` of a crawl: callbacks yield Requests instead (they may
   * run in worker threads), and a resumed run does not run `start()` again
   * (its cookies are those it had).
   * @throws {@link FetchError} or {@link PageError} naming the URL and the
   *   reason (`http:403`, `offsite`, `timeout:headers`...); thrown out of
   *   `start()`, it stops the run with `start() failed: ...`.
   *
   * @example
   * ```ts
   * override async *start() {
   *   const page = await this.fetch(`${this.base}/login`);
   *   const home = await this.fetch(page.submitForm({ username: 'ada', password: this.arg('password') }));
   *   if (!home.text.includes('Log out')) throw new Error('login refused');
   *   yield `${this.base}/members/`;
   * }
   * ```
   */
  fetch(target: string | Request): Promise<Response> {
    const fetch = fetchers.get(this);
    if (fetch) return fetch(target);
    const url = typeof target === 'string' ? target : target?.url;
    return Promise.reject(
      new ConfigError(`fetch(${JSON.stringify(url)}): spider '${this.name}' fetches only in start(), while a crawl runs it; a callback yields a Request instead`),
    );
  }

  /**
   * Whether to use an entry of a sitemap: a page (`kind: 'url'`) or a child
   * sitemap of an index (`kind: 'sitemap'`). Override to filter, e.g. by
   * `lastmod`; the default keeps every entry.
   *
   * @example
   * ```ts
   * override sitemapFilter(entry: SitemapEntry) {
   *   return !entry.lastmod || new Date(entry.lastmod) >= new Date('2026-01-01');
   * }
   * ```
   */
  sitemapFilter(entry: SitemapEntry): boolean {
    return true;
  }

  /**
   * The callback of sitemap requests. For a robots.txt, a request for each
   * `Sitemap:` line; for a sitemap index, a request for each child sitemap;
   * for a sitemap, a request for each page, with the callback `sitemapRules`
   * gives it. Entries `sitemapFilter` rejects are left out. Sitemaps are
   * fetched with `meta.maxBodyBytes` = 50 MiB, the protocol's limit, whatever
   * the `maxBodyBytes` setting. Gzipped sitemaps are read whether or not the
   * server declared the compression. A file with more than the protocol's
   * 50,000 entries is read up to them, with a warning in the log.
   */
  async *parseSitemap(response: Response): AsyncIterable<CallbackResult> {
    if (new URL(response.url).pathname === '/robots.txt') {
      for (const url of robotsSitemaps(response.url, response.text)) yield response.follow(url, undefined, sitemapRequest());
      return;
    }
    const route = this.#sitemapRoute();
    const onLimit = (max: number, kind: SitemapEntry['kind']) =>
      response.warn(`lists more than ${max.toLocaleString('en-US')} ${kind === 'url' ? 'URLs' : 'sitemaps'}, the sitemap protocol's limit: the rest are ignored`);
    for await (const entry of readSitemap(response.body, { onLimit })) {
      if (!this.sitemapFilter(entry)) continue;
      if (entry.kind === 'sitemap') {
        yield response.follow(entry.loc, undefined, sitemapRequest());
        continue;
      }
      const page = response.follow(entry.loc);
      const callback = page && route(page.url);
      if (callback) yield new Request(page.url, { callback });
    }
  }

  /** `sitemapRules` as a function from a URL to its callback (undefined when no rule matches). */
  #sitemapRoute(): (url: string) => string | undefined {
    const rules = this.sitemapRules.map((rule) => {
      const [pattern, callback] = Array.isArray(rule) ? rule : [];
      if (typeof (this as unknown as Record<string, unknown>)[callback as string] !== 'function')
        throw new ConfigError(`sitemapRules: ${JSON.stringify(callback)} is not a method of spider '${this.name}' (rules are [pattern, 'methodName'])`);
      if (!(typeof pattern === 'string' || pattern instanceof RegExp))
        throw new ConfigError(`sitemapRules: bad pattern ${String(pattern)} (expected a glob string or a RegExp)`);
      return { matches: urlMatcher(pattern), callback: callback! };
    });
    return (url) => rules.find((r) => r.matches(url))?.callback;
  }

  /** The default callback. */
  // eslint-disable-next-line require-yield
  async *parse(response: Response): AsyncIterable<CallbackResult> {
    throw new Error(`spider '${this.name}' does not define parse(), the callback for ${response.url}`);
  }
}

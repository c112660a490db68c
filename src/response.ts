import type { CheerioAPI } from 'cheerio';
import type { BrowserPage, LivePage } from './browser/page.js';
import { scrollPage, type ScrollOptions } from './browser/scroll.js';
import { decodeBuffer } from 'encoding-sniffer';
import { loadDocument } from './dom.js';
import { NotJsonError } from './errors.js';
import { submitForm, type FormValue, type SubmitFormOptions } from './forms.js';
import { filteredLinks, linkHrefs, type FollowAllOptions } from './links.js';
import { Request, toHttpUrl, type Callback, type RequestOptions } from './request.js';

export type { FollowAllOptions } from './links.js';

/**
 * The parts of a fetch a {@link Response} is built from. A middleware that
 * answers a request itself needs only some: `new Response({ url, status: 200,
 * body: '<p>cached</p>' })` (or `respond(req, {...})`, which takes the URL
 * and the request from the request).
 */
export interface ResponseInit {
  url: string;
  status: number;
  /** Names lower-cased. Default: none. */
  headers?: Record<string, string>;
  /** A string is stored as UTF-8. Default: empty. */
  body?: Buffer | string;
  /** Default: a GET of `url`. */
  request?: Request;
  parser?: 'htmlparser2' | 'parse5';
  /** The id of the session it came through (see {@link ResponseSession}). */
  session?: string;
}

/** The session a page came through, as its callback sees it (`res.session`). */
export interface ResponseSession {
  /** The session's id (`2.1`: slot 2, its first session), as the `sessions` table has it. */
  readonly id: string;
  /**
   * Retires the session (a page only the callback can tell is a ban): the
   * request is retried on another session, counted as an attempt, and what
   * the callback yielded for this page is dropped. `reason` (a short word)
   * names the ban: `banned:REASON`, `banned:retired` without one.
   */
  retire(reason?: string): void;
}

const EMPTY = Buffer.alloc(0);

/** Gives a rendered response its live page (the browser fetch does, for the callback's time). */
export let attachPage: (res: Response, lease: LivePage) => void;

/** A fetched page, as a spider callback sees it (and the middlewares on its way). */
export class Response {
  /** Final URL of the page; relative links resolve against it. */
  readonly url: string;
  readonly status: number;
  /** Response headers, names lower-cased. */
  readonly headers: Record<string, string>;
  /** The raw (decompressed) body bytes. */
  readonly body: Buffer;
  /** The request this answers. */
  readonly request: Request;
  /** Links `follow` and `followAll` skipped because they were not http(s) or did not parse. */
  skippedLinks = 0;
  /** Warnings given with {@link Response.warn}, in order. */
  readonly warnings: string[] = [];
  /** The session it came through; none outside a crawl's callbacks. */
  readonly session: ResponseSession | undefined;
  #retired: string | undefined;
  readonly #parser: 'htmlparser2' | 'parse5';
  #text: string | undefined;
  #$: CheerioAPI | undefined;
  #lease: LivePage | undefined;

  static {
    attachPage = (res, lease) => void (res.#lease = lease);
  }

  constructor(init: ResponseInit) {
    this.url = init.url;
    this.status = init.status;
    this.headers = init.headers ?? {};
    this.body = typeof init.body === 'string' ? Buffer.from(init.body) : (init.body ?? EMPTY);
    this.request = init.request ?? new Request(init.url);
    this.#parser = init.parser ?? 'htmlparser2';
    const id = init.session;
    this.session = id === undefined ? undefined : { id, retire: (reason) => void (this.#retired ??= reason === undefined ? '' : String(reason)) };
  }

  /** Why the callback retired the session (`''`: no reason given); undefined if it did not. */
  get retired(): string | undefined {
    return this.#retired;
  }

  /**
   * A warning about this page for the crawl's log: written at `warn` level,
   * after the page's URL, once the callback has finished (whichever thread it
   * ran in); `crawl parse` prints it too. The page still succeeds. Sitemaps
   * cut at the protocol's 50,000 entries say so this way.
   */
  warn(message: string): void {
    this.warnings.push(String(message));
  }

  /**
   * The live browser page of a rendered request (`render`), during its
   * callback: click, type, scroll, evaluate (Playwright's Page; see
   * {@link BrowserPage} for how it is typed). It is closed when the callback
   * ends. Undefined for a page fetched over HTTP, and for a rendered page
   * answered from the cache (`--replay`).
   */
  get page(): BrowserPage | undefined {
    return this.#lease?.page;
  }

  /**
   * Infinite scroll on a rendered page: scrolls to the bottom while the page
   * grows (see {@link ScrollOptions}), then takes its DOM again, so `$` and
   * `text` show everything it loaded. Resolves to the number of scrolls that
   * loaded more; 0, changing nothing, without a live page.
   */
  async scroll(options?: ScrollOptions): Promise<number> {
    if (!this.#lease) return 0;
    const grew = await scrollPage(this.#lease.page, options);
    await this.refresh();
    return grew;
  }

  /**
   * Takes a rendered page's DOM again, after the callback changed it (a click
   * on "load more"): `$` and `text` then show the page as it is now; `body`
   * stays the HTML as rendered (what `--cache` stores). Nothing changes without a live page.
   */
  async refresh(): Promise<void> {
    if (!this.#lease) return;
    this.#text = await this.#lease.page.content();
    this.#$ = undefined;
  }

  /** Data attached to the request with `meta`. */
  get meta(): Record<string, unknown> {
    return this.request.meta;
  }

  /**
   * The body as text, decoded by the HTML encoding-sniffing rules: a BOM, then
   * the Content-Type charset, then `<meta charset>` in the first KB, then UTF-8.
   */
  get text(): string {
    if (this.#text === undefined) {
      const label = /charset\s*=\s*["']?([^"';\s]+)/i.exec(this.headers['content-type'] ?? '')?.[1];
      // The common case skips the sniffer: Buffer's UTF-8 decoder is much faster than iconv-lite's.
      if (label && /^utf-?8$/i.test(label) && !(this.body[0] === 0xfe || this.body[0] === 0xff))
        this.#text = this.body.toString('utf8').replace(/^\uFEFF/, '');
      else this.#text = decodeBuffer(this.body, { transportLayerEncodingLabel: label, defaultEncoding: 'utf-8' });
    }
    return this.#text;
  }

  /** The page parsed by cheerio, on first use. */
  get $(): CheerioAPI {
    this.#$ ??= loadDocument(this.text, this.url, this.#parser);
    return this.#$;
  }

  /**
   * The body parsed as JSON, typed as you say (`res.json<{ items: Book[] }>()`;
   * the type is not checked: validate with `itemSchema` or zod where it matters).
   * @throws {@link NotJsonError} naming the URL when the body is not JSON (an
   *   HTML error page, a login form): in a callback, that page fails alone.
   */
  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text) as T;
    } catch (err) {
      const type = this.headers['content-type'];
      const why = err instanceof Error ? err.message : String(err);
      throw new NotJsonError(this.url, `the body of ${this.url} is not JSON (${type ? `content-type ${type}` : 'no content-type'}, status ${this.status}): ${why}`, { cause: err });
    }
  }

  /**
   * The request that submits a form of this page, as a browser would: every
   * field the form carries (hidden ones such as CSRF tokens and
   * `__VIEWSTATE`, checked boxes and radios, selected options, textareas;
   * not disabled ones), `values` over them (a list for a repeated name, null
   * to leave one out, `{ filename, content }` for a file field), the clicked
   * button's name and value, to the form's action with its method and
   * enctype (urlencoded, multipart or text/plain). See {@link SubmitFormOptions}.
   * @throws {@link FormError} naming the page: no form, a `selector` or
   *   `submitter` that matches none, a file field given a string. In a
   *   callback, that page fails alone.
   *
   * @example
   * ```ts
   * yield res.submitForm({ username: 'ada', password: 'secret' }, { callback: this.afterLogin });
   * yield res.submitForm({ q: 'tea' }, { selector: 'form#search', submitter: 'go' });
   * ```
   */
  submitForm(values?: Record<string, FormValue>, options?: SubmitFormOptions): Request {
    return submitForm(this, values, options, this.#parser);
  }

  /** Resolves a link against the page URL (and its `<base href>`, if any). */
  urljoin(href: string): string {
    return new URL(href, this.#base()).href;
  }

  /**
   * A request for a link on this page, relative or absolute. Returns null for
   * a missing href, and (counting it in `skippedLinks`) for a link that is not
   * http(s) (`mailto:`, `javascript:`) or does not parse, so
   * `yield res.follow(href)` is always safe.
   */
  follow(href: string | undefined | null, callback?: Callback | string, options: RequestOptions = {}): Request | null {
    const url = this.#link(href);
    return url && new Request(url, { ...options, callback: callback ?? options.callback });
  }

  /**
   * Requests for many links, filtered: the `href` (or `src`) of every element
   * `selector` matches (default `a`), kept when it matches `include`, does not
   * match `exclude`, and (unless `sameDomain: false`) stays on the page's
   * registrable domain. Links filtered out are simply not followed; links that
   * are not http(s) are skipped as with `follow`. The other options are those
   * of each {@link Request}.
   *
   * @example
   * ```ts
   * yield* res.followAll({ include: 'https://shop.example/product/*', exclude: /[?&]ref=/, callback: this.parseProduct });
   * ```
   */
  followAll(options: FollowAllOptions): Request[];
  /**
   * Requests for many links: the `href` (or `src`) of every element a CSS
   * selector matches, or a list of hrefs. Links that are not http(s) are skipped.
   */
  followAll(linksOrSelector: string | Iterable<string | undefined>, callback?: Callback | string, options?: RequestOptions): Request[];
  followAll(linksOrSelector: string | Iterable<string | undefined> | FollowAllOptions, callback?: Callback | string, options?: RequestOptions): Request[] {
    if (typeof linksOrSelector === 'object' && !(Symbol.iterator in linksOrSelector))
      return filteredLinks(linkHrefs(this.$, linksOrSelector.selector ?? 'a'), (href) => this.#link(href), this.url, linksOrSelector);
    const hrefs = typeof linksOrSelector === 'string' ? linkHrefs(this.$, linksOrSelector) : [...linksOrSelector];
    const out: Request[] = [];
    for (const href of hrefs) {
      const req = this.follow(href, callback, options);
      if (req) out.push(req);
    }
    return out;
  }

  /** A link as an absolute http(s) URL; null for a missing href, and (counted in `skippedLinks`) for one that is not http(s) or does not parse. */
  #link(href: string | undefined | null): URL | null {
    if (href == null) return null; // e.g. no "next" link on the last page: nothing to follow, nothing wrong
    const url = toHttpUrl(href.trim(), this.#base());
    if (!url) this.skippedLinks++;
    return url;
  }

  #baseUrl: string | undefined;
  #base(): string {
    if (this.#baseUrl === undefined) {
      this.#baseUrl = this.url;
      // Only look for <base> when the page plainly has one: parsing just for it would double the cost, and even
      // on a parsed page the selector costs more than the scan (17 against ~2 µs on a 5.6 KB page, bench (a)).
      if (/<base\s/i.test(this.text)) {
        const href = this.$('base[href]').first().attr('href');
        if (href) this.#baseUrl = toHttpUrl(href, this.url)?.href ?? this.url;
      }
    }
    return this.#baseUrl;
  }
}

import { hash } from 'node:crypto';
import { renderProblem, type Render } from './browser/render.js';
import { InvalidUrlError, UnstorableValueError } from './errors.js';
import { toJson } from './json-value.js';
import type { Response } from './response.js';

/** What a spider callback may yield: items (plain objects) and follow-up requests. */
export type CallbackResult = Request | Record<string, unknown> | null | undefined;

/** A spider callback: an async generator over one response. */
export type Callback = (response: Response) => AsyncIterable<CallbackResult> | Iterable<CallbackResult>;

/** Options of a {@link Request}. */
export interface RequestOptions {
  /**
   * The spider method that parses the response, as the method itself
   * (`this.parseBook`) or its name. Stored by name, so a resumed crawl calls
   * the same method. Defaults to `parse`.
   */
  callback?: Callback | string;
  /** Default `GET`, or `POST` with `json`. */
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * A JSON body: the request sends `JSON` of this value (method `POST` unless
   * `method` says otherwise, `content-type` and `accept` `application/json`
   * unless `headers` sets its own). Serialised as items are (a Date becomes its
   * ISO string), and as strictly: a BigInt, NaN, a Map, a cycle... is an
   * {@link UnstorableValueError} naming the field (`json.filters.since`).
   * Not with `body`.
   *
   * @example `new Request(`${base}/api/search`, { json: { q: 'tea', cursor }, callback: this.parseResults })`
   */
  json?: unknown;
  /** Higher is fetched sooner. */
  priority?: number;
  /**
   * Data handed to the callback as `response.meta`; survives a resume. It is
   * stored as JSON, so it must come back as it went: strings, finite numbers,
   * booleans, null, arrays and plain objects. Anything else (a Date, Map, Set,
   * BigInt, NaN, function, class instance or cycle) fails the page that made
   * the request, naming the field (`meta.since: a Date cannot be stored as JSON`).
   * One key is read by crawlkit: `maxBodyBytes` (a number) replaces
   * the `maxBodyBytes` setting for this request (sitemap requests use it).
   */
  meta?: Record<string, unknown>;
  /** Schedule even if a request with the same fingerprint was seen. */
  dontFilter?: boolean;
  /**
   * Fetch the page in a browser and hand the callback the rendered DOM:
   * `true`, or `{ waitFor: 'div.quote' | 2000 | 'networkidle', timeoutMs }`
   * (see {@link RenderOptions}); `false` fetches over HTTP even when the
   * spider's `render` is on; `'auto'`: in the browser only if pages of its
   * URL pattern need it (learned by comparing). Default: the spider's
   * `render`. Survives a resume.
   */
  render?: Render;
}

/** A Request's headers and meta as given, without creating the empty ones (see {@link Request}). */
export let givenFields: (req: Request) => { headers: Record<string, string> | undefined; meta: Record<string, unknown> | undefined };

/** The URL of a Request being copied: a Request's href already, so it is not parsed again. */
let copying: string | null = null;

/**
 * A Request for a URL that is a Request's `url` already (a copy's, or one
 * the frontier stored), not parsed again: the request path makes one or two
 * per request, and parsing was a third of their cost.
 */
export function requestFromHref(href: string, options: RequestOptions): Request {
  copying = href;
  try {
    return new Request(href, options);
  } finally {
    copying = null;
  }
}

/** A copy of a Request with some options changed, its URL not parsed again (the default headers make one per request). */
export function requestWith(req: Request, changes: Omit<RequestOptions, 'callback'>): Request {
  const given = givenFields(req);
  return requestFromHref(req.url, {
    method: req.method,
    headers: given.headers,
    body: req.body,
    callback: req.callback,
    priority: req.priority,
    meta: given.meta,
    dontFilter: req.dontFilter,
    render: req.render,
    ...changes,
  });
}

/** A request to fetch a URL and hand the response to a spider callback. */
export class Request {
  readonly url: string;
  readonly method: string;
  readonly body: string | undefined;
  readonly callback: Callback | string | undefined;
  readonly priority: number;
  readonly dontFilter: boolean;
  /** The `render` option as given; undefined: the spider's default. */
  readonly render: Render | undefined;
  // Made on first use: a page with 300,000 links makes as many Requests at once (followAll), and two
  // empty objects each were 110 of their 290 bytes.
  #headers: Record<string, string> | undefined;
  #meta: Record<string, unknown> | undefined;

  static {
    givenFields = (req) => ({ headers: req.#headers, meta: req.#meta });
  }

  /**
   * @throws {@link InvalidUrlError} unless `url` is an absolute http(s) URL;
   *   a TypeError for a `render` option that is not one.
   */
  constructor(url: string | URL, options: RequestOptions = {}) {
    if (copying !== null && url === copying) this.url = copying;
    else {
      // A URL that follow() just parsed is used as is: link-heavy pages make URL parsing a real cost.
      const parsed = url instanceof URL && (url.protocol === 'http:' || url.protocol === 'https:') ? url : toHttpUrl(url);
      if (!parsed) throw new InvalidUrlError(`invalid URL ${JSON.stringify(String(url))}: expected an absolute http:// or https:// URL`);
      if (parsed.hash || parsed.href.endsWith('#')) parsed.hash = ''; // an empty fragment ("/c#") has hash '' but still shows
      this.url = parsed.href;
    }
    if (options.json !== undefined) options = jsonOptions(options);
    this.method = options.method === undefined ? 'GET' : options.method.toUpperCase();
    this.#headers = options.headers;
    this.body = options.body;
    this.callback = options.callback;
    this.priority = options.priority ?? 0;
    this.#meta = options.meta;
    this.dontFilter = options.dontFilter ?? false;
    this.render = options.render;
    if (options.render !== undefined && typeof options.render !== 'boolean') {
      const problem = renderProblem(options.render);
      if (problem) throw new TypeError(`${problem}, not ${JSON.stringify(options.render)}`);
    }
  }

  /** `host[:port]` of the URL. */
  get host(): string {
    // Read off the URL rather than kept: one string less for each of a big page's 300,000 Requests. A WHATWG
    // http(s) href is `scheme://[userinfo@]host[:port]/path...`; userinfo has any '@' of its own percent-encoded.
    const start = this.url.indexOf('//') + 2;
    const authority = this.url.slice(start, this.url.indexOf('/', start));
    return authority.slice(authority.lastIndexOf('@') + 1);
  }

  /** Request headers (none by default). */
  get headers(): Record<string, string> {
    return (this.#headers ??= {});
  }

  /** Data for the callback (`response.meta`), as given with the `meta` option; empty by default. */
  get meta(): Record<string, unknown> {
    return (this.#meta ??= {});
  }
}

/** What a JSON request sends: the body, POST unless told, and the JSON headers unless it has its own (names in any case). */
function jsonOptions({ json, ...options }: RequestOptions): RequestOptions {
  if (options.body !== undefined) throw new UnstorableValueError('json', 'cannot be given with body: a request has one body');
  const body = toJson(json, 'json', { toJSON: true });
  const headers = withDefaultHeaders(options.headers, { 'content-type': 'application/json', accept: 'application/json' });
  return { ...options, method: options.method ?? 'POST', body, headers };
}

/** Whether `headers` has a header `name` (lower-case), whatever the case it is written in. */
export const hasHeader = (headers: Record<string, string> | undefined, name: string): boolean =>
  headers !== undefined && Object.keys(headers).some((k) => k.toLowerCase() === name);

/** A copy of `given` headers with each of `defaults` (names lower-case) it lacks, whatever the case its own are written in. */
export function withDefaultHeaders(given: Record<string, string> | undefined, defaults: Record<string, string>): Record<string, string> {
  const out = { ...given };
  const lower = new Set(Object.keys(out).map((k) => k.toLowerCase()));
  for (const [name, value] of Object.entries(defaults)) if (!lower.has(name)) out[name] = value;
  return out;
}

/** Parses `href` against `base`; returns the URL only if it is http(s), else null. */
export function toHttpUrl(href: string | URL, base?: string | URL): URL | null {
  let url: URL;
  try {
    url = new URL(href, base);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
}

/**
 * The URL in the form two equivalent links share: WHATWG parsing already
 * lower-cases scheme and host, drops default ports and normalises dot
 * segments; we also drop the fragment and sort the query, as Scrapy does.
 */
export function canonicalUrl(url: string | URL): string {
  const u = new URL(url);
  u.hash = '';
  if (u.search.length > 1) {
    const params = [...u.searchParams];
    params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    u.search = new URLSearchParams(params).toString();
  }
  return u.href;
}

/** Identity of a request for deduplication: SHA-1 of method, canonical URL and body. */
export function fingerprint(method: string, url: string, body?: string): Buffer {
  return hash('sha1', `${method} ${canonicalUrl(url)}\n${body ?? ''}`, 'buffer') as unknown as Buffer;
}

/**
 * {@link fingerprint} of a Request. Its URL is already a WHATWG href without
 * a fragment, so without a query it is canonical as it stands: no re-parse.
 */
export function requestFingerprint(req: Request): Buffer {
  const canonical = req.url.includes('?') ? canonicalUrl(req.url) : req.url;
  // One-shot hash(): about a fifth cheaper than createHash() for strings this short, and every link pays it.
  return hash('sha1', `${req.method} ${canonical}\n${req.body ?? ''}`, 'buffer') as unknown as Buffer;
}

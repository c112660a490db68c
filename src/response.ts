import { load, type CheerioAPI } from 'cheerio';
import { decodeBuffer } from 'encoding-sniffer';
import { Request, toHttpUrl, type Callback, type RequestOptions } from './request.js';

/** The parts of a fetch a {@link Response} is built from. */
export interface ResponseInit {
  url: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  request: Request;
  parser?: 'htmlparser2' | 'parse5';
}

/** A fetched page, as a spider callback sees it. */
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
  readonly #parser: 'htmlparser2' | 'parse5';
  #text: string | undefined;
  #$: CheerioAPI | undefined;

  constructor(init: ResponseInit) {
    this.url = init.url;
    this.status = init.status;
    this.headers = init.headers;
    this.body = init.body;
    this.request = init.request;
    this.#parser = init.parser ?? 'htmlparser2';
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
    this.#$ ??= load(this.text, {
      baseURI: this.url,
      ...(this.#parser === 'htmlparser2' ? { xml: { xmlMode: false, decodeEntities: true } } : {}),
    });
    return this.#$;
  }

  /** The body parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text) as T;
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
    if (href == null) return null; // e.g. no "next" link on the last page: nothing to follow, nothing wrong
    const url = toHttpUrl(href.trim(), this.#base());
    if (!url) {
      this.skippedLinks++;
      return null;
    }
    return new Request(url, { ...options, callback: callback ?? options.callback });
  }

  /**
   * Requests for many links: the `href` (or `src`) of every element a CSS
   * selector matches, or a list of hrefs. Links that are not http(s) are skipped.
   */
  followAll(linksOrSelector: string | Iterable<string | undefined>, callback?: Callback | string, options?: RequestOptions): Request[] {
    // Attributes read straight off the parsed elements: wrapping each in a Cheerio object costs more than the read.
    const hrefs =
      typeof linksOrSelector === 'string'
        ? this.$(linksOrSelector)
            .toArray()
            .map((el) => {
              const attribs = (el as { attribs?: Record<string, string> }).attribs;
              return attribs?.href ?? attribs?.src;
            })
        : [...linksOrSelector];
    const out: Request[] = [];
    for (const href of hrefs) {
      const req = this.follow(href, callback, options);
      if (req) out.push(req);
    }
    return out;
  }

  #baseUrl: string | undefined;
  #base(): string {
    if (this.#baseUrl === undefined) {
      this.#baseUrl = this.url;
      // Only look for <base> when the page has been parsed or plainly has one: parsing just for it would double the cost.
      if (this.#$ !== undefined || /<base\s/i.test(this.text)) {
        const href = this.$('base[href]').first().attr('href');
        if (href) this.#baseUrl = toHttpUrl(href, this.url)?.href ?? this.url;
      }
    }
    return this.#baseUrl;
  }
}

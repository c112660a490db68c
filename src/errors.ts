/**
 * Errors crawlkit raises on purpose, every one a {@link CrawlkitError} with a
 * `code`. Each names what is wrong in one line, so the CLI can print
 * `error.message` alone and exit with `exitCode`.
 */

/**
 * The `code` of each error class, one per class, to tell errors apart without
 * `instanceof` (which fails across two copies of crawlkit, or a worker thread).
 */
export const ERROR_CODES = [
  'config',
  'spider-load',
  'start',
  'invalid-url',
  'storage',
  'locked',
  'no-data',
  'fetch',
  'page',
  'callback',
  'callback-timeout',
  'pipeline',
  'unstorable-value',
  'form',
  'not-json',
  'limiter-stopped',
  'browser-unavailable',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base class of every error crawlkit throws deliberately. */
export abstract class CrawlkitError extends Error {
  /** What kind of error this is: a constant per class (`config`, `storage`, `locked`, ...). */
  abstract readonly code: ErrorCode;
  /** Process exit code the CLI uses for this error: 2 for bad input, storage or a page that cannot be used; 1 for a failure of the spider's own code. */
  readonly exitCode: number = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A setting, spider argument or CLI option with a bad name or value. */
export class ConfigError extends CrawlkitError {
  readonly code: ErrorCode = 'config';
}

/** A spider that does not exist, or whose file fails to load. */
export class SpiderLoadError extends CrawlkitError {
  readonly code: ErrorCode = 'spider-load';
}

/** The spider's `start()` threw: the run is marked failed, and the next crawl runs `start()` again. */
export class StartError extends CrawlkitError {
  readonly code: ErrorCode = 'start';
  override readonly exitCode: number = 1;
}

/** A URL that is not an absolute http(s) URL. */
export class InvalidUrlError extends CrawlkitError {
  readonly code: ErrorCode = 'invalid-url';
}

/** The storage folder or database cannot be opened, read or written. */
export class StorageError extends CrawlkitError {
  readonly code: ErrorCode = 'storage';
}

/** Another process is crawling with the same database. */
export class LockedError extends StorageError {
  override readonly code: ErrorCode = 'locked';
}

/** An export asked for data that does not exist. */
export class NoDataError extends CrawlkitError {
  readonly code: ErrorCode = 'no-data';
}

/**
 * Why a fetch failed, with a short machine-readable `reason` that the stats
 * group failures by (e.g. `timeout:headers`, `http:503`, `too-large`,
 * `redirect:loop`). `crawl parse` and `crawl shell` throw it for a page they
 * cannot fetch.
 */
export class FetchError extends CrawlkitError {
  readonly code: ErrorCode = 'fetch';
  /**
   * The HTTP status, when the server answered and it is the body that was
   * refused (`too-large`, `bad-encoding`): the host did nothing wrong, so
   * its adaptive delay is not raised.
   */
  readonly status: number | undefined;
  constructor(
    readonly reason: string,
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions & { status?: number },
  ) {
    super(message, options);
    this.status = options?.status;
  }
}

/**
 * A page fetched by hand (`crawl parse`) that a crawl would not hand to its
 * callback: robots.txt disallows it (or cannot be read), a redirect leaves the
 * crawl's scope, or its status is one a crawl fails. `reason` is what a crawl
 * would record (`disallowed`, `robots:http:503`, `offsite`, `http:404`).
 */
export class PageError extends CrawlkitError {
  readonly code: ErrorCode = 'page';
  constructor(
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A spider callback (or an item pipeline it fed) failed on a page `crawl
 * parse` fetched; `reason` is what a crawl would record for the page
 * (`callback:error`, `callback:timeout`), `spiderStack` the spider's stack trace.
 */
export class CallbackError extends CrawlkitError {
  readonly code: ErrorCode = 'callback';
  constructor(
    readonly reason: string,
    message: string,
    readonly spiderStack?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A callback that did not finish in `callbackTimeoutMs`: the page fails as `callback:timeout`. */
export class CallbackTimeoutError extends CrawlkitError {
  readonly code: ErrorCode = 'callback-timeout';
  constructor(ms: number) {
    super(`callback did not finish within ${ms} ms`);
  }
}

/**
 * An item pipeline that is not one, or whose `open()` threw: the crawl (or
 * `crawl parse`) stops before its first page, naming the pipeline. A run
 * stopped so is left to resume.
 */
export class PipelineError extends CrawlkitError {
  readonly code: ErrorCode = 'pipeline';
  override readonly exitCode: number = 1;
}

/**
 * A value a spider handed crawlkit to store (an item, a request's meta,
 * headers, body or priority) that JSON cannot hold as it is: a BigInt, a Map,
 * a cycle, NaN... `path` names the field (`item.offers[2].price`). It fails
 * the page that made it (`callback:error`), never the crawl.
 */
export class UnstorableValueError extends CrawlkitError {
  readonly code: ErrorCode = 'unstorable-value';
  constructor(
    readonly path: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${problem}`, options);
  }
}

/**
 * `response.submitForm()` cannot build the submission: no form on the page,
 * a `selector` or `submitter` that matches nothing, a file field given no
 * content. The message names the page and what is wrong; thrown in a
 * callback, it fails that page (`callback:error`), never the crawl.
 */
export class FormError extends CrawlkitError {
  readonly code: ErrorCode = 'form';
}

/**
 * `response.json()` on a body that is not JSON (an HTML error page, a
 * captcha): the message names the URL, the content type and the parser's
 * complaint. Thrown in a callback, it fails that page (`callback:error`).
 */
export class NotJsonError extends CrawlkitError {
  readonly code: ErrorCode = 'not-json';
  constructor(
    readonly url: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Thrown to jobs that were waiting for a slot when the limiter stopped: the request goes back to the queue. */
export class LimiterStoppedError extends CrawlkitError {
  readonly code: ErrorCode = 'limiter-stopped';
  constructor() {
    super('limiter stopped');
  }
}

/**
 * A request renders (`render`), but there is no browser to render it with:
 * playwright-core is not installed, or no Chromium was found. The message
 * names what to install.
 */
export class BrowserUnavailableError extends CrawlkitError {
  readonly code: ErrorCode = 'browser-unavailable';
}

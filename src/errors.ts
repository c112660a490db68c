/**
 * Errors crawlkit raises on purpose. Each names what is wrong in one line, so
 * the CLI can print `error.message` alone and exit with `exitCode`.
 */

/** Base class of every error crawlkit throws deliberately. */
export class CrawlkitError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A setting, spider argument or CLI option with a bad name or value. */
export class ConfigError extends CrawlkitError {}

/** A spider that does not exist, or whose file fails to load. */
export class SpiderLoadError extends CrawlkitError {}

/** The spider's `start()` threw: the run is marked failed, and the next crawl runs `start()` again. */
export class StartError extends CrawlkitError {
  override readonly exitCode: number = 1;
}

/** A URL that is not an absolute http(s) URL. */
export class InvalidUrlError extends CrawlkitError {}

/** The storage folder or database cannot be opened, read or written. */
export class StorageError extends CrawlkitError {}

/** Another process is crawling with the same database. */
export class LockedError extends StorageError {}

/** An export asked for data that does not exist. */
export class NoDataError extends CrawlkitError {}

/**
 * Why a fetch failed, with a short machine-readable `reason` that the stats
 * group failures by (e.g. `timeout:headers`, `http:503`, `too-large`).
 */
export class FetchError extends Error {
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
    this.name = 'FetchError';
    this.status = options?.status;
  }
}

/**
 * A value a spider handed crawlkit to store (an item, a request's meta,
 * headers, body or priority) that JSON cannot hold as it is: a BigInt, a Map,
 * a cycle, NaN... `path` names the field (`item.offers[2].price`). It fails
 * the page that made it (`callback:error`), never the crawl.
 */
export class UnstorableValueError extends CrawlkitError {
  constructor(
    readonly path: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${problem}`, options);
  }
}

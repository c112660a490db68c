/**
 * crawlkit's public API. A spider extends {@link Spider}; `crawl(spider)`
 * runs it programmatically; the `crawl` CLI is built on the same calls.
 * @packageDocumentation
 */
export { Spider } from './spider.js';
export { Request, canonicalUrl, fingerprint, type RequestOptions, type Callback, type CallbackResult } from './request.js';
export { Response, type FollowAllOptions, type ResponseSession } from './response.js';
export type { SubmitFormOptions, FormValue, FormFile } from './forms.js';
export type { Render, RenderOptions, WaitFor } from './browser/render.js';
export type { AutoMode, PatternRow } from './browser/auto.js';
export type { ScrollOptions } from './browser/scroll.js';
export type { BrowserPage, BrowserLocator } from './browser/page.js';
export { globToRegExp, type UrlPattern } from './patterns.js';
export { readSitemap, SITEMAP_MAX_BYTES, SITEMAP_MAX_ENTRIES, type SitemapEntry, type ReadSitemapOptions } from './sitemap.js';
export type { ItemPipeline, PipelineFunction, PipelineObject, PipelineResult, PipelineLifecycleContext, PipelineContext, ItemSchema, ItemIssue } from './pipelines.js';
export { crawl, type Crawl, type CrawlOptions, type CrawlSummary } from './crawl.js';
export {
  defaultSettings,
  resolveSettings,
  type Settings,
  type CrawlPolicy,
  type RunOptions,
  type SettingsOverride,
  type PerHostSettings,
  type RetrySettings,
  type TimeoutSettings,
  type ThrottleSettings,
  type TlsSettings,
  type SessionSettings,
  type BrowserSettings,
} from './settings.js';
export type { Stats } from './stats.js';
export { exportRun, type ExportOptions, type Format } from './export/exporter.js';
export { openForRead } from './storage/database.js';
export type { Frontier, Outcome, QueuedRequest, NewRequest } from './frontier/frontier.js';
export { followUpRows, type FollowUps } from './followups.js';
export {
  ERROR_CODES,
  type ErrorCode,
  CrawlkitError,
  ConfigError,
  SpiderLoadError,
  StartError,
  InvalidUrlError,
  StorageError,
  LockedError,
  NoDataError,
  UnstorableValueError,
  FetchError,
  PageError,
  CallbackError,
  PipelineError,
  FormError,
  NotJsonError,
  BrowserUnavailableError,
} from './errors.js';
export type { Middleware, MiddlewareContext, Purpose } from './middleware/types.js';
export { respond, retryRequest, type RetryOptions } from './middleware/outcomes.js';
export type { BanPredicate } from './session/bans.js';
export { Reason, httpReason, type FailureReason, type FixedReason, type FetchReason } from './reasons.js';

/**
 * The browser as one more way to fetch, at the end of the middleware chain:
 * a request that renders has its document fetched over HTTP as any other
 * (so robots.txt, scope, headers, cookies, politeness, retries, redirects,
 * stats and the cache all hold, and a 3xx or a 503 goes back through the
 * chain unrendered), then an HTML answer is rendered in a page of the pool:
 * the page is given that document, its own requests are routed (routes.ts),
 * and the DOM it ends with, once `waitFor` has come, is the response's body.
 */
import type { Page } from 'playwright-core';
import { BrowserUnavailableError, FetchError } from '../errors.js';
import { isRetryableStatus, reachesCallback } from '../fetch/retry.js';
import type { Exchange, Fetch } from '../middleware/chain.js';
import { Reason } from '../reasons.js';
import type { Request } from '../request.js';
import { attachPage, Response } from '../response.js';
import type { AutoRender, AutoRoute } from './auto.js';
import type { BrowserPool, PageLease } from './pool.js';
import { isLoadState, renderOf, type Render, type RenderOptions } from './render.js';
import { routePage, type RouteParts } from './routes.js';
import { keepScreenshot } from './screenshot.js';

/** The pages held by exchanges, until the request's callback is done with them. */
const held = new WeakMap<object, PageLease>();

/** The lease of each rendered response, to tell a callback's error from its browser's death. */
const leases = new WeakMap<Response, PageLease>();

/** Whether the browser of a rendered response died (while its callback ran on the page, say). */
export const browserDied = (res: Response): boolean => leases.get(res)?.crashed() === true;

/** Closes the page an exchange rendered into, if any: the request handler calls it once the callback is over. */
export async function releasePage(ex: object): Promise<void> {
  const lease = held.get(ex);
  held.delete(ex);
  await lease?.close();
}

/** Whether a response is a document worth rendering: one its callback gets, and HTML (or of no stated type). */
function renderable(res: Response, ctx: Exchange): boolean {
  if (!reachesCallback(res.status, ctx.settings.handleStatuses) || res.body.length === 0) return false;
  const type = res.headers['content-type'];
  return type === undefined || /^\s*(text\/html|application\/xhtml\+xml)/i.test(type);
}

/** Navigates and waits as `render` says, within its time. */
async function navigate(page: Page, url: string, render: RenderOptions, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const waitFor = render.waitFor ?? 'load';
  // A selector is looked for from the first parse on: the page need not have loaded everything for it to match.
  await page.goto(url, { waitUntil: isLoadState(waitFor) ? waitFor : typeof waitFor === 'number' ? 'load' : 'domcontentloaded', timeout: left() });
  if (typeof waitFor === 'number') await page.waitForTimeout(Math.min(waitFor, left()));
  else if (!isLoadState(waitFor)) await page.waitForSelector(waitFor, { state: 'attached', timeout: left() });
}

/** A render that failed, as the chain's typed failure: a dead browser and a timeout are retried; a page the browser refuses is not. */
function renderFailure(err: unknown, lease: PageLease, document: Response, timeoutMs: number): FetchError {
  const message = ((err as Error)?.message ?? String(err)).split('\n')[0]!;
  const url = document.url;
  // With the document's status: the host answered, and its adaptive delay is not raised for the browser's trouble.
  const options = { cause: err, status: document.status };
  if (lease.crashed() || /crash|browser has been closed|Target (page, context or browser )?(has been )?closed/i.test(message))
    return new FetchError(Reason.browserCrashed, `the browser died rendering ${url}: ${message}`, true, options);
  if ((err as Error)?.name === 'TimeoutError') return new FetchError(Reason.browserTimeout, `rendering ${url} took over ${timeoutMs} ms: ${message}`, true, options);
  return new FetchError(Reason.browserError, `cannot render ${url}: ${message}`, false, options);
}

/** A page of the pool for this exchange; no browser is a failure of this request, not retried. */
async function openPage(pool: BrowserPool, ctx: Exchange, url: string): Promise<PageLease> {
  try {
    return await pool.open(ctx.session, url);
  } catch (err) {
    if (err instanceof BrowserUnavailableError) throw new FetchError(Reason.browserUnavailable, err.message, false, { cause: err });
    throw new FetchError(Reason.browserCrashed, `cannot open a page: ${(err as Error).message}`, true, { cause: err });
  }
}

/**
 * Whether a failure of this attempt fails the request for good, as the retry
 * policy will judge it: a screenshot is taken of that attempt only, not of
 * each of the (by default 4) attempts of a page that keeps timing out.
 */
const lastAttempt = (ctx: Exchange, retryable: boolean): boolean => !retryable || ctx.attempt >= ctx.settings.retry.maxAttempts;

/** Longest a failed document's page is waited for before its screenshot: it is the picture of an error, not data. */
const ERROR_PAGE_MS = 5_000;

/**
 * With `browser.screenshotOnError`, a document whose status fails its request
 * (a 404, a 503 retried) is rendered for its screenshot alone: the chain fails
 * it unrendered as ever. Nothing it does fails the request further.
 */
async function shootDocument(pool: BrowserPool, ctx: Exchange, document: Response, parts: RenderParts): Promise<void> {
  if (document.status < 400 || document.body.length === 0 || !/^\s*(text\/html|application\/xhtml\+xml)|^$/i.test(document.headers['content-type'] ?? '')) return;
  if (!lastAttempt(ctx, isRetryableStatus(document.status, ctx.settings.retry))) return;
  let lease: PageLease | undefined;
  try {
    lease = await pool.open(ctx.session, document.url);
    await routePage(lease.page, document, { ...parts, settings: ctx.settings }, ctx.setCookie);
    await lease.page.goto(document.url, { waitUntil: 'load', timeout: ERROR_PAGE_MS });
  } catch (err) {
    // A page half loaded is still worth its picture.
    ctx.log.debug(`rendering the error page of ${document.url}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!lease) return;
  if (!lease.crashed()) await keepScreenshot(ctx, document.url, lease.page, ctx.log);
  await lease.close();
}

/** What rendering needs beside the pool. */
export interface RenderParts extends RouteParts {
  /** Counts a page rendered. */
  onRendered(): void;
}

/** Renders a request with `render`'s options, its document fetched by `http` (and handed to `keep`, when given, before it is rendered). */
export function renderFetch(
  pool: BrowserPool,
  http: Fetch,
  parts: RenderParts,
): (req: Request, ctx: Exchange, render: RenderOptions, keep?: (document: Response) => void) => Promise<Response> {
  return async (req, ctx, render, keep) => {
    const shots = ctx.settings.browser.screenshotOnError;
    if (shots) {
      // An error page's body too, for its screenshot.
      const reads = ctx.readBody;
      ctx.readBody = (status) => reads(status) || status >= 400;
    }
    const document = await http(req, ctx);
    if (!renderable(document, ctx)) {
      const shotStart = Date.now();
      if (shots) await shootDocument(pool, ctx, document, parts);
      // As for a render: the host's latency is not the browser's time.
      if (ctx.sentAt) ctx.sentAt += Date.now() - shotStart;
      return document;
    }
    keep?.(document);
    const timeoutMs = render.timeoutMs ?? ctx.settings.timeouts.requestMs;
    const renderStart = Date.now();
    let lease: PageLease | undefined;
    try {
      lease = await openPage(pool, ctx, req.url);
      // The scope as it stands for this exchange (it grows while start() fetches).
      await routePage(lease.page, document, { ...parts, settings: ctx.settings }, ctx.setCookie);
      await navigate(lease.page, req.url, render, timeoutMs);
      const html = await lease.page.content();
      const { 'content-type': _type, 'content-length': _length, 'content-encoding': _encoding, ...headers } = document.headers;
      // The DOM comes out as a string, written as UTF-8 whatever the document's charset was.
      const res = new Response({
        url: lease.page.url(),
        status: document.status,
        headers: { ...headers, 'content-type': 'text/html; charset=utf-8' },
        body: html,
        request: ctx.request,
        parser: ctx.settings.parser,
        // `res.session` in the callback, as a page fetched over HTTP has it: retire() works on rendered pages too.
        session: ctx.session?.id,
      });
      attachPage(res, lease);
      held.set(ctx, lease);
      leases.set(res, lease);
      parts.onRendered();
      return res;
    } catch (err) {
      if (!lease) throw err;
      const failure = renderFailure(err, lease, document, timeoutMs);
      if (ctx.settings.browser.screenshotOnError && !lease.crashed() && lastAttempt(ctx, failure.retryable)) await keepScreenshot(ctx, req.url, lease.page, ctx.log);
      await lease.close();
      throw failure;
    } finally {
      // The latency the stats and the adaptive throttle see is the document's over HTTP, the host's doing; rendering is not.
      if (ctx.sentAt) ctx.sentAt += Date.now() - renderStart;
    }
  };
}

/** What `render: 'auto'` decided for an exchange, and, for a page fetched both ways, its document as HTTP gave it. */
export interface AutoTag {
  route: AutoRoute;
  document?: Response;
}

const autoTags = new WeakMap<object, AutoTag>();

/** What `render: 'auto'` decided for an exchange; undefined for a request that is not `auto`. */
export const autoTagOf = (ex: object): AutoTag | undefined => autoTags.get(ex);

/**
 * The end of the chain: requests that render (their own `render`, else the
 * spider's) go to the browser, the rest (and robots.txt, always) to `http`;
 * `auto` ones as `auto` routes them (without it, `crawl parse`, to the
 * browser). The browser fetch is made on the first request that renders.
 */
export function dispatchFetch(http: Fetch, spiderRender: Render | undefined, browser: () => ReturnType<typeof renderFetch>, auto?: AutoRender): Fetch {
  return (req, ctx) => {
    const render = ctx.purpose === 'robots' ? null : renderOf(req.render, spiderRender);
    if (render !== 'auto') return render ? browser()(req, ctx, render) : http(req, ctx);
    if (!auto) return browser()(req, ctx, {});
    const route = auto.route(req.url);
    return route instanceof Promise ? waited(ctx, route).then((r) => autoFetch(r, req, ctx)) : autoFetch(route, req, ctx);
  };

  function autoFetch(route: AutoRoute, req: Request, ctx: Exchange): Promise<Response> {
    const tag: AutoTag = { route };
    autoTags.set(ctx, tag);
    if (route.how === 'http') return http(req, ctx);
    return browser()(req, ctx, {}, route.how === 'compare' ? (document) => (tag.document = document) : undefined);
  }
}

/** A route that waited for its pattern's learning pages: the wait is not the host's latency. */
async function waited(ctx: Exchange, route: Promise<AutoRoute>): Promise<AutoRoute> {
  const start = Date.now();
  const r = await route;
  if (ctx.sentAt) ctx.sentAt += Date.now() - start;
  return r;
}

/** Ends what `render: 'auto'` routed for an exchange (a learning page frees its place): the request handler calls it once the callback is over. */
export function releaseAuto(ex: object): void {
  const route = autoTags.get(ex)?.route;
  if (route?.how === 'compare') route.release?.();
}

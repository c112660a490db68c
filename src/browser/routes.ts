/**
 * Every request a rendered page makes, routed through crawlkit rather than
 * Chromium's own network: the document is the one the chain fetched; images,
 * fonts and media are aborted (`browser.blockResources`); a request outside
 * the crawl's domains is aborted (`browser.sameScopeRequests`); the rest are
 * fetched with the crawl's own fetcher, so the address guard, timeouts and
 * body cap hold for them too, and their redirects are followed here, hop by
 * hop, each hop vetted the same way (Playwright routes only a redirect's first URL).
 */
import type { Page, Request as PageRequest, Route } from 'playwright-core';
import type { Fetched, Fetcher } from '../fetch/fetcher.js';
import { redirectStep } from '../middleware/redirect.js';
import type { Response } from '../response.js';
import { inScope } from '../scope.js';
import type { Settings } from '../settings.js';

/** Why a page's request was aborted: counted in the run's stats under this name. */
export type BlockedReason = 'offsite' | 'resource' | 'scheme' | 'redirect' | 'fetch';

/** What the router of a page needs. */
export interface RouteParts {
  /** The run's settings, its scope resolved. */
  settings: Settings;
  fetcher: Fetcher;
  onBlocked(reason: BlockedReason, url: string): void;
}

/** Resource types `browser.blockResources` aborts. */
const BLOCKED_TYPES = new Set(['image', 'font', 'media']);

/** Request headers undici refuses or sets itself. */
const HOP_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'content-length', 'proxy-connection']);
/** Response headers that describe the bytes as sent, not the decoded body handed to the page. */
const ENCODING_HEADERS = new Set(['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** The headers a fulfilled response gets: the fetched ones, without those of the encoding, and every Set-Cookie line apart (Playwright splits them on newlines). */
export function fulfilHeaders(headers: Record<string, string>, setCookie?: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!ENCODING_HEADERS.has(name) && name !== 'set-cookie') out[name] = value;
  if (setCookie?.length) out['set-cookie'] = setCookie.join('\n');
  return out;
}

/**
 * Why a request of the page may not leave, or null. A navigation of the page
 * itself (a script's `location = ...`, a form, a meta refresh) never leaves
 * the crawl's scope, whatever `browser.sameScopeRequests`: it would change
 * the page the callback gets.
 */
function refusal(url: URL | null, type: string, settings: Settings): BlockedReason | null {
  if (settings.browser.blockResources && BLOCKED_TYPES.has(type)) return 'resource';
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return 'scheme';
  if ((type === 'document' || settings.browser.sameScopeRequests) && !inScope(url.hostname, settings.allowedDomains)) return 'offsite';
  return null;
}

const parse = (href: string): URL | null => URL.canParse(href) ? new URL(href) : null;

/** A request of the page, fetched with its redirects followed here; or why it was not. */
async function fetchHops(r: PageRequest, parts: RouteParts): Promise<Fetched | BlockedReason> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(await r.allHeaders())) if (!name.startsWith(':') && !HOP_HEADERS.has(name)) headers[name] = value;
  let hop = { url: r.url(), method: r.method(), body: r.postData(), meta: null as Record<string, unknown> | null };
  for (let hops = 0; ; hops++) {
    const res = await parts.fetcher.fetch({ url: hop.url, method: hop.method, headers, body: hop.body });
    const step = redirectStep(hop, res, hops, parts.settings.maxRedirects);
    if (step.kind === 'none') return res;
    if (step.kind === 'fail') return 'redirect';
    const why = refusal(parse(step.url), r.resourceType(), parts.settings);
    if (why) return why;
    hop = { url: step.url, method: step.method, body: step.body, meta: step.meta };
  }
}

/**
 * Routes every request `page` makes: its first main-frame navigation is
 * answered with `document` (fetched by the chain already, `setCookie` its
 * Set-Cookie lines), the others as
 * the module says. A request that fails to fetch is aborted, as a network
 * error would leave it.
 */
export async function routePage(page: Page, document: Response, parts: RouteParts, setCookie?: readonly string[]): Promise<void> {
  let served = false;
  const handle = async (route: Route): Promise<void> => {
    const r = route.request();
    if (!served && r.isNavigationRequest() && r.frame() === page.mainFrame()) {
      served = true;
      // With its Set-Cookie lines: a script of the page reads the cookies its document set.
      return route.fulfill({ status: document.status, headers: fulfilHeaders(document.headers, setCookie), body: document.body });
    }
    const why = refusal(parse(r.url()), r.resourceType(), parts.settings);
    const fetched = why ?? (await fetchHops(r, parts).catch((): BlockedReason => 'fetch'));
    if (typeof fetched === 'string') {
      parts.onBlocked(fetched, r.url());
      // A navigation answered 204 No Content leaves the page as it is; aborted, it would go to Chromium's error page.
      return r.isNavigationRequest() ? route.fulfill({ status: 204, body: '' }) : route.abort('blockedbyclient');
    }
    return route.fulfill({ status: fetched.status, headers: fulfilHeaders(fetched.headers, fetched.setCookie), body: fetched.body });
  };
  // A page closed while a request was under way makes its route fail: nothing is left to answer.
  await page.route('**/*', (route) => handle(route).catch(() => {}));
}

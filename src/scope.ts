import { isIP } from 'node:net';
import { getDomain } from 'tldts';

/**
 * Where a crawl may go: the one rule for "same site" and "allowed domain",
 * used by every request a crawl makes (links from `follow` and `followAll`,
 * redirect hops, sitemap entries, robots.txt redirects, `crawl parse`).
 */

/** The `allowedDomains` entry that lifts the scope: any host. */
export const ANY_DOMAIN = '*';

/**
 * The site a host belongs to: its registrable domain by the Public Suffix
 * List, private entries included (so two `*.github.io` sites differ), or the
 * host itself when it has none (an IP address, `localhost`).
 */
export function siteOf(hostname: string): string {
  return getDomain(hostname, { allowPrivateDomains: true, extractHostname: false }) ?? hostname;
}

/** An allowedDomains entry as the host name a URL would give (lower case, punycode, no dots at the ends; `*.example.com` is `example.com`). */
function normalise(entry: string): string {
  const trimmed = entry.trim().toLowerCase().replace(/^\*\./, '').replace(/^\.+|\.+$/g, '');
  if (trimmed === ANY_DOMAIN || isIP(trimmed)) return trimmed;
  try {
    return new URL(`http://${trimmed}/`).hostname;
  } catch {
    return trimmed;
  }
}

/** The domains of a crawl's scope, as a set, built once per list: each link of every page is checked against it. */
const sets = new WeakMap<readonly string[], Set<string> | null>();
function domainSet(domains: readonly string[]): Set<string> | null {
  let set = sets.get(domains);
  if (set === undefined) {
    set = domains.length === 0 || domains.some((d) => d.trim() === ANY_DOMAIN) ? null : new Set(domains.map(normalise));
    sets.set(domains, set);
  }
  return set;
}

/**
 * Whether a host is in a scope: it is one of `domains`, or a subdomain of one
 * (`example.com` admits `www.example.com`). An IP address, or a name of one
 * label such as `localhost`, admits only itself. `['*']` admits every host,
 * and so does an empty list (no scope: only {@link crawlScope} makes one for
 * a crawl, so the empty default never reaches a crawl's requests).
 */
export function inScope(hostname: string, domains: readonly string[]): boolean {
  const set = domainSet(domains);
  if (set === null || set.has(hostname)) return true;
  if (isIP(hostname) || hostname.startsWith('[')) return false;
  // Walk up the labels: www.shop.example.com, then shop.example.com, then example.com (never a bare TLD).
  for (let dot = hostname.indexOf('.'); dot !== -1; dot = hostname.indexOf('.', dot + 1)) {
    const parent = hostname.slice(dot + 1);
    if (!parent.includes('.')) break;
    if (set.has(parent)) return true;
  }
  return false;
}

/** Whether a host is on the site of `hostname` (see {@link siteOf}); the common case, the same host, needs no Public Suffix List lookup. */
export function sameSiteAs(hostname: string): (host: string) => boolean {
  let site: string | undefined;
  return (host) => host === hostname || siteOf(host) === (site ??= siteOf(hostname));
}

/**
 * A crawl's domains: the `allowedDomains` setting when it names any (`*`
 * lifts the scope), else the sites of its start requests, so by default a
 * crawl stays on the registrable domains it started from.
 */
export function crawlScope(allowedDomains: readonly string[], startSites: readonly string[]): string[] {
  return allowedDomains.length > 0 ? [...allowedDomains] : [...startSites];
}

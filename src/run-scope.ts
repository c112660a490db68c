import { isIP } from 'node:net';
import { addressKind, hostAddressKinds, type AddressKind } from './fetch/addresses.js';
import { crawlScope, siteOf } from './scope.js';
import type { Settings } from './settings.js';

/**
 * A run's scope, fixed by its start requests (`startUrls`, `sitemapUrls`, and
 * every Request or URL `start()` yields) and kept with the run, so a resumed
 * run goes exactly as far as the first part did.
 */
export interface RunScope {
  /** The start requests' sites (registrable domains, or hosts without one): the scope unless `allowedDomains` is set. */
  sites: string[];
  /** The kinds of non-public address the start requests are on (e.g. `loopback` for a crawl of 127.0.0.1): the crawl may connect to those. */
  addressKinds: AddressKind[];
}

/** Start hosts whose addresses are looked up; beyond them only IP literals count (a crawl from more hosts than this is a broad crawl of the public web). */
export const MAX_START_LOOKUPS = 100;

/** Collects a run's scope from its start requests, as they are enqueued. */
export function startScope(lookupTimeoutMs: number): { add(url: string): void; sites(): string[]; finish(): Promise<RunScope> } {
  const sites = new Set<string>();
  const hosts = new Set<string>();
  const kinds = new Set<AddressKind>();
  return {
    add(url) {
      const { hostname } = new URL(url);
      sites.add(siteOf(hostname));
      if (isIP(hostname.replace(/^\[|\]$/g, ''))) kinds.add(addressKind(hostname));
      else if (hosts.size < MAX_START_LOOKUPS) hosts.add(hostname);
    },
    /** The sites so far: the scope of a page `start()` fetches before it is done. */
    sites: () => [...sites],
    async finish() {
      for (const found of await Promise.all([...hosts].map((h) => hostAddressKinds(h, lookupTimeoutMs)))) for (const k of found) kinds.add(k);
      kinds.delete('public');
      return { sites: [...sites], addressKinds: [...kinds] };
    },
  };
}

/** The scope of URLs known up front (a run recorded before scopes were kept; `crawl parse`). */
export async function scopeOfUrls(urls: Iterable<string>, lookupTimeoutMs: number): Promise<RunScope> {
  const scope = startScope(lookupTimeoutMs);
  for (const url of urls) scope.add(url);
  return scope.finish();
}

/** The settings a run uses under its scope: `allowedDomains` resolved to the domains it may visit. */
export function scopedSettings(settings: Settings, scope: RunScope): Settings {
  return { ...settings, allowedDomains: crawlScope(settings.allowedDomains, scope.sites) };
}

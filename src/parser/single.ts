import { toNewRequest } from '../callbacks.js';
import { ConfigError, FetchError } from '../errors.js';
import { createFetcher } from '../fetch/fetcher.js';
import type { NewRequest } from '../frontier/frontier.js';
import { Request, toHttpUrl } from '../request.js';
import type { Settings } from '../settings.js';
import type { Spider } from '../spider.js';
import { parsePage } from './parse.js';

/** What one callback made of one page. */
export interface SingleParse {
  /** The page's final URL, after redirects. */
  url: string;
  status: number;
  items: Record<string, unknown>[];
  requests: { url: string; callback: string; skipped?: string }[];
}

/**
 * Fetches one URL (following redirects) and runs a callback on it, storing
 * nothing: the `crawl parse` command, for trying a callback while writing it.
 */
export async function parseSingle(spider: Spider, settings: Settings, url: string, callback = 'parse'): Promise<SingleParse> {
  if (typeof (spider as unknown as Record<string, unknown>)[callback] !== 'function')
    throw new ConfigError(`spider '${spider.name}' has no method ${callback}()`);
  const fetcher = createFetcher(settings);
  try {
    let current = new Request(url);
    for (let hop = 0; ; hop++) {
      const res = await fetcher.fetch({ url: current.url, method: 'GET', headers: null, body: null }).catch((err: unknown) => {
        throw new ConfigError(`cannot fetch ${current.url}: ${err instanceof FetchError ? `${err.reason}: ${err.message}` : String(err)}`);
      });
      const location = res.headers.location;
      if (res.status >= 300 && res.status < 400 && location && hop < settings.maxRedirects) {
        const next = toHttpUrl(location, current.url);
        if (!next) throw new ConfigError(`${current.url} redirects to ${location}, which is not an http(s) URL`);
        current = new Request(next);
        continue;
      }
      const req = { ...toNewRequest(spider, current, { id: null, depth: -1 }, settings), id: 0, attempts: 1, callback };
      const result = await parsePage(spider, settings, { req, res });
      if (!result.ok) throw new ConfigError(`${result.message}`);
      return {
        url: res.url,
        status: res.status,
        items: result.items.map((json) => JSON.parse(json) as Record<string, unknown>),
        requests: result.followUps.map((f: NewRequest) => ({ url: f.url, callback: f.callback ?? 'parse', ...(f.skipped ? { skipped: f.skipped } : {}) })),
      };
    }
  } finally {
    await fetcher.close();
  }
}

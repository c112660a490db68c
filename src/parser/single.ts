import { toNewRequest } from '../callbacks.js';
import { ConfigError } from '../errors.js';
import { createFetcher } from '../fetch/fetcher.js';
import { fetchPage } from '../fetch/page.js';
import { createRobots } from '../fetch/robots.js';
import type { NewRequest } from '../frontier/frontier.js';
import type { Settings } from '../settings.js';
import type { Spider } from '../spider.js';
import { parsePage } from './parse.js';

/** What one callback made of one page. */
export interface SingleParse {
  /** The page's final URL, after redirects. */
  url: string;
  status: number;
  items: Record<string, unknown>[];
  /** Items the spider's schema rejected, with why. */
  invalid: { item: Record<string, unknown>; issues: { path: string; message: string }[] }[];
  /** Items a pipeline dropped. */
  dropped: number;
  requests: { url: string; callback: string; skipped?: string }[];
}

/**
 * Fetches one URL (following redirects) and runs a callback on it, storing
 * nothing: the `crawl parse` command, for trying a callback while writing it.
 * With `obeyRobots` on, robots.txt is checked for every hop, as a crawl would.
 */
export async function parseSingle(spider: Spider, settings: Settings, url: string, callback = 'parse'): Promise<SingleParse> {
  if (typeof (spider as unknown as Record<string, unknown>)[callback] !== 'function')
    throw new ConfigError(`spider '${spider.name}' has no method ${callback}()`);
  const fetcher = createFetcher(settings);
  try {
    const robots = settings.obeyRobots ? createRobots(fetcher, settings.userAgent, () => {}) : null;
    const vet = robots
      ? async (hop: string) => {
          const verdict = await robots.check(hop);
          const origin = new URL(hop).origin;
          if (verdict.kind === 'disallowed') throw new ConfigError(`${hop} is disallowed by ${origin}/robots.txt (add --no-robots to fetch it anyway)`);
          if (verdict.kind === 'unavailable')
            throw new ConfigError(`${origin}/robots.txt is unavailable (${verdict.reason}), which disallows the whole site for now (add --no-robots to fetch anyway)`);
        }
      : undefined;
    const { req: current, res } = await fetchPage(fetcher, url, settings.maxRedirects, vet);
    const checked = toNewRequest(spider, current, { id: null, depth: -1 }, settings);
    const req = { ...checked, headers: current.headers, meta: current.meta, id: 0, attempts: 1, callback };
    const result = await parsePage(spider, settings, { req, res });
    if (!result.ok) throw new ConfigError(`${result.message}`);
    return {
      url: res.url,
      status: res.status,
      items: result.items.map((json) => JSON.parse(json) as Record<string, unknown>),
      invalid: result.invalid.map((bad) => ({ item: JSON.parse(bad.data) as Record<string, unknown>, issues: bad.issues })),
      dropped: result.dropped,
      requests: result.followUps.map((f: NewRequest) => ({ url: f.url, callback: f.callback ?? 'parse', ...(f.skipped ? { skipped: f.skipped } : {}) })),
    };
  } finally {
    await fetcher.close();
  }
}

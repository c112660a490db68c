/**
 * The browser side of a run, put together: the chain's fetch that sends
 * rendered requests to a pool made on the first of them, counted in the
 * run's stats, and closed with the run.
 */
import type { Fetcher } from '../fetch/fetcher.js';
import type { Logger } from '../log.js';
import type { Fetch } from '../middleware/chain.js';
import { networkFetch } from '../middleware/network.js';
import type { Settings } from '../settings.js';
import { bump, type Stats } from '../stats.js';
import { dispatchFetch, renderFetch } from './fetch.js';
import { createBrowserPool, type BrowserPool } from './pool.js';
import type { AutoRender } from './auto.js';
import type { Render } from './render.js';

/** A run's fetch (HTTP or the browser, per request) and the browser it may have started. */
export interface Renderer {
  fetch: Fetch;
  close(): Promise<void>;
}

/**
 * The fetch of a run (or of `crawl parse`, without `stats`) over `network`,
 * rendering as `spiderRender` and each request's `render` say (`auto` ones as
 * `auto` decides); nothing of the browser is made (or loaded) until a request renders.
 */
export function renderer(spiderRender: Render | undefined, settings: Settings, network: Fetcher, log: Logger, stats?: Stats, auto?: AutoRender): Renderer {
  const http = networkFetch(network);
  let pool: BrowserPool | undefined;
  let render: ReturnType<typeof renderFetch> | undefined;
  const browser = () =>
    (render ??= renderFetch((pool = createBrowserPool(settings.browser, log, settings.userAgent)), http, {
      settings,
      fetcher: network,
      onBlocked(reason, url) {
        if (stats) bump(stats.browserBlocked, reason);
        log.debug(`browser: aborted ${url} (${reason})`);
      },
      onRendered: () => void (stats && stats.rendered++),
    }));
  return { fetch: dispatchFetch(http, spiderRender, browser, auto), close: async () => pool?.close() };
}

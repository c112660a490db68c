/**
 * Middleware chains for unit tests: a chain over the real fetcher (undici,
 * loopback allowed), run on one request at a time.
 */
import { createFetcher, type Fetcher } from '../../src/fetch/fetcher.js';
import { createChain, Exchange, type ExchangeInit } from '../../src/middleware/chain.js';
import { networkFetch } from '../../src/middleware/network.js';
import type { ExchangeResult } from '../../src/middleware/outcomes.js';
import type { AnyMiddleware } from '../../src/middleware/types.js';
import { Request, resolveSettings, type Settings, type SettingsOverride } from '../../src/index.js';

export const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Settings for a chain under test: quick timeouts, loopback allowed. */
export const chainSettings = (extra: SettingsOverride = {}): Settings =>
  resolveSettings({ allowPrivateAddresses: true, timeouts: { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000, requestMs: 5_000 } }, extra);

/** A chain of `middlewares` over a real fetcher; `close()` it after. */
export function testChain(middlewares: AnyMiddleware[], settings: Settings = chainSettings()) {
  const fetcher: Fetcher = createFetcher(settings);
  const chain = createChain(middlewares, networkFetch(fetcher));
  return {
    chain,
    settings,
    /** Runs one exchange of `url` (or a Request). */
    run(url: string | Request, init: Partial<ExchangeInit> = {}): Promise<ExchangeResult> {
      const request = typeof url === 'string' ? new Request(url) : url;
      return chain.run(new Exchange({ purpose: 'crawl', settings, log: quiet, request, ...init }));
    },
    close: () => fetcher.close(),
  };
}

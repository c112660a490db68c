import type { Settings } from '../settings.js';
import { builtinMiddlewares } from './builtins.js';
import { replaySettings } from './cache.js';
import { DEFAULT_AFTER, placeMiddlewares } from './order.js';
import type { AnyMiddleware, Middleware } from './types.js';

/** What the chain's last step does, after every middleware. */
export const FETCH_ABOUT =
  'undici: the address guard (allowPrivateAddresses), HTTP/2 and TLS (http2, tls.*), timeouts (timeouts.*), decompression, the body cap (maxBodyBytes); then, for a request with render, the browser (browser.*)';

/** A crawl's built-ins, as a listing sees them: the parts they would work with are stand-ins, never used. */
function listedBuiltins(settings: Settings, mode: 'crawl' | 'cache' | 'replay') {
  const unused = {} as never;
  return builtinMiddlewares({
    settings,
    robots: settings.obeyRobots ? unused : null,
    stats: unused,
    limiter: unused,
    throttle: unused,
    cache: mode === 'crawl' ? undefined : { responses: unused, mode: mode === 'replay' ? 'replay' : 'store' },
  });
}

/** Where a spider's middleware went. */
const placeOf = (m: Middleware) => (m.before ? `before ${m.before}` : m.after ? `after ${m.after}` : `after ${DEFAULT_AFTER}, the default`);

/**
 * The chain a crawl of the spider would run, as `crawl middlewares NAME`
 * prints it: one line per middleware, from the scheduler to the network,
 * with its hooks and what it does, then the fetch.
 */
export function chainListing(spiderName: string, middlewares: readonly Middleware[], settings: Settings, mode: 'crawl' | 'cache' | 'replay'): string[] {
  const chain: AnyMiddleware[] = placeMiddlewares(listedBuiltins(mode === 'replay' ? replaySettings(settings) : settings, mode), middlewares);
  const hooks = (m: AnyMiddleware) => (['request', 'response', 'error'] as const).filter((h) => m[h] !== undefined).join(' ') || '-';
  const width = Math.max(10, ...chain.map((m) => m.name.length));
  const row = (n: string, name: string, hook: string, about: string) => `${n.padStart(3)}  ${name.padEnd(width)}  ${hook.padEnd(22)}  ${about}`;
  return [
    `The request path of a crawl of '${spiderName}'${mode === 'crawl' ? '' : ` with --${mode}`}, from the scheduler to the network:`,
    row('#', 'middleware', 'hooks', 'what it does'),
    ...chain.map((m, i) =>
      'about' in m
        ? row(String(i + 1), m.name, m.off ? '(off)' : hooks(m), m.off ? `${m.about} (off: ${m.off})` : m.about)
        : row(String(i + 1), m.name, hooks(m), `the spider's, ${placeOf(m)}`),
    ),
    row('', 'fetch', '', FETCH_ABOUT),
    'Request hooks run from top to bottom; response and error hooks from bottom to top, for the middlewares the request passed.',
  ];
}

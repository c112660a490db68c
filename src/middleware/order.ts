import { ConfigError } from '../errors.js';
import type { AnyMiddleware, Middleware } from './types.js';

/**
 * Where a spider's middlewares go in the chain. Without `before` or `after`,
 * after `headers` and before `retry`, in the order given: the place of
 * Scrapy's customary 543, between its UserAgentMiddleware (500) and
 * RetryMiddleware (550). There a request hook sees the default headers (and
 * can override them), and runs before the request waits for a politeness
 * slot, so skipping a request or answering it from elsewhere costs nothing;
 * a response hook sees what redirects and retries left: a final response.
 */
export const DEFAULT_AFTER = 'headers';

const HOOKS = ['request', 'response', 'error'] as const;

/** `m` as a middleware, or a one-line error saying what is wrong with it. */
function checked(m: unknown, at: number): Middleware {
  const where = `middlewares[${at}]`;
  if (m === null || typeof m !== 'object') throw new ConfigError(`${where} is not a middleware: expected an object { name, request?, response?, error? }`);
  const { name, before, after } = m as Middleware;
  if (typeof name !== 'string' || name.trim() === '') throw new ConfigError(`${where} has no name: give it name: '...'`);
  for (const hook of HOOKS) {
    const fn = (m as Record<string, unknown>)[hook];
    if (fn !== undefined && typeof fn !== 'function') throw new ConfigError(`middleware '${name}': ${hook} is not a function`);
  }
  if (!HOOKS.some((hook) => (m as Record<string, unknown>)[hook] !== undefined)) throw new ConfigError(`middleware '${name}' has no hook: give it request, response or error`);
  for (const [key, value] of [['before', before], ['after', after]] as const)
    if (value !== undefined && typeof value !== 'string') throw new ConfigError(`middleware '${name}': ${key} must be the name of a middleware`);
  if (before !== undefined && after !== undefined) throw new ConfigError(`middleware '${name}': give before or after, not both`);
  return m as Middleware;
}

/**
 * The chain: crawlkit's middlewares with `added` (a spider's, then those of
 * `crawl()`'s options) placed among them, each before or after the one it
 * names (a built-in, or one added before it), or at the default place.
 * @throws {@link ConfigError} for a malformed middleware, a name used twice, or a place naming no middleware.
 */
export function placeMiddlewares(builtins: readonly AnyMiddleware[], added: readonly unknown[]): AnyMiddleware[] {
  const chain = [...builtins];
  let slot = chain.findIndex((m) => m.name === DEFAULT_AFTER) + 1;
  added.forEach((raw, at) => {
    const m = checked(raw, at);
    if (chain.some((c) => c.name === m.name)) throw new ConfigError(`two middlewares are named '${m.name}': names must be unique (they are skip and failure reasons)`);
    const anchor = m.before ?? m.after;
    if (anchor === undefined) {
      chain.splice(slot++, 0, m);
      return;
    }
    const index = chain.findIndex((c) => c.name === anchor);
    if (index < 0) throw new ConfigError(`middleware '${m.name}': no middleware named '${anchor}' to go ${m.before ? 'before' : 'after'} (the chain: ${chain.map((c) => c.name).join(', ')})`);
    const to = m.before ? index : index + 1;
    chain.splice(to, 0, m);
    if (to <= slot) slot++;
  });
  return chain;
}

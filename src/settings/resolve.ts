import { ConfigError } from '../errors.js';
import { isPlainObject } from '../json-value.js';
import type { RunOptions, Settings, SettingsOverride } from '../settings.js';
import { defaultSettings } from './defaults.js';
import { checkLayer, ROBOTS_TOKEN, runOptionKeys } from './schema.js';

/** One source of settings: nested (`{ perHost: { concurrency: 2 } }`) or dotted (`{ 'perHost.concurrency': 2 }`); undefined for none. */
export type SettingsLayer = SettingsOverride | Record<string, unknown> | undefined;

/** Lays a checked source over `into`, group by group (a host new to `hostHeaders` taken whole); lists and groups are copies already. */
function lay(into: Record<string, unknown>, layer: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(layer)) {
    const before = into[key];
    if (isPlainObject(value) && isPlainObject(before)) lay(before, value);
    else into[key] = value;
  }
}

/**
 * Merges sources of settings over the defaults, in order, later winning (see
 * {@link Settings} for the order crawlkit gives them), each checked by the
 * schema (settings/schema.ts).
 * @throws {@link ConfigError} naming the first unknown key or bad value.
 */
export function resolveSettings(...layers: SettingsLayer[]): Settings {
  const result = structuredClone(defaultSettings) as Settings;
  for (const layer of layers) if (layer !== undefined) lay(result as unknown as Record<string, unknown>, checkLayer(layer));
  if (result.obeyRobots) robotsToken(result); // a User-Agent robots.txt cannot be matched against is an error before anything starts
  return result;
}

/**
 * A spider's settings: the defaults, then its `allowedDomains` property, then
 * its `settings`, then `layers` in order: `-s` (or `crawl()`'s `settings`
 * option), then the CLI's dedicated flags.
 */
export function spiderSettings(spider: { allowedDomains: string[]; settings: SettingsOverride }, ...layers: SettingsLayer[]): Settings {
  return resolveSettings({ allowedDomains: spider.allowedDomains }, spider.settings, ...layers);
}

/**
 * The {@link RunOptions} alone, by the same order, from sources that may hold
 * crawl settings too: those are left for the crawl to check, so `crawl
 * export` reads a spider's `storageDir` whatever else its settings say.
 */
export function resolveRunOptions(...layers: SettingsLayer[]): RunOptions {
  const only = (layer: SettingsLayer): SettingsLayer =>
    isPlainObject(layer) ? Object.fromEntries(runOptionKeys.filter((k) => Object.hasOwn(layer, k)).map((k) => [k, layer[k]])) : layer;
  const all = resolveSettings(...layers.map(only));
  return Object.fromEntries(runOptionKeys.map((k) => [k, all[k]])) as unknown as RunOptions;
}

/**
 * The product token matched against robots.txt groups (RFC 9309 section 2.2.1):
 * `robotsUserAgent`, else the User-Agent's first token (`crawlkit-ts` for `crawlkit-ts/0.1.0`).
 * @throws {@link ConfigError} when that token is not letters, `_` and `-`.
 */
export function robotsToken(settings: Pick<Settings, 'userAgent' | 'robotsUserAgent'>): string {
  if (settings.robotsUserAgent) return settings.robotsUserAgent;
  const token = /^[^\s/;(]*/.exec(settings.userAgent.trim())![0];
  if (!ROBOTS_TOKEN.test(token))
    throw new ConfigError(`the userAgent's first token ${JSON.stringify(token)} is not a robots.txt product token (letters, _ and -): set robotsUserAgent`);
  return token;
}

import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { describeValue, isPlainObject } from '../json-value.js';
import type { Settings } from '../settings.js';

/**
 * What each setting accepts, as a zod schema, and the one-line error a value
 * it refuses gets: `bad value for setting 'KEY': VALUE (expected WHAT)`. Each
 * check's message is the WHAT, so the first failed check names the rule.
 */

const NON_NEGATIVE = 'a non-negative number';
/** A number of ms, bytes or steps; 0 often means "none" or "no limit". */
const amount = () => z.number({ error: NON_NEGATIVE }).min(0, NON_NEGATIVE);
/** How many of something: a fraction would be rounded somewhere unseen. */
const whole = () => amount().int('a whole number');
/** Requests in flight, attempts per request: 0 would stall the crawl, or never fetch. */
const count = () => amount().int('an integer >= 1').min(1, 'an integer >= 1');
/** A timeout that fires at once, or a body cap that refuses every body, cannot work. */
const aboveZero = () => amount().gt(0, 'a number above 0');
const flag = () => z.boolean({ error: 'true or false' });
const text = () => z.string({ error: 'a string' }).min(1, 'a string');
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: values.join(' or ') });
const STATUSES = 'a list of HTTP statuses';
const statuses = () => z.array(z.number({ error: STATUSES }).int(STATUSES).min(100, STATUSES).max(599, STATUSES), { error: 'a list' });
const strings = () => z.array(z.string({ error: 'a list of strings' }), { error: 'a list' });
/** A group of settings (`perHost`, `retry`, ...): an object with those keys and no others. */
const group = <S extends z.ZodRawShape>(shape: S) =>
  z.strictObject(shape, { error: (issue) => (issue.code === 'invalid_type' ? `an object of ${Object.keys(shape).join(', ')}` : undefined) });

/** A robots.txt product token (RFC 9309 section 2.2.1). */
export const ROBOTS_TOKEN = /^[A-Za-z_-]+$/;
const TOKEN = 'a robots.txt product token: letters, _ and -';

/** The levels of `logLevel` (and `-L`), most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/** What a crawl does (see `CrawlPolicy`). */
const policyShape = {
  concurrency: count(),
  perHost: group({ concurrency: count(), delayMs: amount(), maxCrawlDelayMs: amount() }),
  throttle: group({ enabled: flag(), latencyFactor: amount(), maxDelayMs: amount() }),
  obeyRobots: flag(),
  cookies: flag(),
  userAgent: text(),
  // Empty: the User-Agent's first token (see robotsToken).
  robotsUserAgent: z.string({ error: 'a string' }).refine((v) => v === '' || ROBOTS_TOKEN.test(v), TOKEN),
  timeouts: group({ connectMs: aboveZero(), headersMs: aboveZero(), bodyMs: aboveZero(), requestMs: aboveZero() }),
  retry: group({ maxAttempts: count(), baseDelayMs: amount(), maxDelayMs: amount(), maxRetryAfterMs: amount(), statuses: statuses() }),
  maxBodyBytes: aboveZero(),
  handleStatuses: statuses(),
  maxRedirects: whole(),
  // Domains, `*.example.com` or `*`: their form is scope.ts's to judge.
  allowedDomains: strings(),
  allowPrivateAddresses: flag(),
  maxDepth: whole(),
  maxRequests: whole(),
  maxItems: whole(),
  callbackTimeoutMs: amount(),
  workers: whole(),
  parser: oneOf(['htmlparser2', 'parse5']),
  frontierLeaseMs: amount(),
  browser: group({
    executablePath: z.string({ error: 'a string' }),
    maxPages: count(),
    restartAfterPages: count(),
    blockResources: flag(),
    sameScopeRequests: flag(),
  }),
};

/** How this process runs the crawl (see `RunOptions`). */
const runOptionsShape = {
  storageDir: text(),
  statusIntervalMs: amount(),
  logLevel: oneOf(LOG_LEVELS),
};

/** Every setting, all required: what resolved settings are. */
export const settingsSchema = z.strictObject({ ...policyShape, ...runOptionsShape });

// The schema and the documented interfaces in settings.ts describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<z.infer<typeof settingsSchema>, Settings>;

/** One source of settings: any of them, groups in part; the schema refuses unknown keys at every level. */
const layerSchema = z.strictObject(
  Object.fromEntries(Object.entries(settingsSchema.shape).map(([k, s]) => [k, (s instanceof z.ZodObject ? s.partial() : s).optional()])),
);

/** The keys of the run options: `storageDir`, `statusIntervalMs`, `logLevel`. */
export const runOptionKeys = Object.keys(runOptionsShape) as (keyof typeof runOptionsShape)[];

/** Every settable dotted key, e.g. `perHost.concurrency`. */
export function settingKeys(shape: z.ZodRawShape = settingsSchema.shape, prefix = ''): string[] {
  return Object.entries(shape).flatMap(([k, s]) => (s instanceof z.ZodObject ? settingKeys(s.shape, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

/** The schema of one dotted key; undefined for an unknown key, or a group (`perHost`), which no single value sets. */
export function leafSchema(key: string): z.ZodType | undefined {
  let node: z.ZodType = settingsSchema;
  for (const part of key.split('.')) {
    if (!(node instanceof z.ZodObject) || !Object.hasOwn(node.shape, part)) return undefined;
    node = node.shape[part] as z.ZodType;
  }
  return node instanceof z.ZodObject ? undefined : node;
}

/** The error for a key that is no setting, listing those that are. */
export const unknownSetting = (key: string) => new ConfigError(`unknown setting '${key}' (known: ${settingKeys().join(', ')})`);

/**
 * One source of settings as nested objects: `{ 'perHost.concurrency': 2 }` is
 * `{ perHost: { concurrency: 2 } }`. A key set to `undefined` is not set.
 */
function nest(layer: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) node = isPlainObject(node[part]) ? node[part] : (node[part] = {});
    const last = parts.at(-1)!;
    const before = node[last];
    node[last] = isPlainObject(value) && isPlainObject(before) ? { ...before, ...value } : isPlainObject(value) ? nest(value) : value;
  }
  return out;
}

/**
 * Checks one source of settings (nested, or dotted keys as `-s` gives them)
 * and returns it nested, lists copied.
 * @param text what `-s` was given, quoted in the error instead of the parsed value.
 * @throws {@link ConfigError} naming the first unknown key or bad value, in one line.
 */
export function checkLayer(layer: unknown, text?: string): Record<string, unknown> {
  if (!isPlainObject(layer)) throw new ConfigError(`settings must be an object of setting names and values, not ${describeValue(layer)}`);
  const nested = nest(layer);
  const result = layerSchema.safeParse(nested);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // A list element's index is not part of the setting's name.
  const path = issue.path.filter((p): p is string => typeof p === 'string');
  if (issue.code === 'unrecognized_keys') throw unknownSetting([...path, issue.keys[0]!].join('.'));
  const value = text ?? path.reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], nested);
  throw new ConfigError(`bad value for setting '${path.join('.')}': ${JSON.stringify(value)} (expected ${issue.message})`);
}

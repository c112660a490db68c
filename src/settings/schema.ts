import { z } from 'zod';
import { userAgentList } from './user-agents.js';
import { ConfigError } from '../errors.js';
import { describeValue, isPlainObject } from '../json-value.js';
import { expandProxyFiles, maskCredentials, proxyUrlProblem } from '../proxy/list.js';
import type { Settings } from '../settings.js';
import { headerMap, hostHeaderMap, isCredentialHeader, REDACTED } from './headers.js';

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

const PROXY = 'an http:// or https:// proxy URL, [user:pass@]host[:port]';
/** Adds an issue for the first of `urls` that is no proxy URL, naming it with its password masked. */
function checkProxies(urls: string[], ctx: z.RefinementCtx): void {
  for (const url of urls) {
    const problem = proxyUrlProblem(url);
    if (problem) return void ctx.addIssue({ code: 'custom', message: `${PROXY}; ${JSON.stringify(maskCredentials(url))} has ${problem}` });
  }
}
/** `proxy`: one proxy URL, or '' for none. */
const proxyUrl = () => z.string({ error: PROXY }).superRefine((url, ctx) => (url === '' ? undefined : checkProxies([url], ctx)));
/** `proxies`: URLs, and `@path` for a file of them (proxy/list.ts), read here so that the run holds the URLs, checked before anything starts. */
const proxyList = () =>
  strings()
    .transform((entries, ctx) => {
      try {
        return expandProxyFiles(entries);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `proxy URLs, or @FILE of them, one per line: ${(err as Error).message}` });
        return z.NEVER;
      }
    })
    .superRefine(checkProxies);

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
  headers: headerMap(),
  hostHeaders: hostHeaderMap(),
  // Empty: the User-Agent's first token (see robotsToken).
  robotsUserAgent: z.string({ error: 'a string' }).refine((v) => v === '' || ROBOTS_TOKEN.test(v), TOKEN),
  userAgents: userAgentList(),
  sessions: group({ size: count(), banStatuses: statuses(), banText: z.string({ error: 'a string' }) }),
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
  offThreadPageBytes: whole(),
  parser: oneOf(['htmlparser2', 'parse5']),
  frontierLeaseMs: amount(),
  http2: flag(),
  // ca: a file's path, read when the fetch is made (fetch/tls.ts); '' for Node's own CAs alone.
  tls: group({ rejectUnauthorized: flag(), ca: z.string({ error: 'a string' }) }),
  proxy: proxyUrl(),
  proxies: proxyList(),
  proxyRotation: oneOf(['request', 'session']),
  proxyBenchMs: amount(),
  proxyBanLimit: whole(),
  browser: group({
    executablePath: z.string({ error: 'a string' }),
    maxPages: count(),
    restartAfterPages: count(),
    blockResources: flag(),
    sameScopeRequests: flag(),
    screenshotOnError: flag(),
    autoLearnPages: count(),
    autoRecheckEvery: count(),
  }),
};

/** How this process runs the crawl (see `RunOptions`). */
const runOptionsShape = {
  storageDir: text(),
  statusIntervalMs: amount(),
  logLevel: oneOf(LOG_LEVELS),
  heapGrowthPercent: whole(),
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

/** The keys of the run options: `storageDir`, `statusIntervalMs`, `logLevel`, `heapGrowthPercent`. */
export const runOptionKeys = Object.keys(runOptionsShape) as (keyof typeof runOptionsShape)[];

/** Every settable dotted key, e.g. `perHost.concurrency`; a free key as its placeholder: `headers.<name>`. */
export function settingKeys(shape: z.ZodRawShape = settingsSchema.shape, prefix = ''): string[] {
  return Object.entries(shape).flatMap(([k, s]) => keysOf(s as z.ZodType, `${prefix}${k}`));
}

const keysOf = (s: z.ZodType, key: string): string[] =>
  s instanceof z.ZodObject ? settingKeys(s.shape, `${key}.`) : s instanceof z.ZodRecord ? keysOf(s.valueType as z.ZodType, `${key}.<${s.description}>`) : [key];

/** How many parts of a dotted key the keys below a record take: none under `headers` (a value), one under `hostHeaders` (a header's name). */
const depth = (node: z.ZodType): number => (node instanceof z.ZodRecord ? 1 + depth(node.valueType as z.ZodType) : 0);

/**
 * A dotted key as the path it names, and the schema there (undefined past an
 * unknown part). A record's keys are free and may hold dots (a host name), so
 * a record's key is what the keys below it leave: `hostHeaders.api.example.com.authorization`
 * is hostHeaders, api.example.com, authorization. `filled`: levels the value
 * given for the key supplies itself (1 for an object of headers).
 */
function resolveKey(key: string, root: z.ZodType | undefined = settingsSchema, filled = 0): { path: string[]; node: z.ZodType | undefined } {
  const parts = key.split('.');
  const path: string[] = [];
  let node: z.ZodType | undefined = root;
  while (parts.length > 0) {
    if (node instanceof z.ZodRecord) {
      const below = Math.max(0, depth(node.valueType as z.ZodType) - filled);
      path.push(parts.splice(0, Math.max(1, parts.length - below)).join('.'));
      node = node.valueType as z.ZodType;
    } else {
      const part = parts.shift()!;
      path.push(part);
      node = node instanceof z.ZodObject && Object.hasOwn(node.shape, part) ? (node.shape[part] as z.ZodType) : undefined;
    }
  }
  return { path, node };
}

/** The schema of one dotted key; undefined for an unknown key, or a group (`perHost`, `headers`), which no single value sets. */
export function leafSchema(key: string): z.ZodType | undefined {
  const { node } = resolveKey(key);
  return node instanceof z.ZodObject || node instanceof z.ZodRecord ? undefined : node;
}

/** The error for a key that is no setting, listing those that are. */
export const unknownSetting = (key: string) => new ConfigError(`unknown setting '${key}' (known: ${settingKeys().join(', ')})`);

/**
 * One source of settings as nested objects: `{ 'perHost.concurrency': 2 }` is
 * `{ perHost: { concurrency: 2 } }`. A key set to `undefined` is not set. The
 * keys of a record given as an object are never split (`{ hostHeaders: { 'api.example.com': ... } }`).
 */
function nest(layer: Record<string, unknown>, schema: z.ZodType | undefined = settingsSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const { path, node } = schema instanceof z.ZodRecord ? { path: [key], node: schema.valueType as z.ZodType } : resolveKey(key, schema, isPlainObject(value) ? 1 : 0);
    let into = out;
    for (const part of path.slice(0, -1)) into = isPlainObject(into[part]) ? into[part] : (into[part] = {});
    const last = path.at(-1)!;
    const before = into[last];
    const given = isPlainObject(value) ? nest(value, node) : value;
    into[last] = isPlainObject(given) && isPlainObject(before) ? merged(before, given) : given;
  }
  return out;
}

/** `over` laid on `under`, object by object (one layer may give a host's headers both dotted and nested). */
function merged(under: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...under };
  for (const [key, value] of Object.entries(over)) {
    const before = out[key];
    out[key] = isPlainObject(value) && isPlainObject(before) ? merged(before, value) : value;
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
  if (issue.code === 'invalid_key')
    throw new ConfigError(`bad name in setting '${path.slice(0, -1).join('.')}': ${JSON.stringify(path.at(-1))} (expected ${issue.issues[0]?.message ?? issue.message})`);
  // A credential's value is never shown, not even a bad one; nor a URL's password (a proxy's): the error goes to a terminal, a log, a CI transcript.
  const secret = (path[0] === 'headers' || path[0] === 'hostHeaders') && path.length > 1 && isCredentialHeader(path.at(-1)!);
  const value = secret ? REDACTED : (text ?? path.reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], nested));
  throw new ConfigError(`bad value for setting '${path.join('.')}': ${maskCredentials(JSON.stringify(value))} (expected ${issue.message})`);
}

/**
 * Unit tests of pure functions: Retry-After parsing and backoff, settings
 * resolution and `-s key=value` parsing, CSV cells.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultSettings, resolveSettings, type RetrySettings } from '../src/index.js';
import { isRetryableStatus, parseRetryAfter, retryDelay } from '../src/fetch/retry.js';
import { parseSettingValue, settingKeys } from '../src/settings.js';
import { toCsv } from '../src/export/csv.js';
import { createStats, summaryLines } from '../src/stats.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    // The obsolete RFC 850 form HTTP still allows.
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:29:00 GMT', now)).toBe(60_000);
  });

  it('returns null when absent or unreadable', () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('in a minute', now)).toBeNull();
  });

  it('returns null for values that are neither delay-seconds nor an HTTP date (not 0: that would retry at once)', () => {
    expect(parseRetryAfter('-1', now)).toBeNull();
    expect(parseRetryAfter('1.5', now)).toBeNull();
    expect(parseRetryAfter('2 minutes', now)).toBeNull();
  });
});

describe('retryDelay', () => {
  const policy: RetrySettings = { ...defaultSettings.retry, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

  it('uses Retry-After when given, capped at maxRetryAfterMs', () => {
    expect(retryDelay(1, 2500, policy)).toBe(2500);
    expect(retryDelay(3, 0, policy)).toBe(0);
    expect(retryDelay(1, 86_400_000, policy)).toBe(5000);
  });

  it('backs off exponentially with jitter in [step/2, step], capped at maxDelayMs', () => {
    const sample = (attempt: number) => Array.from({ length: 300 }, () => retryDelay(attempt, null, policy));
    for (const [attempt, step] of [
      [1, 100],
      [2, 200],
      [3, 400],
      [4, 800],
      [5, 1000],
      [12, 1000],
    ] as const) {
      const delays = sample(attempt);
      expect(Math.min(...delays), `attempt ${attempt}`).toBeGreaterThanOrEqual(step / 2);
      expect(Math.max(...delays), `attempt ${attempt}`).toBeLessThanOrEqual(step);
      expect(new Set(delays).size, `attempt ${attempt} jitters`).toBeGreaterThan(1);
    }
  });

  it('isRetryableStatus follows the policy', () => {
    expect(isRetryableStatus(503, policy)).toBe(true);
    expect(isRetryableStatus(429, policy)).toBe(true);
    expect(isRetryableStatus(404, policy)).toBe(false);
    expect(isRetryableStatus(503, { ...policy, statuses: [500] })).toBe(false);
  });
});

describe('resolveSettings', () => {
  it('returns a copy of the defaults that does not share nested objects', () => {
    const s = resolveSettings();
    expect(s).toEqual(defaultSettings);
    s.retry.statuses.push(999);
    s.perHost.concurrency = 99;
    expect(defaultSettings.retry.statuses).not.toContain(999);
    expect(defaultSettings.perHost.concurrency).toBe(8);
  });

  it('merges nested and dotted overrides in order, later winning, keeping siblings', () => {
    const s = resolveSettings({ perHost: { concurrency: 2 }, retry: { maxAttempts: 5 } }, { 'perHost.delayMs': 250, 'retry.maxAttempts': 2 });
    expect(s.perHost).toEqual({ concurrency: 2, delayMs: 250, maxCrawlDelayMs: defaultSettings.perHost.maxCrawlDelayMs });
    expect(s.retry.maxAttempts).toBe(2);
    expect(s.retry.baseDelayMs).toBe(defaultSettings.retry.baseDelayMs);
    expect(resolveSettings(undefined, { obeyRobots: false }).obeyRobots).toBe(false);
  });

  it('copies arrays from the override', () => {
    const statuses = [503];
    const s = resolveSettings({ retry: { statuses } });
    statuses.push(500);
    expect(s.retry.statuses).toEqual([503]);
  });

  it('an unknown key throws a ConfigError naming it', () => {
    expect(() => resolveSettings({ bogus: 1 } as Record<string, unknown>)).toThrow(ConfigError);
    expect(() => resolveSettings({ bogus: 1 } as Record<string, unknown>)).toThrow(/unknown setting 'bogus'/);
    expect(() => resolveSettings({ perHost: { bogus: 1 } } as Record<string, unknown>)).toThrow(/unknown setting 'perHost\.bogus'/);
    expect(() => resolveSettings({ 'retry.nope': 1 })).toThrow(/unknown setting 'retry\.nope'/);
    // The message lists what is known, to help the typo.
    expect(() => resolveSettings({ concurency: 1 } as Record<string, unknown>)).toThrow(/perHost\.concurrency/);
  });

  it('a bad value throws a ConfigError naming the key', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ concurrency: '4' }, /'concurrency'/],
      [{ concurrency: 2.5 }, /'concurrency'.*integer/],
      [{ concurrency: 0 }, /'concurrency'/],
      [{ perHost: { concurrency: 0 } }, /'perHost\.concurrency'/],
      [{ 'retry.maxAttempts': 0 }, /'retry\.maxAttempts'.*integer >= 1/],
      [{ timeouts: { headersMs: -1 } }, /'timeouts\.headersMs'.*non-negative/],
      [{ maxDepth: Number.NaN }, /'maxDepth'/],
      [{ maxItems: Infinity }, /'maxItems'/],
      [{ obeyRobots: 'yes' }, /'obeyRobots'.*true or false/],
      [{ userAgent: '' }, /'userAgent'/],
      [{ parser: 'lxml' }, /'parser'.*htmlparser2 or parse5/],
      [{ logLevel: 'loud' }, /'logLevel'/],
      [{ retry: { statuses: 503 } }, /'retry\.statuses'.*list/],
      [{ retry: { statuses: [99] } }, /'retry\.statuses'.*HTTP statuses/],
      [{ handleStatuses: ['404'] }, /'handleStatuses'/],
      [{ allowedDomains: 'example.com' }, /'allowedDomains'/],
    ];
    for (const [override, message] of cases) {
      expect(() => resolveSettings(override), JSON.stringify(override)).toThrow(ConfigError);
      expect(() => resolveSettings(override), JSON.stringify(override)).toThrow(message);
    }
  });

  it('a scalar where a group belongs names the group', () => {
    expect(() => resolveSettings({ perHost: 3 } as Record<string, unknown>)).toThrow(/'perHost'/);
  });
});

describe('parseSettingValue', () => {
  it('parses text into the type of the default', () => {
    expect(parseSettingValue('concurrency', '4')).toBe(4);
    expect(parseSettingValue('maxDepth', ' 3 ')).toBe(3);
    expect(parseSettingValue('perHost.delayMs', '1500')).toBe(1500);
    for (const t of ['true', '1', 'yes', 'on', 'TRUE']) expect(parseSettingValue('obeyRobots', t)).toBe(true);
    for (const f of ['false', '0', 'no', 'off', 'Off']) expect(parseSettingValue('obeyRobots', f)).toBe(false);
    expect(parseSettingValue('allowedDomains', 'a.com, b.org,')).toEqual(['a.com', 'b.org']);
    expect(parseSettingValue('allowedDomains', '')).toEqual([]);
    expect(parseSettingValue('retry.statuses', '429, 503')).toEqual([429, 503]);
    expect(parseSettingValue('userAgent', 'mybot/1.0')).toBe('mybot/1.0');
    expect(parseSettingValue('parser', 'parse5')).toBe('parse5');
  });

  it('every settable key is parseable from its default', () => {
    // A free key (`headers.<name>`) has no default.
    for (const key of settingKeys().filter((k) => !k.includes('<'))) {
      const value = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], defaultSettings);
      const text = Array.isArray(value) ? value.join(',') : String(value);
      expect(parseSettingValue(key, text), key).toEqual(value);
    }
  });

  it('errors name the key', () => {
    expect(() => parseSettingValue('nope', 'x')).toThrow(/unknown setting 'nope'/);
    expect(() => parseSettingValue('perHost.nope', '1')).toThrow(/unknown setting 'perHost\.nope'/);
    expect(() => parseSettingValue('concurrency', 'abc')).toThrow(/bad value for setting 'concurrency'/);
    expect(() => parseSettingValue('concurrency', '')).toThrow(/'concurrency'/);
    expect(() => parseSettingValue('concurrency', '2.5')).toThrow(/'concurrency'.*integer/);
    expect(() => parseSettingValue('obeyRobots', 'maybe')).toThrow(/'obeyRobots'.*true or false/);
    expect(() => parseSettingValue('retry.statuses', '503,abc')).toThrow(/'retry\.statuses'/);
    expect(() => parseSettingValue('retry.statuses', '503,42')).toThrow(/'retry\.statuses'/);
    expect(() => parseSettingValue('logLevel', 'loud')).toThrow(/'logLevel'/);
    expect(() => parseSettingValue('concurrency', 'abc')).toThrow(ConfigError);
  });

  it('a bad value message quotes the text that was given', () => {
    expect(() => parseSettingValue('concurrency', 'abc')).toThrow(/abc/);
    expect(() => parseSettingValue('retry.statuses', '503,abc')).toThrow(/abc/);
  });
});

describe('CSV', () => {
  const csv = async (items: Record<string, unknown>[], columns: string[], options: { safe?: boolean; bom?: boolean } = {}) => {
    let text = '';
    for await (const chunk of toCsv(items, { columns, ...options })) text += chunk;
    return text;
  };

  it('writes a BOM and a header row, CRLF line ends; bom: false drops the BOM', async () => {
    expect(await csv([{ a: 1, b: 2 }], ['a', 'b'])).toBe('\uFEFFa,b\r\n1,2\r\n');
    expect(await csv([{ a: 1 }], ['a'], { bom: false })).toBe('a\r\n1\r\n');
    expect(await csv([], ['x', 'y'], { bom: false })).toBe('x,y\r\n');
  });

  it('follows the column order and leaves missing fields empty', async () => {
    expect(await csv([{ b: 'B', a: 'A', extra: 'dropped' }, { a: 'only a' }], ['a', 'b'], { bom: false })).toBe('a,b\r\nA,B\r\nonly a,\r\n');
  });

  it('quotes cells with commas, quotes, CR or LF, doubling quotes', async () => {
    expect(await csv([{ a: 'x,y', b: 'say "hi"', c: 'line\nbreak', d: 'cr\rhere', e: 'plain' }], ['a', 'b', 'c', 'd', 'e'], { bom: false })).toBe(
      'a,b,c,d,e\r\n"x,y","say ""hi""","line\nbreak","cr\rhere",plain\r\n',
    );
  });

  it('formats null, booleans, numbers, lists and nested objects', async () => {
    expect(await csv([{ n: null, u: undefined, t: true, f: false, i: -5, x: 1.5, l: ['a', 'b', 3], o: { k: 'v' } }], ['n', 'u', 't', 'f', 'i', 'x', 'l', 'o'], { bom: false })).toBe(
      'n,u,t,f,i,x,l,o\r\n,,true,false,-5,1.5,"[""a"",""b"",3]","{""k"":""v""}"\r\n',
    );
  });

  it('neutralises cells a spreadsheet would run as formulas', async () => {
    const item = { eq: '=SUM(A1:A2)', plus: '+1', minus: '-1', at: '@cmd', tab: '\tx', cr: '\r=1', ok: 'a=b', num: -3 };
    const cols = Object.keys(item);
    expect((await csv([item], cols, { bom: false })).split('\r\n')[1]).toBe(`'=SUM(A1:A2),'+1,'-1,'@cmd,'\tx,"'\r=1",a=b,-3`);
    // A list is JSON, which starts with [ and so is never a formula; and when the neutralised text also needs quoting.
    expect((await csv([{ l: ['=1', 'b'], q: '=HYPERLINK("http://x","y")' }], ['l', 'q'], { bom: false })).split('\r\n')[1]).toBe(
      `"[""=1"",""b""]","'=HYPERLINK(""http://x"",""y"")"`,
    );
  });

  it('safe: false leaves formula-like cells as they are', async () => {
    expect(await csv([{ a: '=1+1', b: '@x' }], ['a', 'b'], { safe: false, bom: false })).toBe('a,b\r\n=1+1,@x\r\n');
  });
});

describe('summaryLines: event-loop stalls', () => {
  const lag = (stats: Parameters<typeof createStats>[0]) => summaryLines(createStats(stats)).filter((l) => /blocked/.test(l));
  it('reports the main thread and the parser workers apart', () => {
    expect(lag({ maxEventLoopLagMs: 5_123, maxMainLagMs: 40, maxWorkerLagMs: 5_123 })).toEqual([`parser workers blocked up to 5,123 ms by one page's callback (fetching went on)`]);
    expect(lag({ maxEventLoopLagMs: 2_000, maxMainLagMs: 2_000, maxWorkerLagMs: 1_500, stallRetries: 3 })).toEqual([
      'event loop blocked up to 2,000 ms on the main thread (3 timeouts retried)',
      `parser workers blocked up to 1,500 ms by one page's callback (fetching went on)`,
    ]);
    expect(lag({ maxEventLoopLagMs: 900, maxMainLagMs: 900, maxWorkerLagMs: 10 })).toEqual([]);
  });

  it('stats stored before the split (maxEventLoopLagMs alone) still give their figure', () => {
    expect(lag({ maxEventLoopLagMs: 6_600 })).toEqual(['event loop blocked up to 6,600 ms (0 timeouts retried)']);
  });
});

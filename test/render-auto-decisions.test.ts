/** The decisions of `render: 'auto'` (src/browser/auto.ts) and their summary lines, without a browser. */
import { describe, expect, it } from 'vitest';
import { autoRender, type AutoRoute } from '../src/browser/auto.js';
import { sumStats } from '../src/cluster/runs.js';
import { createStats, summaryLines } from '../src/stats.js';

const settings = { autoLearnPages: 3, autoRecheckEvery: 4 };
const now = (r: AutoRoute | Promise<AutoRoute>): AutoRoute => {
  if (r instanceof Promise) throw new Error('the route waits');
  return r;
};
/** A learning page, compared with `agreed`, then released as the request handler does. */
const learnOne = (auto: ReturnType<typeof autoRender>, url: string, agreed: boolean) => {
  const r = now(auto.route(url));
  expect(r).toMatchObject({ how: 'compare', why: 'learn' });
  auto.parsed(r.pattern);
  const moved = auto.compared(r.pattern, 'learn', agreed);
  if (r.how === 'compare') r.release?.();
  return moved;
};

describe("render: 'auto' decisions", () => {
  it('goes HTTP-only once the first pages all agree, then rechecks one page in autoRecheckEvery', () => {
    const auto = autoRender(settings);
    expect(learnOne(auto, 'https://a.test/p/1', true)).toBeNull();
    expect(learnOne(auto, 'https://a.test/p/2', true)).toBeNull();
    expect(learnOne(auto, 'https://a.test/p/3', true)).toBe('http');
    const hows = Array.from({ length: 8 }, (_, i) => now(auto.route(`https://a.test/p/${10 + i}`)).how);
    expect(hows).toEqual(['http', 'http', 'http', 'compare', 'http', 'http', 'http', 'compare']);
    expect(auto.modeOf('a.test/p/:id')).toBe('http');
  });

  it('sends a pattern to the browser for good on one page that differs, learning or rechecked', () => {
    const auto = autoRender(settings);
    learnOne(auto, 'https://a.test/p/1', true);
    expect(learnOne(auto, 'https://a.test/p/2', false)).toBe('browser');
    expect(now(auto.route('https://a.test/p/3')).how).toBe('browser');
    expect(auto.compared('a.test/p/:id', 'learn', true)).toBeNull();
    expect(auto.modeOf('a.test/p/:id')).toBe('browser');

    const other = autoRender(settings);
    for (const n of [1, 2, 3]) learnOne(other, `https://a.test/q/${n}`, true);
    expect(other.compared('a.test/q/:id', 'recheck', false)).toBe('browser');
    expect(other.top(10).rows[0]).toMatchObject({ pattern: 'a.test/q/:id', mode: 'browser', pages: 3, compared: 3, agreed: 3, rechecked: 1, differed: 1 });
  });

  it('compares at most the pages a learning pattern still needs at once; the others wait for its decision', async () => {
    const auto = autoRender({ autoLearnPages: 2, autoRecheckEvery: 20 });
    const [a, b] = [now(auto.route('https://a.test/p/1')), now(auto.route('https://a.test/p/2'))];
    const waiting = auto.route('https://a.test/p/3');
    expect(waiting).toBeInstanceOf(Promise);
    for (const r of [a, b]) {
      auto.compared(r.pattern, 'learn', true);
      if (r.how === 'compare') r.release?.();
    }
    expect(await waiting).toMatchObject({ how: 'http' });
  });

  it('saves only what changed, as deltas, and takes in stored decisions, modes moving only forward', () => {
    const auto = autoRender(settings);
    learnOne(auto, 'https://a.test/p/1', true);
    const changes = auto.changes();
    expect(changes).toEqual([{ pattern: 'a.test/p/:id', mode: 'learning', pages: 1, compared: 1, agreed: 1, rechecked: 0, differed: 0 }]);
    auto.saved(changes);
    expect(auto.changes()).toEqual([]);
    // Another worker stored the pattern as HTTP-only, with its counts: taken in, and nothing to write back.
    auto.adopt([{ pattern: 'a.test/p/:id', mode: 'http', pages: 5, compared: 3, agreed: 3, rechecked: 0, differed: 0 }]);
    expect(auto.modeOf('a.test/p/:id')).toBe('http');
    expect(auto.changes()).toEqual([]);
    // A stored 'learning' does not move a decided pattern back.
    auto.adopt([{ pattern: 'a.test/p/:id', mode: 'learning', pages: 5, compared: 3, agreed: 3, rechecked: 0, differed: 0 }]);
    expect(auto.modeOf('a.test/p/:id')).toBe('http');
    expect(auto.top(1)).toEqual({ rows: [expect.objectContaining({ pages: 5 })], total: 1 });
  });

  it('shows the patterns with the most pages in the summary, and how many more there are', () => {
    const stats = createStats();
    stats.renderPatterns = [
      { pattern: 'shop.test/product/:id', mode: 'http', pages: 120, compared: 3, agreed: 3, rechecked: 6, differed: 0 },
      { pattern: 'shop.test/live/:id', mode: 'browser', pages: 14, compared: 1, agreed: 0, rechecked: 0, differed: 0 },
    ];
    stats.renderPatternCount = 13;
    const lines = summaryLines(stats).filter((l) => /render|shop\.test|more patterns/.test(l));
    expect(lines).toEqual([
      'render     shop.test/product/:id  http     120 pages (3/3 agreed, 6 rechecked)',
      '           shop.test/live/:id     browser  14 pages (0/1 agreed)',
      '           +11 more patterns',
    ]);
  });

  it("a cluster run's patterns are its workers' views merged: the further mode, the larger counts (not the last worker's view)", () => {
    const row = (mode: 'learning' | 'http' | 'browser', pages: number, compared: number) => ({ pattern: 'h/p/:id', mode, pages, compared, agreed: 0, rechecked: 0, differed: 0 });
    const total = sumStats([
      { pages: 3, renderPatterns: [row('browser', 9, 2)], renderPatternCount: 1 },
      { pages: 4, renderPatterns: [row('learning', 4, 1), { ...row('http', 5, 2), pattern: 'h/s/:id' }], renderPatternCount: 2 },
    ]);
    expect(total.pages).toBe(7);
    expect(total.renderPatternCount).toBe(2);
    expect(total.renderPatterns).toEqual([row('browser', 9, 2), { ...row('http', 5, 2), pattern: 'h/s/:id' }]);
  });
});

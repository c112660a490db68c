/**
 * `render: 'auto'`: per URL pattern (url-pattern.ts), whether its pages need
 * the browser, learned from what the callback yields. A pattern starts
 * `learning`: each of its pages is rendered, and its callback also runs on
 * the document as HTTP gave it (run/auto-parse.ts); once `autoLearnPages`
 * pages gave the same items and follow-ups both ways, the pattern goes
 * `http`; one page that differs sends it to the `browser` for good. Of an
 * `http` pattern, one page in `autoRecheckEvery` is compared again, so a
 * site that starts writing those pages by script is caught (and the pattern
 * goes to the browser). Modes only move forward: learning → http → browser,
 * so two cluster workers' decisions merge by taking the further.
 *
 * Why 3 pages to learn, 1 in 20 to recheck (the defaults): a pattern whose
 * content is script-written differs on every page, so one page would tell;
 * 3 guard against a first page that happens to be empty both ways (a list
 * with no entries), at 3 renders a pattern. A recheck renders a page of an
 * HTTP-only pattern: at 1 in 20, 5% of its pages, which keeps the cost of
 * watching under a third of the saving on the bench site, where a render
 * costs some 10 HTTP pages (bench/auto-render.ts), and finds a change within
 * 20 pages of it.
 */
import type { BrowserSettings } from '../settings.js';
import { learner, move, patternStates, total, type AutoMode, type PatternRow, type State } from './auto-states.js';
import { urlPattern } from './url-pattern.js';

export { furtherMode, MAX_PATTERNS, type AutoMode, type PatternCounts, type PatternRow } from './auto-states.js';

/**
 * How one page of an `auto` request is fetched: over HTTP, in the browser, or
 * both (its callback run on each, the outputs compared). A learning page's
 * `release` is called once it is done with, however it ended.
 */
export type AutoRoute = { pattern: string; how: 'http' | 'browser' } | { pattern: string; how: 'compare'; why: 'learn' | 'recheck'; release?: () => void };

/**
 * Longest a page waits for its pattern's learning pages before it is compared
 * too. A render took 1 to 3 s on the bench machine; the wait holds a
 * concurrency slot, so it is bounded.
 */
const LEARN_WAIT_MS = 10_000;

/** What a run's `auto` requests are decided by. */
export interface AutoRender {
  /**
   * How to fetch a page of `url`. While its pattern learns, at most as many
   * of its pages as it still needs are compared at once; the others wait for
   * the decision (up to 10 s), rather than all being rendered: with 16
   * requests in flight, 18 pages of a pattern were compared for the 3 it needed.
   */
  route(url: string): AutoRoute | Promise<AutoRoute>;
  /** Where `pattern` stands now (a pattern past the limit: `browser`). */
  modeOf(pattern: string): AutoMode;
  /** A page of `pattern` was parsed (and its items committed). */
  parsed(pattern: string): void;
  /** A page of `pattern` was fetched both ways: the outputs agreed or not. Says what changed, for the log. */
  compared(pattern: string, why: 'learn' | 'recheck', agreed: boolean): AutoMode | null;
  /** What changed since the last `saved()`: the modes and the counts added. */
  changes(): PatternRow[];
  /** `changes` are stored: they count as saved. */
  saved(changes: readonly PatternRow[]): void;
  /** Takes in stored patterns (a resume's; the cluster's shared ones): their counts as saved, modes merged. */
  adopt(rows: readonly PatternRow[]): void;
  /** The patterns, the most pages first (at most `limit`), and how many there are. */
  top(limit: number): { rows: PatternRow[]; total: number };
}

/** The decisions of one run (see the module's note). */
export function autoRender(settings: Pick<BrowserSettings, 'autoLearnPages' | 'autoRecheckEvery'>, onFull?: () => void): AutoRender {
  const states = patternStates(onFull);
  const { stateOf } = states;

  /** A learning page of `s`, or (enough of them in flight) one that waits for them to end, then is routed again. */
  const learn = (pattern: string, s: State, waited: number): AutoRoute | Promise<AutoRoute> => {
    if (s.learners < Math.max(1, settings.autoLearnPages - total(s, 'compared')) || waited >= LEARN_WAIT_MS)
      return { pattern, how: 'compare', why: 'learn', release: learner(s) };
    const since = Date.now();
    return new Promise<AutoRoute>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(routeOf(pattern, waited + Date.now() - since));
      };
      const timer = setTimeout(() => {
        s.waiters.splice(s.waiters.indexOf(wake) >>> 0, 1);
        wake();
      }, LEARN_WAIT_MS - waited);
      s.waiters.push(wake);
    });
  };
  const routeOf = (pattern: string, waited = 0): AutoRoute | Promise<AutoRoute> => {
    const s = stateOf(pattern);
    if (!s || s.mode === 'browser') return { pattern, how: 'browser' };
    if (s.mode === 'learning') return learn(pattern, s, waited);
    if (++s.sinceCheck < settings.autoRecheckEvery) return { pattern, how: 'http' };
    s.sinceCheck = 0;
    return { pattern, how: 'compare', why: 'recheck' };
  };

  return {
    route: (url) => routeOf(urlPattern(url)),
    modeOf: (pattern) => stateOf(pattern, false)?.mode ?? 'browser',
    parsed(pattern) {
      const s = stateOf(pattern, false);
      if (s) s.added.pages++;
    },
    compared(pattern, why, agreed) {
      const s = stateOf(pattern, false);
      if (!s) return null;
      if (why === 'learn') {
        s.added.compared++;
        if (agreed) s.added.agreed++;
      } else {
        s.added.rechecked++;
        if (!agreed) s.added.differed++;
      }
      if (!agreed) return move(s, 'browser');
      const learned = total(s, 'compared') >= settings.autoLearnPages && total(s, 'agreed') === total(s, 'compared');
      return s.mode === 'learning' && learned ? move(s, 'http') : null;
    },
    changes: () => states.changes(),
    saved: (changes) => states.saved(changes),
    adopt: (rows) => states.adopt(rows),
    top: (limit) => states.top(limit),
  };
}

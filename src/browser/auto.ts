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
import { urlPattern } from './url-pattern.js';

/** Where a pattern stands. */
export type AutoMode = 'learning' | 'http' | 'browser';

/**
 * How one page of an `auto` request is fetched: over HTTP, in the browser, or
 * both (its callback run on each, the outputs compared). A learning page's
 * `release` is called once it is done with, however it ended.
 */
export type AutoRoute = { pattern: string; how: 'http' | 'browser' } | { pattern: string; how: 'compare'; why: 'learn' | 'recheck'; release?: () => void };

/** The counters of a pattern. */
export interface PatternCounts {
  /** Pages of the pattern parsed. */
  pages: number;
  /** Pages compared while it was learning, and of those, how many agreed. */
  compared: number;
  agreed: number;
  /** Pages compared while it was HTTP-only, and of those, how many differed. */
  rechecked: number;
  differed: number;
}

/** A pattern as stored (and as the stats show it). */
export interface PatternRow extends PatternCounts {
  pattern: string;
  mode: AutoMode;
}

const RANK: Record<AutoMode, number> = { learning: 0, http: 1, browser: 2 };
/** The further of two modes: what a merge of two workers' decisions keeps. */
export const furtherMode = (a: AutoMode, b: AutoMode): AutoMode => (RANK[b] > RANK[a] ? b : a);

const zero = (): PatternCounts => ({ pages: 0, compared: 0, agreed: 0, rechecked: 0, differed: 0 });
const COUNTS = ['pages', 'compared', 'agreed', 'rechecked', 'differed'] as const;

/**
 * Patterns held in memory at most. A site whose every page is a pattern of
 * its own (ids this module does not see as such) would otherwise grow the
 * table with the crawl; past the limit, a new pattern's pages are rendered,
 * the safe way, and not recorded.
 */
export const MAX_PATTERNS = 10_000;

interface State {
  mode: AutoMode;
  /** The counts as last saved (or loaded), and what was added since. */
  saved: PatternCounts;
  added: PatternCounts;
  /** The mode changed since the last save. */
  moved: boolean;
  /** HTTP-only pages since the last recheck. */
  sinceCheck: number;
  /** Learning pages in flight, and the pages waiting for them (see `route`). */
  learners: number;
  waiters: (() => void)[];
}

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
  const states = new Map<string, State>();
  const stateOf = (pattern: string, create = true): State | undefined => {
    let s = states.get(pattern);
    if (!s && create && states.size < MAX_PATTERNS) states.set(pattern, (s = { mode: 'learning', saved: zero(), added: zero(), moved: true, sinceCheck: 0, learners: 0, waiters: [] }));
    if (!s && create && states.size >= MAX_PATTERNS) onFull?.();
    return s;
  };
  const total = (s: State, k: keyof PatternCounts) => s.saved[k] + s.added[k];
  const row = (pattern: string, s: State, counts: (k: keyof PatternCounts) => number): PatternRow =>
    ({ pattern, mode: s.mode, ...Object.fromEntries(COUNTS.map((k) => [k, counts(k)])) }) as PatternRow;
  const move = (s: State, mode: AutoMode) => {
    if (furtherMode(s.mode, mode) === s.mode) return null;
    s.mode = mode;
    s.moved = true;
    return mode;
  };

  /** A learning page of `s`, or (enough of them in flight) one that waits for them to end, then is routed again. */
  const learn = (pattern: string, s: State, waited: number): AutoRoute | Promise<AutoRoute> => {
    if (s.learners < Math.max(1, settings.autoLearnPages - total(s, 'compared')) || waited >= LEARN_WAIT_MS) {
      s.learners++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        s.learners--;
        for (const wake of s.waiters.splice(0)) wake();
      };
      return { pattern, how: 'compare', why: 'learn', release };
    }
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
    changes() {
      const out: PatternRow[] = [];
      for (const [pattern, s] of states) if (s.moved || COUNTS.some((k) => s.added[k] > 0)) out.push(row(pattern, s, (k) => s.added[k]));
      return out;
    },
    saved(changes) {
      for (const c of changes) {
        const s = states.get(c.pattern);
        if (!s) continue;
        for (const k of COUNTS) {
          s.saved[k] += c[k];
          s.added[k] -= c[k];
        }
        if (s.mode === c.mode) s.moved = false;
      }
    },
    adopt(rows) {
      for (const r of rows) {
        const s = stateOf(r.pattern);
        if (!s) continue;
        for (const k of COUNTS) s.saved[k] = r[k];
        s.mode = furtherMode(s.mode, r.mode);
        // Stored as it is here: nothing to write unless this process moves it on.
        if (s.mode === r.mode && COUNTS.every((k) => s.added[k] === 0)) s.moved = false;
      }
    },
    top(limit) {
      const rows = [...states].map(([pattern, s]) => row(pattern, s, (k) => total(s, k)));
      rows.sort((a, b) => b.pages - a.pages || a.pattern.localeCompare(b.pattern));
      return { rows: rows.slice(0, limit), total: rows.length };
    },
  };
}

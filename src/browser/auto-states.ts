/**
 * The patterns of `render: 'auto'` as auto.ts keeps them in memory: each
 * one's mode and counts (those saved, and those added since, which the next
 * save writes as deltas), and the bookkeeping of saving and taking in stored
 * ones. The decisions themselves are auto.ts's.
 */

/** Where a pattern stands. */
export type AutoMode = 'learning' | 'http' | 'browser';

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

const COUNTS = ['pages', 'compared', 'agreed', 'rechecked', 'differed'] as const;

/**
 * The render patterns of a cluster run from its workers' stats: each worker's
 * are its view of the run's shared decisions at the time it saved them, so per
 * pattern the further mode and the larger counts are the later view.
 */
export function mergePatternViews(views: readonly (readonly PatternRow[])[]): PatternRow[] {
  const merged = new Map<string, PatternRow>();
  for (const rows of views)
    for (const row of rows) {
      const had = merged.get(row.pattern);
      if (!had) merged.set(row.pattern, { ...row });
      else {
        had.mode = furtherMode(had.mode, row.mode);
        for (const k of COUNTS) had[k] = Math.max(had[k], row[k]);
      }
    }
  return [...merged.values()].sort((a, b) => b.pages - a.pages);
}
const zero = (): PatternCounts => ({ pages: 0, compared: 0, agreed: 0, rechecked: 0, differed: 0 });

/**
 * Patterns held in memory at most. A site whose every page is a pattern of
 * its own (ids url-pattern.ts does not see as such) would otherwise grow the
 * table with the crawl; past the limit, a new pattern's pages are rendered,
 * the safe way, and not recorded.
 */
export const MAX_PATTERNS = 10_000;

/** A pattern in memory. */
export interface State {
  mode: AutoMode;
  /** The counts as last saved (or loaded), and what was added since. */
  saved: PatternCounts;
  added: PatternCounts;
  /** The mode changed since the last save. */
  moved: boolean;
  /** HTTP-only pages since the last recheck. */
  sinceCheck: number;
  /** Learning pages in flight, and the pages waiting for them (see auto.ts's `route`). */
  learners: number;
  waiters: (() => void)[];
}

/** A count of a pattern: saved and added. */
export const total = (s: State, k: keyof PatternCounts): number => s.saved[k] + s.added[k];

/** Moves a pattern on to `mode`, if that is further: the mode it moved to, or null. */
export function move(s: State, mode: AutoMode): AutoMode | null {
  if (furtherMode(s.mode, mode) === s.mode) return null;
  s.mode = mode;
  s.moved = true;
  return mode;
}

/** Counts one more learning page in flight of `s`; the function that ends it (once), waking the pages that wait. */
export function learner(s: State): () => void {
  s.learners++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    s.learners--;
    for (const wake of s.waiters.splice(0)) wake();
  };
}

const row = (pattern: string, s: State, counts: (k: keyof PatternCounts) => number): PatternRow =>
  ({ pattern, mode: s.mode, ...Object.fromEntries(COUNTS.map((k) => [k, counts(k)])) }) as PatternRow;

/** The patterns of a run in memory, at most {@link MAX_PATTERNS} (`onFull` told when one more is refused). */
export function patternStates(onFull?: () => void) {
  const states = new Map<string, State>();
  const stateOf = (pattern: string, create = true): State | undefined => {
    let s = states.get(pattern);
    if (!s && create && states.size < MAX_PATTERNS) states.set(pattern, (s = { mode: 'learning', saved: zero(), added: zero(), moved: true, sinceCheck: 0, learners: 0, waiters: [] }));
    if (!s && create && states.size >= MAX_PATTERNS) onFull?.();
    return s;
  };
  return {
    stateOf,
    /** What changed since the last save: the modes, and the counts added. */
    changes(): PatternRow[] {
      const out: PatternRow[] = [];
      for (const [pattern, s] of states) if (s.moved || COUNTS.some((k) => s.added[k] > 0)) out.push(row(pattern, s, (k) => s.added[k]));
      return out;
    },
    /** `changes` are stored. */
    saved(changes: readonly PatternRow[]): void {
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
    /** Takes in stored patterns: their counts as saved, their modes merged forward. */
    adopt(rows: readonly PatternRow[]): void {
      for (const r of rows) {
        const s = stateOf(r.pattern);
        if (!s) continue;
        for (const k of COUNTS) s.saved[k] = r[k];
        s.mode = furtherMode(s.mode, r.mode);
        // Stored as it is here: nothing to write unless this process moves it on.
        if (s.mode === r.mode && COUNTS.every((k) => s.added[k] === 0)) s.moved = false;
      }
    },
    /** The patterns, the most pages first (at most `limit`), and how many there are. */
    top(limit: number): { rows: PatternRow[]; total: number } {
      const rows = [...states].map(([pattern, s]) => row(pattern, s, (k) => total(s, k)));
      rows.sort((a, b) => b.pages - a.pages || a.pattern.localeCompare(b.pattern));
      return { rows: rows.slice(0, limit), total: rows.length };
    },
  };
}

import type { Outcome } from './frontier/frontier.js';

/** A settled page's outcome and the items handed on after commit (the same list as the outcome's). */
interface WithItems {
  outcome: Outcome;
  items: string[];
}

/**
 * Holds a batch of outcomes to `room` items, the number `maxItems` still
 * allows the run, in the order they are committed: the page that crosses the
 * limit keeps its first items up to it, and every item past it is not
 * stored. Those pages are still done (their follow-ups queued, so a summary
 * counts them as left over): nothing would fetch them again, since a run
 * that stops at a limit is finished. Returns how many items were not stored.
 *
 * The count is checked here, before the commit, against the run's stored
 * items (recounted from the table on resume), so a run never stores more than
 * `maxItems`, however many pages were in flight when it reached the limit,
 * and across kills and resumes (measured before: 809 of 800 uninterrupted,
 * 958 after two kills).
 */
export function capItems(batch: WithItems[], room: number): number {
  let over = 0;
  let left = Math.max(0, room);
  for (const c of batch) {
    if (c.outcome.kind !== 'done' || c.outcome.items.length <= left) {
      if (c.outcome.kind === 'done') left -= c.outcome.items.length;
      continue;
    }
    over += c.outcome.items.length - left;
    const kept = c.outcome.items.slice(0, left);
    c.outcome = { ...c.outcome, items: kept };
    c.items = kept;
    left = 0;
  }
  return over;
}

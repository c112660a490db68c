import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Frontier, Outcome, SettleResult } from './frontier.js';

/**
 * Rows one settle transaction writes at most (requests inserted or updated,
 * items stored), so that no commit holds the main thread for long. Measured
 * with SQLite on a 2-core machine, a follow-up costs 5 µs (idle) to 25 µs (its
 * cores shared with other busy processes), insert through the fingerprint's
 * unique index and building the row included: 500 rows are 3 to 13 ms, well
 * under the 50 ms a settle may hold up fetching, and the commit of each costs
 * little (WAL, no sync). A page's items, and its `dontFilter` follow-ups,
 * always go in the transaction that marks it done, however many.
 */
export const SETTLE_ROWS = 500;

/**
 * Splits a batch of outcomes into steps of about `maxRows` rows, each to be
 * settled in a transaction of its own. A page whose follow-ups do not fit has
 * them stored by `links` outcomes in the steps before, and its `done`
 * outcome, with the last of them, its items and its done mark, comes last.
 * Exactly-once holds across a kill between steps: the page is still in
 * flight, so it is fetched and parsed again, and its follow-ups already
 * stored are dropped as duplicates of themselves (the fingerprint's unique
 * index); its items were never stored.
 */
export function* settleSteps(outcomes: readonly Outcome[], maxRows = SETTLE_ROWS): Generator<Outcome[]> {
  let step: Outcome[] = [];
  let rows = 0;
  for (const o of outcomes) {
    if (o.kind !== 'done') {
      if (rows + 1 > maxRows && step.length > 0) {
        yield step;
        [step, rows] = [[], 0];
      }
      step.push(o);
      rows += 1;
      continue;
    }
    const f = o.followUps;
    const fixed = 1 + o.items.length + (o.invalid?.length ?? 0) + f.unfiltered.length;
    const first = o.from ?? 0;
    let from = first;
    while (from < f.count && rows + (f.count - from) + fixed > maxRows) {
      if (rows >= maxRows) {
        yield step;
        [step, rows] = [[], 0];
        continue;
      }
      const to = Math.min(f.count, from + (maxRows - rows));
      step.push({ kind: 'links', id: o.id, url: o.url, followUps: f, from, to });
      rows += to - from;
      from = to;
    }
    step.push(from === first ? o : { ...o, from });
    rows += f.count - from + fixed;
  }
  if (step.length > 0) yield step;
}

/** Adds `b` into `a`. */
function addResult(a: SettleResult, b: SettleResult): void {
  a.items += b.items;
  a.invalid += b.invalid;
  a.queued += b.queued;
  a.duplicates += b.duplicates;
  if (b.stale) a.stale = (a.stale ?? 0) + b.stale;
  for (const [reason, n] of Object.entries(b.skipped)) a.skipped[reason] = (a.skipped[reason] ?? 0) + n;
}

/**
 * Settles a batch in {@link settleSteps}, letting the event loop run between
 * steps (responses arrive, timers fire), and adds up what they report.
 */
export async function settleInSteps(frontier: Frontier, outcomes: readonly Outcome[], log: Logger): Promise<SettleResult> {
  const total: SettleResult = { items: 0, invalid: 0, queued: 0, skipped: {}, duplicates: 0 };
  let n = 0;
  for (const step of settleSteps(outcomes)) {
    if (n++ > 0) await nextTurn();
    addResult(total, await frontier.settle(step));
    for (const o of step)
      if (o.kind === 'links') log.debug(`stored follow-ups ${o.from + 1}-${o.to} of ${o.followUps.count + o.followUps.unfiltered.length} from ${o.url} (it is marked done with the last)`);
  }
  return total;
}

import { followUpRows } from '../followups.js';
import type { Db } from '../storage/database.js';
import { State, type FrontierCounts, type SyncFrontier, type NewRequest, type Outcome, type QueuedRequest, type SettleResult } from './frontier.js';

interface Row {
  id: number;
  url: string;
  method: string;
  headers: string | null;
  body: string | null;
  callback: string | null;
  meta: string | null;
  depth: number;
  priority: number;
  attempts: number;
  redirects: number;
  host: string;
}

/** The frontier's prepared statements, made once per database. */
function statements(db: Db) {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO requests (fp, url, method, headers, body, callback, meta, depth, priority, state, redirects, ready_at, host, parent_id, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // Hosts with enough requests already in memory are excluded, so one slow
  // (crawl-delayed) host cannot fill the scheduler's buffer and starve the rest.
  const select = db.prepare(
    `SELECT id, url, method, headers, body, callback, meta, depth, priority, attempts, redirects, host FROM requests
     WHERE state = ${State.queued} AND ready_at <= ? AND host NOT IN (SELECT value FROM json_each(?))
     ORDER BY priority DESC, ready_at LIMIT ?`,
  );
  const markInFlight = db.prepare(
    `UPDATE requests SET state = ${State.inFlight}, attempts = attempts + 1 WHERE id IN (SELECT value FROM json_each(?))`,
  );
  const setState = db.prepare(`UPDATE requests SET state = @state, status = @status, error = @error WHERE id = @id`);
  const setRetry = db.prepare(`UPDATE requests SET state = ${State.queued}, status = @status, error = @error, ready_at = @readyAt WHERE id = @id`);
  const requeue = db.prepare(`UPDATE requests SET state = ${State.queued}, attempts = max(attempts - 1, 0) WHERE id = ?`);
  const insertItem = db.prepare('INSERT INTO items (run_id, request_id, url, data, created_at) VALUES (?, ?, ?, ?, ?)');
  const insertInvalid = db.prepare('INSERT INTO invalid_items (run_id, request_id, url, data, errors, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const insertShot = db.prepare('INSERT OR REPLACE INTO screenshots (run_id, request_id, url, png, taken_at) VALUES (?, ?, ?, ?, ?)');
  const nextReady = db.prepare(`SELECT min(ready_at) AS t FROM requests WHERE state = ${State.queued}`);
  const countStates = db.prepare('SELECT state, count(*) AS n FROM requests GROUP BY state');

  return { insert, select, markInFlight, setState, setRetry, requeue, insertItem, insertInvalid, insertShot, nextReady, countStates };
}

type Statements = ReturnType<typeof statements>;

/** Inserts the new requests; counts them into `result` when given. Returns how many were new. */
function adder({ insert }: Statements) {
  return (requests: NewRequest[], now: number, result?: SettleResult): number => {
    let added = 0;
    for (const r of requests) {
      // Positional parameters: binding 15 named ones from an object costs more than the insert itself.
      const changes = insert.run(
        r.fp,
        r.url,
        r.method,
        r.headers,
        r.body,
        r.callback,
        r.meta,
        r.depth,
        r.priority,
        r.skipped ? State.skipped : State.queued,
        r.redirects,
        now,
        r.host,
        r.parentId,
        r.skipped ?? null,
      ).changes;
      added += changes;
      if (result) {
        if (changes === 0) result.duplicates++;
        else if (r.skipped) result.skipped[r.skipped] = (result.skipped[r.skipped] ?? 0) + 1;
        else result.queued++;
      }
    }
    return added;
  };
}

/** Takes up to `limit` ready requests, none of `busyHosts`, marking them in flight. */
function popper(db: Db, { select, markInFlight }: Statements) {
  return db.transaction((limit: number, now: number, busyHosts: readonly string[]): QueuedRequest[] => {
    const rows = select.all(now, JSON.stringify(busyHosts), limit) as Row[];
    if (rows.length > 0) markInFlight.run(JSON.stringify(rows.map((r) => r.id)));
    return rows.map((r) => ({
      id: r.id,
      url: r.url,
      method: r.method,
      headers: r.headers === null ? null : (JSON.parse(r.headers) as Record<string, string>),
      body: r.body,
      callback: r.callback,
      meta: r.meta === null ? null : (JSON.parse(r.meta) as Record<string, unknown>),
      depth: r.depth,
      priority: r.priority,
      attempts: r.attempts + 1,
      redirects: r.redirects,
      host: r.host,
    }));
  });
}

/** One transaction over a batch of outcomes: requests done (with their items and follow-ups), retried, failed... */
function settler(db: Db, runId: number, { setState, setRetry, requeue, insertItem, insertInvalid, insertShot }: Statements, addAll: ReturnType<typeof adder>) {
  return db.transaction((outcomes: Outcome[]): SettleResult => {
    const now = Date.now();
    const result: SettleResult = { items: 0, invalid: 0, queued: 0, skipped: {}, duplicates: 0 };
    for (const o of outcomes) {
      switch (o.kind) {
        case 'done':
          setState.run({ id: o.id, state: State.done, status: o.status, error: null });
          for (const data of o.items) insertItem.run(runId, o.id, o.url, data, now);
          result.items += o.items.length;
          if (o.invalid) {
            for (const bad of o.invalid) insertInvalid.run(runId, o.id, o.url, bad.data, JSON.stringify(bad.issues), now);
            result.invalid += o.invalid.length;
          }
          addAll(followUpRows(o.followUps, o.from ?? 0), now, result);
          addAll(o.followUps.unfiltered, now, result);
          break;
        case 'links':
          addAll(followUpRows(o.followUps, o.from, o.to), now, result);
          break;
        case 'retry':
          setRetry.run({ id: o.id, status: o.status, error: o.reason, readyAt: o.readyAt });
          result.queued++;
          break;
        case 'failed':
          setState.run({ id: o.id, state: State.failed, status: o.status, error: o.reason });
          // In the transaction that fails it: a failure is never stored without its screenshot, nor one without its failure.
          if (o.screenshot) insertShot.run(runId, o.id, o.screenshot.url, o.screenshot.png, now);
          break;
        case 'disallowed':
          setState.run({ id: o.id, state: State.disallowed, status: null, error: o.reason });
          break;
        case 'skipped':
          setState.run({ id: o.id, state: State.skipped, status: null, error: o.reason });
          result.skipped[o.reason] = (result.skipped[o.reason] ?? 0) + 1;
          break;
        case 'requeue':
          requeue.run(o.id);
          result.queued++;
          break;
      }
    }
    return result;
  });
}

/**
 * The frontier in the crawl's SQLite file. Deduplication is the UNIQUE index
 * on the fingerprint (INSERT OR IGNORE), so the seen-set costs disk, not RAM;
 * only the requests being fetched are ever in memory.
 */
export function createSqliteFrontier(db: Db, runId: number): SyncFrontier {
  const st = statements(db);
  const addAll = adder(st);
  const pop = popper(db, st);
  const settle = settler(db, runId, st, addAll);
  const { nextReady, countStates } = st;

  return {
    add: db.transaction((requests: NewRequest[]) => addAll(requests, Date.now())),
    pop: (limit, now, busyHosts) => pop(limit, now, busyHosts),
    settle: (outcomes) => settle(outcomes),
    nextReadyAt: () => (nextReady.get() as { t: number | null }).t,
    requeueInFlight: () => db.prepare(`UPDATE requests SET state = ${State.queued}, attempts = max(attempts - 1, 0) WHERE state = ${State.inFlight}`).run().changes,
    counts: () => {
      const counts: FrontierCounts = { queued: 0, inFlight: 0, done: 0, failed: 0, disallowed: 0, skipped: 0 };
      const names = Object.keys(State) as (keyof typeof State)[];
      for (const { state, n } of countStates.all() as { state: number; n: number }[]) {
        const name = names.find((k) => State[k] === state);
        if (name) counts[name] = n;
      }
      return counts;
    },
    clear: () => void db.exec('DELETE FROM requests'),
  };
}

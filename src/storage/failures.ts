import type { Db } from './database.js';

/** A request that failed for good, as `crawl failures` lists it. */
export interface Failure {
  runId: number;
  url: string;
  method: string;
  depth: number;
  /** Fetch attempts made, the last included. */
  attempts: number;
  /** The last HTTP status, when a response came. */
  status: number | null;
  /** The reason code: `http:404`, `network:ECONNREFUSED`, `callback:error`... */
  reason: string;
  /** The message; for a spider error (`callback:error`), its stack. */
  detail: string | null;
}

/** The run the requests table holds the frontier of, or null before the first run. */
export function frontierRun(db: Db): number | null {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'frontier_run'").get() as { value: number } | undefined;
  return row ? row.value : null;
}

/**
 * Empties the requests table for run `runId`, first moving the failed
 * requests of the run it held into `archived_failures`, so that `crawl
 * failures --run N` still lists them. Call it inside the transaction that
 * creates the new run.
 */
export function resetFrontier(db: Db, runId: number): void {
  const previous = frontierRun(db);
  if (previous !== null)
    db.prepare(
      `INSERT INTO archived_failures (run_id, request_id, url, method, depth, attempts, status, reason, detail)
       SELECT ?, id, url, method, depth, attempts, status, coalesce(reason, ''), detail FROM requests_named WHERE state = 'failed'`,
    ).run(previous);
  db.exec('DELETE FROM requests');
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('frontier_run', ?)").run(runId);
}

/** The failed requests of run `runId` in the order they were discovered, those whose reason starts with `reasonPrefix` if given; read row by row. */
export function listFailures(db: Db, runId: number, reasonPrefix = ''): IterableIterator<Failure> {
  return db
    .prepare(
      // substr, not LIKE: a prefix holding % or _ means itself.
      `SELECT run_id AS runId, url, method, depth, attempts, status, reason, detail FROM failures
       WHERE run_id = ? AND substr(reason, 1, length(?)) = ? ORDER BY request_id`,
    )
    .iterate(runId, reasonPrefix, reasonPrefix) as IterableIterator<Failure>;
}

import type { Db } from './database.js';

/** A request that failed for good, as `crawl failures` lists it. */
export interface Failure {
  runId: number;
  /** The request's id in its run (its row in the requests table, or archived_failures). */
  requestId: number;
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
  /** Whether a screenshot of its page was stored (`browser.screenshotOnError`): 1 or 0. */
  hasScreenshot: number;
  /** The screenshot's PNG, when asked for (`withScreenshots`) and there is one. */
  png?: Buffer | null;
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

/**
 * The failed requests of run `runId` in the order they were discovered, those
 * whose reason starts with `reasonPrefix` if given, with their screenshots'
 * PNGs if `withScreenshots`; read row by row. Screenshots are kept by run and
 * request id, which archiving a run's failures keeps: an old run's are found too.
 */
export function listFailures(db: Db, runId: number, reasonPrefix = '', withScreenshots = false): IterableIterator<Failure> {
  return db
    .prepare(
      // substr, not LIKE: a prefix holding % or _ means itself. The PNGs come in the same read: no other query may run on the connection while it iterates.
      `SELECT f.run_id AS runId, f.request_id AS requestId, f.url, method, depth, attempts, status, reason, detail,
         s.run_id IS NOT NULL AS hasScreenshot${withScreenshots ? ', s.png' : ''}
       FROM failures f LEFT JOIN screenshots s ON s.run_id = f.run_id AND s.request_id = f.request_id
       WHERE f.run_id = ? AND substr(reason, 1, length(?)) = ? ORDER BY f.request_id`,
    )
    .iterate(runId, reasonPrefix, reasonPrefix) as IterableIterator<Failure>;
}

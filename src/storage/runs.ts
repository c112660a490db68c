import type { RunScope } from '../run-scope.js';
import type { Db } from './database.js';

/**
 * How a run stands. `interrupted`, `failed` (its `start()` threw) and
 * `running` (after a crash) runs resume: a failed one runs `start()` again.
 */
export type RunStatus = 'running' | 'interrupted' | 'failed' | 'finished';

/** One crawl of a spider, possibly spanning several processes (resumes). */
export interface Run {
  id: number;
  spider: string;
  status: RunStatus;
  args: Record<string, string>;
  startedAt: number;
  finishedAt: number | null;
  startsDone: boolean;
  stats: Record<string, unknown> | null;
  /** `replay`: callbacks re-run over cached responses, nothing fetched. */
  mode: RunMode;
  /** Item fields in export order, from the spider's item schema; null without one. */
  columns: string[] | null;
  /** Where the run may go, recorded with its start requests; null until they are all enqueued. */
  scope: RunScope | null;
  /** The spider's {@link Spider.itemKey} when the run began: the field that names an item across runs; null without one. */
  itemKey: string | null;
}

/** How a run gets its responses. */
export type RunMode = 'crawl' | 'replay';

interface RunRow {
  id: number;
  spider: string;
  status: RunStatus;
  args: string;
  started_at: number;
  finished_at: number | null;
  starts_done: number;
  stats: string | null;
  mode: RunMode;
  columns: string | null;
  scope: string | null;
  item_key?: string | null;
}

const toRun = (r: RunRow): Run => ({
  id: r.id,
  spider: r.spider,
  status: r.status,
  args: JSON.parse(r.args) as Record<string, string>,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  startsDone: r.starts_done === 1,
  stats: r.stats === null ? null : (JSON.parse(r.stats) as Record<string, unknown>),
  mode: r.mode,
  columns: r.columns === null ? null : (JSON.parse(r.columns) as string[]),
  scope: r.scope == null ? null : (JSON.parse(r.scope) as RunScope), // undefined in a file written before scopes were kept, read as it is
  itemKey: r.item_key ?? null,
});

/** Every run, oldest first. */
export function listRuns(db: Db): Run[] {
  return (db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[]).map(toRun);
}

/** The most recent run, or null for a new database. */
export function latestRun(db: Db): Run | null {
  const row = db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get() as RunRow | undefined;
  return row ? toRun(row) : null;
}

/** A run by id, or null. */
export function getRun(db: Db, id: number): Run | null {
  const row = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  return row ? toRun(row) : null;
}

/** Starts a new run. */
export function createRun(db: Db, spider: string, args: Record<string, string>, options: { mode?: RunMode; columns?: string[] | null; itemKey?: string | null } = {}): Run {
  const startedAt = Date.now();
  const mode = options.mode ?? 'crawl';
  const columns = options.columns ?? null;
  const { lastInsertRowid } = db
    .prepare("INSERT INTO runs (spider, status, args, started_at, mode, columns, item_key) VALUES (?, 'running', ?, ?, ?, ?, ?)")
    .run(spider, JSON.stringify(args), startedAt, mode, columns && JSON.stringify(columns), options.itemKey ?? null);
  return { id: Number(lastInsertRowid), spider, status: 'running', args, startedAt, finishedAt: null, startsDone: false, stats: null, mode, columns, scope: null, itemKey: options.itemKey ?? null };
}

/** Records a run's status and stats; `finished_at` is set when it finishes. */
export function updateRun(db: Db, id: number, fields: { status?: RunStatus; stats?: object; startsDone?: boolean; scope?: RunScope }): void {
  db.prepare(
    `UPDATE runs SET status = coalesce(@status, status), stats = coalesce(@stats, stats),
       starts_done = coalesce(@startsDone, starts_done), scope = coalesce(@scope, scope),
       finished_at = CASE WHEN @status = 'finished' THEN @now ELSE finished_at END
     WHERE id = @id`,
  ).run({
    id,
    status: fields.status ?? null,
    stats: fields.stats ? JSON.stringify(fields.stats) : null,
    startsDone: fields.startsDone === undefined ? null : fields.startsDone ? 1 : 0,
    scope: fields.scope ? JSON.stringify(fields.scope) : null,
    now: Date.now(),
  });
}

/**
 * Reads a crawl's SQLite file directly (read-only), to check what the CLI stored.
 * A crawl may be writing it meanwhile (WAL mode): the reader sees what was committed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface StoredRow {
  id: number;
  runId: number;
  requestId: number | null;
  url: string;
  data: Record<string, unknown>;
}

export interface RunRow {
  id: number;
  status: string;
  args: Record<string, string>;
}

export interface DbSnapshot {
  items: StoredRow[];
  runs: RunRow[];
  /** requests.state -> count (0 queued, 1 in flight, 2 done, 3 failed, 4 disallowed, 5 skipped). */
  states: Record<number, number>;
}

export const dbFile = (storage: string, spider: string) => join(storage, `${spider}.sqlite`);

/** Everything a spider's database holds, read in one go. */
export function readDb(storage: string, spider: string): DbSnapshot {
  const file = dbFile(storage, spider);
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5_000 });
  try {
    const items = (
      db.prepare('SELECT id, run_id, request_id, url, data FROM items ORDER BY id').all() as {
        id: number;
        run_id: number;
        request_id: number | null;
        url: string;
        data: string;
      }[]
    ).map((r) => ({ id: r.id, runId: r.run_id, requestId: r.request_id, url: r.url, data: JSON.parse(r.data) as Record<string, unknown> }));
    const runs = (db.prepare('SELECT id, status, args FROM runs ORDER BY id').all() as { id: number; status: string; args: string }[]).map((r) => ({
      id: r.id,
      status: r.status,
      args: JSON.parse(r.args) as Record<string, string>,
    }));
    const states: Record<number, number> = {};
    for (const { state, n } of db.prepare('SELECT state, count(*) AS n FROM requests GROUP BY state').all() as { state: number; n: number }[]) states[state] = n;
    return { items, runs, states };
  } finally {
    db.close();
  }
}

/** A canonical, order-independent form of a list of items, for exact set comparison. */
export function canonical(items: readonly object[]): string[] {
  return items.map((i) => JSON.stringify(sortKeys(i))).sort();
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

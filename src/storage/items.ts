import type { Db } from './database.js';

/** A stored item as the exporters read it. */
export interface StoredItem {
  id: number;
  url: string;
  data: Record<string, unknown>;
}

/** Number of items a run stored. */
export function countItems(db: Db, runId: number): number {
  return (db.prepare('SELECT count(*) AS n FROM items WHERE run_id = ?').get(runId) as { n: number }).n;
}

/**
 * A run's items in the order they were stored, read row by row through a
 * cursor: an export of millions of items holds one in memory at a time.
 */
export function* iterateItems(db: Db, runId: number): Generator<StoredItem> {
  const rows = db.prepare('SELECT id, url, data FROM items WHERE run_id = ? ORDER BY id').iterate(runId) as IterableIterator<{
    id: number;
    url: string;
    data: string;
  }>;
  for (const row of rows) yield { id: row.id, url: row.url, data: JSON.parse(row.data) as Record<string, unknown> };
}

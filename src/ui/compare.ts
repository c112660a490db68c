/**
 * Two runs of a spider compared, item by item: added, removed and changed,
 * keyed by a field (the same key in both runs is the same item), or by the
 * whole item when no field is given, in which case nothing is "changed":
 * an edited item is one removed and one added.
 */
import type { Db } from '../storage/database.js';

/** Items of each kind shown as a sample. */
const SAMPLE = 10;

/** What differs between run `a` (before) and run `b` (after). */
export interface Comparison {
  /** Keys in b alone. Each count is of keys: items sharing a key in one run count once. */
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
  /** Items of either run without the key field, left out of the comparison. */
  keyless: number;
  sample: {
    added: { key: unknown; item: Record<string, unknown> }[];
    removed: { key: unknown; item: Record<string, unknown> }[];
    changed: { key: unknown; before: Record<string, unknown>; after: Record<string, unknown> }[];
  };
}

/** Each run's items by key (the first of those sharing one), as CTEs `a` and `b`; the key read through json_each, so the field name stays a parameter. */
const KEYED = (run: string) => `SELECT k, min(id) AS id, data FROM (
  SELECT id, data, CASE WHEN @key = '' THEN data ELSE (SELECT j.value FROM json_each(items.data) AS j WHERE j.key = @key) END AS k
  FROM items WHERE run_id = ${run}) WHERE k IS NOT NULL GROUP BY k`;
const WITH = `WITH a AS MATERIALIZED (${KEYED('@a')}), b AS MATERIALIZED (${KEYED('@b')}) `;

/** Compares the items of run `a` with run `b`'s, keyed by field `key` ('' for the whole item). */
export function compareRuns(db: Db, a: number, b: number, key: string): Comparison {
  const params = { a, b, key };
  const n = (sql: string) => (db.prepare(WITH + sql).get(params) as { n: number }).n;
  const rows = (sql: string) => db.prepare(`${WITH}${sql} LIMIT ${SAMPLE}`).all(params) as { k: unknown; data: string; after?: string }[];
  const parse = (s: string) => JSON.parse(s) as Record<string, unknown>;
  const keyless = `SELECT count(*) AS n FROM items WHERE run_id IN (@a, @b)
    AND NOT EXISTS (SELECT 1 FROM json_each(items.data) AS j WHERE j.key = @key AND j.type != 'null')`;
  return {
    added: n('SELECT count(*) AS n FROM b WHERE k NOT IN (SELECT k FROM a)'),
    removed: n('SELECT count(*) AS n FROM a WHERE k NOT IN (SELECT k FROM b)'),
    changed: n('SELECT count(*) AS n FROM a JOIN b USING (k) WHERE a.data != b.data'),
    unchanged: n('SELECT count(*) AS n FROM a JOIN b USING (k) WHERE a.data = b.data'),
    keyless: key === '' ? 0 : (db.prepare(keyless).get(params) as { n: number }).n,
    sample: {
      added: rows('SELECT k, data FROM b WHERE k NOT IN (SELECT k FROM a) ORDER BY id').map((r) => ({ key: r.k, item: parse(r.data) })),
      removed: rows('SELECT k, data FROM a WHERE k NOT IN (SELECT k FROM b) ORDER BY id').map((r) => ({ key: r.k, item: parse(r.data) })),
      changed: rows('SELECT k, a.data AS data, b.data AS after FROM a JOIN b USING (k) WHERE a.data != b.data ORDER BY b.id').map((r) => ({
        key: r.k,
        before: parse(r.data),
        after: parse(r.after!),
      })),
    },
  };
}

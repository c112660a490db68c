import type { PatternRow } from '../browser/auto.js';
import type { PatternStore } from '../browser/auto-sync.js';
import type { Db } from './database.js';

/**
 * The `render: 'auto'` patterns of run `runId` in the spider's database
 * (table `render_patterns`): counts added, the mode moved only forward
 * (learning → http → browser), as a cluster's hash does.
 */
export function sqlitePatternStore(db: Db, runId: number): PatternStore {
  const upsert = db.prepare(
    `INSERT INTO render_patterns (run_id, pattern, mode, pages, compared, agreed, rechecked, differed, updated_at)
     VALUES (@runId, @pattern, @mode, @pages, @compared, @agreed, @rechecked, @differed, @now)
     ON CONFLICT (run_id, pattern) DO UPDATE SET
       mode = CASE WHEN 'browser' IN (mode, excluded.mode) THEN 'browser' WHEN 'http' IN (mode, excluded.mode) THEN 'http' ELSE 'learning' END,
       pages = pages + excluded.pages, compared = compared + excluded.compared, agreed = agreed + excluded.agreed,
       rechecked = rechecked + excluded.rechecked, differed = differed + excluded.differed, updated_at = excluded.updated_at`,
  );
  const select = db.prepare('SELECT pattern, mode, pages, compared, agreed, rechecked, differed FROM render_patterns WHERE run_id = ?');
  const saveAll = db.transaction((changes: readonly PatternRow[]) => {
    const now = Date.now();
    for (const c of changes) upsert.run({ runId, now, ...c });
  });
  return { shared: false, load: () => select.all(runId) as PatternRow[], save: (changes) => saveAll(changes) };
}

import type { SessionStore, StoredSession } from '../session/store.js';
import type { Db } from './database.js';

/** A row of the `sessions` table. */
interface Row {
  id: string;
  slot: number;
  generation: number;
  user_agent: string | null;
  requests: number;
  retired: string | null;
  jar: string;
}

const identity = (c: { domain?: string; path?: string; key?: string }) => `${c.domain ?? ''}|${c.path ?? ''}|${c.key ?? ''}`;

/**
 * The sessions of run `runId` in the spider's database, one row each, its
 * jar as tough-cookie serialises one (`CookieJar.deserializeSync` reads it
 * back). One process writes them: each write is the whole session.
 */
export function sqliteSessionStore(db: Db, runId: number): SessionStore {
  const upsert = db.prepare(
    `INSERT INTO sessions (run_id, id, slot, generation, user_agent, requests, retired, jar, updated_at)
     VALUES (@runId, @id, @slot, @generation, @userAgent, @requests, @retired, @jar, @now)
     ON CONFLICT (run_id, id) DO UPDATE SET requests = excluded.requests, retired = excluded.retired, jar = excluded.jar, updated_at = excluded.updated_at`,
  );
  const select = db.prepare('SELECT id, slot, generation, user_agent, requests, retired, jar FROM sessions WHERE run_id = ?');
  const saveAll = db.transaction((sessions: StoredSession[]) => {
    const now = Date.now();
    for (const s of sessions) {
      const jar = JSON.stringify({ cookies: Object.values(s.cookies).map((json) => JSON.parse(json) as unknown) });
      upsert.run({ runId, id: s.id, slot: s.slot, generation: s.generation, userAgent: s.userAgent, requests: s.requests, retired: s.retired, jar, now });
    }
  });
  return {
    shared: false,
    load: () =>
      (select.all(runId) as Row[]).map((r) => {
        const cookies = (JSON.parse(r.jar) as { cookies?: Record<string, string>[] }).cookies ?? [];
        return {
          id: r.id,
          slot: r.slot,
          generation: r.generation,
          userAgent: r.user_agent,
          requests: r.requests,
          retired: r.retired,
          cookies: Object.fromEntries(cookies.map((c) => [identity(c), JSON.stringify(c)])),
        };
      }),
    save: (writes) => saveAll(writes.map((w) => w.session)),
  };
}

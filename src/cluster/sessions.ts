/**
 * A cluster run's sessions, shared by its workers: one Redis hash per run,
 * `crawlkit:{SPIDER}:run:ID:sessions`, with a field per session (`s:ID`: its
 * JSON, cookies and retirement aside), one per retired session (`r:ID`: why;
 * never cleared, so a worker that has not heard of it yet cannot undo it) and
 * one per cookie (`c:ID|domain|path|name`: the cookie as tough-cookie
 * serialises it). A worker writes only the cookies it changed, so two
 * workers' writes never undo each other's; each reads the hash back every
 * second and takes in the others' (session/replica.ts). A session's request
 * count is the last writer's: each worker's own, roughly.
 */
import type { Redis } from 'ioredis';
import type { SessionStore, StoredSession } from '../session/store.js';
import type { ClusterKeys } from './keys.js';

type Meta = Omit<StoredSession, 'cookies' | 'retired'>;

/** The sessions of cluster run `runId`. */
export function redisSessionStore(redis: Redis, keys: ClusterKeys, runId: number): SessionStore {
  const key = keys.runs.sessions(runId);
  return {
    shared: true,
    async load() {
      const hash = await redis.hgetall(key);
      const sessions = new Map<string, StoredSession>();
      for (const [field, value] of Object.entries(hash))
        if (field.startsWith('s:')) sessions.set(field.slice(2), { ...(JSON.parse(value) as Meta), retired: hash[`r:${field.slice(2)}`] ?? null, cookies: {} });
      for (const [field, value] of Object.entries(hash)) {
        if (!field.startsWith('c:')) continue;
        const bar = field.indexOf('|');
        const session = sessions.get(field.slice(2, bar));
        if (session) session.cookies[field.slice(bar + 1)] = value;
      }
      return [...sessions.values()];
    },
    async save(writes) {
      const multi = redis.multi();
      for (const { session, set, removed } of writes) {
        const { cookies: _cookies, retired, ...meta } = session;
        const fields: string[] = [`s:${session.id}`, JSON.stringify(meta)];
        if (retired !== null) fields.push(`r:${session.id}`, retired);
        for (const [identity, json] of Object.entries(set)) fields.push(`c:${session.id}|${identity}`, json);
        multi.hset(key, ...fields);
        if (removed.length > 0) multi.hdel(key, ...removed.map((identity) => `c:${session.id}|${identity}`));
      }
      await multi.exec();
    },
  };
}

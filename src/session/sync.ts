import type { Logger } from '../log.js';
import type { SessionPool } from './pool.js';
import type { SessionStore } from './store.js';

/**
 * How often the sessions that changed are written (a Set-Cookie, a
 * retirement, their request counts) and, in a cluster, the other workers'
 * read back. A kill -9 loses at most this much of the cookies a site set (a
 * resumed crawl sends the jar as it was a second before); a cluster's workers
 * see each other's cookies within it. A second with no change writes nothing
 * (6 µs, for 1 or 100 sessions); one with changes writes each changed session
 * once (an UPSERT of its jar, a few hundred bytes a cookie), whatever the
 * request rate: 0.2 ms for one session of 5 cookies, 24 ms for 100 sessions
 * of 10 cookies all changed (measured on a real SQLite file, 2 cores, 50
 * flushes). The stats are saved every 2 s; the jars every second, as a
 * login's cookie lost to a kill -9 costs more than a counter does.
 */
export const SESSIONS_SAVE_MS = 1_000;

/** Keeps a pool and its store in step: restored at the start, written every second and at the end. */
export interface SessionSync {
  /** Takes in the run's stored sessions (a resume's jars; a cluster's shared ones). */
  restore(): Promise<void>;
  start(): void;
  /** Writes what changed now (and, in a cluster, reads the others'). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  stop(): Promise<void>;
}

/** Keeps `pool` in step with `store`: see {@link SessionSync}. */
export function sessionSync(pool: SessionPool, store: SessionStore, log: Logger): SessionSync {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const flush = async () => {
    const writes = pool.changes();
    if (writes.length > 0) await store.save(writes);
    if (store.shared) pool.adopt(await store.load());
  };
  // One flush at a time: a slow Redis must not pile them up.
  const once = () => (running ??= flush().finally(() => (running = undefined)));
  return {
    restore: async () => pool.adopt(await store.load()),
    start() {
      timer = setInterval(() => void once().catch((err: Error) => log.warn(`could not save the sessions: ${err.message}`)), SESSIONS_SAVE_MS);
      timer.unref();
    },
    flush: () => once(),
    async stop() {
      clearInterval(timer);
      await running?.catch(() => {});
      await flush();
    },
  };
}

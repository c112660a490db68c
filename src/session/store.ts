import type { Awaitable } from '../frontier/frontier.js';

/**
 * Where a run's sessions are kept: the spider's SQLite file (local.ts's
 * `sessions` table), or the cluster's Redis (a hash per run, which every
 * worker reads back: cluster/sessions.ts). The pool lives in memory; sync.ts
 * writes what changed and reads the store back.
 */

/** A session as stored. */
export interface StoredSession {
  id: string;
  slot: number;
  generation: number;
  userAgent: string | null;
  /** Requests bound to it. */
  requests: number;
  /** Why it was retired; null while in use. */
  retired: string | null;
  /** Its cookies by identity (domain|path|name), each as tough-cookie's JSON. */
  cookies: Record<string, string>;
}

/** One session's write: the whole of it, and its cookies' changes since its last write (a shared store writes only those). */
export interface SessionWrite {
  session: StoredSession;
  set: Record<string, string>;
  /** Identities of the cookies gone since. */
  removed: string[];
}

/** A run's sessions, kept. */
export interface SessionStore {
  /** Other processes write it too: read back after each write. */
  readonly shared: boolean;
  /** Every session of the run, the retired too. */
  load(): Awaitable<StoredSession[]>;
  save(writes: readonly SessionWrite[]): Awaitable<void>;
}

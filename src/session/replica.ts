import { cookieMap, putCookies, takeChanged, type CookieMap } from './cookies.js';
import type { Entry, PoolState, Session } from './pool.js';
import type { SessionWrite, StoredSession } from './store.js';

/**
 * The pool as a replica of its store: what changed since the last write
 * (`changesOf`), and the store's sessions taken in (`adoptInto`): a resume's
 * at the start; in a cluster, the other workers' every second. A cluster's
 * workers converge: a session retired anywhere is retired everywhere, a
 * slot's newest generation wins, and cookies merge one by one (a cookie
 * changed here since the last write stays, to be written next).
 */

/** Sessions whose jar, counters or retirement changed since the last call, as the store writes them; the retired leave the pool's memory. */
export function changesOf(state: PoolState): SessionWrite[] {
  const writes: SessionWrite[] = [];
  for (const entry of state.entries.values()) {
    const { session } = entry;
    const jarMoved = session.jar !== null && takeChanged(session.jar);
    if (!jarMoved && entry.saved !== null && session.requests === entry.savedRequests && session.retired === entry.savedRetired) continue;
    const cookies = cookieMap(session.jar);
    const before = entry.saved ?? new Map<string, string>();
    const set = [...cookies].filter(([k, v]) => before.get(k) !== v);
    const removed = [...before.keys()].filter((k) => !cookies.has(k));
    writes.push({ session: storedOf(session, cookies), set: Object.fromEntries(set), removed });
    Object.assign(entry, { saved: cookies, savedRequests: session.requests, savedRetired: session.retired });
    // Written as retired: its row keeps its counters, the pool forgets it.
    if (session.retired !== null) state.entries.delete(session.id);
  }
  return writes;
}

/** Takes in the sessions a store holds. */
export function adoptInto(state: PoolState, stored: readonly StoredSession[]): void {
  for (const record of stored) {
    if (record.slot >= state.size) continue;
    const entry = state.entries.get(record.id);
    if (record.retired !== null) {
      // Another worker retired it (or a resume finds it retired): out of use here too, counted there.
      if (entry && entry.session.retired === null) state.leave(entry, record.retired);
      if (entry) state.entries.delete(record.id);
      state.generations[record.slot] = Math.max(state.generations[record.slot]!, record.generation);
      continue;
    }
    if (entry) {
      merge(entry, record);
      continue;
    }
    const current = state.slots[record.slot];
    if (current && current.session.generation >= record.generation) continue;
    if (current) {
      state.leave(current, 'replaced');
      state.entries.delete(current.session.id);
    }
    const fresh = state.make(record.slot, record.generation, record.userAgent);
    fresh.session.requests = fresh.savedRequests = record.requests;
    putCookies(fresh.session.jar, Object.values(record.cookies));
    fresh.saved = new Map(Object.entries(record.cookies));
    state.slots[record.slot] = fresh;
  }
}

/** A session as the store keeps it. */
function storedOf(session: Session, cookies: CookieMap): StoredSession {
  const { id, slot, generation, requests, retired } = session;
  return { id, slot, generation, userAgent: session.userAgent ?? null, requests, retired, cookies: Object.fromEntries(cookies) };
}

/**
 * Takes in what the store holds of a session this process has too: its
 * cookies as stored, except those changed here since the last write (they are
 * written next, and win), and the larger request count.
 */
function merge(entry: Entry, record: StoredSession): void {
  const { session } = entry;
  session.requests = Math.max(session.requests, record.requests);
  if (!session.jar) return;
  const current = cookieMap(session.jar);
  const saved = entry.saved ?? new Map<string, string>();
  const keys = new Set([...Object.keys(record.cookies), ...saved.keys()]);
  const put: string[] = [];
  const gone: string[] = [];
  for (const key of keys) {
    if (current.get(key) !== saved.get(key)) continue; // changed here since: ours, written at the next flush
    const remote = record.cookies[key];
    if (remote === undefined && current.has(key)) gone.push(current.get(key)!);
    else if (remote !== undefined && remote !== current.get(key)) put.push(remote);
  }
  putCookies(session.jar, put, gone);
  entry.saved = new Map(Object.entries(record.cookies));
}

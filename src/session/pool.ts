import { CookieJar } from 'tough-cookie';
import type { Logger } from '../log.js';
import type { Exchange, SessionRef } from '../middleware/chain.js';
import { bump, type Stats } from '../stats.js';
import { cookieMap, putCookies, takeChanged, type CookieMap } from './cookies.js';
import type { StoredSession, SessionWrite } from './store.js';

/**
 * The session pool: `sessions.size` sessions, each a visitor as a site sees
 * one (its cookie jar, its User-Agent; its proxy, for the proxies). Requests
 * take them in turn, round-robin over the pool's slots, so each session
 * carries an even share. A session a site bans is retired and its slot gets
 * a new one (a new id, an empty jar), made when next needed; the pool keeps
 * its size. Ids are `SLOT.GENERATION` (`2.1`, then `2.2` once `2.1` is
 * retired): the workers of a cluster that retire the same session name its
 * successor alike, so they go on sharing one (see sync.ts).
 */

/** A session of the pool. */
export interface Session extends SessionRef {
  /** Its place in the pool, 0 to `sessions.size - 1`. */
  readonly slot: number;
  /** 1 for the slot's first session, +1 for each that replaced a retired one. */
  readonly generation: number;
  /** Requests bound to it so far (in this run, over every process). */
  requests: number;
  /** Why it was retired (`banned:403`); null while in use. */
  retired: string | null;
}

/** Called when a ban is judged (a ban rule, or `res.session.retire()`), after the session is retired: the proxies bench a proxy that collects bans. */
export type OnBan = (ctx: Exchange, reason: string) => void;

/** What a pool is made with. */
export interface SessionPoolOptions {
  size: number;
  /** Whether sessions have a cookie jar (the `cookies` setting). */
  cookies: boolean;
  /** User-Agents the sessions take in turn, one each for life; empty: none of their own. */
  userAgents: readonly string[];
  /** Counts sessions used and retired, and bans by reason. */
  stats?: Stats;
  onBan?: OnBan;
  log?: Logger;
}

/** The pool's bookkeeping of a session: what was last written of it (or read from the store). */
interface Entry {
  session: Session;
  /** Its cookies as last written or read; null: never written. */
  saved: CookieMap | null;
  savedRequests: number;
  savedRetired: string | null;
}

/** The session pool: see the module's comment. */
export interface SessionPool {
  readonly size: number;
  /** The session the next request goes with. */
  pick(): Session;
  /** Retires the exchange's session, counts the ban, tells `onBan`. */
  ban(ctx: Exchange, reason: string): void;
  /** Retires a session (once; false if it already was). */
  retire(session: SessionRef, reason: string): boolean;
  /** Sessions whose jar, counters or retirement changed since the last call, as the store writes them; the retired leave the pool's memory. */
  changes(): SessionWrite[];
  /** Takes in the sessions a store holds: a resume's, or another worker's in a cluster. */
  adopt(stored: readonly StoredSession[]): void;
}

/** A new session pool (in memory: sync.ts writes and reads it through a store). */
export function createSessionPool(options: SessionPoolOptions): SessionPool {
  const { size, stats, log } = options;
  const slots: (Entry | undefined)[] = new Array<Entry | undefined>(size).fill(undefined);
  const entries = new Map<string, Entry>();
  const generations = new Array<number>(size).fill(0);
  let turn = 0;

  const make = (slot: number, generation: number, userAgent?: string | null): Entry => {
    const ua = userAgent ?? (options.userAgents.length ? options.userAgents[(slot + (generation - 1) * size) % options.userAgents.length] : undefined);
    const session: Session = { id: `${slot + 1}.${generation}`, slot, generation, jar: options.cookies ? new CookieJar() : null, requests: 0, retired: null, ...(ua ? { userAgent: ua } : {}) };
    const entry: Entry = { session, saved: null, savedRequests: 0, savedRetired: null };
    entries.set(session.id, entry);
    generations[slot] = Math.max(generations[slot]!, generation);
    return entry;
  };

  /** Out of its slot; the replacement is made when the slot is next picked. */
  const leave = (entry: Entry, reason: string) => {
    entry.session.retired = reason;
    if (slots[entry.session.slot] === entry) slots[entry.session.slot] = undefined;
  };

  const retire = (ref: SessionRef, reason: string): boolean => {
    const entry = entries.get(ref.id);
    if (!entry || entry.session !== ref || entry.session.retired !== null) return false;
    leave(entry, reason);
    if (stats) stats.sessionsRetired++;
    log?.debug(`session ${ref.id} retired (${reason}) after ${entry.session.requests} requests`);
    return true;
  };

  return {
    size,
    pick() {
      const slot = turn++ % size;
      const entry = (slots[slot] ??= make(slot, generations[slot]! + 1));
      if (entry.session.requests++ === 0 && stats) stats.sessionsUsed++;
      return entry.session;
    },
    ban(ctx, reason) {
      if (ctx.session) retire(ctx.session, reason);
      if (stats) bump(stats.bans, reason);
      options.onBan?.(ctx, reason);
    },
    retire,
    changes() {
      const writes: SessionWrite[] = [];
      for (const entry of entries.values()) {
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
        if (session.retired !== null) entries.delete(session.id);
      }
      return writes;
    },
    adopt(stored) {
      for (const record of stored) {
        if (record.slot >= size) continue;
        const entry = entries.get(record.id);
        if (record.retired !== null) {
          // Another worker retired it (or a resume finds it retired): out of use here too, counted there.
          if (entry && entry.session.retired === null) leave(entry, record.retired);
          if (entry) entries.delete(record.id);
          generations[record.slot] = Math.max(generations[record.slot]!, record.generation);
          continue;
        }
        if (entry) {
          merge(entry, record);
          continue;
        }
        const current = slots[record.slot];
        if (current && current.session.generation >= record.generation) continue;
        if (current) {
          leave(current, 'replaced');
          entries.delete(current.session.id);
        }
        const fresh = make(record.slot, record.generation, record.userAgent);
        fresh.session.requests = fresh.savedRequests = record.requests;
        putCookies(fresh.session.jar, Object.values(record.cookies));
        fresh.saved = new Map(Object.entries(record.cookies));
        slots[record.slot] = fresh;
      }
    },
  };
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

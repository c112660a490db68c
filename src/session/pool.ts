import { CookieJar } from 'tough-cookie';
import type { Logger } from '../log.js';
import type { Exchange, SessionRef } from '../middleware/chain.js';
import { bump, type Stats } from '../stats.js';
import type { CookieMap } from './cookies.js';
import { adoptInto, changesOf } from './replica.js';
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
export interface Entry {
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

/** What the pool holds, for replica.ts, which writes and reads it back. */
export interface PoolState {
  readonly size: number;
  /** Each slot's session in use; undefined until it is next picked (at the start, and after a retirement). */
  readonly slots: (Entry | undefined)[];
  /** The sessions in use, and those retired but not yet written, by id. */
  readonly entries: Map<string, Entry>;
  /** Each slot's highest generation yet. */
  readonly generations: number[];
  make(slot: number, generation: number, userAgent?: string | null): Entry;
  /** Out of use (not counted: the caller's to count). */
  leave(entry: Entry, reason: string): void;
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
  const state: PoolState = { size, slots, entries, generations, make, leave };

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
    changes: () => changesOf(state),
    adopt: (stored) => adoptInto(state, stored),
  };
}

/**
 * The frontier: every request a crawl has discovered, deduplicated, with its
 * state. SQLite is the implementation today; the interface is the seam a
 * shared (Redis) frontier for distributed crawls will plug into.
 */
import type { FollowUps } from '../followups.js';

/** Life cycle of a request in the frontier. */
export const State = {
  queued: 0,
  inFlight: 1,
  done: 2,
  failed: 3,
  disallowed: 4,
  skipped: 5,
} as const;
export type State = (typeof State)[keyof typeof State];

/** What the frontier keeps of every request, but its headers and meta. */
interface RequestFields {
  url: string;
  method: string;
  body: string | null;
  /** Spider method name; null means `parse`. */
  callback: string | null;
  depth: number;
  priority: number;
  /** Redirect hops that led here. */
  redirects: number;
  /** `host[:port]`, the key of per-host limits. */
  host: string;
}

/** What the frontier keeps of every request, as read back. */
export interface StoredFields extends RequestFields {
  headers: Record<string, string> | null;
  meta: Record<string, unknown> | null;
}

/** A request to add to the frontier. */
export interface NewRequest extends RequestFields {
  /**
   * Headers and meta as JSON (null when empty), serialised and checked in the
   * page's own error handling: the frontier stores exactly what was checked,
   * and nothing but strings crosses from a parser worker.
   */
  headers: string | null;
  meta: string | null;
  fp: Buffer;
  parentId: number | null;
  /** Set for a request recorded without being fetched (out of scope). */
  skipped?: string;
}

/** A request taken from the frontier to be fetched. */
export interface QueuedRequest extends StoredFields {
  id: number;
  /** Fetch attempts including the current one. */
  attempts: number;
}

/** An item the spider's schema rejected, kept with why. */
export interface InvalidItem {
  /** The item as JSON. */
  data: string;
  issues: { path: string; message: string }[];
}

/**
 * The result of handling one request, applied atomically with its items and
 * follow-ups. A page with many follow-ups is settled over several
 * transactions (see `settleSteps`): `links` outcomes store some of its
 * follow-ups while it is still in flight, then its `done` outcome stores the
 * rest, its items and its done mark together.
 */
export type Outcome =
  | {
      kind: 'done';
      id: number;
      status: number;
      url: string;
      /** Items as JSON, serialised before the transaction so a bad item fails its request, not the batch. */
      items: string[];
      invalid?: InvalidItem[];
      followUps: FollowUps;
      /** Rows of `followUps` before this one were stored by earlier `links` outcomes. Default 0. */
      from?: number;
    }
  /** Rows `from` to `to` of a page's follow-ups, stored ahead of its `done` outcome (the page stays in flight). */
  | { kind: 'links'; id: number; url: string; followUps: FollowUps; from: number; to: number }
  | { kind: 'retry'; id: number; status: number | null; readyAt: number; reason: string }
  /** `screenshot`: of its rendered page (`browser.screenshotOnError`), stored with it by the SQLite frontier. */
  | { kind: 'failed'; id: number; status: number | null; reason: string; screenshot?: { url: string; png: Buffer } }
  | { kind: 'disallowed'; id: number; reason: string }
  /** Not fetched after all: a middleware skipped it (out of scope, or its own reason). */
  | { kind: 'skipped'; id: number; reason: string }
  /** Put back untouched: the crawl stopped before it was fetched. */
  | { kind: 'requeue'; id: number };

/** What `settle` reports back. */
export interface SettleResult {
  /** Items stored. */
  items: number;
  /** Items stored as invalid. */
  invalid: number;
  /** Requests now queued that were not: new follow-ups, retries, requeued ones. */
  queued: number;
  /** New follow-ups recorded as out of scope, by reason. */
  skipped: Record<string, number>;
  /** Follow-ups dropped as duplicates. */
  duplicates: number;
  /**
   * Outcomes ignored because their request's lease had expired and gone to
   * another worker (shared frontiers only): that worker's outcome counts instead.
   */
  stale?: number;
}

/** Counts of requests by state. */
export type FrontierCounts = Record<keyof typeof State, number>;

/** A value, or a promise of one: SQLite answers at once, a networked frontier (Redis) later. */
export type Awaitable<T> = T | Promise<T>;

/**
 * The frontier a scheduler drives. Methods may answer synchronously (the
 * SQLite frontier does, sparing a promise per call on the hot path) or with a
 * promise; callers always `await`.
 */
export interface Frontier {
  /** Other processes take from this frontier too: a scheduler should take only what it can fetch now and leave the rest to them. */
  readonly shared?: boolean;
  /** Adds requests not seen before; returns how many were new. */
  add(requests: NewRequest[]): Awaitable<number>;
  /**
   * Takes up to `limit` queued requests ready at `now`, highest priority
   * first, skipping `busyHosts`, and marks them in flight.
   */
  pop(limit: number, now: number, busyHosts: readonly string[]): Awaitable<QueuedRequest[]>;
  /** Applies outcomes (with their items and follow-ups) atomically. */
  settle(outcomes: Outcome[]): Awaitable<SettleResult>;
  /** Earliest `ready_at` of a queued request, or null when none is queued (nor, for a shared frontier, in flight anywhere). */
  nextReadyAt(): Awaitable<number | null>;
  /** Returns requests left in flight by a previous process to the queue. */
  requeueInFlight(): Awaitable<number>;
  counts(): Awaitable<FrontierCounts>;
  /** Forgets every request: the start of a new run. */
  clear(): Awaitable<void>;
}

/** A frontier that answers at once (SQLite), so its calls can run inside a database transaction. */
export type SyncFrontier = { [K in Exclude<keyof Frontier, 'shared'>]: (...args: Parameters<Frontier[K]>) => Awaited<ReturnType<Frontier[K]>> };

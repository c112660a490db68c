import type { Awaitable, Frontier } from '../frontier/frontier.js';
import type { Logger } from '../log.js';
import type { RunScope } from '../run-scope.js';
import type { Settings } from '../settings.js';
import type { Stats } from '../stats.js';
import type { StatusPoint } from './run-status.js';
import type { PatternStore } from '../browser/auto-sync.js';
import type { SessionStore } from '../session/store.js';
import type { ResponseStore } from './responses.js';
import type { RunMode, RunStatus } from './runs.js';

/** What a crawl asks of its backend when it begins. */
export interface BeginOptions {
  spider: { name: string; args: Readonly<Record<string, string>> };
  settings: Settings;
  /** Item fields in export order (from the item schema), recorded with a new run. */
  columns: string[] | null;
  /** The spider's item key, recorded with a new local run (crawl ui compares runs by it). */
  itemKey?: string | null;
  fresh: boolean;
  /** Responses are to be stored: a local backend's settles write them (see `responses`). */
  cache: boolean;
  replay: boolean;
  log: Logger;
}

/** A run begun or joined. */
export interface Begun {
  runId: number;
  mode: RunMode;
  /** This process continues a run that was under way (a resume, or joining a cluster's run). */
  resumed: boolean;
  /** The counters to continue from: the run's own after a resume; null to start at zero. */
  stats: Partial<Stats> | null;
  /** Whether the start requests still have to be enqueued. */
  startsDone: boolean;
  /** The scope recorded with the start requests; null when they are still to be enqueued (or were, by a crawlkit that kept none). */
  scope: RunScope | null;
  frontier: Frontier;
  /** The spider's cached responses, with `cache` (stored as the frontier settles) or in a replay (read); a local backend's only. */
  responses?: ResponseStore;
}

/**
 * Where a crawl keeps its runs, its frontier and its items: a local SQLite
 * file (one process), or a Redis server that a cluster of crawl processes
 * shares. The crawl loop is the same over either; what a run builds over it
 * (the middleware chain, the limiter, robots.txt) is `run/assemble.ts`'s.
 */
export interface CrawlBackend {
  /** The database file or the Redis URL, for messages and the summary. */
  readonly where: string;
  begin(options: BeginOptions): Promise<Begun>;
  /** Saves this process's progress; with a status, how its part of the run ended. */
  save(runId: number, stats: Stats, status?: RunStatus): Awaitable<void>;
  /** Adds a point to the run's status series (`crawl ui`'s charts); a local backend's only: a cluster's workers each see a part. */
  recordStatus?(runId: number, point: StatusPoint): Awaitable<void>;
  /** The start requests are all in the frontier, and this is the scope they give the run. */
  startsDone(runId: number, scope: RunScope): Awaitable<void>;
  /** Where the run's sessions (their cookie jars) are kept. */
  sessions(runId: number): SessionStore;
  /** Where the run's `render: 'auto'` decisions are kept. */
  renderPatterns(runId: number): PatternStore;
  /** After a replay: the first few requests the cache did not have. */
  cacheMisses(limit: number): Awaitable<string[]>;
  /** Turns the backend's own errors into one-line errors that say what to do; others pass through. */
  failure(err: unknown): unknown;
  close(): Promise<void>;
}

import { mkdirSync, accessSync, constants, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LockedError, StorageError } from '../errors.js';
import { spiderName } from '../spider-name.js';

/** An open crawl database: frontier, items and runs of one spider, in one SQLite file. */
export type Db = Database.Database;

/** Bumped with each change to the schema below; older files are migrated on open. */
const SCHEMA_VERSION = 4;

const schema = `
CREATE TABLE IF NOT EXISTS runs (
  id            INTEGER PRIMARY KEY,
  spider        TEXT    NOT NULL,
  status        TEXT    NOT NULL,            -- running | interrupted | finished
  args          TEXT    NOT NULL,            -- JSON of the spider arguments
  started_at    INTEGER NOT NULL,            -- ms since epoch
  finished_at   INTEGER,
  starts_done   INTEGER NOT NULL DEFAULT 0,  -- start requests all enqueued
  stats         TEXT,                        -- JSON, updated as the crawl goes
  mode          TEXT    NOT NULL DEFAULT 'crawl', -- crawl | replay (callbacks re-run over cached responses)
  columns       TEXT,                        -- JSON list of item fields in export order (from the spider's item schema), or null
  scope         TEXT                         -- JSON { sites, addressKinds }: where the run may go, fixed by its start requests
);
-- The frontier of the current run. A request's row is its whole life:
-- queued (0) → in flight (1) → done (2) | failed (3) | disallowed (4) | skipped (5).
CREATE TABLE IF NOT EXISTS requests (
  id          INTEGER PRIMARY KEY,
  fp          BLOB    NOT NULL UNIQUE,       -- fingerprint: the dedupe set lives in this index, not in RAM
  url         TEXT    NOT NULL,
  method      TEXT    NOT NULL,
  headers     TEXT,
  body        TEXT,
  callback    TEXT,
  meta        TEXT,
  depth       INTEGER NOT NULL,
  priority    INTEGER NOT NULL,
  state       INTEGER NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  redirects   INTEGER NOT NULL DEFAULT 0,
  ready_at    INTEGER NOT NULL,              -- not fetched before this time (ms): enqueue time, or a retry's backoff
  host        TEXT    NOT NULL,
  status      INTEGER,                       -- last HTTP status
  error       TEXT,                          -- why it failed, was disallowed or skipped
  parent_id   INTEGER
);
-- Popping reads only ready queued rows through this index: no scan of done rows. It is partial, so
-- a request leaves it when taken, and the millions of done rows of a long crawl cost it nothing.
CREATE INDEX IF NOT EXISTS requests_queued ON requests(priority DESC, ready_at) WHERE state = 0;
CREATE TABLE IF NOT EXISTS items (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL,
  request_id  INTEGER,
  url         TEXT    NOT NULL,
  data        TEXT    NOT NULL,              -- JSON
  created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_run ON items(run_id, id);
-- Items the spider's schema rejected: kept with why, never exported.
CREATE TABLE IF NOT EXISTS invalid_items (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL,
  request_id  INTEGER,
  url         TEXT    NOT NULL,
  data        TEXT    NOT NULL,              -- JSON, as the callback (and pipelines) made it
  errors      TEXT    NOT NULL,              -- JSON [{ path, message }]
  created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS invalid_items_run ON invalid_items(run_id, id);
-- The HTTP cache (--cache), read back by --replay: the latest response per request fingerprint.
CREATE TABLE IF NOT EXISTS responses (
  fp          BLOB    PRIMARY KEY,
  url         TEXT    NOT NULL,              -- the request's URL
  final_url   TEXT    NOT NULL,              -- the response's URL
  status      INTEGER NOT NULL,
  headers     TEXT    NOT NULL,              -- JSON, names lower-cased
  body        BLOB    NOT NULL,              -- compressed as \`encoding\` says
  encoding    TEXT    NOT NULL,              -- br | gzip | identity
  fetched_at  INTEGER NOT NULL
);
`;

/** Path of a spider's database inside the storage folder. @throws {@link ConfigError} when `spider` is not a name (see spider-name.ts). */
export function databasePath(storageDir: string, spider: string): string {
  return resolve(storageDir, `${spiderName(spider)}.sqlite`);
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/**
 * Opens (creating if needed) a spider's database for crawling and takes an
 * exclusive lock on it for the life of the process. The lock is SQLite's own
 * file lock (locking_mode=EXCLUSIVE), so the OS drops it when the process dies:
 * no stale lock file after a kill -9, and a second crawl is refused, never
 * interleaved.
 */
export function openForCrawl(storageDir: string, spider: string): Db {
  try {
    mkdirSync(storageDir, { recursive: true });
    accessSync(storageDir, constants.W_OK);
  } catch (err) {
    throw new StorageError(`storage folder ${storageDir} is not writable: ${(err as Error).message}`);
  }
  const path = databasePath(storageDir, spider);
  let db: Db;
  try {
    db = new Database(path, { timeout: 200 });
  } catch (err) {
    throw new StorageError(`cannot open database ${path}: ${(err as Error).message}`);
  }
  try {
    // Exclusive mode first: in WAL mode it also removes the shared-memory index.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // WAL + NORMAL: a crash loses at most the last commits, never corrupts
    db.pragma('cache_size = -16000');
    db.pragma('temp_store = MEMORY');
    migrate(db);
    // A write takes the exclusive lock now, rather than at the first commit.
    db.exec('BEGIN IMMEDIATE; COMMIT;');
  } catch (err) {
    db.close();
    if (isBusy(err)) throw new LockedError(`another crawl is using ${path}; wait for it to finish or stop it first`);
    throw new StorageError(`cannot use database ${path}: ${(err as Error).message}`);
  }
  return db;
}

/** Opens a spider's database read-only, for export and inspection. */
export function openForRead(storageDir: string, spider: string): Db {
  const path = databasePath(storageDir, spider);
  if (!existsSync(path)) throw new StorageError(`no data for spider '${spider}': ${path} does not exist (run \`crawl ${spider}\` first)`);
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 200 });
    db.prepare('SELECT count(*) FROM runs').get();
    return db;
  } catch (err) {
    if (isBusy(err)) throw new LockedError(`${path} is in use by a running crawl; export it when the crawl stops`);
    throw new StorageError(`cannot read database ${path}: ${(err as Error).message}`);
  }
}

/**
 * Turns SQLite's errors into a one-line StorageError that says what to do;
 * other errors pass through. Whatever was committed before stays: SQLite
 * rolls back only the transaction that failed.
 */
export function storageFailure(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const message = (err as Error).message;
  if (code === 'SQLITE_FULL')
    return new StorageError(`storage is full: cannot write ${path}; everything stored so far is kept, free some space and run again to resume`, { cause: err });
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
    return new StorageError(`database ${path} is damaged or not a crawlkit database (${code}: ${message})`, { cause: err });
  return new StorageError(`cannot write ${path} (${code}: ${message}); everything stored so far is kept, run again to resume`, { cause: err });
}

/** What turns schema N into N+1 (index N), before `schema` creates whatever is new. A new database skips them. */
const migrations = [
  '', // 0 → 1: the first schema
  'DROP INDEX IF EXISTS requests_ready;', // 1 → 2: the full (state, ...) index became the partial requests_queued
  // 2 → 3: run mode and export columns (invalid_items and responses are new tables, made by `schema`)
  "ALTER TABLE runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'crawl'; ALTER TABLE runs ADD COLUMN columns TEXT;",
  // 3 → 4: the run's scope (a run begun before it resumes with the scope of the spider's startUrls)
  'ALTER TABLE runs ADD COLUMN scope TEXT;',
];

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw new StorageError(`database was written by a newer crawlkit (schema ${version} > ${SCHEMA_VERSION})`);
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      if (version > 0) for (const step of migrations.slice(version)) db.exec(step);
      db.exec(schema);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }
}

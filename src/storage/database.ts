import { mkdirSync, accessSync, constants, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LockedError, StorageError } from '../errors.js';
import { State } from '../frontier/frontier.js';
import { lockDatabase } from './lock.js';
import { spiderName } from '../spider-name.js';

/** An open crawl database: frontier, items and runs of one spider, in one SQLite file. */
export type Db = Database.Database;

/** Bumped with each change to the schema below; older files are migrated on open. */
const SCHEMA_VERSION = 6;

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
-- Facts about the file: \`frontier_run\`, the run the requests table belongs to.
CREATE TABLE IF NOT EXISTS meta (
  key         TEXT    PRIMARY KEY,
  value       ANY
);
-- The failed requests of earlier runs, moved here when a new run clears the requests table.
CREATE TABLE IF NOT EXISTS archived_failures (
  run_id      INTEGER NOT NULL,
  request_id  INTEGER NOT NULL,
  url         TEXT    NOT NULL,
  method      TEXT    NOT NULL,
  depth       INTEGER NOT NULL,
  attempts    INTEGER NOT NULL,
  status      INTEGER,
  reason      TEXT    NOT NULL,
  detail      TEXT
);
CREATE INDEX IF NOT EXISTS archived_failures_run ON archived_failures(run_id, request_id);
-- The session pool of each run (-s sessions.size): a resumed run goes on with its cookies. Retired sessions stay, with why.
CREATE TABLE IF NOT EXISTS sessions (
  run_id      INTEGER NOT NULL,
  id          TEXT    NOT NULL,              -- SLOT.GENERATION: 1.1, then 1.2 once 1.1 is retired
  slot        INTEGER NOT NULL,
  generation  INTEGER NOT NULL,
  user_agent  TEXT,                          -- its own, from the userAgents setting
  requests    INTEGER NOT NULL,
  retired     TEXT,                          -- why (banned:403, banned:text, ...); null while in use
  jar         TEXT    NOT NULL,              -- its cookies, as tough-cookie serialises a CookieJar
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (run_id, id)
);
`;

/**
 * Views for people reading the file with SQL (and for \`crawl failures\`):
 * \`requests_named\`, the requests with their state as a name and their
 * error split into a reason code (\`http:404\`, \`callback:error\`) and the
 * detail (a message, or a spider error's stack: reasons never hold ': ');
 * \`failures\`, the failed requests of every run, the current one included.
 * Dropped and made again on each migration, so they follow \`State\`.
 */
const views = `
DROP VIEW IF EXISTS failures;
DROP VIEW IF EXISTS requests_named;
CREATE VIEW requests_named AS
SELECT id, url, method,
  CASE state ${Object.entries(State).map(([name, n]) => `WHEN ${n} THEN '${name === 'inFlight' ? 'in flight' : name}'`).join(' ')} END AS state,
  attempts, status,
  CASE WHEN instr(error, ': ') > 0 THEN substr(error, 1, instr(error, ': ') - 1) ELSE error END AS reason,
  CASE WHEN instr(error, ': ') > 0 THEN substr(error, instr(error, ': ') + 2) END AS detail,
  depth, priority, redirects, ready_at, host, callback, meta, parent_id
FROM requests;
CREATE VIEW failures AS
SELECT run_id, request_id, url, method, depth, attempts, status, reason, detail FROM archived_failures
UNION ALL
SELECT (SELECT value FROM meta WHERE key = 'frontier_run'), id, url, method, depth, attempts, status, reason, detail
FROM requests_named WHERE state = 'failed';
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
 * Opens (creating if needed) a spider's database for crawling, holding the
 * crawl lock ({@link lockDatabase}) until it is closed: a second crawl is
 * refused, while readers (`crawl runs`, `crawl export`) still read it, which
 * WAL mode allows alongside the one writer.
 */
export function openForCrawl(storageDir: string, spider: string): Db {
  try {
    mkdirSync(storageDir, { recursive: true });
    accessSync(storageDir, constants.W_OK);
  } catch (err) {
    throw new StorageError(`storage folder ${storageDir} is not writable: ${(err as Error).message}`);
  }
  const path = databasePath(storageDir, spider);
  const lock = lockDatabase(path);
  let db: Db;
  try {
    db = new Database(path, { timeout: 200 });
  } catch (err) {
    lock.release();
    throw new StorageError(`cannot open database ${path}: ${(err as Error).message}`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // WAL + NORMAL: a crash loses at most the last commits, never corrupts
    db.pragma('cache_size = -16000');
    db.pragma('temp_store = MEMORY');
    migrate(db);
  } catch (err) {
    db.close();
    lock.release();
    throw new StorageError(`cannot use database ${path}: ${(err as Error).message}`);
  }
  // The lock goes with the connection: every caller closes the database, none has to know about the lock.
  const close = db.close.bind(db);
  db.close = () => {
    close();
    lock.release();
    return db;
  };
  return db;
}

/**
 * Opens a spider's database read-only, for export and inspection; a crawl
 * may be writing it meanwhile (WAL mode: the reader sees the commits made
 * before its own statements began).
 */
export function openForRead(storageDir: string, spider: string): Db {
  const path = databasePath(storageDir, spider);
  if (!existsSync(path)) throw new StorageError(`no data for spider '${spider}': ${path} does not exist (run \`crawl ${spider}\` first)`);
  try {
    // A reader waits only while the writer checkpoints or recovers the log: a few ms, rarely more.
    const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5_000 });
    db.prepare('SELECT count(*) FROM runs').get();
    if ((db.pragma('user_version', { simple: true }) as number) >= SCHEMA_VERSION) return db;
    // Written by an older crawlkit: brought up to date once (as the next crawl would), so that the views readers use exist.
    db.close();
    openForCrawl(storageDir, spider).close();
    return openForRead(storageDir, spider);
  } catch (err) {
    if (err instanceof StorageError) throw err;
    if (isBusy(err)) throw new LockedError(`${path} stayed busy for 5 s; try again`);
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
  // 3 → 4: the views, the archive of failures, and which run the requests are of: the last crawl (runs `crawl collect` made hold none)
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY);
   INSERT INTO meta SELECT 'frontier_run', max(id) FROM runs WHERE stats IS NULL OR stats NOT LIKE '%"collectedFrom"%' HAVING max(id) IS NOT NULL;`,
  // 4 → 5: the run's scope (a run begun before it resumes with the scope of the spider's startUrls)
  'ALTER TABLE runs ADD COLUMN scope TEXT;',
  '', // 5 → 6: the sessions (a new table, made by `schema`)
];

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw new StorageError(`database was written by a newer crawlkit (schema ${version} > ${SCHEMA_VERSION})`);
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      if (version > 0) for (const step of migrations.slice(version)) db.exec(step);
      db.exec(schema);
      db.exec(views);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }
}

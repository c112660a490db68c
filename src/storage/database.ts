import { mkdirSync, accessSync, constants, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LockedError, StorageError } from '../errors.js';
import { SCHEMA_VERSION, migrations, schema, views } from './schema.js';
import { lockDatabase } from './lock.js';
import { spiderName } from '../spider-name.js';

/** An open crawl database: frontier, items and runs of one spider, in one SQLite file. */
export type Db = Database.Database;

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

import Database from 'better-sqlite3';
import { LockedError, StorageError } from '../errors.js';

/** A lock held on a spider's database for the life of a crawl (or a collect). */
export interface CrawlLock {
  release(): void;
}

const isBusy = (err: unknown) => /^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? '');

/**
 * Takes the crawl lock of the database at `path`: an exclusive transaction,
 * held open, on a tiny SQLite file beside it (`<path>-lock`). The lock is
 * SQLite's own file lock, so the OS drops it when the process dies (no stale
 * lock after a kill -9), and a second crawl is refused, never interleaved.
 * It lives in a file of its own because an exclusive lock on the database
 * itself (locking_mode=EXCLUSIVE) also shuts out the readers WAL mode allows:
 * `crawl runs` and `crawl export` read while a crawl writes.
 */
export function lockDatabase(path: string): CrawlLock {
  let lock: Database.Database;
  try {
    lock = new Database(`${path}-lock`, { timeout: 200 });
  } catch (err) {
    throw new StorageError(`cannot open the lock file ${path}-lock: ${(err as Error).message}`);
  }
  try {
    // Rollback-journal mode and no write: the file stays empty, and there is never a journal to recover.
    lock.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    lock.close();
    if (isBusy(err)) throw new LockedError(`another crawl is using ${path}; wait for it to finish or stop it first`);
    throw new StorageError(`cannot lock ${path}: ${(err as Error).message}`);
  }
  return {
    release() {
      if (lock.open) lock.close(); // closing ends the transaction and drops the lock
    },
  };
}

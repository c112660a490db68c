/**
 * What `crawl ui` reads: the spiders' databases in the storage folder, opened
 * read-only for one request and closed after it (a crawl may be writing them
 * meanwhile: WAL lets readers in), and the parameters naming them in a URL.
 */
import { readdirSync } from 'node:fs';
import { ConfigError, NoDataError } from '../errors.js';
import { spiderName } from '../spider-name.js';
import { openForRead, type Db } from '../storage/database.js';
import { getRun, type Run } from '../storage/runs.js';

/** The spiders with a database in `storageDir`, by name; a file whose name is no spider name is passed over. */
export function spiderNames(storageDir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(storageDir);
  } catch {
    return [];
  }
  const names = files.filter((f) => f.endsWith('.sqlite')).map((f) => f.slice(0, -'.sqlite'.length));
  const isName = (n: string) => {
    try {
      return spiderName(n) === n;
    } catch {
      return false;
    }
  };
  return names.filter(isName).sort();
}

/** Runs `fn` over spider `name`'s database, open read-only for the while. */
export function readSpider<T>(storageDir: string, name: string, fn: (db: Db) => T): T {
  const db = openForRead(storageDir, spiderName(name));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Awaits `fn` over spider `name`'s database (an export streaming out), open read-only for the while. */
export async function readSpiderAsync<T>(storageDir: string, name: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = openForRead(storageDir, spiderName(name));
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** The spider a URL names (`?spider=`), checked to be a name, never a path. @throws {@link ConfigError} */
export const spiderParam = (url: URL): string => spiderName(url.searchParams.get('spider') ?? '');

/** A whole number from the URL (`?run=3`), or `fallback` when absent. @throws {@link ConfigError} when it is not one. */
export function intParam(url: URL, key: string, fallback?: number): number {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`missing ?${key}=`);
  }
  if (!/^\d{1,15}$/.test(raw)) throw new ConfigError(`bad ?${key}=: expected a whole number`);
  return Number(raw);
}

/** The run a URL names (`?run=`) of a spider's database. @throws {@link NoDataError} when there is none such. */
export function runParam(db: Db, url: URL, key = 'run'): Run {
  const id = intParam(url, key);
  const run = getRun(db, id);
  if (!run) throw new NoDataError(`there is no run ${id}`);
  return run;
}

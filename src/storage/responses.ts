/**
 * The `responses` table of a spider's SQLite file: the HTTP cache that `crawl
 * NAME --cache` fills and `--replay` reads (the policy is the `cache`
 * middleware's; this is where the rows live).
 */
import { State, type Outcome, type SyncFrontier } from '../frontier/frontier.js';
import { Reason } from '../reasons.js';
import type { Db } from './database.js';

/** How a stored body is compressed. */
export type Encoding = 'br' | 'gzip' | 'identity';

/** A response as the cache keeps it. */
export interface StoredResponse {
  /** The request's URL, and the response's (the same for every response crawlkit fetches: it follows no redirect itself). */
  url: string;
  finalUrl: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  encoding: Encoding;
}

/** The cached responses of a spider, by request fingerprint. */
export interface ResponseStore {
  get(fp: Buffer): StoredResponse | undefined;
  /** Stores a response (the latest per fingerprint wins) in the frontier's next settle transaction. */
  put(fp: Buffer, response: StoredResponse): void;
}

type Row = [fp: Buffer, url: string, finalUrl: string, status: number, headers: string, body: Buffer, encoding: Encoding, fetchedAt: number];

/**
 * The responses of the spider's database, and its frontier with every settle
 * writing the responses put since the last one in the same transaction: no
 * commit of their own, and a request is never done without its response stored.
 */
export function responseStore(db: Db, frontier: SyncFrontier): { responses: ResponseStore; frontier: SyncFrontier } {
  const upsert = db.prepare(
    'INSERT OR REPLACE INTO responses (fp, url, final_url, status, headers, body, encoding, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const select = db.prepare('SELECT url, final_url AS finalUrl, status, headers, body, encoding FROM responses WHERE fp = ?');
  let pending: Row[] = [];
  const settle = db.transaction((outcomes: Outcome[]) => {
    const rows = pending;
    pending = [];
    for (const row of rows) upsert.run(...row);
    return frontier.settle(outcomes);
  });
  const responses: ResponseStore = {
    get(fp) {
      const row = select.get(fp) as (Omit<StoredResponse, 'headers'> & { headers: string }) | undefined;
      return row && { ...row, headers: JSON.parse(row.headers) as Record<string, string> };
    },
    put(fp, r) {
      pending.push([fp, r.url, r.finalUrl, r.status, JSON.stringify(r.headers), r.body, r.encoding, Date.now()]);
    },
  };
  return { responses, frontier: { ...frontier, settle: (outcomes) => settle(outcomes) } };
}

/** Whether the spider's database holds any cached response. */
export function hasCachedResponses(db: Db): boolean {
  return db.prepare('SELECT 1 FROM responses LIMIT 1').get() !== undefined;
}

/** URLs of the current run's requests that failed with `cache:miss`, first ones first. */
export function cacheMisses(db: Db, limit: number): string[] {
  const rows = db
    .prepare(`SELECT url FROM requests WHERE state = ${State.failed} AND (error = ? OR error LIKE ?) ORDER BY id LIMIT ?`)
    .all(Reason.cacheMiss, `${Reason.cacheMiss}:%`, limit) as { url: string }[];
  return rows.map((r) => r.url);
}

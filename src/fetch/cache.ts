/**
 * The HTTP cache of a spider (`crawl NAME --cache`), kept in its SQLite file's
 * `responses` table, and the replay that reads it back (`crawl NAME --replay`):
 * the spider's callbacks run again over stored responses, with no network.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { FetchError } from '../errors.js';
import { State, type Outcome, type SyncFrontier } from '../frontier/frontier.js';
import { fingerprint } from '../request.js';
import type { RetrySettings, Settings } from '../settings.js';
import type { Db } from '../storage/database.js';
import { isRetryableStatus } from './retry.js';
import type { Fetched, Fetcher, FetchRequest } from './fetcher.js';

/** The failure reason of a replayed request whose response was never cached. */
export const CACHE_MISS = 'cache:miss';

/** How a stored body is compressed. */
type Encoding = 'br' | 'gzip' | 'identity';

const brotliCompress = promisify(zlib.brotliCompress);
const brotliDecompress = promisify(zlib.brotliDecompress);
const gunzip = promisify(zlib.gunzip);
const EMPTY = Buffer.alloc(0);

/**
 * Brotli at quality 1: on the fixture sites' 1,350 pages (13 KB each) it took
 * 47 µs a page for a 4.5× reduction, where gzip -1 took 61 µs for the same
 * ratio and brotli 5 took 142 µs for 5.7×. The cache is written on every page
 * of a crawl and read rarely, so the cheapest write wins. It runs on libuv's
 * thread pool, off the event loop that drives the crawl.
 */
async function compress(body: Buffer): Promise<{ body: Buffer; encoding: Encoding }> {
  if (body.length === 0) return { body, encoding: 'identity' };
  const packed = await brotliCompress(body, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length },
  });
  // Images and archives come compressed already: storing them as they are saves the decoding later.
  return packed.length < body.length ? { body: packed, encoding: 'br' } : { body, encoding: 'identity' };
}

async function decompress(body: Buffer, encoding: Encoding): Promise<Buffer> {
  if (encoding === 'br') return brotliDecompress(body);
  if (encoding === 'gzip') return gunzip(body);
  return body;
}

/** The cache key of a request: its fingerprint, the same identity the frontier dedupes on. */
const keyOf = (req: FetchRequest): Buffer => fingerprint(req.method, req.url, req.body ?? undefined);

type Row = [fp: Buffer, url: string, finalUrl: string, status: number, headers: string, body: Buffer, encoding: Encoding, fetchedAt: number];

/**
 * Wraps a crawl's fetcher and frontier so that every response the crawl gets
 * for a frontier request is stored, the latest per fingerprint winning.
 * Redirects (3xx) and final errors (404) are stored too, so a replay takes
 * the same path; responses that will be retried (503, 429) are not, nor is
 * anything fetched outside the frontier (robots.txt uses the unwrapped fetcher).
 *
 * The rows are written inside the frontier's `settle` transaction, beside the
 * outcome of the request they answer: no commit of their own, and a request
 * is never done without its response stored.
 */
export function cacheResponses(network: Fetcher, frontier: SyncFrontier, db: Db, retry: RetrySettings): { fetcher: Fetcher; frontier: SyncFrontier } {
  const upsert = db.prepare(
    'INSERT OR REPLACE INTO responses (fp, url, final_url, status, headers, body, encoding, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  let pending: Row[] = [];
  const settle = db.transaction((outcomes: Outcome[]) => {
    const rows = pending;
    pending = [];
    for (const row of rows) upsert.run(...row);
    return frontier.settle(outcomes);
  });

  const fetcher: Fetcher = {
    async fetch(req, readBody = () => true, signal) {
      const final = (status: number) => !isRetryableStatus(status, retry);
      // A 404's body is kept even when this crawl discards it, so a replay with handleStatuses: [404] can parse it.
      const res = await network.fetch(req, (s) => readBody(s) || (s >= 400 && final(s)), signal);
      if (final(res.status)) {
        const { body, encoding } = await compress(res.body);
        pending.push([keyOf(req), req.url, res.url, res.status, JSON.stringify(res.headers), body, encoding, Date.now()]);
      }
      return readBody(res.status) ? res : { ...res, body: EMPTY };
    },
    close: () => network.close(),
  };
  return { fetcher, frontier: { ...frontier, settle: (outcomes) => settle(outcomes) } };
}

/**
 * A fetcher that answers from the `responses` table and never touches the
 * network. A request that was never cached fails with a {@link FetchError}
 * of reason {@link CACHE_MISS}, which is not retried.
 */
export function replayFetcher(db: Db): Fetcher {
  const get = db.prepare('SELECT final_url, status, headers, body, encoding FROM responses WHERE fp = ?');
  return {
    async fetch(req, readBody = () => true): Promise<Fetched> {
      const row = get.get(keyOf(req)) as { final_url: string; status: number; headers: string; body: Buffer; encoding: Encoding } | undefined;
      if (!row) throw new FetchError(CACHE_MISS, `${req.method} ${req.url} is not in the cache`, false);
      let body: Buffer = EMPTY;
      if (readBody(row.status)) {
        try {
          body = await decompress(row.body, row.encoding);
        } catch (err) {
          throw new FetchError('cache:corrupt', `cached body of ${req.url} does not decode as ${row.encoding}: ${(err as Error).message}`, false, { cause: err });
        }
      }
      return { url: row.final_url, status: row.status, headers: JSON.parse(row.headers) as Record<string, string>, body };
    },
    close: async () => {},
  };
}

/** Whether the spider's database holds any cached response. */
export function hasCachedResponses(db: Db): boolean {
  return db.prepare('SELECT 1 FROM responses LIMIT 1').get() !== undefined;
}

/** URLs of the current run's requests that failed with {@link CACHE_MISS}, first ones first. */
export function cacheMisses(db: Db, limit: number): string[] {
  const rows = db
    .prepare(`SELECT url FROM requests WHERE state = ${State.failed} AND (error = ? OR error LIKE ?) ORDER BY id LIMIT ?`)
    .all(CACHE_MISS, `${CACHE_MISS}:%`, limit) as { url: string }[];
  return rows.map((r) => r.url);
}

/**
 * The settings a replay runs under: no robots.txt, no per-host delays or
 * throttle (there is no host to be polite to), per-host concurrency up to the
 * global one, and no status retried, since the cache would give the same answer.
 */
export function replaySettings(settings: Settings): Settings {
  return {
    ...settings,
    obeyRobots: false,
    perHost: { ...settings.perHost, delayMs: 0, concurrency: settings.concurrency },
    throttle: { ...settings.throttle, enabled: false },
    retry: { ...settings.retry, statuses: [] },
  };
}

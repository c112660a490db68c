/**
 * The HTTP cache of a spider (`crawl NAME --cache`) and the replay that reads
 * it back (`crawl NAME --replay`): the spider's callbacks run again over
 * stored responses, with no network. The rows live in its SQLite file
 * (`storage/responses.ts`).
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { FetchError } from '../errors.js';
import { isRetryableStatus } from '../fetch/retry.js';
import { Reason } from '../reasons.js';
import { fingerprint, type Request } from '../request.js';
import { Response } from '../response.js';
import type { RetrySettings, Settings } from '../settings.js';
import type { Encoding, ResponseStore } from '../storage/responses.js';
import type { BuiltinMiddleware } from './types.js';

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
const keyOf = (req: Request): Buffer => fingerprint(req.method, req.url, req.body);

/**
 * `store`: every response the crawl gets for its requests is stored, the
 * latest per fingerprint winning. Redirects (3xx) and final errors (404) are
 * stored too, so a replay takes the same path, and a 404's body is read even
 * when the crawl discards it, so a replay with `handleStatuses: [404]` can
 * parse it; responses that will be retried (503, 429) are not, nor is
 * robots.txt (this middleware is the crawl's only).
 *
 * `replay`: every request is answered from the store; one that was never
 * cached fails as `cache:miss`, which is not retried.
 */
export function cacheMiddleware(responses: ResponseStore, mode: 'store' | 'replay', retry: RetrySettings): BuiltinMiddleware {
  const final = (status: number) => !isRetryableStatus(status, retry);
  const kept = (status: number) => status >= 400 && final(status);
  const about = 'the HTTP cache: --cache stores every final response, --replay answers every request from them';
  if (mode === 'replay')
    return {
      name: 'cache',
      about,
      purposes: ['crawl'],
      async request(req, ctx) {
        const row = responses.get(keyOf(req));
        if (!row) throw new FetchError(Reason.cacheMiss, `${req.method} ${req.url} is not in the cache`, false);
        let body: Buffer = EMPTY;
        if (ctx.readBody(row.status)) {
          try {
            body = await decompress(row.body, row.encoding);
          } catch (err) {
            throw new FetchError(Reason.cacheCorrupt, `cached body of ${req.url} does not decode as ${row.encoding}: ${(err as Error).message}`, false, { cause: err });
          }
        }
        return new Response({ url: row.finalUrl, status: row.status, headers: row.headers, body, request: req, parser: ctx.settings.parser });
      },
    };
  const wanted = new WeakMap<object, (status: number) => boolean>();
  return {
    name: 'cache',
    about,
    purposes: ['crawl'],
    request(req, ctx) {
      const read = ctx.readBody;
      wanted.set(ctx, read);
      ctx.readBody = (s) => read(s) || kept(s);
      return req;
    },
    async response(res, req, ctx) {
      if (!final(res.status)) return res;
      const { body, encoding } = await compress(res.body);
      responses.put(keyOf(req), { url: req.url, finalUrl: res.url, status: res.status, headers: res.headers, body, encoding });
      return wanted.get(ctx)?.(res.status) !== false ? res : new Response({ url: res.url, status: res.status, headers: res.headers, body: EMPTY, request: req });
    },
  };
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

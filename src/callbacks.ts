import { Request, requestFingerprint, type CallbackResult } from './request.js';
import type { Response } from './response.js';
import type { Spider } from './spider.js';
import type { NewRequest } from './frontier/frontier.js';
import { inScope } from './scope.js';
import type { Settings } from './settings.js';

/** A callback that did not finish in `callbackTimeoutMs`. */
export class CallbackTimeoutError extends Error {
  constructor(ms: number) {
    super(`callback did not finish within ${ms} ms`);
    this.name = 'CallbackTimeoutError';
  }
}

/** The name a callback is stored under, checked to be a method of the spider. */
export function callbackName(spider: Spider, callback: Request['callback']): string {
  const name = typeof callback === 'string' ? callback : callback ? callback.name.replace(/^bound /, '') : 'parse';
  const method = (spider as unknown as Record<string, unknown>)[name];
  if (typeof method !== 'function' || (typeof callback === 'function' && name === ''))
    throw new TypeError(`callback ${JSON.stringify(name || String(callback))} is not a method of spider '${spider.name}'`);
  return name;
}

/**
 * Runs a spider callback to completion and returns everything it yielded.
 * Accepts async generators (the documented form), sync generators, and
 * functions returning an array or a promise of one. Each step races a single
 * deadline, so a callback stuck awaiting forever is cut off; a callback that
 * blocks the event loop cannot be, and shows up as lag instead.
 */
export async function runCallback(spider: Spider, name: string, response: Response, timeoutMs: number): Promise<CallbackResult[]> {
  const method = (spider as unknown as Record<string, (r: Response) => unknown>)[name]!;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallbackTimeoutError(timeoutMs)), timeoutMs);
  });
  deadline.catch(() => {});
  const results: CallbackResult[] = [];
  try {
    let out = method.call(spider, response);
    if (out && typeof (out as PromiseLike<unknown>).then === 'function') out = await Promise.race([out, deadline]);
    if (out == null) return results;
    if (typeof out === 'object' && Symbol.asyncIterator in out) {
      const it = (out as AsyncIterable<CallbackResult>)[Symbol.asyncIterator]();
      try {
        for (;;) {
          const step = await Promise.race([it.next(), deadline]);
          if (step.done) break;
          results.push(step.value);
        }
      } catch (err) {
        if (err instanceof CallbackTimeoutError) void it.return?.(undefined)?.catch?.(() => {});
        throw err;
      }
    } else if (typeof out === 'object' && Symbol.iterator in out) {
      for (const r of out as Iterable<CallbackResult>) results.push(r);
    } else {
      results.push(out as CallbackResult);
    }
    return results;
  } finally {
    clearTimeout(timer);
  }
}

/** Where a request sits relative to the crawl's scope (`allowedDomains` as the run resolved it, see `scope.ts`): in it, or skipped and why. */
export function scopeOf(url: { host: string }, depth: number, settings: Settings): string | null {
  if (settings.maxDepth > 0 && depth > settings.maxDepth) return 'depth';
  if (!inScope(url.host.replace(/:\d+$/, ''), settings.allowedDomains)) return 'offsite';
  return null;
}

/** A spider's Request, made ready for the frontier under `parent`. */
export function toNewRequest(
  spider: Spider,
  req: Request,
  parent: { id: number | null; depth: number },
  settings: Settings,
  depthStep = 1,
  redirects = 0,
): NewRequest {
  const depth = parent.depth + depthStep;
  const fp = requestFingerprint(req);
  return {
    // dontFilter: a fresh random fingerprint, so the UNIQUE index cannot reject it.
    fp: req.dontFilter ? Buffer.concat([fp, Buffer.from(crypto.getRandomValues(new Uint8Array(8)))]) : fp,
    url: req.url,
    method: req.method,
    headers: Object.keys(req.headers).length ? req.headers : null,
    body: req.body ?? null,
    callback: req.callback === undefined ? null : callbackName(spider, req.callback),
    meta: Object.keys(req.meta).length ? req.meta : null,
    depth,
    priority: req.priority,
    host: req.host,
    parentId: parent.id,
    redirects,
    skipped: scopeOf(req, depth, settings) ?? undefined,
  };
}

import { packRender } from './browser/render.js';
import { CallbackTimeoutError, UnstorableValueError } from './errors.js';
import { describeValue, fieldPath, isPlainObject, toJson } from './json-value.js';
import { givenFields, Request, requestFingerprint, type CallbackResult } from './request.js';
import type { Response } from './response.js';
import type { Spider } from './spider.js';
import type { NewRequest } from './frontier/frontier.js';
import { Reason } from './reasons.js';
import { inScope } from './scope.js';
import type { Settings } from './settings.js';

/** The name a callback is stored under, checked to be a method of the spider. */
export function callbackName(spider: Spider, callback: Request['callback']): string {
  const name = typeof callback === 'string' ? callback : callback ? callback.name.replace(/^bound /, '') : 'parse';
  const method = (spider as unknown as Record<string, unknown>)[name];
  if (typeof method !== 'function' || (typeof callback === 'function' && name === ''))
    throw new TypeError(`callback ${JSON.stringify(name || String(callback))} is not a method of spider '${spider.name}'`);
  return name;
}

/**
 * Runs a spider callback to completion and returns everything it yielded,
 * but for what `take` takes as it comes (a page's links, packed at once
 * rather than held: a loop yielding `res.follow()` for each of 300,000
 * anchors would otherwise keep 300,000 Requests). Accepts async generators
 * (the documented form), sync generators, and functions returning an array
 * or a promise of one. Each step races a single deadline, so a callback stuck
 * awaiting forever is cut off; a callback that blocks the event loop cannot
 * be, and shows up as lag instead.
 */
export async function runCallback(
  spider: Spider,
  name: string,
  response: Response,
  timeoutMs: number,
  take: (result: CallbackResult) => boolean = () => false,
): Promise<CallbackResult[]> {
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
          if (!take(step.value)) results.push(step.value);
        }
      } catch (err) {
        if (err instanceof CallbackTimeoutError) void it.return?.(undefined)?.catch?.(() => {});
        throw err;
      }
    } else if (typeof out === 'object' && Symbol.iterator in out) {
      for (const r of out as Iterable<CallbackResult>) if (!take(r)) results.push(r);
    } else if (!take(out as CallbackResult)) {
      results.push(out as CallbackResult);
    }
    return results;
  } finally {
    clearTimeout(timer);
  }
}

/** Where a request sits relative to the crawl's scope (`allowedDomains` as the run resolved it, see `scope.ts`): in it, or skipped and why. */
export function scopeOf(url: { host: string }, depth: number, settings: Settings): string | null {
  if (settings.maxDepth > 0 && depth > settings.maxDepth) return Reason.depth;
  if (!inScope(url.host.replace(/:\d+$/, ''), settings.allowedDomains)) return Reason.offsite;
  return null;
}

/** A Request's headers as JSON, null when it has none; every value must be a string. */
function headersJson(headers: unknown): string | null {
  if (!isPlainObject(headers)) throw new UnstorableValueError('headers', `${describeValue(headers)} is not a plain object of header names and values`);
  let none = true;
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new UnstorableValueError(fieldPath('headers', [name]), `a header value must be a string, not ${describeValue(value)}`);
    none = false;
  }
  return none ? null : JSON.stringify(headers);
}

/** A Request's meta as checked JSON (see json-value.ts), null when empty. */
function metaJson(meta: unknown): string | null {
  const json = toJson(meta, 'meta');
  if (json[0] !== '{') throw new UnstorableValueError('meta', `${describeValue(meta)} is not a plain object`);
  return json === '{}' ? null : json;
}

/**
 * A spider's Request, made ready for the frontier under `parent`. Its meta,
 * headers, body and priority are checked here, in the page's own error
 * handling: a value the frontier cannot store fails this page, not the batch
 * it would be committed with.
 * @throws {@link UnstorableValueError} naming the field.
 */
export function toNewRequest(
  spider: Spider,
  req: Request,
  parent: { id: number | null; depth: number },
  settings: Settings,
  depthStep = 1,
  redirects = 0,
): NewRequest {
  const depth = parent.depth + depthStep;
  if (req.body != null && typeof req.body !== 'string') throw new UnstorableValueError('body', `must be a string, not ${describeValue(req.body)}`);
  if (typeof req.priority !== 'number' || !Number.isFinite(req.priority))
    throw new UnstorableValueError('priority', `must be a finite number, not ${describeValue(req.priority)}`);
  const fp = requestFingerprint(req);
  const { headers, meta } = givenFields(req);
  return {
    // dontFilter: a fresh random fingerprint, so the UNIQUE index cannot reject it.
    fp: req.dontFilter ? Buffer.concat([fp, Buffer.from(crypto.getRandomValues(new Uint8Array(8)))]) : fp,
    url: req.url,
    method: req.method,
    headers: headers === undefined ? null : headersJson(headers),
    body: req.body ?? null,
    callback: req.callback === undefined ? null : callbackName(spider, req.callback),
    meta: meta === undefined && req.render === undefined ? null : metaJson(packRender(meta, req.render)),
    depth,
    priority: req.priority,
    host: req.host,
    parentId: parent.id,
    redirects,
    skipped: scopeOf(req, depth, settings) ?? undefined,
  };
}

import { toNewRequest } from './callbacks.js';
import { CrawlkitError, FetchError, InvalidUrlError, PageError, StartError } from './errors.js';
import type { Frontier } from './frontier/frontier.js';
import { Request } from './request.js';
import type { Response } from './response.js';
import { scopeOfUrls, startScope, type RunScope } from './run-scope.js';
import type { Settings } from './settings.js';
import { bindFetch, type Spider } from './spider.js';
import type { Begun, CrawlBackend } from './storage/backend.js';

/** Start requests added to the frontier per call. */
const BATCH = 500;

/** What start() yields, one by one; an error it throws becomes a {@link StartError} that names start(). */
async function* starts(spider: Spider): AsyncGenerator<Request | string> {
  const it = spider.start()[Symbol.asyncIterator]();
  for (;;) {
    let step: IteratorResult<Request | string>;
    try {
      step = await it.next();
    } catch (err) {
      // It says what is wrong already (a bad sitemapRules entry, a missing -a); a fetch's failure is start()'s (a login page that does not answer).
      if (err instanceof CrawlkitError && !(err instanceof FetchError || err instanceof PageError)) throw err;
      throw new StartError(`start() failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    if (step.done) return;
    yield step.value;
  }
}

/**
 * How `spider.fetch()` reaches the network in `start()`: a request, and the
 * sites of the scope so far (this request's included). See `run/start-fetch.ts`.
 */
export type StartFetch = (req: Request, sites: readonly string[]) => Promise<Response>;

/** `spider.fetch()` for the time `start()` runs: its URL joins the scope, as a start URL's does. */
function bindStartFetch(spider: Spider, scope: ReturnType<typeof startScope>, fetch: StartFetch): void {
  bindFetch(spider, async (target) => {
    const req = typeof target === 'string' ? new Request(target) : target;
    if (!(req instanceof Request)) throw new InvalidUrlError(`fetch() takes a URL or a Request, not ${typeof target}`);
    scope.add(req.url);
    return fetch(req, scope.sites());
  });
}

/**
 * Enqueues a run's start requests: everything `start()` yields (by default
 * `startUrls`, then `sitemapUrls`). They are never out of scope: they make
 * it, with the pages `start()` fetched. Returns the scope they give the run
 * (their sites, and the kinds of address they are on), to be kept with it.
 */
async function enqueueStarts(spider: Spider, frontier: Frontier, settings: Settings, fetch: StartFetch | undefined): Promise<RunScope> {
  const scope = startScope(settings.timeouts.connectMs);
  if (fetch) bindStartFetch(spider, scope, fetch);
  try {
    await enqueue(spider, frontier, settings, scope);
  } finally {
    bindFetch(spider, undefined);
  }
  return scope.finish();
}

/** What `start()` yields, in the frontier in batches, each URL added to the scope. */
async function enqueue(spider: Spider, frontier: Frontier, settings: Settings, scope: ReturnType<typeof startScope>): Promise<void> {
  let batch = [];
  for await (const start of starts(spider)) {
    const req = typeof start === 'string' ? new Request(start) : start;
    if (!(req instanceof Request)) throw new InvalidUrlError(`start() yielded ${typeof start}; yield URLs or Requests`);
    scope.add(req.url);
    batch.push({ ...toNewRequest(spider, req, { id: null, depth: 0 }, settings, 0), skipped: undefined });
    if (batch.length >= BATCH) {
      await frontier.add(batch);
      batch = [];
    }
  }
  await frontier.add(batch);
}

/**
 * The scope of a run that has begun: its start requests are enqueued now if
 * that is still to do (and the scope they give it recorded with the run),
 * else it is the scope recorded then. `fetch` is what `spider.fetch()` goes
 * through meanwhile.
 */
export async function startRun(spider: Spider, settings: Settings, begun: Begun, backend: CrawlBackend, fetch?: StartFetch): Promise<RunScope> {
  if (!begun.startsDone) {
    const scope = await enqueueStarts(spider, begun.frontier, settings, fetch);
    await backend.startsDone(begun.runId, scope);
    return scope;
  }
  // A run recorded before runs kept their scope: the spider's own start URLs give it.
  return begun.scope ?? scopeOfUrls([...spider.startUrls, ...spider.sitemapUrls], settings.timeouts.connectMs);
}

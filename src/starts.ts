import { toNewRequest } from './callbacks.js';
import { CrawlkitError, InvalidUrlError, StartError } from './errors.js';
import type { Frontier } from './frontier/frontier.js';
import { Request } from './request.js';
import { scopeOfUrls, startScope, type RunScope } from './run-scope.js';
import type { Settings } from './settings.js';
import type { Spider } from './spider.js';
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
      if (err instanceof CrawlkitError) throw err; // it says what is wrong already (a bad sitemapRules entry, a missing -a)
      throw new StartError(`start() failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    if (step.done) return;
    yield step.value;
  }
}

/**
 * Enqueues a run's start requests: everything `start()` yields (by default
 * `startUrls`, then `sitemapUrls`). They are never out of scope: they make
 * it. Returns the scope they give the run (their sites, and the kinds of
 * address they are on), to be kept with it.
 */
async function enqueueStarts(spider: Spider, frontier: Frontier, settings: Settings): Promise<RunScope> {
  const scope = startScope(settings.timeouts.connectMs);
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
  return scope.finish();
}

/**
 * The scope of a run that has begun: its start requests are enqueued now if
 * that is still to do (and the scope they give it recorded with the run),
 * else it is the scope recorded then.
 */
export async function startRun(spider: Spider, settings: Settings, begun: Begun, backend: CrawlBackend): Promise<RunScope> {
  if (!begun.startsDone) {
    const scope = await enqueueStarts(spider, begun.frontier, settings);
    await backend.startsDone(begun.runId, scope);
    return scope;
  }
  // A run recorded before runs kept their scope: the spider's own start URLs give it.
  return begun.scope ?? scopeOfUrls([...spider.startUrls, ...spider.sitemapUrls], settings.timeouts.connectMs);
}

import { errorText } from '../json-value.js';
import type { Logger } from '../log.js';
import type { Parser, ParseResult } from './parse.js';

/**
 * Big pages off the main thread, when callbacks run there (`workers` = 0):
 * a page whose body is over `maxInlineBytes` goes to a parser worker thread
 * (`startWorker`, a pool of one), the rest to `inline`. Parsing a 1 MB page of
 * 30,000 links took 150 to 250 ms, all of it a stall of the fetching, timers
 * and storing behind it (bench scenario (e)); in the worker it runs beside them.
 *
 * The worker starts with the first big page and stays to the end of the
 * crawl: it has its own spider instance, whose pipelines it opens then (their
 * `open()`, as in any worker) and closes when the crawl ends, as the main
 * thread's are. Opening and closing them per page, or whenever the worker
 * idles, would surprise a pipeline that holds a connection. If the worker
 * cannot start (a pipeline's `open()` throws there), the page fails as a
 * pool's would (`callback:error`), and the next big page tries a new one.
 * Rendered pages (with a live browser page) always stay in this thread.
 */
export function offloadBigPages(inline: Parser, maxInlineBytes: number, startWorker: () => Parser, log: Logger): Parser {
  let starting: Promise<Parser> | undefined;
  let worker: Parser | undefined;
  const started = (): Promise<Parser> =>
    (starting ??= (async () => {
      const p = startWorker();
      try {
        await p.ready();
      } catch (err) {
        log.warn(`the parser worker for big pages could not start: ${errorText(err)}`);
        await p.close();
        throw err;
      }
      return (worker = p);
    })());
  return {
    ready: () => inline.ready(),
    async parse(job) {
      if (job.live || job.res.body.byteLength <= maxInlineBytes) return inline.parse(job);
      let p: Parser;
      try {
        p = await started();
      } catch (err) {
        starting = undefined;
        return startFailure(job.req.callback, job.res.url, err);
      }
      return p.parse(job);
    },
    get maxLagMs() {
      return worker?.maxLagMs ?? 0;
    },
    async close() {
      await inline.close();
      const opened = starting && (await starting.catch(() => undefined));
      await opened?.close();
    },
  };
}

/** A big page whose worker could not start: failed as the pool fails a page whose worker's pipelines did not open. */
function startFailure(callback: string | null | undefined, url: string, err: unknown): ParseResult {
  const message = errorText(err);
  return { ok: false, reason: 'callback:error', message: `${callback ?? 'parse'}() on ${url}: ${message}`, stack: (err as Error)?.stack ?? message };
}

/**
 * The callback's side of `render: 'auto'` (browser/auto.ts): a page fetched
 * both ways has its callback run twice, at once: on the rendered page (with
 * its live page, `res.page`: the output that is kept, through the pipelines,
 * committed once with the request) and on the document as HTTP gave it (a
 * `shadow` run: no `res.page`, as an HTTP-only page would have none; no
 * pipeline, nothing stored, its warnings unsaid). A callback that needs the
 * live page (a click, a scroll) so yields less, or throws, over HTTP, and its
 * pattern goes to the browser, which is where it belongs. Only the digests of
 * the two outputs are compared (parser/digest.ts).
 *
 * A page fetched over HTTP while its pattern went to the browser (another
 * page of it, rechecked meanwhile, differed) is not parsed: it goes back to
 * the queue, to be fetched again in the browser, so that no page fetched
 * after the change was seen is kept as HTTP gave it.
 */
import type { AutoRender } from '../browser/auto.js';
import type { AutoTag } from '../browser/fetch.js';
import type { Logger } from '../log.js';
import type { ParseJob, ParseResult, Parser } from '../parser/parse.js';

/**
 * Parses a page of an `auto` request (`tag`), comparing when it was fetched
 * both ways, and tells `auto` how it went; `requeue` for a page to fetch again.
 */
export function autoParser(parser: Parser, auto: AutoRender, log: Logger): (job: ParseJob, tag: AutoTag | undefined) => Promise<ParseResult | 'requeue'> {
  return async (job, tag) => {
    if (!tag) return parser.parse(job);
    const { route, document } = tag;
    if (route.how === 'http' && auto.modeOf(route.pattern) === 'browser') {
      log.debug(`render auto: ${job.res.url} was fetched over HTTP as ${route.pattern} went to the browser: fetched again`);
      return 'requeue';
    }
    const both = route.how === 'compare' && document !== undefined && job.live !== undefined;
    const shadowJob: ParseJob | undefined = both ? { req: job.req, res: { url: document.url, status: document.status, headers: document.headers, body: document.body, session: job.res.session }, compare: 'shadow' } : undefined;
    const [result, shadow] = await Promise.all([parser.parse(shadowJob ? { ...job, compare: 'digest' } : job), shadowJob && parser.parse(shadowJob)]);
    // Only a page that is done (its output committed) counts.
    if (!result.ok || result.retired !== undefined) return result;
    auto.parsed(route.pattern);
    if (route.how !== 'compare' || !shadow) return result;
    const agreed = shadow.ok && shadow.retired === undefined && shadow.digest === result.digest;
    const moved = auto.compared(route.pattern, route.why, agreed);
    if (moved === 'browser')
      log.info(`render auto: ${route.pattern} needs the browser: ${job.res.url} gave ${shadow.ok ? 'other items or links' : `an error (${shadow.message})`} over HTTP`);
    else if (moved === 'http') log.info(`render auto: ${route.pattern} goes over HTTP: its first pages gave the same items and links both ways`);
    return result;
  };
}

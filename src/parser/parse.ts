import { unpackRender } from '../browser/render.js';
import { callbackName, runCallback, toNewRequest } from '../callbacks.js';
import type { Fetched } from '../fetch/fetcher.js';
import { followUpPacker, type FollowUps } from '../followups.js';
import type { InvalidItem, QueuedRequest, StoredFields } from '../frontier/frontier.js';
import { CallbackTimeoutError, UnstorableValueError } from '../errors.js';
import { errorText } from '../json-value.js';
import type { Logger } from '../log.js';
import { closePipelines, openPipelines } from '../pipeline-lifecycle.js';
import { processItem } from '../pipelines.js';
import { Request, requestFromHref, type CallbackResult } from '../request.js';
import { Response } from '../response.js';
import { banReason } from '../session/bans.js';
import { canonicalJson, followUpKey, outputDigest } from './digest.js';
import type { Settings } from '../settings.js';
import type { Spider } from '../spider.js';

/** A fetched page to hand to its callback. */
export interface ParseJob {
  req: QueuedRequest;
  /** `session`: the id of the session it came through. */
  res: Fetched & { session?: string };
  /** A rendered page's Response, its live page attached: parsed in this thread, where the page is (see {@link withMainThread}). */
  live?: Response;
  /**
   * `render: 'auto'` compares this page's output fetched both ways: `digest`,
   * the run that is kept, also gives the digest of what the callback
   * yielded; `shadow`, the other, gives only that (no pipeline runs, nothing is kept).
   */
  compare?: Compare;
}

/** How a page is parsed for `render: 'auto'` (see {@link ParseJob}). */
export type Compare = 'digest' | 'shadow';

/** What a callback made of a page: items as JSON and follow-ups packed for the frontier, or why it failed. */
export type ParseResult =
  | {
      ok: true;
      items: string[];
      invalid: InvalidItem[];
      dropped: number;
      followUps: FollowUps;
      badLinks: number;
      /** For the crawl's log (`response.warn`). */
      warnings: string[];
      /** The callback retired the session (`res.session.retire()`): the ban's reason; what it yielded is dropped. */
      retired?: string;
      /** With `compare`: the digest of what the callback yielded (parser/digest.ts). */
      digest?: string;
    }
  /** `worker:crashed`: the page was in a worker that died (maybe of another page); worth another attempt. */
  | { ok: false; reason: 'callback:error' | 'callback:timeout' | 'worker:crashed'; message: string; stack: string };

/** Runs callbacks on pages: in this thread, or in a pool of worker threads. */
export interface Parser {
  /**
   * Resolves once every thread that runs callbacks has opened the spider's
   * pipelines (their `open()`); rejects with a PipelineError when one could not.
   */
  ready(): Promise<void>;
  parse(job: ParseJob): Promise<ParseResult>;
  /** Longest stall of a worker thread's event loop (0 when callbacks run inline: the crawl's own monitor sees those). */
  readonly maxLagMs: number;
  /** Closes the pipelines in every thread (problems are logged), and ends the threads. */
  close(): Promise<void>;
}

/** The user-facing Request for a stored one (its URL a Request's href already: not parsed again). */
export const toRequest = (r: StoredFields): Request => {
  const { meta, render } = unpackRender(r.meta);
  return requestFromHref(r.url, {
    callback: r.callback ?? undefined,
    method: r.method,
    headers: r.headers ?? undefined,
    body: r.body ?? undefined,
    priority: r.priority,
    meta,
    render,
  });
};

/**
 * Builds the Response, runs the request's callback, and sorts what it
 * yielded. Items go through the spider's pipelines and schema and are
 * serialised here, so a bad item fails its own request, and no cheerio string
 * (which can pin a whole page in memory) outlives the call. Follow-ups are
 * packed, each fingerprint once unless `dedupe` is false.
 */
export async function parsePage(spider: Spider, settings: Settings, { req, res, live, compare }: ParseJob, { dedupe = true } = {}): Promise<ParseResult> {
  const name = req.callback ?? 'parse';
  const items: string[] = [];
  const invalid: InvalidItem[] = [];
  let dropped = 0;
  const followUps = followUpPacker({ dedupe });
  // With `compare`: what the callback yielded, as the digest takes it.
  const yielded = compare ? { items: [] as string[], links: [] as string[] } : undefined;
  let stage = `${name}()`; // named in the failure message
  let response: Response | undefined;
  try {
    response = live ?? new Response({ url: res.url, status: res.status, headers: res.headers, body: res.body, request: toRequest(req), parser: settings.parser, session: res.session });
    callbackName(spider, name);
    // Requests are packed as they come; the items are processed once the callback is done.
    const take = (r: CallbackResult) => {
      if (!(r instanceof Request)) return false;
      const followUp = toNewRequest(spider, r, req, settings);
      yielded?.links.push(followUpKey(followUp));
      if (compare !== 'shadow') followUps.add(followUp);
      return true;
    };
    const results = (await runCallback(spider, name, response, settings.callbackTimeoutMs, take)) as Exclude<CallbackResult, Request>[];
    for (const r of results) {
      if (r == null) continue;
      if (typeof r === 'object' && !Array.isArray(r)) {
        // Before the pipelines, which may change an item in place.
        yielded?.items.push(canonicalJson(r));
        if (compare === 'shadow') continue;
        stage = 'an item pipeline';
        const item = await processItem(spider, r, response);
        stage = `${name}()`;
        if (item.kind === 'valid') items.push(item.json);
        else if (item.kind === 'invalid') invalid.push({ data: item.json, issues: item.issues });
        else dropped++;
      } else throw new TypeError(`callback yielded ${Array.isArray(r) ? 'an array' : typeof r}; yield items as plain objects and links as res.follow(url)`);
    }
  } catch (err) {
    // A value that cannot be stored is the callback's (its path names the field), though found after the pipelines.
    if (err instanceof UnstorableValueError) stage = `${name}()`;
    const reason = err instanceof CallbackTimeoutError ? 'callback:timeout' : 'callback:error';
    const stack = err instanceof Error ? (err.stack ?? err.message) : errorText(err);
    return { ok: false, reason, message: `${stage} failed on ${res.url}: ${errorText(err)}`, stack };
  }
  const digest = yielded && outputDigest(yielded.items, yielded.links);
  if (response.retired !== undefined)
    return { ok: true, items: [], invalid: [], dropped: 0, followUps: followUpPacker().pack(), badLinks: 0, warnings: response.warnings, retired: banReason(response.retired), digest };
  return { ok: true, items, invalid, dropped, followUps: followUps.pack(), badLinks: response.skippedLinks, warnings: response.warnings, digest };
}

/** The next turn of the event loop (the check phase after the next poll). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs callbacks in the crawl's own thread. Pages start one per turn of the
 * event loop: 50 responses arriving together were otherwise parsed back to
 * back in one turn, the sockets and timers waiting behind all of them (a
 * 5 KB page takes 1 to 2 ms to parse, so some 100 ms at 50 in flight).
 */
export function inlineParser(spider: Spider, settings: Settings, log?: Logger): Parser {
  let gate = Promise.resolve();
  return {
    ready: () => openPipelines(spider),
    async parse(job) {
      const turn = gate.then(nextTurn);
      gate = turn;
      await turn;
      return parsePage(spider, settings, job);
    },
    maxLagMs: 0,
    async close() {
      for (const problem of await closePipelines(spider, settings.callbackTimeoutMs)) log?.warn(problem);
    },
  };
}

/**
 * `parser`, but for the rendered pages with a live browser page: a
 * Playwright page cannot go to a worker thread, so their callbacks run in
 * this one, through the same parsePage (packing, pipelines, error handling).
 * This thread's spider opens its pipelines on the first such page; a crawl
 * that renders nothing never opens them. With `workers: 0`, `parser` runs
 * here already and takes them all.
 */
export function withMainThread(parser: Parser, inline: () => Parser): Parser {
  let main: Promise<Parser> | undefined;
  const mainParser = (): Promise<Parser> => (main ??= (async () => {
    const p = inline();
    await p.ready();
    return p;
  })());
  return {
    ready: () => parser.ready(),
    async parse(job) {
      if (!job.live) return parser.parse(job);
      let p: Parser;
      try {
        p = await mainParser();
      } catch (err) {
        main = undefined;
        return { ok: false, reason: 'callback:error', message: errorText(err), stack: (err as Error)?.stack ?? errorText(err) };
      }
      return p.parse(job);
    },
    get maxLagMs() {
      return parser.maxLagMs;
    },
    async close() {
      await parser.close();
      const opened = main && (await main.catch(() => undefined));
      await opened?.close();
    },
  };
}

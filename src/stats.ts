import type { PatternRow } from './browser/auto.js';
import { latencyQuantile, type HostLatency } from './latency.js';

/** Counters of a run, kept across resumes (a resumed run adds to its stats). */
export interface Stats {
  /** HTTP exchanges attempted, retries and redirects included. */
  requests: number;
  /** Responses by status code. */
  responses: Record<string, number>;
  /** Pages handed to a callback. */
  pages: number;
  items: number;
  /** Items a page yielded past `maxItems`, not stored. */
  itemsOverLimit: number;
  /** The limit that ended the run (`maxItems=800`, `maxRequests=100`), or null. */
  stoppedAt: string | null;
  /** Items the spider's schema rejected (kept in `invalid_items`, not exported). */
  invalidItems: number;
  /** Items a pipeline dropped. */
  droppedItems: number;
  retries: number;
  redirects: number;
  /** Requests that failed for good, by reason (`http:404`, `timeout:headers`, `callback:error`, ...). */
  failures: Record<string, number>;
  /** Requests robots.txt disallowed. */
  disallowed: number;
  /** Follow-ups dropped because their fingerprint was seen. */
  duplicates: number;
  /** Follow-ups recorded but not fetched: `offsite`, `depth`. */
  skipped: Record<string, number>;
  /** Links that were not http(s) or did not parse. */
  badLinks: number;
  /** Body bytes received (decompressed). */
  bytes: number;
  /** Time spent crawling, over all processes of the run. */
  elapsedMs: number;
  /** Requests known to be queued (from the last count, kept up to date as the crawl goes). */
  queued: number;
  /** Of those, requests waiting for a retry (after a failed attempt); 0 with a shared frontier, where others take them. */
  retrying: number;
  /**
   * Longest event-loop stall seen anywhere, the main thread or a parser worker,
   * as runs stored before the two were told apart (`maxMainLagMs`, `maxWorkerLagMs`) have it.
   */
  maxEventLoopLagMs: number;
  /** Longest stall of the main thread's event loop, which fetches and stores: every request waits meanwhile. */
  maxMainLagMs: number;
  /**
   * Longest stall of a parser worker's event loop: a callback computing (a
   * 10 MB page takes seconds to parse). Fetching and storing go on meanwhile.
   */
  maxWorkerLagMs: number;
  /** Timeouts that overlapped an event-loop stall, retried without counting an attempt. */
  stallRetries: number;
  /** Times the adaptive throttle raised a host's delay. */
  throttleIncreases: number;
  /** Hosts with an adaptive delay in force now, in ms (the largest 20). */
  hostDelays: Record<string, number>;
  /** Response times per host (time to the whole body), as histograms. */
  latency: Record<string, HostLatency>;
  /** Requests (each attempt) sent through each proxy, by its id (`http://host:port`: never a password); empty without proxies. */
  proxyRequests: Record<string, number>;
  /** Times each proxy was benched (see `proxyBenchMs`). */
  proxyBenchings: Record<string, number>;
  /** Sessions that sent a request (a cluster's workers each count those they used). */
  sessionsUsed: number;
  /** Sessions retired: banned, or `res.session.retire()`. */
  sessionsRetired: number;
  /** Bans by reason (`banned:403`, `banned:text`, a spider's own), whether the request then succeeded on another session or not. */
  bans: Record<string, number>;
  /** Pages rendered in the browser (`render`). */
  rendered: number;
  /** Requests rendered pages made that were aborted, by why: `offsite` (`browser.sameScopeRequests`), `resource` (`browser.blockResources`), `fetch` (refused or failed), `redirect`, `scheme`. */
  browserBlocked: Record<string, number>;
  /** `render: 'auto'`: the URL patterns with the most pages (at most 10), each with its mode and counts. */
  renderPatterns: PatternRow[];
  /** `render: 'auto'`: URL patterns seen in all. */
  renderPatternCount: number;
  /** Requests being fetched or parsed now (this process; not meaningful once the crawl ended). */
  inFlight: number;
}

/** Fresh counters, or those a previous process of the same run saved. */
export function createStats(previous?: Partial<Stats> | null): Stats {
  return {
    requests: 0,
    responses: {},
    pages: 0,
    items: 0,
    itemsOverLimit: 0,
    stoppedAt: null,
    invalidItems: 0,
    droppedItems: 0,
    retries: 0,
    redirects: 0,
    failures: {},
    disallowed: 0,
    duplicates: 0,
    skipped: {},
    badLinks: 0,
    bytes: 0,
    elapsedMs: 0,
    queued: 0,
    retrying: 0,
    maxEventLoopLagMs: 0,
    maxMainLagMs: 0,
    maxWorkerLagMs: 0,
    stallRetries: 0,
    throttleIncreases: 0,
    hostDelays: {},
    latency: {},
    proxyRequests: {},
    proxyBenchings: {},
    sessionsUsed: 0,
    sessionsRetired: 0,
    bans: {},
    rendered: 0,
    browserBlocked: {},
    renderPatterns: [],
    renderPatternCount: 0,
    ...previous,
    inFlight: 0,
  };
}

/**
 * Takes in the longest stalls seen so far: the main thread's and the parser
 * workers' apart (a worker parsing a big page for seconds is expected, the
 * main thread stalling is not), and the larger of them as `maxEventLoopLagMs`.
 */
export function recordLag(stats: Stats, mainMs: number, workersMs: number): void {
  stats.maxMainLagMs = Math.max(stats.maxMainLagMs, mainMs);
  stats.maxWorkerLagMs = Math.max(stats.maxWorkerLagMs, workersMs);
  stats.maxEventLoopLagMs = Math.max(stats.maxEventLoopLagMs, stats.maxMainLagMs, stats.maxWorkerLagMs);
}

/** Adds one to a keyed counter. */
export function bump(counter: Record<string, number>, key: string, by = 1): void {
  counter[key] = (counter[key] ?? 0) + by;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const n = (x: number) => x.toLocaleString('en-US');

/** A duration for people: `1.2 s`, `3 min 05 s`, `2 h 01 min`. */
export function formatDuration(ms: number): string {
  const secs = ms / 1000;
  if (secs < 60) return `${secs.toFixed(1)} s`;
  const s = Math.floor(secs);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** The live numbers of a crawl, for the status line and the log file. */
export interface Progress {
  pages: number;
  items: number;
  failed: number;
  queued: number;
  /** Of the queued, those waiting for a retry. */
  retrying: number;
  inFlight: number;
  pagesPerS: number;
  /** Time to fetch what is queued now at the current rate; null when unknown. It grows as pages reveal new links. */
  etaMs: number | null;
}

/** Progress from the stats and this process's share of the run (`sessionPages` in `sessionMs`). */
export function progressOf(s: Stats, sessionPages: number, sessionMs: number): Progress {
  const pagesPerS = sessionMs > 0 ? (sessionPages * 1000) / sessionMs : 0;
  const left = s.queued + s.inFlight;
  return {
    pages: s.pages,
    items: s.items,
    failed: sum(s.failures),
    queued: s.queued,
    retrying: s.retrying,
    inFlight: s.inFlight,
    pagesPerS: Math.round(pagesPerS * 10) / 10,
    etaMs: pagesPerS > 0 ? Math.round((left / pagesPerS) * 1000) : null,
  };
}

/** The live status line: one row, refreshed in place on a terminal, or printed now and then. */
export function progressLine(p: Progress): string {
  return [
    `pages ${n(p.pages)}`,
    `items ${n(p.items)}`,
    `failed ${n(p.failed)}`,
    `queued ${n(p.queued)}${p.retrying > 0 ? ` (${n(p.retrying)} waiting to retry)` : ''}`,
    `in flight ${n(p.inFlight)}`,
    `${p.pagesPerS.toFixed(1)} pages/s`,
    ...(p.etaMs !== null && p.queued + p.inFlight > 0 ? [`ETA ${formatDuration(p.etaMs)} for the queued`] : []),
  ].join(' · ');
}

/** Response time per host, the busiest first (at most 5 lines and a count of the rest). */
function latencyLines(s: Stats): string[] {
  const hosts = Object.entries(s.latency ?? {}).sort(([, a], [, b]) => b.count - a.count);
  const shown = hosts.slice(0, 5).map(
    ([host, h], i) =>
      `${i === 0 ? 'latency   ' : '          '} ${host}: ${n(h.count)} responses, average ${Math.round(h.totalMs / h.count)} ms, p95 ${latencyQuantile(h, 0.95)} ms`,
  );
  if (hosts.length > 5) shown.push(`           and ${hosts.length - 5} more hosts`);
  return shown;
}

/** Stalls of a second or more: the main thread's and the parser workers' apart, or (stats stored before they were) the larger. */
function lagLines(s: Stats): string[] {
  const main = s.maxMainLagMs ?? 0;
  const workers = s.maxWorkerLagMs ?? 0;
  if (main === 0 && workers === 0 && s.maxEventLoopLagMs >= 1000) return [`event loop blocked up to ${n(s.maxEventLoopLagMs)} ms (${n(s.stallRetries)} timeouts retried)`];
  return [
    ...(main >= 1000 ? [`event loop blocked up to ${n(main)} ms on the main thread (${n(s.stallRetries)} timeouts retried)`] : []),
    ...(workers >= 1000 ? [`parser workers blocked up to ${n(workers)} ms by one page's callback (fetching went on)`] : []),
  ];
}

/** Requests per proxy and benchings, the busiest 5 proxies; nothing without proxies. */
function proxyLines(s: Stats): string[] {
  const used = Object.entries(s.proxyRequests ?? {}).sort(([, a], [, b]) => b - a);
  if (used.length === 0) return [];
  const benched = s.proxyBenchings ?? {};
  const one = ([id, k]: [string, number]) => `${id}: ${n(k)}${benched[id] ? ` (benched ${n(benched[id])}x)` : ''}`;
  const more = used.length > 5 ? `, and ${used.length - 5} more` : '';
  return [`proxies    ${used.slice(0, 5).map(one).join(', ')}${more}`];
}

/** Sessions, when there is something to say: more than one used, or any retired (none with the default single session and no ban). */
function sessionLines(s: Stats): string[] {
  const used = s.sessionsUsed ?? 0;
  const retired = s.sessionsRetired ?? 0;
  if (used <= 1 && retired === 0) return [];
  const bans = Object.entries(s.bans ?? {}).sort(([, a], [, b]) => b - a);
  return [`sessions   ${n(used)} used, ${n(retired)} retired${bans.length ? ` (bans: ${bans.map(([k, v]) => `${k}: ${n(v)}`).join(', ')})` : ''}`];
}

/** `render: 'auto'`'s patterns: mode, pages and how their comparisons went, and a count of the rest. */
function renderPatternLines(s: Stats): string[] {
  const rows = s.renderPatterns ?? [];
  const width = Math.min(60, Math.max(0, ...rows.map((r) => r.pattern.length)));
  const lines = rows.map((r, i) => {
    const rechecks = r.rechecked ? `, ${n(r.rechecked)} rechecked${r.differed ? `, ${n(r.differed)} differed` : ''}` : '';
    return `${i === 0 ? 'render    ' : '          '} ${r.pattern.padEnd(width)}  ${r.mode.padEnd(8)} ${n(r.pages)} pages (${n(r.agreed)}/${n(r.compared)} agreed${rechecks})`;
  });
  const more = (s.renderPatternCount ?? 0) - rows.length;
  if (more > 0) lines.push(`           +${n(more)} more patterns`);
  return lines;
}

/** The end-of-crawl summary, several lines. */
export function summaryLines(s: Stats): string[] {
  const secs = s.elapsedMs / 1000;
  const kv = (r: Record<string, number>) =>
    Object.entries(r)
      .sort(([, a], [, b]) => b - a)
      .map(([k, v]) => `${k}: ${n(v)}`)
      .join(', ') || 'none';
  return [
    `requests   ${n(s.requests)} (${n(s.retries)} retries, ${n(s.redirects)} redirects)`,
    `responses  ${kv(s.responses)}`,
    `pages      ${n(s.pages)} parsed, ${(secs > 0 ? s.pages / secs : 0).toFixed(1)} pages/s`,
    `bytes      ${(s.bytes / 2 ** 20).toFixed(1)} MB received`,
    `items      ${n(s.items)}${s.invalidItems || s.droppedItems ? ` (and ${n(s.invalidItems)} invalid, kept apart; ${n(s.droppedItems)} dropped by pipelines)` : ''}`,
    ...(s.stoppedAt
      ? [`stopped    at ${s.stoppedAt}: ${n(s.queued)} requests left queued, not fetched${s.itemsOverLimit ? `; ${n(s.itemsOverLimit)} items past the limit not stored` : ''}`]
      : []),
    `failed     ${n(sum(s.failures))}${sum(s.failures) ? ` (${kv(s.failures)})` : ''}`,
    `filtered   ${n(s.duplicates)} duplicates, ${n(s.disallowed)} disallowed by robots.txt, ${n(sum(s.skipped))} out of scope, ${n(s.badLinks)} bad links`,
    ...(s.rendered > 0 ? [`browser    ${n(s.rendered)} pages rendered; requests they made aborted: ${kv(s.browserBlocked)}`] : []),
    ...renderPatternLines(s),
    `duration   ${secs.toFixed(1)} s`,
    ...latencyLines(s),
    ...sessionLines(s),
    ...(s.throttleIncreases > 0 ? [`throttle   ${n(s.throttleIncreases)} delay increases; now ${kv(s.hostDelays)} (ms)`] : []),
    ...lagLines(s),
    ...proxyLines(s),
  ];
}

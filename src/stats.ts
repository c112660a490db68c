/** Counters of a run, kept across resumes (a resumed run adds to its stats). */
export interface Stats {
  /** HTTP exchanges attempted, retries and redirects included. */
  requests: number;
  /** Responses by status code. */
  responses: Record<string, number>;
  /** Pages handed to a callback. */
  pages: number;
  items: number;
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
  /** Longest event-loop stall seen, in the main thread or a parser worker (a callback computing synchronously). */
  maxEventLoopLagMs: number;
  /** Timeouts that overlapped an event-loop stall, retried without counting an attempt. */
  stallRetries: number;
  /** Times the adaptive throttle raised a host's delay. */
  throttleIncreases: number;
  /** Hosts with an adaptive delay in force now, in ms (the largest 20). */
  hostDelays: Record<string, number>;
}

/** Fresh counters, or those a previous process of the same run saved. */
export function createStats(previous?: Partial<Stats> | null): Stats {
  return {
    requests: 0,
    responses: {},
    pages: 0,
    items: 0,
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
    maxEventLoopLagMs: 0,
    stallRetries: 0,
    throttleIncreases: 0,
    hostDelays: {},
    ...previous,
  };
}

/** Adds one to a keyed counter. */
export function bump(counter: Record<string, number>, key: string, by = 1): void {
  counter[key] = (counter[key] ?? 0) + by;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const n = (x: number) => x.toLocaleString('en-US');

/** The live status line: one row, refreshed in place on a terminal. */
export function progressLine(s: Stats, sessionPages: number, sessionMs: number): string {
  const rate = sessionMs > 0 ? (sessionPages * 1000) / sessionMs : 0;
  return `pages ${n(s.pages)} · queued ${n(s.queued)} · failed ${n(sum(s.failures))} · items ${n(s.items)} · ${rate.toFixed(1)} pages/s`;
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
    `items      ${n(s.items)}${s.invalidItems || s.droppedItems ? ` (and ${n(s.invalidItems)} invalid, kept apart; ${n(s.droppedItems)} dropped by pipelines)` : ''}`,
    `failed     ${n(sum(s.failures))}${sum(s.failures) ? ` (${kv(s.failures)})` : ''}`,
    `filtered   ${n(s.duplicates)} duplicates, ${n(s.disallowed)} disallowed by robots.txt, ${n(sum(s.skipped))} out of scope, ${n(s.badLinks)} bad links`,
    `duration   ${secs.toFixed(1)} s`,
    ...(s.throttleIncreases > 0 ? [`throttle   ${n(s.throttleIncreases)} delay increases; now ${kv(s.hostDelays)} (ms)`] : []),
    ...(s.maxEventLoopLagMs >= 1000 ? [`event loop blocked up to ${n(s.maxEventLoopLagMs)} ms (${n(s.stallRetries)} timeouts retried)`] : []),
  ];
}

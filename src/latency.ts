/**
 * Response times per host, as histograms: a crawl of millions of pages keeps
 * a few hundred numbers per host, saved with the run's stats, and a resumed
 * run adds to them. Buckets grow by 10% (bucket i holds times up to
 * 1.1^i ms), so a percentile read from them is within 10% of the true one.
 */

/** One host's response times. */
export interface HostLatency {
  count: number;
  totalMs: number;
  /** Sparse histogram: bucket index → count. */
  buckets: Record<string, number>;
}

/** Hosts tracked one by one; the rest share one entry, so the stats stay small on a crawl of the whole web. */
const MAX_HOSTS = 100;
/** The entry the hosts past {@link MAX_HOSTS} share. */
export const OTHER_HOSTS = '(other hosts)';

const GROWTH = Math.log(1.1);
const bucketOf = (ms: number): number => (ms <= 1 ? 0 : Math.ceil(Math.log(ms) / GROWTH));
const upperBound = (bucket: number): number => Math.exp(bucket * GROWTH);

/** Adds one response time. */
export function recordLatency(byHost: Record<string, HostLatency>, host: string, ms: number): void {
  let entry = byHost[host];
  if (!entry) {
    const key = Object.keys(byHost).length < MAX_HOSTS ? host : OTHER_HOSTS;
    entry = byHost[key] ??= { count: 0, totalMs: 0, buckets: {} };
  }
  entry.count++;
  entry.totalMs += ms;
  const b = bucketOf(ms);
  entry.buckets[b] = (entry.buckets[b] ?? 0) + 1;
}

/** The time `q` (0..1) of the responses took at most: the upper bound of the bucket it falls in. */
export function latencyQuantile(entry: HostLatency, q: number): number {
  const rank = Math.ceil(q * entry.count);
  let seen = 0;
  for (const b of Object.keys(entry.buckets).map(Number).sort((x, y) => x - y)) {
    seen += entry.buckets[b]!;
    if (seen >= rank) return Math.round(upperBound(b));
  }
  return 0;
}

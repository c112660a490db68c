import { setFlagsFromString } from 'node:v8';

/**
 * Sets V8's heap growth for this process (`--heap-growing-percent`), the
 * `heapGrowthPercent` setting, when a crawl starts; 0 leaves V8's own.
 *
 * Why: a crawl's live heap is small (20-24 MB after a full collection on
 * bench scenario (a)), but most of what a page allocates (its response, its
 * DOM while 50 others are in flight) survives a scavenge or two and dies in
 * the old generation, which V8 lets grow to 4-5 times the live heap before
 * collecting it. Scenario (a), 4,200 pages, 2-4 runs interleaved on a quiet
 * 2-core machine: peak RSS 189-204 MB, and 400-404 MB in 2 runs of 12, with
 * V8's own growth; 135-142 MB in every run at 10 to 35%, 139-151 MB at 50
 * and 70%, 190-192 MB from 100% up; for 0.93-0.97 against 0.86 CPU-s per
 * 1,000 pages and 1-5% fewer pages/s (the extra marking runs mostly on V8's
 * helper threads).
 *
 * V8 flags are the process's: with `crawl()` inside another program, this
 * sets it for all of it, which is why 0 is there.
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}

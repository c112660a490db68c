/**
 * crawlkit's side of the benchmark: a spider doing the benchmark's extraction,
 * and, run as a script, one crawl of the site in this process, reported as
 * one JSON line (see bench/common.ts):
 *
 *   node --import tsx bench/spider.ts --base-url http://127.0.0.1:PORT/ --items N [--concurrency 50]
 *
 * The runner (bench/run.ts) starts it as a child process so that CPU time and
 * peak RSS are crawlkit's own.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { crawl, exportRun, openForRead, Spider, type CallbackResult, type PipelineObject, type Response } from '../src/index.js';
import { startAllocationProfile } from './alloc-profile.js';
import { benchOverrides, childArgs, leftoverResources, Meter, printReport, runAsScript, total } from './common.js';
import { extractItem } from './extract.js';
import { ItemDigest, listingCount, SELECTORS, type Item } from './site-data.js';

/** With BENCH_ALLOC_PROFILE: a pipeline that samples allocations in each thread running callbacks, from open to close. */
function allocationPipeline(dir: string): PipelineObject {
  let stop: (() => void) | undefined;
  // The main thread is profiled by main() whether it runs callbacks or not.
  const here = !isMainThread;
  return { name: 'allocation-profile', open: () => void (here && (stop = startAllocationProfile(dir))), process: (item) => item, close: () => stop?.() };
}

/** Walks the listings ("next") and every item; item pages also link to other items. */
export class BenchSpider extends Spider {
  override name = 'bench';
  override pipelines = process.env.BENCH_ALLOC_PROFILE ? [allocationPipeline(process.env.BENCH_ALLOC_PROFILE)] : [];
  // `-a listings=L` starts from every listing at once (a wide frontier, for scenario d), not from the first of the chain.
  override startUrls = Array.from({ length: Number(this.arg('listings', '1')) }, (_, i) => `${this.arg('baseUrl')}list/${i + 1}.html`);

  /** A listing page. */
  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    yield* res.followAll(SELECTORS.listingItems, this.parseItem);
    yield res.follow(res.$(SELECTORS.next).attr('href'));
  }

  /** An item page. */
  async *parseItem(res: Response): AsyncIterable<CallbackResult> {
    yield extractItem(res.$);
    yield* res.followAll(SELECTORS.related, this.parseItem);
  }
}

/**
 * The digest of a run's items as stored (and how many the export wrote), read back through the export (as a
 * user gets them): empty when the export failed, which the runner's check then
 * reports, with the reason on stderr.
 */
export async function storedDigest(storageDir: string, name: string, runId: number, items: number): Promise<{ digest: ItemDigest; exported: number }> {
  const digest = new ItemDigest(items);
  const file = join(storageDir, 'items.jsonl');
  const db = openForRead(storageDir, name);
  let exported = 0;
  try {
    exported = await exportRun(db, { format: 'jsonl', out: file, runId });
  } catch (err) {
    process.stderr.write(`export failed: ${(err as Error).message}\n`);
  } finally {
    db.close();
  }
  if (exported > 0) for await (const line of createInterface({ input: createReadStream(file) })) if (line) digest.add(JSON.parse(line) as Item);
  return { digest, exported };
}

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

async function main(): Promise<void> {
  const args = childArgs();
  const storageDir = mkdtempSync(join(tmpdir(), 'crawlkit-bench-'));
  try {
    const spider = new BenchSpider({ baseUrl: args.baseUrl, ...(args.frontier ? { listings: String(listingCount(args.items)) } : {}) });
    const stopProfile = process.env.BENCH_ALLOC_PROFILE ? startAllocationProfile(process.env.BENCH_ALLOC_PROFILE) : undefined;
    const meter = new Meter();
    const startedAtMs = Date.now();
    const summary = await crawl(spider, {
      // A cluster's workers join one run; the runner empties Redis before each set of workers.
      fresh: !args.frontier,
      frontier: args.frontier,
      spiderModule: import.meta.url, // callbacks in worker threads, as `npx crawl` runs them
      settings: {
        // --defaults: crawlkit as a user gets it, the caps and workers its own.
        ...(args.defaults
          ? {}
          : {
              concurrency: args.concurrency,
              // Scenario d: no per-host cap (the cap is per cluster), so throughput can scale with the workers.
              perHost: { concurrency: args.frontier ? 10_000 : args.concurrency },
            }),
        storageDir,
        logLevel: 'warn',
        ...benchOverrides(),
      },
    }).run();
    meter.stop();
    stopProfile?.();
    const endedAtMs = Date.now();
    const leftover = leftoverResources();
    if (args.frontier) {
      // A worker holds only its share of the items; the runner checks their union in Redis.
      const s = summary.stats;
      printReport({ system: 'crawlkit', pages: s.pages, items: s.items, digest: new ItemDigest(args.items).toJSON(), ...meter.result, errors: total(s.failures), extra: { startedAtMs, endedAtMs, stats: s } });
      return;
    }

    // Check what was stored, read back from the database through the export,
    // after the measurement: the items must be the site's, each once.
    const dbPath = summary.database;
    const dbMB = (fileSize(dbPath) + fileSize(`${dbPath}-wal`)) / 2 ** 20;
    const { digest, exported } = await storedDigest(storageDir, spider.name, summary.runId, args.items);

    const s = summary.stats;
    printReport({
      system: 'crawlkit',
      pages: s.pages,
      items: s.items,
      digest: digest.toJSON(),
      ...meter.result,
      errors: total(s.failures),
      latencyMs: averageLatency(s.latency),
      extra: {
        status: summary.status,
        reason: summary.reason,
        // All of crawlkit's counters, whatever they are in this version.
        stats: s,
        exported,
        dbMB,
        leftoverResources: leftover,
      },
    });
  } finally {
    rmSync(storageDir, { recursive: true, force: true });
  }
}

/** The average over every host of crawlkit's per-host response times, ms. */
function averageLatency(latency: Record<string, { count: number; totalMs: number }>): number {
  const hosts = Object.values(latency);
  return hosts.reduce((t, h) => t + h.totalMs, 0) / Math.max(1, hosts.reduce((n, h) => n + h.count, 0));
}

runAsScript(import.meta.url, main);

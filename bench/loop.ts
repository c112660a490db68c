/**
 * The bare crawl loop both floors share (bench/floor.ts with cheerio,
 * bench/regex-floor.ts with regexes): undici request() over one keep-alive
 * Agent, a Set of seen URLs, an in-memory FIFO, C requests in flight. No
 * persistence, retries, robots.txt or politeness: the least work a crawl of
 * the site can do, so the lowest CPU per page and the highest pages/s a
 * single-threaded Node.js crawler can reach with the same parser.
 */
import { Agent, request } from 'undici';
import { childArgs, Meter, printReport } from './common.js';
import { ItemDigest, type Item } from './site-data.js';

/** Which extraction a page gets, as crawlkit's callbacks and Crawlee's labels decide it. */
export type PageKind = 'listing' | 'item';

/** What a page yields: maybe an item, and links with the kind of page they lead to. */
export interface Parsed {
  item?: Item | Record<string, unknown>;
  links: [href: string, kind: PageKind][];
}

export interface LoopOptions {
  startUrl: string;
  /** N, for the digest's id check. */
  items: number;
  /** What counts the items: the shop's {@link ItemDigest} of N items unless given (scenario (e) counts leaves). */
  digest?: Pick<ItemDigest, 'add' | 'count'>;
  concurrency: number;
  parse: (html: string, url: string, kind: PageKind) => Parsed;
}

export interface LoopResult {
  pages: number;
  errors: number;
  digest: Pick<ItemDigest, 'add' | 'count'>;
  /** Distinct URLs seen (queued or fetched). */
  seen: number;
  /** Links dropped as already seen. */
  duplicates: number;
  /** Average ms from request() to the body read. */
  latencyMs: number;
}

/** Crawls from `startUrl` until no page is queued or in flight. */
export async function bareLoop({ startUrl, items, concurrency, parse, digest = new ItemDigest(items) }: LoopOptions): Promise<LoopResult> {
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const seen = new Set<string>([startUrl]);
  // A FIFO as an array and a read index: Array.shift() is O(n) on a long queue.
  let queue: ({ url: string; kind: PageKind } | undefined)[] = [{ url: startUrl, kind: 'listing' }];
  let head = 0;
  let inFlight = 0;
  let pages = 0;
  let errors = 0;
  let duplicates = 0;
  let latencyTotalMs = 0;

  const visit = async (url: string, kind: PageKind): Promise<void> => {
    const sentAt = performance.now();
    const res = await request(url, { dispatcher: agent });
    if (res.statusCode !== 200) {
      await res.body.dump();
      errors++;
      return;
    }
    const html = await res.body.text();
    latencyTotalMs += performance.now() - sentAt;
    const { item, links } = parse(html, url, kind);
    pages++;
    if (item) digest.add(item);
    for (const [href, linkKind] of links) {
      const u = new URL(href, url);
      u.hash = '';
      const key = u.href;
      if (seen.has(key)) duplicates++;
      else {
        seen.add(key);
        queue.push({ url: key, kind: linkKind });
      }
    }
  };

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (inFlight < concurrency && head < queue.length) {
        const job = queue[head]!;
        queue[head++] = undefined;
        inFlight++;
        visit(job.url, job.kind)
          .catch((err: unknown) => {
            errors++;
            if (errors <= 5) process.stderr.write(`${job.url}: ${(err as Error).message}\n`);
          })
          .finally(() => {
            inFlight--;
            pump();
          });
      }
      if (head > 65_536 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      if (inFlight === 0 && head >= queue.length) resolve();
    };
    pump();
  });
  await agent.close();
  return { pages, errors, digest, seen: seen.size, duplicates, latencyMs: latencyTotalMs / Math.max(pages, 1) };
}

/** A floor's child process: one loop over the site with `parse`, measured and reported as one JSON line. */
export async function runLoopChild(system: string, parse: LoopOptions['parse']): Promise<void> {
  const args = childArgs();
  const meter = new Meter();
  const digest = new ItemDigest(args.items);
  const result = await bareLoop({ startUrl: `${args.baseUrl}list/1.html`, items: args.items, concurrency: args.concurrency, parse, digest });
  meter.stop();
  printReport({
    system,
    pages: result.pages,
    items: digest.count,
    digest: digest.toJSON(),
    ...meter.result,
    errors: result.errors,
    latencyMs: result.latencyMs,
    extra: { seen: result.seen, duplicates: result.duplicates },
  });
}

/**
 * `render: 'auto'` against rendering everything (issue 14, part of scenario f):
 * a site on 127.0.0.1, in its own process, where 1 product page in 10 is
 * written by script (`/live/N`) and the rest are plain HTML (`/item/N`),
 * listed 50 to a page (`/list/K`) from `/`. crawlkit crawls it with
 * `render = 'auto'` and with `render = true`, in turns (auto, all, auto,
 * all...), each crawl a child process; both must store the same items.
 *
 *   npx tsx bench/auto-render.ts [--pages 300] [--rounds 2] [--max-pages 4] [--recheck-every 20]
 *
 * CPU is the child's and its Chromium's (the browser's processes are reaped
 * by the child: /proc/self/stat's cutime and cstime); peak memory is the
 * largest sum of the PSS of the child's process tree, sampled every 500 ms
 * by the runner.
 * The children run through tsx (both modes alike).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { sampleTree, treeCpu } from './tree.js';
import { crawl, Spider, type Response } from '../src/index.js';
import { ROOT } from './build.js';
import { startSiteProcess } from './child.js';
import Database from 'better-sqlite3';
import { REPORT_PREFIX, runAsScript, serveSite, total } from './common.js';

const PER_LIST = 50;
/** One product page in this many needs the browser. */
const LIVE_EVERY = 10;
const SELF = fileURLToPath(import.meta.url);

const product = (n: number) => ({ id: n, name: `Product ${n}`, price: `£${(n % 97) + 0.99}` });
const html = (title: string, body: string) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

/** The site: `/`, `/list/K`, `/item/N` (plain), `/live/N` (script-written), N = 1..pages. */
function site(pages: number): void {
  const lists = Math.ceil(pages / PER_LIST);
  const path = (n: number) => (n % LIVE_EVERY === 0 ? `/live/${n}` : `/item/${n}`);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    let m: RegExpExecArray | null;
    let body: string | undefined;
    if (url === '/') body = html('Shop', Array.from({ length: lists }, (_, k) => `<a href="/list/${k + 1}">list ${k + 1}</a>`).join(' '));
    else if ((m = /^\/list\/(\d+)$/.exec(url)) && Number(m[1]) <= lists) {
      const first = (Number(m[1]) - 1) * PER_LIST + 1;
      const ns = Array.from({ length: PER_LIST }, (_, i) => first + i).filter((n) => n <= pages);
      body = html(`List ${m[1]}`, ns.map((n) => `<a class="p" href="${path(n)}">${n}</a>`).join(' '));
    } else if ((m = /^\/(item|live)\/(\d+)$/.exec(url)) && path(Number(m[2])) === url) {
      const p = product(Number(m[2]));
      const div = `<div class="product" data-id="${p.id}"><h2>${p.name}</h2><span class="price">${p.price}</span></div>`;
      body = m[1] === 'item' ? html(p.name, div) : html(p.name, `<div id="app"></div><script>document.getElementById('app').innerHTML = ${JSON.stringify(div)};</script>`);
    }
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  serveSite(server, 0, (port) => ({ url: `http://127.0.0.1:${port}/`, pages }));
}

/** The spider of both crawls; `render` is its argument. */
export class ShopSpider extends Spider {
  override name = 'shop';
  override startUrls = [this.arg('base')];
  override render = this.arg('render') === 'auto' ? ('auto' as const) : true;

  override async *parse(res: Response) {
    yield* res.followAll('a', 'parseList');
  }

  async *parseList(res: Response) {
    yield* res.followAll('a.p', 'parseProduct');
  }

  async *parseProduct(res: Response) {
    const p = res.$('div.product');
    yield { id: Number(p.attr('data-id')), name: p.find('h2').text(), price: p.find('.price').text() };
  }
}

/** CPU seconds of this process and of the children it reaped (Chromium). */
function cpuWithChildren(): number {
  const { selfS, childrenS } = treeCpu();
  return selfS + childrenS;
}

/** What a crawl child reports. */
interface AutoReport {
  render: string;
  pages: number;
  items: number;
  /** SHA-1 of the items, sorted: the two modes must agree. */
  itemsSha1: string;
  rendered: number;
  wallS: number;
  /** CPU of the child and its browser. */
  cpuS: number;
  /** Peak PSS of the child and its browser (sampled by the runner, every 250 ms: bench/tree.ts). */
  peakPssMB: number;
  failures: number;
  patterns: unknown;
}

/** One crawl, in this (child) process: its report on stdout. */
async function child(base: string, render: string, maxPages: number, autoRecheckEvery: number): Promise<void> {
  const storageDir = mkdtempSync(join(tmpdir(), 'crawlkit-auto-bench-'));
  try {
    const cpu0 = cpuWithChildren();
    const t0 = performance.now();
    const summary = await crawl(new ShopSpider({ base, render }), {
      fresh: true,
      spiderModule: import.meta.url, // callbacks of HTTP pages in worker threads, as `npx crawl` runs them
      settings: { storageDir, logLevel: 'warn', concurrency: 16, perHost: { concurrency: 16 }, obeyRobots: false, browser: { maxPages, autoRecheckEvery } },
    }).run();
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = cpuWithChildren() - cpu0;
    const db = new Database(summary.database, { readonly: true });
    const rows = (db.prepare('SELECT data FROM items WHERE run_id = ?').all(summary.runId) as { data: string }[]).map((r) => r.data).sort();
    db.close();
    const s = summary.stats;
    const report: AutoReport = {
      render,
      pages: s.pages,
      items: rows.length,
      itemsSha1: createHash('sha1').update(rows.join('\n')).digest('hex'),
      rendered: s.rendered,
      wallS,
      cpuS,
      peakPssMB: 0,
      failures: total(s.failures),
      patterns: s.renderPatterns.map((r) => `${r.pattern.replace(/^[^/]*/, '')} ${r.mode} ${r.pages} (${r.agreed}/${r.compared}, ${r.rechecked} rechecked)`),
    };
    process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
  } finally {
    rmSync(storageDir, { recursive: true, force: true });
  }
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);

/**
 * One crawl in a child process, its memory sampled from here (reading /proc
 * costs CPU, which is not to be the crawler's): the child's report with its peak PSS.
 */
async function measuredCrawl(base: string, render: string, maxPages: string, recheckEvery: string): Promise<AutoReport> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--crawl', base, render, maxPages, recheckEvery], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  // PSS, not RSS: summed RSS counts Chromium's shared memory once per process (some 2 GB for 6 processes that together hold 700 MB).
  const sampler = sampleTree(child.pid!);
  let report: AutoReport | undefined;
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith(REPORT_PREFIX)) report = JSON.parse(line.slice(REPORT_PREFIX.length)) as AutoReport;
  });
  createInterface({ input: child.stderr }).on('line', (line) => void stderr.push(line));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const peak = sampler.stop().peakPssMB;
  if (!report || code !== 0) throw new Error(`render=${render} crawl failed (${code}): ${stderr.slice(-5).join(' | ')}`);
  return { ...report, peakPssMB: peak };
}

/** Starts the site, runs the crawls in turns, prints each and the ratios of the medians. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { pages: { type: 'string', default: '300' }, rounds: { type: 'string', default: '2' }, 'max-pages': { type: 'string', default: '4' }, 'recheck-every': { type: 'string', default: '20' } },
  });
  const pages = Number(values.pages);
  const rounds = Number(values.rounds);
  const site = await startSiteProcess<{ url: string; pages: number }>(['--import', 'tsx', SELF, '--site', String(pages)]);
  const reports: AutoReport[] = [];
  try {
    console.log(`site ${site.info.url}: ${pages} product pages, 1 in ${LIVE_EVERY} written by script; browser.maxPages ${values['max-pages']}, autoRecheckEvery ${values['recheck-every']}`);
    for (let round = 1; round <= rounds; round++)
      for (const render of ['auto', 'true']) {
        const r = await measuredCrawl(site.info.url, render, values['max-pages'], values['recheck-every']);
        reports.push(r);
        console.log(
          `round ${round} render=${render.padEnd(4)} ${r.pages} pages, ${r.items} items, ${r.rendered} rendered, ${r.failures} failed in ${fmt(r.wallS)} s: ` +
            `${fmt(r.pages / r.wallS)} pages/s, ${fmt((r.cpuS * 1000) / r.pages)} CPU-s/1000 pages, peak PSS ${fmt(r.peakPssMB, 0)} MB`,
        );
        if (render === 'auto') console.log(`  patterns: ${(r.patterns as string[]).join('; ')}`);
      }
  } finally {
    await site.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const of = (render: string, f: (r: AutoReport) => number) => median(reports.filter((r) => r.render === render).map(f));
  const same = new Set(reports.map((r) => r.itemsSha1)).size === 1 && reports.every((r) => r.items === pages);
  console.log(
    `auto / all (medians): pages/s ${fmt(of('auto', (r) => r.pages / r.wallS) / of('true', (r) => r.pages / r.wallS), 2)}x, ` +
      `CPU per page ${fmt(of('auto', (r) => r.cpuS / r.pages) / of('true', (r) => r.cpuS / r.pages), 2)}x, peak memory ${fmt(of('auto', (r) => r.peakPssMB) / of('true', (r) => r.peakPssMB), 2)}x; ` +
      `items ${same ? `identical (${pages} each run)` : 'DIFFER'}`,
  );
  if (!same) process.exitCode = 1;
}

runAsScript(import.meta.url, async () => {
  const at = (flag: string) => process.argv.indexOf(flag);
  if (at('--site') > 0) return site(Number(process.argv[at('--site') + 1]));
  const crawlArg = (i: number) => process.argv[at('--crawl') + i]!;
  if (at('--crawl') > 0) return child(crawlArg(1), crawlArg(2), Number(crawlArg(3)), Number(crawlArg(4)));
  return main();
});

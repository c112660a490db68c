/** The first page: every spider with a database in the storage folder, and its runs, newest first. */
import { summarizeRun, type RunSummary } from '../../runs-table.js';
import { formatDuration } from '../../stats.js';
import { currentRuns } from '../../storage/recount.js';
import { count, html, layout, query, type Html } from '../html.js';
import { page, type Reply, type RouteContext } from '../routes.js';
import { readSpider, spiderNames } from '../store.js';

/** Pages a second over the run's crawling time. */
export const pagesPerSecond = (r: RunSummary): string => (r.durationMs > 0 ? ((r.pages * 1000) / r.durationMs).toFixed(1) : '-');

/** `2026-11-27 03:29:13 UTC`. */
export const utc = (iso: string | null): string => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '-');

/** A run's status for people: `finished at maxItems=10` as `crawl runs` says it. */
export const statusText = (r: RunSummary): string => (r.stoppedAt ? `${r.status} at ${r.stoppedAt}` : r.status);

function runsTable(spider: string, runs: RunSummary[]): Html {
  return html`<table class="runs"><thead><tr><th>run</th><th>mode</th><th>status</th><th>started</th><th class="n">duration</th>
<th class="n">pages</th><th class="n">items</th><th class="n">failed</th><th class="n">pages/s</th><th></th></tr></thead><tbody>
${runs.map(
  (r) => html`<tr><td><a href="/run${query({ spider, run: r.id })}">${r.id}</a></td><td>${r.mode}</td><td class="status-${r.status}">${statusText(r)}</td>
<td>${utc(r.startedAt)}</td><td class="n">${formatDuration(r.durationMs)}</td><td class="n">${count(r.pages)}</td><td class="n">${count(r.items)}</td>
<td class="n">${count(r.failed)}</td><td class="n">${pagesPerSecond(r)}</td>
<td><a href="/items${query({ spider, run: r.id })}">items</a> · <a href="/failures${query({ spider, run: r.id })}">failures</a></td></tr>\n`,
)}</tbody></table>`;
}

function spiderSection(storageDir: string, spider: string): Html {
  let body: Html;
  let runs: RunSummary[] = [];
  try {
    runs = readSpider(storageDir, spider, (db) => currentRuns(db).reverse().map(summarizeRun));
    body = runs.length ? runsTable(spider, runs) : html`<p class="muted">no runs yet</p>`;
  } catch (err) {
    body = html`<p class="error">${(err as Error).message}</p>`;
  }
  const compare = runs.length >= 2 ? html` <a class="small" href="/compare${query({ spider, a: runs[1]!.id, b: runs[0]!.id })}">compare the last two runs</a>` : '';
  return html`<section class="spider" data-spider="${spider}"><h2>${spider}${compare}</h2>${body}</section>\n`;
}

/** `/`: the spiders and their runs. */
export function spidersPage({ storageDir }: RouteContext): Reply {
  const names = spiderNames(storageDir);
  const body = names.length
    ? html`<h1>Spiders</h1>${names.map((n) => spiderSection(storageDir, n))}`
    : html`<h1>Spiders</h1><p>no spider databases in ${storageDir} yet: run a crawl (<code>npx crawl NAME</code>), or pass <code>--storage DIR</code></p>`;
  return page(layout('Spiders', body));
}

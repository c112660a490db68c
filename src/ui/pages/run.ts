/**
 * A run: its counters, charts of its status series, latency per host,
 * throttle delays and responses by status. While it runs, the page's script
 * polls `/api/run` once a second for the same parts, rendered here (so every
 * value is escaped in one place), and the new points of the series.
 */
import { latencyQuantile, type HostLatency } from '../../latency.js';
import { summarizeRun } from '../../runs-table.js';
import { formatDuration } from '../../stats.js';
import { countedStats } from '../../storage/recount.js';
import { readStatus } from '../../storage/run-status.js';
import type { Db } from '../../storage/database.js';
import type { Run } from '../../storage/runs.js';
import { count, html, layout, query, type Html } from '../html.js';
import { json, page, type Reply, type RouteContext } from '../routes.js';
import { readSpider, runParam, spiderParam } from '../store.js';
import { pagesPerSecond, statusText, utc } from './spiders.js';

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const record = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** The run with its counters from the tables while it is marked running, as `crawl runs` shows it. */
const current = (db: Db, run: Run): Run => (run.status === 'running' ? { ...run, stats: { ...run.stats, ...countedStats(db, run.id) } } : run);

function counters(run: Run): Html {
  const r = summarizeRun(run);
  const s = record(run.stats);
  const cell = (k: string, label: string, value: string) => html`<div><dt>${label}</dt><dd data-k="${k}">${value}</dd></div>`;
  return html`<dl class="counters">
${cell('status', 'status', statusText(r))}${cell('pages', 'pages', count(r.pages))}${cell('items', 'items', count(r.items))}${cell('failed', 'failed', count(r.failed))}
${cell('requests', 'requests', count(r.requests))}${cell('queued', 'queued', count(num(s.queued)))}${cell('inFlight', 'in flight', count(run.status === 'running' ? num(s.inFlight) : 0))}
${cell('pagesPerS', 'pages/s', pagesPerSecond(r))}${cell('duration', 'duration', formatDuration(r.durationMs))}
</dl>`;
}

function latencyTable(stats: Record<string, unknown>): Html {
  const hosts = Object.entries(record(stats.latency) as Record<string, HostLatency>).sort(([, a], [, b]) => b.count - a.count);
  if (!hosts.length) return html`<p class="muted">no responses yet</p>`;
  return html`<table><thead><tr><th>host</th><th class="n">responses</th><th class="n">average ms</th><th class="n">p95 ms</th></tr></thead><tbody>
${hosts.map(([host, h]) => html`<tr><td>${host}</td><td class="n">${count(h.count)}</td><td class="n">${Math.round(h.totalMs / Math.max(1, h.count))}</td><td class="n">${latencyQuantile(h, 0.95)}</td></tr>`)}
</tbody></table>`;
}

function throttleTable(stats: Record<string, unknown>): Html {
  const delays = Object.entries(record(stats.hostDelays)).sort(([, a], [, b]) => num(b) - num(a));
  const raised = html`<p>the adaptive throttle raised a delay <b data-k="throttleIncreases">${count(num(stats.throttleIncreases))}</b> times</p>`;
  if (!delays.length) return html`${raised}<p class="muted">no host delayed now</p>`;
  return html`${raised}<table><thead><tr><th>host</th><th class="n">delay ms</th></tr></thead><tbody>
${delays.map(([host, ms]) => html`<tr><td>${host}</td><td class="n">${count(num(ms))}</td></tr>`)}</tbody></table>`;
}

function responsesTable(stats: Record<string, unknown>): Html {
  const rows = Object.entries(record(stats.responses)).sort(([a], [b]) => a.localeCompare(b));
  if (!rows.length) return html`<p class="muted">no responses yet</p>`;
  return html`<table><thead><tr><th>status</th><th class="n">responses</th></tr></thead><tbody>
${rows.map(([status, n]) => html`<tr><td>${status}</td><td class="n">${count(num(n))}</td></tr>`)}</tbody></table>`;
}

/** The parts of the page that change as the run goes, by the id of their container. */
function liveParts(run: Run): Record<string, Html> {
  const stats = record(run.stats);
  return { counters: counters(run), latency: latencyTable(stats), throttle: throttleTable(stats), responses: responsesTable(stats) };
}

/** `/run?spider=&run=`: the run's page. */
export function runPage({ url, storageDir }: RouteContext): Reply {
  const spider = spiderParam(url);
  return readSpider(storageDir, spider, (db) => {
    const run = current(db, runParam(db, url));
    const parts = liveParts(run);
    const link = (path: string, label: string) => html`<a href="${path}${query({ spider, run: run.id })}">${label}</a>`;
    const args = Object.entries(run.args).map(([k, v]) => html`<code>-a ${k}=${v}</code> `);
    const box = (id: string, title: string) => html`<section class="box"><h2>${title}</h2><div id="${id}">${parts[id]}</div></section>`;
    const body = html`<h1>Run ${run.id} of ${spider}</h1>
<p class="meta">${run.mode}, started ${utc(new Date(run.startedAt).toISOString())} ${args} · ${link('/items', 'items')} · ${link('/failures', 'failures')}</p>
<div id="run" data-spider="${spider}" data-run="${run.id}" data-live="${run.status === 'running' ? '1' : ''}">
<div id="counters">${parts.counters}</div>
<section class="charts">
<figure><figcaption>pages/s</figcaption><div class="chart" data-chart="pagesPerS"></div></figure>
<figure><figcaption>in flight and queued</figcaption><div class="chart" data-chart="load"></div></figure>
<figure><figcaption>failed (total)</figcaption><div class="chart" data-chart="failed"></div></figure>
<figure><figcaption>latency ms (average and p95), busiest hosts</figcaption><div class="chart" data-chart="latency"></div></figure>
<figure><figcaption>responses by status (total)</figcaption><div class="chart" data-chart="responses"></div></figure>
<figure><figcaption>adaptive throttle delay ms, most delayed hosts</figcaption><div class="chart" data-chart="throttle"></div></figure>
</section>
<div class="boxes">${box('latency', 'Latency per host')}${box('throttle', 'Throttle delays')}${box('responses', 'Responses by status')}</div>
</div>`;
    return page(layout(`run ${run.id} of ${spider}`, body, [html`<span>${spider}</span>`, html`<span>run ${run.id}</span>`]));
  });
}

/** `/api/run?spider=&run=[&since=ms]`: the live parts as HTML, the status, and the series' points after `since`. */
export function runApi({ url, storageDir }: RouteContext): Reply {
  const spider = spiderParam(url);
  const since = Number(url.searchParams.get('since') ?? 0) || 0;
  return readSpider(storageDir, spider, (db) => {
    const run = current(db, runParam(db, url));
    const series = readStatus(db, run.id).filter((p) => p.at > since);
    return json({ status: run.status, parts: Object.fromEntries(Object.entries(liveParts(run)).map(([k, v]) => [k, v.text])), series: series.map((p) => ({ at: p.at, ...p.point })) });
  });
}

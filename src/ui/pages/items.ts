/**
 * A run's items: a paged table (columns from the run's item schema, else the
 * fields of its first items), filtered by text in a column, and downloads in
 * each export format, written by the exporter of `crawl export` (same bytes).
 */
import { formats, exportRun, type Format } from '../../export/exporter.js';
import { ConfigError, NoDataError } from '../../errors.js';
import { countItems } from '../../storage/items.js';
import type { Db } from '../../storage/database.js';
import type { Run } from '../../storage/runs.js';
import { count, html, layout, query, type Html } from '../html.js';
import { page, type Reply, type RouteContext } from '../routes.js';
import { intParam, readSpider, readSpiderAsync, runParam, spiderParam } from '../store.js';

/** Items a page shows. */
const PAGE_SIZE = 50;
/** Items whose fields make the columns of a run without a schema: enough to see every field of a regular spider, cheap on a run of millions. */
const SAMPLED_ITEMS = 200;
/** Characters of a cell shown; the rest is in the downloads. */
const CELL_CHARS = 300;

/** The run's columns: its schema's, else its first items' fields in first-seen order. */
export function itemColumns(db: Db, run: Run): string[] {
  if (run.columns) return run.columns;
  const rows = db
    .prepare(
      `SELECT j.key AS key, min(i.id) AS first FROM (SELECT id, data FROM items WHERE run_id = ? ORDER BY id LIMIT ?) AS i, json_each(i.data) AS j
       GROUP BY j.key ORDER BY first, min(j.id)`,
    )
    .all(run.id, SAMPLED_ITEMS) as { key: string }[];
  return rows.map((r) => r.key);
}

/** A cell's text: a string as it is, anything else as JSON, cut to {@link CELL_CHARS}. */
function cell(value: unknown): string {
  const text = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS)}…` : text;
}

interface Filter {
  column: string;
  text: string;
}

/**
 * The filter as SQL over `items` (parameters, never text put into it):
 * the column's value (or any field's, with no column) holding the text, whatever its case.
 */
const FILTER_SQL = `EXISTS (SELECT 1 FROM json_each(items.data) AS j WHERE (@column = '' OR j.key = @column)
  AND instr(lower(CAST(j.value AS TEXT)), lower(@text)) > 0)`;

function itemsPageRows(db: Db, run: Run, filter: Filter | null, after: number): { rows: { id: number; data: string }[]; matching: number } {
  const where = `run_id = @run${filter ? ` AND ${FILTER_SQL}` : ''}`;
  const params = { run: run.id, column: filter?.column ?? '', text: filter?.text ?? '' };
  const rows = db.prepare(`SELECT id, data FROM items WHERE ${where} AND id > @after ORDER BY id LIMIT ${PAGE_SIZE}`).all({ ...params, after }) as { id: number; data: string }[];
  const matching = (db.prepare(`SELECT count(*) AS n FROM items WHERE ${where}`).get(params) as { n: number }).n;
  return { rows, matching };
}

function filterForm(spider: string, run: Run, columns: string[], filter: Filter | null): Html {
  return html`<form class="filter" method="get" action="/items"><input type="hidden" name="spider" value="${spider}"><input type="hidden" name="run" value="${run.id}">
<label>column <select name="col"><option value="">any</option>${columns.map((c) => html`<option${c === filter?.column ? ' selected' : ''}>${c}</option>`)}</select></label>
<label>contains <input name="q" value="${filter?.text ?? ''}"></label> <button>filter</button></form>`;
}

/** `/items?spider=&run=[&col=&q=][&after=id]`: a page of the run's items. */
export function itemsPage({ url, storageDir }: RouteContext): Reply {
  const spider = spiderParam(url);
  return readSpider(storageDir, spider, (db) => {
    const run = runParam(db, url);
    const columns = itemColumns(db, run);
    const text = url.searchParams.get('q') ?? '';
    const filter = text ? { column: url.searchParams.get('col') ?? '', text } : null;
    const after = intParam(url, 'after', 0);
    const { rows, matching } = itemsPageRows(db, run, filter, after);
    const last = rows.at(-1)?.id;
    const here = { spider, run: run.id, col: filter?.column, q: filter?.text };
    const next = rows.length === PAGE_SIZE && last !== undefined ? html` · <a rel="next" href="/items${query({ ...here, after: last })}">next ${PAGE_SIZE}</a>` : '';
    const first = after > 0 ? html` · <a href="/items${query(here)}">first page</a>` : '';
    const body = html`<h1>Items of run ${run.id} of ${spider}</h1>
<p class="meta">${count(matching)} ${filter ? 'matching' : 'items'} · download: ${formats.map((f) => html`<a class="download" download href="/download${query({ spider, run: run.id, format: f })}">${f.toUpperCase()}</a> `)}</p>
${filterForm(spider, run, columns, filter)}
<table class="items"><thead><tr><th class="n">#</th>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead><tbody>
${rows.map((r) => {
  const item = JSON.parse(r.data) as Record<string, unknown>;
  return html`<tr><td class="n">${r.id}</td>${columns.map((c) => html`<td>${cell(item[c])}</td>`)}</tr>\n`;
})}</tbody></table>
<p class="pager">${rows.length ? `items ${rows[0]!.id} to ${last}` : 'no items here'}${first}${next}</p>`;
    return page(layout(`items of run ${run.id} of ${spider}`, body, [html`<a href="/run${query({ spider, run: run.id })}">${spider} run ${run.id}</a>`, html`<span>items</span>`]));
  });
}

/** `/download?spider=&run=&format=`: the run's items as `crawl export --run N --format F` writes them, streamed. */
export async function download({ url, storageDir, res, head }: RouteContext): Promise<void> {
  const spider = spiderParam(url);
  const format = url.searchParams.get('format') ?? 'jsonl';
  if (!(formats as readonly string[]).includes(format)) throw new ConfigError(`bad ?format=: expected ${formats.join(', ')}`);
  await readSpiderAsync(storageDir, spider, async (db) => {
    const run = runParam(db, url);
    const type = { csv: 'text/csv', json: 'application/json', jsonl: 'application/x-ndjson' }[format as Format];
    const headers = { 'content-type': `${type}; charset=utf-8`, 'content-disposition': `attachment; filename="${spider}-run${run.id}.${format}"`, 'x-content-type-options': 'nosniff' };
    // Checked before the headers go: once they have, an error can only cut the download short.
    if (countItems(db, run.id) === 0) throw new NoDataError(`run ${run.id} stored no items: nothing to download`);
    if (head) return void res.writeHead(200, headers).end();
    res.writeHead(200, headers);
    await exportRun(db, { format: format as Format, out: res, runId: run.id });
    res.end();
  });
}

/** Two runs of a spider compared: counts of items added, removed and changed, and a sample of each. */
import { ConfigError } from '../../errors.js';
import { compareRuns } from '../compare.js';
import { count, html, layout, query, type Html } from '../html.js';
import { page, type Reply, type RouteContext } from '../routes.js';
import { readSpider, runParam, spiderParam } from '../store.js';
import { itemColumns } from './items.js';
import { listRuns } from '../../storage/runs.js';

const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** The fields of a changed item that differ, before → after. */
function changes(before: Record<string, unknown>, after: Record<string, unknown>): Html {
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]));
  return html`<ul class="changes">${fields.map((f) => html`<li><b>${f}</b>: <del>${json(before[f] ?? '')}</del> → <ins>${json(after[f] ?? '')}</ins></li>`)}</ul>`;
}

/** `/compare?spider=&a=&b=[&key=field]`: run a (before) against run b (after). */
export function comparePage({ url, storageDir }: RouteContext): Reply {
  const spider = spiderParam(url);
  return readSpider(storageDir, spider, (db) => {
    const a = runParam(db, url, 'a');
    const b = runParam(db, url, 'b');
    const columns = [...new Set([...itemColumns(db, a), ...itemColumns(db, b)])];
    // The spider's itemKey, recorded with the runs, unless the page asks otherwise (?key= for the whole item).
    const key = url.searchParams.get('key') ?? (b.itemKey && columns.includes(b.itemKey) ? b.itemKey : '');
    if (key && !columns.includes(key)) throw new ConfigError(`bad ?key=: the items have no field ${JSON.stringify(key)}`);
    const c = compareRuns(db, a.id, b.id, key);
    const runs = listRuns(db).reverse();
    const runSelect = (name: string, chosen: number) => html`<select name="${name}">${runs.map((r) => html`<option value="${r.id}"${r.id === chosen ? ' selected' : ''}>run ${r.id}</option>`)}</select>`;
    const body = html`<h1>Compare runs of ${spider}</h1>
<form class="filter" method="get" action="/compare"><input type="hidden" name="spider" value="${spider}">
<label>before ${runSelect('a', a.id)}</label> <label>after ${runSelect('b', b.id)}</label>
<label>same item when equal: <select name="key"><option value="">the whole item</option>${columns.map((f) => html`<option${f === key ? ' selected' : ''}>${f}</option>`)}</select></label> <button>compare</button></form>
<dl class="counters">
<div><dt>added</dt><dd data-k="added">${count(c.added)}</dd></div><div><dt>removed</dt><dd data-k="removed">${count(c.removed)}</dd></div>
<div><dt>changed</dt><dd data-k="changed">${count(c.changed)}</dd></div><div><dt>unchanged</dt><dd data-k="unchanged">${count(c.unchanged)}</dd></div>
${c.keyless ? html`<div><dt>without ${key}</dt><dd>${count(c.keyless)}</dd></div>` : ''}</dl>
${key ? '' : html`<p class="muted">keyed by the whole item: an item that changed counts as one removed and one added; choose a field that names an item (its URL, an id) to see changes</p>`}
<h2>Added</h2><ul class="sample">${c.sample.added.map((s) => html`<li><code>${json(s.item)}</code></li>`)}</ul>
<h2>Removed</h2><ul class="sample">${c.sample.removed.map((s) => html`<li><code>${json(s.item)}</code></li>`)}</ul>
<h2>Changed</h2><ul class="sample">${c.sample.changed.map((s) => html`<li><b>${key} = ${json(s.key)}</b>${changes(s.before, s.after)}</li>`)}</ul>
<p><a href="/items${query({ spider, run: b.id })}">items of run ${b.id}</a></p>`;
    return page(layout(`compare runs of ${spider}`, body, [html`<span>${spider}</span>`, html`<span>compare ${a.id} → ${b.id}</span>`]));
  });
}

/**
 * A run's failures, grouped by reason: each with its URL, attempts, status,
 * message (the stack for a spider error), its screenshot when one was taken,
 * and the `crawl parse` command that fetches it again.
 */
import { SPIDER_ERRORS } from '../../cli/failures.js';
import { NoDataError } from '../../errors.js';
import type { Db } from '../../storage/database.js';
import type { Run } from '../../storage/runs.js';
import { count, html, layout, query, type Html } from '../html.js';
import { page, type Reply, type RouteContext } from '../routes.js';
import { intParam, readSpider, runParam, spiderParam } from '../store.js';

/** Failures shown per reason: a run of a million 404s shows the first 100, and says how many more. */
const PER_REASON = 100;

interface FailureRow {
  requestId: number;
  url: string;
  method: string;
  attempts: number;
  status: number | null;
  reason: string;
  detail: string | null;
  /** The callback the request was for, while the requests table holds the run; null once archived. */
  callback: string | null;
}

/** A word for a POSIX shell, quoted so that nothing in it is read as shell syntax. */
export const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command that fetches one URL with the run's spider and arguments and prints what its callback yields. */
const parseCommand = (spider: string, run: Run, f: FailureRow): string =>
  [
    'npx crawl parse',
    spider,
    shellWord(f.url),
    ...(f.callback && f.callback !== 'parse' ? [`-c ${shellWord(f.callback)}`] : []),
    ...Object.entries(run.args).map(([k, v]) => `-a ${shellWord(`${k}=${v}`)}`),
  ].join(' ');

function failureItem(spider: string, run: Run, f: FailureRow, shots: Set<number>): Html {
  const message = f.detail ? (SPIDER_ERRORS.has(f.reason) ? f.detail : f.detail.split('\n')[0]!) : '';
  const shot = shots.has(f.requestId)
    ? html`<a href="/screenshot${query({ spider, run: run.id, request: f.requestId })}"><img class="shot" alt="screenshot of the page" src="/screenshot${query({ spider, run: run.id, request: f.requestId })}"></a>`
    : '';
  return html`<li class="failure"><div class="row"><span class="status">${f.status ?? '-'}</span> <span>${f.attempts} ${f.attempts === 1 ? 'attempt' : 'attempts'}</span>
${f.method === 'GET' ? '' : html`<b>${f.method}</b> `}<a class="url" href="${/^https?:/i.test(f.url) ? f.url : '#'}" rel="noreferrer noopener">${f.url}</a></div>
${message ? html`<details${SPIDER_ERRORS.has(f.reason) ? '' : ' open'}><summary>${message.split('\n')[0]}</summary><pre class="stack">${message}</pre></details>` : ''}
${shot}<p class="cmd">re-run: <code>${parseCommand(spider, run, f)}</code></p></li>\n`;
}

function reasonSection(db: Db, spider: string, run: Run, reason: string, n: number, shots: Set<number>): Html {
  const rows = db
    .prepare(
      `SELECT f.request_id AS requestId, f.url, f.method, f.attempts, f.status, f.reason, f.detail, r.callback
       FROM failures AS f LEFT JOIN requests AS r ON r.id = f.request_id AND f.run_id = (SELECT value FROM meta WHERE key = 'frontier_run')
       WHERE f.run_id = ? AND f.reason = ? ORDER BY f.request_id LIMIT ?`,
    )
    .all(run.id, reason, PER_REASON) as FailureRow[];
  const more = n > rows.length ? html`<p class="muted">and ${count(n - rows.length)} more: <code>npx crawl failures ${spider} --run ${run.id} --reason ${reason}</code></p>` : '';
  return html`<section class="reason"><h2>${reason || '(no reason)'} <span class="muted">${count(n)}</span></h2><ul class="failures">${rows.map((f) => failureItem(spider, run, f, shots))}</ul>${more}</section>\n`;
}

/** `/failures?spider=&run=`: the run's failures by reason, the most frequent first. */
export function failuresPage({ url, storageDir }: RouteContext): Reply {
  const spider = spiderParam(url);
  return readSpider(storageDir, spider, (db) => {
    const run = runParam(db, url);
    const reasons = db.prepare('SELECT reason, count(*) AS n FROM failures WHERE run_id = ? GROUP BY reason ORDER BY n DESC, reason').all(run.id) as { reason: string; n: number }[];
    const shots = new Set((db.prepare('SELECT request_id AS id FROM screenshots WHERE run_id = ?').all(run.id) as { id: number }[]).map((r) => r.id));
    const total = reasons.reduce((a, r) => a + r.n, 0);
    const body = html`<h1>Failures of run ${run.id} of ${spider}</h1>
<p class="meta">${count(total)} requests failed for good · <a href="/run${query({ spider, run: run.id })}">the run</a></p>
${reasons.length ? html`<nav class="reasons">${reasons.map((r) => html`<span>${r.reason} <b>${count(r.n)}</b></span> `)}</nav>` : html`<p>no failed requests</p>`}
${reasons.map((r) => reasonSection(db, spider, run, r.reason, r.n, shots))}`;
    return page(layout(`failures of run ${run.id} of ${spider}`, body, [html`<a href="/run${query({ spider, run: run.id })}">${spider} run ${run.id}</a>`, html`<span>failures</span>`]));
  });
}

/** `/screenshot?spider=&run=&request=`: the PNG taken of a failed rendered page, from the database by its numbers. */
export function screenshot({ url, storageDir }: RouteContext): Reply {
  const spider = spiderParam(url);
  return readSpider(storageDir, spider, (db) => {
    const run = runParam(db, url);
    const request = intParam(url, 'request');
    const row = db.prepare('SELECT png FROM screenshots WHERE run_id = ? AND request_id = ?').get(run.id, request) as { png: Buffer } | undefined;
    if (!row) throw new NoDataError(`no screenshot of request ${request} in run ${run.id}`);
    return { type: 'image/png', body: row.png };
  });
}

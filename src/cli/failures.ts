import { ConfigError, NoDataError } from '../errors.js';
import { Reason } from '../reasons.js';
import { openForRead } from '../storage/database.js';
import { listFailures, type Failure } from '../storage/failures.js';
import { getRun, latestRun } from '../storage/runs.js';
import { openStorage, type StorageOptions } from './storage.js';

/** The options of `crawl failures`. */
export interface FailuresOptions extends StorageOptions {
  run?: string;
  reason?: string;
  json?: boolean;
}

/** Reasons whose detail is a stack trace worth showing whole (here and in `crawl ui`). */
export const SPIDER_ERRORS = new Set<string>([Reason.callbackError, Reason.callbackTimeout]);

const indent = (text: string) => text.replace(/^/gm, '    ');

/** One failure as text: a row (reason, status, attempts, URL), then its message, or the stack of a spider error, indented. */
function failureText(f: Failure): string {
  const head = `${f.reason.padEnd(22)} ${String(f.status ?? '-').padStart(3)}  ${String(f.attempts).padStart(2)} ${f.attempts === 1 ? 'attempt ' : 'attempts'}  ${f.method === 'GET' ? '' : `${f.method} `}${f.url}`;
  if (!f.detail) return `${head}\n`;
  return `${head}\n${indent(SPIDER_ERRORS.has(f.reason) ? f.detail : f.detail.split('\n')[0]!)}\n`;
}

/** One failure as a JSON line: the stack, for a spider error, apart from the message. */
function failureJson(f: Failure): string {
  const message = f.detail?.split('\n')[0] ?? null;
  const stack = SPIDER_ERRORS.has(f.reason) && f.detail?.includes('\n') ? f.detail : undefined;
  return `${JSON.stringify({ run: f.runId, url: f.url, method: f.method, depth: f.depth, reason: f.reason, status: f.status, attempts: f.attempts, message, stack })}\n`;
}

/**
 * `crawl failures NAME`: the requests of a run (the latest, or `--run N`)
 * that failed for good, streamed from the database, so a crawl may be
 * running meanwhile and a million failures are never held at once.
 */
export async function failuresCommand(name: string, opts: FailuresOptions): Promise<number> {
  const runId = opts.run === undefined ? undefined : Number(opts.run);
  if (runId !== undefined && !Number.isInteger(runId)) throw new ConfigError(`bad --run ${JSON.stringify(opts.run)}: expected a run number`);
  const db = await openStorage(name, 'failures', opts, openForRead);
  try {
    const run = runId === undefined ? latestRun(db) : getRun(db, runId);
    if (!run) throw new NoDataError(runId === undefined ? `no runs of '${name}' yet` : `there is no run ${runId} of spider '${name}'`);
    let count = 0;
    for (const failure of listFailures(db, run.id, opts.reason)) {
      count++;
      process.stdout.write(opts.json ? failureJson(failure) : failureText(failure));
    }
    const which = opts.reason ? ` with a reason starting '${opts.reason}'` : '';
    const counted = count === 0 ? 'no failed requests' : count === 1 ? '1 failed request' : `${count.toLocaleString('en-US')} failed requests`;
    process.stderr.write(`run ${run.id} of '${name}' (${run.status}): ${counted}${which}\n`);
    return 0;
  } finally {
    db.close();
  }
}

import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  /** A folder to write the failures' screenshots into, as `run<R>-req<Q>.png`. */
  screenshots?: string;
}

/** Reasons whose detail is a stack trace worth showing whole (here and in `crawl ui`). */
export const SPIDER_ERRORS = new Set<string>([Reason.callbackError, Reason.callbackTimeout]);

const indent = (text: string) => text.replace(/^/gm, '    ');

/** A screenshot's file name: from the run's and the request's ids alone, never from anything a page or a URL said. */
export const screenshotName = (f: Pick<Failure, 'runId' | 'requestId'>): string => `run${f.runId}-req${f.requestId}.png`;

/** One failure as text: a row (reason, status, attempts, URL), then its message, or the stack of a spider error, indented; then its screenshot's file, if it has one. */
function failureText(f: Failure, shot: string | undefined): string {
  const head = `${f.reason.padEnd(22)} ${String(f.status ?? '-').padStart(3)}  ${String(f.attempts).padStart(2)} ${f.attempts === 1 ? 'attempt ' : 'attempts'}  ${f.method === 'GET' ? '' : `${f.method} `}${f.url}`;
  const detail = f.detail ? `${indent(SPIDER_ERRORS.has(f.reason) ? f.detail : f.detail.split('\n')[0]!)}\n` : '';
  return `${head}\n${detail}${f.hasScreenshot ? `    screenshot: ${shot ?? `${screenshotName(f)} (--screenshots DIR writes it)`}\n` : ''}`;
}

/** One failure as a JSON line: the stack, for a spider error, apart from the message; `screenshotFile` when written. */
function failureJson(f: Failure, shot: string | undefined): string {
  const message = f.detail?.split('\n')[0] ?? null;
  const stack = SPIDER_ERRORS.has(f.reason) && f.detail?.includes('\n') ? f.detail : undefined;
  const { runId: run, requestId: request, url, method, depth, reason, status, attempts } = f;
  return `${JSON.stringify({ run, request, url, method, depth, reason, status, attempts, message, stack, screenshot: Boolean(f.hasScreenshot), screenshotFile: shot })}\n`;
}

/**
 * Makes the folder the screenshots go into (its parent must exist): not
 * recursively, which on Node 20 loops for ever under /proc (`--screenshots /proc/x` hung).
 */
function screenshotsFolder(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot make the --screenshots folder ${JSON.stringify(dir)}: ${(err as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new ConfigError(`--screenshots ${JSON.stringify(dir)} is a file, not a folder`);
}

/** Writes a failure's screenshot into `dir`, returning its path; none without one. */
function writeScreenshot(f: Failure, dir: string | undefined): string | undefined {
  if (dir === undefined || !f.png) return undefined;
  const path = join(dir, screenshotName(f));
  writeFileSync(path, f.png);
  return path;
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
    if (opts.screenshots !== undefined) screenshotsFolder(opts.screenshots);
    let count = 0;
    let shots = 0;
    for (const failure of listFailures(db, run.id, opts.reason, opts.screenshots !== undefined)) {
      count++;
      if (failure.hasScreenshot) shots++;
      const shot = writeScreenshot(failure, opts.screenshots);
      process.stdout.write(opts.json ? failureJson(failure, shot) : failureText(failure, shot));
    }
    const which = opts.reason ? ` with a reason starting '${opts.reason}'` : '';
    const counted = count === 0 ? 'no failed requests' : count === 1 ? '1 failed request' : `${count.toLocaleString('en-US')} failed requests`;
    const pictured = shots === 0 ? '' : `, ${shots} with a screenshot${opts.screenshots === undefined ? ' (--screenshots DIR writes them)' : ` written to ${opts.screenshots}`}`;
    process.stderr.write(`run ${run.id} of '${name}' (${run.status}): ${counted}${which}${pictured}\n`);
    return 0;
  } finally {
    db.close();
  }
}

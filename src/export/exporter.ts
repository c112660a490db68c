import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError, NoDataError, StorageError } from '../errors.js';
import type { Db } from '../storage/database.js';
import { countItems, iterateItems } from '../storage/items.js';
import { getRun, latestRun, type Run } from '../storage/runs.js';
import { toCsv } from './csv.js';
import { toJson } from './json.js';
import { toJsonl } from './jsonl.js';
import { openSink, type ItemSink } from './sink.js';

/** The export formats. */
export const formats = ['jsonl', 'json', 'csv'] as const;
/** An export format. */
export type Format = (typeof formats)[number];

/** Options of {@link exportRun}. */
export interface ExportOptions {
  format: Format;
  /** A file path (written to a temporary file, then renamed: never a half-written file), or a stream such as stdout. */
  out: string | Writable;
  /** The run to export; the latest by default. */
  runId?: number;
  /** CSV: neutralise cells that a spreadsheet would run as formulas. Default true. */
  csvSafe?: boolean;
}

/** The format a file name implies, e.g. `items.csv` → `csv`. */
export function formatOf(path: string): Format {
  const ext = /\.([a-z]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (ext && (formats as readonly string[]).includes(ext)) return ext as Format;
  throw new ConfigError(`cannot tell the format of ${JSON.stringify(path)}: use a .jsonl, .json or .csv file name`);
}

/** Without a schema's columns: the items' field names in first-seen order, found by SQLite's JSON functions rather than by loading items. */
function csvColumns(db: Db, runId: number): string[] {
  const rows = db
    .prepare('SELECT j.key AS key, min(i.id) AS first FROM items AS i, json_each(i.data) AS j WHERE i.run_id = ? GROUP BY j.key ORDER BY first, j.id')
    .all(runId) as { key: string }[];
  return rows.map((r) => r.key);
}

/** A run's CSV columns: its item schema's, else its items' fields in first-seen order. */
const runColumns = (db: Db, run: Run): string[] => run.columns ?? csvColumns(db, run.id);

/**
 * The `-o` file of a crawl that resumes run `runId`: written afresh with the
 * items the run has stored so far (whatever the file held, which a killed
 * process may have left short or unended), then open for the new ones, so it
 * ends with the whole run, once.
 */
export async function resumeSink(db: Db, runId: number, path: string, format: Format): Promise<ItemSink> {
  const run = getRun(db, runId);
  const count = run ? countItems(db, run.id) : 0;
  if (!run || count === 0) return openSink(path, format, run?.columns ?? null);
  await exportRun(db, { format, out: path, runId });
  return openSink(path, format, format === 'csv' ? runColumns(db, run) : null, true, count);
}

/** Streams a run's items into a file or stream; returns how many were written. */
export async function exportRun(db: Db, options: ExportOptions): Promise<number> {
  if (!(formats as readonly string[]).includes(options.format))
    throw new ConfigError(`unknown format '${options.format}' (expected ${formats.join(', ')})`);
  const run = options.runId === undefined ? latestRun(db) : getRun(db, options.runId);
  if (!run) throw new NoDataError(options.runId === undefined ? 'no crawl has been run yet: nothing to export' : `there is no run ${options.runId}`);
  const count = countItems(db, run.id);
  if (count === 0) throw new NoDataError(`run ${run.id} stored no items: nothing to export`);
  const items = (function* () {
    for (const item of iterateItems(db, run.id)) yield item.data;
  })();
  const columns = options.format === 'csv' ? runColumns(db, run) : [];
  await writeItems(items, { ...options, columns });
  return count;
}

/**
 * Writes items in a format to a file (through a temporary file renamed at
 * the end: never a half-written file) or to a stream such as stdout.
 * `columns` are the CSV's.
 */
export async function writeItems(
  items: Iterable<Record<string, unknown>> | AsyncIterable<Record<string, unknown>>,
  options: Omit<ExportOptions, 'runId'> & { columns: string[] },
): Promise<void> {
  const chunks =
    options.format === 'jsonl' ? toJsonl(items) : options.format === 'json' ? toJson(items) : toCsv(items, { columns: options.columns, safe: options.csvSafe ?? true });
  if (typeof options.out !== 'string') {
    await pipeline(Readable.from(chunks), options.out, { end: false });
    return;
  }
  const tmp = `${options.out}.${process.pid}.tmp`;
  try {
    await pipeline(Readable.from(chunks), createWriteStream(tmp));
    await rename(tmp, options.out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new StorageError(`cannot write ${options.out}: ${(err as Error).message}`);
  }
}

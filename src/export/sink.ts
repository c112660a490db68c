import { closeSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import { StorageError } from '../errors.js';
import { csvHeader, csvRow } from './csv.js';
import type { Format } from './exporter.js';
import { jsonArrayEnd, jsonArrayEntry } from './json.js';
import { jsonLine } from './jsonl.js';

/** A file that items are appended to while a crawl runs (`crawl NAME -o FILE`). */
export interface ItemSink {
  write(items: Record<string, unknown>[]): void;
  /**
   * Ends the file so it is valid (a JSON array gets its `]`). Synchronous, so
   * it also works from an `exit` handler after a second Ctrl-C. Idempotent.
   */
  close(): void;
  /** Items written. */
  readonly count: number;
  /** CSV only: an item had fields the header lacks (they were left out of this file). */
  readonly columnsGrew: boolean;
}

/**
 * Opens `path` for items in `format`. Writes are synchronous and unbuffered:
 * items arrive in committed batches, so a write per batch costs little, and
 * whatever was written is in the file whenever the process stops.
 * CSV columns are `columns` (the item schema's) or the first item's fields.
 * With `written` > 0, the file already holds that many items in `format`, as
 * an export wrote them (a JSON array ended, a CSV header of `columns`): the
 * new ones follow them.
 */
export function openSink(path: string, format: Format, columns: string[] | null, csvSafe = true, written = 0): ItemSink {
  let fd: number | null;
  try {
    if (written > 0 && format === 'json') {
      // The array's end goes, and comes back after the new items.
      const size = statSync(path).size - jsonArrayEnd(false).length;
      truncateSync(path, Math.max(0, size));
    }
    fd = openSync(path, written > 0 ? 'a' : 'w');
  } catch (err) {
    throw new StorageError(`cannot write ${path}: ${(err as Error).message}`);
  }
  let count = written;
  let columnsGrew = false;
  let csv = columns ? { columns, safe: csvSafe } : null;
  const put = (text: string) => {
    if (fd !== null) writeSync(fd, text);
  };
  if (csv && format === 'csv' && written === 0) put(csvHeader(csv));
  return {
    write(items) {
      let text = '';
      for (const item of items) {
        if (format === 'jsonl') text += jsonLine(item);
        else if (format === 'json') text += jsonArrayEntry(item, count === 0);
        else {
          if (!csv) {
            csv = { columns: Object.keys(item), safe: csvSafe };
            text += csvHeader(csv);
          }
          const known = csv.columns;
          if (!columnsGrew && Object.keys(item).some((k) => !known.includes(k))) columnsGrew = true;
          text += csvRow(item, csv);
        }
        count++;
      }
      put(text);
    },
    close() {
      if (fd === null) return;
      if (format === 'json') put(jsonArrayEnd(count === 0));
      closeSync(fd);
      fd = null;
    },
    get count() {
      return count;
    },
    get columnsGrew() {
      return columnsGrew;
    },
  };
}

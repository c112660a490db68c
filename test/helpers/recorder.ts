/**
 * A pipeline object that records its lifecycle, for spiders written by tests:
 * open() opens `-a out=FILE`, process() and close() write `{ event, thread,
 * page? }` lines to it through that descriptor (so a write outside open/close
 * throws), `thread` being the node:worker_threads `threadId` it ran in.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { lines } from './cli.js';

/** The imports and the `Recorder` class, to paste at the top of a spider's source (its `crawlkit` import apart). */
export const recorderSource = `import { closeSync, openSync, writeSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

class Recorder {
  fd: number | undefined;
  constructor(readonly file: string) {}
  open() {
    this.fd = openSync(this.file, 'a');
    this.write({ event: 'open' });
  }
  process(item: Record<string, unknown>) {
    this.write({ event: 'item', page: item.page });
    return item;
  }
  close() {
    this.write({ event: 'close' });
    closeSync(this.fd!);
    this.fd = undefined;
  }
  write(entry: object) {
    if (this.fd === undefined) throw new Error('written while not open');
    writeSync(this.fd, JSON.stringify({ ...entry, thread: threadId }) + '\\n');
  }
}
`;

/** One line the Recorder wrote. */
export interface RecorderEvent {
  event: 'open' | 'item' | 'close';
  thread: number;
  page?: string;
}

/** The lines a Recorder wrote to `file`. */
export const recorderEvents = (file: string): RecorderEvent[] => lines(readFileSync(file, 'utf8')).map((l) => JSON.parse(l) as RecorderEvent);

/** Each thread's events: one open first, one close last, items between; returns the threads and the pages processed. */
export function checkLifecycle(all: RecorderEvent[]): { threads: number[]; pages: string[] } {
  const threads = [...new Set(all.map((e) => e.thread))].sort((a, b) => a - b);
  for (const thread of threads) {
    const mine = all.filter((e) => e.thread === thread).map((e) => e.event);
    expect(mine[0], `thread ${thread}`).toBe('open');
    expect(mine.at(-1), `thread ${thread}`).toBe('close');
    expect(mine.filter((e) => e !== 'item'), `thread ${thread}`).toEqual(['open', 'close']);
  }
  return { threads, pages: all.filter((e) => e.event === 'item').map((e) => e.page!).sort() };
}

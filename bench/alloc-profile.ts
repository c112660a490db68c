/**
 * Where each thread's allocations go: V8's sampling heap profiler, started
 * in the thread that calls it, keeping the samples of objects already
 * collected (a plain `--heap-prof` keeps only what is live at exit, which
 * after a crawl is almost nothing). Written as <dir>/<thread>.heapprofile
 * and summarised by package, file and function like a CPU profile.
 *
 * The bench spider starts it in every thread that runs its callbacks when
 * BENCH_ALLOC_PROFILE names a folder (`npm run bench -- --profile`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { locate, type ProfileRow, type ProfileSummary } from './profile-summary.js';

/** One sample per 64 KB allocated on average: cheap enough not to change the crawl much. */
const SAMPLING_INTERVAL = 64 * 1024;

/** Starts sampling this thread's allocations; the returned function stops and writes the profile. */
export function startAllocationProfile(dir: string): () => void {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', { samplingInterval: SAMPLING_INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return () => {
    // The in-thread session answers synchronously.
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (!err) writeFileSync(join(dir, `${isMainThread ? 'main' : `worker-${threadId}`}.heapprofile`), JSON.stringify(result.profile));
      session.disconnect();
    });
  };
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** Bytes allocated (sampled) by package, file and function, `top` rows each; `busyMs` unused (0), `totalMs` = MB. */
export function summarizeAllocations(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { head: HeapNode };
  const maps = { pkg: new Map<string, number>(), file: new Map<string, number>(), fn: new Map<string, number>() };
  let total = 0;
  const walk = (n: HeapNode) => {
    if (n.selfSize > 0) {
      total += n.selfSize;
      const { functionName, url, lineNumber } = n.callFrame;
      const { pkg, file } = locate(url, functionName || '(anonymous)');
      const fn = url === '' ? file : `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
      for (const [m, k] of [[maps.pkg, pkg], [maps.file, file], [maps.fn, fn]] as const) m.set(k, (m.get(k) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const rows = (m: Map<string, number>): ProfileRow[] =>
    [...m].sort(([, a], [, b]) => b - a).slice(0, top).map(([name, bytes]) => ({ name, selfMs: bytes / 2 ** 20, percent: total > 0 ? (100 * bytes) / total : 0 }));
  return { totalMs: total / 2 ** 20, busyMs: 0, byPackage: rows(maps.pkg), byFile: rows(maps.file), byFunction: rows(maps.fn) };
}

/** The allocation profiles in `dir`, the main thread's first. */
export function allocationProfiles(dir: string): { thread: string; file: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.heapprofile'))
    .sort((a, b) => (a.startsWith('main') ? -1 : b.startsWith('main') ? 1 : a.localeCompare(b)))
    .map((f) => ({ thread: f.startsWith('main') ? 'main thread' : `worker thread ${f.slice(7, -12)}`, file: join(dir, f) }));
}

/** An allocation summary as text: MB sampled by package, file and function. */
export function formatAllocations(s: ProfileSummary, title: string): string {
  const table = (heading: string, rows: ProfileRow[]) => [`       MB      %  ${heading}`, ...rows.map((r) => `${r.selfMs.toFixed(1).padStart(9)} ${r.percent.toFixed(1).padStart(6)}  ${r.name}`)].join('\n');
  return [`${title}: ${s.totalMs.toFixed(0)} MB allocated (sampled)`, table('package', s.byPackage), '', table('function', s.byFunction)].join('\n');
}

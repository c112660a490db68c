import { formatDuration } from './stats.js';
import type { Run } from './storage/runs.js';

/** One run as `crawl runs` shows it: the stored run and the figures read off its stats. */
export interface RunSummary {
  id: number;
  mode: Run['mode'];
  status: Run['status'];
  /** The limit that ended the run (`maxItems=800`), or null. */
  stoppedAt: string | null;
  /** ISO 8601, UTC. */
  startedAt: string;
  finishedAt: string | null;
  /** Time spent crawling, over every process of the run (a resumed run does not count the time it was stopped). */
  durationMs: number;
  pages: number;
  items: number;
  /** Requests that failed for good, all reasons together. */
  failed: number;
  /** HTTP exchanges, retries and redirects included. */
  requests: number;
  /** Sessions that sent requests, and of them those retired (banned). */
  sessions: { used: number; retired: number };
  args: Record<string, string>;
  /** The run's stats as stored (null before its first save). */
  stats: Record<string, unknown> | null;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const total = (v: unknown) => (v && typeof v === 'object' ? Object.values(v).reduce((a: number, b) => a + num(b), 0) : 0);

/** A run's figures, read defensively: a run that crashed before saving stats has none. */
export function summarizeRun(run: Run): RunSummary {
  const s = run.stats ?? {};
  return {
    id: run.id,
    mode: run.mode,
    status: run.status,
    stoppedAt: typeof s.stoppedAt === 'string' ? s.stoppedAt : null,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    durationMs: num(s.elapsedMs),
    pages: num(s.pages),
    items: num(s.items),
    failed: total(s.failures),
    requests: num(s.requests),
    sessions: { used: num(s.sessionsUsed), retired: num(s.sessionsRetired) },
    args: run.args,
    stats: run.stats,
  };
}

const count = (n: number) => n.toLocaleString('en-US');

/** `2026-11-23 15:04:05`, in the local time zone: when a run started, as its user remembers it. */
function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A run's sessions as a cell: `3 (2 retired)`. */
const sessionsCell = ({ used, retired }: RunSummary['sessions']) => `${count(used)}${retired ? ` (${count(retired)} retired)` : ''}`;

/** The runs as an aligned table, a header line first; numbers right-aligned. A `sessions` column when a run used several or retired one. */
export function runsTable(runs: readonly Run[]): string[] {
  const summaries = runs.map(summarizeRun);
  const withSessions = summaries.some((r) => r.sessions.used > 1 || r.sessions.retired > 0);
  const header = ['id', 'mode', 'status', 'started', 'duration', 'pages', 'items', 'failed', 'requests', ...(withSessions ? ['sessions'] : [])];
  const numeric = [true, false, false, false, true, true, true, true, true, true];
  const rows = summaries.map((r, i) => [
    String(r.id),
    r.mode,
    r.stoppedAt ? `${r.status} at ${r.stoppedAt}` : r.status,
    localTime(runs[i]!.startedAt),
    formatDuration(r.durationMs),
    count(r.pages),
    count(r.items),
    count(r.failed),
    count(r.requests),
    ...(withSessions ? [sessionsCell(r.sessions)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows].map((row) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

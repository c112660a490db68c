/**
 * Memory and CPU of a process tree (Linux /proc), for scenario (f): a crawler
 * that renders is its node process plus Chromium's (a browser process, a
 * zygote, a GPU/utility process or two and a renderer per page or site), and
 * all of them count.
 *
 * - Memory: {@link sampleTree} walks /proc every 250 ms from the runner (so
 *   the sampling costs the measured tree nothing), finds the crawler child's
 *   descendants by their parent pid, and sums their RSS (/proc/PID/statm) and
 *   their PSS (/proc/PID/smaps_rollup). Summed RSS counts the pages the
 *   processes share (Chromium's code, its zygote's copy-on-write heap) once
 *   per process; PSS splits each shared page between its sharers, so the sum
 *   of PSS is the tree's real footprint. Both peaks are reported.
 * - CPU: {@link treeCpu} reads the crawler's own /proc/self/stat: utime +
 *   stime, plus cutime + cstime, the CPU of the descendants it has waited
 *   for. Chromium's renderers are waited for by its zygote, the zygote by the
 *   browser process, the browser by node once Playwright has closed it: read
 *   after the browser is closed, the figure holds all of Chromium's CPU,
 *   renderers that came and went included (a /proc sample would miss the
 *   last instants of each). Clock ticks of 10 ms (USER_HZ = 100 on Linux).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_S = 0.01;
const PAGE_BYTES = 4096;
const SAMPLE_MS = 250;

/** The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number | 'self'): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone between listing and reading
  }
}

/** CPU seconds of this process (user + system) and of the children it has waited for, from /proc/self/stat. */
export function treeCpu(): { selfS: number; childrenS: number } {
  const f = statFields('self');
  // After the name: state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt, cmajflt, utime, stime, cutime, cstime.
  if (!f) return { selfS: NaN, childrenS: NaN };
  return { selfS: (Number(f[11]) + Number(f[12])) * TICK_S, childrenS: (Number(f[13]) + Number(f[14])) * TICK_S };
}

/** The pids under `root` (not `root` itself), found by their parent pids. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = Number(statFields(pid)?.[1]);
    if (!Number.isInteger(ppid)) continue;
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) for (const c of children.get(queue.pop()!) ?? []) out.push(c), queue.push(c);
  return out;
}

/** RSS and PSS of one process, bytes; zero when it has gone. */
function memoryOf(pid: number): { rss: number; pss: number } {
  try {
    const rss = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_BYTES;
    const pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
    return { rss, pss };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** Peaks of a tree over its life. */
export interface TreeMemory {
  /** Largest sum of the tree's RSS seen, MB. */
  peakRssMB: number;
  /** Largest sum of the tree's PSS seen, MB. */
  peakPssMB: number;
  /** Most processes in the tree at once (the root included). */
  maxProcesses: number;
  samples: number;
}

/** Samples the tree of `root` every 250 ms until stopped; returns its peaks. */
export function sampleTree(root: number): { stop(): TreeMemory } {
  const peak: TreeMemory = { peakRssMB: 0, peakPssMB: 0, maxProcesses: 0, samples: 0 };
  const sample = () => {
    const pids = [root, ...descendants(root)];
    let rss = 0;
    let pss = 0;
    for (const pid of pids) {
      const m = memoryOf(pid);
      rss += m.rss;
      pss += m.pss;
    }
    if (rss === 0) return; // the root has exited
    peak.samples++;
    peak.peakRssMB = Math.max(peak.peakRssMB, rss / 2 ** 20);
    peak.peakPssMB = Math.max(peak.peakPssMB, pss / 2 ** 20);
    peak.maxProcesses = Math.max(peak.maxProcesses, pids.length);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/**
 * The benchmark's child processes: a site server that prints one JSON line
 * once listening, and a crawler that prints one report line and exits.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT } from './build.js';
import { REPORT_PREFIX } from './common.js';

/** A crawler child's end: its report (when it printed one), how it exited, its stderr. */
export interface ChildResult<R> {
  report: R | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderr: string[];
  processS: number;
}

/** Runs a child (node unless `command` says otherwise) to its end (or its deadline); collects its report line and its stderr. `onSpawn` gets its pid (to watch its process tree). */
export async function runChild<R>(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutS: number,
  command = process.execPath,
  onSpawn?: (pid: number) => void,
): Promise<ChildResult<R>> {
  const t0 = performance.now();
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) onSpawn?.(child.pid);
  let report: R | undefined;
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith(REPORT_PREFIX)) return;
    try {
      report = JSON.parse(line.slice(REPORT_PREFIX.length)) as R;
    } catch {
      stderr.push(`unreadable report line: ${line.slice(0, 200)}`);
    }
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (stderr.length < 200) stderr.push(line);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutS * 1000);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (code, sig) => resolve([code, sig])));
  clearTimeout(timer);
  return { report, exitCode, signal, timedOut, stderr, processS: (performance.now() - t0) / 1000 };
}

/** A site server child, listening. */
export interface SiteProcess<I> {
  /** The JSON line it printed once listening. */
  info: I;
  stop(): Promise<void>;
}

/** Starts a site server child (`args`: the node command line) and waits for its first line, a JSON description of itself. */
export async function startSiteProcess<I>(args: string[]): Promise<SiteProcess<I>> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const info = await new Promise<I>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as I));
    child.once('exit', (code) => reject(new Error(`site server exited (${code}) before listening`)));
  });
  return {
    info,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

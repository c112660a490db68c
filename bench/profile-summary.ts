/**
 * Summarises a V8 CPU profile (node --cpu-prof) by self time: where the
 * process spent its CPU, grouped by package (cheerio, undici, crawlkit, node
 * internals, garbage collection...), by file and by function.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/FILE.cpuprofile [--top 25]
 *
 * `npm run bench -- --profile` writes such profiles and prints this summary.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILD_DIR, ROOT } from './build.js';

/** The parts of a .cpuprofile this reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** One row of a summary: a package, file or function and its self time. */
export interface ProfileRow {
  name: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  /** Sampled time, ms. */
  totalMs: number;
  /** Sampled time that was not idle, ms. */
  busyMs: number;
  byPackage: ProfileRow[];
  byFile: ProfileRow[];
  byFunction: ProfileRow[];
}

const NODE_MODULES = `${sep}node_modules${sep}`;
const BUILD_PREFIX = `${BUILD_DIR}${sep}`;
// In a git worktree whose node_modules links to another checkout's, the transpiled copy runs from the link's target.
const BUILD_REAL_PREFIX = `${existsSync(BUILD_DIR) ? realpathSync(BUILD_DIR) : BUILD_DIR}${sep}`;
const ROOT_PREFIX = `${ROOT}${sep}`;

/** Package and file of a call frame's URL; the benchmark's transpiled copies map back to their .ts sources. */
export function locate(url: string, functionName: string): { pkg: string; file: string; transpiled?: boolean } {
  if (url === '') {
    // V8's pseudo-frames ("(garbage collector)", "(program)", "(idle)") and builtins without a script.
    if (functionName.startsWith('(')) return { pkg: functionName, file: functionName };
    return { pkg: '(V8 builtins)', file: `(V8 builtins) ${functionName || '(anonymous)'}` };
  }
  if (url.startsWith('node:')) return { pkg: 'node (internals)', file: url };
  // The only WebAssembly in these processes is undici's HTTP parser.
  if (url.startsWith('wasm://')) return { pkg: 'undici (llhttp, wasm)', file: url };
  let path: string;
  try {
    path = url.startsWith('file:') ? fileURLToPath(url) : url;
  } catch {
    return { pkg: url, file: url };
  }
  // The runner's transpiled copy: named after the .ts source, but its line numbers are the .js file's.
  const prefix = [BUILD_PREFIX, BUILD_REAL_PREFIX].find((p) => path.startsWith(p));
  const transpiled = prefix !== undefined;
  if (transpiled) path = ROOT_PREFIX + path.slice(prefix.length).replace(/\.js$/, '.ts');
  const nm = path.lastIndexOf(NODE_MODULES);
  if (nm >= 0) {
    const rest = path.slice(nm + NODE_MODULES.length).split(sep);
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return { pkg, file: rest.join('/') };
  }
  if (path.startsWith(ROOT_PREFIX)) {
    const rel = path.slice(ROOT_PREFIX.length).split(sep).join('/');
    return { pkg: rel.startsWith('src/') ? 'crawlkit' : rel.split('/')[0]!, file: rel, transpiled };
  }
  return { pkg: path, file: path };
}

/** Self time by package, file and function, largest first, `top` rows each. */
export function summarizeProfile(path: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    // timeDeltas[i] is the time from sample i-1 to sample i: charge it to sample i-1's frame.
    for (let i = 0; i < samples.length; i++) {
      const dt = deltas[i + 1] ?? 0;
      selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
    }
  } else {
    const hits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    const per = (profile.endTime - profile.startTime) / hits;
    for (const n of profile.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * per);
  }
  const packages = new Map<string, number>();
  const files = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idleUs += us;
    const { pkg, file, transpiled } = locate(url, functionName);
    const line = transpiled ? ` (line ${lineNumber + 1} of the transpiled .js)` : `:${lineNumber + 1}`;
    const fn = url === '' ? file : `${functionName || '(anonymous)'} ${file}${line}`;
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    files.set(file, (files.get(file) ?? 0) + us);
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const rows = (m: Map<string, number>): ProfileRow[] =>
    [...m]
      .sort(([, a], [, b]) => b - a)
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, percent: totalUs > 0 ? (100 * us) / totalUs : 0 }));
  return { totalMs: totalUs / 1000, busyMs: (totalUs - idleUs) / 1000, byPackage: rows(packages), byFile: rows(files), byFunction: rows(functions) };
}

/**
 * The CPU profiles node wrote in `dir` (--cpu-prof-dir), one per thread,
 * named CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is
 * the main thread, the others worker threads. The main thread's first.
 */
export function threadProfiles(dir: string): { thread: string; file: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ tid: Number(f.split('.')[4]), file: join(dir, f) }))
    .sort((a, b) => a.tid - b.tid)
    .map(({ tid, file }) => ({ thread: tid === 0 ? 'main thread' : `worker thread ${tid}`, file }));
}

/** The summary as text tables. */
export function formatProfileSummary(s: ProfileSummary, title = 'CPU profile'): string {
  const table = (heading: string, rows: ProfileRow[]) =>
    [`  self ms      %  ${heading}`, ...rows.map((r) => `${r.selfMs.toFixed(0).padStart(9)} ${r.percent.toFixed(1).padStart(6)}  ${r.name}`)].join('\n');
  return [
    `${title}: ${(s.totalMs / 1000).toFixed(2)} s sampled, ${(s.busyMs / 1000).toFixed(2)} s not idle`,
    table('package', s.byPackage),
    '',
    table('file', s.byFile),
    '',
    table('function', s.byFunction),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  if (positionals.length === 0) {
    process.stderr.write('usage: tsx bench/profile-summary.ts FILE.cpuprofile... [--top 25]\n');
    process.exit(2);
  }
  for (const file of positionals) process.stdout.write(`${formatProfileSummary(summarizeProfile(file, Number(values.top)), file)}\n\n`);
}

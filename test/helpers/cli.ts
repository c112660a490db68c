/**
 * Runs the real `crawl` CLI (`node bin/crawl.js ...`, cwd = the project root) in a
 * child process, for end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (where bin/crawl.js lives). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI entry point. */
export const BIN = join(ROOT, 'bin', 'crawl.js');
/** crawlkit's public API, for spider files written by tests outside the project. */
export const CRAWLKIT = join(ROOT, 'src', 'index.ts');

export interface CliResult {
  /** Exit code, or null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the helper had to kill the process because it ran past `timeoutMs`. */
  timedOut: boolean;
}

export interface CliOptions {
  /** Kill the process (SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory; default the project root. */
  cwd?: string;
  /** `'pipe'` to write to the process's stdin (`child.stdin`); by default it gets none. */
  stdin?: 'ignore' | 'pipe';
}

/** A running CLI process. */
export interface CliProcess {
  child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output streams are closed. */
  result: Promise<CliResult>;
}

/** Starts `node bin/crawl.js ...args` and returns at once. */
export function spawnCli(args: string[], options: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 60_000);
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
  });
  return {
    child,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    result,
  };
}

/** Runs `node bin/crawl.js ...args` to the end. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, options).result;
}

/** Lines of an output, without the empty last one. */
export const lines = (text: string): string[] => text.split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);

/** Stack-trace lines ("    at foo (file:1:2)"). */
export const stackLines = (text: string): string[] => lines(text).filter((l) => /^\s+at /.test(l));

/** A fresh temporary folder; remove it with `rm(dir, { recursive: true, force: true })`. */
export function tempDir(prefix = 'crawlkit-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * A temporary "user project": `<dir>/package.json` declaring an ES module
 * package, and `<dir>/spiders/<name>.ts` for each given source. Returns the
 * project folder, its spiders folder and a storage folder inside it.
 */
export async function tempProject(spiders: Record<string, string>, { esm = true } = {}): Promise<{ dir: string; spiders: string; storage: string; cleanup(): Promise<void> }> {
  const dir = await tempDir();
  const spidersDir = join(dir, 'spiders');
  await mkdir(spidersDir);
  if (esm) await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'e2e-project', private: true, type: 'module' }));
  for (const [name, source] of Object.entries(spiders)) await writeFile(join(spidersDir, name.includes('.') ? name : `${name}.ts`), source);
  return { dir, spiders: spidersDir, storage: join(dir, 'storage'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Resolves once `check()` is true (polled), or rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Transpiles crawlkit (src/) and the benchmark (bench/*.ts) to plain
 * JavaScript for the benchmark's child processes, file by file with
 * TypeScript's transpileModule (no bundling, no type checking).
 *
 * Why: run under tsx, every child carries tsx's loader, which Node 20 runs on
 * its own thread with its own V8 heap: ~30 MB of RSS and some start-up CPU
 * that are not crawlkit's, and that Crawlee (plain JS) does not pay. The
 * runner's --tsx flag runs the .ts files through tsx instead, as
 * `npx crawl` does.
 *
 * The output goes under node_modules/.cache/ (git-ignored, and inside the
 * project, so bare imports such as 'cheerio' resolve to the project's
 * node_modules as they do from src/).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type ts from 'typescript';

/** The project root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where the JavaScript goes; it mirrors the project's layout (src/..., bench/...). Named after the
 * checkout, so two git worktrees sharing one node_modules (a symlink) do not build over each other.
 */
export const BUILD_DIR = join(ROOT, 'node_modules', '.cache', `crawlkit-bench-${createHash('sha1').update(ROOT).digest('hex').slice(0, 8)}`);


function tsFiles(dir: string, recursive: boolean): string[] {
  return readdirSync(dir, { recursive, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Transpiles src/**\/*.ts and bench/*.ts into {@link BUILD_DIR}; returns the number of files. */
export async function buildForBench(): Promise<number> {
  // Loaded here, not at the top: bench/profile-summary.ts imports this module for its paths only.
  const { default: typescript } = await import('typescript');
  const compilerOptions: ts.CompilerOptions = {
    target: typescript.ScriptTarget.ES2023,
    module: typescript.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    esModuleInterop: true,
  };
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const files = [...tsFiles(join(ROOT, 'src'), true), ...tsFiles(join(ROOT, 'bench'), false)];
  for (const file of files) {
    const rel = relative(ROOT, file);
    const out = typescript.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: rel, reportDiagnostics: false });
    const target = join(BUILD_DIR, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out.outputText);
  }
  // The compiled crawlkit registers bin/esm-hooks.js (how spiders import the package by name) before it loads a spider.
  mkdirSync(join(BUILD_DIR, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'bin', 'esm-hooks.js'), join(BUILD_DIR, 'bin', 'esm-hooks.js'));
  writeFileSync(join(BUILD_DIR, 'package.json'), '{ "type": "module", "private": true }\n');
  // The module hooks each thread registers before loading a spider (src/loader.ts), plain JavaScript already.
  mkdirSync(join(BUILD_DIR, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'bin', 'esm-hooks.js'), join(BUILD_DIR, 'bin', 'esm-hooks.js'));
  return files.length;
}

/**
 * A fingerprint of crawlkit's sources (SHA-1 over src/**\/*.ts, paths and
 * contents), saved with the results: the code a run measured, without asking git.
 */
export function sourceFingerprint(): { files: number; sha1: string } {
  const files = tsFiles(join(ROOT, 'src'), true)
    .map((f) => relative(ROOT, f))
    .sort();
  const hash = createHash('sha1');
  for (const f of files) hash.update(`${f}\0`).update(readFileSync(join(ROOT, f))).update('\0');
  return { files: files.length, sha1: hash.digest('hex') };
}

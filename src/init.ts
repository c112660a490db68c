import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { PACKAGE } from './package.js';

/** The project's files, copied from templates/ (one folder up from this module in src/ and in dist/). */
const TEMPLATES = new URL('../templates/init/', import.meta.url);
const FILES = ['spiders/example.ts', 'test/example.test.ts', 'tsconfig.json', 'README.md'];
/** npm leaves `.gitignore` files out of a package, so the template is stored without the dot. */
const GITIGNORE = 'gitignore';

/**
 * The scripts `crawl init` adds. `exec` makes the shell npm runs a script in
 * become the command, so the SIGTERM or SIGINT npm passes on reaches the crawl
 * itself, which then stops cleanly (without it, dash keeps the crawl as a child
 * and it never hears the signal; npx passes on neither).
 */
const SCRIPTS: Record<string, string> = {
  crawl: 'exec crawl',
  test: 'exec node --import tsx --test test/*.test.ts',
};
/** What `npm init -y` puts in `test`: replaced, any other test script is kept. */
const NPM_INIT_TEST = 'echo "Error: no test specified" && exit 1';

/** What {@link initProject} did, for the CLI to print. */
export interface InitReport {
  dir: string;
  /** Files written, relative to `dir`. */
  wrote: string[];
  /** Files that were there already and are left as they were (package.json and .gitignore are merged instead). */
  kept: string[];
  /** Changes to an existing package.json worth saying out loud. */
  notes: string[];
}

type PackageJson = Record<string, unknown> & {
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  allowScripts?: Record<string, unknown>;
};

/**
 * `crawl init [DIR]`: makes DIR (default: the current folder) a crawlkit
 * project: package.json (the package as a dependency, TypeScript, tsx and
 * `crawl` and `test` scripts), a strict tsconfig.json, spiders/example.ts and
 * its offline test, .gitignore and README.md. It never overwrites a file: an
 * existing package.json gets what it lacks (as after `npm init -y` and
 * `npm install crawlkit-ts`), an existing .gitignore the missing lines, and
 * any other existing file is kept.
 */
export function initProject(dir: string): InitReport {
  const root = resolve(dir);
  if (existsSync(root) && !statSync(root).isDirectory()) throw new ConfigError(`${dir} exists and is not a folder`);
  mkdirSync(root, { recursive: true });
  const report: InitReport = { dir: root, wrote: [], kept: [], notes: [] };
  writePackageJson(root, report);
  const name = basename(root);
  for (const file of FILES) {
    const target = join(root, file);
    if (existsSync(target)) {
      report.kept.push(file);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    const text = readFileSync(new URL(file, TEMPLATES), 'utf8');
    // The folder's name goes into the README's title only, never into code.
    writeFileSync(target, file === 'README.md' ? text.replaceAll('{{name}}', name) : text);
    report.wrote.push(file);
  }
  mergeGitignore(root, report);
  return report;
}

/** What init did and what to run next, for the terminal. */
export function describeInit(report: InitReport): string {
  const where = relative(process.cwd(), report.dir);
  const lines = [`${PACKAGE.name} project in ${where || '.'}: wrote ${report.wrote.join(', ') || 'nothing'}`];
  if (report.kept.length) lines.push(`kept (already there): ${report.kept.join(', ')}`);
  lines.push(...report.notes, 'next:', ...(where ? [`  cd ${where}`] : []), '  npm install', '  npx crawl example', '  npm test');
  return `${lines.join('\n')}\n`;
}

function writePackageJson(root: string, report: InitReport): void {
  const file = join(root, 'package.json');
  const existed = existsSync(file);
  let pkg: PackageJson = { name: packageName(basename(root)), version: '0.1.0', private: true };
  const before = existed ? readFileSync(file, 'utf8') : '';
  if (existed) {
    try {
      pkg = JSON.parse(before) as PackageJson;
    } catch (err) {
      throw new ConfigError(`package.json is not valid JSON (${(err as Error).message}); fix it or run crawl init in a new folder`);
    }
    if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) throw new ConfigError('package.json is not a JSON object');
  }
  // The spiders and the test are ES modules; under "commonjs" tsc would read their imports as require() calls.
  if (pkg.type !== 'module') {
    if (pkg.type !== undefined) report.notes.push(`package.json: "type" was ${JSON.stringify(pkg.type)}, now "module" (the spiders and the test are ES modules)`);
    pkg.type = 'module';
  }
  const scripts = (pkg.scripts ??= {});
  for (const [key, command] of Object.entries(SCRIPTS)) {
    if (scripts[key] === undefined || (key === 'test' && scripts[key] === NPM_INIT_TEST)) scripts[key] = command;
    else if (scripts[key] !== command) report.notes.push(`package.json: kept your "${key}" script; crawl init's is \`${command}\``);
  }
  addMissing((pkg.dependencies ??= {}), { [PACKAGE.name]: `^${PACKAGE.version}` });
  addMissing((pkg.devDependencies ??= {}), {
    '@types/node': PACKAGE.devDependencies?.['@types/node'],
    tsx: PACKAGE.dependencies.tsx,
    typescript: PACKAGE.devDependencies?.typescript,
  });
  // better-sqlite3 builds (or downloads) its native addon in an install script, which npm runs only when allowed.
  addMissing((pkg.allowScripts ??= {}), PACKAGE.allowScripts ?? {});
  if (existed && JSON.stringify(JSON.parse(before)) === JSON.stringify(pkg)) {
    report.kept.push('package.json');
    return;
  }
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  report.wrote.push(existed ? 'package.json (updated)' : 'package.json');
}

function addMissing(into: Record<string, unknown>, entries: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(entries)) if (value !== undefined && into[key] === undefined) into[key] = value;
}

function mergeGitignore(root: string, report: InitReport): void {
  const file = join(root, '.gitignore');
  const wanted = readFileSync(new URL(GITIGNORE, TEMPLATES), 'utf8').split('\n').filter(Boolean);
  if (!existsSync(file)) {
    writeFileSync(file, `${wanted.join('\n')}\n`);
    report.wrote.push('.gitignore');
    return;
  }
  const text = readFileSync(file, 'utf8');
  const have = new Set(text.split(/\r?\n/).map((l) => l.trim()));
  const missing = wanted.filter((l) => !have.has(l));
  if (!missing.length) {
    report.kept.push('.gitignore');
    return;
  }
  appendFileSync(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n`);
  report.wrote.push('.gitignore (updated)');
}

/** A folder name as an npm package name: lower case, URL-safe characters, no leading dot or underscore. */
function packageName(folder: string): string {
  const name = folder.toLowerCase().replace(/[^a-z0-9._~-]+/g, '-').replace(/^[._-]+/, '');
  return name.slice(0, 214) || 'crawler';
}

import { existsSync, readdirSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CrawlkitError, SpiderLoadError } from './errors.js';
import { spiderName } from './spider-name.js';
import { SPIDER_BRAND, type Spider } from './spider.js';
import { didYouMean } from './suggest.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

/** Names of the spiders in a folder: one per file, named by the file. */
export function listSpiders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => EXTENSIONS.some((e) => f.endsWith(e)) && !f.endsWith('.d.ts') && !f.startsWith('_') && !f.includes('.test.'))
    .map((f) => f.replace(/\.[^.]+$/, ''))
    .sort();
}

type SpiderClass = new (args: Record<string, string>) => Spider;

/** A class that extends Spider (statics are inherited: the brand is on every subclass). */
const isSpiderClass = (v: unknown): v is SpiderClass => typeof v === 'function' && (v as unknown as Record<symbol, unknown>)[SPIDER_BRAND] === true;

/** A class that looks like a spider (it has a `parse` method) but does not extend Spider. */
const isLookalike = (v: unknown): v is { name: string } =>
  typeof v === 'function' && typeof (v.prototype as { parse?: unknown } | undefined)?.parse === 'function';

/**
 * An error as one line. A compiler error ("Transform failed with 1 error:")
 * keeps the line that says where and what.
 */
const firstLine = (err: unknown) => {
  const lines = String((err as Error)?.message ?? err).split('\n').map((l) => l.trim()).filter(Boolean);
  const where = lines.find((l) => /ERROR:/.test(l));
  return (where ?? lines[0] ?? 'unknown error').replace(/^.*?(\S+:\d+:\d+: ERROR: )/, '$1');
};

let hooked: Promise<void> | undefined;

/**
 * Spiders are TypeScript, compiled by tsx as they are imported, and may import
 * the package by name (bin/esm-hooks.js). Run from its sources, crawlkit is
 * itself loaded through tsx and those hooks (bin/crawl.js, parser/worker-boot.js),
 * or through vitest. The compiled package registers them in each thread before
 * its first spider: a command that loads none (`crawl export`) does without.
 */
function registerSpiderHooks(): Promise<void> {
  hooked ??= (async () => {
    if (import.meta.url.endsWith('.ts')) return;
    const { register } = await import('tsx/esm/api');
    register();
    registerHooks('../bin/esm-hooks.js', import.meta.url);
  })();
  return hooked;
}

/**
 * Loads `dir/<name>.ts` (tsx compiles it on the fly) and instantiates its
 * spider class (the default export, else the first exported class with a
 * `parse` method) with the spider arguments. Returns the module's URL too,
 * for parser workers to load.
 */
export async function loadSpider(dir: string, name: string, args: Record<string, string>): Promise<{ spider: Spider; moduleUrl: string }> {
  const file = EXTENSIONS.map((e) => resolve(dir, spiderName(name) + e)).find((f) => existsSync(f));
  const shown = (f: string) => relative(process.cwd(), f) || f;
  if (!file) {
    const known = listSpiders(dir);
    const meant = didYouMean(name, known).map((k) => `'${k}'`);
    throw new SpiderLoadError(
      `unknown spider '${name}' (${known.length ? `known: ${known.join(', ')}` : `no spiders in ${shown(resolve(dir))}`})${meant.length ? `; did you mean ${meant.join(' or ')}?` : ''}`,
    );
  }
  const moduleUrl = pathToFileURL(file).href;
  let mod: Record<string, unknown>;
  await registerSpiderHooks();
  try {
    mod = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (err) {
    throw new SpiderLoadError(`cannot load spider '${name}' from ${shown(file)}: ${firstLine(err)}`, { cause: err });
  }
  const spider = instantiate(mod, args, shown(file));
  if (!spider.name) spider.name = name;
  else if (spider.name !== name)
    throw new SpiderLoadError(`${shown(file)} declares name '${spider.name}'; the name must match the file name ('${name}')`);
  return { spider, moduleUrl };
}

function instantiate(mod: Record<string, unknown>, args: Record<string, string>, where: string): Spider {
  const exported = [mod.default, ...Object.values(mod)];
  const Cls = exported.find(isSpiderClass);
  if (!Cls) {
    const lookalike = exported.find(isLookalike);
    if (lookalike)
      throw new SpiderLoadError(`${where}: class ${lookalike.name || '(anonymous)'} does not extend Spider (import { Spider } from 'crawlkit' and write \`class ${lookalike.name || 'MySpider'} extends Spider\`)`);
    throw new SpiderLoadError(`${where} exports no spider class (export default class extends Spider { ... })`);
  }
  try {
    return new Cls(args);
  } catch (err) {
    if (err instanceof CrawlkitError) throw err;
    throw new SpiderLoadError(`spider in ${where} failed to start: ${firstLine(err)}`, { cause: err });
  }
}

/** The spider a module exports, built with `args`: how a parser worker gets its own instance. */
export async function spiderFromModule(moduleUrl: string, args: Record<string, string>): Promise<Spider> {
  await registerSpiderHooks();
  return instantiate((await import(moduleUrl)) as Record<string, unknown>, args, moduleUrl);
}

/** The spiders folder: `spiders/` under the current directory. */
export const defaultSpidersDir = () => join(process.cwd(), 'spiders');

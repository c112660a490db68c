// Module hooks for loading spiders, registered in each thread that loads one.
import { existsSync, readFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
/** A checkout of the repository runs its sources (the package ships dist/ only); see bin/crawl.js. */
export const FROM_SOURCE = existsSync(new URL('src/index.ts', root));
const NAME = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).name;
const ENTRY = new URL(FROM_SOURCE ? 'src/index.ts' : 'dist/index.js', root).href;

export async function resolve(specifier, context, nextResolve) {
  // A spider that imports the package by name gets the copy that runs it, wherever the spider file is
  // (`--spiders ../elsewhere` has no node_modules to find it in) and whatever else is installed there:
  // one copy, so the Request a spider yields is the class the crawler recognises (instanceof, src/parser/parse.ts).
  const result = await nextResolve(specifier === NAME ? ENTRY : specifier, context);
  // TypeScript files outside node_modules load as ES modules. Spiders are written with `import`, but a
  // project whose package.json lacks "type": "module" (what `npm init` makes) would have tsx load them as
  // CommonJS, and Node 20 then fails with ERR_REQUIRE_CYCLE_MODULE.
  if (/\.(c|m)?ts$/.test(result.url) && !result.url.endsWith('.cts') && result.url.startsWith('file:') && !result.url.includes('/node_modules/'))
    return { ...result, format: 'module' };
  return result;
}

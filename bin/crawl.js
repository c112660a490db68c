#!/usr/bin/env node
// The `crawl` command. Installed from npm, it runs the compiled JavaScript in
// dist/. In a checkout of the repository (src/ is there; the package ships
// only dist/) it runs the TypeScript sources through tsx, so development needs
// no build step and can never run a stale dist/. Either way the user's
// TypeScript spiders load through tsx (registered by src/loader.ts).
import { existsSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { FROM_SOURCE } from './esm-hooks.js';

let entry = '../dist/cli/index.js';
if (FROM_SOURCE) {
  const { register } = await import('tsx/esm/api');
  register();
  registerHooks('./esm-hooks.js', import.meta.url);
  entry = '../src/cli/index.ts';
} else if (!existsSync(new URL(entry, import.meta.url))) {
  process.stderr.write('crawl: error: this copy of the package has no dist/: run `npm run build` in it, or install it from npm\n');
  process.exit(2);
}
const { main } = await import(entry);
await main(process.argv);

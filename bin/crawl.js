#!/usr/bin/env node
// The `crawl` command. tsx is registered first so that spiders/*.ts (and
// crawlkit's own TypeScript sources) load without a build step.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

// undici flags its decompress interceptor experimental; the warning would
// greet every crawl, and the interceptor is pinned with undici's version.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('DecompressInterceptor is experimental')) return;
  emitWarning(warning, ...rest);
};
register();
registerHooks('./esm-hooks.js', import.meta.url);
const { main } = await import('../src/cli.ts');
await main(process.argv);

#!/usr/bin/env node
// The `crawl` command. tsx is registered first so that spiders/*.ts (and
// crawlkit's own TypeScript sources) load without a build step.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
registerHooks('./esm-hooks.js', import.meta.url);
const { main } = await import('../src/cli/index.ts');
await main(process.argv);

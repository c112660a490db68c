// Entry of a parser worker thread. Module hooks do not carry over to worker
// threads on Node 20, so tsx is registered here before the TypeScript loads.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
registerHooks('../../bin/esm-hooks.js', import.meta.url);
await import('./worker.ts');

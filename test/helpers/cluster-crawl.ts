/**
 * One cluster worker as a user's program would run it: `crawl()` with
 * `frontier: REDIS`, in its own process (run with `node --import tsx`), for
 * test/cluster-redis.test.ts. Its JSON config is argv[2]. It prints JSON
 * lines: `{"summary":...}` when the crawl has ended, then, when the event
 * loop has nothing left to do, `{"timers":[...]}`: the creation stacks of
 * the intervals started during the crawl that were never stopped (an unref'd
 * interval does not keep a process alive, but fires for ever in a program
 * that goes on). It never calls process.exit: a handle left open keeps it
 * alive, and the test sees that.
 */
import { createHook } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import { crawl, type SettingsOverride, type Spider } from '../../src/index.js';

interface Config {
  redis: string;
  /** The spider's file (test/helpers/site.ts's `siteSpiderSource`, in a project of the test's). */
  file: string;
  /** Its `baseUrl` argument: the site. */
  url: string;
  fresh?: boolean;
  settings?: SettingsOverride;
}

const config = JSON.parse(process.argv[2]!) as Config;
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

Error.stackTraceLimit = 30;
/** Intervals alive, by async id: their creation stacks. */
const timers = new Map<number, string>();
let tracking = false;
createHook({
  init(id, type) {
    if (!tracking || type !== 'Timeout') return;
    // Intervals only: a timeout fires once and is gone (undici's AbortSignal.timeout ones outlive a crawl by design).
    const stack = new Error().stack!.split('\n').slice(2, 14);
    if (stack.some((l) => /\bat setInterval\b/.test(l))) timers.set(id, stack.join('\n'));
  },
  destroy(id) {
    timers.delete(id);
  },
}).enable();

tracking = true;
const { default: SiteSpider } = (await import(pathToFileURL(config.file).href)) as { default: new (args: Record<string, string>) => Spider };
const summary = await crawl(new SiteSpider({ baseUrl: config.url }), { frontier: config.redis, fresh: config.fresh, settings: { logLevel: 'silent', ...config.settings } }).run();
tracking = false;
say({ summary: { status: summary.status, items: summary.stats.items, pages: summary.stats.pages } });
process.once('beforeExit', () => say({ timers: [...timers.values()] }));

import { defaultSpidersDir, loadSpider } from '../loader.js';
import { chainListing } from '../middleware/listing.js';
import { spiderSettings } from '../settings.js';
import { spiderInputs } from './inputs.js';

/** The options of `crawl middlewares`. */
export interface MiddlewaresOptions {
  arg: string[];
  set: string[];
  spiders?: string;
  cache?: boolean;
  replay?: boolean;
}

/** `crawl middlewares NAME`: prints the middleware chain a crawl of the spider would run, in order. */
export async function middlewaresCommand(name: string, opts: MiddlewaresOptions): Promise<number> {
  const { args, overrides } = spiderInputs(opts);
  const { spider } = await loadSpider(opts.spiders ?? defaultSpidersDir(), name, args);
  const settings = spiderSettings(spider, overrides);
  const mode = opts.replay ? 'replay' : opts.cache ? 'cache' : 'crawl';
  process.stdout.write(`${chainListing(spider.name, spider.middlewares, settings, mode).join('\n')}\n`);
  return 0;
}

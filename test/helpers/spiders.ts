/**
 * Small spiders shared by tests: one in-process class, and the source of one
 * for a spider file that the real CLI loads.
 */
import { Spider, type CallbackResult, type Response } from '../../src/index.js';
import { CRAWLKIT } from './cli.js';

/** Starts at `${base}/`, stores each page's path, follows every `a` link. */
export class FollowSpider extends Spider {
  constructor(name: string, base: string) {
    super();
    this.name = name;
    this.startUrls = [`${base}/`];
  }
  override async *parse(res: Response): AsyncIterable<CallbackResult> {
    yield { path: new URL(res.url).pathname };
    yield* res.followAll('a');
  }
}

/**
 * A spider file for the CLI: starts at `-a start=URL`, stores each page's
 * path and status, follows every `a[href]`; callbacks in the main thread, one
 * attempt per request, robots.txt not read.
 */
export const followSpiderSource = (name: string): string => `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Follow extends Spider {
  override name = ${JSON.stringify(name)};
  override startUrls = [this.arg('start')];
  override settings = { workers: 0, retry: { maxAttempts: 1 }, obeyRobots: false };
  override async *parse(res: Response) {
    yield { path: new URL(res.url).pathname, status: res.status };
    yield* res.followAll('a[href]');
  }
}
`;

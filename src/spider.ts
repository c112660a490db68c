import { ConfigError } from './errors.js';
import { Request, type CallbackResult } from './request.js';
import type { Response } from './response.js';
import type { ItemPipeline, ItemSchema } from './pipelines.js';
import type { SettingsOverride } from './settings.js';

/**
 * The class a user extends to write a spider. Set `name` and `startUrls` (or
 * write `async *start()`), and write `async *parse(response)`: yield plain
 * objects to store them as items and {@link Request}s (`response.follow(href,
 * this.parseItem)`) to crawl further.
 *
 * @example
 * ```ts
 * export default class Quotes extends Spider {
 *   override name = 'quotes';
 *   override startUrls = [this.arg('baseUrl', 'https://quotes.toscrape.com/')];
 *   override async *parse(res: Response) {
 *     for (const q of res.$('div.quote').toArray())
 *       yield { text: res.$(q).find('span.text').text() };
 *     yield res.follow(res.$('li.next a').attr('href'));
 *   }
 * }
 * ```
 */
export class Spider {
  /** Name of the spider; its database is `storage/<name>.sqlite`. */
  name = '';
  /** URLs the crawl starts from, when `start()` is not overridden. */
  startUrls: string[] = [];
  /** Settings this spider overrides; `-s key=value` on the command line overrides these. */
  settings: SettingsOverride = {};
  /**
   * What an item must look like: a zod object (`z.object({...})`) or any
   * Standard Schema. An item that fails is kept in the `invalid_items` table
   * with the field and the reason, counted, and never exported; a zod object's
   * fields give the CSV columns, in order.
   */
  itemSchema?: ItemSchema;
  /** Functions each item goes through, in order, before the schema: clean, enrich, or drop (return undefined). */
  pipelines: ItemPipeline[] = [];
  /** Spider arguments, from `-a key=value` or the constructor. */
  readonly args: Readonly<Record<string, string>>;

  constructor(args: Record<string, string> = {}) {
    this.args = Object.freeze({ ...args });
  }

  /**
   * A spider argument. Without a default, a missing argument is an error that
   * names it, so the user learns about `-a key=value` at once.
   */
  arg(key: string, defaultValue?: string): string {
    const value = this.args[key] ?? defaultValue;
    if (value === undefined) throw new ConfigError(`spider argument '${key}' is required: pass -a ${key}=...`);
    return value;
  }

  /** The first requests. Override to generate them, e.g. from an API or a file; yield URLs or Requests. */
  async *start(): AsyncIterable<Request | string> {
    for (const url of this.startUrls) yield new Request(url);
  }

  /** The default callback. */
  // eslint-disable-next-line require-yield
  async *parse(response: Response): AsyncIterable<CallbackResult> {
    throw new Error(`spider '${this.name}' does not define parse(), the callback for ${response.url}`);
  }
}

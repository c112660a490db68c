import { UnstorableValueError } from './errors.js';
import { describeValue, isPlainObject, toJson } from './json-value.js';
import { openPipelines, pipelineName } from './pipeline-lifecycle.js';
import type { Response } from './response.js';
import type { Spider } from './spider.js';

/** What a pipeline sees besides the item: the spider and the page the item came from. */
export interface PipelineContext {
  spider: Spider;
  response: Response;
}

/** What a pipeline hands on: the item (the same object or a new one) to keep it, `undefined` or `null` to drop it. */
export type PipelineResult = Record<string, unknown> | null | undefined | void;

/**
 * An item pipeline as a function: cleans, enriches or drops an item.
 * A pipeline that throws fails the page's request, like a callback that throws.
 */
export type PipelineFunction = (item: Record<string, unknown>, context: PipelineContext) => PipelineResult | Promise<PipelineResult>;

/** What a pipeline's `open()` and `close()` see. */
export interface PipelineLifecycleContext {
  spider: Spider;
}

/**
 * An item pipeline with a lifecycle, to hold something open across items (a
 * connection to your own database, a file). In each thread that runs
 * callbacks (each worker, with its own spider instance, and `crawl parse`),
 * `open()` is called once before the first page, `close()` once when the
 * crawl ends, Ctrl-C included, in the reverse order of the pipelines. An
 * `open()` that throws stops the crawl in one line naming the pipeline; a
 * `close()` that throws is logged as a warning.
 *
 * @example
 * ```ts
 * class Postgres implements PipelineObject {
 *   #db?: pg.Client;
 *   async open() { this.#db = new pg.Client(); await this.#db.connect(); }
 *   async process(item: Record<string, unknown>) { await this.#db!.query('insert into books values ($1)', [item]); return item; }
 *   async close() { await this.#db?.end(); }
 * }
 * ```
 */
export interface PipelineObject {
  /** Named in errors and warnings; the class name when not set. */
  readonly name?: string;
  open?(context: PipelineLifecycleContext): void | Promise<void>;
  /** Like a {@link PipelineFunction}: the item to keep, `undefined` or `null` to drop it. */
  process(item: Record<string, unknown>, context: PipelineContext): PipelineResult | Promise<PipelineResult>;
  close?(context: PipelineLifecycleContext): void | Promise<void>;
}

/** An item pipeline: a function, or an object with `process()` and optional `open()` and `close()`. */
export type ItemPipeline = PipelineFunction | PipelineObject;

/**
 * A schema an item must satisfy: anything implementing Standard Schema v1
 * (https://standardschema.dev), such as a zod 4 `z.object({...})`. Only the
 * part of the interface crawlkit calls is declared, as the spec recommends.
 */
export interface ItemSchema {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => SchemaResult | Promise<SchemaResult>;
  };
}

type PathSegment = PropertyKey | { readonly key: PropertyKey };
type SchemaResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | { readonly issues: readonly { readonly message: string; readonly path?: readonly PathSegment[] | undefined }[] };

/** Why an item was rejected: where (`price`, `tags.2`; empty for the item itself) and what. */
export interface ItemIssue {
  path: string;
  message: string;
}

/** One item, after the pipelines and the schema. */
export type ProcessedItem =
  | { kind: 'valid'; json: string }
  | { kind: 'dropped' }
  | { kind: 'invalid'; json: string; issues: ItemIssue[] };

const pathOf = (path: readonly PathSegment[] | undefined): string =>
  (path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');

/**
 * Runs an item through the spider's pipelines in order, then its schema.
 * The schema's output is what is stored (a zod schema drops unknown fields and
 * applies its transforms). Items are serialised here, once, by the strict
 * serialiser (json-value.ts), so an item that cannot be JSON fails its own
 * request with the field named. An item the schema rejects is kept to look
 * at even if it holds such values: they are stored as marker strings.
 * @throws {@link UnstorableValueError} for an item that is not a plain object or cannot be stored.
 */
export async function processItem(spider: Spider, item: Record<string, unknown>, response: Response): Promise<ProcessedItem> {
  if (!isPlainObject(item)) throw new UnstorableValueError('item', `${describeValue(item)} is not an item; yield a plain object`);
  if (spider.pipelines.length > 0) await openPipelines(spider); // opened already, unless parsePage was called on its own
  let current: PipelineResult = item;
  for (const [i, pipeline] of spider.pipelines.entries()) {
    const context = { spider, response };
    current = typeof pipeline === 'function' ? await pipeline(current, context) : await pipeline.process(current, context);
    if (current == null) return { kind: 'dropped' };
    if (!isPlainObject(current))
      throw new TypeError(`pipeline ${pipelineName(pipeline, i)} returned ${describeValue(current)}; return the item as a plain object, or undefined to drop it`);
  }
  const schema = spider.itemSchema;
  if (!schema) return { kind: 'valid', json: itemJson(current) };
  const result = await schema['~standard'].validate(current);
  if (result.issues)
    return {
      kind: 'invalid',
      json: toJson(current, 'item', { toJSON: true, lenient: true }),
      issues: result.issues.map((i) => ({ path: pathOf(i.path), message: String(i.message) })),
    };
  if (!isPlainObject(result.value)) throw new UnstorableValueError('item', `the itemSchema made ${describeValue(result.value)} of it; an item must be a plain object`);
  return { kind: 'valid', json: itemJson(result.value) };
}

/** An item as JSON: `toJSON()` is honoured (a Date field becomes its ISO string), and the result must still be an object. */
function itemJson(item: Record<string, unknown>): string {
  const json = toJson(item, 'item', { toJSON: true });
  if (json[0] !== '{') throw new UnstorableValueError('item', 'toJSON() did not return an object; an item must be a plain object');
  return json;
}

/**
 * The fields a schema declares, in order, for CSV columns: the keys of a zod
 * object's `shape`. Other schema libraries expose no keys; their CSV columns
 * come from the items, as without a schema.
 */
export function schemaColumns(schema: ItemSchema | undefined): string[] | null {
  const shape = (schema as { shape?: unknown } | undefined)?.shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : null;
}

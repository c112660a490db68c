import { PipelineError } from './errors.js';
import { describeValue, errorText } from './json-value.js';
import type { ItemPipeline, PipelineObject } from './pipelines.js';
import type { Spider } from './spider.js';

/**
 * The pipelines of each spider instance, opened: one instance per thread that
 * runs callbacks, so this is "once per thread". Kept off the spider, so a
 * spider crawled again after a close is opened again.
 */
const opened = new WeakMap<Spider, Promise<void>>();

/** The object pipelines of a spider, checked: anything else in `pipelines` is an error naming its place. */
function objects(spider: Spider): [PipelineObject, string][] {
  const list: unknown = spider.pipelines;
  if (!Array.isArray(list)) throw new PipelineError(`spider '${spider.name}': pipelines is ${describeValue(list)}, not a list of pipelines`);
  return (list as ItemPipeline[]).flatMap((p, i): [PipelineObject, string][] => {
    if (typeof p === 'function') return [];
    if (p === null || typeof p !== 'object' || typeof p.process !== 'function')
      throw new PipelineError(`spider '${spider.name}': pipelines[${i}] is ${describeValue(p)}, not a pipeline (a function, or an object with process())`);
    return [[p, pipelineName(p, i)]];
  });
}

/** A pipeline's name for messages: its `name`, its class's, or its place in `pipelines`. */
export function pipelineName(pipeline: ItemPipeline, index: number): string {
  if (typeof pipeline === 'function') return pipeline.name || String(index);
  if (typeof pipeline?.name === 'string' && pipeline.name) return pipeline.name;
  const cls = (pipeline as object | null)?.constructor;
  return cls && cls !== Object && cls.name ? cls.name : String(index);
}

/**
 * Calls `open()` of the spider's pipelines, in order, once per spider
 * instance (later calls return the same promise). When one throws, those
 * opened before it are closed again.
 * @throws {@link PipelineError} naming the pipeline, or a `pipelines` entry that is no pipeline.
 */
export function openPipelines(spider: Spider): Promise<void> {
  let done = opened.get(spider);
  if (!done) {
    done = openAll(spider);
    done.catch(() => {});
    opened.set(spider, done);
  }
  return done;
}

async function openAll(spider: Spider): Promise<void> {
  const list = objects(spider);
  for (const [i, [pipeline, name]] of list.entries()) {
    try {
      await pipeline.open?.({ spider });
    } catch (err) {
      await closeEach(spider, list.slice(0, i), 0);
      throw new PipelineError(`pipeline ${name} failed to open: ${errorText(err)}`, { cause: err });
    }
  }
}

/**
 * Calls `close()` of the pipelines `openPipelines` opened, in reverse order,
 * each bounded by `timeoutMs` (0: unbounded). Returns a line for each that
 * threw or took too long, to log: a close that fails loses nothing crawlkit stored.
 */
export async function closePipelines(spider: Spider, timeoutMs: number): Promise<string[]> {
  const done = opened.get(spider);
  if (!done) return [];
  opened.delete(spider);
  try {
    await done;
  } catch {
    return []; // none is open: a failed open closed those before it
  }
  return closeEach(spider, objects(spider), timeoutMs);
}

async function closeEach(spider: Spider, list: [PipelineObject, string][], timeoutMs: number): Promise<string[]> {
  const problems: string[] = [];
  for (const [pipeline, name] of list.toReversed()) {
    if (typeof pipeline.close !== 'function') continue;
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<never>((_, reject) => {
        if (timeoutMs > 0) timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs} ms`)), timeoutMs);
      });
      await Promise.race([pipeline.close({ spider }), late]);
    } catch (err) {
      problems.push(`pipeline ${name} failed to close: ${errorText(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
  return problems;
}

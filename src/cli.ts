import { relative } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, CrawlkitError } from './errors.js';
import { crawl, type CrawlSummary } from './crawl.js';
import { exportRun, formatOf, formats, type Format } from './export/exporter.js';
import { CACHE_MISS } from './fetch/cache.js';
import { defaultSpidersDir, listSpiders, loadSpider } from './loader.js';
import { createJsonFileLogger, createLogger, teeLogger, type Logger } from './log.js';
import { showStatus, type StatusDisplay } from './status.js';
import { parseSettingValue, resolveSettings, spiderSettings } from './settings.js';
import { parseSingle } from './parser/single.js';
import { runsTable, summarizeRun } from './runs-table.js';
import { scaffoldSpider } from './scaffold.js';
import { startShell } from './shell.js';
import { summaryLines } from './stats.js';
import { databasePath, openForCrawl, openForRead, type Db } from './storage/database.js';
import { connectRedis, listClusterRuns, redisLabel } from './storage/cluster.js';
import { collectItems, exportClusterRun } from './storage/cluster-items.js';
import type { Redis } from 'ioredis';
import { listRuns } from './storage/runs.js';
import { openSink } from './export/sink.js';
import { schemaColumns } from './pipelines.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** Splits `key=value`, naming the option when it is malformed. */
function pairs(list: string[], option: string): [string, string][] {
  return list.map((text) => {
    const i = text.indexOf('=');
    if (i <= 0) throw new ConfigError(`bad ${option} ${JSON.stringify(text)}: expected key=value`);
    return [text.slice(0, i).trim(), text.slice(i + 1)];
  });
}

/** The `-a` arguments and `-s` overrides a command was given, checked. */
function spiderInputs(opts: { arg: string[]; set: string[] }): { args: Record<string, string>; overrides: Record<string, unknown> } {
  const overrides: Record<string, unknown> = {};
  for (const [key, text] of pairs(opts.set, '-s')) overrides[key] = parseSettingValue(key, text);
  return { args: Object.fromEntries(pairs(opts.arg, '-a')), overrides };
}

interface RunOptions {
  arg: string[];
  set: string[];
  output?: string;
  fresh?: boolean;
  storage?: string;
  spiders?: string;
  logLevel?: string;
  logFile?: string;
  debug?: boolean;
  cache?: boolean;
  replay?: boolean;
  frontier?: string;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

async function runCommand(name: string, opts: RunOptions): Promise<number> {
  const { args, overrides } = spiderInputs(opts);
  if (opts.storage) overrides.storageDir = opts.storage;
  if (opts.logLevel) overrides.logLevel = opts.logLevel;
  if (opts.debug) overrides.logLevel = 'debug';
  const outputFormat = opts.output ? formatOf(opts.output) : undefined;
  const { spider, moduleUrl } = await loadSpider(opts.spiders ?? defaultSpidersDir(), name, args);
  const settings = spiderSettings(spider, overrides); // validates before anything is opened

  const tty = process.stderr.isTTY === true;
  let status: StatusDisplay | undefined;
  // On a terminal the live line is wiped before each log line, so the two never share a row; in the file, it is a logged entry.
  const stderrLog = createLogger(settings.logLevel, undefined, () => status?.clear());
  const file = opts.logFile ? createJsonFileLogger(opts.logFile, settings.logLevel) : undefined;
  const logger = file ? teeLogger(stderrLog, file) : stderrLog;
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      status?.stop();
      process.stderr.write(`${signal} again: exiting now; committed work is kept, run \`crawl ${name}\` to resume\n`);
      process.exit(130);
    }
    logger.warn(`${signal}: stopping; finishing requests in flight (press Ctrl-C again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const run = crawl(spider, {
    settings: overrides,
    fresh: opts.fresh,
    signal: controller.signal,
    logger,
    spiderModule: moduleUrl,
    cache: opts.cache,
    replay: opts.replay,
    frontier: opts.frontier,
  });
  // The terminal's live line replaces the periodic plain lines there; the log file gets them either way.
  status = showStatus(run, { tty, intervalMs: settings.statusIntervalMs, logger: tty ? (file ?? silent) : logger });
  // -o: items go to the file as they are stored; a second Ctrl-C exits at once, and the exit handler still ends the file validly.
  const sink = opts.output && outputFormat ? openSink(opts.output, outputFormat, schemaColumns(spider.itemSchema)) : null;
  const closeSink = () => sink?.close();
  process.on('exit', closeSink);
  let summary: CrawlSummary;
  try {
    if (sink) {
      for await (const batch of run.batches()) sink.write(batch);
      summary = run.summary!;
    } else summary = await run.run();
  } finally {
    status.stop();
    closeSink();
    process.off('exit', closeSink);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (settings.logLevel !== 'silent') {
    process.stderr.write(`${summary.status === 'finished' ? 'Finished' : 'Interrupted'} ${summary.mode === 'replay' ? 'replay ' : ''}run ${summary.runId} of '${name}':\n`);
    for (const line of summaryLines(summary.stats)) process.stderr.write(`  ${line}\n`);
    const misses = summary.stats.failures[CACHE_MISS] ?? 0;
    if (misses > 0)
      process.stderr.write(
        `${misses} requests were not in the cache, so not fetched (${summary.cacheMisses.join(', ')}${misses > summary.cacheMisses.length ? ', ...' : ''}); run \`crawl ${name} --cache\` to cache them\n`,
      );
  }
  file?.info(`${summary.status} run ${summary.runId}`, { summary: { ...summary, stats: { ...summary.stats, inFlight: undefined } } });
  file?.close();
  if (sink && outputFormat) {
    // The file holds this process's items; a resumed run's earlier ones, or CSV fields the first item lacked, need a full export.
    // A cluster's worker has only its own items at hand: the file holds those.
    if (!opts.frontier && (summary.resumed || sink.columnsGrew) && summary.stats.items > 0) {
      const db = openForCrawl(settings.storageDir, spider.name);
      try {
        const n = await exportRun(db, { format: outputFormat, out: opts.output!, runId: summary.runId });
        logger.info(`wrote ${n} items to ${opts.output} (the whole run)`);
      } finally {
        db.close();
      }
    } else logger.info(`wrote ${sink.count} items to ${opts.output}`);
  }
  if (summary.status === 'interrupted') {
    process.stderr.write(`Stopped before the end; run \`crawl ${name}\` again to resume (or add --fresh to start over).\n`);
    return 130;
  }
  return 0;
}

async function exportCommand(name: string, opts: { format?: string; output?: string; storage?: string; run?: string; csvSafe: boolean; frontier?: string }): Promise<number> {
  const format = (opts.format ?? (opts.output ? formatOf(opts.output) : 'jsonl')) as Format;
  if (!(formats as readonly string[]).includes(format)) throw new ConfigError(`unknown format '${format}' (expected ${formats.join(', ')})`);
  const runId = opts.run === undefined ? undefined : Number(opts.run);
  if (runId !== undefined && !Number.isInteger(runId)) throw new ConfigError(`bad --run ${JSON.stringify(opts.run)}: expected a run number`);
  const options = { format, out: opts.output ?? process.stdout, runId, csvSafe: opts.csvSafe };
  const n = opts.frontier
    ? await withRedis(opts.frontier, (redis) => exportClusterRun(redis, name, options))
    : await withDb(openForRead(opts.storage ?? resolveSettings().storageDir, name), (db) => exportRun(db, options));
  if (opts.output) process.stderr.write(`wrote ${n} items to ${opts.output}\n`);
  return 0;
}

/** Runs `fn` with a database, closing it after. */
async function withDb<T>(db: Db, fn: (db: Db) => T | Promise<T>): Promise<T> {
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** Runs `fn` with a connection to the Redis at `url`, closing it after. */
async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis(url);
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

async function collectCommand(name: string, opts: { storage?: string; frontier: string }): Promise<number> {
  const db = openForCrawl(opts.storage ?? resolveSettings().storageDir, name);
  const copied = await withDb(db, (db) => withRedis(opts.frontier, (redis) => collectItems(redis, db, name, opts.frontier)));
  if (copied.size === 0) process.stderr.write(`no items of '${name}' waiting in ${redisLabel(opts.frontier)}\n`);
  for (const [run, n] of copied) process.stderr.write(`collected ${n} items of run ${run} from ${redisLabel(opts.frontier)} into ${databasePath(opts.storage ?? 'storage', name)}\n`);
  return 0;
}

interface ParseOptions {
  arg: string[];
  set: string[];
  callback?: string;
  spiders?: string;
  json?: boolean;
  robots: boolean;
}

async function parseCommand(name: string, url: string, opts: ParseOptions): Promise<number> {
  const { args, overrides } = spiderInputs(opts);
  if (!opts.robots) overrides.obeyRobots = false;
  const { spider } = await loadSpider(opts.spiders ?? defaultSpidersDir(), name, args);
  const result = await parseSingle(spider, spiderSettings(spider, overrides), url, opts.callback);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const rejected = result.invalid.length || result.dropped ? ` (and ${result.invalid.length} invalid, ${result.dropped} dropped by pipelines)` : '';
  process.stderr.write(`${result.status} ${result.url}: ${result.items.length} items${rejected}, ${result.requests.length} requests\n`);
  for (const item of result.items) process.stdout.write(`${JSON.stringify(item)}\n`);
  for (const bad of result.invalid)
    process.stderr.write(`  invalid: ${JSON.stringify(bad.item)}: ${bad.issues.map((i) => `${i.path || '(item)'}: ${i.message}`).join('; ')}\n`);
  for (const r of result.requests) process.stderr.write(`  -> ${r.url} (${r.callback}${r.skipped ? `, skipped: ${r.skipped}` : ''})\n`);
  return 0;
}

async function shellCommand(url: string, opts: { set: string[] }): Promise<number> {
  const { overrides } = spiderInputs({ arg: [], set: opts.set });
  await startShell(resolveSettings(overrides), url);
  return 0;
}

async function runsCommand(name: string, opts: { storage?: string; json?: boolean; frontier?: string }): Promise<number> {
  const runs = opts.frontier
    ? await withRedis(opts.frontier, (redis) => listClusterRuns(redis, name))
    : await withDb(openForRead(opts.storage ?? resolveSettings().storageDir, name), listRuns);
  if (opts.json) for (const run of runs) process.stdout.write(`${JSON.stringify(summarizeRun(run))}\n`);
  else if (runs.length) process.stdout.write(`${runsTable(runs).join('\n')}\n`);
  else process.stderr.write(`no runs of '${name}' yet\n`);
  return 0;
}

/** Builds the `crawl` command line. */
export function program(): Command {
  const cmd = new Command('crawl')
    .description('crawlkit: run a spider from spiders/<name>.ts and export what it scraped')
    .addHelpText('after', '\nExamples:\n  crawl quotes -a baseUrl=http://127.0.0.1:8400/   (short for `crawl run quotes ...`; see `crawl run --help`)\n  crawl export quotes --format csv -o quotes.csv')
    .exitOverride()
    // Commander's own errors (unknown option, bad choice) in the same one-line form as ours.
    .configureOutput({ outputError: (text, write) => write(`crawl: ${text.trim().split('\n')[0]}\n`) });
  cmd
    .command('run <spider>', { isDefault: true })
    .description('crawl with a spider (resumes its last run if that did not finish)')
    .option('-a, --arg <key=value>', 'spider argument, repeatable', collect, [])
    .option('-s, --set <key=value>', 'setting override, e.g. -s concurrency=32, repeatable', collect, [])
    .option('-o, --output <file>', 'also write the items to a .jsonl, .json or .csv file, as they are stored')
    .option('--fresh', 'start a new run even if the last one did not finish')
    .option('--frontier <url>', 'share the crawl through Redis (redis://host:port) with every process started with the same URL')
    .option('--cache', "store every response in the spider's database, for --replay")
    .addOption(new Option('--replay', 'a new run over the cached responses: callbacks run again, nothing is fetched').conflicts('cache'))
    .option('--storage <dir>', 'folder of the SQLite files', 'storage')
    .option('--spiders <dir>', 'folder of the spider files')
    .addOption(new Option('-L, --log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'silent']))
    .option('--log-file <file>', 'also log to this file, as JSON lines (appended), with a status entry every statusIntervalMs')
    .option('--debug', 'debug logging, and stack traces on errors')
    .action(async (spider: string, opts: RunOptions) => {
      process.exitCode = await runCommand(spider, opts);
    });
  cmd
    .command('list')
    .description('list the spiders in spiders/')
    .option('--spiders <dir>', 'folder of the spider files')
    .action((opts: { spiders?: string }) => {
      const names = listSpiders(opts.spiders ?? defaultSpidersDir());
      process.stdout.write(names.length ? `${names.join('\n')}\n` : '');
      if (!names.length) process.stderr.write('no spiders found in spiders/\n');
    });
  cmd
    .command('new <name> <url>')
    .description('write spiders/<name>.ts, a spider starting at <url>, ready to edit')
    .option('--spiders <dir>', 'folder of the spider files')
    .action((name: string, url: string, opts: { spiders?: string }) => {
      const file = scaffoldSpider(opts.spiders ?? defaultSpidersDir(), name, url);
      process.stderr.write(`wrote ${relative(process.cwd(), file) || file}; run it with \`npx crawl ${name}\`\n`);
    });
  cmd
    .command('parse <spider> <url>')
    .description('fetch one page and print what a callback yields (items on stdout, requests on stderr); stores nothing')
    .option('-c, --callback <name>', 'the spider method to call', 'parse')
    .option('-a, --arg <key=value>', 'spider argument, repeatable', collect, [])
    .option('-s, --set <key=value>', 'setting override, repeatable', collect, [])
    .option('--spiders <dir>', 'folder of the spider files')
    .option('--json', 'print one JSON document (url, status, items, requests) on stdout')
    .option('--no-robots', 'fetch the page even if robots.txt disallows it (obeyed by default, as in a crawl)')
    .action(async (spider: string, url: string, opts: ParseOptions) => {
      process.exitCode = await parseCommand(spider, url, opts);
    });
  cmd
    .command('shell <url>')
    .description('fetch a page and open a REPL with res (the Response), $ (cheerio) and fetch(url) to load another')
    .option('-s, --set <key=value>', 'setting override, e.g. -s userAgent=..., repeatable', collect, [])
    .action(async (url: string, opts: { set: string[] }) => {
      process.exitCode = await shellCommand(url, opts);
    });
  cmd
    .command('runs <spider>')
    .description("list a spider's stored runs: status, duration, pages, items, failures, requests")
    .option('--storage <dir>', 'folder of the SQLite files', 'storage')
    .option('--json', 'one JSON object per run (with its args and full stats) instead of the table')
    .option('--frontier <url>', 'read from the Redis a cluster crawled into (redis://host:port) instead of the local database')
    .action(async (spider: string, opts: { storage?: string; json?: boolean; frontier?: string }) => {
      process.exitCode = await runsCommand(spider, opts);
    });
  cmd
    .command('export <spider>')
    .description("write a spider's items (its latest run) to stdout or a file")
    .addOption(new Option('-f, --format <format>', 'output format (default: from the -o file name, else jsonl)').choices([...formats]))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--run <id>', 'export this run instead of the latest')
    .option('--storage <dir>', 'folder of the SQLite files', 'storage')
    .option('--no-csv-safe', 'do not neutralise CSV cells that start with = + - @')
    .option('--frontier <url>', 'read from the Redis a cluster crawled into (redis://host:port) instead of the local database')
    .action(async (spider: string, opts: { format?: string; output?: string; storage?: string; run?: string; csvSafe: boolean; frontier?: string }) => {
      process.exitCode = await exportCommand(spider, opts);
    });
  cmd
    .command('collect <spider>')
    .description("move the items a cluster stored in Redis into the spider's local database (then `crawl export` them)")
    .requiredOption('--frontier <url>', 'the Redis the cluster crawled into (redis://host:port)')
    .option('--storage <dir>', 'folder of the SQLite files', 'storage')
    .action(async (spider: string, opts: { storage?: string; frontier: string }) => {
      process.exitCode = await collectCommand(spider, opts);
    });
  return cmd;
}

/** Runs the CLI: one-line errors and exit code 2 for bad input, stack traces only with --debug. */
export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if ((err as { code?: string }).code === 'EPIPE') return; // `crawl export x | head`: the reader left, which is fine
    if (err instanceof CommanderError) {
      // Commander has printed its message already; help and version exit 0.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const message = err instanceof CrawlkitError ? err.message : (err as Error)?.message ?? String(err);
    process.stderr.write(`crawl: error: ${message.split('\n')[0]}\n`);
    if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof CrawlkitError ? err.exitCode : 1;
  }
}

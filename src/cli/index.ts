import { relative } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, CrawlkitError } from '../errors.js';
import { formats } from '../export/exporter.js';
import { describeInit, initProject } from '../init.js';
import { defaultSpidersDir, listSpiders } from '../loader.js';
import { PACKAGE } from '../package.js';
import { LOG_LEVELS } from '../settings.js';
import { scaffoldSpider } from '../scaffold.js';
import { didYouMean } from '../suggest.js';
import { failuresCommand, type FailuresOptions } from './failures.js';
import { collect } from './inputs.js';
import { runCommand, type RunCommandOptions } from './run.js';
import type { StorageOptions } from './storage.js';
import { collectCommand, exportCommand, parseCommand, runsCommand, shellCommand, type ExportOptions, type ParseOptions } from './tools.js';
import { middlewaresCommand, type MiddlewaresOptions } from './middlewares.js';
import { uiCommand, type UiOptions } from './ui.js';

/** Commander's error as one line, keeping its "(Did you mean --fresh?)", which it prints on a line of its own. */
function oneLine(text: string): string {
  const [first, ...rest] = text.trim().split('\n');
  const hint = rest.map((l) => l.trim()).find((l) => l.startsWith('(Did you mean'));
  return hint ? `${first} (d${hint.slice(2)}` : first!;
}

/**
 * `crawl <word> ...` where <word> is no command and no spider, but close to
 * a command: a mistyped command. Without this, `run` being the default
 * command, `crawl expor quotes` reads as a crawl of two spiders.
 */
function mistypedCommand(cmd: Command, argv: string[]): string | null {
  const word = argv[2];
  if (!word || word.startsWith('-') || cmd.commands.some((c) => c.name() === word)) return null;
  const at = argv.findIndex((a) => a === '--spiders' || a.startsWith('--spiders='));
  const dir = at < 0 ? defaultSpidersDir() : argv[at]!.includes('=') ? argv[at]!.slice('--spiders='.length) : (argv[at + 1] ?? '');
  const spiders = listSpiders(dir);
  const commands = cmd.commands.map((c) => c.name());
  const meant = didYouMean(word, [...commands, ...spiders]);
  // As close to a spider as to any command: left to the loader's "unknown spider ... did you mean".
  if (meant.length === 0 || meant.some((m) => spiders.includes(m))) return null;
  return `unknown command '${word}' (did you mean ${meant.map((m) => `\`crawl ${m}\``).join(' or ')}?)`;
}

/** The options of a command that reads (or fills) a spider's database: where it is, found as a crawl finds it (cli/storage.ts). */
const withStorage = (command: Command): Command =>
  command
    .option('--storage <dir>', "folder of the SQLite files (default: -s storageDir, else the spider's storageDir setting, else storage)")
    .option('-s, --set <storageDir=dir>', 'the storageDir setting, as given to the crawl', collect, [])
    .option('--spiders <dir>', "folder of the spider files, to read the spider's storageDir setting");

/** Builds the `crawl` command line. */
export function program(): Command {
  const cmd = new Command('crawl')
    .description('crawlkit: run a spider from spiders/<name>.ts and export what it scraped')
    .addHelpText('after', '\nExamples:\n  crawl quotes -a baseUrl=http://127.0.0.1:8400/   (short for `crawl run quotes ...`; see `crawl run --help`)\n  crawl export quotes --format csv -o quotes.csv')
    .version(PACKAGE.version, '-V, --version', 'print the version of crawlkit')
    .exitOverride()
    // Commander's own errors (unknown option, bad choice) in the same one-line form as ours.
    .configureOutput({ outputError: (text, write) => write(`crawl: ${oneLine(text)}\n`) });
  runCommandLine(cmd);
  spiderCommands(cmd);
  dataCommands(cmd);
  return cmd;
}

/** `crawl run` (the default command): a crawl. */
function runCommandLine(cmd: Command): void {
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
    .option('--storage <dir>', "folder of the SQLite files (default: the storageDir setting, from -s or the spider, else storage)")
    .option('--spiders <dir>', 'folder of the spider files')
    .addOption(new Option('-L, --log-level <level>', 'log level (wins over -s logLevel and the spider)').choices([...LOG_LEVELS]))
    .option('--log-file <file>', 'also log to this file, as JSON lines (appended), with a status entry every statusIntervalMs')
    .option('--debug', 'debug logging, and stack traces on errors')
    .action(async (spider: string, opts: RunCommandOptions) => {
      process.exitCode = await runCommand(spider, opts);
    });
}

/** The commands of writing a spider: list, init, new, parse, middlewares, shell. */
function spiderCommands(cmd: Command): void {
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
    .command('init [dir]')
    .description('start a project in dir (default: here): package.json, tsconfig.json, spiders/example.ts and its test, .gitignore, README.md; overwrites nothing')
    .action((dir: string | undefined) => void process.stderr.write(describeInit(initProject(dir ?? '.'))));
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
    .option('--render [waitFor]', "render the page in a browser, waiting for a CSS selector, a number of ms or a load state (default: the load event); without it, as the spider's render says")
    .action(async (spider: string, url: string, opts: ParseOptions) => {
      process.exitCode = await parseCommand(spider, url, opts);
    });
  cmd
    .command('middlewares <spider>')
    .description("print the middleware chain a crawl of the spider runs, in order: crawlkit's and the spider's, with their hooks")
    .option('-a, --arg <key=value>', 'spider argument, repeatable', collect, [])
    .option('-s, --set <key=value>', 'setting override, repeatable', collect, [])
    .option('--spiders <dir>', 'folder of the spider files')
    .option('--cache', 'the chain of a crawl with --cache')
    .addOption(new Option('--replay', 'the chain of a crawl with --replay').conflicts('cache'))
    .action(async (spider: string, opts: MiddlewaresOptions) => {
      process.exitCode = await middlewaresCommand(spider, opts);
    });
  cmd
    .command('shell <url>')
    .description('fetch a page and open a REPL with res (the Response), $ (cheerio) and fetch(url) to load another')
    .option('-s, --set <key=value>', 'setting override, e.g. -s userAgent=..., repeatable', collect, [])
    .action(async (url: string, opts: { set: string[] }) => {
      process.exitCode = await shellCommand(url, opts);
    });
}

/** The commands that read what crawls stored: runs, failures, export, collect, ui. */
function dataCommands(cmd: Command): void {
  withStorage(cmd.command('runs <spider>'))
    .description("list a spider's stored runs: status, duration, pages, items, failures, requests")
    .option('--json', 'one JSON object per run (with its args and full stats) instead of the table')
    .option('--frontier <url>', 'read from the Redis a cluster crawled into (redis://host:port) instead of the local database')
    .action(async (spider: string, opts: StorageOptions & { json?: boolean; frontier?: string }) => {
      process.exitCode = await runsCommand(spider, opts);
    });
  withStorage(cmd.command('failures <spider>'))
    .description('list the requests of a run that failed for good: reason, status, attempts, URL, and the stack of a spider error')
    .option('--run <id>', 'this run instead of the latest')
    .option('--reason <prefix>', 'only reasons starting with this, e.g. http: or callback:error')
    .option('--json', 'one JSON object per failure')
    .option('--screenshots <dir>', 'write the screenshots of failed rendered pages (-s browser.screenshotOnError=true) into this folder, as run<R>-req<Q>.png')
    .action(async (spider: string, opts: FailuresOptions) => {
      process.exitCode = await failuresCommand(spider, opts);
    });
  withStorage(cmd.command('export <spider>'))
    .description("write a spider's items (its latest run) to stdout or a file")
    .addOption(new Option('-f, --format <format>', 'output format (default: from the -o file name, else jsonl)').choices([...formats]))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--run <id>', 'export this run instead of the latest')
    .option('--no-csv-safe', 'do not neutralise CSV cells that start with = + - @')
    .option('--frontier <url>', 'read from the Redis a cluster crawled into (redis://host:port) instead of the local database')
    .action(async (spider: string, opts: ExportOptions) => {
      process.exitCode = await exportCommand(spider, opts);
    });
  withStorage(cmd.command('collect <spider>'))
    .description("move the items a cluster stored in Redis into the spider's local database (then `crawl export` them)")
    .requiredOption('--frontier <url>', 'the Redis the cluster crawled into (redis://host:port)')
    .action(async (spider: string, opts: StorageOptions & { frontier: string }) => {
      process.exitCode = await collectCommand(spider, opts);
    });
  cmd
    .command('ui')
    .description("serve a web app over the storage folder's databases (read-only): spiders, runs live, charts, failures, items, comparisons")
    .option('--port <port>', 'port to listen on (0: any free one)', '8700')
    .option('--host <address>', 'address to listen on; any but a loopback one requires the token printed at start', '127.0.0.1')
    .option('--storage <dir>', 'folder of the SQLite files (default: -s storageDir, else storage)')
    .option('-s, --set <storageDir=dir>', 'the storageDir setting', collect, [])
    .action(async (opts: UiOptions) => {
      process.exitCode = await uiCommand(opts);
    });
}

/** Runs the CLI: one-line errors and exit code 2 for bad input, stack traces only with --debug. */
export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  try {
    const cmd = program();
    const typo = mistypedCommand(cmd, argv);
    if (typo) throw new ConfigError(typo);
    await cmd.parseAsync(argv);
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

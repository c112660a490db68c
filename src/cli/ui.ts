/** `crawl ui`: the web app over the storage folder's databases (src/ui/). */
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { resolveRunOptions } from '../settings.js';
import { isLoopback, newToken } from '../ui/access.js';
import { startUiServer } from '../ui/server.js';
import { spiderInputs } from './inputs.js';

/** The options of `crawl ui`. */
export interface UiOptions {
  port: string;
  host: string;
  storage?: string;
  set: string[];
}

function port(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new ConfigError(`bad --port ${JSON.stringify(text)}: expected a port number, 0 to 65535 (0: any free port)`);
  return n;
}

/**
 * Serves until interrupted. The storage folder is `--storage`, else `-s
 * storageDir=`, else the default; spiders that set their own storageDir are
 * seen with `--storage` pointing there (the UI runs no spider's code).
 */
export async function uiCommand(opts: UiOptions): Promise<number> {
  const { overrides } = spiderInputs({ arg: [], set: opts.set });
  const other = Object.keys(overrides).find((k) => k !== 'storageDir');
  if (other) throw new ConfigError(`crawl ui takes -s storageDir alone: ${other} is a setting of the crawl`);
  const storageDir = resolve(opts.storage ?? resolveRunOptions(overrides).storageDir);
  const token = isLoopback(opts.host) ? null : newToken();
  const { server, port: bound } = await startUiServer({ storageDir, host: opts.host, port: port(opts.port), token }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new ConfigError(`port ${opts.port} on ${opts.host} is in use: pass another --port (0: any free one)`);
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new ConfigError(`cannot listen on --host ${opts.host}: not an address of this machine`);
    throw err;
  });
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${host}:${bound}/${token ? `?token=${token}` : ''}`;
  process.stdout.write(`crawl ui: the databases of ${storageDir}, read-only, at ${url}\n`);
  if (token) process.stdout.write(`crawl ui: ${opts.host} is not a loopback address: every request needs the token above (once in the URL, then a cookie keeps it)\n`);
  process.stdout.write('crawl ui: Ctrl-C to stop\n');
  await new Promise<void>((done) => {
    const stop = () => {
      server.close(() => done());
      server.closeAllConnections(); // a browser's kept-alive connections would hold it open
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

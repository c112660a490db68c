/**
 * Which peers the benchmark can run here: Crawlee (bench/peers/node_modules,
 * `npm run bench:peers:install`) and Scrapy (Debian's python3-scrapy, found
 * through the Python that can import it), each with its version or the
 * reason it is skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build.js';

/** A peer's availability. */
export interface PeerStatus {
  version?: string;
  /** Why it cannot run, when it cannot. */
  missing?: string;
  /** Scrapy: the Python to run it with. */
  command?: string;
}

/** The Pythons tried for Scrapy, in order: $BENCH_PYTHON, Debian's (where python3-scrapy installs), then python3 on PATH. */
const PYTHONS = [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);

function scrapyStatus(): PeerStatus {
  for (const python of PYTHONS) {
    const r = spawnSync(python, ['-c', 'import scrapy; print(scrapy.__version__)'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return { version: r.stdout.trim(), command: python };
  }
  return { missing: 'Scrapy is not installed: run `npm run bench:peers:install` as root (apt-get install python3-scrapy)' };
}

function crawleeStatus(): PeerStatus {
  const pkg = join(ROOT, 'bench', 'peers', 'node_modules', 'crawlee', 'package.json');
  if (!existsSync(pkg)) return { missing: 'bench/peers/node_modules is missing: run `npm run bench:peers:install`' };
  return { version: (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version };
}

let cached: { crawlee: PeerStatus; scrapy: PeerStatus } | undefined;

/** The peers' status, looked up once per run. */
export function peerStatus(): { crawlee: PeerStatus; scrapy: PeerStatus } {
  cached ??= { crawlee: crawleeStatus(), scrapy: scrapyStatus() };
  return cached;
}

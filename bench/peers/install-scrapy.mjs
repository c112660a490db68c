/**
 * The Scrapy peer's install, run by `npm run bench:peers:install` after
 * Crawlee's: Debian's python3-scrapy through apt-get when this user can
 * (root, or sudo without a password), else a line saying why Scrapy is
 * skipped. python3-scrapy does not depend on Debian's nodejs; without its
 * recommends it adds about 30 Python packages and removes nothing
 * (checked with `apt-get install -s`).
 */
import { spawnSync } from 'node:child_process';

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status === 0;
const quiet = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

function main() {
  for (const python of [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    if (quiet(python, ['-c', 'import scrapy'])) return void console.log(`Scrapy: already installed (${python})`);
  }
  if (!quiet('apt-get', ['--version'])) return void console.log('Scrapy: skipped, no apt-get here (install Scrapy yourself: pip install scrapy, or set BENCH_PYTHON to a Python that has it)');
  const root = process.getuid?.() === 0;
  const sudo = !root && quiet('sudo', ['-n', 'true']);
  if (!root && !sudo) return void console.log('Scrapy: skipped, apt-get needs root (run `sudo apt-get install python3-scrapy`, then the benchmark finds it)');
  const apt = (args) => (root ? run('apt-get', args) : run('sudo', ['-n', 'apt-get', ...args]));
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  process.env = env;
  if (!apt(['update', '-qq']) || !apt(['install', '-y', '-qq', '--no-install-recommends', 'python3-scrapy'])) {
    console.log('Scrapy: apt-get failed (see above); the benchmark skips Scrapy');
    return;
  }
  console.log('Scrapy: installed (python3-scrapy)');
}

main();

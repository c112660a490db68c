/**
 * The benchmark runner (never part of `npm test`):
 *
 *   npm run bench                        # scenarios a to f, full size (about an hour: (f) is 40 minutes of it)
 *   npm run bench -- --quick             # small sites, one run each (a couple of minutes)
 *   npm run bench -- --scenario a,b      # some scenarios
 *   npm run bench -- --skip-peers        # without Crawlee
 *   npm run bench -- --profile           # and a CPU profile of crawlkit per scenario
 *   npm run bench -- --repeats 5         # runs per system (default 3, 1 with --quick; Crawlee always 1)
 *   npm run bench -- --tsx               # run the children through tsx, as `npx crawl` does
 *
 * For each scenario it starts the site (bench/site.ts) in its own process and
 * runs the crawlers one after the other against it, each in its own process
 * so CPU time and peak RSS are its own, interleaving repeats (crawlkit, floor,
 * regex floor, crawlkit, ...). It prints a table and the ratios, checks every
 * crawl fetched each page once and stored each of the site's items once with
 * the right fields, and writes bench/results/<time>-<scenario>.json and
 * bench/results/latest.json.
 *
 * Scenarios: (a) CPU-bound, N = 20,000, no latency; (b) latency-bound,
 * N = 2,000, 100 ms per response; (c) scale, N = 200,000, crawlkit only (its
 * peak RSS against its RSS at N = 20,000); (d) 1 to 3 workers on one Redis
 * frontier; (e) link-heavy: big pages with up to 300,000 links each, peak RSS
 * and the main thread's longest stall (bench/link-heavy.ts); (f) rendered: pages
 * written by JavaScript, in Chromium, crawlkit vs Crawlee's PlaywrightCrawler at
 * 1, 4, 8 pages at once (bench/rendered.ts). Concurrency 50 in (a) to (c).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BUILD_DIR, buildForBench, ROOT, sourceFingerprint } from './build.js';
import { runClusterScenario } from './cluster-scenario.js';
import { runLinkHeavy } from './link-heavy.js';
import { nodeArgs, RESULTS_DIR, RUN_STAMP as stamp } from './measure.js';
import { peerStatus } from './peer-status.js';
import { runRendered } from './rendered.js';
import { spawnSync } from 'node:child_process';
import { parseOptions, type ScenarioId } from './options.js';
import { fmt, log, machine } from './report.js';
import { scenarioDefs } from './scenarios.js';
import { runScenario, type ScenarioResult } from './shop-scenario.js';

async function main(): Promise<void> {
  const options = parseOptions();
  const t0 = performance.now();
  // Taken with the build: the children run this snapshot even if src/ changes during the run (not so with --tsx).
  const src = sourceFingerprint();
  if (!options.tsx) {
    const n = await buildForBench();
    log(`transpiled ${n} files to ${relative(ROOT, BUILD_DIR)} (children run as plain JavaScript; --tsx runs them through tsx)`);
  }
  const peers = peerStatus();
  if (!options.skipPeers) for (const [name, p] of Object.entries(peers)) if (p.missing) log(`${name}: its rows are skipped (${p.missing})`);
  const defs = scenarioDefs(options.quick, options.repeats);
  const info = machine(src);
  log(`node ${info.node}, ${info.cores} cores (${info.cpu}), ${info.memoryGB} GB; cheerio ${info.cheerio}, undici ${info.undici}, crawlee ${peers.crawlee.version ?? 'not installed'}, scrapy ${peers.scrapy.version ?? 'not installed'}`);
  log(`crawlkit src/: ${src.files} files, sha1 ${src.sha1.slice(0, 12)}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const results = new Map<ScenarioId, ScenarioResult>();
  const latest = { startedAt: new Date().toISOString(), argv: process.argv.slice(2), machine: info, scenarios: {} as Record<string, ScenarioResult> };
  for (const id of options.scenarios) {
    if (id === 'd' || id === 'e' || id === 'f') {
      // Scenarios of their own shape: (d) runs a cluster, (e) and (f) their own sites (f: bench/rendered.ts).
      const script = (name: string) => nodeArgs(name, options);
      const peersInstalled = !peers.crawlee.missing;
      const result =
        id === 'd'
          ? await runClusterScenario(defs.d, options)
          : id === 'e'
            ? await runLinkHeavy(options, log)
            : await runRendered({ quick: options.quick, repeats: options.repeats, skipPeers: options.skipPeers, peersInstalled, script, log });
      // (f)'s second half: render = 'auto' against rendering everything, on a site where 1 page in 10 needs the browser.
      if (id === 'f') runAutoRender(options.quick, options.repeats);
      const file = join(RESULTS_DIR, `${stamp}-${id}.json`);
      writeFileSync(file, `${JSON.stringify({ machine: info, ...result }, null, 2)}\n`);
      (latest.scenarios as Record<string, unknown>)[id] = result;
      writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
      log(`  saved ${relative(ROOT, file)}`);
      if (!result.ok) process.exitCode = 1;
      continue;
    }
    const result = await runScenario(defs[id], options, results);
    results.set(id, result);
    const file = join(RESULTS_DIR, `${stamp}-${id}.json`);
    writeFileSync(file, `${JSON.stringify({ machine: info, ...result }, null, 2)}\n`);
    latest.scenarios[id] = result;
    // Written after each scenario, so an interrupted run keeps what it measured.
    writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
    log(`  saved ${relative(ROOT, file)}`);
  }
  log(`\ndone in ${fmt((performance.now() - t0) / 1000)} s`);
  const problems = [...results.values()].flatMap((r) => r.runs).filter((r) => !r.ok).length;
  if (problems > 0) {
    log(`${problems} run(s) had problems (see PROBLEM lines above)`);
    process.exitCode = 1;
  }
}

/** bench/auto-render.ts as a child (its own site and crawls), its lines printed as they come; a difference in items fails the bench. */
function runAutoRender(quick: boolean, repeats: number | undefined): void {
  log(`\n== (f) render = 'auto' vs render = true: 1 page in 10 written by script ==`);
  const args = ['--import', 'tsx', join(ROOT, 'bench', 'auto-render.ts'), '--pages', quick ? '60' : '300', '--rounds', String(repeats ?? (quick ? 1 : 2))];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

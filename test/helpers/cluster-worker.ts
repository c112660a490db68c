/**
 * One "worker" of a cluster, as a separate process for test/cluster-limits.test.ts
 * (run with `node --import tsx`). Its JSON config is argv[2]; it reports on stdout
 * as JSON lines: `{"ready":true}` once connected, then, after the test writes
 * `go` on stdin, what it did. It never calls process.exit: a worker whose
 * limiter or cache leaves a handle open does not exit, and the test sees it.
 */
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { connectRedis, openClusterConnection } from '../../src/cluster/connection.js';
import { createClusterLimiter } from '../../src/cluster/limiter.js';
import { createRedisRobotsCache } from '../../src/cluster/robots-cache.js';
import { addressPolicy } from '../../src/fetch/addresses.js';
import { createFetcher } from '../../src/fetch/fetcher.js';
import { createRobots } from '../../src/fetch/robots.js';
import { resolveSettings, type SettingsOverride } from '../../src/settings.js';

export interface WorkerConfig {
  /** fetch: `jobs` requests to `url` through the cluster limiter; stop: `jobs` requests, stop() once the first runs; robots: check `urls`. */
  mode: 'fetch' | 'stop' | 'robots';
  redis: string;
  spider: string;
  settings: SettingsOverride;
  url?: string;
  urls?: string[];
  jobs?: number;
  expirationMs?: number;
  heartbeatMs?: number;
}

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const settings = resolveSettings(config.settings);
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** Resolves when the test writes `go` (so that all workers start together), then stops reading stdin. */
function go(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  return new Promise((resolve) =>
    lines.on('line', (l) => {
      if (l.trim() === 'go') {
        lines.close();
        process.stdin.destroy();
        resolve();
      }
    }),
  );
}

async function get(url: string): Promise<number> {
  const res = await request(url);
  await res.body.text();
  return res.statusCode;
}

if (config.mode === 'robots') {
  const fetcher = createFetcher(settings, addressPolicy(true)); // the test's servers are on loopback
  const redis = await connectRedis(config.redis);
  const cache = createRedisRobotsCache(redis, config.spider);
  const delays: Record<string, number> = {};
  const robots = createRobots(fetcher, settings.userAgent, (host, ms) => (delays[host] = ms), { cache });
  say({ ready: true });
  await go();
  const verdicts = await Promise.all(config.urls!.map((u) => robots.check(u)));
  say({ verdicts: verdicts.map((v) => v.kind), delays });
  await redis.quit();
  await fetcher.close();
} else {
  const connection = await openClusterConnection(config.redis, 'crawlkit:test');
  const limiter = createClusterLimiter(settings, { connection, spider: config.spider, expirationMs: config.expirationMs, heartbeatMs: config.heartbeatMs });
  const host = new URL(config.url!).host;
  say({ ready: true });
  await go();
  const jobs = Array.from({ length: config.jobs! }, (_, i) =>
    limiter.schedule(host, async () => {
      say({ started: i });
      if (config.mode === 'stop' && i === 0) void limiter.stop();
      return get(`${config.url}?w=${process.pid}&i=${i}`);
    }).then(
      (status) => ({ i, status }),
      (err: Error) => ({ i, error: err.name }),
    ),
  );
  say({ results: await Promise.all(jobs) });
  await limiter.stop();
  await connection.close();
}

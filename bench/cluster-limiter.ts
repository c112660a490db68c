/**
 * Scheduling overhead per job of the cluster limiter against the local one:
 * `node --import tsx bench/cluster-limiter.ts [jobs]`. Starts its own
 * redis-server (test/helpers/redis.ts); jobs do nothing, so the time is the
 * limiter's alone. Prints one line per limiter and mode.
 */
import { openClusterConnection } from '../src/cluster/connection.js';
import { createClusterLimiter } from '../src/cluster/limiter.js';
import { createLimiter, type Limiter } from '../src/fetch/limiter.js';
import { resolveSettings } from '../src/settings.js';
import { startRedis } from '../test/helpers/redis.js';

const jobs = Number(process.argv[2] ?? 2000);
const settings = resolveSettings({ concurrency: 16, perHost: { concurrency: 8 } });
const redis = await startRedis();

/** µs per job: one at a time (latency), then all at once over 10 hosts (throughput). */
async function measure(name: string, limiter: Limiter): Promise<void> {
  await limiter.schedule('warm.test', async () => {});
  let t = performance.now();
  for (let i = 0; i < jobs / 10; i++) await limiter.schedule('one.test', async () => {});
  const serial = ((performance.now() - t) * 1000) / (jobs / 10);
  t = performance.now();
  await Promise.all(Array.from({ length: jobs }, (_, i) => limiter.schedule(`h${i % 10}.test`, async () => {})));
  const parallel = ((performance.now() - t) * 1000) / jobs;
  console.log(`${name.padEnd(8)} one at a time: ${serial.toFixed(0).padStart(6)} µs/job   ${jobs} at once over 10 hosts: ${parallel.toFixed(0).padStart(6)} µs/job`);
  await limiter.stop();
}

await measure('local', createLimiter(settings));
const connection = await openClusterConnection(redis.url, 'crawlkit:bench');
await measure('cluster', createClusterLimiter(settings, { connection, spider: 'overhead' }));
await connection.close();
await redis.stop();

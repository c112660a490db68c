/**
 * Throughput of the frontier alone: pop a batch of 64, settle it as done with
 * one item and 4 new follow-ups each, repeat. Redis (a local redis-server,
 * 1 and 2 workers) next to SQLite for scale.
 *
 *   npx tsx bench/redis-frontier.ts [requests=20000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Frontier } from '../src/frontier/frontier.js';
import { createRedisFrontier } from '../src/cluster/frontier.js';
import { createSqliteFrontier } from '../src/frontier/sqlite.js';
import { openForCrawl } from '../src/storage/database.js';
import { doneOutcome, newRequest } from '../test/helpers/frontier.js';
import { startRedis } from '../test/helpers/redis.js';

const BATCH = 64;
const FOLLOW_UPS = 4;
const total = Number(process.argv[2] ?? 20_000);

let nextPage = 0;
const page = () => newRequest(`https://h${nextPage % 50}.test/p/${nextPage++}?q=${'x'.repeat(40)}`, { meta: '{"depth":1,"tag":"list"}' });

/** Pops and settles until `share` requests are done; returns how many it did. */
async function drive(f: Frontier, share: number): Promise<number> {
  let n = 0;
  while (n < share) {
    const batch = await f.pop(Math.min(BATCH, share - n), Date.now(), []);
    if (batch.length === 0) break;
    await f.settle(batch.map((r) => doneOutcome(r.id, [JSON.stringify({ url: r.url, title: `page ${r.id}` })], Array.from({ length: FOLLOW_UPS }, page), r.url)));
    n += batch.length;
  }
  return n;
}

async function measure(name: string, frontiers: Frontier[]): Promise<void> {
  await frontiers[0]!.add(Array.from({ length: BATCH * frontiers.length }, page));
  const started = process.hrtime.bigint();
  const done = await Promise.all(frontiers.map((f) => drive(f, total / frontiers.length)));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const n = done.reduce((a, b) => a + b, 0);
  console.log(`${name.padEnd(22)} ${n} requests (+${n * FOLLOW_UPS} follow-ups, ${n} items) in ${ms.toFixed(0)} ms: ${Math.round((n / ms) * 1000)} requests/s`);
}

const dir = mkdtempSync(join(tmpdir(), 'crawlkit-bench-'));
const server = await startRedis();
const clients: Redis[] = [];
try {
  const db = openForCrawl(dir, 'bench');
  await measure('sqlite', [createSqliteFrontier(db, 1)]);
  db.close();
  for (const workers of [1, 2]) {
    const frontiers = Array.from({ length: workers }, (_, i) => {
      const client = new Redis(server.url);
      clients.push(client);
      return createRedisFrontier(client, { spider: `bench${workers}`, runId: 1, workerId: `w${i}` });
    });
    await clients[0]!.config('RESETSTAT');
    await measure(`redis, ${workers} worker${workers > 1 ? 's' : ''}`, frontiers);
    // The server's own time in the scripts: what bounds a cluster of workers sharing this Redis.
    const stats = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await clients[0]!.info('commandstats'));
    if (stats) console.log(`${''.padEnd(22)} redis-server busy ${(Number(stats[2]) / 1000).toFixed(0)} ms in ${stats[1]} script calls: at most ${Math.round(total / (Number(stats[2]) / 1e6))} requests/s for any number of workers`);
    for (const f of frontiers) await (f as ReturnType<typeof createRedisFrontier>).close();
  }
} finally {
  for (const c of clients) c.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

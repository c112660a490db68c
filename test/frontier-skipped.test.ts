/**
 * A request a middleware skips once it was taken from the frontier (the
 * `skipped` outcome): both frontiers record it as skipped with the reason,
 * count it, and never hand it out again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frontier } from '../src/frontier/frontier.js';
import { createRedisFrontier } from '../src/cluster/frontier.js';
import { createSqliteFrontier } from '../src/frontier/sqlite.js';
import { openForCrawl } from '../src/storage/database.js';
import { newRequest } from './helpers/frontier.js';
import { hasRedis, startRedis, type TestRedis } from './helpers/redis.js';

/** Adds two requests, takes both, skips one by a middleware's name and fails the other; returns what the frontier answered. */
async function skipOne(f: Frontier) {
  await f.add([newRequest('https://a.test/doc.pdf'), newRequest('https://a.test/page')]);
  const [pdf, page] = await f.pop(10, Date.now(), []);
  const settled = await f.settle([
    { kind: 'skipped', id: pdf!.id, reason: 'no-pdf' },
    { kind: 'failed', id: page!.id, status: 404, reason: 'http:404' },
  ]);
  return { settled: { ...settled, stale: undefined }, counts: await f.counts(), next: await f.pop(10, Date.now(), []), nextReadyAt: await f.nextReadyAt() };
}

const expected = {
  settled: { items: 0, invalid: 0, queued: 0, skipped: { 'no-pdf': 1 }, duplicates: 0, stale: undefined },
  counts: { queued: 0, inFlight: 0, done: 0, failed: 1, disallowed: 0, skipped: 1 },
  next: [],
  nextReadyAt: null,
};

describe('the skipped outcome', () => {
  it('SQLite: recorded as skipped with the reason, counted, not handed out again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crawlkit-skipped-'));
    const db = openForCrawl(dir, 'skipped');
    try {
      expect(await skipOne(createSqliteFrontier(db, 1))).toEqual(expected);
      expect(db.prepare("SELECT state, error FROM requests WHERE url LIKE '%pdf'").get()).toEqual({ state: 5, error: 'no-pdf' });
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe.skipIf(!hasRedis)('Redis (needs redis-server)', () => {
    let server: TestRedis;
    let client: Redis;
    beforeAll(async () => {
      server = await startRedis();
      client = new Redis(server.url);
    });
    afterAll(async () => {
      client?.disconnect();
      await server?.stop();
    });

    it('the same as SQLite', async () => {
      const f = createRedisFrontier(client, { spider: 'skipped', runId: 1, workerId: 'w1' });
      try {
        expect(await skipOne(f)).toEqual(expected);
      } finally {
        await f.close();
      }
    });
  });
});

/**
 * The `render` option of a Request: checked when made, and kept through the
 * frontier inside the stored meta (no column, no migration), so that both
 * frontiers, SQLite and Redis, give it back on a resume, and the callback's
 * `meta` never shows the key it is stored under.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDER_META_KEY, renderOf } from '../src/browser/render.js';
import { toNewRequest } from '../src/callbacks.js';
import { createRedisFrontier } from '../src/cluster/frontier.js';
import type { Frontier } from '../src/frontier/frontier.js';
import { createSqliteFrontier } from '../src/frontier/sqlite.js';
import { toRequest } from '../src/parser/parse.js';
import { Request, requestWith } from '../src/request.js';
import { defaultSettings } from '../src/settings.js';
import { Spider } from '../src/spider.js';
import { openForCrawl } from '../src/storage/database.js';
import { hasRedis, startRedis, type TestRedis } from './helpers/redis.js';

const settings = { ...defaultSettings, allowedDomains: ['a.test'] };
const spider = new (class extends Spider {
  override name = 'r';
})();

const requests = () => [
  new Request('https://a.test/plain'),
  new Request('https://a.test/on', { render: true }),
  new Request('https://a.test/off', { render: false, meta: { page: 2 } }),
  new Request('https://a.test/wait', { render: { waitFor: 'div.quote', timeoutMs: 5000 }, meta: { page: 3 } }),
  new Request('https://a.test/auto', { render: 'auto' }),
];

/** Stores the requests, pops them, and gives back what a resumed crawl would make of them. */
async function roundTrip(frontier: Frontier) {
  await frontier.add(requests().map((r) => toNewRequest(spider, r, { id: null, depth: -1 }, settings)));
  const popped = await frontier.pop(10, Date.now(), []);
  return Object.fromEntries(popped.map((q) => toRequest(q)).map((r) => [new URL(r.url).pathname, { render: r.render, meta: r.meta }]));
}

const expected = {
  '/plain': { render: undefined, meta: {} },
  '/on': { render: true, meta: {} },
  '/auto': { render: 'auto', meta: {} },
  '/off': { render: false, meta: { page: 2 } },
  '/wait': { render: { waitFor: 'div.quote', timeoutMs: 5000 }, meta: { page: 3 } },
};

describe('the render option', () => {
  it('refuses what is not one, in a line that names it', () => {
    expect(() => new Request('https://a.test/', { render: { wait: 'x' } as never })).toThrow("render has no option 'wait' (waitFor, timeoutMs)");
    expect(() => new Request('https://a.test/', { render: { timeoutMs: 0 } })).toThrow('render.timeoutMs must be a number of ms above 0');
    expect(() => new Request('https://a.test/', { render: { waitFor: '' } })).toThrow('render.waitFor must be');
    expect(() => new Request('https://a.test/', { render: 'yes' as never })).toThrow("render must be true, false, 'auto' or { waitFor, timeoutMs }");
  });

  it("is the request's own, else the spider's; copies keep it", () => {
    expect(renderOf(undefined, true)).toEqual({});
    expect(renderOf(false, true)).toBeNull();
    expect(renderOf({ waitFor: 500 }, false)).toEqual({ waitFor: 500 });
    expect(renderOf(undefined, false)).toBeNull();
    expect(renderOf(undefined, 'auto')).toBe('auto');
    expect(renderOf(true, 'auto')).toEqual({});
    expect(requestWith(new Request('https://a.test/', { render: { waitFor: 'h1' } }), { headers: { a: 'b' } }).render).toEqual({ waitFor: 'h1' });
  });

  it('survives the SQLite frontier, and meta comes back without its key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crawlkit-render-'));
    const db = openForCrawl(dir, 'r');
    try {
      expect(await roundTrip(createSqliteFrontier(db, 1))).toEqual(expected);
      const stored = db.prepare("SELECT meta FROM requests WHERE url = 'https://a.test/wait'").get() as { meta: string };
      expect(JSON.parse(stored.meta)).toEqual({ page: 3, [RENDER_META_KEY]: { waitFor: 'div.quote', timeoutMs: 5000 } });
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe.skipIf(!hasRedis)('on the Redis frontier (skipped: needs redis-server on the PATH)', () => {
    let server: TestRedis;
    beforeAll(async () => void (server = await startRedis()));
    afterAll(async () => server?.stop());

    it('survives the Redis frontier too', async () => {
      const client = new Redis(server.url);
      const frontier = createRedisFrontier(client, { spider: 'render', runId: 1, workerId: 'w1' });
      try {
        expect(await roundTrip(frontier)).toEqual(expected);
      } finally {
        await frontier.close();
        client.disconnect();
      }
    });
  });
});

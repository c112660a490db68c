/**
 * Link-heavy pages: a page's follow-ups are deduplicated and packed in the
 * worker, and stored over several short transactions, the page marked done in
 * the last; a kill between two of them stores nothing twice on resume. Units
 * on the packer and the splitter, the SQLite frontier replaying a split settle,
 * and the real CLI killed (SIGKILL) in the middle of a 100,000-link page.
 */
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { allFollowUps, followUpPacker, followUpRows, packFollowUps } from '../src/followups.js';
import type { Outcome } from '../src/frontier/frontier.js';
import { createSqliteFrontier } from '../src/frontier/sqlite.js';
import { SETTLE_ROWS, settleSteps } from '../src/frontier/steps.js';
import { openForCrawl } from '../src/storage/database.js';
import { createRun } from '../src/storage/runs.js';
import { CRAWLKIT, spawnCli, runCli, tempProject, waitFor } from './helpers/cli.js';
import { dbFile } from './helpers/db.js';
import { newRequest } from './helpers/frontier.js';
import { startServer } from './helpers/server.js';
import { STATE, tmpStorage, removeDir } from './helpers/crawl.js';

const link = (i: number, extra = {}) => newRequest(`https://a.test/p/${i}`, { parentId: 1, depth: 1, callback: 'parseLeaf', ...extra });

describe('followUpPacker', () => {
  it('keeps each fingerprint of a page once, rows round-trip with every field, dontFilter requests apart', () => {
    const p = followUpPacker();
    for (let i = 0; i < 3_000; i++) p.add(link(i % 1_000));
    p.add(link(5, { meta: '{"from":"x"}', priority: 2 })); // same fingerprint as an earlier row: dropped whatever its fields
    p.add(newRequest('https://b.test/q?x=1', { skipped: 'offsite', headers: '{"x-a":"1"}', meta: '{"n":1}' }));
    const unfiltered = { ...link(7), fp: Buffer.concat([link(7).fp, Buffer.alloc(8, 1)]) };
    p.add(unfiltered);
    p.add(unfiltered);
    const f = p.pack();
    expect(f.count).toBe(1_001);
    expect(f.duplicates).toBe(2_001);
    expect(f.shapes).toHaveLength(2);
    expect(f.fps.byteLength).toBe(20 * 1_001);
    expect(f.unfiltered).toEqual([unfiltered, unfiltered]);
    const rows = followUpRows(f);
    expect(rows.slice(0, 3)).toEqual([link(0), link(1), link(2)]);
    expect(rows[1_000]).toEqual(newRequest('https://b.test/q?x=1', { skipped: 'offsite', headers: '{"x-a":"1"}', meta: '{"n":1}' }));
    expect(followUpRows(f, 500, 502)).toEqual([link(500), link(501)]);
    expect(allFollowUps(f)).toHaveLength(1_003);
  });

  it('a meta JSON cannot hold fails as the page is packed, not at the commit', () => {
    const p = followUpPacker();
    expect(() => p.add(link(1, { meta: { n: 1n } }))).toThrow(/BigInt/);
  });
});

/** A done outcome for request `id` with `n` distinct follow-ups and `items` items. */
const bigDone = (id: number, n: number, items = 3): Extract<Outcome, { kind: 'done' }> => ({
  kind: 'done',
  id,
  status: 200,
  url: `https://a.test/hub/${id}`,
  items: Array.from({ length: items }, (_, i) => JSON.stringify({ hub: id, i })),
  followUps: packFollowUps(Array.from({ length: n }, (_, i) => link(id * 1_000_000 + i))),
});

describe('settleSteps', () => {
  it('splits a big page into steps of at most SETTLE_ROWS rows, links first, the done mark (with the items) last; small outcomes ride along', () => {
    const hub = bigDone(1, 2_345);
    const steps = [...settleSteps([{ kind: 'failed', id: 9, status: 404, reason: 'http:404' }, hub, bigDone(2, 10)])];
    const rows = (o: Outcome) => (o.kind === 'links' ? o.to - o.from : o.kind === 'done' ? o.followUps.count - (o.from ?? 0) + o.items.length + 1 : 1);
    for (const step of steps) expect(step.map(rows).reduce((a, b) => a + b)).toBeLessThanOrEqual(SETTLE_ROWS);
    const flat = steps.flat();
    const mine = flat.filter((o) => o.id === 1);
    // Every row of the hub once, in order, then its done outcome with the rest.
    const ranges = mine.map((o) => (o.kind === 'links' ? [o.from, o.to] : o.kind === 'done' ? [o.from ?? 0, o.followUps.count] : []));
    expect(ranges[0]![0]).toBe(0);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1]);
    expect(ranges.at(-1)![1]).toBe(2_345);
    expect(mine.at(-1)!.kind).toBe('done');
    expect(mine.slice(0, -1).every((o) => o.kind === 'links')).toBe(true);
    expect(steps.length).toBeGreaterThanOrEqual(Math.ceil(2_360 / SETTLE_ROWS));
    expect(flat.filter((o) => o.kind !== 'links').map((o) => o.id)).toEqual([9, 1, 2]);
  });
});

describe('a split settle on the SQLite frontier', () => {
  it('after a kill between steps the page is still in flight with none of its items; settling it again stores each link and item once', () => {
    const dir = tmpStorage();
    try {
      const db = openForCrawl(dir, 'split');
      const run = createRun(db, 'split', {});
      const frontier = createSqliteFrontier(db, run.id);
      frontier.add([newRequest('https://a.test/hub/1')]);
      const [page] = frontier.pop(1, Date.now(), []);
      const outcome = { ...bigDone(page!.id, 1_800), url: page!.url };
      const steps = [...settleSteps([outcome])];
      expect(steps.length).toBe(4);
      // Killed after two steps: part of the links are queued, the page is in flight, nothing of its items is stored.
      for (const step of steps.slice(0, 2)) frontier.settle(step);
      const counts = () => db.prepare('SELECT state, count(*) AS n FROM requests GROUP BY state ORDER BY state').all();
      expect(counts()).toEqual([
        { state: STATE.queued, n: 2 * SETTLE_ROWS },
        { state: STATE.inFlight, n: 1 },
      ]);
      expect(db.prepare('SELECT count(*) AS n FROM items').get()).toEqual({ n: 0 });
      // Resumed: the page goes back to the queue, is fetched and parsed again, and its whole settle runs.
      expect(frontier.requeueInFlight()).toBe(1);
      const [again] = frontier.pop(1, Date.now(), []);
      expect(again!.id).toBe(page!.id);
      let duplicates = 0;
      let queued = 0;
      for (const step of settleSteps([outcome])) ({ duplicates, queued } = ((r) => ({ duplicates: duplicates + r.duplicates, queued: queued + r.queued }))(frontier.settle(step)));
      expect({ duplicates, queued }).toEqual({ duplicates: 2 * SETTLE_ROWS, queued: 1_800 - 2 * SETTLE_ROWS });
      expect(counts()).toEqual([
        { state: STATE.queued, n: 1_800 },
        { state: STATE.done, n: 1 },
      ]);
      expect(db.prepare('SELECT count(*) AS n, count(DISTINCT data) AS d FROM items').get()).toEqual({ n: 3, d: 3 });
      db.close();
    } finally {
      removeDir(dir);
    }
  });
});

/** Links on the hub: LINKS in all, DISTINCT of them different; those to `localhost` are out of scope (recorded, never fetched). */
const LINKS = 100_000;
const DISTINCT = 60_000;
const LEAVES = 20; // on 127.0.0.1: fetched, one item each

describe('the CLI on a page with 100,000 links', () => {
  it('stores its follow-ups over many transactions; killed (SIGKILL) between two, it resumes and stores each distinct link and each item once', async (ctx) => {
    let port = 0;
    let hubHits = 0;
    const hub = (() => {
      const parts = ['<!DOCTYPE html><html><body><h1>hub</h1>'];
      for (let i = 0; i < LEAVES; i++) parts.push(`<a href="/leaf/${i}">leaf</a>\n`);
      for (let i = 0; i < LINKS; i++) parts.push(`<a href="http://localhost:PORT/x/${(i * 7919) % DISTINCT}">x</a>\n`);
      return parts.join('');
    })();
    const server = await startServer((req, res) => {
      const path = req.url ?? '/';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      if (path === '/') {
        hubHits++;
        return void res.end(hub.replaceAll('PORT', String(port)));
      }
      res.end(`<h1>${path}</h1>`);
    });
    port = server.port;
    ctx.onTestFinished(() => server.close());
    const project = await tempProject({
      hub: `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Hub extends Spider {
  override name = 'hub';
  override startUrls = [this.arg('baseUrl') + '/'];
  override async *parse(res: Response) {
    yield { hub: true };
    yield* res.followAll('a', this.parseLeaf);
  }
  async *parseLeaf(res: Response) {
    yield { leaf: res.$('h1').text() };
  }
}
`,
    });
    ctx.onTestFinished(() => project.cleanup());
    const args = ['hub', '-a', `baseUrl=${server.url}`, '--spiders', project.spiders, '--storage', project.storage, '-s', 'allowedDomains=127.0.0.1', '-s', 'workers=1', '-s', 'obeyRobots=false'];

    // Killed as the hub's follow-ups start to be stored, between two of their transactions.
    const proc = spawnCli([...args, '-L', 'debug'], { timeoutMs: 60_000 });
    await waitFor(() => /stored follow-ups \d+-\d+ of \d+ from /.test(proc.stderr()), 50_000, 'the first transaction of the hub\'s follow-ups');
    proc.child.kill('SIGKILL');
    const killed = await proc.result;
    expect(killed.signal).toBe('SIGKILL');
    const [total] = /stored follow-ups \d+-\d+ of (\d+)/.exec(killed.stderr)!.slice(1);
    expect(Number(total)).toBe(DISTINCT + LEAVES); // deduplicated in the worker: 100,020 links, 60,020 distinct
    {
      const db = new Database(dbFile(project.storage, 'hub'), { readonly: true });
      const hubRow = db.prepare("SELECT state FROM requests WHERE url = ?").get(`${server.url}/`) as { state: number };
      const stored = (db.prepare('SELECT count(*) AS n FROM requests WHERE parent_id IS NOT NULL').get() as { n: number }).n;
      const items = db.prepare('SELECT data FROM items').all();
      db.close();
      // Some of the links are stored, not all; the hub is not done and none of its items is stored.
      expect(hubRow.state).toBe(STATE.inFlight);
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThan(DISTINCT + LEAVES);
      expect(items).toEqual([]);
    }

    const r = await runCli([...args, '-L', 'info'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming run 1 of 'hub'/);
    expect(hubHits).toBe(2); // parsed again after the kill
    const db = new Database(dbFile(project.storage, 'hub'), { readonly: true });
    try {
      const rows = db.prepare('SELECT count(*) AS n, count(DISTINCT url) AS urls, count(DISTINCT fp) AS fps FROM requests').get();
      expect(rows).toEqual({ n: 1 + DISTINCT + LEAVES, urls: 1 + DISTINCT + LEAVES, fps: 1 + DISTINCT + LEAVES });
      const states = db.prepare('SELECT state, error, count(*) AS n FROM requests GROUP BY state, error ORDER BY state').all();
      expect(states).toEqual([
        { state: STATE.done, error: null, n: 1 + LEAVES },
        { state: STATE.skipped, error: 'offsite', n: DISTINCT },
      ]);
      const items = (db.prepare('SELECT data FROM items ORDER BY id').all() as { data: string }[]).map((i) => i.data).sort();
      expect(items).toEqual([...Array.from({ length: LEAVES }, (_, i) => JSON.stringify({ leaf: `/leaf/${i}` })), '{"hub":true}'].sort());
    } finally {
      db.close();
    }
  }, 90_000);
});

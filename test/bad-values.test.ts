/**
 * A spider that yields, on different pages, every kind of value JSON cannot
 * store (as an item, inside an item, in a follow-up's meta, headers, body or
 * priority; from the callback, from an item pipeline, and from the item
 * schema's transform), run through the real CLI with parser workers and
 * without, stopped and resumed. Each bad page fails alone with a reason naming
 * the field; every good page's items are stored exactly once.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRAWLKIT, runCli, spawnCli, tempProject, waitFor } from './helpers/cli.js';
import { canonical } from './helpers/db.js';
import { sendRoute, startServer, type TestServer } from './helpers/server.js';

/**
 * Bad pages: the page name, the code its callback runs (after a good item, so a
 * page that fails must store none of its items), and the reason expected.
 */
const BAD: [page: string, code: string, reason: RegExp][] = [
  // Inside an item, from the callback.
  ['item-bigint', 'yield { page, price: 10n }', /item\.price: a BigInt cannot be stored as JSON/],
  ['item-nested-bigint', 'yield { page, a: { b: [1, 2n] } }', /item\.a\.b\[1\]: a BigInt/],
  ['item-circular', 'const o = { page }; o.self = o; yield o', /item(\.self)+: a circular reference/],
  ['item-circular-deep', 'const o = { page, a: [{}] }; o.a[0].up = o.a; yield o', /item\.a\[0\]\.up: a circular reference/],
  ['item-function', 'yield { page, f() {} }', /item\.f: a function/],
  ['item-symbol', "yield { page, s: Symbol('x') }", /item\.s: a Symbol/],
  ['item-nan', 'yield { page, price: Number("abc") }', /item\.price: NaN/],
  ['item-infinity', 'yield { page, ratio: 1 / 0 }', /item\.ratio: Infinity/],
  ['item-map', 'yield { page, m: new Map([["a", 1]]) }', /item\.m: a Map/],
  ['item-set', 'yield { page, s: new Set([1]) }', /item\.s: a Set/],
  ['item-class', 'yield { page, book: new Book() }', /item\.book: a Book/],
  ['item-typed-array', 'yield { page, bytes: new Uint8Array(2) }', /item\.bytes: a Uint8Array/],
  ['item-cheerio', "yield { page, title: res.$('h1') }", /item\.title: a \w+ (instance|object)/],
  ['item-undefined-in-array', 'yield { page, tags: ["a", undefined] }', /item\.tags\[1\]: undefined/],
  ['item-sparse-array', 'yield { page, tags: [1, , 3] }', /item\.tags\[1\]: undefined/],
  ['item-tojson-undefined', 'yield { page, toJSON() { return undefined; } }', /item: toJSON\(\) returned undefined/],
  ['item-tojson-throws', "yield { page, when: { toJSON() { throw new Error('no json'); } } }", /item\.when: toJSON\(\) threw: no json/],
  ['item-getter-throws', "yield { page, get x() { throw new Error('getter boom'); } }", /getter boom/],
  ['item-deep', 'let o = { page }; for (let i = 0; i < 5000; i++) o = { page, o }; yield o', /item(\.o)+…\(\d+ more\)…(\.o)+: a value nested deeper than 1000 levels/],
  ['item-proxy', "yield new Proxy({ page }, { ownKeys() { throw new Error('trap'); } })", /trap/],
  // As the item itself.
  ['as-item-date', 'yield new Date(0)', /item: a Date is not an item/],
  ['as-item-map', 'yield new Map([["page", page]])', /item: a Map is not an item/],
  ['as-item-class', 'yield new Book()', /item: a Book instance is not an item/],
  // Values that are not items at all, and odd things thrown.
  ['yield-string', 'yield "text"', /callback yielded string/],
  ['throw-symbol', "throw Symbol('thrown')", /Symbol\(thrown\)/],
  ['throw-undefined', 'throw undefined', /undefined/],
  // In a follow-up request.
  ['meta-bigint', "yield res.follow('/good/g1', 'parsePage', { meta: { n: 1n } })", /meta\.n: a BigInt/],
  ['meta-circular', "const m = { a: {} }; m.a.m = m; yield res.follow('/good/g1', 'parsePage', { meta: m })", /meta\.a\.m: a circular reference/],
  ['meta-function', "yield res.follow('/good/g1', 'parsePage', { meta: { fn: () => 1 } })", /meta\.fn: a function/],
  ['meta-date', "yield res.follow('/good/g1', 'parsePage', { meta: { since: new Date(0) } })", /meta\.since: a Date/],
  ['meta-map', "yield res.follow('/good/g1', 'parsePage', { meta: { session: new Map() } })", /meta\.session: a Map/],
  ['meta-set', "yield res.follow('/good/g1', 'parsePage', { meta: { seen: new Set() } })", /meta\.seen: a Set/],
  ['meta-class', "yield res.follow('/good/g1', 'parsePage', { meta: { book: new Book() } })", /meta\.book: a Book/],
  ['meta-symbol', "yield res.follow('/good/g1', 'parsePage', { meta: { s: Symbol.iterator } })", /meta\.s: a Symbol/],
  ['meta-nan', "yield res.follow('/good/g1', 'parsePage', { meta: { n: NaN } })", /meta\.n: NaN/],
  ['meta-as-map', "yield res.follow('/good/g1', 'parsePage', { meta: new Map() })", /meta: a Map/],
  ['headers-number', "yield res.follow('/good/g1', 'parsePage', { headers: { 'x-n': 5 } })", /headers\.x-n: a header value must be a string/],
  ['body-object', "yield res.follow('/good/g1', 'parsePage', { method: 'POST', body: { a: 1 } })", /body: must be a string/],
  ['priority-bigint', "yield res.follow('/good/g1', 'parsePage', { priority: 5n })", /priority: must be a finite number/],
  // From an item pipeline, and from the item schema.
  ['pipe-bigint', 'yield { page, via: "pipeline" }', /item\.big: a BigInt/],
  ['pipe-tojson-undefined', 'yield { page, via: "pipeline" }', /item: toJSON\(\) returned undefined/],
  ['pipe-map', 'yield { page, via: "pipeline" }', /pipeline \w+ returned a Map/],
  ['zod-undefined', 'yield { page, via: "schema" }', /item: .*undefined/],
];

/** Good pages: two items each (g1 also follows /meta-target, with a meta). */
const GOOD = Array.from({ length: 12 }, (_, i) => `g${i + 1}`);

const ZOD = import.meta.resolve('zod');

const spiderSource = `import { Spider, Request } from ${JSON.stringify(CRAWLKIT)};
import { z } from ${JSON.stringify(ZOD)};

class Book { constructor() { this.title = 'b'; } }

export default class Bad extends Spider {
  name = 'bad';
  startUrls = [this.arg('baseUrl')];
  itemSchema = z.looseObject({ page: z.string() }).transform((v) => (v.page === 'zod-undefined' ? undefined : v));
  pipelines = [
    function addBig(item) { return item.page === 'pipe-bigint' && item.via ? { ...item, big: 2n ** 70n } : item; },
    function noJson(item) { return item.page === 'pipe-tojson-undefined' && item.via ? { ...item, toJSON: () => undefined } : item; },
    function toMap(item) { return item.page === 'pipe-map' && item.via ? new Map(Object.entries(item)) : item; },
  ];
  async *parse(res) {
    yield* res.followAll('a', this.parsePage);
  }
  async *parsePage(res) {
    const page = new URL(res.url).pathname.split('/').pop();
    yield { page, n: 1, meta: res.meta };
    switch (page) {
${BAD.map(([page, code]) => `      case ${JSON.stringify(page)}: { ${code}; break; }`).join('\n')}
    }
    yield { page, n: 2 };
    // Reached only through this request: its meta must come back as it went.
    if (page === 'g1') yield res.follow('/meta-target', 'parsePage', { meta: { from: page, list: [1, 'two', null, { ok: true, n: -0.5 }], skip: undefined } });
  }
}
`;

let server: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;
let pageHits = 0;

beforeAll(async () => {
  const index = `<!DOCTYPE html><html><body>${[...BAD.map(([p]) => `/bad/${p}`), ...GOOD.map((g) => `/good/${g}`)].map((href) => `<a href="${href}">x</a>`).join('')}</body></html>`;
  server = await startServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/') return sendRoute(req, res, { body: index });
    pageHits++;
    await new Promise((r) => setTimeout(r, 15)); // slow enough to be interrupted half way
    sendRoute(req, res, { body: `<!DOCTYPE html><html><body><h1>${path}</h1></body></html>` });
  });
  project = await tempProject({ bad: spiderSource });
});

afterAll(async () => {
  await server?.close();
  await project?.cleanup();
});

const args = (storage: string, ...extra: string[]) => ['bad', '-a', `baseUrl=${server.url}/`, '--spiders', project.spiders, '--storage', storage, '-s', 'obeyRobots=false', ...extra];

/** The good pages' items, once each; each page's first item holds the meta it was reached with. */
const expectedItems = () => [
  ...GOOD.flatMap((page) => [{ page, n: 1, meta: {} }, { page, n: 2 }]),
  { page: 'meta-target', n: 1, meta: { from: 'g1', list: [1, 'two', null, { ok: true, n: -0.5 }] } },
  { page: 'meta-target', n: 2 },
];

function checkStored(storage: string) {
  const db = new Database(join(storage, 'bad.sqlite'), { readonly: true });
  try {
    const items = (db.prepare('SELECT data FROM items').all() as { data: string }[]).map((r) => JSON.parse(r.data) as object);
    expect(canonical(items)).toEqual(canonical(expectedItems()));
    const failed = db.prepare('SELECT url, error FROM requests WHERE state = 3').all() as { url: string; error: string }[];
    const byPage = new Map(failed.map((f) => [new URL(f.url).pathname.replace('/bad/', ''), f.error]));
    for (const [page, , reason] of BAD) {
      expect(byPage.get(page), page).toMatch(/^callback:error: /);
      expect(byPage.get(page), page).toMatch(reason);
    }
    expect(failed).toHaveLength(BAD.length);
    const queued = db.prepare('SELECT count(*) AS n FROM requests WHERE state IN (0, 1)').get() as { n: number };
    expect(queued.n).toBe(0);
  } finally {
    db.close();
  }
}

describe.concurrent('values JSON cannot store fail their page alone', () => {
  it('with parser workers: the crawl finishes, each bad page fails naming the field, good items are stored once', async () => {
    const storage = join(project.dir, 'storage-workers');
    const r = await runCli(args(storage, '-s', 'workers=2'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/parser worker failed|worker:crashed/);
    expect(r.stderr).toMatch(/parsePage\(\) failed on http:\/\/127\.0\.0\.1:\d+\/bad\/meta-bigint: meta\.n: a BigInt/);
    checkStored(storage);
    const runs = await runCli(['runs', 'bad', '--json', '--storage', storage]);
    const run = JSON.parse(runs.stdout.trim().split('\n').at(-1)!) as { status: string; items: number; stats: { failures: Record<string, number> } };
    expect(run).toMatchObject({ status: 'finished', items: GOOD.length * 2 + 2 });
    expect(run.stats.failures).toEqual({ 'callback:error': BAD.length });
  });

  it('in the main thread (workers=0), stopped half way and resumed: the same, and nothing twice', async () => {
    const storage = join(project.dir, 'storage-inline');
    const hitsBefore = pageHits;
    const first = spawnCli(args(storage, '-s', 'workers=0', '-s', 'concurrency=2'));
    await waitFor(() => pageHits - hitsBefore >= 15, 30_000, 'half the pages');
    first.child.kill('SIGINT');
    const stopped = await first.result;
    expect(stopped.code, stopped.stderr).toBe(130); // interrupted: resume later
    expect(stopped.stderr).toMatch(/Interrupted run 1/);
    const resumed = await runCli(args(storage, '-s', 'workers=0'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/Finished run 1/);
    checkStored(storage);
  });
});

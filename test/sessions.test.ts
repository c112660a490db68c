/**
 * Sessions through the real `crawl` CLI, against one server on 127.0.0.1
 * whose sites (a path prefix each) hand each visitor without a cookie a new
 * `sid`: a pool of three sessions with three cookies and three User-Agents; a
 * site that bans a session after three requests (403), its pages all stored
 * on new sessions; `sessions.banText`; `res.session.retire()` from a callback
 * (in a worker thread); cookies kept across a kill -9; a cluster's workers
 * sharing one jar through Redis.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRAWLKIT, lines, runCli, spawnCli, tempProject, waitFor } from './helpers/cli.js';
import { STATE } from './helpers/crawl.js';
import { readDb } from './helpers/db.js';
import { hasRedis, startRedis, type TestRedis } from './helpers/redis.js';
import { clusterKeys } from '../src/cluster/keys.js';
import { redisSessionStore } from '../src/cluster/sessions.js';
import { silentLogger } from '../src/log.js';
import { openForCrawl } from '../src/storage/database.js';
import { jarChanged } from '../src/session/cookies.js';
import { createSessionPool } from '../src/session/pool.js';
import { sessionSync } from '../src/session/sync.js';
import { startServer, type TestServer } from './helpers/server.js';

const spiderSource = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};

export default class Sess extends Spider {
  override name = 'sess';
  override startUrls = [this.arg('baseUrl')];
  override async *parse(res: Response) {
    // Only the page can tell: the site logged this session out.
    if (res.text.includes('please log in again')) {
      res.session?.retire('logged-out');
      return;
    }
    yield { path: new URL(res.url).pathname, body: res.text };
    yield* res.followAll({ selector: 'a' });
  }
}
`;

/** What a page sees of its visitor, and its links. */
interface Visit {
  site: string;
  page: string;
  /** The visitor's sid: its cookie's, or a new one (then set). */
  sid: number;
  /** The sid's requests so far, this one included. */
  count: number;
  cookie: string;
  ua: string;
}

/** What each site answers: a body, or a status. */
type Site = (v: Visit) => { status?: number; body?: string } | 'hold';

const PAGES = 8;
const index = (site: string) =>
  Array.from({ length: PAGES }, (_, i) => `<a href="/${site}/p${i + 1}">p${i + 1}</a>`).join('') + (site === 'ban' ? '<a href="/ban/always">always</a>' : '');

let server: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;
const visits: Visit[] = [];
const held: (() => void)[] = [];
let holdResume = true;

const sites: Record<string, Site> = {
  // Nothing special: each visitor its sid.
  pc: () => ({}),
  mig: () => ({}),
  // A session is banned after three requests; /ban/always bans whoever asks.
  ban: (v) => (v.page === 'always' || v.count > 3 ? { status: 403, body: 'go away' } : {}),
  // The first sid is shown a captcha after its first page; /mix/p2 logs out the first other sid that asks.
  mix: (v) =>
    v.sid === 1 && v.count > 1
      ? { body: 'solve this captcha' }
      : v.page === 'p2' && visits.filter((w) => w.site === 'mix' && w.page === 'p2' && w.sid !== 1).length === 1
        ? { body: 'please log in again' }
        : {},
  // The pages need the cookie the index set; p1 waits while the test kills the crawl.
  res: (v) => (v.page === 'p1' && holdResume ? 'hold' : {}),
  // A cluster: the pages need the index's cookie.
  cl: () => ({}),
};
const sids = new Map<string, number>();

beforeAll(async () => {
  server = await startServer((req, res) => {
    const [, site = '', page = ''] = (req.url ?? '/').split('?')[0]!.split('/');
    if (!sites[site]) return void res.writeHead(404).end();
    const cookie = req.headers.cookie ?? '';
    const given = /(?:^|; )sid=(\d+)/.exec(cookie)?.[1];
    const sid = given ? Number(given) : (sids.set(site, (sids.get(site) ?? 0) + 1), sids.get(site)!);
    const visit: Visit = { site, page: page || 'index', sid, count: visits.filter((v) => v.site === site && v.sid === sid).length + 1, cookie, ua: req.headers['user-agent'] ?? '' };
    visits.push(visit);
    const answer = sites[site]!(visit);
    const send = ({ status = 200, body }: { status?: number; body?: string }) => {
      res.writeHead(status, { 'content-type': 'text/html', ...(given ? {} : { 'set-cookie': `sid=${sid}; Path=/` }) });
      res.end(body ?? `<p>sid=${sid} cookie=${cookie} ua=${visit.ua}</p>${visit.page === 'index' ? index(site) : ''}`);
    };
    if (answer === 'hold') held.push(() => send({}));
    else send(answer);
  });
  project = await tempProject({ sess: spiderSource });
});

afterAll(async () => {
  for (const release of held) release();
  await server?.close();
  await project?.cleanup();
});

const crawlArgs = (site: string, storage: string, ...settings: string[]) => [
  'sess',
  '--spiders',
  project.spiders,
  '-a',
  `baseUrl=${server.url}/${site}/`,
  '--storage',
  storage,
  '-s',
  'obeyRobots=false',
  '-s',
  'concurrency=1',
  '-s',
  'retry.baseDelayMs=10',
  ...settings.flatMap((s) => ['-s', s]),
];
const of = (site: string) => visits.filter((v) => v.site === site);
const statsOf = (storage: string) => {
  const db = new Database(join(storage, 'sess.sqlite'), { readonly: true });
  try {
    const stats = JSON.parse((db.prepare('SELECT stats FROM runs ORDER BY id DESC LIMIT 1').get() as { stats: string }).stats) as Record<string, unknown>;
    const sessions = db.prepare('SELECT id, requests, retired, jar FROM sessions ORDER BY id').all() as { id: string; requests: number; retired: string | null; jar: string }[];
    return { stats, sessions };
  } finally {
    db.close();
  }
};

// Each test its own site and storage: they run side by side.
describe.concurrent('sessions', () => {
  it('gives each session of the pool its own cookies and its own User-Agent, kept for its life', async () => {
    const storage = join(project.dir, 'pc');
    const r = await runCli(crawlArgs('pc', storage, 'sessions.size=3', 'userAgents=ua-a/1,ua-b/1,ua-c/1'), { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const seen = of('pc');
    expect(seen).toHaveLength(PAGES + 1);
    expect(sids.get('pc')).toBe(3); // three visitors, each set a cookie once
    expect(seen.slice(3).every((v) => v.cookie === `sid=${v.sid}`)).toBe(true);
    const uaOf = new Map<number, Set<string>>();
    for (const v of seen) uaOf.set(v.sid, (uaOf.get(v.sid) ?? new Set()).add(v.ua));
    expect([...uaOf.values()].map((s) => [...s])).toEqual([['ua-a/1'], ['ua-b/1'], ['ua-c/1']]);
    expect(r.stderr).toMatch(/sessions +3 used, 0 retired/);
    expect(statsOf(storage).sessions.map((s) => [s.id, s.requests])).toEqual([['1.1', 3], ['2.1', 3], ['3.1', 3]]);
  });

  it('migrates a database of schema 5 (before sessions): the run keeps its sessions in it', async () => {
    const storage = join(project.dir, 'mig');
    // Schema 5 is schema 7 without the sessions table (6) and the tables 7 added.
    const old = openForCrawl(storage, 'sess');
    old.exec('DROP TABLE sessions; DROP TABLE render_patterns; DROP TABLE screenshots; DROP TABLE run_status; ALTER TABLE runs DROP COLUMN item_key; PRAGMA user_version = 5;');
    old.close();
    const r = await runCli(crawlArgs('mig', storage, 'sessions.size=2'), { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const db = new Database(join(storage, 'sess.sqlite'), { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(7);
      expect(db.prepare('SELECT run_id, id FROM sessions ORDER BY id').all()).toEqual([
        { run_id: 1, id: '1.1' },
        { run_id: 1, id: '2.1' },
      ]);
    } finally {
      db.close();
    }
  });

  it('retires a session the site bans (403) and retries on a new one: every page stored, the bans in the summary and crawl failures', async () => {
    const storage = join(project.dir, 'ban');
    const r = await runCli(crawlArgs('ban', storage, 'sessions.size=2'), { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const items = readDb(storage, 'sess').items.map((i) => i.data.path);
    expect(items.sort()).toEqual(['/ban/', ...Array.from({ length: PAGES }, (_, i) => `/ban/p${i + 1}`)].sort());
    expect(of('ban').filter((v) => v.page === 'always')).toHaveLength(4); // retry.maxAttempts, each on a new session
    const { stats, sessions } = statsOf(storage);
    const retired = sessions.filter((s) => s.retired !== null);
    expect(retired.length).toBeGreaterThanOrEqual(6);
    expect(retired.every((s) => s.retired === 'banned:403')).toBe(true);
    expect([stats.sessionsRetired, stats.bans, stats.failures]).toEqual([retired.length, { 'banned:403': retired.length }, { 'banned:403': 1 }]);
    expect(r.stderr).toMatch(new RegExp(`sessions +${sessions.length} used, ${retired.length} retired \\(bans: banned:403: ${retired.length}\\)`));
    const failures = await runCli(['failures', 'sess', '--storage', storage], { cwd: project.dir });
    expect(lines(failures.stdout)).toEqual([expect.stringMatching(new RegExp(`^banned:403 +403 +4 attempts +${server.url}/ban/always$`))]);
  });

  it('bans on sessions.banText, and on res.session.retire() from a callback: the page retried on a new session, its first answer dropped', async () => {
    const storage = join(project.dir, 'mix');
    const r = await runCli(crawlArgs('mix', storage, 'sessions.banText=captcha'), { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const items = readDb(storage, 'sess').items.map((i) => i.data);
    expect(items).toHaveLength(PAGES + 1);
    expect(items.filter((i) => /captcha|log in/.test(String(i.body)))).toEqual([]);
    expect(of('mix').filter((v) => v.page === 'p2' && v.sid !== 1)).toHaveLength(2);
    const { stats, sessions } = statsOf(storage);
    // Requests bound to the first session before its first ban came back are banned too (their count varies); it is retired once.
    expect(stats.bans).toEqual({ 'banned:text': expect.any(Number), 'banned:logged-out': 1 });
    expect(sessions.map((s) => s.retired).filter(Boolean).sort()).toEqual(['banned:logged-out', 'banned:text']);
  });

  it('keeps the cookies across a kill -9: the resumed crawl sends them', async () => {
    const storage = join(project.dir, 'res');
    const proc = spawnCli(crawlArgs('res', storage), { cwd: project.dir, timeoutMs: 60_000 });
    // Killed once the index is stored and its session's jar written (at most a second later), p1 hanging meanwhile.
    await waitFor(() => held.length > 0, 30_000, 'p1 to be asked for');
    const jarWritten = () => {
      try {
        return statsOf(storage).sessions.some((s) => s.jar.includes('"sid"'));
      } catch {
        return false;
      }
    };
    await waitFor(jarWritten, 15_000, 'the jar to be written');
    proc.child.kill('SIGKILL');
    await proc.result;
    holdResume = false;
    const r = await runCli(crawlArgs('res', storage), { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming run 1/);
    const later = of('res').filter((v) => v.page !== 'index');
    expect(later.length).toBeGreaterThanOrEqual(PAGES);
    expect(later.filter((v) => v.cookie !== 'sid=1')).toEqual([]);
    expect(readDb(storage, 'sess').states).toEqual({ [STATE.done]: PAGES + 1 });
    for (const send of held.splice(0)) send(); // the killed crawl's p1: its socket is gone
  });
});

describe.skipIf(!hasRedis)('sessions in a cluster', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('converge: cookies two workers set at once are merged, a retirement reaches both, and both name the successor alike', async () => {
    const client = new Redis(redis.url);
    try {
      const worker = () => {
        const pool = createSessionPool({ size: 1, cookies: true, userAgents: [] });
        return { pool, sync: sessionSync(pool, redisSessionStore(client, clusterKeys('converge'), 1), silentLogger) };
      };
      const [a, b] = [worker(), worker()];
      const set = (w: typeof a, cookie: string) => {
        const session = w.pool.pick();
        session.jar!.setCookieSync(cookie, 'http://127.0.0.1/');
        jarChanged(session.jar!);
        return session;
      };
      const sent = (w: typeof a) => w.pool.pick().jar!.getCookieStringSync('http://127.0.0.1/');
      set(a, 'x=1');
      await a.sync.flush();
      await b.sync.flush();
      expect(sent(b)).toBe('x=1');
      set(a, 'y=2');
      set(b, 'z=3');
      set(b, 'x=4');
      await a.sync.flush();
      await b.sync.flush();
      await a.sync.flush();
      expect([sent(a), sent(b)].map((c) => c.split('; ').sort().join('; '))).toEqual(['x=4; y=2; z=3', 'x=4; y=2; z=3']);
      const first = a.pool.pick();
      expect(a.pool.retire(first, 'banned:403')).toBe(true);
      await a.sync.flush();
      await b.sync.flush();
      const [next, other] = [a.pool.pick(), b.pool.pick()];
      expect([first.id, next.id, other.id]).toEqual(['1.1', '1.2', '1.2']);
      expect([sent(a), sent(b)]).toEqual(['', '']);
    } finally {
      client.disconnect();
    }
  });

  it("share one jar: a worker that joins sends the cookie another worker's response set", async () => {
    // Worker A fetches the index (its cookie set) and holds p-pages until B has joined.
    let release = false;
    sites.cl = (v) => (v.page !== 'index' && !release && v.ua.startsWith('workerA') ? 'hold' : {});
    const args = (name: string) => [...crawlArgs('cl', join(project.dir, `cl-${name}`), `userAgent=${name}/1`), '--frontier', redis.url];
    const a = spawnCli(args('workerA'), { cwd: project.dir, timeoutMs: 30_000 });
    const client = new Redis(redis.url);
    try {
      await waitFor(() => held.length > 0, 30_000, 'worker A to ask for a page');
      // A's jar in Redis: written within a second of the index's Set-Cookie.
      const cookieStored = async () => {
        const [key] = await client.keys('crawlkit:{sess}:run:*:sessions');
        return key !== undefined && Object.keys(await client.hgetall(key)).some((f) => f.startsWith('c:'));
      };
      for (let t = 0; !(await cookieStored()); t++) {
        expect(t, "A's cookie in Redis").toBeLessThan(300);
        await new Promise((r) => setTimeout(r, 50));
      }
      const b = spawnCli(args('workerB'), { cwd: project.dir, timeoutMs: 30_000 });
      await waitFor(() => of('cl').some((v) => v.ua.startsWith('workerB')), 30_000, 'worker B to ask for a page');
      release = true;
      for (const send of held.splice(0)) send();
      const done = await b.result;
      expect(done.code, done.stderr).toBe(0);
      expect((await a.result).code).toBe(0);
    } finally {
      client.disconnect();
    }
    const pages = of('cl').filter((v) => v.page !== 'index');
    expect(pages.filter((v) => v.ua.startsWith('workerB')).length).toBeGreaterThan(0);
    expect(pages.filter((v) => v.cookie !== 'sid=1')).toEqual([]);
    expect(sids.get('cl')).toBe(1);
  });
});

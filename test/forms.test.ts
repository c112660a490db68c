/**
 * Logins, forms and JSON APIs through the real CLI, against the forms
 * fixture site (test/fixtures/forms.ts): the README's example spiders
 * (examples/spiders), and spiders written here for the two-step form, the
 * multipart form and the bad inputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFormsServer, type FormsServer } from './fixtures/forms.js';
import { CRAWLKIT, lines, ROOT, runCli, stackLines, tempDir, tempProject, type CliResult } from './helpers/cli.js';
import { readDb } from './helpers/db.js';
import { fastSettings } from './helpers/crawl.js';
import { startServer } from './helpers/server.js';
import { crawl, Request, Spider, StartError, type Response } from '../src/index.js';

let site: FormsServer;
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  site = await startFormsServer();
});
afterAll(async () => {
  await site.close();
  for (const cleanup of cleanups) await cleanup();
  const { rm } = await import('node:fs/promises');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const EXAMPLES = join(ROOT, 'examples', 'spiders');
/** One attempt, short timeouts, callbacks in the main thread (a worker thread costs a second per run; the two-step form runs in one). */
const FAST = ['-s', 'retry.maxAttempts=1', '-s', 'timeouts.requestMs=5000', '-s', 'workers=0'];

async function storage(): Promise<string> {
  const dir = await tempDir();
  dirs.push(dir);
  return join(dir, 'storage');
}

const itemsOf = (dir: string, spider: string) => readDb(dir, spider).items.map((i) => i.data);

/** A spider file written for one test, run with the CLI; returns the result and its storage. */
async function runSpider(name: string, body: string, args: string[] = []): Promise<{ r: CliResult; storage: string }> {
  const project = await tempProject({
    [name]: `import { Request, Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class extends Spider {
  override name = ${JSON.stringify(name)};
  base = this.arg('base');
${body}
}
`,
  });
  cleanups.push(project.cleanup);
  const r = await runCli([name, '--spiders', project.spiders, '--storage', project.storage, '-a', `base=${site.url}`, ...FAST, ...args]);
  return { r, storage: project.storage };
}

const hits = (path: string, method?: string) => site.received.filter((r) => r.path === path && (method === undefined || r.method === method)).length;

describe('logins from start()', () => {
  it('the fixture refuses a login POST without the session cookie, or with another CSRF token', async () => {
    const page = await fetch(`${site.url}/login`);
    const sid = /sid=[^;]+/.exec(page.headers.get('set-cookie') ?? '')![0];
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const post = (body: string, cookie?: string) =>
      fetch(`${site.url}/login`, { method: 'POST', body, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) } });
    expect((await post(`csrf=${csrf}&username=ada&password=lovelace`)).status).toBe(403);
    expect((await post(`csrf=wrong&username=ada&password=lovelace`, sid)).status).toBe(403);
    expect((await post(`csrf=${csrf}&username=ada&password=lovelace`, sid)).status).toBe(303);
  });

  it('the README example logs in (CSRF token, session cookie) and crawls the members with the session', async () => {
    const dir = await storage();
    const r = await runCli(['members', '--spiders', EXAMPLES, '--storage', dir, '-a', `base=${site.url}`, ...FAST], { env: { MEMBERS_PASSWORD: 'lovelace' } });
    expect(r.code, r.stderr).toBe(0);
    // In the order the member pages completed: fetched at once, any order.
    expect(itemsOf(dir, 'members').sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual([
      { name: 'Ada Lovelace', role: 'analyst' },
      { name: 'Charles Babbage', role: 'engineer' },
      { name: 'Mary Somerville', role: 'mentor' },
    ]);
    const login = site.received.findLast((q) => q.path === '/login' && q.method === 'POST')!;
    expect(login.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(login.headers.cookie).toMatch(/^sid=/);
    expect(login.headers.referer).toBe(`${site.url}/login`);
    expect(login.body).toMatch(/^csrf=[0-9a-f]+&username=ada&password=lovelace&remember=yes&action=login$/);
    // The password went to the site, and nowhere into the database: a login from start() is not a stored request.
    for (const file of readdirSync(dir)) expect(readFileSync(join(dir, file)).includes('lovelace'), file).toBe(false);
  });

  it('a refused login ends the run with one line, exit 1, nothing crawled', async () => {
    const dir = await storage();
    const members = hits('/members/');
    const r = await runCli(['members', '--spiders', EXAMPLES, '--storage', dir, '-a', `base=${site.url}`, ...FAST], { env: { MEMBERS_PASSWORD: 'wrong' } });
    expect(r.code, r.stderr).toBe(1);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(lines(r.stderr).filter((l) => l.startsWith('crawl: error:'))).toEqual(['crawl: error: start() failed: login refused: Invalid username or password']);
    expect(hits('/members/')).toBe(members);
    const db = readDb(dir, 'members');
    expect(db.items).toEqual([]);
    expect(db.states).toEqual({});
    expect(db.runs.map((run) => run.status)).toEqual(['failed']);
  });

  it('a fetch that fails in start() is start()\'s failure, naming the URL and the reason (the API)', async () => {
    class Lost extends Spider {
      override name = 'lost';
      override async *start() {
        await this.fetch(`${site.url}/nowhere`);
        yield site.url;
      }
    }
    const dir = await storage();
    const err = await crawl(new Lost(), { settings: fastSettings(dir) }).run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartError);
    expect((err as Error).message).toBe(`start() failed: ${site.url}/nowhere answered 404 (http:404; -s handleStatuses=404 lets fetch() return it)`);
    expect(readDb(dir, 'lost').runs.map((run) => run.status)).toEqual(['failed']);
  });

  it('fetch() in start() waits out a retry and follows a redirect, as a crawl would, and returns the final response (the API)', async () => {
    let flaky = 0;
    const server = await startServer((req, res) => {
      if (req.url === '/flaky') {
        if (flaky++ === 0) return void res.writeHead(503, { 'retry-after': '0' }).end('busy');
        return void res.writeHead(302, { location: '/landing' }).end();
      }
      res.end(req.url === '/landing' ? 'landed' : '<p>start</p>');
    });
    class Retried extends Spider {
      override name = 'retried';
      override async *start() {
        const res = await this.fetch(`${server.url}/flaky`);
        yield new Request(`${server.url}/`, { meta: { got: res.text, url: res.url, status: res.status } });
      }
      override async *parse(res: Response) {
        yield res.meta;
      }
    }
    try {
      const dir = await storage();
      const items = [];
      for await (const item of crawl(new Retried(), { settings: fastSettings(dir, { retry: { maxAttempts: 2, baseDelayMs: 10 } }) })) items.push(item);
      expect(items).toEqual([{ got: 'landed', url: `${server.url}/landing`, status: 200 }]);
      expect(flaky).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('a host fetched in start() is in the crawl\'s scope, as a start URL is, and its cookies go with the crawl (the API)', async () => {
    // The login is on 127.0.0.2, the start URL on 127.0.0.1: the members' link to 127.0.0.2 is offsite unless the fetch counts.
    const other = await startFormsServer({ host: '127.0.0.2' });
    const start = await startServer((_req, res) => void res.end('<p>start</p>'));
    class Scoped extends Spider {
      override name = 'scoped';
      override async *start() {
        const login = await this.fetch(`${other.url}/login`);
        await this.fetch(login.submitForm({ username: 'ada', password: 'lovelace' }));
        yield `${start.url}/`;
      }
      override async *parse() {
        yield new Request(`${other.url}/members/`, { callback: 'parseMembers' });
      }
      async *parseMembers(res: Response) {
        yield { welcome: res.$('.welcome').text().trim() };
      }
    }
    try {
      const dir = await storage();
      const items = [];
      for await (const item of crawl(new Scoped(), { settings: fastSettings(dir) })) items.push(item);
      expect(items).toEqual([{ welcome: 'Welcome, ada! Log out' }]);
    } finally {
      await Promise.all([other.close(), start.close()]);
    }
  });
});

describe('forms', () => {
  it('an ASP.NET-style two-step form (in a worker thread): the second POST carries the first answer\'s __VIEWSTATE and the clicked button', async () => {
    const { r, storage: dir } = await runSpider(
      'aspx',
      `  override startUrls = [\`\${this.base}/search.aspx\`];
  override async *parse(res: Response) {
    yield res.submitForm({}, { callback: this.parseCities }); // the first country, the only button
  }
  async *parseCities(res: Response) {
    yield res.submitForm({ ddlCity: 'nantes' }, { submitter: 'btnSearch', callback: this.parseResults });
  }
  async *parseResults(res: Response) {
    for (const li of res.$('li.result').toArray()) yield { result: res.$(li).text() };
  }`,
      ['-s', 'workers=1'],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(itemsOf(dir, 'aspx')).toEqual([{ result: 'bakery in nantes' }, { result: 'bookshop in nantes' }]);
    const [first, second] = site.received.filter((q) => q.path === '/search.aspx' && q.method === 'POST').slice(-2);
    expect(new URLSearchParams(first!.body).get('ddlCountry')).toBe('fr');
    const step2 = new URLSearchParams(second!.body);
    expect([...step2.keys()]).toEqual(['__VIEWSTATE', '__EVENTVALIDATION', 'ddlCountry', 'ddlCity', 'btnSearch']);
    expect(step2.get('__VIEWSTATE')).not.toBe(new URLSearchParams(first!.body).get('__VIEWSTATE'));
  });

  it('a multipart form: every field and the file, parsed by the server as multipart', async () => {
    const { r, storage: dir } = await runSpider(
      'upload',
      `  override startUrls = [\`\${this.base}/upload\`];
  override async *parse(res: Response) {
    const attachment = { filename: 'notes "v2".txt', content: 'hello\\nworld', contentType: 'text/plain' };
    yield res.submitForm({ title: 'Report', attachment }, { callback: this.parseAnswer });
  }
  async *parseAnswer(res: Response) {
    yield res.json<Record<string, unknown>>();
  }`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(itemsOf(dir, 'upload')).toEqual([
      {
        token: 'up-42',
        title: 'Report',
        notes: 'first line\r\nsecond line',
        public: 'on',
        kind: 'invoice',
        attachment: { name: 'notes "v2".txt', type: 'text/plain', content: 'hello\nworld' },
      },
    ]);
  });

  it('bad input fails its page alone, with a message naming the page and what is wrong', async () => {
    const { r, storage: dir } = await runSpider(
      'bad',
      `  override startUrls = ['/no-form', '/login', '/upload', '/api/broken', '/search.aspx', '/?fetch', '/'].map((p) => this.base + p);
  override async *parse(res: Response) {
    const { pathname, search } = new URL(res.url);
    const path = pathname + search;
    if (path === '/no-form') yield res.submitForm();
    if (path === '/login') yield res.submitForm({}, { selector: 'form#missing' });
    if (path === '/upload') yield res.submitForm({ attachment: 'notes.txt' });
    if (path === '/api/broken') yield res.json<{ items: unknown[] }>();
    if (path === '/search.aspx') yield res.submitForm({}, { submitter: 'btnNope' });
    if (path === '/?fetch') yield { fetched: (await this.fetch(this.base + '/login')).url };
    if (path === '/') yield { ok: true };
  }`,
      ['-s', 'obeyRobots=false'],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(itemsOf(dir, 'bad')).toEqual([{ ok: true }]);
    const failures = await runCli(['failures', 'bad', '--storage', dir, '--json']);
    const u = site.url;
    const byPath = Object.fromEntries(
      lines(failures.stdout).map((l) => {
        const f = JSON.parse(l) as { url: string; reason: string; message: string };
        expect(f.reason).toBe('callback:error');
        return [f.url.slice(u.length), f.message];
      }),
    );
    expect(byPath).toEqual({
      '/no-form': `FormError: submitForm: ${u}/no-form has no <form>`,
      '/login': `FormError: submitForm: selector "form#missing" matches nothing on ${u}/login`,
      '/upload': `FormError: submitForm: field "attachment" on ${u}/upload is a file input: give it as { filename, content } (a request's body cannot read a file by name)`,
      '/api/broken': expect.stringMatching(
        new RegExp(`^NotJsonError: the body of ${u}/api/broken is not JSON \\(content-type text/html; charset=utf-8, status 200\\): Unexpected token`),
      ),
      '/search.aspx': `FormError: submitForm: submitter "btnNope" is no submit button of the form on ${u}/search.aspx (its buttons: btnNext)`,
      '/?fetch': `ConfigError: fetch("${u}/login"): spider 'bad' fetches only in start(), while a crawl runs it; a callback yields a Request instead`,
    });
  });
});

describe('JSON APIs', () => {
  it('the README example pages through a cursor API with JSON requests from an async generator', async () => {
    const dir = await storage();
    const before = site.received.length;
    const r = await runCli(['catalog', '--spiders', EXAMPLES, '--storage', dir, '-a', `base=${site.url}`, ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const items = itemsOf(dir, 'catalog');
    expect(items.map((i) => i.rank)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(items.every((i) => String(i.name).includes('tea'))).toBe(true);
    const api = site.received.slice(before).filter((q) => q.path === '/api/search');
    expect(api).toHaveLength(3);
    for (const q of api) {
      expect(q.method).toBe('POST');
      expect(q.headers['content-type']).toBe('application/json');
      expect(q.headers.accept).toBe('application/json');
    }
    expect(api.map((q) => JSON.parse(q.body) as unknown)).toEqual([{ q: 'tea' }, { q: 'tea', cursor: 'Mw' }, { q: 'tea', cursor: 'Ng' }]);
  });
});

describe('the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  it.each(['members', 'catalog'])('shows examples/spiders/%s.ts as it runs here', (name) => {
    const source = readFileSync(join(EXAMPLES, `${name}.ts`), 'utf8');
    const body = source.slice(source.indexOf('\n', source.indexOf("from '../../src/index.js'")) + 1).trim();
    expect(readme).toContain(`import { Request, Spider, type Response } from 'crawlkit-ts';\n\n${body}\n`);
  });
});

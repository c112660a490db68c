/**
 * A session's cookies reach the browser through the real CLI: a cookie set
 * over plain HTTP on one page is in the browser's context when a later page
 * of the same session renders, so the page's own script call carries it
 * (issue 14: "a fresh context per session, cookies shared with the HTTP
 * session"). Without a Chromium the test skips, and its title says so.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from './helpers/browser.js';
import { CRAWLKIT, runCli, tempProject } from './helpers/cli.js';
import { readDb } from './helpers/db.js';
import { startServer, type TestServer } from './helpers/server.js';


const html = (body: string) => `<!DOCTYPE html><html><head><title>t</title></head><body>${body}</body></html>`;

/** /login sets the session cookie (HttpOnly: only the context, not the page's script, can send it); /members renders what /api/me answers. */
function site(): Promise<TestServer> {
  return startServer((req, res) => {
    const cookie = req.headers.cookie ?? '';
    const path = req.url ?? '/';
    if (path === '/robots.txt') return void res.writeHead(404).end();
    if (path === '/login') {
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'sid=s3ss10n; Path=/; HttpOnly' });
      return void res.end(html('<a href="/members">members</a>'));
    }
    if (path === '/logout') {
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'sid=; Path=/; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:00 GMT' });
      return void res.end(html('<p>bye</p>'));
    }
    if (path === '/api/me') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ name: /(?:^|; )sid=s3ss10n(?:;|$)/.test(cookie) ? 'Ada' : 'nobody' }));
    }
    if (path === '/members' || path === '/members?again') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end(html(`<p id="me">…</p><script>fetch('/api/me').then((r) => r.json()).then((me) => { document.getElementById('me').textContent = me.name; document.getElementById('me').className = 'done'; });</script>`));
    }
    res.writeHead(404).end();
  });
}

const spider = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Members extends Spider {
  override name = 'members';
  override startUrls = [this.arg('base') + 'login'];
  override settings = { obeyRobots: false };
  override async *parse(res: Response) {
    yield res.follow('/members', 'parseMembers', { render: { waitFor: 'p.done' } });
  }
  async *parseMembers(res: Response) {
    yield { me: res.$('#me').text(), session: res.session?.id ?? 'none' };
  }
}
`;

/** Logs in over HTTP, renders /members, logs out over HTTP, renders /members again: one session, one after the other. */
const logout = `import { Spider, type Response } from ${JSON.stringify(CRAWLKIT)};
export default class Logout extends Spider {
  override name = 'logout';
  override startUrls = [this.arg('base') + 'login'];
  override settings = { obeyRobots: false };
  override async *parse(res: Response) {
    yield res.follow('/members', 'parseMembers', { render: { waitFor: 'p.done' } });
  }
  async *parseMembers(res: Response) {
    yield { me: res.$('#me').text() };
    if (!res.url.endsWith('again')) yield res.follow('/logout', 'parseLogout');
  }
  async *parseLogout(res: Response) {
    yield res.follow('/members?again', 'parseMembers', { render: { waitFor: 'p.done' } });
  }
}
`;

let server: TestServer;
let project: Awaited<ReturnType<typeof tempProject>>;
beforeAll(async () => {
  server = await site();
  project = await tempProject({ members: spider, logout });
});
afterAll(async () => {
  await Promise.all([server?.close(), project?.cleanup()]);
});

describe.skipIf(!hasChromium)(hasChromium ? 'a session in the browser' : 'a session in the browser: SKIPPED, no Chromium on PATH (apt-get install chromium)', () => {
  it('a cookie set over HTTP goes with the session into the browser: the rendered page’s own call carries it', async () => {
    const storage = join(project.dir, 'storage');
    const r = await runCli(['run', 'members', '--spiders', project.spiders, '--storage', storage, '-a', `base=${server.url}/`], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    // The rendered page's callback sees its session, as a page fetched over HTTP does (res.session.retire() works there too).
    expect(readDb(storage, 'members').items.map((i) => i.data)).toEqual([{ me: 'Ada', session: '1.1' }]);
    const api = server.requests.filter((q) => q.path === '/api/me');
    expect(api).toHaveLength(1);
    expect(api[0]!.headers.cookie).toMatch(/sid=s3ss10n/);
  });

  it('a cookie the jar drops over HTTP is not sent by the session’s next rendered page, though its browser context is kept', async () => {
    const storage = join(project.dir, 'storage-logout');
    const r = await runCli(['run', 'logout', '--spiders', project.spiders, '--storage', storage, '-a', `base=${server.url}/`], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    // Logged in for the first rendered page; the second starts from the jar, where /logout expired the cookie.
    expect(readDb(storage, 'logout').items.map((i) => i.data)).toEqual([{ me: 'Ada' }, { me: 'nobody' }]);
  });
});

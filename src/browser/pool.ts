/**
 * The browser of a process: one Chromium, at most `browser.maxPages` pages
 * open at once, a context per session (kept while the browser lives),
 * replaced by a fresh browser after `browser.restartAfterPages` pages (the old one closes once its last page
 * has) or as soon as it dies. A browser that dies fails only the pages it
 * held: their leases say `crashed()`, and the next page gets a new browser.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { CookieJar } from 'tough-cookie';
import type { Logger } from '../log.js';
import type { SessionRef } from '../middleware/chain.js';
import type { BrowserSettings } from '../settings.js';
import { cookiesIntoContext, cookiesIntoJar } from './cookies.js';
import { launchBrowser } from './launch.js';
import type { LivePage } from './page.js';

/** A page of the pool, held until closed. */
export interface PageLease extends LivePage {
  readonly page: Page;
  /** Whether the browser holding the page died (crashed or was killed) before the page was closed. */
  crashed(): boolean;
  /** Closes the page (its session's cookies go back to the jar first) and frees its slot; safe to call twice. */
  close(): Promise<void>;
}

/** The browser pool of a process. */
export interface BrowserPool {
  /**
   * A new page, once fewer than `maxPages` are open, in the context of
   * `session` (with its cookies for `url`), or the default context when there is none.
   * @throws {@link BrowserUnavailableError} when no browser can be launched.
   */
  open(session: SessionRef | undefined, url: string): Promise<PageLease>;
  /** Browsers launched so far (restarts and crashes included). */
  readonly launches: number;
  /** Closes every browser. */
  close(): Promise<void>;
}

/** One browser, from launch to close. */
interface Generation {
  browser: Browser;
  /** The context of pages without a session: cookies a page sets are there for the next. */
  shared: Promise<BrowserContext> | undefined;
  /** The context of each session with a jar, by session id, kept for the browser's life. */
  sessions: Map<string, SessionContext>;
  served: number;
  open: number;
  crashed: boolean;
  /** Served its pages: closed once the last of them is. */
  retired: boolean;
  closing: boolean;
}

/** A counting semaphore: `maxPages` slots, waiters served in order. */
function slots(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    acquire: (): Promise<void> | void => {
      if (free > 0) return void free--;
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release(): void {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}

/** The browsers of a pool: the live one, launched on demand, and those still closing their pages. */
function browsers(settings: BrowserSettings, log: Logger) {
  const all = new Set<Generation>();
  /** The browser new pages open in; none before the first page, after a crash or once it has served its pages. */
  let live: Generation | undefined;
  let launching: Promise<Generation> | undefined;
  let launches = 0;

  const shutdown = (gen: Generation): Promise<void> => {
    gen.closing = true;
    all.delete(gen);
    return gen.browser.close().catch(() => {});
  };

  const launch = async (): Promise<Generation> => {
    const browser = await launchBrowser(settings);
    launches++;
    const gen: Generation = { browser, shared: undefined, sessions: new Map(), served: 0, open: 0, crashed: false, retired: false, closing: false };
    all.add(gen);
    browser.on('disconnected', () => {
      if (gen.closing) return;
      gen.crashed = true;
      all.delete(gen);
      if (live === gen) live = undefined;
      log.warn(`the browser died with ${gen.open} page(s) open: they are retried in a new one`);
    });
    return gen;
  };

  return {
    launches: () => launches,
    /** The live browser, launched if there is none (once, however many pages wait for it); a failed launch is tried again by the next page. */
    live(): Promise<Generation> {
      if (live) return Promise.resolve(live);
      launching ??= launch().then(
        (gen) => {
          launching = undefined;
          return (live = gen);
        },
        (err: unknown) => {
          launching = undefined;
          throw err;
        },
      );
      return launching;
    },
    /** Counts a page in; a browser that has served its pages takes no more, and closes once the last is closed. */
    enter(gen: Generation): void {
      gen.open++;
      if (++gen.served >= settings.restartAfterPages) {
        gen.retired = true;
        if (live === gen) live = undefined;
      }
    },
    async leave(gen: Generation): Promise<void> {
      gen.open--;
      if (gen.retired && gen.open === 0) await shutdown(gen);
    },
    async close(): Promise<void> {
      await launching?.catch(() => {});
      live = undefined;
      await Promise.all([...all].map(shutdown));
    },
  };
}

/** A session's context and its pages open now. */
interface SessionContext {
  context: Promise<BrowserContext>;
  open: number;
}

/**
 * The context of a session with a jar in `gen`, made on its first page and
 * kept for the next: a context per page cost 15% more CPU and 30% fewer
 * pages/s (bench scenario f). With none of its pages open, its cookies are
 * cleared before the jar's for `url` go in, so the page starts from the jar,
 * as in a fresh context (a cookie the jar has dropped is not sent, nor copied back).
 */
async function sessionContext(gen: Generation, session: SessionRef & { jar: CookieJar }, userAgent: string, url: string): Promise<SessionContext> {
  let entry = gen.sessions.get(session.id);
  if (!entry) {
    entry = { context: gen.browser.newContext({ userAgent: session.userAgent ?? userAgent }), open: 0 };
    gen.sessions.set(session.id, entry);
    entry.context.catch(() => gen.sessions.delete(session.id));
  }
  const first = entry.open++ === 0;
  try {
    const context = await entry.context;
    if (first) await context.clearCookies();
    await cookiesIntoContext(session.jar, context, url);
    return entry;
  } catch (err) {
    entry.open--;
    throw err;
  }
}

/** A page in `gen`: in its session's context for a session with a jar (the jar's cookies copied in, and back out on close), else in the shared one. */
async function newLease(gen: Generation, userAgent: string, session: SessionRef | undefined, url: string, left: () => Promise<void>): Promise<PageLease> {
  const jar = session?.jar ?? null;
  const own = session && jar ? await sessionContext(gen, { ...session, jar }, userAgent, url) : undefined;
  let page: Page;
  try {
    page = await (own ? await own.context : await (gen.shared ??= gen.browser.newContext({ userAgent }))).newPage();
  } catch (err) {
    if (own) own.open--;
    throw err;
  }
  let closed = false;
  return {
    page,
    crashed: () => gen.crashed,
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (own && jar && !gen.crashed) await cookiesIntoJar(await own.context, jar).catch(() => {});
        await page.close().catch(() => {});
      } finally {
        if (own) own.open--;
        await left();
      }
    },
  };
}

/**
 * The pool: nothing is launched (nor playwright-core loaded) until the first
 * page is asked for. Its pages say `userAgent` (a session's own, when it has
 * one), as the crawl's HTTP requests do, not Chromium's headless one.
 */
export function createBrowserPool(settings: BrowserSettings, log: Logger, userAgent: string): BrowserPool {
  const slot = slots(settings.maxPages);
  const pool = browsers(settings, log);
  return {
    async open(session, url) {
      await slot.acquire();
      let gen: Generation | undefined;
      const left = async () => {
        try {
          if (gen) await pool.leave(gen);
        } finally {
          slot.release();
        }
      };
      try {
        gen = await pool.live();
        pool.enter(gen);
        return await newLease(gen, userAgent, session, url, left);
      } catch (err) {
        await left();
        throw err;
      }
    },
    get launches() {
      return pool.launches();
    },
    close: () => pool.close(),
  };
}

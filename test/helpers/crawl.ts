/**
 * Helpers for crawl tests: a temporary storage folder per test, settings that
 * keep tests fast and quiet, and read access to the crawl's SQLite file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import { crawl, type CrawlSummary, type SettingsOverride, type Spider } from '../../src/index.js';
import { serveSite, startServer, type Handler, type Route, type TestServer } from './server.js';

/** A fresh temp folder for a crawl's database. */
export function tmpStorage(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'crawlkit-test-'));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Fast, quiet settings over `storageDir`; `extra` wins. */
export function fastSettings(storageDir: string, extra: SettingsOverride = {}): SettingsOverride {
  const base: SettingsOverride = {
    storageDir,
    logLevel: 'silent',
    obeyRobots: false,
    retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200, maxRetryAfterMs: 5_000 },
    timeouts: { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000, requestMs: 10_000 },
  };
  return {
    ...base,
    ...extra,
    retry: { ...base.retry, ...extra.retry },
    timeouts: { ...base.timeouts, ...extra.timeouts },
  };
}

export interface RequestRow {
  id: number;
  url: string;
  method: string;
  callback: string | null;
  meta: string | null;
  depth: number;
  state: number;
  attempts: number;
  redirects: number;
  status: number | null;
  error: string | null;
  host: string;
}

export interface RunRow {
  id: number;
  status: string;
  stats: string | null;
}

export const STATE = { queued: 0, inFlight: 1, done: 2, failed: 3, disallowed: 4, skipped: 5 } as const;

/** Everything stored for a spider, read after its crawl has closed the database. */
export function readDb(storageDir: string, spider: string) {
  const db = new Database(path.join(storageDir, `${spider}.sqlite`), { readonly: true, fileMustExist: true });
  try {
    const requests = db.prepare('SELECT * FROM requests ORDER BY id').all() as RequestRow[];
    const itemRows = db.prepare('SELECT run_id, url, data FROM items ORDER BY id').all() as { run_id: number; url: string; data: string }[];
    const runs = db.prepare('SELECT id, status, stats FROM runs ORDER BY id').all() as RunRow[];
    return {
      requests,
      items: itemRows.map((r) => ({ runId: r.run_id, url: r.url, data: JSON.parse(r.data) as Record<string, unknown> })),
      runs,
      /** The stored row for a URL's path (first match), or undefined. */
      request(pathOrUrl: string): RequestRow | undefined {
        return requests.find((r) => r.url === pathOrUrl || new URL(r.url).pathname + new URL(r.url).search === pathOrUrl);
      },
    };
  } finally {
    db.close();
  }
}

/** Hits on a path, 0 when never requested. */
export const hits = (server: TestServer, p: string): number => server.hits.get(p) ?? 0;

/** Server-side start times of requests to `p` (ms since epoch). */
export const hitTimes = (server: TestServer, p: string): number[] => server.requests.filter((r) => r.path === p).map((r) => r.time);

/** A minimal HTML page. */
export const html = (body: string, head = ''): string => `<!DOCTYPE html><html><head>${head}</head><body>${body}</body></html>`;

/** A test's server, its crawl storage folder, and the server's base URL. */
export interface TestSite {
  server: TestServer;
  dir: string;
  base: string;
}

/**
 * Per-test server + storage folder, cleaned up after each test: call once at the top of a
 * test file (it registers the `afterEach` itself) and use the returned functions in tests.
 */
export function useTestSite() {
  let server: TestServer | undefined;
  let dir: string | undefined;

  async function cleanup(): Promise<void> {
    await server?.close();
    server = undefined;
    removeDir(dir);
    dir = undefined;
  }
  afterEach(cleanup);

  /** A fresh storage folder for this test (removed after it). */
  function storage(): string {
    dir = tmpStorage();
    return dir;
  }

  /** Use an already started server for this test (closed after it), with a fresh storage folder. */
  async function use(started: TestServer | Promise<TestServer>): Promise<TestSite> {
    server = await started;
    return { server, dir: storage(), base: server.url };
  }

  return {
    use,
    storage,
    /** Close this test's server and remove its storage folder now. */
    cleanup,
    /** Serve a static site (see `serveSite`) for this test. */
    serve: (pages: Map<string, string | Route>, fallback?: Handler): Promise<TestSite> => use(serveSite(pages, fallback)),
    /** Serve `handler` (see `startServer`) for this test. */
    start: (handler: Handler): Promise<TestSite> => use(startServer(handler)),
  };
}

/** Crawl `spider` to the end with fast settings over `dir`, then read what it stored. */
export async function crawlAndRead(spider: Spider, dir: string, settings: SettingsOverride = {}): Promise<{ summary: CrawlSummary; db: ReturnType<typeof readDb> }> {
  const summary = await crawl(spider, { settings: fastSettings(dir, settings) }).run();
  return { summary, db: readDb(dir, spider.name) };
}

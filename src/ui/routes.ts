/** The pages and endpoints of `crawl ui`, by path; each reads its parameters from the query string. */
import type { ServerResponse } from 'node:http';
import { comparePage } from './pages/compare.js';
import { failuresPage, screenshot } from './pages/failures.js';
import { download, itemsPage } from './pages/items.js';
import { runApi, runPage } from './pages/run.js';
import { spidersPage } from './pages/spiders.js';

/** An answer: a status, a type and a body. */
export interface Reply {
  status?: number;
  type: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/** What a route is given. */
export interface RouteContext {
  url: URL;
  storageDir: string;
  /** For a route that streams its answer itself (a download), returning nothing. */
  res: ServerResponse;
  head: boolean;
}

/** A route: a {@link Reply}, or nothing once it answered through `res` itself. */
export type Route = (ctx: RouteContext) => Promise<Reply | void> | Reply;

/** A page as a reply. */
export const page = (body: string): Reply => ({ type: 'text/html; charset=utf-8', body });

/** JSON as a reply. */
export const json = (value: unknown): Reply => ({ type: 'application/json; charset=utf-8', body: JSON.stringify(value) });

export const routes: Record<string, Route> = {
  '/': spidersPage,
  '/run': runPage,
  '/api/run': runApi,
  '/failures': failuresPage,
  '/screenshot': screenshot,
  '/items': itemsPage,
  '/download': download,
  '/compare': comparePage,
};

/**
 * Scenario (f)'s site server, in its own process (its CPU is not the crawler's):
 *
 *   node --import tsx bench/rendered-site.ts --items 500 [--latency-ms 0] [--port 0]
 *
 * Serves the pages of bench/rendered-pages.ts (written by JavaScript) and the
 * files they ask for, on 127.0.0.1; prints one JSON line once listening
 * ({"url": ..., "items": N, "listings": L, "pages": N + L, ...}).
 * GET /__bench/stats returns what it served: documents (and how many of
 * them more than once since GET /__bench/reset, which the runner asks before
 * each crawl), static files and images apart, and its own CPU time.
 * SIGTERM or SIGINT stops it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { serveSite, type SiteInfo } from './common.js';
import { ASSETS, IMAGE, renderedItem, renderedListing } from './rendered-pages.js';
import { expectedPages, listingCount, ROBOTS_TXT } from './site-data.js';

/** What GET /__bench/stats answers. */
export interface RenderedSiteStats {
  /** Item and listing pages served (the HTML documents). */
  documents: number;
  /** Documents served more than once (the same page again). */
  repeats: number;
  /** Stylesheets, scripts, the logo and the favicon served. */
  assets: number;
  /** Product images served (/media/...). */
  images: number;
  robots: number;
  notFound: number;
  /** process.cpuUsage() of the server, microseconds. */
  cpu: { user: number; system: number };
  peakRssMB: number;
}

const ITEM = /^\/item\/(\d+)\.html$/;
const LIST = /^\/list\/(\d+)\.html$/;
const HTML = 'text/html; charset=utf-8';

function main(): void {
  const { values } = parseArgs({
    options: { items: { type: 'string', default: '500' }, 'latency-ms': { type: 'string', default: '0' }, port: { type: 'string', default: '0' } },
  });
  const items = Number(values.items);
  const latencyMs = Number(values['latency-ms']);
  if (!Number.isInteger(items) || items < 1) throw new Error(`bad --items: ${values.items}`);
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error(`bad --latency-ms: ${values['latency-ms']}`);
  const listings = listingCount(items);
  // Times each document was served, to tell a crawler that fetches a page twice; index 0 unused.
  const itemHits = new Uint16Array(items + 1);
  const listingHits = new Uint16Array(listings + 1);
  const stats = { documents: 0, repeats: 0, assets: 0, images: 0, robots: 0, notFound: 0 };

  const document = (hits: Uint16Array, n: number, html: () => string): [number, string, string | Buffer] => {
    stats.documents++;
    if (hits[n]!++ > 0) stats.repeats++;
    return [200, HTML, html()];
  };

  const route = (path: string): [number, string, string | Buffer] => {
    let m = ITEM.exec(path);
    if (m && Number(m[1]) >= 1 && Number(m[1]) <= items) return document(itemHits, Number(m[1]), () => renderedItem(Number(m![1]), items));
    m = LIST.exec(path);
    if (m && Number(m[1]) >= 1 && Number(m[1]) <= listings) return document(listingHits, Number(m[1]), () => renderedListing(Number(m![1]), items));
    const asset = ASSETS[path];
    if (asset) {
      stats.assets++;
      return [200, asset.type, asset.body];
    }
    if (path.startsWith('/media/')) {
      stats.images++;
      return [200, IMAGE.type, IMAGE.body];
    }
    if (path === '/robots.txt') {
      stats.robots++;
      return [200, 'text/plain; charset=utf-8', ROBOTS_TXT];
    }
    stats.notFound++;
    return [404, HTML, '<!DOCTYPE html><title>Not found</title><h1>Not found</h1>'];
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (path === '/__bench/reset') {
      // A new crawl begins: every page may be fetched once again.
      itemHits.fill(0);
      listingHits.fill(0);
    }
    if (path === '/__bench/stats' || path === '/__bench/reset') {
      const body: RenderedSiteStats = { ...stats, cpu: process.cpuUsage(), peakRssMB: process.resourceUsage().maxRSS / 1024 };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    const [status, type, body] = route(path);
    // No caching headers: each page's files are fetched as its browser context's cache allows, the same for every crawler.
    const send = () => res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
    if (latencyMs > 0) setTimeout(send, latencyMs);
    else send();
  };

  const server = createServer({ keepAlive: true, noDelay: true }, handle);
  server.keepAliveTimeout = 60_000;
  server.maxRequestsPerSocket = 0;
  serveSite(server, Number(values.port), (port): SiteInfo => ({ url: `http://127.0.0.1:${port}/`, items, listings, pages: expectedPages(items), latencyMs, pid: process.pid }));
}

main();

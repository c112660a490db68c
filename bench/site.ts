/**
 * The benchmark's site server, run as its own process so its CPU is not the
 * crawler's:
 *
 *   node --import tsx bench/site.ts --items 20000 [--latency-ms 100] [--port 0]
 *
 * (LATENCY_MS in the environment works too.) Once listening on 127.0.0.1 it
 * prints one JSON line on stdout: {"url": "http://127.0.0.1:PORT/", ...}.
 * Pages are rendered per request from bench/site-data.ts; GET /__bench/stats
 * returns the server's own counters and CPU time, so the runner can show the
 * server is not the bottleneck. SIGTERM or SIGINT stops it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { serveSite, type SiteInfo, type SiteStats } from './common.js';
import { listingCount, expectedPages, renderHome, renderItem, renderListing, ROBOTS_TXT } from './site-data.js';

const ITEM = /^\/item\/(\d+)\.html$/;
const LIST = /^\/list\/(\d+)\.html$/;

function main(): void {
  const { values } = parseArgs({
    options: {
      items: { type: 'string', default: '2000' },
      'latency-ms': { type: 'string', default: process.env.LATENCY_MS ?? '0' },
      port: { type: 'string', default: '0' },
    },
  });
  const items = Number(values.items);
  const latencyMs = Number(values['latency-ms']);
  const port = Number(values.port);
  if (!Number.isInteger(items) || items < 1) throw new Error(`bad --items: ${values.items}`);
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error(`bad --latency-ms: ${values['latency-ms']}`);
  const listings = listingCount(items);

  const stats = { requests: 0, statuses: {} as Record<string, number>, bytes: 0, robots: 0 };

  const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean): void => {
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    // Pages are ASCII (non-ASCII characters are written as entities), but count bytes properly anyway.
    const length = Buffer.byteLength(body);
    stats.bytes += length;
    res.writeHead(status, { 'content-type': type, 'content-length': length, 'cache-control': 'max-age=300' });
    res.end(head ? undefined : body);
  };

  const route = (path: string): [number, string, string] => {
    let m = ITEM.exec(path);
    if (m) {
      const id = Number(m[1]);
      if (id >= 1 && id <= items) return [200, 'text/html; charset=utf-8', renderItem(id, items)];
    } else if ((m = LIST.exec(path))) {
      const page = Number(m[1]);
      if (page >= 1 && page <= listings) return [200, 'text/html; charset=utf-8', renderListing(page, items)];
    } else if (path === '/robots.txt') {
      stats.robots++;
      return [200, 'text/plain; charset=utf-8', ROBOTS_TXT];
    } else if (path === '/') {
      return [200, 'text/html; charset=utf-8', renderHome(items)];
    }
    return [404, 'text/html; charset=utf-8', '<!DOCTYPE html><html><head><title>Not found</title></head><body><h1>Not found</h1></body></html>'];
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    // Query strings are ignored: the page is the path's (no link the site renders has one).
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/__bench/stats') {
      const cpu = process.cpuUsage();
      const body: SiteStats = { ...stats, cpu, peakRssMB: process.resourceUsage().maxRSS / 1024 };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    stats.requests++;
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
      return;
    }
    const [status, type, body] = route(path);
    if (latencyMs > 0) setTimeout(() => send(res, status, type, body, head), latencyMs);
    else send(res, status, type, body, head);
  };

  const server = createServer({ keepAlive: true, noDelay: true }, handle);
  // Crawlers keep connections open between bursts; don't drop them after the default 5 s.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.maxRequestsPerSocket = 0;
  serveSite(server, port, (bound): SiteInfo => ({ url: `http://127.0.0.1:${bound}/`, items, listings, pages: expectedPages(items), latencyMs, pid: process.pid }));
}

main();

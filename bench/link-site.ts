/**
 * Scenario (e)'s site, "link-heavy", run as its own process:
 *
 *   node --import tsx bench/link-site.ts --hubs 12 --leaves 40000 [--port 0]
 *
 * Hub pages /hub/0.html ... /hub/H-1.html grow geometrically from 200 KB with
 * 1,000 links to 10 MB with 300,000 links. Each hub links to every hub (in
 * `<nav>`) and to leaves (in `<main>`) drawn from one pool of L leaf pages
 * /leaf/0.html ... /leaf/L-1.html, so most links are shared between hubs, and
 * the big hubs repeat each leaf many times. A correct crawl fetches H + L
 * pages, each once, and stores one item per leaf.
 *
 * Prints one JSON line once listening ({@link LinkSiteInfo}); GET
 * /__bench/stats answers {@link LinkSiteStats}; GET /__bench/reset zeroes them. SIGTERM stops it.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { serveSite } from './common.js';

/** What the site prints once listening. */
export interface LinkSiteInfo {
  url: string;
  hubs: number;
  leaves: number;
  /** Bytes and links of each hub. */
  hubSizes: { bytes: number; links: number }[];
  pid: number;
}

/** What GET /__bench/stats answers. */
export interface LinkSiteStats {
  /** Page requests served (robots.txt and the stats endpoint excluded). */
  requests: number;
  /** Requests for a page already served once. */
  repeats: number;
  notFound: number;
  peakRssMB: number;
}

/** The smallest and the largest hub, as the issue sets them: 200 KB with 1,000 links, 10 MB with 300,000. */
const SMALL = { bytes: 200_000, links: 1_000 };
const BIG = { bytes: 10_000_000, links: 300_000 };

/** Bytes and links of hub `k` of `hubs`: geometric steps from SMALL to BIG. */
function hubSize(k: number, hubs: number, big = BIG): { bytes: number; links: number } {
  const t = hubs === 1 ? 1 : k / (hubs - 1);
  return { bytes: Math.round(SMALL.bytes * (big.bytes / SMALL.bytes) ** t), links: Math.round(SMALL.links * (big.links / SMALL.links) ** t) };
}

/** The leaf of link `i` on hub `k`: 7919 is prime to any pool size without it as a factor, so a hub's links sweep the whole pool. */
const leafOf = (k: number, i: number, leaves: number): number => (i * 7919 + k * 104_729) % leaves;

const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ';

/** The HTML of hub `k`, padded with text between the links to its size. */
function renderHub(k: number, hubs: number, leaves: number, size: { bytes: number; links: number }): Buffer {
  const parts: string[] = [`<!DOCTYPE html><html><head><title>Hub ${k}</title></head><body><nav>`];
  for (let j = 0; j < hubs; j++) parts.push(`<a href="/hub/${j}.html">hub ${j}</a> `);
  parts.push('</nav><main>\n');
  let used = parts.reduce((a, p) => a + p.length, 0) + 30;
  for (let i = 0; i < size.links; i++) {
    const link = `<a href="/leaf/${leafOf(k, i, leaves)}.html">L</a>\n`;
    used += link.length;
    parts.push(link);
    // Spread what is left of the page's size over the links still to come.
    const pad = Math.floor((size.bytes - used) / (size.links - i));
    if (pad > link.length) {
      const text = FILLER.repeat(Math.ceil(pad / FILLER.length)).slice(0, pad - link.length);
      used += text.length;
      parts.push(text);
    }
  }
  parts.push('</main></body></html>\n');
  return Buffer.from(parts.join(''));
}

const renderLeaf = (n: number): string =>
  `<!DOCTYPE html><html><head><title>Leaf ${n}</title></head><body><h1 data-id="${n}">Leaf ${n}</h1><p>${FILLER}</p><a href="/hub/0.html">home</a></body></html>\n`;

function main(): void {
  const { values } = parseArgs({ options: { hubs: { type: 'string', default: '12' }, leaves: { type: 'string', default: '40000' }, port: { type: 'string', default: '0' }, 'max-links': { type: 'string' } } });
  const hubs = Number(values.hubs);
  const leaves = Number(values.leaves);
  const big = values['max-links'] ? { links: Number(values['max-links']), bytes: Math.round((BIG.bytes * Number(values['max-links'])) / BIG.links) } : BIG;
  if (!Number.isInteger(hubs) || hubs < 1 || !Number.isInteger(leaves) || leaves < 1) throw new Error('usage: --hubs H --leaves L');
  const sizes = Array.from({ length: hubs }, (_, k) => hubSize(k, hubs, big));
  const pages = sizes.map((s, k) => renderHub(k, hubs, leaves, s));
  const served = new Uint8Array(hubs + leaves);
  const stats = { requests: 0, repeats: 0, notFound: 0 };

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/__bench/stats') {
      const body: LinkSiteStats = { ...stats, peakRssMB: process.resourceUsage().maxRSS / 1024 };
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(body));
    }
    if (path === '/__bench/reset') {
      // Between two crawlers on one site: "fetched more than once" is per crawl.
      served.fill(0);
      Object.assign(stats, { requests: 0, repeats: 0, notFound: 0 });
      return void res.end('{}');
    }
    if (path === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end('User-agent: *\nAllow: /\n');
    }
    stats.requests++;
    const m = /^\/(hub|leaf)\/(\d+)\.html$/.exec(path);
    const n = m ? Number(m[2]) : -1;
    const slot = m?.[1] === 'hub' ? (n < hubs ? n : -1) : n < leaves ? hubs + n : -1;
    if (slot < 0) {
      stats.notFound++;
      res.writeHead(404, { 'content-type': 'text/html' });
      return void res.end('<h1>Not found</h1>');
    }
    if (served[slot]) stats.repeats++;
    served[slot] = 1;
    const body = m![1] === 'hub' ? pages[n]! : Buffer.from(renderLeaf(n));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  serveSite(server, Number(values.port), (port): LinkSiteInfo => ({ url: `http://127.0.0.1:${port}/`, hubs, leaves, hubSizes: sizes, pid: process.pid }));
}

main();

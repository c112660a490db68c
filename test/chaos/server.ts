/**
 * A fault-injecting site for chaos tests, on a real node:http server
 * (test/helpers/server.ts) on 127.0.0.1. Everything is decided by a seeded
 * PRNG from the path, so the same URL always misbehaves the same way; a
 * page's behaviour may also depend on how often it was requested ("fails the
 * first k times"), which is deterministic too.
 *
 *   /                   index: links to every listing, plus (profile 'full') the special cases below
 *   /list/N/            listing N: links to /p/N/0 … /p/N/(perList-1), the next listing and /private/N
 *   /p/N/M              content page: an item (h1.title) and links to 3 other content pages, unless it misbehaves
 *   /private/N          disallowed by robots.txt (variants 'ok' and 'redirect')
 *   /special/...        (profile 'full') bombs, huge bodies, redirect loops and chains, odd Locations, duplicate link forms
 *
 * The server knows the ground truth: `truth(settings)` walks the site as a
 * correct crawler with those settings would and returns, for every distinct
 * canonical URL it discovers, how that URL must end (an item, done without
 * item, a redirect hop, failed with a reason, disallowed, skipped), plus the
 * items and the number of non-http(s) links on the pages it parses.
 */
import { rng } from '../fixtures/util.js';
import type http from 'node:http';
import zlib from 'node:zlib';
import { startServer, type TestServer } from '../helpers/server.js';

// ---------------------------------------------------------------------------------------------------------------------
// Deterministic randomness

/** 32-bit FNV-1a of a string. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The PRNG for one key (a path) under a seed: the same key always draws the same numbers. */
export const rngFor = (seed: number, key: string) => rng(hash32(`${seed}\u0000${key}`));

const pick = <T>(rng: () => number, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;

function weighted<K extends string>(rng: () => number, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = rng() * total;
  for (const [k, w] of entries) {
    x -= w;
    if (x < 0) return k;
  }
  return entries.at(-1)![0];
}

// ---------------------------------------------------------------------------------------------------------------------
// URLs

/**
 * The canonical form of a URL, written from the spec rather than taken from
 * crawlkit: WHATWG parsing (lower-case scheme and host, no default port, dot
 * segments resolved), no fragment, query parameters sorted by name (stable).
 */
export function canonical(url: string | URL, base?: string): string {
  const u = new URL(url, base);
  u.hash = '';
  if (u.search.length > 1) u.searchParams.sort();
  return u.href;
}

/** Path and query of a path's canonical form (query parameters sorted). */
export function canonicalPath(path: string): string {
  const u = new URL(canonical(path, 'http://x'));
  return u.pathname + u.search;
}

/** An href resolved the way a browser would, if it is http(s); null otherwise (what a crawler must skip and count). */
export function resolveHttp(href: string, base: string): URL | null {
  try {
    const u = new URL(href.trim(), base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
  } catch {
    return null;
  }
}

/** Links that are not http(s) or do not parse: a crawler skips and counts each. */
export const BAD_LINKS = ['http://[::1', 'javascript:void(0)', 'mailto:someone@example.com', 'ftp://127.0.0.1/file.txt', 'data:text/html,<p>hi</p>'] as const;

// ---------------------------------------------------------------------------------------------------------------------
// The fault plan

export type Profile = 'full' | 'light' | 'none';
export type RobotsVariant = 'ok' | '404' | '500' | 'redirect' | 'hang' | 'offsite-redirect' | 'bad-redirect';

/** How a path behaves. */
export type Kind =
  // served pages (200)
  | 'ok' // an item and links
  | 'noitem' // links, no item
  | 'wrong-type' // HTML served as application/octet-stream
  | 'no-type' // HTML with no Content-Type at all
  | 'bad-charset' // text/html; charset=x-no-such-charset
  | 'broken-html' // unclosed tags, stray end tags, an unterminated comment
  | 'binary' // random bytes as text/html: no item, no links
  // per-attempt failures, then the page
  | 'recover' // `failFirst` 500/502/503s, then ok
  | 'retry-secs' // 429 Retry-After: 1 once, then ok
  | 'retry-date' // 429 Retry-After: <HTTP-date> once, then ok
  // permanent failures
  | 'fail' // always 500/502/503
  | 'gone' // 404
  | 'hang' // never sends headers
  | 'stall' // headers and half a body, then silence
  | 'reset' // half a body, then the socket is destroyed
  | 'truncated' // Content-Length larger than what is sent, then the connection ends
  | 'bomb' // gzip that inflates to over 1 GiB
  | 'big' // 50 MB with Content-Length
  | 'big-chunked' // 50 MB, chunked
  // redirects
  | 'redirect';

export interface Plan {
  kind: Kind;
  /** Error answers before the page is served (recover: 1-2; retry-*: 1). */
  failFirst: number;
  /** Status of the error answers (recover, fail). */
  errorStatus: number;
  /** For redirects. */
  redirect?: { status: number; location: string };
  /** What the page serves once it serves (kind 'ok' unless it is a served variant). */
  served: 'ok' | 'noitem' | 'wrong-type' | 'no-type' | 'bad-charset' | 'broken-html' | 'binary';
}

const CONTENT_WEIGHTS: Record<Profile, Partial<Record<Kind, number>>> = {
  full: {
    ok: 65,
    noitem: 3,
    'wrong-type': 2,
    'no-type': 2,
    'bad-charset': 2,
    'broken-html': 3,
    binary: 1.5,
    recover: 6,
    'retry-secs': 2,
    'retry-date': 2,
    fail: 2,
    gone: 1,
    hang: 1,
    stall: 1,
    reset: 1.5,
    truncated: 1.5,
    redirect: 3.5,
  },
  light: { ok: 85, noitem: 3, 'broken-html': 2, recover: 5, 'retry-secs': 2, redirect: 3 },
  none: { ok: 1 },
};
const LISTING_WEIGHTS: Record<Profile, Partial<Record<Kind, number>>> = {
  full: { ok: 85, recover: 10, fail: 5 },
  light: { ok: 90, recover: 10 },
  none: { ok: 1 },
};
const SERVED = new Set<Kind>(['ok', 'noitem', 'wrong-type', 'no-type', 'bad-charset', 'broken-html', 'binary']);

/** An item as the chaos spider stores it. */
export interface ChaosItem {
  /** Path and query of the page's canonical URL. */
  page: string;
  title: string;
}

/** How a URL must end, for a correct crawler. */
export type Expected =
  | { kind: 'item'; item: ChaosItem }
  | { kind: 'noitem' }
  | { kind: 'redirect'; status: number }
  | { kind: 'failed'; reason: RegExp }
  | { kind: 'disallowed' }
  | { kind: 'skipped'; reason: 'offsite' };

export interface GroundTruth {
  /** Canonical URL → how it must end. Exactly the URLs a correct crawler records. */
  outcomes: Map<string, Expected>;
  /** The items, one per page that yields one. */
  items: ChaosItem[];
  /** Links a correct crawler skips as not http(s) or malformed, over the pages it parses. */
  badLinks: number;
}

/** The crawler settings the ground truth depends on. */
export interface TruthSettings {
  maxAttempts: number;
  maxRedirects: number;
  allowedDomains: readonly string[];
}

export interface ChaosOptions {
  seed: number;
  /** Listing pages (default 40). */
  lists?: number;
  /** Content pages per listing (default 50). */
  perList?: number;
  profile?: Profile;
  robots?: RobotsVariant;
  /** Each response waits up to this long (seeded per path), robots.txt excluded. Default 0. */
  latencyMs?: number;
  /** Origin of offsite links and redirects (another host name); default http://localhost:<this port>. */
  offsiteOrigin?: string;
}

export interface ChaosServer extends TestServer {
  options: Required<Omit<ChaosOptions, 'offsiteOrigin'>>;
  /** "http://127.0.0.1:PORT". */
  origin: string;
  offsiteOrigin: string;
  /** The start URL: the index, "http://127.0.0.1:PORT/". */
  startUrl: string;
  /** The fault plan of a path (path + query). */
  plan(path: string): Plan;
  /** Where each served page links to (hrefs as written in the page). */
  links(path: string): string[];
  /** The item a page yields, if it yields one. */
  itemOf(path: string): ChaosItem | null;
  /** Ground truth for a crawl with these settings. */
  truth(settings: TruthSettings): GroundTruth;
  /** Requests so far, robots.txt files excluded. */
  pageHits(): number;
  /** Called synchronously as each request (robots.txt files excluded) arrives: `n` counts them. */
  onHit: ((n: number, path: string) => void) | undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// Bodies

const MiB = 1024 * 1024;
let bombMember: Buffer | undefined;
/** One gzip member of 4 MiB of zeros (about 4 KB); 260 of them back to back inflate to 1.04 GiB. */
const BOMB_MEMBERS = 260;
const gzipMember = () => (bombMember ??= zlib.gzipSync(Buffer.alloc(4 * MiB), { level: 9 }));
const BIG_CHUNK = Buffer.alloc(64 * 1024, 'a');
const BIG_CHUNKS = 800; // 50 MiB

/** Writes `chunk` `times` times with back-pressure; stops when the client goes away. */
async function pump(res: http.ServerResponse, chunk: Buffer, times: number): Promise<void> {
  for (let i = 0; i < times && !res.destroyed; i++) {
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const anchors = (hrefs: readonly string[]) => hrefs.map((h, i) => `<li><a href="${esc(h)}">link ${i}</a></li>`).join('\n');
const page = (title: string | null, hrefs: readonly string[], meta = true) =>
  `<!DOCTYPE html><html><head>${meta ? '<meta charset="utf-8">' : ''}<title>${esc(title ?? 'no item here')}</title></head><body>` +
  (title ? `<h1 class="title">${esc(title)}</h1>` : '<h1>nothing to see</h1>') +
  `<ul>\n${anchors(hrefs)}\n</ul></body></html>`;
const brokenPage = (title: string, hrefs: readonly string[]) =>
  `<html><head><body><div class="x"><h1 class="title">${esc(title)}</h1><p>unclosed <b>bold <i>italic</span></em>` +
  `<table><tr><td>cell<td>cell` +
  hrefs.map((h) => `<p><a href="${esc(h)}">link`).join('') +
  `</div></div></div><!-- a comment that never ends <a href="/never/followed">`;

// ---------------------------------------------------------------------------------------------------------------------
// The server

export async function startChaosServer(options: ChaosOptions): Promise<ChaosServer> {
  const opts = { lists: 40, perList: 50, profile: 'full' as Profile, robots: 'ok' as RobotsVariant, latencyMs: 0, ...options };
  const { seed, lists, perList, profile } = opts;
  let origin = '';
  let offsite = '';
  let pageHits = 0;
  let chaos: ChaosServer | undefined;

  const contentPath = (n: number, m: number) => `/p/${n}/${m}`;
  const randomContent = (rng: () => number) => contentPath(Math.floor(rng() * lists), Math.floor(rng() * perList));

  // Special paths (profile 'full'), each with its plan; linked from the index. Built once the origin is known.
  const CHAIN = 30;
  const specials = new Map<string, Plan>();
  const buildSpecials = () => {
    if (profile !== 'full') return;
    const special = (path: string, kind: Kind, extra: Partial<Plan> = {}) => specials.set(path, { kind, failFirst: 0, errorStatus: 0, served: 'ok', ...extra });
    const redirectTo = (path: string, status: number, location: string) => special(path, 'redirect', { redirect: { status, location } });
    special('/special/bomb', 'bomb');
    special('/special/big', 'big');
    special('/special/big-chunked', 'big-chunked');
    redirectTo('/special/loop/a', 302, '/special/loop/b');
    redirectTo('/special/loop/b', 302, `${origin}/special/loop/a`);
    redirectTo('/special/self', 301, '/special/self');
    for (let i = 0; i < CHAIN; i++) redirectTo(`/special/chain/${i}`, i % 2 ? 302 : 307, `/special/chain/${i + 1}`);
    special(`/special/chain/${CHAIN}`, 'ok');
    redirectTo('/special/to-ftp', 302, 'ftp://127.0.0.1/file.txt');
    redirectTo('/special/to-javascript', 301, 'javascript:alert(1)');
    redirectTo('/special/to-offsite', 302, `${offsite}/special/offsite-target`);
    redirectTo('/special/to-offsite-hop', 303, '/special/to-offsite');
    redirectTo('/special/to-private', 302, '/private/from-redirect');
    special('/special/canon', 'ok');
    special('/special/canon-host', 'ok');
    special('/special/q?a=1&b=2', 'ok');
  };
  /** The index's links beyond the listings: the specials, duplicate forms, offsite and bad links. */
  const indexExtras = (): string[] => {
    if (profile !== 'full') return [];
    const host = origin.replace(/^http:\/\//, '');
    const offHost = offsite.replace(/^http:\/\//, '');
    return [
      // every special, except those reached only through others (chain hops, the loop's second half, the host-case page)
      ...[...specials.keys()].filter((p) => (!p.startsWith('/special/chain/') || p === '/special/chain/0') && p !== '/special/loop/b' && p !== '/special/canon-host'),
      // duplicates of /special/canon: fragment, scheme case, dot segments, relative, absolute with fragment
      '/special/canon#top',
      `HTTP://${host}/special/canon`,
      '/special/x/../canon',
      './special/canon#',
      `${origin}/special/canon#section-2`,
      '  /special/canon  ',
      // query parameter order
      '/special/q?b=2&a=1',
      `${origin}/special/q?a=1&b=2#frag`,
      // host case: only reachable through another host name (offsite unless that name is allowed)
      `http://LOCALHOST:${origin.split(':').at(-1)}/special/canon-host`,
      `http://localhost:${origin.split(':').at(-1)}/special/canon-host#x`,
      `http://LocalHost:${origin.split(':').at(-1)}/special/canon-host`,
      // default port: the same URL twice, on a host that is never in scope
      'http://default-port.invalid:80/special/dp',
      'http://default-port.invalid/special/dp',
      'HTTP://DEFAULT-PORT.INVALID/special/dp#f',
      // another host, in forms that fool naive checks
      `${offsite}/special/offsite-link`,
      `//${offHost}/special/protocol-relative`,
      `http://127.0.0.1@${offHost}/special/userinfo`,
      `http://${offHost}\\@127.0.0.1/special/backslash`,
      // not http(s), or malformed
      ...BAD_LINKS,
      '', // the page itself
    ];
  };

  const plan = (rawPath: string): Plan => {
    const path = canonicalPath(rawPath);
    const s = specials.get(path);
    if (s) return s;
    const rng = rngFor(seed, path);
    const base: Plan = { kind: 'ok', failFirst: 0, errorStatus: 0, served: 'ok' };
    const fill = (kind: Kind): Plan => {
      const p: Plan = { ...base, kind };
      if (SERVED.has(kind)) p.served = kind as Plan['served'];
      if (kind === 'recover') p.failFirst = 1 + Math.floor(rng() * 2);
      if (kind === 'retry-secs' || kind === 'retry-date') p.failFirst = 1;
      if (kind === 'recover' || kind === 'fail') p.errorStatus = pick(rng, [500, 502, 503]);
      if (kind === 'redirect') {
        const target = randomContent(rng);
        p.redirect = { status: pick(rng, [301, 302, 303, 307, 308]), location: rng() < 0.5 ? target : `${origin}${target}` };
      }
      return p;
    };
    if (path === '/' || path.startsWith('/private/')) return base;
    if (/^\/list\/\d+\/$/.test(path)) return fill(weighted(rng, LISTING_WEIGHTS[profile] as Record<Kind, number>));
    if (/^\/p\/\d+\/\d+$/.test(path)) return fill(weighted(rng, CONTENT_WEIGHTS[profile] as Record<Kind, number>));
    return { ...base, kind: 'gone' };
  };

  /** The hrefs a served page carries, as written. */
  const links = (path: string): string[] => {
    if (path === '/') return [...Array.from({ length: lists }, (_, n) => (n % 3 === 0 ? `list/${n}/` : n % 3 === 1 ? `/list/${n}/` : `${origin}/list/${n}/`)), ...indexExtras()];
    let m = /^\/list\/(\d+)\/$/.exec(path);
    if (m) {
      const n = Number(m[1]);
      const rng = rngFor(seed, `links:${path}`);
      const out = Array.from({ length: perList }, (_, k) => pick(rng, [`../../p/${n}/${k}`, `/p/${n}/${k}`, `${origin}/p/${n}/${k}`, `/p/${n}/${k}#item`]));
      if (n + 1 < lists) out.push(`../${n + 1}/`);
      out.push(`/private/${n}`);
      return out;
    }
    m = /^\/p\/(\d+)\/(\d+)$/.exec(path);
    if (m) {
      const rng = rngFor(seed, `links:${path}`);
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        const target = randomContent(rng);
        const [, n2, m2] = /^\/p\/(\d+)\/(\d+)$/.exec(target)!;
        out.push(pick(rng, [target, `../${n2}/${m2}`, `${origin}${target}`, `${target}#part-${i}`, `HTTP://${origin.slice(7)}${target}`, ` ${target} `]));
      }
      if (profile === 'full') {
        if (rng() < 0.15) out.push(pick(rng, BAD_LINKS));
        if (rng() < 0.05) out.push(`${offsite}${randomContent(rng)}`);
      }
      return out;
    }
    return [];
  };

  const titleOf = (path: string) => {
    const m = /^\/p\/(\d+)\/(\d+)$/.exec(path);
    if (m) return `Page ${m[1]}-${m[2]} — café ✓`;
    if (path.startsWith('/private/')) return `Private ${path.slice(9)}`;
    if (path.startsWith('/special/')) return `Special ${path.slice(9)} — naïve`;
    return null;
  };
  const itemOf = (path: string): ChaosItem | null => {
    if (path === '/' || path.startsWith('/list/')) return null;
    const p = plan(path);
    if (p.served === 'noitem' || p.served === 'binary') return null;
    const title = titleOf(path);
    return title === null ? null : { page: path, title };
  };

  const robotsRules = 'User-agent: *\nDisallow: /private/\n';
  const robots = (req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean => {
    if (path === '/real-robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(robotsRules);
      return true;
    }
    if (path !== '/robots.txt') return false;
    switch (opts.robots) {
      case 'ok':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(robotsRules);
        break;
      case '404':
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no robots here');
        break;
      case '500':
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('robots broke');
        break;
      case 'redirect':
        res.writeHead(301, { location: '/real-robots.txt' });
        res.end();
        break;
      case 'offsite-redirect':
        res.writeHead(302, { location: `${offsite}/robots.txt` });
        res.end();
        break;
      case 'bad-redirect':
        res.writeHead(302, { location: 'http://[::1' }); // a Location that does not parse
        res.end();
        break;
      case 'hang':
        break; // never answer
    }
    return true;
  };

  const serve = (res: http.ServerResponse, path: string, served: Plan['served']) => {
    const title = itemOf(path)?.title ?? null;
    const hrefs = links(path);
    switch (served) {
      case 'binary': {
        const rng = rngFor(seed, `binary:${path}`);
        const bytes = Buffer.from(Array.from({ length: 2048 }, () => Math.floor(rng() * 256)));
        for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x3c) bytes[i] = 0; // no '<': no tags at all
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(bytes.length) });
        res.end(bytes);
        return;
      }
      case 'broken-html': {
        const body = Buffer.from(brokenPage(title!, hrefs));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(body.length) });
        res.end(body);
        return;
      }
      default: {
        // Only a plain page says <meta charset>: the others leave the decoder to its defaults.
        const body = Buffer.from(page(title, hrefs, served === 'ok' || served === 'noitem'), 'utf8');
        const type =
          served === 'wrong-type' ? 'application/octet-stream' : served === 'bad-charset' ? 'text/html; charset=x-no-such-charset' : 'text/html; charset=utf-8';
        const headers: Record<string, string> = { 'content-length': String(body.length) };
        if (served !== 'no-type') headers['content-type'] = type;
        res.writeHead(200, headers);
        res.end(body);
      }
    }
  };

  const server = await startServer(async (req, res) => {
    const path = req.url ?? '/';
    if (robots(req, res, path)) return;
    pageHits++;
    chaos?.onHit?.(pageHits, path);
    const n = server.hits.get(path) ?? 1; // this request included
    if (opts.latencyMs > 0) await new Promise((r) => setTimeout(r, Math.floor(rngFor(seed, `latency:${path}:${n}`)() * opts.latencyMs)));
    if (res.destroyed) return;
    const p = plan(path);
    if (n <= p.failFirst) {
      if (p.kind === 'recover') {
        res.writeHead(p.errorStatus, { 'content-type': 'text/plain' });
        res.end(`error ${p.errorStatus}, attempt ${n}`);
      } else {
        const retryAfter = p.kind === 'retry-secs' ? '1' : new Date(Date.now() + 2000).toUTCString();
        res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': retryAfter });
        res.end('slow down');
      }
      return;
    }
    switch (p.kind) {
      case 'fail':
        res.writeHead(p.errorStatus, { 'content-type': 'text/html' });
        res.end('<h1 class="title">error pages are not items</h1>');
        return;
      case 'gone':
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<h1 class="title">not found</h1>');
        return;
      case 'hang':
        return; // never send headers
      case 'stall': {
        const body = Buffer.from(page(itemOf(path)?.title ?? null, links(path)));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(body.length) });
        res.write(body.subarray(0, body.length >> 1)); // ... and nothing more
        return;
      }
      case 'reset': {
        const body = Buffer.from(page(itemOf(path)?.title ?? null, links(path)));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(body.length) });
        res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        return;
      }
      case 'truncated': {
        const body = Buffer.from(page(itemOf(path)?.title ?? null, links(path)));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(body.length + 5000) });
        res.write(body, () => res.socket?.end());
        return;
      }
      case 'bomb':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        await pump(res, gzipMember(), BOMB_MEMBERS);
        return;
      case 'big':
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(BIG_CHUNK.length * BIG_CHUNKS) });
        await pump(res, BIG_CHUNK, BIG_CHUNKS);
        return;
      case 'big-chunked':
        res.writeHead(200, { 'content-type': 'text/html' });
        await pump(res, BIG_CHUNK, BIG_CHUNKS);
        return;
      case 'redirect':
        res.writeHead(p.redirect!.status, { location: p.redirect!.location, 'content-type': 'text/html' });
        res.end(`<a href="${esc(p.redirect!.location)}">moved</a>`);
        return;
      default:
        serve(res, path, p.served);
    }
  });
  origin = server.url;
  offsite = opts.offsiteOrigin ?? `http://localhost:${server.port}`;
  buildSpecials();

  const truth = (settings: TruthSettings): GroundTruth => {
    const outcomes = new Map<string, Expected | null>();
    const items: ChaosItem[] = [];
    let badLinks = 0;
    // `chain`: the URLs of the redirect hops that led here (every hop here is a GET), for loops.
    const queue: { url: string; redirects: number; chain: string[] }[] = [];
    const discover = (url: URL, redirects: number, chain: string[] = []) => {
      const c = canonical(url);
      if (outcomes.has(c)) return;
      outcomes.set(c, null);
      queue.push({ url: c, redirects, chain });
    };
    const inScope = (u: URL) =>
      settings.allowedDomains.length === 0 || settings.allowedDomains.some((d) => u.hostname === d.toLowerCase() || u.hostname.endsWith(`.${d.toLowerCase()}`));
    const robotsDown = opts.robots === '500' || opts.robots === 'hang';
    // A robots.txt redirected off-site or to a bad Location cannot be read: like a 4xx, no rules (RFC 9309 2.3.1.2).
    const disallowsPrivate = opts.robots === 'ok' || opts.robots === 'redirect';
    const parsed = (u: URL, path: string, p: Plan): Expected => {
      const base = u.href;
      if (p.served !== 'binary')
        for (const href of links(path)) {
          const target = resolveHttp(href, base);
          if (target) discover(target, 0);
          else badLinks++;
        }
      const item = itemOf(path);
      if (item) items.push(item);
      return item ? { kind: 'item', item } : { kind: 'noitem' };
    };
    discover(new URL(`${origin}/`), 0);
    while (queue.length > 0) {
      const { url, redirects, chain } = queue.shift()!;
      const u = new URL(url);
      const path = u.pathname + u.search;
      const set = (e: Expected) => outcomes.set(url, e);
      if (!inScope(u)) {
        set({ kind: 'skipped', reason: 'offsite' });
        continue;
      }
      if (u.port !== String(server.port) || !['127.0.0.1', 'localhost'].includes(u.hostname))
        throw new Error(`chaos site links to ${url}, in scope but not on this server: fix the site or its offsiteOrigin`);
      if (robotsDown) {
        set({ kind: 'failed', reason: /^robots:/ });
        continue;
      }
      if (disallowsPrivate && u.pathname.startsWith('/private/')) {
        set({ kind: 'disallowed' });
        continue;
      }
      const p = plan(path);
      if (p.failFirst > 0 && p.failFirst >= settings.maxAttempts) {
        // A 429 bans the session: retried on another, it fails as banned:429 once the attempts are used.
        set({ kind: 'failed', reason: new RegExp(p.kind === 'recover' ? `^http:${p.errorStatus}` : '^banned:429') });
        continue;
      }
      switch (p.kind) {
        case 'fail':
          set({ kind: 'failed', reason: new RegExp(`^http:${p.errorStatus}`) });
          break;
        case 'gone':
          set({ kind: 'failed', reason: /^http:404/ });
          break;
        // The named timeout, or the whole-request deadline when a loaded machine delays the first (undici's
        // headers and body timers advance in ticks of about half a second; the request deadline is a plain timer).
        case 'hang':
          set({ kind: 'failed', reason: /^timeout:(headers|request)/ });
          break;
        case 'stall':
          set({ kind: 'failed', reason: /^timeout:(body|request)/ });
          break;
        case 'reset':
        case 'truncated':
          set({ kind: 'failed', reason: /^network:/ });
          break;
        case 'bomb':
        case 'big':
        case 'big-chunked':
          set({ kind: 'failed', reason: /^too-large/ });
          break;
        case 'redirect': {
          const target = resolveHttp(p.redirect!.location, url);
          if (!target) set({ kind: 'failed', reason: /^redirect:bad-location/ });
          else if ([...chain, url].includes(canonical(target))) set({ kind: 'failed', reason: /^redirect:loop/ }); // back to a hop of its own chain
          else if (redirects >= settings.maxRedirects) set({ kind: 'failed', reason: /^redirect:too-many/ });
          else {
            set({ kind: 'redirect', status: p.redirect!.status });
            discover(target, redirects + 1, [...chain, url]);
          }
          break;
        }
        default:
          set(parsed(u, path, p));
      }
    }
    return { outcomes: outcomes as Map<string, Expected>, items, badLinks };
  };

  chaos = Object.assign(server, {
    options: { seed, lists, perList, profile, robots: opts.robots, latencyMs: opts.latencyMs },
    origin,
    offsiteOrigin: offsite,
    startUrl: `${origin}/`,
    plan,
    links,
    itemOf,
    truth,
    pageHits: () => pageHits,
    onHit: undefined,
  }) as ChaosServer;
  return chaos;
}

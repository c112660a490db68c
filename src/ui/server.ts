/**
 * `crawl ui`'s web server: node:http, pages rendered on the server from the
 * storage folder's databases (read-only), a small script for the live parts.
 * GET and HEAD only: nothing here writes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ConfigError, CrawlkitError, LockedError, NoDataError, StorageError } from '../errors.js';
import { allowed, TOKEN_COOKIE } from './access.js';
import { loadAssets } from './assets.js';
import { escapeHtml } from './html.js';
import { routes, type Reply } from './routes.js';

/** Options of {@link startUiServer}. */
export interface UiServerOptions {
  storageDir: string;
  host: string;
  port: number;
  /** Required on every request when set (a non-loopback host); null on loopback. */
  token: string | null;
}

/**
 * Browsers run none of a crawled page's script even if escaping failed:
 * scripts, styles and images come from this server alone, inline script never.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** An error as the status it answers with: 400 for a bad parameter, 404 for what is not there, 503 for a busy file. */
function statusOf(err: unknown): number {
  if (err instanceof ConfigError) return 400;
  if (err instanceof NoDataError) return 404;
  if (err instanceof LockedError) return 503;
  if (err instanceof StorageError) return /does not exist/.test(err.message) ? 404 : 500;
  return 500;
}

function send(res: ServerResponse, head: boolean, reply: Reply): void {
  res.writeHead(reply.status ?? 200, { ...SECURITY_HEADERS, 'content-type': reply.type, ...reply.headers });
  res.end(head ? undefined : reply.body);
}

async function answer(req: IncomingMessage, res: ServerResponse, options: UiServerOptions, assets: ReturnType<typeof loadAssets>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://ui.invalid');
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) return send(res, head, { status: 405, type: 'text/plain', body: 'crawl ui reads only: GET or HEAD\n', headers: { allow: 'GET, HEAD' } });
  if (!allowed(req, url, options.token)) return send(res, head, { status: 401, type: 'text/plain', body: 'crawl ui: the token printed at start is required (?token=...)\n' });
  // Once the token came in the URL, a cookie keeps it: links need not carry it.
  const cookie = options.token && url.searchParams.get('token') ? { 'set-cookie': `${TOKEN_COOKIE}=${options.token}; HttpOnly; SameSite=Strict; Path=/` } : undefined;
  const asset = assets.get(url.pathname);
  if (asset) return send(res, head, { type: asset.type, body: asset.body, headers: cookie });
  const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
  if (!route) return send(res, head, { status: 404, type: 'text/plain', body: 'not found\n' });
  try {
    const reply = await route({ url, storageDir: options.storageDir, res, head });
    if (reply) send(res, head, { ...reply, headers: { ...cookie, ...reply.headers } });
  } catch (err) {
    const message = err instanceof CrawlkitError ? err.message : `internal error: ${(err as Error).message}`;
    if (res.headersSent) return void res.destroy();
    send(res, head, { status: statusOf(err), type: 'text/html; charset=utf-8', body: `<!doctype html><title>error</title><p>${escapeHtml(message)}</p><p><a href="/">spiders</a></p>\n` });
  }
}

/** Starts the server; resolves once it listens, with the port it got (`port` 0: any free one). */
export async function startUiServer(options: UiServerOptions): Promise<{ server: Server; port: number }> {
  const assets = loadAssets();
  const server = createServer((req, res) => void answer(req, res, options, assets));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : options.port };
}

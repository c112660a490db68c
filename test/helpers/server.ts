/**
 * Tiny real HTTP server for tests: listens on 127.0.0.1 (random port by default),
 * records every request, and closes without hanging on keep-alive sockets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface TestServer {
  /** "http://127.0.0.1:PORT" — no trailing slash. */
  url: string;
  port: number;
  /** path+query -> number of requests. */
  hits: Map<string, number>;
  requests: { path: string; time: number; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export interface ServerOptions {
  /** Default 0 (random free port). */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
}

export function startServer(handler: Handler, options: ServerOptions = {}): Promise<TestServer> {
  const host = options.host ?? '127.0.0.1';
  const hits = new Map<string, number>();
  const requests: TestServer['requests'] = [];

  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    requests.push({ path, time: Date.now(), headers: req.headers });
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`handler error: ${String(err)}`);
        } else {
          res.destroy();
        }
      });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      let closed: Promise<void> | undefined;
      resolve({
        url: `http://${host}:${port}`,
        port,
        hits,
        requests,
        close() {
          closed ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closed;
        },
      });
    });
  });
}

const TYPES: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** Content type guessed from the path's extension; anything else is served as HTML. */
function contentType(pathname: string): string {
  const ext = /\.[a-z0-9]+$/i.exec(pathname)?.[0].toLowerCase() ?? '';
  return TYPES[ext] ?? 'text/html; charset=utf-8';
}

/** Write a Route (or a plain HTML/text string) to the response. HEAD requests get headers only. */
export function sendRoute(req: http.IncomingMessage, res: http.ServerResponse, route: Route, pathname = '/'): void {
  const body = route.body ?? '';
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string> = { 'content-type': contentType(pathname), 'content-length': String(buf.length) };
  for (const [k, v] of Object.entries(route.headers ?? {})) headers[k.toLowerCase()] = v;
  res.writeHead(route.status ?? 200, headers);
  res.end(req.method === 'HEAD' ? undefined : buf);
}

/**
 * Serve a static site. Keys are paths ("/", "/page/2/", "/robots.txt"); a key with a query
 * string ("/search?q=x") matches that exact URL, otherwise the query is ignored.
 * Missing pages go to `fallback`, or get a 404.
 */
export function serveSite(pages: Map<string, string | Route>, fallback?: Handler, options?: ServerOptions): Promise<TestServer> {
  return startServer((req, res) => {
    const url = req.url ?? '/';
    const pathname = url.split('?')[0] ?? '/';
    const page = pages.get(url) ?? pages.get(pathname);
    if (page !== undefined) {
      sendRoute(req, res, typeof page === 'string' ? { body: page } : page, pathname);
      return;
    }
    if (fallback) return fallback(req, res);
    const notFound = '<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>';
    sendRoute(req, res, { status: 404, headers: { 'content-type': 'text/html; charset=utf-8' }, body: notFound }, pathname);
  }, options);
}

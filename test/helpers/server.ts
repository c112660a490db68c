/**
 * Tiny real HTTP server for tests: listens on 127.0.0.1 (random port by default),
 * records every request, and closes without hanging on keep-alive sockets.
 * With `tls`, an HTTPS server of HTTP/2 (and HTTP/1.1) with the test-only certificate of test/fixtures/tls.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';

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
  /** `version`: the HTTP version the request came in (`1.1`, `2.0`). */
  requests: { path: string; time: number; headers: http.IncomingHttpHeaders; version: string }[];
  close(): Promise<void>;
}

/** The test-only certificate (for 127.0.0.1 and localhost) and key, and the CA that signed it (see test/fixtures/tls/README.md). */
export const TEST_TLS = {
  ca: new URL('../fixtures/tls/ca.pem', import.meta.url).pathname,
  cert: new URL('../fixtures/tls/server.pem', import.meta.url).pathname,
  key: new URL('../fixtures/tls/server-key.pem', import.meta.url).pathname,
};

export interface ServerOptions {
  /** Default 0 (random free port). */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Serve HTTPS with {@link TEST_TLS}'s certificate, HTTP/2 offered, HTTP/1.1 too unless `http1` is false. */
  tls?: { http1?: boolean };
}

export function startServer(handler: Handler, options: ServerOptions = {}): Promise<TestServer> {
  const host = options.host ?? '127.0.0.1';
  const hits = new Map<string, number>();
  const requests: TestServer['requests'] = [];

  const listener: Handler = (req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    requests.push({ path, time: Date.now(), headers: req.headers, version: req.httpVersion });
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
  };
  // The HTTP/2 compatibility API's request and response answer what handlers use of HTTP/1's (url, headers, writeHead, end).
  const tls = options.tls && { key: readFileSync(TEST_TLS.key), cert: readFileSync(TEST_TLS.cert), allowHTTP1: options.tls.http1 ?? true };
  const server = tls ? http2.createSecureServer(tls, listener as unknown as Parameters<typeof http2.createSecureServer>[1]) : http.createServer(listener);
  // An HTTP/2 server has no closeAllConnections: its sockets are kept to end them.
  const sockets = new Set<Socket>();
  if (tls)
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      let closed: Promise<void> | undefined;
      resolve({
        url: `${tls ? 'https' : 'http'}://${host}:${port}`,
        port,
        hits,
        requests,
        close() {
          closed ??= new Promise<void>((done) => {
            server.close(() => done());
            if (server instanceof http.Server) server.closeAllConnections();
            for (const socket of sockets) socket.destroy();
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

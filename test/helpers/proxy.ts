/**
 * A small real HTTP forward proxy for tests, on 127.0.0.1: absolute-URI
 * requests (`GET http://host/path`) are forwarded, CONNECT opens a tunnel.
 * Modes: `auth` requires `Proxy-Authorization: Basic` with those
 * credentials (407 otherwise), `drop` destroys every connection as soon as
 * a request or CONNECT arrives. Every request and CONNECT is recorded; a
 * forwarded request carries `Via: 1.1 test-proxy-PORT`. With `tls`, an
 * https:// proxy.
 */
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';

export interface ProxyOptions {
  /** `user:pass` the client must send; without, any request passes. */
  auth?: string;
  /** Destroy each connection at its first request or CONNECT, answering nothing. */
  drop?: boolean;
  /** Default 0: a free port. */
  port?: number;
  /** A key and certificate (PEM): an https:// proxy, TLS between the client and it. */
  tls?: { key: Buffer; cert: Buffer };
  /** Told of each request and CONNECT (`GET http://...`, `CONNECT host:port`). */
  log?: (line: string) => void;
}

export interface TestProxy {
  /** `http://127.0.0.1:PORT` (`https://` with `tls`). */
  url: string;
  port: number;
  /** The proxy's URL with these credentials in it. */
  urlWith(userinfo: string): string;
  /** Absolute-URI requests received, as `METHOD URL`. */
  requests: string[];
  /** CONNECT targets received, as `host:port`. */
  connects: string[];
  /** Requests and CONNECTs answered 407. */
  refused: number;
  /** Every request and CONNECT received, whatever became of it. */
  readonly total: number;
  close(): Promise<void>;
}

const authorized = (header: string | undefined, auth: string | undefined): boolean =>
  auth === undefined || header === `Basic ${Buffer.from(auth).toString('base64')}`;

/** Sends an absolute-URI request on to its target, with `Via: 1.1 test-proxy-PORT` so the target can tell who sent it. */
function forward(req: http.IncomingMessage, res: http.ServerResponse, port: number): void {
  let target: URL;
  try {
    target = new URL(req.url ?? '');
  } catch {
    res.writeHead(400).end('not an absolute URI');
    return;
  }
  const headers: http.OutgoingHttpHeaders = { ...req.headers, via: `1.1 test-proxy-${port}` };
  delete headers['proxy-authorization'];
  delete headers['proxy-connection'];
  const upstream = http.request({ host: target.hostname, port: target.port || 80, path: target.pathname + target.search, method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end('bad gateway')));
  req.pipe(upstream);
}

/** Opens a CONNECT tunnel to `host:port`; returns the socket to the target. */
function tunnel(req: http.IncomingMessage, client: Socket, head: Buffer): Socket {
  const [host, port] = [(req.url ?? '').replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(req.url ?? '')?.[1] ?? 443)];
  const upstream = net.connect(port, host.replace(/^\[|\]$/g, ''), () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  return upstream;
}

/** Starts a forward proxy (see the module's comment). */
export function startProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const connects: string[] = [];
  let refused = 0;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    options.log?.(`${req.method} ${req.url}`);
    if (options.drop) return void req.socket.destroy();
    if (!authorized(req.headers['proxy-authorization'], options.auth)) {
      refused++;
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-length': '0' });
      return void res.end();
    }
    forward(req, res, (server.address() as AddressInfo).port);
  };
  const server = options.tls ? https.createServer(options.tls, onRequest) : http.createServer(onRequest);
  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    connects.push(req.url ?? '');
    options.log?.(`CONNECT ${req.url}`);
    client.on('error', () => {});
    if (options.drop) return void client.destroy();
    if (!authorized(req.headers['proxy-authorization'], options.auth)) {
      refused++;
      return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
    }
    const upstream = tunnel(req, client, head);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      let closed: Promise<void> | undefined;
      const scheme = options.tls ? 'https' : 'http';
      resolve({
        url: `${scheme}://127.0.0.1:${port}`,
        port,
        urlWith: (userinfo) => `${scheme}://${userinfo}@127.0.0.1:${port}`,
        requests,
        connects,
        get refused() {
          return refused;
        },
        get total() {
          return requests.length + connects.length;
        },
        close() {
          closed ??= new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          });
          return closed;
        },
      });
    });
  });
}

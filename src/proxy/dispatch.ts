import { Pool, ProxyAgent, type Dispatcher } from 'undici';
import { FetchError } from '../errors.js';
import { Reason } from '../reasons.js';
import type { TlsConnectOptions } from '../fetch/tls.js';
import type { Settings } from '../settings.js';
import type { ProxyEndpoint } from './list.js';

/**
 * The fetch's side of the proxies: one undici ProxyAgent per proxy, made on
 * its first request and kept (keep-alive to the proxy, as the direct Agent
 * keeps to each origin), with the direct Agent's timeouts and its
 * decompression; and what a failure through a proxy was, so that a failing
 * proxy is told from a failing site.
 *
 * An http:// target goes to the proxy as an absolute-URI request (`GET
 * http://host/path`, RFC 9112 section 3.2.2), as curl and Scrapy send it; an
 * https:// target through a CONNECT tunnel, TLS end to end with the site.
 */

/** The connection-level failures of a request through a proxy: all are the proxy's, as nothing else is connected to. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
/** The connection to (or through) the proxy closed with no response. */
const CLOSED_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

/** Marks an error of the proxy's CONNECT that undici would otherwise retry at once, forever. */
const TUNNEL_CLOSED = 'CRAWLKIT_PROXY_TUNNEL_CLOSED';

/**
 * The proxy's client, whose CONNECT failing with a closed socket is re-coded:
 * undici 7.30 takes that `UND_ERR_SOCKET` for a recoverable error of an
 * established connection and reconnects in a tight loop, never failing the
 * request (18,002 CONNECTs in 10 s against a proxy that drops them, measured;
 * nodejs/undici#3897, fixed upstream by #5441 after the version pinned here).
 */
function proxyClient(origin: string | URL, options: Pool.Options): Dispatcher {
  const pool = new Pool(origin, options);
  const connect = pool.connect.bind(pool) as (o: Dispatcher.ConnectOptions) => Promise<Dispatcher.ConnectData>;
  (pool as { connect: unknown }).connect = (o: Dispatcher.ConnectOptions) =>
    connect(o).catch((err: { code?: string }) => {
      throw err?.code === 'UND_ERR_SOCKET' ? Object.assign(new Error('the proxy closed the connection during CONNECT'), { code: TUNNEL_CLOSED }) : err;
    });
  return pool;
}

/**
 * The Proxy-Authorization of a URL with a user name and no password (a
 * proxy service's key, `http://KEY@host:port`), which undici sends only for a
 * user and a password; none for other URLs.
 */
function userOnly(url: string): { token?: string } {
  const { username, password } = new URL(url);
  return username && !password ? { token: `Basic ${Buffer.from(`${decodeURIComponent(username)}:`).toString('base64')}` } : {};
}

/** The dispatchers of a crawl's proxies, made once each. */
export interface ProxyDispatchers {
  get(proxy: ProxyEndpoint): Dispatcher;
  close(): Promise<void>;
}

/** Dispatchers with `settings`' timeouts, each composed with `decompress` (the direct Agent's interceptor). */
export function proxyDispatchers(settings: Pick<Settings, 'timeouts'>, decompress: Dispatcher.DispatcherComposeInterceptor, tls: TlsConnectOptions): ProxyDispatchers {
  const { connectMs, headersMs, bodyMs } = settings.timeouts;
  // The crawl's TLS trust (tls.ca, tls.rejectUnauthorized) holds through a proxy too: for the site's TLS inside a CONNECT, and an https:// proxy's own.
  const trust = { timeout: connectMs, rejectUnauthorized: tls.rejectUnauthorized, ...(tls.secureContext && { secureContext: tls.secureContext }) };
  const agents = new Map<string, ProxyAgent>();
  const composed = new Map<string, Dispatcher>();
  const timeouts = { headersTimeout: headersMs, bodyTimeout: bodyMs, keepAliveTimeout: 10_000 };
  return {
    get(proxy) {
      let d = composed.get(proxy.id);
      if (d) return d;
      const agent = new ProxyAgent({
        uri: proxy.url,
        ...userOnly(proxy.url),
        proxyTunnel: false, // CONNECT for https:// targets only
        ...timeouts,
        proxyTls: trust,
        requestTls: trust,
        clientFactory: (origin, options) => proxyClient(origin, { ...options, ...timeouts }),
        // The pools of absolute-URI requests to the proxy: undici gives them no timeouts of their own.
        factory: (origin, options) => new Pool(origin, { ...options, ...timeouts }),
      });
      agents.set(proxy.id, agent);
      composed.set(proxy.id, (d = agent.compose(decompress)));
      return d;
    },
    async close() {
      await Promise.all([...agents.values()].map((a) => a.close().catch(() => {})));
    },
  };
}

/**
 * What a failure of a request through `proxy` was, when it was the proxy's:
 * `proxy:auth` (407), `proxy:connect` (no connection to it), `proxy:closed`
 * (closed before a response), `proxy:tunnel` (a CONNECT refused otherwise);
 * undefined for any other (a timeout, a body too large: the site's, as
 * without a proxy). The message names the proxy by its label, never its password.
 */
export function proxyFailure(err: unknown, proxy: ProxyEndpoint): FetchError | undefined {
  if (err instanceof FetchError) return undefined;
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const message = e.message ?? '';
  const fail = (reason: string, why: string) => new FetchError(reason, `proxy ${proxy.label}: ${why}`, true);
  if (/\(407\)/.test(message)) return fail(Reason.proxyAuth, 'answered 407 Proxy Authentication Required: check its user and password');
  const tunnel = /^Proxy response \((\d+)\)/.exec(message);
  if (tunnel) return fail(Reason.proxyTunnel, `refused the tunnel with ${tunnel[1]}`);
  if (code === TUNNEL_CLOSED) return fail(Reason.proxyClosed, 'closed the connection during CONNECT');
  if (CONNECT_CODES.has(code)) return fail(Reason.proxyConnect, `cannot connect (${code})`);
  if (CLOSED_CODES.has(code)) return fail(Reason.proxyClosed, `the connection closed before a response (${code})`);
  return undefined;
}

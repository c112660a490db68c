import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { FetchError } from '../errors.js';
import { proxyDispatchers, proxyFailure } from '../proxy/dispatch.js';
import type { ProxyEndpoint } from '../proxy/list.js';
import { networkReason, Reason } from '../reasons.js';
import type { Settings } from '../settings.js';
import { addressPolicy, guardedConnector, proxiedTargetGuard, type AddressPolicy } from './addresses.js';
import { isTlsCode, tlsConnectOptions, tlsFailure } from './tls.js';

/** What to fetch. */
export interface FetchRequest {
  url: string;
  method: string;
  headers: Record<string, string> | null;
  body: string | null;
  /** The request's meta; a positive number in `meta.maxBodyBytes` replaces the `maxBodyBytes` setting for this request (sitemaps use it). */
  meta?: Record<string, unknown> | null;
  /** Keep only this many bytes of the body and stop reading, instead of failing as `too-large` (robots.txt has a parsing limit of its own). */
  truncateAt?: number;
  /** Send it through this proxy (the `proxies` middleware's choice); the target's address is checked here then, as the proxy connects to it. */
  proxy?: ProxyEndpoint;
}

/** The body size cap of one request. */
const capOf = (req: FetchRequest, setting: number): number => {
  const cap = req.meta?.maxBodyBytes;
  return typeof cap === 'number' && cap > 0 ? cap : setting;
};

/** A fetched response, body decompressed. */
export interface Fetched {
  url: string;
  status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Empty when `readBody` declined it. */
  body: Buffer;
  /** The Set-Cookie lines as sent, apart (`headers` joins them with ", ", which an `Expires` date makes ambiguous). */
  setCookie?: string[];
}

/** Fetches over one shared undici Agent: the end of the middleware chain. */
export interface Fetcher {
  /**
   * One HTTP exchange, no redirects followed (the chain follows them, so
   * each hop passes the scope and robots checks). `readBody` decides from the
   * status whether the body is worth reading; otherwise it is discarded.
   * @throws {@link FetchError} naming the reason: `timeout:connect|headers|body|request`, `too-large`, `network:CODE`, `tls:CODE`,
   *   through a proxy `proxy:auth|connect|closed|tunnel`.
   */
  fetch(req: FetchRequest, readBody?: (status: number) => boolean, signal?: AbortSignal): Promise<Fetched>;
  close(): Promise<void>;
}

const flatten = (headers: Record<string, string | string[] | undefined>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
};

function classify(err: unknown, deadline: AbortSignal, maxBodyBytes: number, status: number | undefined): FetchError {
  if (err instanceof FetchError) return err;
  const e = err as { code?: string; message?: string; name?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const message = e.message ?? String(err);
  if (deadline.aborted) return new FetchError(Reason.timeoutRequest, 'request deadline exceeded', true, { cause: err });
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new FetchError(Reason.timeoutConnect, message, true, { cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new FetchError(Reason.timeoutHeaders, message, true, { cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new FetchError(Reason.timeoutBody, message, true, { cause: err });
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return new FetchError(Reason.tooLarge, `body larger than maxBodyBytes (${maxBodyBytes})`, false, { cause: err, status });
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
    case 'ERR_BROTLI_DECOMPRESSION_FAILED':
    case 'ERR__ERROR_FORMAT_PADDING_1':
      return new FetchError(Reason.badEncoding, `cannot decompress body: ${message}`, false, { cause: err, status });
    case 'UND_ERR_INVALID_ARG':
    case 'ERR_INVALID_URL':
      return new FetchError(Reason.badRequest, message, false, { cause: err });
  }
  if (e.name === 'AbortError') return new FetchError(Reason.aborted, message, false, { cause: err });
  if (isTlsCode(code)) return tlsFailure(code, message, err);
  return new FetchError(networkReason(code), message, true, { cause: err });
}

/**
 * undici marks its decompress interceptor experimental and says so on stderr
 * when one is created; crawlkit pins undici's version, so the warning would
 * only greet every crawl. Other warnings pass.
 */
function withoutExperimentalWarning<T>(make: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).includes('DecompressInterceptor is experimental')) (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return make();
  } finally {
    process.emitWarning = emit;
  }
}

/** What the fetch decodes, sent when no middleware set Accept-Encoding (the `headers` middleware sets the same). */
const DECODES = { 'accept-encoding': 'gzip, deflate, br' };

/**
 * Creates the fetcher: keep-alive pools per origin, HTTP/2 when `http2` (by
 * ALPN, over TLS), the `tls.*` trust, named timeouts, size cap,
 * gzip/deflate/br decoding, and no connection to an address `addresses`
 * does not allow (by default, none but public ones unless `allowPrivateAddresses`).
 * These stay inside the fetch, as undici's interceptors and its body loop,
 * rather than being middlewares: the cap is on the decompressed bytes as they
 * stream in (a gzip bomb is cut off, never buffered), and the address is
 * checked on the socket about to connect, after DNS. Headers, cookies,
 * redirects and retries are the chain's (`src/middleware/`).
 */
export function createFetcher(settings: Settings, addresses: AddressPolicy = addressPolicy(settings.allowPrivateAddresses)): Fetcher {
  const { timeouts, maxBodyBytes } = settings;
  const tls = tlsConnectOptions(settings);
  const agent = new Agent({
    connect: guardedConnector(addresses, timeouts.connectMs, tls),
    allowH2: tls.allowH2,
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
    keepAliveTimeout: 10_000,
  });
  // The cap is per request (capOf), so undici's own caps (one per Agent) are off and the body loop below enforces it,
  // on the decompressed bytes as they stream in: a gzip bomb is still cut off, never buffered.
  const decompress = withoutExperimentalWarning(() => interceptors.decompress({ skipErrorResponses: false }));
  const direct: Dispatcher = agent.compose(decompress);
  const proxied = proxyDispatchers(settings, decompress, tls);
  const guardTarget = proxiedTargetGuard(addresses);

  return {
    async fetch(req, readBody = () => true, signal) {
      const deadline = AbortSignal.timeout(timeouts.requestMs);
      const cap = req.truncateAt ?? capOf(req, maxBodyBytes);
      let status: number | undefined;
      try {
        if (req.proxy) await guardTarget(new URL(req.url).hostname);
        const dispatcher = req.proxy ? proxied.get(req.proxy) : direct;
        const headers = req.headers === null ? DECODES : req.headers['accept-encoding'] === undefined ? { ...DECODES, ...req.headers } : req.headers;
        const res = await request(req.url, {
          dispatcher,
          method: req.method as Dispatcher.HttpMethod,
          headers,
          body: req.body ?? undefined,
          signal: signal ? AbortSignal.any([deadline, signal]) : deadline,
        });
        const cookies = res.headers['set-cookie'];
        const setCookie = cookies === undefined ? undefined : Array.isArray(cookies) ? cookies : [cookies];
        status = res.statusCode;
        const resHeaders = flatten(res.headers);
        if (!readBody(res.statusCode)) {
          await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
          return { url: req.url, status: res.statusCode, headers: resHeaders, body: Buffer.alloc(0), setCookie };
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > cap) {
            res.body.destroy();
            if (req.truncateAt === undefined) throw new FetchError(Reason.tooLarge, `body larger than maxBodyBytes (${cap})`, false, { status });
            chunks.push(chunk.subarray(0, chunk.length - (size - cap)));
            size = cap;
            break;
          }
          chunks.push(chunk);
        }
        return { url: req.url, status: res.statusCode, headers: resHeaders, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), setCookie };
      } catch (err) {
        throw (req.proxy && !deadline.aborted && proxyFailure(err, req.proxy)) || classify(err, deadline, cap, status);
      }
    },
    close: async () => {
      await Promise.all([agent.close(), proxied.close()]);
    },
  };
}

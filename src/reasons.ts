/**
 * Why a request ended as it did, as the codes the database, the stats, the
 * summary and `crawl failures --reason` use: a closed set, each with its
 * constant here (the README's "What happens to a response" table says when
 * each is given). A spider's middleware adds one more kind: its own name,
 * for what it skips or fails.
 */
import type { AddressKind } from './fetch/addresses.js';

/** The codes with a fixed text. */
export const Reason = {
  /** Out of the crawl's domains (skipped). */
  offsite: 'offsite',
  /** Past `maxDepth` (skipped). */
  depth: 'depth',
  /** Disallowed by robots.txt (the reason of a `disallowed` request). */
  robots: 'robots.txt',
  redirectLoop: 'redirect:loop',
  redirectTooMany: 'redirect:too-many',
  redirectBadLocation: 'redirect:bad-location',
  timeoutConnect: 'timeout:connect',
  timeoutHeaders: 'timeout:headers',
  timeoutBody: 'timeout:body',
  timeoutRequest: 'timeout:request',
  /** A body over `maxBodyBytes` (after decompression). */
  tooLarge: 'too-large',
  /** A body that does not decompress as its Content-Encoding says. */
  badEncoding: 'bad-encoding',
  /** A request undici refuses to send (a bad header, method or URL). */
  badRequest: 'bad-request',
  aborted: 'aborted',
  /** The proxy refused or did not take the connection (benched; retried through another). */
  proxyConnect: 'proxy:connect',
  /** The proxy answered 407: its credentials are wrong (benched; retried through another). */
  proxyAuth: 'proxy:auth',
  /** The connection through the proxy closed before a response (benched; retried through another). */
  proxyClosed: 'proxy:closed',
  /** The proxy would not open a tunnel to the target (a CONNECT answered with another status than 200 or 407): retried, the proxy not benched. */
  proxyTunnel: 'proxy:tunnel',
  /** Every proxy benched for longer than `timeouts.requestMs`: retried later. */
  proxyNone: 'proxy:none',
  /** A replay's request that was never cached. */
  cacheMiss: 'cache:miss',
  /** A cached body that does not decode. */
  cacheCorrupt: 'cache:corrupt',
  callbackError: 'callback:error',
  callbackTimeout: 'callback:timeout',
  /** The parser worker died with the page: retried. */
  workerCrashed: 'worker:crashed',
  /** A rendered request with no browser to render it (playwright-core or Chromium missing): not retried. */
  browserUnavailable: 'browser:unavailable',
  /** The browser died with the page (or was killed): retried, in a fresh browser. */
  browserCrashed: 'browser:crashed',
  /** The page did not load, or `render.waitFor` did not come, within `render.timeoutMs`: retried. */
  browserTimeout: 'browser:timeout',
  /** The browser refused the navigation (a page it cannot load): not retried. */
  browserError: 'browser:error',
  /** A bug of crawlkit's: the request failed, the crawl goes on. */
  internal: 'internal',
} as const;

/** A code with a fixed text. */
export type FixedReason = (typeof Reason)[keyof typeof Reason];

/** A fetch's own failure, as `robots:` prefixes it too. */
export type FetchReason =
  | `http:${number}`
  | `network:${string}`
  | `tls:${string}`
  | `blocked:${Exclude<AddressKind, 'public'>}`
  | typeof Reason.timeoutConnect
  | typeof Reason.timeoutHeaders
  | typeof Reason.timeoutBody
  | typeof Reason.timeoutRequest
  | typeof Reason.tooLarge
  | typeof Reason.badEncoding
  | typeof Reason.badRequest
  | typeof Reason.aborted
  | typeof Reason.proxyConnect
  | typeof Reason.proxyAuth
  | typeof Reason.proxyClosed
  | typeof Reason.proxyTunnel
  | typeof Reason.proxyNone;

/**
 * Every code crawlkit gives: the fixed ones, a status (`http:503`), a
 * network error's code (`network:ECONNRESET`), a TLS handshake's or
 * certificate's (`tls:UNABLE_TO_VERIFY_LEAF_SIGNATURE`), an address not allowed
 * (`blocked:loopback`), and a robots.txt that could not be read, with why
 * (`robots:http:503`, `robots:timeout:headers`), and a session ban that
 * outlasted the attempts (`banned:403`).
 */
export type FailureReason = FixedReason | FetchReason | BanReason | `robots:${FetchReason}` | `robots:error: ${string}`;

/** The code of a request whose sessions were banned until its attempts ran out: `banned:403`, `banned:text`, `banned:REASON` (session/bans.ts). */
export type BanReason = `banned:${string}`;

/** The code of a response that failed by its status. */
export const httpReason = (status: number): `http:${number}` => `http:${status}`;

/** The code of a network error, by its code (`ECONNRESET`). */
export const networkReason = (code: string): `network:${string}` => `network:${code || 'error'}`;

/** The code of a TLS failure, by its code: a certificate not trusted (`DEPTH_ZERO_SELF_SIGNED_CERT`), a handshake refused (`ERR_SSL_...`). */
export const tlsReason = (code: string): `tls:${string}` => `tls:${code}`;

/** The code of a connection refused for its address. */
export const blockedReason = (kind: Exclude<AddressKind, 'public'>): `blocked:${typeof kind}` => `blocked:${kind}`;

/** The code of a request held back because its robots.txt could not be read. */
export const robotsReason = (why: FetchReason | `error: ${string}`): `robots:${typeof why}` => `robots:${why}`;

import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { ConfigError, FetchError } from '../errors.js';
import { tlsReason } from '../reasons.js';
import type { Settings } from '../settings.js';

/**
 * TLS as the crawl's settings want it (`http2`, `tls.*`), for the connector
 * (undici's `buildConnector`, which hands these to `tls.connect`), and TLS
 * failures told apart from network ones (`tls:CODE`, not retried).
 */

/** What the connector passes to each TLS connection. */
export interface TlsConnectOptions {
  /** Offer `h2` by ALPN besides `http/1.1`. */
  allowH2: boolean;
  rejectUnauthorized: boolean;
  /** Node's CAs and the `tls.ca` file's, built once: a context per connection would parse the ~150 roots every time. */
  secureContext?: SecureContext;
}

/** The `tls.ca` file's text. @throws {@link ConfigError} in one line when it cannot be read or holds no certificate. */
function readCa(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`cannot read tls.ca ${JSON.stringify(path)}: ${e.code ?? e.message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`tls.ca ${JSON.stringify(path)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return text;
}

/**
 * The TLS options of a crawl's connections; the `tls.ca` file is read here,
 * once, when the fetch is made (and by `crawl()` before anything is opened).
 * Its CAs are trusted besides Node's own, so public sites still verify.
 * @throws {@link ConfigError} for a `tls.ca` file that cannot be read or used.
 */
export function tlsConnectOptions(settings: Pick<Settings, 'http2' | 'tls'>): TlsConnectOptions {
  const options: TlsConnectOptions = { allowH2: settings.http2, rejectUnauthorized: settings.tls.rejectUnauthorized };
  if (!settings.tls.ca) return options;
  const ca = readCa(settings.tls.ca);
  try {
    options.secureContext = createSecureContext({ ca: [...rootCertificates, ca] });
  } catch (err) {
    throw new ConfigError(`tls.ca ${JSON.stringify(settings.tls.ca)} is not a usable certificate file: ${(err as Error).message}`);
  }
  return options;
}

/**
 * OpenSSL's certificate verification codes, as Node gives them (`err.code`);
 * TLS errors of Node's own are `ERR_TLS_*` (a name not on the certificate)
 * and OpenSSL's `ERR_SSL_*` (a handshake alert).
 */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** A server that takes none of the protocols offered: one that speaks HTTP/2 alone, when `http2` is off. */
const NO_PROTOCOL = 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL';

/** Whether an error code is a TLS one. */
export const isTlsCode = (code: string): boolean => CERTIFICATE_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');

/** The reason part of an OpenSSL error line (`...:error:0A000460:SSL routines:ssl3_read_bytes:REASON:file.c:1601:...`), else the whole message. */
const opensslReason = (message: string): string => /:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(message)?.[1] ?? message;

/** What a TLS failure's code means, and the setting that would get past it; `message`: the error's own. */
export function tlsHint(code: string, message = ''): string {
  if (code === NO_PROTOCOL) return 'the server takes none of the protocols offered (a server of HTTP/2 alone needs -s http2=true)';
  if (code.startsWith('ERR_SSL_')) return `TLS handshake failed: ${opensslReason(message || code)}`;
  return `certificate refused: ${message || code} (-s tls.ca=FILE trusts a private CA; -s tls.rejectUnauthorized=false any certificate, for a test server)`;
}

/**
 * A TLS failure as a request's failure, `tls:CODE`, with what would fix it.
 * Not retried: a certificate or a handshake refused now is refused the next time.
 */
export function tlsFailure(code: string, message: string, cause: unknown): FetchError {
  return new FetchError(tlsReason(code), tlsHint(code, message), false, { cause });
}

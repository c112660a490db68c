/**
 * Who may use `crawl ui`: on a loopback address, this machine's browsers (and
 * only under a loopback name, so a web page cannot reach it by DNS
 * rebinding); on any other address, whoever has the token printed at start.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** The cookie a browser keeps the token in, once it came with `?token=`. */
export const TOKEN_COOKIE = 'crawlkit_ui';

/** Whether `host` is a loopback address or `localhost`: the server is then reachable from this machine alone. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** A new token: 128 random bits, URL-safe. */
export const newToken = (): string => randomBytes(16).toString('base64url');

/** Equal, in a time that tells nothing of where they differ: both hashed first, so their lengths leak nothing either. */
function sameSecret(given: string, token: string): boolean {
  const hash = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(hash(given), hash(token));
}

/** The token a request carries: `?token=`, `Authorization: Bearer`, or the cookie. */
function givenToken(req: IncomingMessage, url: URL): string | null {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return v.join('=');
  }
  return null;
}

/** Whether a request may be answered: with a token, it must carry it; without, its Host must be a loopback name. */
export function allowed(req: IncomingMessage, url: URL, token: string | null): boolean {
  if (token !== null) {
    const given = givenToken(req, url);
    return given !== null && sameSecret(given, token);
  }
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  return isLoopback(host);
}

// The README's "Middleware" examples, as they run in test/middleware-cli.test.ts (the README imports from 'crawlkit-ts').
import { retryRequest, type Middleware } from '../src/index.js';

/** A bearer token for one host, and no other: not for a link or a redirect to another host. */
export const bearerToken = (host: string, token: string): Middleware => ({
  name: 'auth',
  request(req) {
    if (new URL(req.url).host === host) req.headers.authorization = `Bearer ${token}`;
    return req;
  },
});

/**
 * A 200 that is a captcha page is no page: fetch it again after `delayMs`,
 * as a retry (counted; after `retry.maxAttempts` attempts in all, the request
 * fails as `banned`).
 */
export const banDetector = ({ word = 'captcha', delayMs = 30_000 } = {}): Middleware => ({
  name: 'ban-detector',
  response(res, req) {
    if (res.status === 200 && res.text.includes(word)) return retryRequest(req, { reason: 'banned', delayMs });
    return res;
  },
});

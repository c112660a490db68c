import { givenFields, requestWith } from '../request.js';
import type { Settings } from '../settings.js';
import { ALL_PURPOSES, type BuiltinMiddleware } from './types.js';

/** What crawlkit's fetch decodes (undici's decompress interceptor, inside the fetch): the one header the fetch adds itself when no middleware did. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/**
 * The headers every request carries unless it sets its own: the User-Agent
 * (`userAgent`), Accept, Accept-Language and Accept-Encoding. The request
 * goes on as a copy with its own headers object, so a middleware after this
 * one may change `req.headers` in place without touching the request the
 * frontier holds.
 */
export function headersMiddleware(settings: Pick<Settings, 'userAgent'>): BuiltinMiddleware {
  const defaults: Record<string, string> = {
    'user-agent': settings.userAgent,
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-encoding': ACCEPT_ENCODING,
    'accept-language': 'en',
  };
  return {
    name: 'headers',
    about: 'default headers: User-Agent, Accept, Accept-Language, Accept-Encoding (userAgent)',
    purposes: ALL_PURPOSES,
    request(req) {
      const given = givenFields(req).headers;
      return requestWith(req, { headers: given ? { ...defaults, ...given } : { ...defaults } });
    },
  };
}

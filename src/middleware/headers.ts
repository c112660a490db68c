import { givenFields, requestWith } from '../request.js';
import type { Settings } from '../settings.js';
import { ALL_PURPOSES, type BuiltinMiddleware } from './types.js';

/** What crawlkit's fetch decodes (undici's decompress interceptor, inside the fetch): the one header the fetch adds itself when no middleware did. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/** crawlkit's own defaults, under the settings' headers. */
const CRAWLKIT_DEFAULTS: Readonly<Record<string, string>> = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-encoding': ACCEPT_ENCODING,
  'accept-language': 'en',
};

/** `from` laid over `into`, names lower-cased (a request may give `Accept-Language` for a default's `accept-language`). */
function layHeaders(into: Record<string, string>, from: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(from)) into[name.toLowerCase()] = value;
  return into;
}

/** The headers sent: those set to '' are not. */
function sent(headers: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  return headers;
}

/** The host name of a `host[:port]` (`[::1]:8080` is `[::1]`, as `URL.hostname` writes it). */
const hostnameOf = (host: string): string => (host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':', 1)[0]!);

/**
 * The headers every request carries, in one place, each level over the one
 * before: crawlkit's defaults (the User-Agent of `userAgent`, Accept,
 * Accept-Language, Accept-Encoding), then the `headers` setting, then
 * `hostHeaders` of the request's host, then the request's own. Names are
 * matched whatever their case; a header set to '' at any level is not sent.
 * The request goes on as a copy with its own headers object, so a middleware
 * after this one may change `req.headers` in place without touching the
 * request the frontier holds (and a redirect to another host starts again
 * from that request: a host's headers never travel with it).
 */
export function headersMiddleware(settings: Pick<Settings, 'userAgent' | 'headers' | 'hostHeaders'>): BuiltinMiddleware {
  const crawl = layHeaders({ 'user-agent': settings.userAgent, ...CRAWLKIT_DEFAULTS }, settings.headers);
  const hosts = new Map(Object.entries(settings.hostHeaders).map(([host, headers]) => [host, layHeaders({ ...crawl }, headers)]));
  const simple = Object.values(crawl).every((v) => v !== '');
  return {
    name: 'headers',
    about: "default headers: User-Agent, Accept, Accept-Language, Accept-Encoding, the crawl's and the host's (userAgent, headers, hostHeaders)",
    purposes: ALL_PURPOSES,
    request(req) {
      const given = givenFields(req).headers;
      const base = hosts.size === 0 ? crawl : (hosts.get(hostnameOf(req.host)) ?? crawl);
      // The common case (no header of any level set to '', none given) is one copy.
      if (given === undefined && simple && base === crawl) return requestWith(req, { headers: { ...crawl } });
      return requestWith(req, { headers: sent(given ? layHeaders({ ...base }, given) : { ...base }) });
    },
  };
}

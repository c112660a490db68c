import { CookieJar } from 'tough-cookie';
import { requestWith } from '../request.js';
import { ALL_PURPOSES, type BuiltinMiddleware } from './types.js';

/**
 * A cookie jar per crawl process, as Scrapy keeps by default: cookies a
 * site sets are sent back to it. tough-cookie applies RFC 6265's domain
 * matching and the public suffix list, so a cookie never reaches another
 * registrable domain (and `Domain=com` is refused). A request's own Cookie
 * header comes first. The Set-Cookie lines are read as the fetch got them
 * (`ctx.setCookie`): the response's headers join them with ", ", which a
 * cookie's `Expires` date makes ambiguous.
 */
export function cookiesMiddleware(): BuiltinMiddleware {
  const jar = new CookieJar();
  let empty = true; // most sites set no cookie: no jar lookup until one does
  return {
    name: 'cookies',
    about: 'a cookie jar: cookies sites set are sent back to them, never to another domain (cookies)',
    purposes: ALL_PURPOSES,
    request(req) {
      if (empty) return req;
      const cookie = jar.getCookieStringSync(req.url);
      if (!cookie) return req;
      const own = req.headers.cookie;
      return requestWith(req, { headers: { ...req.headers, cookie: own ? `${own}; ${cookie}` : cookie } });
    },
    response(res, req, ctx) {
      if (ctx.setCookie) for (const line of ctx.setCookie) if (jar.setCookieSync(line, req.url, { ignoreError: true })) empty = false;
      return res;
    },
  };
}

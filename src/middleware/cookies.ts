import { CookieJar } from 'tough-cookie';
import { requestWith } from '../request.js';
import { hasCookies, jarChanged } from '../session/cookies.js';
import type { Exchange } from './chain.js';
import { ALL_PURPOSES, type BuiltinMiddleware } from './types.js';

/**
 * Cookies, a jar per session (`ctx.session.jar`, see the sessions
 * middleware; robots.txt, bound to no session, has one of its own): cookies
 * a site sets are sent back to it. tough-cookie applies RFC 6265's domain
 * matching and the public suffix list, so a cookie never reaches another
 * registrable domain (and `Domain=com` is refused). A request's own Cookie
 * header comes first. The Set-Cookie lines are read as the fetch got them
 * (`ctx.setCookie`): the response's headers join them with ", ", which a
 * cookie's `Expires` date makes ambiguous. A jar that changed is written with
 * its session (session/sync.ts).
 */
export function cookiesMiddleware(): BuiltinMiddleware {
  const own = new CookieJar();
  const jarOf = (ctx: Exchange): CookieJar | null => (ctx.session ? ctx.session.jar : own);
  return {
    name: 'cookies',
    about: "a cookie jar per session: cookies sites set are sent back to them, never to another domain (cookies)",
    purposes: ALL_PURPOSES,
    request(req, ctx) {
      const jar = jarOf(ctx);
      if (!jar || !hasCookies(jar)) return req;
      const cookie = jar.getCookieStringSync(req.url);
      if (!cookie) return req;
      const mine = req.headers.cookie;
      return requestWith(req, { headers: { ...req.headers, cookie: mine ? `${mine}; ${cookie}` : cookie } });
    },
    response(res, req, ctx) {
      const jar = jarOf(ctx);
      if (!jar || !ctx.setCookie) return res;
      let changed = false;
      for (const line of ctx.setCookie) if (jar.setCookieSync(line, req.url, { ignoreError: true })) changed = true;
      if (changed) jarChanged(jar);
      return res;
    },
  };
}

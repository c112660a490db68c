/**
 * A session's cookies on both sides: the HTTP side's tough-cookie jar is the
 * one that lasts; a browser context gets the jar's cookies for a page's URL
 * before it navigates, and gives back what the page set once it closes, so
 * a login made over HTTP holds in the browser and the other way round.
 */
import type { BrowserContext } from 'playwright-core';
import { Cookie, type CookieJar } from 'tough-cookie';

type PlaywrightCookie = Parameters<BrowserContext['addCookies']>[0][number];

const SAME_SITE: Record<string, PlaywrightCookie['sameSite']> = { strict: 'Strict', lax: 'Lax', none: 'None' };

/** The jar's cookies that `url` would be sent, copied into `context`. */
export async function cookiesIntoContext(jar: CookieJar, context: BrowserContext, url: string): Promise<void> {
  const cookies = jar.getCookiesSync(url);
  if (cookies.length === 0) return;
  const origin = new URL(url).origin;
  await context.addCookies(
    cookies.map((c): PlaywrightCookie => {
      const expires = c.expires instanceof Date ? c.expires.getTime() / 1000 : -1;
      const sameSite = SAME_SITE[String(c.sameSite).toLowerCase()];
      const common = { name: c.key, value: c.value, expires, httpOnly: c.httpOnly, secure: c.secure, ...(sameSite ? { sameSite } : {}) };
      // A host-only cookie is given by URL (Playwright makes it host-only); a domain cookie by its domain.
      return c.hostOnly || !c.domain ? { ...common, url: `${origin}${c.path ?? '/'}` } : { ...common, domain: `.${c.domain}`, path: c.path ?? '/' };
    }),
  );
}

/** The context's cookies, stored back into the jar (each under its own domain, so the jar's RFC 6265 rules apply). */
export async function cookiesIntoJar(context: BrowserContext, jar: CookieJar): Promise<void> {
  for (const c of await context.cookies()) {
    const domain = c.domain.replace(/^\./, '');
    const cookie = new Cookie({
      key: c.name,
      value: c.value,
      domain,
      path: c.path,
      expires: c.expires > 0 ? new Date(c.expires * 1000) : 'Infinity',
      httpOnly: c.httpOnly,
      secure: c.secure,
      hostOnly: !c.domain.startsWith('.'),
      sameSite: c.sameSite?.toLowerCase(),
    });
    jar.setCookieSync(cookie, `${c.secure ? 'https' : 'http'}://${domain}${c.path}`, { ignoreError: true });
  }
}

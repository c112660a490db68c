import { Cookie, type CookieJar } from 'tough-cookie';

/**
 * A jar's cookies as tough-cookie serialises them, each under its identity
 * (domain, path, name): what a store writes, and what tells a jar's changes
 * apart (sync.ts writes only those). `lastAccessed` is left out: every
 * request that sends a cookie updates it, which is no change worth a write.
 */
export type CookieMap = Map<string, string>;

/** The identity of a cookie: a jar holds one per domain, path and name (RFC 6265, 5.3 step 11). */
const identity = (c: { domain?: string | null; path?: string | null; key?: string }) => `${c.domain ?? ''}|${c.path ?? ''}|${c.key ?? ''}`;

/** The cookies of `jar` (none without one), by identity, each as JSON. */
export function cookieMap(jar: CookieJar | null): CookieMap {
  const map: CookieMap = new Map();
  if (!jar) return map;
  for (const cookie of jar.serializeSync()?.cookies ?? []) {
    const { lastAccessed: _unused, ...kept } = cookie as Record<string, unknown>;
    map.set(identity(kept), JSON.stringify(kept));
  }
  return map;
}

/** Jars known to hold a cookie: most sites set none, and an empty jar needs no lookup (the cookies middleware asks). */
const filled = new WeakSet<CookieJar>();
/** Jars whose cookies changed since their session was last written. */
const changed = new WeakSet<CookieJar>();

/** Whether a cookie ever went into `jar`. */
export const hasCookies = (jar: CookieJar): boolean => filled.has(jar);

/** A Set-Cookie went into `jar`: it holds cookies, and its session is written at the next flush. */
export function jarChanged(jar: CookieJar): void {
  filled.add(jar);
  changed.add(jar);
}

/** Whether `jar` changed since the last call (which forgets it). */
export const takeChanged = (jar: CookieJar): boolean => changed.delete(jar);

/** Puts cookies (as {@link cookieMap} gives them) into `jar`, replacing those of the same identity, and removes `gone`. */
export function putCookies(jar: CookieJar | null, put: readonly string[], gone: readonly string[] = []): void {
  if (!jar) return;
  if (put.length > 0) filled.add(jar);
  // The memory store answers at once: these calls are synchronous.
  for (const json of put) {
    const cookie = Cookie.fromJSON(json);
    if (cookie) void jar.store.putCookie(cookie, () => {});
  }
  for (const json of gone) {
    const c = JSON.parse(json) as { domain: string; path: string; key: string };
    void jar.store.removeCookie(c.domain, c.path, c.key, () => {});
  }
}

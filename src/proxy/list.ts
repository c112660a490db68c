import { readFileSync } from 'node:fs';

/**
 * Proxy URLs as the `proxy` and `proxies` settings give them: what a valid
 * one is, the list a file holds (`-s proxies=@list.txt`), and how each is
 * shown. A proxy's password never leaves this process: every place that
 * shows a proxy (logs, errors, stats, `crawl middlewares`) shows its label,
 * `http://host:port` or `http://user:***@host:port`.
 */

/** One proxy of a crawl. */
export interface ProxyEndpoint {
  /** Unique among the crawl's proxies: its label, with `#2`, `#3` for a label seen before. What stats and `noteBan` name it by. */
  readonly id: string;
  /** The URL, credentials included: for undici's ProxyAgent alone. */
  readonly url: string;
  /** The URL as shown: `http://user:***@host:port`. */
  readonly label: string;
}

/** The proxy schemes undici's ProxyAgent speaks HTTP with (`socks5:` is another protocol, not supported here). */
const SCHEMES = ['http:', 'https:'];

/** Why new URL refused `text`: an empty host or a bad port (over 65535, not a number), else not a URL at all. */
function unparsed(text: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(text)?.[1];
  if (authority === undefined) return 'not a URL';
  const port = /:([^:\]]*)$/.exec(authority)?.[1];
  const host = port === undefined ? authority : authority.slice(0, -port.length - 1);
  if (host === '') return 'no host';
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) <= 65535)) return 'a bad port';
  return 'not a URL';
}

/** Why `text` is not a proxy URL, or undefined when it is one. */
export function proxyUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return unparsed(text);
  }
  if (!SCHEMES.includes(url.protocol)) return `scheme ${url.protocol.slice(0, -1)}, not http or https`;
  if (!url.hostname) return 'no host';
  if (url.port === '0') return 'a bad port';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return 'a path, query or fragment (a proxy is only scheme://[user:pass@]host[:port])';
  return undefined;
}

/**
 * `text` with every URL's password (or a lone user name, which a proxy
 * service may use as its key) replaced by `***`: `http://u:***@h:8080`.
 * Works on any text, a malformed URL or a sentence quoting several.
 */
export function maskCredentials(text: string): string {
  if (URL.canParse(text)) {
    // A whole URL: its parser finds the userinfo, whatever characters the password has.
    const url = new URL(text);
    if (!url.username && !url.password) return text;
    if (url.password) url.password = '***';
    else url.username = '***';
    return url.href.replace('%2A%2A%2A', '***');
  }
  return text.replace(/(\/\/)([^\s/@"',]*)@/g, (_, slashes: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${slashes}${colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`}@`;
  });
}

/** A proxy's URL as shown: `http://host:port`, or `http://user:***@host:port`. */
export function proxyLabel(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const user = u.username ? (u.password ? `${decodeURIComponent(u.username)}:***@` : '***@') : '';
  return `${u.protocol}//${user}${u.hostname}:${port}`;
}

/**
 * The URLs a file holds, one per line; blank lines and `#` comments (whole
 * lines, or after a URL) are skipped.
 * @throws Error when the file cannot be read, its message naming the file alone.
 */
export function readProxyFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

/** `entries` with each `@path` replaced by the URLs of that file (see {@link readProxyFile}). */
export function expandProxyFiles(entries: readonly string[]): string[] {
  return entries.flatMap((e) => (e.startsWith('@') ? readProxyFile(e.slice(1)) : [e]));
}

/** The proxies of a crawl, from its settings (`proxy`, then `proxies`, files expanded already), each with a unique id. */
export function proxyEndpoints(settings: { proxy: string; proxies: readonly string[] }): ProxyEndpoint[] {
  const urls = [...(settings.proxy ? [settings.proxy] : []), ...settings.proxies];
  const seen = new Map<string, number>();
  return urls.map((url) => {
    const label = proxyLabel(url);
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return { id: n === 1 ? label : `${label}#${n}`, url, label };
  });
}

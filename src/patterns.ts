/**
 * A pattern for URLs: a RegExp, tested against the absolute URL as any RegExp
 * is (anywhere in it, unless anchored), or a glob string, which must match the
 * whole absolute URL (see {@link globToRegExp}).
 */
export type UrlPattern = string | RegExp;

/** Compiled globs: spiders pass the same few patterns for every page, so each is compiled once. */
const globs = new Map<string, RegExp>();
const MAX_GLOBS = 1_000;

/**
 * A URL glob as a RegExp that matches the whole URL. `*` matches any run of
 * characters except `/` (within one path segment, or the host), `**` matches
 * any run of characters, and every other character matches itself, `?`
 * included, so a query string is written as is.
 *
 * @example
 * ```ts
 * globToRegExp('https://shop.example/product/*').test('https://shop.example/product/42');   // true
 * globToRegExp('https://shop.example/product/*').test('https://shop.example/product/4/2');  // false
 * globToRegExp('https://*.example/search?page=*').test('https://shop.example/search?page=2'); // true
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  let re = globs.get(glob);
  if (!re) {
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const source = glob
      .split('**')
      .map((part) => part.split('*').map(escape).join('[^/]*'))
      .join('.*');
    re = new RegExp(`^${source}$`);
    if (globs.size >= MAX_GLOBS) globs.clear();
    globs.set(glob, re);
  }
  return re;
}

/** The RegExp a pattern stands for. A global or sticky RegExp is copied without those flags: they make `test()` depend on the last call. */
function compile(pattern: UrlPattern): RegExp {
  if (typeof pattern === 'string') return globToRegExp(pattern);
  if (pattern instanceof RegExp) return pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern;
  throw new TypeError(`bad URL pattern ${String(pattern)}: expected a glob string or a RegExp`);
}

/**
 * A test of absolute URLs against one pattern or a list of them (true when
 * any matches).
 * @throws TypeError for a pattern that is neither a string nor a RegExp.
 */
export function urlMatcher(patterns: UrlPattern | readonly UrlPattern[]): (url: string) => boolean {
  const res = (Array.isArray(patterns) ? patterns : [patterns]).map(compile);
  if (res.length === 1) {
    const re = res[0]!;
    return (url) => re.test(url);
  }
  return (url) => res.some((re) => re.test(url));
}

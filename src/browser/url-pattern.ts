/**
 * The URL pattern of a page, for `render: 'auto'`: its host and path with
 * what looks like an id replaced, and its query's keys without their values,
 * so that `/product/123` and `/product/456?ref=x` are one pattern
 * (`shop.test/product/:id?ref`) and share one decision: do pages like this
 * need the browser? (Not the globs of spider rules: see patterns.ts.)
 *
 * A pattern too broad puts two kinds of page under one decision: if either
 * needs the browser, both are rendered (correct, slower). One too narrow
 * gives every page its own pattern, each learned on its own first pages, all
 * rendered (correct, slower still). So ids are replaced when they are
 * clearly ids, and digits inside words (`page-2`) are replaced in place.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A hex id (a hash, a MongoDB ObjectId): 8 hex digits or more, a digit among them (so a word such as `facade` stays). */
const HEX = /^(?=[^0-9]*[0-9])[0-9a-f]{8,}$/i;
/** A token id (base64url, a short-link code of 16 characters or more): letters and digits both, no separator but `_` and `-`. */
const TOKEN = /^(?=.*[0-9])(?=.*[a-z])[a-z0-9_-]{16,}$/i;
/** A slug: three words or more joined by hyphens (`red-running-shoe`), each product's own. */
const SLUG = /^[a-z]+(-[a-z0-9]+){2,}$/i;

/** One path segment as it stands in a pattern. */
export function segmentPattern(segment: string): string {
  if (segment === '') return segment;
  if (/^[0-9]+$/.test(segment)) return ':id';
  if (UUID.test(segment)) return ':uuid';
  if (HEX.test(segment)) return ':hex';
  if (TOKEN.test(segment)) return ':token';
  // A file's extension stays: `/a/shoe-1.html` and `/a/shoe-1.json` are different kinds of page.
  const dot = segment.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [segment.slice(0, dot), segment.slice(dot)] : [segment, ''];
  if (SLUG.test(stem) && !/^[0-9.]+$/.test(stem)) return `:slug${ext}`;
  return segment.replace(/[0-9]+/g, ':n');
}

/**
 * The pattern of `url`: host (and port), the path with id-like segments
 * replaced (`:id` digits, `:uuid`, `:hex`, `:token`, `:slug`; digits within
 * a word `:n`), then `?` and the query's keys, sorted, each once. The
 * scheme and the fragment are left out. A URL that does not parse is its own pattern.
 */
export function urlPattern(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const path = u.pathname.split('/').map(segmentPattern).join('/');
  const keys = [...new Set(u.searchParams.keys())].sort();
  return `${u.host}${path}${keys.length ? `?${keys.join('&')}` : ''}`;
}

import type { CheerioAPI } from 'cheerio';
import { urlMatcher, type UrlPattern } from './patterns.js';
import { Request, type RequestOptions } from './request.js';
import { sameSiteAs } from './scope.js';

/**
 * The links of a page as `res.followAll` finds and filters them: the
 * elements a selector matches, their URLs kept by `include`, `exclude` and
 * the page's registrable domain. The Response resolves each link (against
 * its `<base>`, counting the ones that are not http(s)).
 */

/** Options of `response.followAll({...})`: which links to follow, and the {@link RequestOptions} of their requests. */
export interface FollowAllOptions extends RequestOptions {
  /** CSS selector of the link elements; each one's `href` (or `src`) is followed. Default `a`. */
  selector?: string;
  /**
   * Follow only links whose absolute URL (fragment removed) matches one of
   * these. A RegExp is tested as usual (anywhere in the URL unless anchored);
   * a glob string must match the whole URL: `*` is any run of characters
   * except `/`, `**` any run at all, everything else literal (`?` too, so a
   * query string is written as is). Default: every link.
   *
   * @example `include: ['https://shop.example/product/*', /[?&]page=\d+$/]`
   */
  include?: UrlPattern | readonly UrlPattern[];
  /** Never follow links whose absolute URL matches one of these (same forms as `include`); wins over `include`. */
  exclude?: UrlPattern | readonly UrlPattern[];
  /**
   * Follow only links to the page's registrable domain (`shop.example.co.uk`
   * and `www.example.co.uk` share `example.co.uk`; by the Public Suffix List,
   * private entries included, so two `*.github.io` sites are different). For
   * IP addresses and single-label hosts such as `localhost`, the host name
   * itself must match; the port never matters. The page is its final URL,
   * after redirects. Default true.
   */
  sameDomain?: boolean;
}

/** The `href` (or `src`) of each element `selector` matches. */
export function linkHrefs($: CheerioAPI, selector: string): (string | undefined)[] {
  // Attributes read straight off the parsed elements: wrapping each in a Cheerio object costs more than the read.
  return $(selector)
    .toArray()
    .map((el) => {
      const attribs = (el as { attribs?: Record<string, string> }).attribs;
      return attribs?.href ?? attribs?.src;
    });
}

/** Requests for the links of `hrefs` that `options` keep; `link` resolves one (null: not followed). */
export function filteredLinks(
  hrefs: readonly (string | undefined)[],
  link: (href: string | undefined) => URL | null,
  pageUrl: string,
  { selector: _selector, include, exclude, sameDomain = true, ...options }: FollowAllOptions,
): Request[] {
  const included = include === undefined ? null : urlMatcher(include);
  const excluded = exclude === undefined ? null : urlMatcher(exclude);
  const onSite = sameDomain ? sameSiteAs(new URL(pageUrl).hostname) : null;
  const out: Request[] = [];
  for (const href of hrefs) {
    const url = link(href);
    if (!url || (onSite && !onSite(url.hostname))) continue;
    // Matched as it will be fetched: absolute, normalised, without the fragment the Request drops.
    const req = new Request(url, options);
    if ((included && !included(req.url)) || excluded?.(req.url)) continue;
    out.push(req);
  }
  return out;
}

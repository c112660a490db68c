/** The URL pattern of `render: 'auto'` (src/browser/url-pattern.ts): ids replaced, query values dropped. */
import { describe, expect, it } from 'vitest';
import { segmentPattern, urlPattern } from '../src/browser/url-pattern.js';

describe('urlPattern', () => {
  it('puts pages that differ by an id under one pattern', () => {
    expect(urlPattern('https://shop.test/product/123')).toBe('shop.test/product/:id');
    expect(urlPattern('https://shop.test/product/456')).toBe('shop.test/product/:id');
    expect(urlPattern('http://127.0.0.1:8403/static/7')).toBe('127.0.0.1:8403/static/:id');
    expect(urlPattern('http://127.0.0.1:8403/dynamic/7')).toBe('127.0.0.1:8403/dynamic/:id');
  });

  it('keeps the query keys, sorted and once, and drops their values, the scheme and the fragment', () => {
    expect(urlPattern('https://shop.test/search?q=shoes&page=2&q=red#top')).toBe('shop.test/search?page&q');
    expect(urlPattern('http://shop.test/search?page=3&q=hat')).toBe(urlPattern('https://shop.test/search?q=x&page=9'));
    expect(urlPattern('https://shop.test/')).toBe('shop.test/');
  });

  it('replaces UUIDs, hex ids, tokens and slugs, and digits inside words', () => {
    expect(urlPattern('https://a.test/u/3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b/edit')).toBe('a.test/u/:uuid/edit');
    expect(urlPattern('https://a.test/o/507f1f77bcf86cd799439011')).toBe('a.test/o/:hex');
    expect(urlPattern('https://a.test/s/aZ3kLm9QpR2sT7uV')).toBe('a.test/s/:token');
    expect(urlPattern('https://a.test/p/red-running-shoe.html')).toBe('a.test/p/:slug.html');
    expect(urlPattern('https://a.test/list/page-2')).toBe('a.test/list/page-:n');
    expect(urlPattern('https://a.test/2024/01/05/news')).toBe('a.test/:id/:id/:id/news');
  });

  it('leaves words alone, and tells pages of different kinds apart', () => {
    for (const word of ['about', 'facade', 'catalogue', 'about-us', 'index.html']) expect(segmentPattern(word)).toBe(word);
    expect(urlPattern('https://a.test/static/1')).not.toBe(urlPattern('https://a.test/dynamic/1'));
    expect(urlPattern('https://a.test/p/1.html')).not.toBe(urlPattern('https://a.test/p/1.json'));
    expect(urlPattern('https://a.test/p/1')).not.toBe(urlPattern('https://b.test/p/1'));
  });

  it('gives a URL that does not parse as its own pattern', () => {
    expect(urlPattern('not a url')).toBe('not a url');
  });
});

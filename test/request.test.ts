/**
 * Unit tests of pure parts: URL canonicalisation and fingerprints, Request and
 * Response helpers, scope checks.
 */
import { describe, expect, it } from 'vitest';
import { canonicalUrl, fingerprint, InvalidUrlError, NotJsonError, Request, resolveSettings, Response } from '../src/index.js';
import { scopeOf } from '../src/callbacks.js';

describe('canonicalUrl', () => {
  it('lower-cases scheme and host, drops default ports, dot segments and the fragment, sorts the query', () => {
    expect(canonicalUrl('HTTP://Example.COM:80/a/./b/../c?b=2&a=1#frag')).toBe('http://example.com/a/c?a=1&b=2');
    expect(canonicalUrl('https://EXAMPLE.com:443/?z=1&a=2')).toBe('https://example.com/?a=2&z=1');
  });

  it('keeps a non-default port, the path case and the order of repeated keys', () => {
    expect(canonicalUrl('http://example.com:8080/Path?z=1&a=2&a=1')).toBe('http://example.com:8080/Path?a=2&a=1&z=1');
    expect(canonicalUrl('http://example.com/a?x=2&x=1')).not.toBe(canonicalUrl('http://example.com/a?x=1&x=2'));
  });

  it('treats percent-encoded and raw forms alike', () => {
    expect(canonicalUrl('http://example.com/café?x=~')).toBe(canonicalUrl('http://example.com/caf%C3%A9?x=%7E'));
    expect(canonicalUrl('http://example.com/?q=a%20b')).toBe(canonicalUrl('http://example.com/?q=a+b'));
  });

  it('accepts a URL object and leaves it unchanged', () => {
    const u = new URL('http://example.com/p?b=1&a=2#x');
    expect(canonicalUrl(u)).toBe('http://example.com/p?a=2&b=1');
    expect(u.href).toBe('http://example.com/p?b=1&a=2#x');
  });

  it('throws on a string that is not a URL', () => {
    expect(() => canonicalUrl('not a url')).toThrow();
  });
});

describe('fingerprint', () => {
  it('is a 20-byte SHA-1, equal for equivalent URLs', () => {
    const a = fingerprint('GET', 'http://example.com/x?b=1&a=2');
    expect(a).toBeInstanceOf(Buffer);
    expect(a).toHaveLength(20);
    expect(fingerprint('GET', 'HTTP://EXAMPLE.com:80/x?a=2&b=1#frag').equals(a)).toBe(true);
    expect(fingerprint('GET', 'http://example.com/./y/../x?a=2&b=1').equals(a)).toBe(true);
  });

  it('differs by method, URL, query values and body', () => {
    const base = fingerprint('POST', 'http://example.com/x', 'q=1');
    expect(fingerprint('GET', 'http://example.com/x', 'q=1').equals(base)).toBe(false);
    expect(fingerprint('POST', 'http://example.com/y', 'q=1').equals(base)).toBe(false);
    expect(fingerprint('POST', 'http://example.com/x', 'q=2').equals(base)).toBe(false);
    expect(fingerprint('POST', 'http://example.com/x?q=1').equals(base)).toBe(false);
    expect(fingerprint('GET', 'http://example.com/x?a=1').equals(fingerprint('GET', 'http://example.com/x?a=2'))).toBe(false);
    expect(fingerprint('GET', 'http://example.com/x').equals(fingerprint('GET', 'https://example.com/x'))).toBe(false);
  });
});

describe('Request', () => {
  it('normalises: drops the fragment, upper-cases the method, defaults the rest', () => {
    const r = new Request('http://example.com/a#frag', { method: 'post' });
    expect(r.url).toBe('http://example.com/a');
    expect(r.method).toBe('POST');
    expect(r.priority).toBe(0);
    expect(r.meta).toEqual({});
    expect(r.dontFilter).toBe(false);
    expect(new Request(new URL('https://example.com')).url).toBe('https://example.com/');
  });

  it('host is host[:port] as URL gives it, with userinfo, IPv6 and IDN hosts; headers and meta are its own once touched', () => {
    for (const u of ['http://a.test/x', 'https://user:p%40ss@Example.COM:8443/a?b@c', 'http://[::1]:80/', 'http://[2001:db8::1]:8080/p', 'https://bücher.example/', 'http://u@h:1/'])
      expect(new Request(u).host, u).toBe(new URL(u).host);
    const a = new Request('http://a.test/');
    const b = new Request('http://a.test/');
    a.meta.x = 1;
    a.headers.y = '2';
    expect([b.meta, b.headers, a.meta, a.headers]).toEqual([{}, {}, { x: 1 }, { y: '2' }]);
    const meta = { shared: true };
    expect(new Request('http://a.test/', { meta }).meta).toBe(meta);
  });

  it('rejects relative and non-http URLs with InvalidUrlError naming the URL', () => {
    for (const bad of ['/relative', 'ftp://example.com/f', 'mailto:a@b.c', 'javascript:void(0)', '']) {
      expect(() => new Request(bad)).toThrow(InvalidUrlError);
    }
    expect(() => new Request('ftp://example.com/f')).toThrow(/ftp:\/\/example\.com\/f/);
  });
});

describe('Response', () => {
  const make = (body: string | Buffer, headers: Record<string, string> = {}, url = 'http://example.com/dir/page.html') =>
    new Response({ url, status: 200, headers, body: typeof body === 'string' ? Buffer.from(body) : body, request: new Request(url) });

  it('follow() resolves relative links against the page, or its <base href>', () => {
    expect(make('<a href="x">x</a>').follow('x')?.url).toBe('http://example.com/dir/x');
    expect(make('<a href="x">x</a>').follow('../up?q=1#f')?.url).toBe('http://example.com/up?q=1');
    const withBase = make('<html><head><base href="/other/"></head><body><a href="x">x</a></body></html>');
    expect(withBase.follow('x')?.url).toBe('http://example.com/other/x');
    expect(withBase.urljoin('y')).toBe('http://example.com/other/y');
  });

  it('follow() returns null for non-http links and counts them; a missing href is not counted', () => {
    const res = make('');
    expect(res.follow('mailto:a@b.c')).toBeNull();
    expect(res.follow('javascript:alert(1)')).toBeNull();
    expect(res.skippedLinks).toBe(2);
    expect(res.follow(undefined)).toBeNull();
    expect(res.follow(null)).toBeNull();
    expect(res.skippedLinks).toBe(2);
    expect(res.follow('  /trimmed  ')?.url).toBe('http://example.com/trimmed');
  });

  it('follow() passes callback and options into the Request', () => {
    const res = make('');
    const req = res.follow('/x', 'parseX', { meta: { a: 1 }, priority: 5 })!;
    expect(req.callback).toBe('parseX');
    expect(req.meta).toEqual({ a: 1 });
    expect(req.priority).toBe(5);
  });

  it('followAll() takes href or src of matches, or a list', () => {
    const res = make('<a class="l" href="/a">a</a><img class="l" src="/img.png"><a class="l" href="tel:123">t</a><a href="/not">n</a>');
    expect(res.followAll('.l').map((r) => r.url)).toEqual(['http://example.com/a', 'http://example.com/img.png']);
    expect(res.followAll(['/p', undefined, 'q']).map((r) => r.url)).toEqual(['http://example.com/p', 'http://example.com/dir/q']);
  });

  it('text decodes by header charset, BOM, <meta>, then UTF-8', () => {
    expect(make(Buffer.from('caf\xe9', 'latin1'), { 'content-type': 'text/html; charset=iso-8859-1' }).text).toBe('café');
    expect(make(Buffer.from('caf\xe9', 'latin1'), { 'content-type': 'text/html; charset="windows-1252"' }).text).toBe('café');
    expect(make(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('café')]), { 'content-type': 'text/html; charset=utf-8' }).text).toBe('café');
    expect(make(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('café', 'utf16le')])).text).toBe('café');
    expect(make(Buffer.from('<meta charset="iso-8859-1"><p>caf\xe9</p>', 'latin1'), { 'content-type': 'text/html' }).text).toContain('café');
    expect(make(Buffer.from('<p>café</p>', 'utf8')).text).toBe('<p>café</p>');
  });

  it('json() parses the body; meta comes from the request', () => {
    const res = new Response({
      url: 'http://example.com/api',
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"a":[1,2],"b":"é"}'),
      request: new Request('http://example.com/api', { meta: { page: 3 } }),
    });
    expect(res.json()).toEqual({ a: [1, 2], b: 'é' });
    expect(res.meta).toEqual({ page: 3 });
    // A typed error naming the URL (forms.test.ts shows it failing a page), its cause the parser's SyntaxError.
    let thrown: unknown;
    try {
      make('not json').json();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(NotJsonError);
    expect((thrown as Error).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('scope', () => {
  const settings = (over: Parameters<typeof resolveSettings>[0]) => resolveSettings(over);

  it('maxDepth 0 means unlimited; otherwise deeper requests are "depth"', () => {
    const url = new URL('http://example.com/');
    expect(scopeOf(url, 1000, settings({}))).toBeNull();
    expect(scopeOf(url, 2, settings({ maxDepth: 2 }))).toBeNull();
    expect(scopeOf(url, 3, settings({ maxDepth: 2 }))).toBe('depth');
  });

  it('allowedDomains admits the domain and its subdomains only', () => {
    const s = settings({ allowedDomains: ['example.com'] });
    expect(scopeOf(new URL('http://example.com/'), 0, s)).toBeNull();
    expect(scopeOf(new URL('https://www.example.com:8443/x'), 0, s)).toBeNull();
    expect(scopeOf(new URL('http://a.b.example.com/'), 0, s)).toBeNull();
    expect(scopeOf(new URL('http://notexample.com/'), 0, s)).toBe('offsite');
    expect(scopeOf(new URL('http://example.com.evil.net/'), 0, s)).toBe('offsite');
  });

  it('allowedDomains compares host names case-insensitively', () => {
    const s = settings({ allowedDomains: ['Example.COM'] });
    expect(scopeOf(new URL('http://example.com/'), 0, s)).toBeNull();
    expect(scopeOf(new URL('http://WWW.EXAMPLE.COM/'), 0, s)).toBeNull();
  });
});

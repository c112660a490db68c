import type { Fetcher } from '../fetch/fetcher.js';
import { ROBOTS_MAX_BYTES } from '../fetch/robots.js';
import { givenFields } from '../request.js';
import { Response } from '../response.js';
import type { Fetch } from './chain.js';

/**
 * The end of the chain: one HTTP exchange over `fetcher` (undici: the address
 * guard, timeouts, decompression and the body cap are inside it), through
 * the proxy the `proxies` middleware chose (`ctx.proxy`), if any; its body
 * read when `ctx.readBody` says so, as a {@link Response}. robots.txt is read
 * up to RFC 9309's 500 KiB, whatever `maxBodyBytes`, and never refused.
 */
export function networkFetch(fetcher: Fetcher): Fetch {
  return async (req, ctx) => {
    const { headers, meta } = givenFields(req);
    const res = await fetcher.fetch(
      { url: req.url, method: req.method, headers: headers ?? null, body: req.body ?? null, meta, truncateAt: ctx.purpose === 'robots' ? ROBOTS_MAX_BYTES : undefined, proxy: ctx.proxy },
      ctx.readBody,
    );
    ctx.setCookie = res.setCookie;
    return new Response({ url: res.url, status: res.status, headers: res.headers, body: res.body, request: req, parser: ctx.settings.parser });
  };
}

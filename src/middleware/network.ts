import type { Fetched, Fetcher } from '../fetch/fetcher.js';
import { ROBOTS_MAX_BYTES } from '../fetch/robots.js';
import { givenFields } from '../request.js';
import { Response } from '../response.js';
import type { Fetch } from './chain.js';

/**
 * The end of the chain: one HTTP exchange over `fetcher` (undici: the address
 * guard, timeouts, decompression and the body cap are inside it), through
 * the proxy the `proxies` middleware chose (`ctx.proxy`), if any (and the
 * next it offers, for a fetch no retry sends again); its body
 * read when `ctx.readBody` says so, as a {@link Response}. robots.txt is read
 * up to RFC 9309's 500 KiB, whatever `maxBodyBytes`, and never refused.
 */
export function networkFetch(fetcher: Fetcher): Fetch {
  return async (req, ctx) => {
    const { headers, meta } = givenFields(req);
    const send = () =>
      fetcher.fetch(
        { url: req.url, method: req.method, headers: headers ?? null, body: req.body ?? null, meta, truncateAt: ctx.purpose === 'robots' ? ROBOTS_MAX_BYTES : undefined, proxy: ctx.proxy },
        ctx.readBody,
      );
    let res: Fetched;
    for (;;) {
      try {
        res = await send();
        break;
      } catch (err) {
        const next = ctx.proxyFailover?.(err);
        if (!next) throw err;
        ctx.proxy = next;
      }
    }
    ctx.setCookie = res.setCookie;
    return new Response({ url: res.url, status: res.status, headers: res.headers, body: res.body, request: req, parser: ctx.settings.parser });
  };
}

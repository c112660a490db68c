import { ConfigError, FetchError } from '../errors.js';
import { Request, toHttpUrl } from '../request.js';
import type { Fetched, Fetcher } from './fetcher.js';

/** One page fetched by hand (`crawl parse`, `crawl shell`): the last response and the request it answers. */
export interface FetchedPage {
  req: Request;
  res: Fetched;
}

/**
 * Fetches a URL with GET, following up to `maxRedirects` redirects the way a
 * crawl does (a relative Location resolves against the hop that sent it).
 * `vet` sees each hop's URL before it is fetched and may throw to refuse it.
 * @throws {@link ConfigError} in one line for a bad URL, a failed fetch or a redirect out of http(s).
 */
export async function fetchPage(fetcher: Fetcher, url: string, maxRedirects: number, vet?: (url: string) => Promise<void>): Promise<FetchedPage> {
  let req = new Request(url);
  for (let hop = 0; ; hop++) {
    await vet?.(req.url);
    const current = req.url;
    const res = await fetcher.fetch({ url: current, method: 'GET', headers: null, body: null }).catch((err: unknown) => {
      throw new ConfigError(`cannot fetch ${current}: ${err instanceof FetchError ? `${err.reason}: ${err.message}` : String(err)}`);
    });
    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && location && hop < maxRedirects) {
      const next = toHttpUrl(location, current);
      if (!next) throw new ConfigError(`${current} redirects to ${location}, which is not an http(s) URL`);
      req = new Request(next);
      continue;
    }
    return { req, res };
  }
}

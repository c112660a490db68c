import { FetchError } from '../errors.js';
import { redirectStep } from '../redirects.js';
import { Request } from '../request.js';
import type { Fetched, Fetcher } from './fetcher.js';

/** One page fetched by hand (`crawl parse`, `crawl shell`): the last response and the request it answers. */
export interface FetchedPage {
  req: Request;
  res: Fetched;
}

/**
 * Fetches a URL with GET, following redirects by a crawl's rule (redirects.ts:
 * up to `maxRedirects` hops, a loop refused). `vet` sees each hop's URL (hop 0
 * is the URL asked for) before it is fetched and may throw to refuse it.
 * @throws {@link FetchError} in one line for a failed fetch, a redirect out of http(s), a loop or too many hops (InvalidUrlError for a bad URL).
 */
export async function fetchPage(fetcher: Fetcher, url: string, maxRedirects: number, vet?: (url: string, hop: number) => Promise<void>): Promise<FetchedPage> {
  let req = new Request(url);
  for (let hop = 0; ; hop++) {
    await vet?.(req.url, hop);
    const current = req;
    const res = await fetcher.fetch({ url: current.url, method: current.method, headers: null, body: current.body ?? null }).catch((err: unknown) => {
      throw new FetchError(err instanceof FetchError ? err.reason : 'network:error', `cannot fetch ${current.url}: ${err instanceof FetchError ? `${err.reason}: ${err.message}` : String(err)}`, false, { cause: err });
    });
    const step = redirectStep(current, res, hop, maxRedirects);
    if (step.kind === 'none') return { req, res };
    if (step.kind === 'fail') {
      const why =
        step.reason === 'redirect:loop'
          ? `redirects in a loop, back to ${step.detail}`
          : step.reason === 'redirect:too-many'
            ? `redirects more than maxRedirects (${maxRedirects}) times`
            : `redirects to ${step.detail}, which is not an http(s) URL`;
      throw new FetchError(step.reason, `${current.url} ${why} (${step.reason})`, false);
    }
    req = new Request(step.url, { method: step.method, body: step.body ?? undefined, meta: step.meta });
  }
}

import { createInterface } from 'node:readline';
import repl, { type REPLServer } from 'node:repl';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { inspect } from 'node:util';
import { addressPolicy, hostAddressKinds, type AddressPolicy } from './fetch/addresses.js';
import { fetchPage, pageChain, type PageChain } from './fetch/page.js';
import { Request, toHttpUrl } from './request.js';
import { Response } from './response.js';
import type { Settings } from './settings.js';

/** Where the shell reads and writes; the process's own streams by default. */
export interface ShellStreams {
  input?: Readable & { isTTY?: boolean };
  output?: Writable & { isTTY?: boolean; hasColors?: () => boolean };
  /** The banner goes here, so piped output holds only what the lines evaluate to. */
  banner?: Writable;
}

/**
 * `crawl shell <url>`: fetches a page the way a crawl would (the same
 * middleware chain: headers, cookies, redirects; the same fetch: decompression,
 * timeouts) and opens a Node REPL with `res` (the
 * {@link Response}), `$` (its cheerio API) and `fetch(url)` (load another
 * page, relative to the current one, or a Request from `res.follow()`, and
 * rebind both). Resolves when the REPL
 * closes.
 * @throws {@link FetchError} or {@link PageError} (or InvalidUrlError) in one line when the first page cannot be fetched.
 */
export async function startShell(settings: Settings, url: string, streams: ShellStreams = {}): Promise<void> {
  const { input = process.stdin, output = process.stdout, banner = process.stderr } = streams;
  const addresses = addressPolicy(settings.allowPrivateAddresses);
  const page = pageChain('shell', settings, addresses);
  const load = (href: string) => loadPage(page, addresses, href);
  let res: Response;
  try {
    res = await load(url);
  } catch (err) {
    await page.close();
    throw err;
  }
  banner.write(bannerText(res));

  const terminal = input.isTTY === true && output.isTTY === true;
  const colors = terminal && output.hasColors?.() === true;
  // Piped input is fed a line at a time, each once the previous one has finished: the REPL itself
  // reads ahead, so `await fetch(...)` on one line would race the lines after it.
  const feed = terminal ? null : lineByLine(input);
  const server = repl.start({
    prompt: terminal ? 'crawl> ' : '',
    input: feed?.input ?? input,
    output,
    terminal,
    useGlobal: false,
    writer: (value: unknown) => (value instanceof Response ? describe(value) : inspect(value, { ...repl.writer.options, colors })),
  });
  if (feed) {
    const displayPrompt = server.displayPrompt.bind(server);
    // The REPL shows its prompt once a line (or a dot-command, or an await) is done with: the moment to send the next.
    server.displayPrompt = (preserveCursor?: boolean) => {
      displayPrompt(preserveCursor);
      feed.next();
    };
  }
  const bind = (page: Response) => {
    res = page;
    Object.assign(server.context, { res: page, $: page.$ });
    return page;
  };
  bind(res);
  // Takes what a user has at hand: a URL (string or URL), or the Request `res.follow(href)` makes.
  server.context.fetch = async (href: unknown) => {
    const text = href instanceof Request ? href.url : String(href);
    const target = toHttpUrl(text, res.url);
    if (!target) throw oneLine(`invalid URL ${JSON.stringify(text)}: expected an http(s) URL, absolute or relative to ${res.url}`);
    try {
      return bind(await load(target.href));
    } catch (err) {
      throw oneLine((err as Error).message);
    }
  };
  await closed(server);
  feed?.close();
  await page.close();
}

/** A page the user asked for: its kind of address is allowed (as a crawl's start URL's is), its redirects go by the crawl's rules. */
async function loadPage(page: PageChain, addresses: AddressPolicy, url: string): Promise<Response> {
  const host = toHttpUrl(url)?.hostname;
  if (host) addresses.admit(await hostAddressKinds(host, page.settings.timeouts.connectMs));
  const { req, res } = await fetchPage(page, url);
  return new Response({ url: res.url, status: res.status, headers: res.headers, body: res.body, request: req, parser: page.settings.parser });
}

/** How the REPL shows a Response: its status and URL, as `crawl parse` does, not the whole object with its body. */
const describe = (page: Response) => `<Response ${page.status} ${page.url}>`;

function bannerText(page: Response): string {
  const type = page.headers['content-type']?.split(';')[0] ?? 'no content-type';
  return [
    `${page.status} ${page.url} (${type}, ${page.body.length.toLocaleString('en-US')} bytes)`,
    '  res          the Response: res.status, res.headers, res.text, res.json(), res.urljoin(href), res.follow(href)',
    "  $            its cheerio API: $('h1').text(), $('a').map((i, a) => $(a).attr('href')).get()",
    '  fetch(url)   load another page (relative to this one), rebinding res and $: await fetch(url)',
    '  .exit        leave (or Ctrl-D)',
    '',
  ].join('\n');
}

/** An error the REPL prints as one line, not with a stack trace of crawlkit's insides. */
function oneLine(message: string): Error {
  const err = new Error(message);
  err.stack = `Error: ${message}`;
  return err;
}

/** Lines of `source`, passed on one at a time: `next()` releases the next one. */
function lineByLine(source: Readable): { input: PassThrough; next(): void; close(): void } {
  const input = new PassThrough();
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let release: (() => void) | undefined;
  void (async () => {
    for await (const line of lines) {
      const done = new Promise<void>((resolve) => (release = resolve));
      input.write(`${line}\n`);
      await done;
    }
    input.end();
  })();
  return {
    input,
    next: () => release?.(),
    close: () => lines.close(),
  };
}

const closed = (server: REPLServer) => new Promise<void>((resolve) => server.once('exit', resolve));

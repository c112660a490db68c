import { createRequire } from 'node:module';
import { load as loadSlim, type CheerioAPI } from 'cheerio/slim';

/** The HTML parsers `response.$` can be built with (the `parser` setting). */
export type HtmlParser = 'htmlparser2' | 'parse5';

let parse5Load: typeof loadSlim | undefined;

/**
 * A page's cheerio document. htmlparser2 comes through `cheerio/slim`, which
 * never loads parse5: the full `cheerio` entry costs every process that
 * imports it 17 MB more RSS (70 against 53 MB, `node -e` importing each
 * alone), though only `parser: 'parse5'` uses it. That one loads it on first
 * use, synchronously (`$` is a getter), from cheerio's CommonJS build.
 */
export function loadDocument(html: string, baseURI: string, parser: HtmlParser): CheerioAPI {
  if (parser === 'parse5') {
    parse5Load ??= (createRequire(import.meta.url)('cheerio') as { load: typeof loadSlim }).load;
    return parse5Load(html, { baseURI });
  }
  return loadSlim(html, { baseURI, xml: { xmlMode: false, decodeEntities: true } });
}

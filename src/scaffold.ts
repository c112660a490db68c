import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError } from './errors.js';
import { PACKAGE } from './package.js';
import { Request } from './request.js';

/**
 * Writes `spiders/<name>.ts`, a spider ready to edit: it starts at `url`,
 * takes `-a baseUrl=...`, stores each page's title (with a commented example
 * of a selector for list pages), follows the "next" link first, then the
 * page's other links on the same host. Returns the file written.
 */
export function scaffoldSpider(dir: string, name: string, url: string): string {
  // The name becomes a file name and, joined up, a class name: letters and digits, single - or _ between them; never a path.
  if (!/^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$/.test(name) || name.length > 64)
    throw new ConfigError(`bad spider name ${JSON.stringify(name)}: use up to 64 letters and digits, with single - or _ between them, starting with a letter`);
  const start = new Request(url).url; // throws InvalidUrlError for anything but an absolute http(s) URL
  const file = join(dir, `${name}.ts`);
  if (existsSync(file)) throw new ConfigError(`${relative(process.cwd(), file) || file} already exists`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, template(name, start, importPath(dir)));
  return file;
}

/** Inside crawlkit's own repository spiders import the sources; elsewhere, the installed package. */
function importPath(dir: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { name?: string };
    if (pkg.name === PACKAGE.name) return '../src/index.js';
  } catch {
    /* no package.json next to the spiders folder: a user project */
  }
  return PACKAGE.name;
}

const className = (name: string) => `${name.replace(/(^|[-_])([A-Za-z0-9])/g, (_, __, c: string) => c.toUpperCase())}Spider`;

/** Text for inside a block comment: a URL's `*\/` cannot end it (WHATWG hrefs hold no line breaks, but a caller's text might). */
const inComment = (text: string) => text.replace(/\*\//g, '*\\/').replace(/[\r\n\u2028\u2029]/g, ' ');

/**
 * The spider's source. Nothing from the arguments is written as code: the
 * URL, its host and the name go in as JSON string literals, and into the
 * comment escaped, so a URL like `http://h/x'+require('fs')...+'` stays a string.
 */
function template(name: string, url: string, from: string): string {
  const host = new URL(url).hostname;
  return `import { Spider, type Response } from '${from}';

/**
 * npx crawl ${name}                        # crawl ${inComment(url)}
 * npx crawl ${name} -a baseUrl=http://...  # or another copy of the site
 * npx crawl parse ${name} <url>            # try the callback on one page
 */
export default class ${className(name)} extends Spider {
  override name = ${JSON.stringify(name)};
  override startUrls = [this.arg('baseUrl', ${JSON.stringify(url)})];
  override settings = { allowedDomains: [${JSON.stringify(host)}], maxDepth: 2 };

  override async *parse(res: Response) {
    // One item per page. For a list page, yield one item per element instead, e.g.:
    // for (const el of res.$('article.product').toArray()) {
    //   const $el = res.$(el);
    //   yield { title: $el.find('h2').text().trim(), price: $el.find('.price').text().trim() };
    // }
    yield { url: res.url, title: res.$('title').text().trim() };
    // Pagination: the "next" link, if this page has one (follow() gives null when it has not).
    yield res.follow(res.$('a[rel~="next"], li.next a').attr('href'));
    // Every other link on the page, within allowedDomains and maxDepth; drop this line to follow only the pagination.
    yield* res.followAll('a[href]');
  }
}
`;
}

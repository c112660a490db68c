import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError } from './errors.js';
import { Request } from './request.js';

/**
 * Writes `spiders/<name>.ts`, a spider ready to edit: it starts at `url`,
 * takes `-a baseUrl=...`, stores each page's title and follows its links on
 * the same host. Returns the file written.
 */
export function scaffoldSpider(dir: string, name: string, url: string): string {
  if (!/^[A-Za-z][\w-]*$/.test(name)) throw new ConfigError(`bad spider name ${JSON.stringify(name)}: use letters, digits, _ and -, starting with a letter`);
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
    if (pkg.name === 'crawlkit') return '../src/index.js';
  } catch {
    /* no package.json next to the spiders folder: a user project */
  }
  return 'crawlkit';
}

const className = (name: string) => `${name.replace(/(^|[-_])(\w)/g, (_, __, c: string) => c.toUpperCase())}Spider`;

function template(name: string, url: string, from: string): string {
  const host = new URL(url).hostname;
  return `import { Spider, type Response } from '${from}';

/**
 * npx crawl ${name}                        # crawl ${url}
 * npx crawl ${name} -a baseUrl=http://...  # or another copy of the site
 * npx crawl parse ${name} <url>            # try the callback on one page
 */
export default class ${className(name)} extends Spider {
  override name = '${name}';
  override startUrls = [this.arg('baseUrl', '${url}')];
  override settings = { allowedDomains: ['${host}'], maxDepth: 2 };

  override async *parse(res: Response) {
    yield { url: res.url, title: res.$('title').text().trim() };
    yield* res.followAll('a[href]');
  }
}
`;
}

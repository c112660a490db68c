import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { quotesExpected, quotesSite } from './fixtures/quotes.js';
import { ROOT, runCli, tempDir } from './helpers/cli.js';
import { serveSite, type TestServer } from './helpers/server.js';

const OURS = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};
const read = (file: string) => readFileSync(file, 'utf8');
const json = (file: string) => JSON.parse(read(file)) as Record<string, Record<string, string>>;

let dir: string;
beforeEach(async () => {
  dir = await tempDir('crawlkit-init-');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('crawl init', () => {
  it('makes a project in a new folder: package.json, strict tsconfig, example spider and test, .gitignore, README', async () => {
    const r = await runCli(['init', 'my-crawler'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const project = join(dir, 'my-crawler');
    expect(json(join(project, 'package.json'))).toEqual({
      name: 'my-crawler',
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: { crawl: 'exec crawl', test: 'exec node --import tsx --test test/*.test.ts' },
      dependencies: { [OURS.name]: `^${OURS.version}` },
      devDependencies: { '@types/node': OURS.devDependencies['@types/node'], tsx: OURS.dependencies.tsx, typescript: OURS.devDependencies.typescript },
      allowScripts: OURS.allowScripts,
    });
    expect(json(join(project, 'tsconfig.json')).compilerOptions).toMatchObject({ strict: true, module: 'NodeNext' });
    expect(read(join(project, 'spiders/example.ts'))).toContain(`from '${OURS.name}'`);
    expect(read(join(project, 'test/example.test.ts'))).toContain("from '../spiders/example.js'");
    expect(read(join(project, '.gitignore')).split('\n')).toContain('storage/');
    const readme = read(join(project, 'README.md'));
    expect(readme).toMatch(/^# my-crawler\n/);
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
    expect(r.stderr).toContain('cd my-crawler');
  });

  it('in a folder where npm made package.json, adds what is missing and overwrites nothing', async () => {
    const npmInit = { name: 'mine', version: '1.0.0', type: 'commonjs', scripts: { test: 'echo "Error: no test specified" && exit 1', build: 'tsc' }, dependencies: { [OURS.name]: '^0.1.0' } };
    await writeFile(join(dir, 'package.json'), JSON.stringify(npmInit));
    await writeFile(join(dir, '.gitignore'), 'node_modules/\n*.log');
    await mkdir(join(dir, 'spiders'));
    await writeFile(join(dir, 'spiders/example.ts'), '// mine\n');

    const r = await runCli(['init'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const pkg = json(join(dir, 'package.json'));
    expect(pkg).toMatchObject({ name: 'mine', version: '1.0.0', type: 'module', scripts: { build: 'tsc', crawl: 'exec crawl', test: 'exec node --import tsx --test test/*.test.ts' } });
    expect(pkg.devDependencies).toHaveProperty('typescript');
    expect(r.stderr).toContain('"type" was "commonjs", now "module"');
    expect(read(join(dir, 'spiders/example.ts'))).toBe('// mine\n');
    expect(r.stderr).toMatch(/kept \(already there\): .*spiders\/example\.ts/);
    expect(read(join(dir, '.gitignore'))).toBe('node_modules/\n*.log\nstorage/\n');
    expect(existsSync(join(dir, 'test/example.test.ts'))).toBe(true);

    const again = await runCli(['init'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('wrote nothing');
  });

  it('refuses a package.json that is not JSON, and a target that is a file, with one line and exit 2', async () => {
    await writeFile(join(dir, 'package.json'), '{ "name": ');
    const bad = await runCli(['init'], { cwd: dir });
    expect({ code: bad.code, stderr: bad.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(/^crawl: error: package\.json is not valid JSON \(.*\)[^\n]*\n$/) });
    const file = await runCli(['init', 'package.json'], { cwd: dir });
    expect({ code: file.code, stderr: file.stderr }).toEqual({ code: 2, stderr: 'crawl: error: package.json exists and is not a folder\n' });
  });
});

describe('a spider outside the project', () => {
  let site: TestServer;
  beforeAll(async () => {
    site = await serveSite(quotesSite());
  });
  afterAll(() => site.close());

  it(`imports '${OURS.name}' by name (--spiders elsewhere, no node_modules there) and gets the copy that runs it`, async () => {
    // The example from `crawl init`, plus a spider yielding a Request: the crawler only follows Requests of its own copy.
    expect((await runCli(['init', 'project'], { cwd: dir })).code).toBe(0);
    const spiders = join(dir, 'project', 'spiders');
    await writeFile(
      join(spiders, 'other.ts'),
      `import { Request, Spider, type Response } from '${OURS.name}';\n` +
        "export default class OtherSpider extends Spider {\n  override name = 'other';\n  override startUrls = [this.arg('baseUrl')];\n" +
        "  override async *parse(res: Response) {\n    yield { url: res.url };\n    if (!res.url.includes('/page/')) yield new Request(res.urljoin('/page/2/'));\n  }\n}\n",
    );
    const storage = join(dir, 'storage');
    for (const spider of ['example', 'other']) {
      const r = await runCli([spider, '--spiders', spiders, '--storage', storage, '-a', `baseUrl=${site.url}/`, '-L', 'warn'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    }
    const exported = async (spider: string) =>
      (await runCli(['export', spider, '--storage', storage], { cwd: dir })).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const byText = (a: { text?: unknown }, b: { text?: unknown }) => String(a.text).localeCompare(String(b.text));
    expect((await exported('example')).sort(byText)).toEqual(quotesExpected().sort(byText));
    expect((await exported('other')).map((i) => i.url).sort()).toEqual([`${site.url}/`, `${site.url}/page/2/`]);
  });
});

// The example spider against two pages served on 127.0.0.1: offline, in a second. `npm test` runs it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crawl } from 'crawlkit-ts';
import ExampleSpider from '../spiders/example.js';

const quote = (text: string, author: string, tags: string[]) =>
  `<div class="quote"><span class="text">${text}</span><small class="author">${author}</small>${tags.map((t) => `<a class="tag">${t}</a>`).join('')}</div>`;

const PAGES: Record<string, string> = {
  '/': `<html><body>${quote('“One.”', 'Ann', ['a', 'b'])}${quote('“Two.”', 'Bob', [])}<ul><li class="next"><a href="/page/2/">Next</a></li></ul></body></html>`,
  '/page/2/': `<html><body>${quote('“Three.”', 'Cy', ['c'])}</body></html>`,
};

test('the example spider scrapes every quote and follows "Next"', async (t) => {
  const server = createServer((req, res) => {
    const page = PAGES[req.url ?? ''];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(page ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const storageDir = await mkdtemp(join(tmpdir(), 'example-test-'));
  t.after(() => {
    server.close();
    return rm(storageDir, { recursive: true, force: true });
  });

  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const items = [];
  for await (const item of crawl(new ExampleSpider({ baseUrl }), { settings: { storageDir, logLevel: 'warn' } })) items.push(item);

  assert.deepEqual(
    items.sort((a, b) => String(a.text).localeCompare(String(b.text))),
    [
      { text: '“One.”', author: 'Ann', tags: ['a', 'b'] },
      { text: '“Three.”', author: 'Cy', tags: ['c'] },
      { text: '“Two.”', author: 'Bob', tags: [] },
    ],
  );
});

/**
 * How long one link-heavy page holds the thread that parses it: the figure
 * behind `offThreadPageBytes` (src/settings/defaults.ts). Pages of 128 KiB to
 * 2 MiB, either nothing but links or links with `--text` bytes between them,
 * each parsed by scenario (e)'s callback (bench/link-spider.ts: every link
 * followed) through crawlkit's parsePage, in this thread, after two rounds of warm-up:
 *
 *   node --import tsx bench/page-parse.ts [--text 60]
 */
import { parseArgs } from 'node:util';
import { parsePage } from '../src/parser/parse.js';
import type { QueuedRequest } from '../src/frontier/frontier.js';
import { defaultSettings } from '../src/settings/defaults.js';
import { runAsScript } from './common.js';
import { LinkSpider } from './link-spider.js';

const BASE = 'http://127.0.0.1:1/';
const SIZES_KIB = [128, 256, 512, 1024, 2048];

/** A page of about `bytes` bytes: distinct links, each followed by `text` bytes of text. */
function linkPage(bytes: number, text: number): Buffer {
  const parts = ['<html><body><main>'];
  const filler = 'x'.repeat(text);
  for (let n = 0, used = 0; used < bytes; n++) {
    const a = `<a href="/leaf/${n}.html">L</a>${filler}\n`;
    used += a.length;
    parts.push(a);
  }
  parts.push('</main></body></html>');
  return Buffer.from(parts.join(''));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { text: { type: 'string', default: '0' } } });
  const text = Number(values.text);
  const spider = new LinkSpider({ baseUrl: BASE });
  const url = `${BASE}hub/0.html`;
  const req: QueuedRequest = { id: 1, attempts: 1, url, method: 'GET', body: null, callback: null, depth: 0, priority: 0, redirects: 0, host: '127.0.0.1:1', headers: null, meta: null };
  for (let round = 0; round < 3; round++) {
    for (const kib of SIZES_KIB) {
      const body = linkPage(kib * 1024, text);
      const started = performance.now();
      const result = await parsePage(spider, defaultSettings, { req, res: { url, status: 200, headers: { 'content-type': 'text/html' }, body } });
      const ms = performance.now() - started;
      if (!result.ok) throw new Error(result.message);
      if (round === 2) console.log(`${kib} KiB, ${result.followUps.count} links: ${ms.toFixed(0)} ms (${((ms * 1024) / kib).toFixed(0)} ms per MiB)`);
    }
  }
}

runAsScript(import.meta.url, main);

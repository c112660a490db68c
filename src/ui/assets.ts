/**
 * The files a page of `crawl ui` may fetch: a fixed map from URL to a file of
 * the package (its assets/ui/ folder, and uPlot's dist from its own
 * node_modules copy), read once at start. No path is ever taken from a URL.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A file served as it is. */
export interface Asset {
  type: string;
  body: Buffer;
}

/** src/ui/ and dist/ui/ are both two folders below the package root, where assets/ is. */
const own = (name: string) => fileURLToPath(new URL(`../../assets/ui/${name}`, import.meta.url));

/** Reads the assets: `/assets/<name>` → its bytes and type. Throws at start if one is missing, not on a page view. */
export function loadAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  const files: [string, string, string][] = [
    ['/assets/app.js', own('app.js'), 'text/javascript; charset=utf-8'],
    ['/assets/charts.js', own('charts.js'), 'text/javascript; charset=utf-8'],
    ['/assets/style.css', own('style.css'), 'text/css; charset=utf-8'],
    ['/assets/uplot.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/assets/uplot.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([url, path, type]) => [url, { type, body: readFileSync(path) }]));
}

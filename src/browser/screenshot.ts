/**
 * Screenshots of failed rendered requests (`browser.screenshotOnError`):
 * taken while the page is still open (its render failed, or its callback
 * threw on it) on the attempt the retry policy will not repeat (browser/fetch.ts),
 * kept with the exchange, and handed to the request's outcome only if the
 * request fails for good (run/handle.ts): a request that is retried after
 * all (a stall requeued it) or then succeeds stores none. The frontier stores it in the transaction that marks the
 * request failed (SQLite runs only: see storage/screenshots.ts).
 */
import type { Logger } from '../log.js';
import type { BrowserPage } from './page.js';

/** A PNG of a page, and the URL it was of. */
export interface Screenshot {
  url: string;
  png: Buffer;
}

/**
 * The most bytes one screenshot may take in the database. The viewport
 * (1280×720) of the fixture's text pages makes a PNG of 7–14 kB
 * (test/screenshots.test.ts); a page of photos (not blocked) could reach
 * 2.7 MB (the raw pixels): 100,000 failures at that size would be 270 GB. Above this, the top-left quarter
 * is kept instead, or none.
 */
export const MAX_SCREENSHOT_BYTES = 512 * 1024;

/** A screenshot is not worth holding a page's slot longer than this. */
const SHOT_TIMEOUT_MS = 5_000;

/** Screenshots taken during an exchange, until its request's outcome is known. */
const taken = new WeakMap<object, Screenshot>();

/** A PNG of `page`'s viewport (not the full page: bounded by the viewport's size), at most {@link MAX_SCREENSHOT_BYTES}; none if it cannot be taken. */
export async function shoot(page: BrowserPage, log?: Logger): Promise<Buffer | undefined> {
  try {
    const png = await page.screenshot({ type: 'png', timeout: SHOT_TIMEOUT_MS });
    if (png.length <= MAX_SCREENSHOT_BYTES) return png;
    const { width = 1280, height = 720 } = page.viewportSize() ?? {};
    const clip = { x: 0, y: 0, width: Math.ceil(width / 2), height: Math.ceil(height / 2) };
    const part = await page.screenshot({ type: 'png', timeout: SHOT_TIMEOUT_MS, clip });
    if (part.length <= MAX_SCREENSHOT_BYTES) return part;
    log?.debug(`screenshot of ${page.url()} not kept: ${part.length} bytes`);
  } catch (err) {
    log?.debug(`no screenshot of ${page.url()}: ${(err as Error).message.split('\n')[0]}`);
  }
  return undefined;
}

/** Takes a screenshot of `page` for the exchange `ex`, replacing any earlier one of it. */
export async function keepScreenshot(ex: object, url: string, page: BrowserPage, log?: Logger): Promise<void> {
  const png = await shoot(page, log);
  if (png) taken.set(ex, { url, png });
}

/** The screenshot taken during exchange `ex`, if any (given once). */
export function takeScreenshot(ex: object): Screenshot | undefined {
  const shot = taken.get(ex);
  taken.delete(ex);
  return shot;
}

/** Infinite scroll: `response.scroll()` on a rendered page. */
import type { BrowserPage as Page } from './page.js';

/** Options of `response.scroll()`. */
export interface ScrollOptions {
  /** Scroll to the bottom at most this many times. Default 20. */
  maxScrolls?: number;
  /** Stop as soon as this CSS selector matches (the last item wanted, an "end of list" marker). */
  until?: string;
  /**
   * After a scroll, how long to wait for the page to grow (the next page of
   * the list to arrive) before taking it as the end. Default 2000 ms.
   */
  waitMs?: number;
}

// Expressions as strings: they run in the page, and crawlkit is compiled without the DOM's types.
const HEIGHT = 'document.documentElement.scrollHeight';
const heightOf = (page: Page): Promise<number> => page.evaluate(HEIGHT) as Promise<number>;

/**
 * Scrolls `page` to the bottom, again and again, while it grows: until it
 * stops growing within `waitMs`, `until` matches, or `maxScrolls` scrolls.
 * Returns how many scrolls made it grow.
 */
export async function scrollPage(page: Page, { maxScrolls = 20, until, waitMs = 2_000 }: ScrollOptions = {}): Promise<number> {
  let grew = 0;
  for (let i = 0; i < maxScrolls; i++) {
    if (until !== undefined && (await page.$(until)) !== null) break;
    const before = await heightOf(page);
    await page.evaluate(`window.scrollTo(0, ${HEIGHT})`);
    const grown = await page
      .waitForFunction(`${HEIGHT} > ${Number(before)}`, undefined, { timeout: waitMs, polling: 50 })
      .then(() => true, () => false);
    if (!grown) break;
    grew++;
  }
  return grew;
}

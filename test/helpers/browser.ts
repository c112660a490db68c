/** What the browser tests need to know of the machine. */
import { findChromium } from '../../src/browser/launch.js';
import { defaultSettings } from '../../src/settings.js';

/** Whether a Chromium is on PATH (Debian's `chromium` in CI): without one, the browser tests skip, and say so in their title. */
export const hasChromium = (() => {
  try {
    findChromium(defaultSettings.browser);
    return true;
  } catch {
    return false;
  }
})();

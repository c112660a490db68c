/**
 * Starting the browser: playwright-core, loaded only when a request renders
 * (a crawl that never renders never loads it, and it is an optional peer
 * dependency), driving an installed Chromium (no browser download at install).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { BrowserUnavailableError } from '../errors.js';
import type { BrowserSettings } from '../settings.js';

/** Looked for on PATH, in this order, when `browser.executablePath` is empty. */
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

/**
 * Headless, and quiet: no GPU, no QUIC (every request goes through the
 * page's router over HTTP/1.1 or 2 anyway), and none of the background
 * traffic Chromium makes on its own (updates, sync, first-run pages), which
 * would leave the crawl's scope. --no-sandbox: Chromium's sandbox needs user
 * namespaces, which containers and CI runners seldom allow.
 */
export const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

const NO_PLAYWRIGHT = 'rendering needs playwright-core, which is not installed: npm install playwright-core';

type Chromium = typeof import('playwright-core').chromium;
let loading: Promise<Chromium> | undefined;

/** playwright-core's Chromium driver, imported on first use. @throws {@link BrowserUnavailableError} naming the install command. */
export function loadChromium(): Promise<Chromium> {
  loading ??= import('playwright-core').then(
    (pw) => pw.chromium,
    (err: unknown) => {
      loading = undefined;
      throw new BrowserUnavailableError(NO_PLAYWRIGHT, { cause: err });
    },
  );
  return loading;
}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The Chromium to run: `browser.executablePath`, else the first of
 * {@link CHROMIUM_NAMES} on PATH.
 * @throws {@link BrowserUnavailableError} naming what to install, or the path that is not there.
 */
export function findChromium(settings: BrowserSettings, path = process.env.PATH ?? ''): string {
  if (settings.executablePath) {
    if (executable(settings.executablePath)) return settings.executablePath;
    throw new BrowserUnavailableError(`browser.executablePath ${JSON.stringify(settings.executablePath)} is not an executable file`);
  }
  for (const name of CHROMIUM_NAMES)
    for (const dir of path.split(delimiter)) if (dir && executable(join(dir, name))) return join(dir, name);
  throw new BrowserUnavailableError(
    `rendering needs a Chromium, and none of ${CHROMIUM_NAMES.join(', ')} is on PATH: apt-get install chromium, or -s browser.executablePath=/path/to/chrome`,
  );
}

/** Checks that a browser could be launched (playwright-core importable, a Chromium found) without launching one. */
export async function checkBrowser(settings: BrowserSettings): Promise<void> {
  await loadChromium();
  findChromium(settings);
}

/** Launches one headless Chromium. @throws {@link BrowserUnavailableError} when it cannot be. */
export async function launchBrowser(settings: BrowserSettings): Promise<Browser> {
  const chromium = await loadChromium();
  const executablePath = findChromium(settings);
  try {
    return await chromium.launch({ executablePath, args: [...LAUNCH_ARGS], headless: true, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
  } catch (err) {
    const first = ((err as Error).message ?? String(err)).split('\n')[0];
    throw new BrowserUnavailableError(`cannot launch ${executablePath}: ${first}`, { cause: err });
  }
}

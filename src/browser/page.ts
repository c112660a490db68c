/**
 * The live page of a rendered response, as crawlkit's types name it: the
 * part of Playwright's Page (and Locator) a callback uses, written out here
 * so that crawlkit's own types need no playwright-core installed (it is an
 * optional peer dependency, and a project that renders nothing has none).
 * The object is Playwright's Page itself: for the rest of its API, write
 * `res.page as import('playwright-core').Page`.
 */

type State = 'attached' | 'detached' | 'visible' | 'hidden';

/** Playwright's Locator, in part. */
export interface BrowserLocator {
  count(): Promise<number>;
  nth(index: number): BrowserLocator;
  first(): BrowserLocator;
  last(): BrowserLocator;
  locator(selector: string): BrowserLocator;
  click(options?: { timeout?: number }): Promise<void>;
  fill(value: string, options?: { timeout?: number }): Promise<void>;
  press(key: string, options?: { timeout?: number }): Promise<void>;
  waitFor(options?: { state?: State; timeout?: number }): Promise<void>;
  textContent(options?: { timeout?: number }): Promise<string | null>;
  getAttribute(name: string, options?: { timeout?: number }): Promise<string | null>;
  isVisible(): Promise<boolean>;
  scrollIntoViewIfNeeded(options?: { timeout?: number }): Promise<void>;
}

/** Playwright's Page, in part (see the module's note). */
export interface BrowserPage {
  url(): string;
  title(): Promise<string>;
  content(): Promise<string>;
  isClosed(): boolean;
  click(selector: string, options?: { timeout?: number }): Promise<void>;
  fill(selector: string, value: string, options?: { timeout?: number }): Promise<void>;
  type(selector: string, text: string, options?: { delay?: number; timeout?: number }): Promise<void>;
  press(selector: string, key: string, options?: { timeout?: number }): Promise<void>;
  selectOption(selector: string, values: string | string[], options?: { timeout?: number }): Promise<string[]>;
  hover(selector: string, options?: { timeout?: number }): Promise<void>;
  /** An expression, or a function run in the page (it must not use anything from the callback's scope but `arg`). */
  evaluate<R, Arg>(pageFunction: string | ((arg: Arg) => R | Promise<R>), arg?: Arg): Promise<R>;
  waitForSelector(selector: string, options?: { state?: State; timeout?: number }): Promise<unknown>;
  waitForFunction<Arg>(pageFunction: string | ((arg: Arg) => unknown), arg?: Arg, options?: { timeout?: number; polling?: number | 'raf' }): Promise<unknown>;
  waitForLoadState(state?: 'load' | 'domcontentloaded' | 'networkidle', options?: { timeout?: number }): Promise<void>;
  waitForTimeout(ms: number): Promise<void>;
  locator(selector: string): BrowserLocator;
  /** The first element `selector` matches, or null (an ElementHandle: see Playwright). */
  $(selector: string): Promise<unknown>;
  $$(selector: string): Promise<unknown[]>;
  mouse: { wheel(deltaX: number, deltaY: number): Promise<void>; click(x: number, y: number): Promise<void> };
  keyboard: { press(key: string): Promise<void>; type(text: string): Promise<void> };
  screenshot(options?: { fullPage?: boolean; type?: 'png' | 'jpeg'; timeout?: number; clip?: { x: number; y: number; width: number; height: number } }): Promise<Buffer>;
  viewportSize(): { width: number; height: number } | null;
}

/** A page lent to a response for its callback. */
export interface LivePage {
  readonly page: BrowserPage;
}

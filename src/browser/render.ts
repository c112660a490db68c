/**
 * How a request is rendered in the browser: the `render` option of a
 * Request, and the spider-wide default. Kept with the request through the
 * frontier inside its stored meta (one reserved key), so both frontiers
 * (SQLite and Redis) carry it across a resume with no column of its own and
 * no schema migration.
 */

/** What the page is waited for before its DOM is taken. */
export type WaitFor = 'load' | 'domcontentloaded' | 'networkidle' | number | (string & {});

/** The `render` option of a Request, as an object. */
export interface RenderOptions {
  /**
   * `'load'` (the default): the load event; `'domcontentloaded'`; `'networkidle'`:
   * no request for 500 ms; a number: that many ms after the load event; any
   * other string: a CSS selector, waited for until it matches.
   */
  waitFor?: WaitFor;
  /** Longest the navigation and the wait may take together; default `timeouts.requestMs`. */
  timeoutMs?: number;
}

/**
 * The `render` option of a Request: `true` renders with the defaults, `false`
 * fetches over HTTP even when the spider renders by default, `'auto'` learns
 * per URL pattern whether the browser is needed (see auto.ts).
 */
export type Render = boolean | 'auto' | RenderOptions;

/** The meta key the render option is stored under; taken out again before the callback sees `meta`. */
export const RENDER_META_KEY = 'crawlkit:render';

const LOAD_STATES = new Set(['load', 'domcontentloaded', 'networkidle']);

/** Whether `waitFor` names a load state rather than a CSS selector. */
export const isLoadState = (w: WaitFor): w is 'load' | 'domcontentloaded' | 'networkidle' => typeof w === 'string' && LOAD_STATES.has(w);

/** Why a render option is not one, or null when it is. */
export function renderProblem(render: unknown): string | null {
  if (render === undefined || typeof render === 'boolean' || render === 'auto') return null;
  if (render === null || typeof render !== 'object' || Array.isArray(render)) return "render must be true, false, 'auto' or { waitFor, timeoutMs }";
  for (const key of Object.keys(render)) if (key !== 'waitFor' && key !== 'timeoutMs') return `render has no option '${key}' (waitFor, timeoutMs)`;
  const { waitFor, timeoutMs } = render as RenderOptions;
  if (waitFor !== undefined && !(typeof waitFor === 'string' ? waitFor.trim() !== '' : Number.isFinite(waitFor) && waitFor >= 0))
    return 'render.waitFor must be a load state, a CSS selector or a number of ms';
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) return 'render.timeoutMs must be a number of ms above 0';
  return null;
}

/** The render options a request goes by: its own, else the spider's default; null for a plain HTTP fetch, `'auto'` to ask auto.ts. */
export function renderOf(own: Render | undefined, spiderDefault: Render | undefined): RenderOptions | 'auto' | null {
  const r = own ?? spiderDefault;
  if (r === undefined || r === false) return null;
  return r === true ? {} : r;
}

/** A request's meta with its render option folded in, for the frontier. */
export function packRender(meta: Record<string, unknown> | undefined, render: Render | undefined): Record<string, unknown> | undefined {
  return render === undefined ? meta : { ...meta, [RENDER_META_KEY]: render };
}

/** A stored meta split into the callback's meta and the render option (the meta given back as is when it has none). */
export function unpackRender(meta: Record<string, unknown> | null | undefined): { meta: Record<string, unknown> | undefined; render: Render | undefined } {
  if (!meta || !Object.hasOwn(meta, RENDER_META_KEY)) return { meta: meta ?? undefined, render: undefined };
  const { [RENDER_META_KEY]: render, ...rest } = meta;
  // A stored value is one this code wrote; anything else (a hand-edited row) renders with the defaults rather than failing.
  return { meta: Object.keys(rest).length ? rest : undefined, render: renderProblem(render) === null ? (render as Render) : true };
}

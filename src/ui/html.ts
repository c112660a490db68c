/**
 * HTML built so that nothing from a crawl can become markup: every value put
 * into {@link html} is escaped unless it is already {@link Html} (made by
 * `html` itself), so a page's `<script>` in an item shows as text.
 */

/** A piece of HTML that is safe to put in a page as it is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML: the five characters that could open markup or leave an attribute, escaped. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A value as HTML: {@link Html} as it is, arrays joined, null and undefined as nothing, anything else escaped as text. */
function part(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** A template of HTML whose values are escaped (see {@link part}). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** A link's query string, each value encoded: `?spider=a&run=2`. Undefined values are left out. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A whole page: the layout around `body`, with the stylesheet and the script (served from the package, see assets.ts). */
export function layout(title: string, body: Html, crumbs: Html[] = []): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · crawlkit</title>
<link rel="stylesheet" href="/assets/uplot.css"><link rel="stylesheet" href="/assets/style.css">
<script src="/assets/uplot.js" defer></script><script type="module" src="/assets/app.js"></script>
</head><body>
<header><a href="/" class="brand">crawlkit</a>${crumbs.map((c) => html` <span class="sep">›</span> ${c}`)}</header>
<main>${body}</main>
</body></html>`.text;
}

/** A number for people: `12,345`. */
export const count = (n: number): string => n.toLocaleString('en-US');

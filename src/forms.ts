import { hash } from 'node:crypto';
import type { CheerioAPI } from 'cheerio';
import { FormError } from './errors.js';
import { describeValue, isPlainObject } from './json-value.js';
import { elements, entryList, formControls, isDisabled, isSubmitButton, type El, type Entry, type FormFile } from './form-data.js';
import { Request, toHttpUrl, withDefaultHeaders, type RequestOptions } from './request.js';
import type { Response } from './response.js';

/**
 * `response.submitForm()`: the request a browser would send to submit a form
 * of the page, as Scrapy's `FormRequest.from_response` makes it, but by the
 * HTML standard's rules (the data set is `form-data.ts`): the form's method,
 * enctype and action, or the clicked button's `formmethod`, `formenctype`
 * and `formaction`; the fields the page carries, hidden ones (CSRF tokens,
 * `__VIEWSTATE`) included, with the spider's `values` over them.
 */

export type { FormFile } from './form-data.js';

/** A field's value in `submitForm(values)`: a string, a file, a list of them for a repeated name, or null to leave the field out. */
export type FormValue = string | FormFile | readonly (string | FormFile)[] | null;

/** Options of {@link Response.submitForm}: which form and button, and the options of the request. */
export interface SubmitFormOptions extends Omit<RequestOptions, 'method' | 'body' | 'json'> {
  /**
   * CSS selector of the form: the first element it matches that is a form,
   * holds one (its first) or is inside one. Default: the page's first `<form>`.
   */
  selector?: string;
  /**
   * The button clicked: a button's name (`'next'`), or a CSS selector
   * (`'button[value=search]'`). Its name and value are sent, and its
   * `formaction`, `formmethod` and `formenctype` win over the form's.
   * Default: the form's first enabled submit button, as pressing Enter
   * would; `false` for none.
   */
  submitter?: string | false;
}

const ENCTYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'] as const;
type Enctype = (typeof ENCTYPES)[number];

const names = (els: readonly El[]) => els.map((el) => el.attribs.name ?? el.attribs.value ?? el.name).join(', ');

/** The form `selector` picks (default the first), or a {@link FormError} naming the page and the selector. */
function pickForm($: CheerioAPI, selector: string | undefined, url: string): El {
  if (selector === undefined) {
    const first = $('form').toArray()[0] as El | undefined;
    if (!first) throw new FormError(`submitForm: ${url} has no <form>`);
    return first;
  }
  let matched: El[];
  try {
    matched = $(selector).toArray() as unknown as El[];
  } catch (err) {
    throw new FormError(`submitForm: bad selector ${JSON.stringify(selector)}: ${(err as Error).message}`, { cause: err });
  }
  for (const el of matched) {
    if (el.name === 'form') return el;
    const inner = [...elements(el)].find((e) => e.name === 'form');
    if (inner) return inner;
    for (let up = el.parent; up; up = up.parent) if (up.name === 'form') return up;
  }
  const what = matched.length === 0 ? 'matches nothing' : `matches ${matched.length} element(s), none a form or in one`;
  throw new FormError(`submitForm: selector ${JSON.stringify(selector)} ${what} on ${url}`);
}

/** The button clicked: the one `submitter` names, or the first enabled one; null for none. */
function pickSubmitter($: CheerioAPI, controls: readonly El[], submitter: string | false | undefined, url: string): El | null {
  const buttons = controls.filter(isSubmitButton);
  if (submitter === false) return null;
  if (submitter === undefined) return buttons.find((b) => !isDisabled(b)) ?? null;
  const named = buttons.filter((b) => b.attribs.name === submitter);
  let chosen = named.find((b) => !isDisabled(b)) ?? named[0];
  if (!chosen) {
    let matched: Set<El>;
    try {
      matched = new Set($(submitter).toArray() as unknown as El[]);
    } catch {
      matched = new Set(); // not a selector: a name that matched no button
    }
    chosen = buttons.find((b) => matched.has(b));
  }
  if (!chosen) throw new FormError(`submitForm: submitter ${JSON.stringify(submitter)} is no submit button of the form on ${url} (its buttons: ${names(buttons) || 'none'})`);
  if (isDisabled(chosen)) throw new FormError(`submitForm: submitter ${JSON.stringify(submitter)} on ${url} is disabled: a browser cannot click it`);
  return chosen;
}

const isFile = (v: unknown): v is FormFile => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The data set with `values` over it: a name given replaces every entry of that name, where its first one was (a new name goes last). */
function withValues(entries: Entry[], values: Record<string, FormValue>, url: string): Entry[] {
  let out = entries;
  for (const [name, given] of Object.entries(values)) {
    if (given === undefined) continue;
    const fileField = out.some((e) => e.name === name && e.file);
    const list = given === null ? [] : Array.isArray(given) ? (given as (string | FormFile)[]) : [given as string | FormFile];
    const added = list.map((value, i): Entry => {
      const where = `submitForm: field ${JSON.stringify(name)}${list.length > 1 ? `[${i}]` : ''} on ${url}`;
      if (typeof value === 'string') {
        if (fileField) throw new FormError(`${where} is a file input: give it as { filename, content } (a request's body cannot read a file by name)`);
        return { name, value };
      }
      if (!isFile(value)) throw new FormError(`${where}: a value is a string, a list of them, a file { filename, content } or null, not ${describeValue(value)}`);
      if (typeof value.filename !== 'string' || typeof value.content !== 'string')
        throw new FormError(`${where}: a file is { filename: string, content: string, contentType?: string }`);
      return { name, value, file: true };
    });
    const at = out.findIndex((e) => e.name === name);
    const rest = out.filter((e) => e.name !== name);
    out = at < 0 ? [...rest, ...added] : [...rest.slice(0, at), ...added, ...rest.slice(at)];
  }
  return out;
}

/** Line breaks as a form sends them: CRLF. */
const crlf = (s: string) => s.replace(/\r\n|\r|\n/g, '\r\n');
const pairs = (entries: readonly Entry[]): [string, string][] => entries.map((e) => [crlf(e.name), text(e)]);
const text = (e: Entry): string => crlf(typeof e.value === 'string' ? e.value : e.value.filename);
const quoted = (s: string) => `"${s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;

/**
 * A multipart body. The boundary is derived from the fields, not random, so
 * the same submission has the same body, and the frontier dedupes it as it
 * would a urlencoded one; it is changed until no value contains it.
 */
function multipart(entries: readonly Entry[]): { body: string; contentType: string } {
  const parts = entries.map((e) => {
    const name = quoted(crlf(e.name));
    if (!e.file || typeof e.value === 'string') return `Content-Disposition: form-data; name=${name}\r\n\r\n${text(e)}`;
    const { filename, content, contentType } = e.value;
    return `Content-Disposition: form-data; name=${name}; filename=${quoted(filename)}\r\nContent-Type: ${contentType ?? 'application/octet-stream'}\r\n\r\n${content}`;
  });
  let boundary = '';
  for (let n = 0; !boundary || parts.some((p) => p.includes(boundary)); n++) boundary = `----crawlkit${hash('sha1', `${n}\n${parts.join('\n')}`).slice(0, 24)}`;
  return { body: `${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The body of a POST in `enctype`, and its Content-Type. */
function encode(entries: readonly Entry[], enctype: Enctype): { body: string; contentType: string } {
  if (enctype === 'multipart/form-data') return multipart(entries);
  if (enctype === 'text/plain') return { body: entries.map((e) => `${crlf(e.name)}=${text(e)}\r\n`).join(''), contentType: 'text/plain;charset=UTF-8' };
  return { body: new URLSearchParams(pairs(entries)).toString(), contentType: enctype };
}

/** The form's method, enctype and action, the submitter's `formmethod`, `formenctype` and `formaction` winning. */
function submission(res: Response, form: El, submitter: El | null): { method: 'GET' | 'POST'; enctype: Enctype; action: URL } {
  const from = (name: string): string | undefined => submitter?.attribs[`form${name}`] ?? form.attribs[name];
  const method = (from('method') ?? 'get').trim().toLowerCase();
  if (method === 'dialog') throw new FormError(`submitForm: the form on ${res.url} has method="dialog": it closes a dialog, it sends nothing`);
  const enctype = (from('enctype') ?? '').trim().toLowerCase();
  const raw = (from('action') ?? '').trim();
  // An empty action is the page's own URL (not its <base>), as the standard says.
  let action: URL | null = null;
  try {
    action = raw === '' ? new URL(res.url) : toHttpUrl(res.urljoin(raw));
  } catch {
    /* does not parse: refused below */
  }
  if (!action) throw new FormError(`submitForm: the form on ${res.url} submits to ${JSON.stringify(raw)}, which is not an http(s) URL`);
  return { method: method === 'post' ? 'POST' : 'GET', enctype: ENCTYPES.find((e) => e === enctype) ?? ENCTYPES[0], action };
}

/**
 * The request that submits a form of `res` (see {@link SubmitFormOptions}),
 * whose page `parser` parsed.
 * @throws {@link FormError} naming the page: no form, a selector or submitter
 *   that matches none, a file field given a string, `method="dialog"`.
 */
export function submitForm(res: Response, values: Record<string, FormValue> = {}, options: SubmitFormOptions = {}, parser: 'htmlparser2' | 'parse5' = 'htmlparser2'): Request {
  const { selector, submitter: wanted, headers: given, ...requestOptions } = options;
  if (!isPlainObject(values)) throw new FormError(`submitForm: values must be an object of field names and values, not ${describeValue(values)}`);
  const $ = res.$;
  const form = pickForm($, selector, res.url);
  const controls = formControls($, form);
  const submitter = pickSubmitter($, controls, wanted, res.url);
  const entries = withValues(entryList(controls, submitter, parser), values, res.url);
  const { method, enctype, action } = submission(res, form, submitter);
  // As a browser: the page as Referer, and for a POST its Origin (a CSRF check may want either). The request's own headers win.
  if (method === 'GET') {
    action.search = new URLSearchParams(pairs(entries)).toString();
    return new Request(action, { ...requestOptions, method, headers: withDefaultHeaders(given, { referer: res.url }) });
  }
  const { body, contentType } = encode(entries, enctype);
  const headers = withDefaultHeaders(given, { referer: res.url, origin: new URL(res.url).origin });
  // The body's own Content-Type, whatever the request says: a multipart body is unreadable without its boundary.
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') delete headers[name];
  return new Request(action, { ...requestOptions, method, body, headers: { ...headers, 'content-type': contentType } });
}


import type { CheerioAPI } from 'cheerio';

/**
 * A form's data set as a browser builds it (HTML's "constructing the entry
 * list", https://html.spec.whatwg.org/#constructing-form-data-set), read off
 * the parsed page: which controls belong to a form, which of them are
 * submitted and with what value. `forms.ts` turns it into a request.
 */

/** A parsed element, as much of domhandler's as this reads. */
export interface El {
  type: string;
  name: string;
  attribs: Record<string, string>;
  parent: El | null;
  children?: El[];
  /** A text node's text. */
  data?: string;
}

/** A file a form sends: given by the spider (`values`), or the empty file a browser sends for a file field left empty. */
export interface FormFile {
  filename: string;
  /** The file's text. A request's body is a string (it is stored in the frontier), so binary content cannot be sent. */
  content: string;
  /** Default `application/octet-stream`. */
  contentType?: string;
}

/** One entry of the data set: a name and a value; `file` for a file field's. */
export interface Entry {
  name: string;
  value: string | FormFile;
  file?: boolean;
}

const isTag = (n: El): boolean => n.type === 'tag' || n.type === 'script' || n.type === 'style';
const attr = (el: El, name: string): string | undefined => el.attribs[name];
const has = (el: El, name: string): boolean => el.attribs[name] !== undefined;

/** An element's text content: its text nodes, in order (as `textContent`). */
function textOf(el: El): string {
  let out = '';
  for (const child of el.children ?? []) out += child.type === 'text' ? (child.data ?? '') : textOf(child);
  return out;
}

/** Every element under `root`, in tree order. */
export function* elements(root: El): Generator<El> {
  for (const child of root.children ?? []) {
    if (!isTag(child)) continue;
    yield child;
    yield* elements(child);
  }
}

const CONTROLS = new Set(['input', 'button', 'select', 'textarea']);

/**
 * The form's controls, in tree order: those inside it, but for those whose
 * `form` attribute names another form, and those anywhere whose `form`
 * attribute names it (by id). A `form` attribute naming no form leaves its
 * control in none, as in a browser.
 */
export function formControls($: CheerioAPI, form: El): El[] {
  const root = $.root()[0] as unknown as El;
  const id = attr(form, 'id');
  const byId = new Map<string, El>();
  const out: El[] = [];
  for (const el of elements(root)) {
    const ident = attr(el, 'id');
    if (ident !== undefined && !byId.has(ident)) byId.set(ident, el);
    if (!CONTROLS.has(el.name)) continue;
    const named = attr(el, 'form');
    if (named !== undefined) {
      if (named === id && el !== form) out.push(el);
      continue;
    }
    let up = el.parent;
    while (up && up.name !== 'form') up = up.parent;
    if (up === form) out.push(el);
  }
  // An id names its first element: a control whose form="x" finds a div#x first belongs to no form.
  return id === undefined || byId.get(id) === form ? out : out.filter((el) => attr(el, 'form') === undefined);
}

/** Whether a control is disabled: by its attribute, or in a disabled fieldset (but for that fieldset's first legend). */
export function isDisabled(el: El): boolean {
  if (has(el, 'disabled')) return true;
  for (let child = el, up = el.parent; up; child = up, up = up.parent) {
    if (up.name !== 'fieldset' || !has(up, 'disabled')) continue;
    const legend = (up.children ?? []).find((c) => isTag(c) && c.name === 'legend');
    if (!(child === legend && child.name === 'legend')) return true;
  }
  return false;
}

const inDatalist = (el: El): boolean => {
  for (let up = el.parent; up; up = up.parent) if (up.name === 'datalist') return true;
  return false;
};

const inputType = (el: El): string => (attr(el, 'type') ?? 'text').trim().toLowerCase();

/** A submit button: `<button>` of type submit (the default, and what an unknown type is), `<input type=submit|image>`. */
export function isSubmitButton(el: El): boolean {
  if (el.name === 'button') {
    const type = (attr(el, 'type') ?? 'submit').trim().toLowerCase();
    return type !== 'reset' && type !== 'button';
  }
  return el.name === 'input' && (inputType(el) === 'submit' || inputType(el) === 'image');
}

/** A select's selected options: as the parser leaves them, the last `selected` of a single select wins, and one with none shows its first enabled option. */
function selectedOptions(select: El): El[] {
  const options = [...elements(select)].filter((o) => o.name === 'option');
  const disabled = (o: El) => has(o, 'disabled') || (o.parent?.name === 'optgroup' && has(o.parent, 'disabled'));
  const selected = options.filter((o) => has(o, 'selected'));
  const size = Number.parseInt(attr(select, 'size') ?? '1', 10);
  let chosen = selected;
  if (!has(select, 'multiple')) {
    if (selected.length > 1) chosen = selected.slice(-1);
    else if (selected.length === 0 && !(size > 1)) chosen = options.filter((o) => !disabled(o)).slice(0, 1);
  }
  return chosen.filter((o) => !disabled(o));
}

const optionValue = (o: El): string => attr(o, 'value') ?? textOf(o).replace(/[\t\n\f\r ]+/g, ' ').trim();

/**
 * The entries one control adds (none for most that are not submitted).
 * `leadingNewline`: the parser kept the newline that may follow `<textarea>`,
 * which HTML drops (htmlparser2 keeps it; parse5 drops it, as a browser does).
 */
function controlEntries(el: El, submitter: El | null, leadingNewline: boolean): Entry[] {
  const name = attr(el, 'name') ?? '';
  if (el.name === 'button') return el === submitter && name ? [{ name, value: attr(el, 'value') ?? '' }] : [];
  if (el.name === 'select') return name ? selectedOptions(el).map((o) => ({ name, value: optionValue(o) })) : [];
  const dirname = attr(el, 'dirname');
  const withDir = (entry: Entry): Entry[] => (dirname ? [entry, { name: dirname, value: 'ltr' }] : [entry]);
  if (el.name === 'textarea') {
    const text = textOf(el);
    return name ? withDir({ name, value: leadingNewline ? text.replace(/^\r?\n/, '') : text }) : [];
  }
  const type = inputType(el);
  if (type === 'image') {
    if (el !== submitter) return [];
    // A click at (0, 0): the coordinates a browser sends for a keyboard submission.
    return [{ name: name ? `${name}.x` : 'x', value: '0' }, { name: name ? `${name}.y` : 'y', value: '0' }];
  }
  if (type === 'submit') return el === submitter && name ? [{ name, value: attr(el, 'value') ?? '' }] : [];
  if (type === 'reset' || type === 'button' || !name) return [];
  if (type === 'checkbox' || type === 'radio') return has(el, 'checked') ? [{ name, value: attr(el, 'value') ?? 'on' }] : [];
  if (type === 'file') return [{ name, value: { filename: '', content: '', contentType: 'application/octet-stream' }, file: true }];
  if (type === 'hidden' && name.toLowerCase() === '_charset_') return [{ name, value: 'UTF-8' }];
  const value = attr(el, 'value') ?? '';
  return type === 'text' || type === 'search' ? withDir({ name, value }) : [{ name, value }];
}

/**
 * The form's data set with `submitter` as the button clicked (null: none,
 * as when Enter is pressed in a form without a button): every enabled
 * control with a name and a value to send, in tree order, from a page
 * `parser` parsed.
 */
export function entryList(controls: readonly El[], submitter: El | null, parser: 'htmlparser2' | 'parse5'): Entry[] {
  const out: Entry[] = [];
  const lastRadio = new Map<string, Entry>();
  const superseded = new Set<Entry>();
  for (const el of controls) {
    if (isDisabled(el) || inDatalist(el)) continue;
    const entries = controlEntries(el, submitter, parser === 'htmlparser2');
    const radio = el.name === 'input' && inputType(el) === 'radio' ? entries[0] : undefined;
    if (radio) {
      // One checked radio per group: the parser leaves the last one checked.
      const earlier = lastRadio.get(radio.name);
      if (earlier) superseded.add(earlier);
      lastRadio.set(radio.name, radio);
    }
    out.push(...entries);
  }
  return superseded.size ? out.filter((e) => !superseded.has(e)) : out;
}

import { UnstorableValueError } from './errors.js';

/**
 * The one serialiser for what a spider hands crawlkit to store: items, and
 * the meta of its requests. JSON.stringify quietly changes what it cannot
 * hold (a Map or a class's private state becomes `{}`, NaN becomes null, a
 * function or a Symbol disappears) and throws on a BigInt or a cycle without
 * saying where; here every such value is refused with the path of the field
 * (`item.offers[2].price: a BigInt cannot be stored as JSON`), so the page
 * that made it fails alone. The string returned is what is stored: the value
 * is read once, as it is checked.
 *
 * Accepted: strings, finite numbers, booleans, null, arrays and plain objects
 * (literals, or with a null prototype) of those. An object property whose
 * value is `undefined` is left out, as JSON.stringify does (it reads back as
 * missing, which is `undefined` again); in an array it is refused, since it
 * would come back as null. Symbol-keyed properties are not stored.
 */

/** Options of {@link toJson}. */
export interface JsonOptions {
  /**
   * Call `toJSON()` as JSON.stringify does, so a Date becomes its ISO string:
   * for items, which are output. Off for meta, which must come back to the
   * callback as it went (a Date in meta would come back a string).
   */
  toJSON?: boolean;
  /**
   * Write a marker string (`"[not JSON: a BigInt]"`) in place of each value
   * that cannot be stored, instead of throwing: for keeping an item the
   * schema rejected, to look at. An error thrown while reading (a getter,
   * a Proxy) still throws: there is no value to describe.
   */
  lenient?: boolean;
}

/**
 * SQLite's JSON functions, which a user reaches the stored items with
 * (json_extract), stop at 1000 levels (SQLITE_JSON_MAX_DEPTH); deeper is a
 * runaway structure in the spider, not data, and would overflow the stack.
 */
const MAX_DEPTH = 1000;

/** Built-in objects, named as such (`a Map`); any other prototype is `a Book instance`. */
const BUILTINS = new Set([
  'Date', 'Map', 'Set', 'WeakMap', 'WeakSet', 'RegExp', 'Promise', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'URL', 'URLSearchParams', 'Buffer',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
]);

const HINTS: Record<string, string> = {
  Map: 'use a plain object (Object.fromEntries(map))',
  Set: 'use an array ([...set])',
  Date: 'use date.toISOString() or date.getTime()',
};

interface Ctx {
  options: JsonOptions;
  /** Keys from the root to the container being written. */
  path: (string | number)[];
  /** The containers being written, outermost first: a cycle is a value already here. */
  open: object[];
  /** The key being read in the innermost container (null: the container itself), for errors thrown by user code. */
  at: string | number | null;
  root: string;
}

const segment = (k: string | number) => (typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$-]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);

/** `item.offers[2].price`, `headers["content type"]`; a path deeper than 10 keeps its ends (`item.a.b.c.d.e…(990 more)….x.y.z`). */
export function fieldPath(root: string, keys: readonly (string | number)[]): string {
  if (keys.length > 10) return `${root}${keys.slice(0, 5).map(segment).join('')}…(${keys.length - 8} more)…${keys.slice(-3).map(segment).join('')}`;
  return root + keys.map(segment).join('');
}

// "an Error", "an Int8Array"; but "a Uint8Array", "a URL": a leading U is read as "you".
const article = (word: string) => (/^[AEIO]/i.test(word) ? `an ${word}` : `a ${word}`);

/** What a non-plain object is, for a message: `a Map`, `a Book instance`, `an Error`. */
export function describeObject(v: object): string {
  if (v instanceof Error) return article(v.name || 'Error');
  let name: unknown;
  try {
    name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  } catch {
    /* a Proxy whose traps throw: no name */
  }
  if (typeof name !== 'string' || name === '') return 'an object with a prototype';
  if (name === 'String' || name === 'Number' || name === 'Boolean') return `${article(name)} object`;
  return BUILTINS.has(name) ? article(name) : `${article(name)} instance`;
}

/** What any value is, for a message: `a string`, `an array`, `a Map`, `undefined`. */
export function describeValue(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return isPlainObject(v) ? 'an object' : describeObject(v);
  return typeof v === 'bigint' ? 'a BigInt' : typeof v === 'symbol' ? 'a Symbol' : article(typeof v);
}

/** A plain object: `{...}` or `Object.create(null)`, not an array, class instance or built-in. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Throws (or, lenient, returns the marker) for a value at `key` of the innermost container. */
function bad(ctx: Ctx, key: string | number | null, what: string, why = 'cannot be stored as JSON', hint = ''): string {
  if (ctx.options.lenient) return JSON.stringify(`[not JSON: ${what}]`);
  const path = fieldPath(ctx.root, key === null ? ctx.path : [...ctx.path, key]);
  throw new UnstorableValueError(path, `${what} ${why}${hint ? `; ${hint}` : ''}`);
}

/** The JSON of one value, or undefined where JSON would leave it out (the caller decides if it may). */
function write(ctx: Ctx, v: unknown, key: string | number | null, afterToJSON: boolean): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : bad(ctx, key, String(v), 'cannot be stored as JSON (it would become null)', 'use null or a string');
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return undefined;
    case 'bigint':
      return bad(ctx, key, 'a BigInt', undefined, 'use a string (String(n)) or a number');
    case 'symbol':
      return bad(ctx, key, 'a Symbol');
    case 'function':
      return bad(ctx, key, 'a function');
  }
  if (v === null) return 'null';
  return writeObject(ctx, v as object, key, afterToJSON);
}

function writeObject(ctx: Ctx, v: object, key: string | number | null, afterToJSON: boolean): string | undefined {
  if (ctx.options.toJSON && !afterToJSON && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    let json: unknown;
    try {
      json = (v as { toJSON: (key: string) => unknown }).toJSON(key === null ? '' : String(key));
    } catch (err) {
      return bad(ctx, key, 'toJSON()', `threw: ${errorText(err)}`);
    }
    // Left out of an object, as JSON.stringify does; refused where a value must be (the root, an array).
    if (json === undefined && (key === null || typeof key === 'number')) return bad(ctx, key, 'toJSON()', 'returned undefined');
    return write(ctx, json, key, true);
  }
  const array = Array.isArray(v);
  if (!array && !isPlainObject(v)) {
    const what = describeObject(v);
    const name = what.replace(/^an? | instance$| object$/g, '');
    const hint = HINTS[name] ?? (/Array$/.test(name) ? 'use an array (Array.from(value))' : /cheerio/i.test(name) ? 'call .text() or .attr() on it' : 'use a plain object ({ ...value })');
    return bad(ctx, key, what, undefined, hint);
  }
  const cycle = ctx.open.indexOf(v);
  if (cycle >= 0) return bad(ctx, key, `a circular reference (to ${fieldPath(ctx.root, ctx.path.slice(0, cycle))})`);
  if (ctx.open.length >= MAX_DEPTH) return bad(ctx, key, 'a value', `nested deeper than ${MAX_DEPTH} levels cannot be stored as JSON`);
  if (key !== null) ctx.path.push(key);
  ctx.open.push(v);
  ctx.at = null;
  let out: string;
  if (array) {
    out = '[';
    const items = v as unknown[];
    for (let i = 0; i < items.length; i++) {
      ctx.at = i;
      const s = write(ctx, items[i], i, false) ?? bad(ctx, i, 'undefined', 'in an array would be stored as null', 'use null');
      out += i === 0 ? s : `,${s}`;
    }
    out += ']';
  } else {
    out = '{';
    const record = v as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      ctx.at = k;
      const s = write(ctx, record[k], k, false);
      if (s !== undefined) out += (out.length === 1 ? '' : ',') + quoteKey(k) + s;
    }
    out += '}';
  }
  ctx.open.pop();
  if (key !== null) ctx.path.pop();
  return out;
}

/** Item keys repeat from item to item: their quoted form is kept (a bounded cache) rather than escaped again. */
const quotedKeys = new Map<string, string>();
function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = `${JSON.stringify(k)}:`;
    if (quotedKeys.size < 10_000 && k.length <= 64) quotedKeys.set(k, q);
  }
  return q;
}

/** A thrown value as text, whatever it is (a Symbol cannot go into a template string). */
export function errorText(err: unknown): string {
  try {
    if (err instanceof Error) return err.message;
    return typeof err === 'symbol' ? err.toString() : String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}

/**
 * `value` as JSON, checked: throws {@link UnstorableValueError} naming the
 * field (`root.a.b[2]`) for anything JSON cannot give back as it was. An
 * error thrown while reading the value (a getter, a Proxy, a `toJSON()`) is
 * reported the same way, at the field being read.
 */
export function toJson(value: unknown, root: string, options: JsonOptions = {}): string {
  const ctx: Ctx = { options, path: [], open: [], at: null, root };
  let json: string | undefined;
  try {
    json = write(ctx, value, null, false);
  } catch (err) {
    if (err instanceof UnstorableValueError) throw err;
    const path = fieldPath(root, ctx.at === null ? ctx.path : [...ctx.path, ctx.at]);
    throw new UnstorableValueError(path, `reading it threw: ${errorText(err)}`, { cause: err });
  }
  if (json === undefined) throw new UnstorableValueError(root, 'undefined cannot be stored as JSON');
  return json;
}

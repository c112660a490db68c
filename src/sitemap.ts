import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { Parser } from 'htmlparser2';

/** One entry of a sitemap (`<url>` in a `<urlset>`) or of a sitemap index (`<sitemap>` in a `<sitemapindex>`). */
export interface SitemapEntry {
  /** `url`: a page; `sitemap`: another sitemap, listed by an index. */
  kind: 'url' | 'sitemap';
  /** The `<loc>`, entities decoded and whitespace trimmed, as the file spells it. */
  loc: string;
  /** The `<lastmod>` as written: a W3C datetime (`2026-11-23` or `2026-11-23T15:00:00+00:00`); `new Date(lastmod)` reads both. */
  lastmod?: string;
  /** The `<changefreq>`: `always`, `hourly`, `daily`, `weekly`, `monthly`, `yearly` or `never` (as written). */
  changefreq?: string;
  /** The `<priority>`, 0.0 to 1.0; absent when missing or not a number. */
  priority?: number;
}

/** Options of {@link readSitemap}. */
export interface ReadSitemapOptions {
  /** Largest uncompressed size read; beyond it `readSitemap` throws. Default {@link SITEMAP_MAX_BYTES}. */
  maxBytes?: number;
  /**
   * Most entries read: URLs of a sitemap, or sitemaps of an index. Reading
   * stops at the first entry past it, after a call to `onLimit`. Default
   * {@link SITEMAP_MAX_ENTRIES}.
   */
  maxEntries?: number;
  /** Called once when a file holds more than `maxEntries` entries (`kind`: that of the first entry left out), before reading stops. */
  onLimit?: (maxEntries: number, kind: SitemapEntry['kind']) => void;
}

/** The sitemap protocol's limit on one file, uncompressed: 50 MiB. */
export const SITEMAP_MAX_BYTES = 50 * 1024 * 1024;

/** The sitemap protocol's limit on the entries of one file: 50,000 URLs in a sitemap, 50,000 sitemaps in an index. */
export const SITEMAP_MAX_ENTRIES = 50_000;

/** Input is fed to the parser in slices of this size, so entries come out while the rest waits. */
const SLICE = 64 * 1024;

const FIELDS = new Set(['loc', 'lastmod', 'changefreq', 'priority']);
type Field = 'loc' | 'lastmod' | 'changefreq' | 'priority';

/** Bytes of `body` in slices: a buffer is cut up, a stream passes as it comes. */
async function* slices(body: Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) for (let i = 0; i < body.length; i += SLICE) yield body.subarray(i, i + SLICE);
  else yield* body;
}

/** The bytes of `body`, gunzipped as they stream if they start with gzip's magic bytes (1f 8b), as they are otherwise. */
async function* decompressed(body: Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const source = slices(body);
  const head: Uint8Array[] = [];
  let seen = 0;
  // A stream may deliver its first byte alone: read until two are known.
  while (seen < 2) {
    const step = await source.next();
    if (step.done) break;
    head.push(step.value);
    seen += step.value.length;
  }
  const start = Buffer.concat(head);
  async function* all(): AsyncGenerator<Uint8Array> {
    if (start.length > 0) yield start;
    yield* source;
  }
  if (start[0] !== 0x1f || start[1] !== 0x8b) return yield* all();
  // pipeline() hands a source's error on to the gunzip stream, so it reaches the reader instead of hanging it.
  const gunzip = pipeline(Readable.from(all()), createGunzip(), () => {});
  try {
    yield* gunzip;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw e.code?.startsWith('Z_') ? new Error(`sitemap is not valid gzip: ${e.message}`, { cause: err }) : err;
  }
}

/**
 * The entries of a sitemap or a sitemap index (https://www.sitemaps.org), as
 * they are read: the body streams through htmlparser2's `Parser` in XML mode
 * (gunzipped first, with node:zlib, when it starts with gzip's magic bytes,
 * as a `.xml.gz` served without `Content-Encoding` does), so a 50 MB sitemap
 * is never one string, let alone a DOM. Elements may carry a namespace
 * prefix; extension elements (`<image:loc>`, `<xhtml:link>`) are ignored, and
 * so is an entry without a `<loc>`. At most `maxEntries` entries are read
 * (the protocol's 50,000): at the first one past them, `onLimit` is called
 * and reading stops, so a 500,000-entry file costs no more than a legal one.
 *
 * @param body - the sitemap's bytes: a Buffer (e.g. `response.body`) or a stream (e.g. `fs.createReadStream(file)`).
 * @throws Error when the uncompressed sitemap exceeds `maxBytes`, or when gzip data is corrupt.
 *
 * @example
 * ```ts
 * for await (const entry of readSitemap(fs.createReadStream('sitemap.xml.gz')))
 *   if (entry.kind === 'url') console.log(entry.loc, entry.lastmod);
 * ```
 */
export async function* readSitemap(
  body: Uint8Array | AsyncIterable<Uint8Array>,
  { maxBytes = SITEMAP_MAX_BYTES, maxEntries = SITEMAP_MAX_ENTRIES, onLimit }: ReadSitemapOptions = {},
): AsyncGenerator<SitemapEntry> {
  const ready: SitemapEntry[] = [];
  let entry: SitemapEntry | null = null;
  let entryDepth = 0;
  let field: Field | null = null;
  let text = '';
  let depth = 0;
  const localName = (name: string) => name.slice(name.indexOf(':') + 1).toLowerCase();
  const parser = new Parser(
    {
      onopentag(name) {
        depth++;
        const local = localName(name);
        if (entry === null) {
          if (local === 'url' || local === 'sitemap') {
            entry = { kind: local, loc: '' };
            entryDepth = depth;
          }
        } else if (depth === entryDepth + 1 && FIELDS.has(local)) {
          field = local as Field;
          text = '';
        }
      },
      ontext(data) {
        // A text node can arrive in pieces, split where the input was.
        if (field !== null) text += data;
      },
      onclosetag() {
        if (entry !== null) {
          if (field !== null && depth === entryDepth + 1) {
            const value = text.trim();
            if (field === 'priority') {
              const n = Number(value);
              if (value !== '' && Number.isFinite(n)) entry.priority = n;
            } else if (value !== '') entry[field] = value;
            field = null;
          } else if (depth === entryDepth) {
            if (entry.loc !== '') ready.push(entry);
            entry = null;
          }
        }
        depth--;
      },
    },
    { xmlMode: true },
  );
  const decoder = new StringDecoder('utf8');
  let size = 0;
  let given = 0;
  /** The entries parsed so far, up to the limit; false once past it (the caller stops reading). */
  function* drain(): Generator<SitemapEntry, boolean> {
    for (const entry of ready.splice(0)) {
      if (given === maxEntries) {
        onLimit?.(maxEntries, entry.kind);
        return false;
      }
      given++;
      yield entry;
    }
    return true;
  }
  for await (const chunk of decompressed(body)) {
    size += chunk.length;
    if (size > maxBytes) throw new Error(`sitemap larger than ${maxBytes} bytes uncompressed (the protocol's limit is ${SITEMAP_MAX_BYTES})`);
    parser.write(decoder.write(chunk));
    if (!(yield* drain())) return;
  }
  parser.end(decoder.end());
  yield* drain();
}

import type { NewRequest } from './frontier/frontier.js';

/** What a page's follow-ups mostly share: every field but the URL and the fingerprint. */
type Shape = Omit<NewRequest, 'url' | 'fp'>;

/** Bytes of a fingerprint (SHA-1). */
const FP_BYTES = 20;

/**
 * The follow-up requests of one page, deduplicated by fingerprint and packed
 * into a few flat arrays: what a parser worker sends the main thread, and what
 * waits there for the frontier. A page with 324,000 links sent as one object
 * per request cost the main thread seconds to receive and hundreds of MB to
 * hold; packed, it is a string of URLs, 20 bytes of fingerprint a row
 * (transferred, not copied) and the few field sets the rows share. Read rows
 * back with {@link followUpRows}, a chunk at a time.
 */
export interface FollowUps {
  /** Rows packed in `urls`, `fps` and `shapeOf` (the `unfiltered` requests not included). */
  count: number;
  /** The rows' URLs, separated by `\n` (a WHATWG href never holds a raw newline). */
  urls: string;
  /** Where each row's URL ends in `urls`. */
  urlEnds: Uint32Array;
  /** The rows' fingerprints, 20 bytes each, one after the other. */
  fps: Uint8Array;
  /** Each row's index in `shapes`. */
  shapeOf: Uint32Array;
  /** The distinct sets of other fields: usually one per callback the page's links go to. */
  shapes: Shape[];
  /**
   * `dontFilter` requests, kept whole: their fingerprints are random, so a
   * page parsed again after a kill would add them again; only the
   * transaction that marks the page done can store them exactly once.
   */
  unfiltered: NewRequest[];
  /** Requests left out because the page had already yielded one with the same fingerprint. */
  duplicates: number;
}

/** Packs follow-ups as a page yields them; `pack()` when the page is done. */
export interface FollowUpPacker {
  add(request: NewRequest): void;
  pack(): FollowUps;
}

// JSON of the fields in a fixed order (headers and meta are already checked JSON strings, see callbacks.ts).
const shapeKey = (r: NewRequest): string =>
  JSON.stringify([r.method, r.headers, r.body, r.callback, r.meta, r.depth, r.priority, r.redirects, r.host, r.parentId, r.skipped]);

const sameShape = (r: NewRequest, s: Shape): boolean =>
  r.host === s.host &&
  r.callback === s.callback &&
  r.depth === s.depth &&
  r.meta === s.meta &&
  r.headers === s.headers &&
  r.method === s.method &&
  r.body === s.body &&
  r.priority === s.priority &&
  r.redirects === s.redirects &&
  r.parentId === s.parentId &&
  r.skipped === s.skipped;

/** The distinct shapes of a page's rows, each kept once: `id(r)` is the index of `r`'s in `shapes`. */
function shapeTable(): { shapes: Shape[]; id(r: NewRequest): number } {
  const shapes: Shape[] = [];
  const ids = new Map<string, number>();
  let last = -1;
  return {
    shapes,
    id(r) {
      // Most rows share the previous row's fields (a followAll's links): that needs no key.
      if (last >= 0 && sameShape(r, shapes[last]!)) return last;
      const key = shapeKey(r);
      let id = ids.get(key);
      if (id === undefined) {
        const { url: _url, fp: _fp, ...shape } = r;
        id = shapes.push(shape) - 1;
        ids.set(key, id);
      }
      return (last = id);
    },
  };
}

/**
 * A new packer: holds one page's follow-ups, each distinct fingerprint once
 * (every one with `dedupe: false`, for `crawl parse`, which shows all a callback yields).
 */
export function followUpPacker({ dedupe = true } = {}): FollowUpPacker {
  // The page's own fingerprints, as 20-character strings: bounded by the page, and what lets a page
  // that links to one URL 10 times send it once.
  const seen = new Set<string>();
  const urls: string[] = [];
  const urlEnds: number[] = [];
  let urlLength = 0;
  let fps = new Uint8Array(FP_BYTES * 256);
  const shapeOf: number[] = [];
  const shapes = shapeTable();
  const unfiltered: NewRequest[] = [];
  let duplicates = 0;

  return {
    add(r) {
      if (r.fp.length !== FP_BYTES) {
        unfiltered.push(r);
        return;
      }
      const key = dedupe ? r.fp.toString('latin1') : '';
      if (dedupe && seen.has(key)) {
        duplicates++;
        return;
      }
      const shape = shapes.id(r);
      if (dedupe) seen.add(key);
      const row = shapeOf.length;
      if ((row + 1) * FP_BYTES > fps.length) {
        const grown = new Uint8Array(fps.length * 2);
        grown.set(fps);
        fps = grown;
      }
      fps.set(r.fp, row * FP_BYTES);
      shapeOf.push(shape);
      urls.push(r.url);
      urlLength += r.url.length;
      urlEnds.push(urlLength);
      urlLength += 1;
    },
    pack() {
      return {
        count: shapeOf.length,
        urls: urls.join('\n'),
        urlEnds: Uint32Array.from(urlEnds),
        fps: fps.slice(0, shapeOf.length * FP_BYTES),
        shapeOf: Uint32Array.from(shapeOf),
        shapes: shapes.shapes,
        unfiltered,
        duplicates,
      };
    },
  };
}

/** `requests` packed, e.g. the one follow-up of a redirect. */
export function packFollowUps(requests: Iterable<NewRequest>): FollowUps {
  const packer = followUpPacker();
  for (const r of requests) packer.add(r);
  return packer.pack();
}

/** The ArrayBuffers of a pack, to transfer rather than copy to another thread. */
export const transferables = (f: FollowUps): ArrayBuffer[] => [f.urlEnds.buffer as ArrayBuffer, f.fps.buffer as ArrayBuffer, f.shapeOf.buffer as ArrayBuffer];

/**
 * Rows `from` to `to` (exclusive) of a pack as requests for the frontier.
 * The fingerprints are views into the pack, not copies.
 */
export function followUpRows(f: FollowUps, from = 0, to = f.count): NewRequest[] {
  const out: NewRequest[] = [];
  const fps = Buffer.from(f.fps.buffer, f.fps.byteOffset, f.fps.byteLength);
  for (let i = from; i < to; i++) {
    const start = i === 0 ? 0 : f.urlEnds[i - 1]! + 1;
    out.push({ ...f.shapes[f.shapeOf[i]!]!, url: f.urls.slice(start, f.urlEnds[i]), fp: fps.subarray(i * FP_BYTES, (i + 1) * FP_BYTES) });
  }
  return out;
}

/** Every request of a pack, the `unfiltered` ones last. */
export const allFollowUps = (f: FollowUps): NewRequest[] => [...followUpRows(f), ...f.unfiltered];

/**
 * What a callback yielded on a page, as one digest, for `render: 'auto'`
 * (browser/auto.ts): its items and its follow-ups, each as canonical JSON
 * (object keys sorted), in any order. Two runs of a callback on one page,
 * over HTTP and in the browser, agree when their digests are equal. The
 * items are taken as yielded, before the pipelines (which run once, on the
 * output that is kept); a follow-up by what makes it another request (method,
 * URL, body, callback, meta) and whether it was skipped as out of scope.
 */
import { createHash } from 'node:crypto';
import type { NewRequest } from '../frontier/frontier.js';

const sortKeys = (_key: string, value: unknown): unknown => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return typeof value === 'bigint' ? String(value) : value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, (value as Record<string, unknown>)[k]]));
};

/** `value` as JSON with every object's keys sorted (a BigInt as its digits; what JSON cannot hold, as JSON.stringify leaves it). */
export const canonicalJson = (value: unknown): string => JSON.stringify(value, sortKeys) ?? 'undefined';

/** A follow-up as the digest sees it. */
export const followUpKey = (r: NewRequest): string => JSON.stringify([r.method, r.url, r.body, r.callback, r.meta, r.skipped ?? null]);

/** The digest of a page's output: its items' and follow-ups' keys, each list sorted. */
export function outputDigest(items: string[], followUps: string[]): string {
  const hash = createHash('sha1');
  for (const list of [items, followUps]) {
    for (const s of [...list].sort()) hash.update(s).update('\n');
    hash.update('\u0000');
  }
  return hash.digest('hex');
}

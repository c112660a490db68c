/**
 * The strict serialiser items and meta are stored with: the same JSON as
 * JSON.stringify for every value JSON can hold (generated ones, deep and odd),
 * and a refusal naming the field for everything else, including errors thrown
 * while reading (getters, Proxies).
 */
import { describe, expect, it } from 'vitest';
import { UnstorableValueError } from '../src/index.js';
import { toJson } from '../src/json-value.js';

/** A small seeded PRNG (mulberry32), so a failure is reproducible. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'plain', 'quote " and \\ backslash', 'line\nbreak\ttab\u0000nul', 'é 漢字 🎉', '\ud800 lone surrogate', '</script>', '__proto__', '1', '-0', 'toString'];
const NUMBERS = [0, -0, 1, -1, 0.1 + 0.2, 1e21, 1e-7, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, -Number.MAX_VALUE];

function jsonValue(next: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  const kind = Math.floor(next() * (depth > 5 ? 4 : 7));
  switch (kind) {
    case 0: return pick(STRINGS);
    case 1: return pick(NUMBERS);
    case 2: return next() < 0.5;
    case 3: return null;
    case 4: return Array.from({ length: Math.floor(next() * 4) }, () => jsonValue(next, depth + 1));
    default: {
      const o: Record<string, unknown> = next() < 0.2 ? Object.create(null) : {};
      // Defined, not assigned: an own "__proto__" key, as JSON.parse makes one, rather than a new prototype.
      for (let i = Math.floor(next() * 5); i > 0; i--)
        Object.defineProperty(o, pick(STRINGS) + (next() < 0.5 ? i : ''), { value: jsonValue(next, depth + 1), enumerable: true, writable: true, configurable: true });
      return o;
    }
  }
}

const refusal = (value: unknown, root = 'item', toJSON = true): string => {
  try {
    toJson(value, root, { toJSON });
  } catch (err) {
    expect(err).toBeInstanceOf(UnstorableValueError);
    return (err as Error).message;
  }
  throw new Error('not refused');
};

describe('toJson', () => {
  it('writes exactly what JSON.stringify writes for 3,000 generated JSON values', () => {
    const next = random(10);
    for (let i = 0; i < 3_000; i++) {
      const value = { v: jsonValue(next, 0) };
      expect(toJson(value, 'item')).toBe(JSON.stringify(value));
      expect(JSON.parse(toJson(value, 'meta'))).toEqual(JSON.parse(JSON.stringify(value)));
    }
  });

  it('leaves out undefined properties, keeps shared (not circular) objects, honours toJSON only when asked', () => {
    const shared = { n: 1 };
    expect(toJson({ a: undefined, b: shared, c: [shared], d: { toJSON: () => undefined } }, 'item', { toJSON: true })).toBe('{"b":{"n":1},"c":[{"n":1}]}');
    const when = new Date(Date.UTC(2025, 0, 2));
    expect(toJson({ when }, 'item', { toJSON: true })).toBe('{"when":"2025-01-02T00:00:00.000Z"}');
    expect(refusal({ when }, 'meta', false)).toMatch(/^meta\.when: a Date cannot be stored as JSON; use date\.toISOString\(\)/);
    expect(refusal({ own: { toJSON: () => 1 } }, 'meta', false)).toBe('meta.own.toJSON: a function cannot be stored as JSON');
  });

  it('names the field of every value it refuses', () => {
    expect(refusal({ a: [{ b: 1n }] })).toMatch(/^item\.a\[0\]\.b: a BigInt cannot be stored as JSON/);
    expect(refusal({ 'odd key': NaN })).toMatch(/^item\["odd key"\]: NaN cannot be stored as JSON \(it would become null\)/);
    expect(refusal({ e: new TypeError('x') })).toMatch(/^item\.e: a TypeError cannot/);
    expect(refusal({ n: new Number(1) })).toMatch(/^item\.n: a Number object cannot/);
    expect(refusal({ a: [1, undefined] })).toMatch(/^item\.a\[1\]: undefined in an array would be stored as null/);
    expect(refusal(undefined)).toBe('item: undefined cannot be stored as JSON');
    const loop: unknown[] = [];
    loop.push({ back: loop });
    expect(refusal({ loop })).toMatch(/^item\.loop\[0\]\.back: a circular reference \(to item\.loop\)/);
  });

  it('reports an error thrown while reading at the field being read', () => {
    const getter = {
      ok: 1,
      get price(): number {
        throw new Error('no price');
      },
    };
    expect(refusal({ p: getter })).toBe('item.p.price: reading it threw: no price');
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
    expect(refusal({ list: [proxy] })).toBe('item.list[0]: reading it threw: trap');
    expect(refusal({ x: { toJSON: () => { throw Symbol('s'); } } })).toBe('item.x: toJSON() threw: Symbol(s)');
  });

  it('lenient: writes a marker for each bad value and never throws', () => {
    const o: Record<string, unknown> = { price: NaN, big: 2n, m: new Map(), list: [undefined, () => 1] };
    o.self = o;
    expect(JSON.parse(toJson(o, 'item', { toJSON: true, lenient: true }))).toEqual({
      price: '[not JSON: NaN]',
      big: '[not JSON: a BigInt]',
      m: '[not JSON: a Map]',
      list: ['[not JSON: undefined]', '[not JSON: a function]'],
      self: '[not JSON: a circular reference (to item)]',
    });
  });
});

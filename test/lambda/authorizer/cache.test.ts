import { TtlCache } from '../../../lambda/authorizer/cache';

describe('TtlCache', () => {
  test('a value lives from the start of its read until ttl later, exclusive', () => {
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10 });
    cache.set('a', 'A', 5000);
    expect(cache.get('a', 5000)).toBe('A');
    expect(cache.get('a', 5999)).toBe('A');
    expect(cache.get('a', 6000)).toBeUndefined();
    // An expired value is dropped, not just hidden.
    expect(cache.size).toBe(0);
  });

  test('null (a negative result) is a value, distinct from a miss', () => {
    const cache = new TtlCache<string | null>({ ttlMs: 1000, maxEntries: 10 });
    cache.set('unknown', null, 0);
    expect(cache.get('unknown', 1)).toBeNull();
    expect(cache.get('other', 1)).toBeUndefined();
  });

  test('ttl 0 stores nothing', () => {
    const cache = new TtlCache<string>({ ttlMs: 0, maxEntries: 10 });
    cache.set('a', 'A', 0);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('the size is capped: the oldest insertion goes first, a re-set key counts as new', () => {
    const cache = new TtlCache<number>({ ttlMs: 1000, maxEntries: 3 });
    cache.set('a', 1, 0);
    cache.set('b', 2, 0);
    cache.set('c', 3, 0);
    cache.set('a', 11, 0);
    cache.set('d', 4, 0);
    expect(cache.size).toBe(3);
    expect(cache.get('b', 0)).toBeUndefined();
    expect([cache.get('c', 0), cache.get('a', 0), cache.get('d', 0)]).toEqual([3, 11, 4]);
    for (let i = 0; i < 10_000; i++) cache.set(`flood${i}`, i, 0);
    expect(cache.size).toBe(3);
  });

  test('rejects nonsensical options', () => {
    expect(() => new TtlCache({ ttlMs: -1, maxEntries: 1 })).toThrow(/invalid cache options/);
    expect(() => new TtlCache({ ttlMs: 1, maxEntries: 0 })).toThrow(/invalid cache options/);
  });
});

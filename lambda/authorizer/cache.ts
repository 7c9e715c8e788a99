/**
 * A small in-memory TTL cache for the authorizer: key records by key hash (negative results too) and compiled
 * allowlists by scope.
 *
 * - TTL is measured from when the read was STARTED (the caller passes that time), so a value can never outlive
 *   a change that DynamoDB acknowledged before the read by more than the TTL. That is what keeps the in-memory
 *   part of the propagation-delay budget exact (see lib/contract.ts).
 * - The size is capped: a flood of random well-formed keys produces negative entries, and a container must not
 *   run out of memory over it (the authorizer keeps those in a cache of their own, so they never push out valid
 *   keys). When full, the oldest insertion goes (Map iteration order): cheaper than true LRU (no reordering on
 *   hits), and entries live at most a few seconds anyway.
 */

export interface TtlCacheOptions {
  /** 0 disables the cache: nothing is stored. */
  readonly ttlMs: number;
  readonly maxEntries: number;
}

/** A cached value and the start of the read that loaded it (the decision age bound counts from there). */
export interface CacheEntry<V> {
  readonly value: V;
  readonly readAt: number;
}

interface Slot<V> extends CacheEntry<V> {
  readonly expiresAt: number;
}

export class TtlCache<V> {
  private readonly map = new Map<string, Slot<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(options: TtlCacheOptions) {
    if (!(options.ttlMs >= 0) || !(options.maxEntries >= 1)) {
      throw new Error(`invalid cache options: ttlMs ${options.ttlMs}, maxEntries ${options.maxEntries}`);
    }
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries;
  }

  /** The value if present and `now` is before its expiry; undefined otherwise. */
  get(key: string, now: number): V | undefined {
    return this.entry(key, now)?.value;
  }

  /** Like `get`, with the time the value was read. */
  entry(key: string, now: number): CacheEntry<V> | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (now < slot.expiresAt) return slot;
    this.map.delete(key);
    return undefined;
  }

  /** Stores a value read at `readStartedAt`; it expires `ttlMs` after that. */
  set(key: string, value: V, readStartedAt: number): void {
    if (this.ttlMs === 0) return;
    if (!this.map.delete(key) && this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { value, readAt: readStartedAt, expiresAt: readStartedAt + this.ttlMs });
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}

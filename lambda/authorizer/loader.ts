import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { AuthorizerReadResult, AuthorizerStore } from '../adapters/dynamodb-store';
import { organizationAllowlistPk, projectAllowlistPk } from '../adapters/schema';
import { ApiKeyRoute, parseApiKeyRoute } from '../core/api-key';
import { CompiledScopeList, compileScopeList } from '../core/decision';
import { AllowlistSettings, ApiKeyRecord } from '../core/model';
import { CacheEntry, TtlCache } from './cache';

/**
 * The "load" step of a decision: the key record and the two lists of its route, from memory or from one store read,
 * never older than the decision age bound.
 *
 * Warm path (key and lists in memory): two or three Map lookups, no I/O and no await. Cold path: one BatchGetItem
 * for whatever is missing, the lists of the key's route included (so a valid cold key costs one round trip); a list
 * already being read by a concurrent decision is joined, not read again. Either way the decision age bound holds: no
 * decision is made on data read more than `maxDecisionAgeSeconds` ago (lib/contract.ts).
 *
 * Expiring entries: a list is compiled at the time its read lands (entries expired by then are left out), and a
 * compiled list (a key's own one included) is not used from its earliest `expiresAt` on: the memory entry is read
 * again, so no decision at or after an entry's expiry matches it, and the gateway's copy of the last decision that
 * did lapses at most `propagationDelay` after the expiry (lib/contract.ts: g + B <= P).
 *
 * Made-up keys: the route is readable in every key, so a made-up key naming a real project makes the cold read
 * fetch that project's lists. They are kept in memory like any others (a stored list is real data whoever asked
 * for it), so N made-up keys cost the project one read of each list per in-memory window plus one key item each.
 * With the in-memory cache off there is no window to share: the key item is read first and the lists only for a
 * valid key (`readUncached`), so a made-up key costs one key item and no list.
 */

export type InvalidKeyDetail = 'malformed' | 'ambiguous' | 'unknown' | 'revoked' | 'route_mismatch';

export interface ValidKey {
  readonly valid: true;
  readonly keyId: string;
  readonly organizationId: string;
  readonly projectId: string;
  readonly organizationPk: string;
  readonly projectPk: string;
  /** The key's own list when enforced or report-only; undefined when it has none or it is off. */
  readonly keyList: CompiledScopeList | undefined;
  /** The Allow response for `allowResource`; a key is nearly always used on one stage, so it is built once. */
  allowResource: string;
  allowResult: APIGatewayAuthorizerResult | undefined;
}

export interface InvalidKey {
  readonly valid: false;
  readonly detail: InvalidKeyDetail;
  readonly keyId: string | undefined;
  /** The ids the key's route claims (unverified unless detail is 'revoked'). */
  readonly organizationId: string | undefined;
  readonly projectId: string | undefined;
}

export type KeyEntry = ValidKey | InvalidKey;

/** The ids a failed load is logged with: the key's, or those its route claims. */
export interface ClaimedRoute {
  readonly organizationId?: string;
  readonly projectId?: string;
}

/**
 * What a decision is made on, or the outcome already when loading settles it: an invalid key (no list matters) or a
 * store error (no decision can be made). `storeReads`: store calls made (0, 1, or 2 uncached).
 */
export type Loaded =
  | {
      readonly outcome: 'valid';
      readonly key: ValidKey;
      readonly organization: CompiledScopeList;
      readonly project: CompiledScopeList;
      readonly storeReads: number;
    }
  | { readonly outcome: 'invalidKey'; readonly key: InvalidKey; readonly storeReads: number }
  | {
      readonly outcome: 'storeError';
      readonly cause: unknown;
      readonly keyId: string | undefined;
      readonly route: ClaimedRoute;
      readonly storeReads: number;
    };

export const MALFORMED_KEY: InvalidKey = Object.freeze({
  valid: false,
  detail: 'malformed',
  keyId: undefined,
  organizationId: undefined,
  projectId: undefined,
});

export interface KeyLoaderOptions {
  readonly store: AuthorizerStore;
  readonly clock: () => number;
  /** The in-memory TTL; 0 disables the in-memory cache. */
  readonly memoryCacheTtlSeconds: number;
  readonly maxDecisionAgeSeconds: number;
  readonly maxCacheEntries: number;
}

export interface KeyLoader {
  /**
   * The key `token` (whose hash is `keyHash`) and its lists, checked against the decision age bound. Synchronous
   * when everything is in memory, so the warm path never waits a turn of the event loop.
   */
  load(token: string, keyHash: string, now: number): Loaded | Promise<Loaded>;
  reset(): void;
  sizes(): { readonly keys: number; readonly allowlists: number; readonly absentLists: number };
}

/** A list read under way, which other decisions join instead of reading the list again. */
interface PendingList {
  /** Start of the read. */
  readonly readAt: number;
  readonly list: Promise<CacheEntry<CompiledScopeList>>;
}

type Failed = Extract<Loaded, { readonly outcome: 'storeError' }>;
/** Data loaded, with the start of the oldest read behind it (what the decision age bound is measured from). */
type Fresh = Exclude<Loaded, Failed> & { readonly oldestRead: number };

export function createKeyLoader(options: KeyLoaderOptions): KeyLoader {
  const { store, clock } = options;
  const ttl = options.memoryCacheTtlSeconds;
  const maxAgeMs = options.maxDecisionAgeSeconds * 1000;
  const cacheOptions = { ttlMs: ttl * 1000, maxEntries: options.maxCacheEntries };
  const keys = new TtlCache<ValidKey>(cacheOptions);
  const invalidKeys = new TtlCache<InvalidKey>(cacheOptions);
  // Lists that exist in the table, or that a valid key vouched for: bounded by real data.
  const lists = new TtlCache<CompiledScopeList>(cacheOptions);
  // "No list stored" for a route no valid key vouched for: any made-up route produces one, so they get a cache of
  // their own (as invalid keys do) and a flood of them cannot push out a real tenant's lists.
  const absentLists = new TtlCache<CompiledScopeList>(cacheOptions);
  // List reads under way, by item: a burst of keys naming one project (made-up ones included) reads its lists once.
  const pendingLists = new Map<string, PendingList>();

  function load(token: string, keyHash: string, now: number): Loaded | Promise<Loaded> {
    const cached = unexpired(keys.entry(keyHash, now), keyValidUntil, now);
    if (cached === undefined) {
      const invalid = invalidKeys.entry(keyHash, now);
      if (invalid !== undefined) {
        return withinBound({ outcome: 'invalidKey', key: invalid.value, storeReads: 0, oldestRead: invalid.readAt });
      }
    }
    const route = cached?.value ?? parseApiKeyRoute(token);
    if (route === undefined) return { outcome: 'invalidKey', key: MALFORMED_KEY, storeReads: 0 };
    const loading = ttl === 0 ? readUncached(route, keyHash) : loadThroughMemory(route, keyHash, cached, now);
    return loading instanceof Promise ? loading.then(withinBound) : withinBound(loading);
  }

  /**
   * The decision age bound: a decision on data read more than B ago is not made, because API Gateway would cache it
   * for its whole TTL from now.
   */
  function withinBound(loaded: Fresh | Failed): Loaded {
    if (loaded.outcome === 'storeError') return loaded;
    const age = clock() - loaded.oldestRead;
    if (age <= maxAgeMs) return loaded;
    return {
      outcome: 'storeError',
      cause: new Error(`the decision's data was read ${age} ms ago, over the ${maxAgeMs} ms bound (slow storage?)`),
      keyId: loaded.key.keyId,
      route: loaded.key,
      storeReads: loaded.storeReads,
    };
  }

  function cachedList(pk: string, now: number): CacheEntry<CompiledScopeList> | undefined {
    return unexpired(lists.entry(pk, now) ?? absentLists.entry(pk, now), listValidUntil, now);
  }

  /** The key and its lists from memory, another key's lists included; what is missing, from the store. */
  function loadThroughMemory(
    route: ApiKeyRoute,
    keyHash: string,
    cached: CacheEntry<ValidKey> | undefined,
    now: number,
  ): Fresh | Promise<Fresh | Failed> {
    const orgPk = cached?.value.organizationPk ?? organizationAllowlistPk(route.organizationId);
    const projectPk = cached?.value.projectPk ?? projectAllowlistPk(route.organizationId, route.projectId);
    const organization = cachedList(orgPk, now);
    const project = cachedList(projectPk, now);
    if (cached !== undefined && organization !== undefined && project !== undefined) {
      return {
        outcome: 'valid',
        key: cached.value,
        organization: organization.value,
        project: project.value,
        storeReads: 0,
        oldestRead: Math.min(cached.readAt, organization.readAt, project.readAt),
      };
    }
    return readMissing(route, keyHash, cached, { pk: orgPk, held: organization }, { pk: projectPk, held: project });
  }

  /**
   * Reads the key record (unless in memory) and the lists neither in memory nor already being read in one store
   * call, registering those lists as pending before it waits, so concurrent decisions join that read.
   */
  async function readMissing(
    route: ApiKeyRoute,
    keyHash: string,
    cached: CacheEntry<ValidKey> | undefined,
    org: { readonly pk: string; readonly held: CacheEntry<CompiledScopeList> | undefined },
    project: { readonly pk: string; readonly held: CacheEntry<CompiledScopeList> | undefined },
  ): Promise<Fresh | Failed> {
    let storeReads = 0;
    try {
      const readAt = clock();
      const orgJoined = org.held ?? pendingLists.get(org.pk);
      const projectJoined = project.held ?? pendingLists.get(project.pk);
      let read: Promise<AuthorizerReadResult> | undefined;
      let orgList = orgJoined && listOf(orgJoined);
      let projectList = projectJoined && listOf(projectJoined);
      if (cached === undefined || orgList === undefined || projectList === undefined) {
        // What is left of the bound once the data already held is counted (at least half of it: m <= B / 2).
        const held = Math.min(
          readAt,
          cached?.readAt ?? readAt,
          orgJoined?.readAt ?? readAt,
          projectJoined?.readAt ?? readAt,
        );
        read = store.read({
          keyHash: cached === undefined ? keyHash : undefined,
          organizationId: route.organizationId,
          projectId: route.projectId,
          organizationList: orgList === undefined,
          projectList: projectList === undefined,
          timeoutMs: maxAgeMs - (readAt - held),
        });
        storeReads = 1;
        orgList ??= pend(
          org.pk,
          readAt,
          read.then((r) => [r.organizationList, r.organizationListStored, 'organization']),
        );
        projectList ??= pend(
          project.pk,
          readAt,
          read.then((r) => [r.projectList, r.projectListStored, 'project']),
        );
      }
      const [result, orgLoaded, projectLoaded] = await Promise.all([read, orgList, projectList]);
      const oldestRead = Math.min(
        cached?.readAt ?? Infinity,
        read === undefined ? Infinity : readAt,
        orgLoaded.readAt,
        projectLoaded.readAt,
      );
      // Without a key in memory there was a read, and it was asked for the key record.
      const key = cached?.value ?? toKeyEntry(result?.key, route, clock());
      if (!key.valid) {
        if (cached === undefined) invalidKeys.set(keyHash, key, readAt);
        return { outcome: 'invalidKey', key, storeReads, oldestRead };
      }
      if (cached === undefined) keys.set(keyHash, key, readAt);
      // A valid key vouches for its route: its lists are real data even when no item is stored.
      if (org.held === undefined) lists.set(key.organizationPk, orgLoaded.value, orgLoaded.readAt);
      if (project.held === undefined) lists.set(key.projectPk, projectLoaded.value, projectLoaded.readAt);
      return {
        outcome: 'valid',
        key,
        organization: orgLoaded.value,
        project: projectLoaded.value,
        storeReads,
        oldestRead,
      };
    } catch (cause) {
      return { outcome: 'storeError', cause, keyId: cached?.value.keyId, route, storeReads };
    }
  }

  /** A list held in memory as it is; one being read, as the promise of that read. */
  function listOf(
    source: CacheEntry<CompiledScopeList> | PendingList,
  ): CacheEntry<CompiledScopeList> | Promise<CacheEntry<CompiledScopeList>> {
    return 'list' in source ? source.list : source;
  }

  /** Registers the list read by `read` as pending, so that concurrent decisions join it; caches it when it lands. */
  function pend(
    pk: string,
    readAt: number,
    read: Promise<[AllowlistSettings | undefined, boolean | undefined, string]>,
  ): Promise<CacheEntry<CompiledScopeList>> {
    const pending: PendingList = {
      readAt,
      list: read.then(([settings, stored, what]) => {
        const entry = { value: compileScopeList(requireList(settings, what), clock()), readAt };
        (stored ? lists : absentLists).set(pk, entry.value, readAt);
        return entry;
      }),
    };
    pendingLists.set(pk, pending);
    // The reader or a joiner handles a failure; this only keeps an unobserved rejection from being reported.
    pending.list
      .catch(() => undefined)
      .finally(() => {
        if (pendingLists.get(pk) === pending) pendingLists.delete(pk);
      });
    return pending.list;
  }

  /**
   * The cold path with the in-memory cache off (P < 2 s, or a propagation delay only known at deploy time): the key
   * item first, the lists only once the key is known valid. Two round trips for a valid key, in a configuration that
   * caches nothing anyway; in exchange a made-up key costs one small key-item read and never a list read, where a
   * combined read would fetch a tenant's lists for every made-up key and throw them away (nothing would keep them).
   * No decision joins a read begun by another: with no cache, such a read may have begun before a commit the
   * joiner arrived after, and P = 0 leaves no room for that.
   */
  async function readUncached(route: ApiKeyRoute, keyHash: string): Promise<Fresh | Failed> {
    let storeReads = 0;
    let key: KeyEntry | undefined;
    try {
      const readAt = clock();
      storeReads = 1;
      const keyRead = await store.read({
        keyHash,
        organizationId: route.organizationId,
        projectId: route.projectId,
        organizationList: false,
        projectList: false,
        timeoutMs: maxAgeMs,
      });
      key = toKeyEntry(keyRead.key, route, clock());
      if (!key.valid) return { outcome: 'invalidKey', key, storeReads, oldestRead: readAt };
      // What is left of the bound, measured from the key read: a late list read fails closed at its deadline.
      const timeoutMs = maxAgeMs - (clock() - readAt);
      if (timeoutMs <= 0) throw new Error(`the key read took the whole ${maxAgeMs} ms bound (slow storage?)`);
      storeReads = 2;
      const listsRead = await store.read({
        organizationId: key.organizationId,
        projectId: key.projectId,
        organizationList: true,
        projectList: true,
        timeoutMs,
      });
      const landedAt = clock();
      return {
        outcome: 'valid',
        key,
        organization: compileScopeList(requireList(listsRead.organizationList, 'organization'), landedAt),
        project: compileScopeList(requireList(listsRead.projectList, 'project'), landedAt),
        storeReads,
        oldestRead: readAt,
      };
    } catch (cause) {
      return { outcome: 'storeError', cause, keyId: key?.valid ? key.keyId : undefined, route, storeReads };
    }
  }

  return {
    load,
    reset() {
      keys.clear();
      invalidKeys.clear();
      lists.clear();
      absentLists.clear();
    },
    sizes: () => ({ keys: keys.size + invalidKeys.size, allowlists: lists.size, absentLists: absentLists.size }),
  };
}

const listValidUntil = (list: CompiledScopeList): number => list.validUntil;
const keyValidUntil = (key: ValidKey): number => key.keyList?.validUntil ?? Infinity;

/** A memory entry, unless what it holds is compiled with an entry that has expired at `now`. */
function unexpired<V>(
  entry: CacheEntry<V> | undefined,
  validUntil: (value: V) => number,
  now: number,
): CacheEntry<V> | undefined {
  return entry !== undefined && validUntil(entry.value) > now ? entry : undefined;
}

function requireList(list: AllowlistSettings | undefined, what: string): AllowlistSettings {
  if (list === undefined) throw new Error(`the store did not return the requested ${what} allowlist`);
  return list;
}

/** `now`: when the key record's read landed; its own list is compiled as it stands then. */
function toKeyEntry(record: ApiKeyRecord | null | undefined, route: ApiKeyRoute, now: number): KeyEntry {
  const claimed = { keyId: undefined, organizationId: route.organizationId, projectId: route.projectId };
  if (record === undefined) throw new Error('the store did not return the requested key record');
  if (record === null) return { valid: false, detail: 'unknown', ...claimed };
  if (record.organizationId !== route.organizationId || record.projectId !== route.projectId) {
    // Only possible if a record was written under a key of another route: never trust the route over the record.
    return { valid: false, detail: 'route_mismatch', ...claimed, keyId: record.keyId };
  }
  if (record.status !== 'active') return { valid: false, detail: 'revoked', ...claimed, keyId: record.keyId };
  const own = record.allowlist;
  const keyList =
    own !== undefined && (own.enabled || own.reportOnly === true) ? compileScopeList(own, now) : undefined;
  return {
    valid: true,
    keyId: record.keyId,
    organizationId: record.organizationId,
    projectId: record.projectId,
    organizationPk: organizationAllowlistPk(record.organizationId),
    projectPk: projectAllowlistPk(record.organizationId, record.projectId),
    keyList,
    allowResource: '',
    allowResult: undefined,
  };
}

import * as crypto from 'node:crypto';
import { isIP } from 'node:net';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { AuthorizerReadResult, AuthorizerStore } from '../adapters/dynamodb-store';
import { organizationAllowlistPk, projectAllowlistPk } from '../adapters/schema';
import { normalizeIpAddress } from '../core/allowlist';
import {
  ApiKeyRoute,
  hashApiKey,
  NO_API_KEY,
  NOT_A_BEARER_KEY,
  parseApiKeyRoute,
  readPresentedApiKey,
} from '../core/api-key';
import { CompiledScopeList, compileScopeList, decideIp, ipNotAuthorizedError } from '../core/decision';
import { ApiErrorSpec, ERRORS } from '../core/errors';
import { AllowlistSettings, ApiKeyRecord } from '../core/model';
import { MAX_DECISION_AGE_SECONDS } from '../core/propagation';
import { CacheEntry, TtlCache } from './cache';
import { DEFAULT_API_KEY_HEADER } from '../../lib/contract';

/**
 * The authorizer, built by a factory so that everything with state or side effects (store, clock, logger,
 * metrics, the in-memory cache) is injected and resettable. lambda/authorizer/index.ts wires the real ones.
 *
 * Warm path (key and lists in memory): extract the bearer token, SHA-256 it, two or three Map lookups, one
 * compiled match, and a response object reused per key. Cold path: one BatchGetItem for whatever is missing, the
 * lists of the key's route included (so a valid cold key costs one round trip); a list already being read by a
 * concurrent decision is joined, not read again. Either way the decision age bound holds: no decision is returned
 * on data read more than `maxDecisionAgeSeconds` ago (lambda/core/propagation.ts).
 *
 * Made-up keys: the route is readable in every key, so a made-up key naming a real project makes the cold read
 * fetch that project's lists. They are kept in memory like any others (a stored list is real data whoever asked
 * for it), so N made-up keys cost the project one read of each list per in-memory window plus one key item each.
 * With the in-memory cache off there is no window to share: the key item is read first and the lists only for a
 * valid key (`readUncached`), so a made-up key costs one key item and no list.
 */

/** The slice of Powertools Logger the authorizer uses (tests may pass any object with these methods). */
export interface AuthorizerLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** Counters the authorizer reports; see `metrics.ts` for the CloudWatch side. */
export type AuthorizerOutcome = 'allowed' | 'blocked' | 'invalidKey' | 'missingKey' | 'storeError';

export interface AuthorizerMetrics {
  /**
   * Called once per invocation, after the decision. `storeReads` is the number of store calls it made: 0 or 1, or
   * 2 with the in-memory cache off (key item, then lists).
   */
  record(outcome: AuthorizerOutcome, storeReads: number, now: number): void;
}

export interface AuthorizerOptions {
  readonly store: AuthorizerStore;
  readonly logger: AuthorizerLogger;
  /**
   * Lifetime of in-memory key records and compiled allowlists, counted from the start of the read that loaded
   * them. 0 disables the in-memory cache.
   */
  readonly memoryCacheTtlSeconds: number;
  /**
   * The decision age bound B (lambda/core/propagation.ts): the authorizer fails closed rather than return a
   * decision whose oldest data was read more than this before it returns. Also the deadline of each store read.
   * At least twice `memoryCacheTtlSeconds`.
   *
   * @default MAX_DECISION_AGE_SECONDS (4)
   */
  readonly maxDecisionAgeSeconds?: number;
  /**
   * Header carrying `Bearer <key>`, matched case-insensitively.
   *
   * @default 'authorization'
   */
  readonly apiKeyHeader?: string;
  /**
   * Milliseconds since the epoch. Injected so tests can move time.
   *
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * Upper bound on cached valid keys, and separately on cached invalid (unknown, revoked) keys and on cached
   * allowlists. The separate bound for invalid keys is what keeps a flood of made-up keys, which costs an attacker
   * nothing, from evicting the valid keys of real callers.
   *
   * @default 10000
   */
  readonly maxCacheEntries?: number;
  /**
   * @default - no metrics
   */
  readonly metrics?: AuthorizerMetrics;
}

export interface Authorizer {
  /** The Lambda handler body. Resolves with an Allow or Deny policy; rejects when storage fails (fail closed). */
  handle(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult>;
  /** Forgets every cached key record and allowlist. */
  resetCache(): void;
  /**
   * Number of cached keys (valid and invalid), allowlists (stored, or vouched for by a valid key) and "no list
   * stored" results for routes no valid key vouched for (for tests and diagnostics).
   */
  cacheSizes(): { readonly keys: number; readonly allowlists: number; readonly absentLists: number };
}

/** Thrown (after one log line) when the decision cannot be made; API Gateway answers 5xx and caches nothing. */
export class AuthorizerUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    // Not "Unauthorized": API Gateway maps exactly that message to a 401, and this must stay a 5xx.
    super(ERRORS.authorizerUnavailable.code, options);
    this.name = 'AuthorizerUnavailableError';
  }
}

/** principalId of a deny that has no key id to name. */
export const ANONYMOUS_PRINCIPAL = 'anonymous';

export const DEFAULT_MAX_CACHE_ENTRIES = 10_000;

type InvalidKeyDetail = 'malformed' | 'ambiguous' | 'unknown' | 'revoked' | 'route_mismatch';

interface ValidKey {
  readonly valid: true;
  readonly keyId: string;
  readonly organizationId: string;
  readonly projectId: string;
  readonly organizationPk: string;
  readonly projectPk: string;
  /** The key's own list when enabled; undefined when it has none or it is disabled. */
  readonly keyList: CompiledScopeList | undefined;
  /** The Allow response for `allowResource`; a key is nearly always used on one stage, so it is built once. */
  allowResource: string;
  allowResult: APIGatewayAuthorizerResult | undefined;
}

interface InvalidKey {
  readonly valid: false;
  readonly detail: InvalidKeyDetail;
  readonly keyId: string | undefined;
  /** The ids the key's route claims (unverified unless detail is 'revoked'). */
  readonly organizationId: string | undefined;
  readonly projectId: string | undefined;
}

type KeyEntry = ValidKey | InvalidKey;

/** A list read under way, which other decisions join instead of reading the list again. */
interface PendingList {
  /** Start of the read. */
  readonly readAt: number;
  readonly list: Promise<CacheEntry<CompiledScopeList>>;
}

/**
 * `hashApiKey`, one-shot where the runtime has `crypto.hash` (Node >= 20.12): the same digest without a Hash object
 * per call. Hashing is the largest cost of a warm decision, and this form measured about 40% cheaper.
 */
const keyHashOf: (key: string) => string =
  typeof crypto.hash === 'function' ? (key) => crypto.hash('sha256', key, 'hex') : hashApiKey;

const MALFORMED_KEY: InvalidKey = Object.freeze({
  valid: false,
  detail: 'malformed',
  keyId: undefined,
  organizationId: undefined,
  projectId: undefined,
});

const AMBIGUOUS_KEY: InvalidKey = Object.freeze({ ...MALFORMED_KEY, detail: 'ambiguous' });

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { store, logger, metrics } = options;
  const clock = options.clock ?? Date.now;
  const header = (options.apiKeyHeader ?? DEFAULT_API_KEY_HEADER).toLowerCase();
  const ttl = options.memoryCacheTtlSeconds;
  if (!Number.isInteger(ttl) || ttl < 0)
    throw new Error(`memoryCacheTtlSeconds must be a whole number >= 0, got ${ttl}`);
  const maxAge = options.maxDecisionAgeSeconds ?? MAX_DECISION_AGE_SECONDS;
  if (!Number.isInteger(maxAge) || maxAge < 1)
    throw new Error(`maxDecisionAgeSeconds must be a whole number >= 1, got ${maxAge}`);
  if (ttl * 2 > maxAge) {
    throw new Error(`memoryCacheTtlSeconds (${ttl}) must be at most half of maxDecisionAgeSeconds (${maxAge})`);
  }
  const maxAgeMs = maxAge * 1000;
  const cacheOptions = { ttlMs: ttl * 1000, maxEntries: options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES };
  const keys = new TtlCache<ValidKey>(cacheOptions);
  const invalidKeys = new TtlCache<InvalidKey>(cacheOptions);
  // Lists that exist in the table, or that a valid key vouched for: bounded by real data.
  const lists = new TtlCache<CompiledScopeList>(cacheOptions);
  // "No list stored" for a route no valid key vouched for: any made-up route produces one, so they get a cache of
  // their own (as invalid keys do) and a flood of them cannot push out a real tenant's lists.
  const absentLists = new TtlCache<CompiledScopeList>(cacheOptions);
  // List reads under way, by item: a burst of keys naming one project (made-up ones included) reads its lists once.
  const pendingLists = new Map<string, PendingList>();
  const stage = new StageResource();

  function cachedList(pk: string, now: number): CacheEntry<CompiledScopeList> | undefined {
    return lists.entry(pk, now) ?? absentLists.entry(pk, now);
  }

  /**
   * Reads the key record (unless cached) and the lists asked for (neither in memory nor already being read) in one
   * store call, and registers those lists as pending before it waits, so concurrent decisions join that read.
   */
  function startRead(
    route: ApiKeyRoute,
    keyHash: string | undefined,
    orgPk: string,
    projectPk: string,
    readOrg: boolean,
    readProject: boolean,
    readAt: number,
    timeoutMs: number,
  ): { read: Promise<AuthorizerReadResult>; organization?: PendingList; project?: PendingList } {
    const read = store.read({
      keyHash,
      organizationId: route.organizationId,
      projectId: route.projectId,
      organizationList: readOrg,
      projectList: readProject,
      timeoutMs,
    });
    const pend = (
      pk: string,
      pick: (r: AuthorizerReadResult) => [AllowlistSettings | undefined, boolean | undefined],
      what: string,
    ) => {
      const pending: PendingList = {
        readAt,
        list: read.then((r) => {
          const [settings, stored] = pick(r);
          const entry = { value: compileScopeList(requireList(settings, what)), readAt };
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
      return pending;
    };
    return {
      read,
      organization: readOrg
        ? pend(orgPk, (r) => [r.organizationList, r.organizationListStored], 'organization')
        : undefined,
      project: readProject ? pend(projectPk, (r) => [r.projectList, r.projectListStored], 'project') : undefined,
    };
  }

  /**
   * The cold path with the in-memory cache off (P < 2 s, or a propagation delay only known at deploy time): the key
   * item first, the lists only once the key is known valid. Two round trips for a valid key, in a configuration that
   * caches nothing anyway; in exchange a made-up key costs one small key-item read and never a list read, where a
   * combined read would fetch a tenant's lists for every made-up key and throw them away (nothing would keep them).
   * No decision joins a read begun by another: with no cache, such a read may have begun before a commit the
   * joiner arrived after, and P = 0 leaves no room for that.
   */
  async function readUncached(
    event: APIGatewayRequestAuthorizerEvent,
    sourceIp: string,
    route: ApiKeyRoute,
    keyHash: string,
    now: number,
  ): Promise<{
    key: KeyEntry;
    organization?: CompiledScopeList;
    project?: CompiledScopeList;
    oldestRead: number;
    storeReads: number;
  }> {
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
      key = toKeyEntry(keyRead.key, route);
      if (!key.valid) return { key, oldestRead: readAt, storeReads };
      // What is left of the bound, measured from the key read: a late list read fails closed at its deadline.
      const timeoutMs = maxAgeMs - (clock() - readAt);
      if (timeoutMs <= 0) throw new Error(`the key read took the whole ${maxAgeMs} ms bound (slow storage?)`);
      storeReads = 2;
      const listRead = await store.read({
        organizationId: key.organizationId,
        projectId: key.projectId,
        organizationList: true,
        projectList: true,
        timeoutMs,
      });
      return {
        key,
        organization: compileScopeList(requireList(listRead.organizationList, 'organization')),
        project: compileScopeList(requireList(listRead.projectList, 'project')),
        oldestRead: readAt,
        storeReads,
      };
    } catch (err) {
      failClosed(event, sourceIp, err, key?.valid ? key.keyId : undefined, route, storeReads, now);
    }
  }

  async function handle(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
    const now = clock();
    const resource = stage.of(event.methodArn);
    const sourceIp = event.requestContext?.identity?.sourceIp ?? '';
    const headerValue = readHeader(event, header);
    if (headerValue === AMBIGUOUS) {
      logDeny(event, sourceIp, ERRORS.invalidApiKey.code, undefined, AMBIGUOUS_KEY);
      metrics?.record('invalidKey', 0, now);
      return deny(resource, ANONYMOUS_PRINCIPAL, ERRORS.invalidApiKey, AMBIGUOUS_KEY);
    }
    const token = readPresentedApiKey(headerValue);
    if (token === NO_API_KEY) {
      logDeny(event, sourceIp, 'missing_api_key', undefined, undefined);
      metrics?.record('missingKey', 0, now);
      return deny(resource, ANONYMOUS_PRINCIPAL, ERRORS.missingApiKey, undefined);
    }
    if (token === NOT_A_BEARER_KEY) {
      logDeny(event, sourceIp, ERRORS.invalidApiKey.code, undefined, MALFORMED_KEY);
      metrics?.record('invalidKey', 0, now);
      return deny(resource, ANONYMOUS_PRINCIPAL, ERRORS.invalidApiKey, MALFORMED_KEY);
    }

    const keyHash = keyHashOf(token);
    const cachedKey: CacheEntry<KeyEntry> | undefined = keys.entry(keyHash, now) ?? invalidKeys.entry(keyHash, now);
    let key: KeyEntry | undefined = cachedKey?.value;
    // The start of the oldest read behind the decision: what the decision age bound is measured from.
    let oldestRead = cachedKey?.readAt ?? Infinity;
    let organization: CompiledScopeList | undefined;
    let project: CompiledScopeList | undefined;
    let storeReads = 0;

    if (key === undefined || key.valid) {
      const route: ApiKeyRoute | undefined = key ?? parseApiKeyRoute(token);
      if (route === undefined) {
        key = MALFORMED_KEY;
      } else if (ttl === 0) {
        const uncached = await readUncached(event, sourceIp, route, keyHash, now);
        ({ key, organization, project, oldestRead, storeReads } = uncached);
      } else {
        const orgPk = key?.valid ? key.organizationPk : organizationAllowlistPk(route.organizationId);
        const projectPk = key?.valid ? key.projectPk : projectAllowlistPk(route.organizationId, route.projectId);
        // Another key of the same project may have loaded the lists already.
        const orgEntry = cachedList(orgPk, now);
        const projectEntry = cachedList(projectPk, now);
        organization = orgEntry?.value;
        project = projectEntry?.value;
        if (orgEntry) oldestRead = Math.min(oldestRead, orgEntry.readAt);
        if (projectEntry) oldestRead = Math.min(oldestRead, projectEntry.readAt);

        if (key === undefined || organization === undefined || project === undefined) {
          try {
            const readAt = clock();
            let orgPending = organization === undefined ? pendingLists.get(orgPk) : undefined;
            let projectPending = project === undefined ? pendingLists.get(projectPk) : undefined;
            if (orgPending) oldestRead = Math.min(oldestRead, orgPending.readAt);
            if (projectPending) oldestRead = Math.min(oldestRead, projectPending.readAt);
            let read: Promise<AuthorizerReadResult> | undefined;
            const needOrg = organization === undefined && orgPending === undefined;
            const needProject = project === undefined && projectPending === undefined;
            if (key === undefined || needOrg || needProject) {
              // What is left of the bound once the data already held is counted (at least half of it: m <= B / 2).
              const timeoutMs = maxAgeMs - (readAt - Math.min(oldestRead, readAt));
              const keyToRead = key === undefined ? keyHash : undefined;
              const started = startRead(route, keyToRead, orgPk, projectPk, needOrg, needProject, readAt, timeoutMs);
              read = started.read;
              orgPending ??= needOrg ? started.organization : undefined;
              projectPending ??= needProject ? started.project : undefined;
              storeReads = 1;
              oldestRead = Math.min(oldestRead, readAt);
            }
            const [result, orgLoaded, projectLoaded] = await Promise.all([
              read,
              orgPending?.list,
              projectPending?.list,
            ]);
            if (key === undefined) {
              key = toKeyEntry(result!.key, route);
              if (key.valid) keys.set(keyHash, key, readAt);
              else invalidKeys.set(keyHash, key, readAt);
            }
            if (key.valid) {
              organization ??= orgLoaded!.value;
              project ??= projectLoaded!.value;
              // A valid key vouches for its route: its lists are real data even when no item is stored.
              if (orgLoaded) lists.set(key.organizationPk, orgLoaded.value, orgLoaded.readAt);
              if (projectLoaded) lists.set(key.projectPk, projectLoaded.value, projectLoaded.readAt);
            }
          } catch (err) {
            failClosed(event, sourceIp, err, key?.valid ? key.keyId : undefined, route, storeReads, now);
          }
        }
      }
    }

    // The decision age bound (lambda/core/propagation.ts): a decision on data read more than B ago is not returned,
    // because API Gateway would cache it for its whole TTL from now. Only a decision that used stored data counts.
    if (oldestRead !== Infinity) {
      const age = clock() - oldestRead;
      if (age > maxAgeMs) {
        failClosed(
          event,
          sourceIp,
          new Error(`the decision's data was read ${age} ms ago, over the ${maxAgeMs} ms bound (slow storage?)`),
          key.keyId,
          key,
          storeReads,
          now,
        );
      }
    }

    if (!key.valid) {
      logDeny(event, sourceIp, ERRORS.invalidApiKey.code, undefined, key);
      metrics?.record('invalidKey', storeReads, now);
      return deny(resource, key.keyId ?? ANONYMOUS_PRINCIPAL, ERRORS.invalidApiKey, key);
    }

    const decision = decideIp({ organization: organization!, project: project!, key: key.keyList }, sourceIp);
    if (decision.allowed) {
      metrics?.record('allowed', storeReads, now);
      if (key.allowResource !== resource || key.allowResult === undefined) {
        key.allowResult = allow(resource, key);
        key.allowResource = resource;
      }
      return key.allowResult;
    }
    logDeny(event, sourceIp, decision.reason, decision.scope, key);
    metrics?.record('blocked', storeReads, now);
    return deny(resource, key.keyId, ipNotAuthorizedError(decision.scope), key);
  }

  /** One log line and one metric, then the error API Gateway answers with 5xx (and caches nothing). */
  function failClosed(
    event: APIGatewayRequestAuthorizerEvent,
    sourceIp: string,
    err: unknown,
    keyId: string | undefined,
    route: { readonly organizationId?: string; readonly projectId?: string },
    storeReads: number,
    now: number,
  ): never {
    logger.error('authorizer cannot decide: failing closed', {
      reason: ERRORS.authorizerUnavailable.code,
      cause: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      error: err,
      keyId,
      organizationId: route.organizationId,
      projectId: route.projectId,
      sourceIp,
      sourceIpFamily: ipFamily(sourceIp),
      requestId: event.requestContext?.requestId,
    });
    metrics?.record('storeError', storeReads, now);
    throw new AuthorizerUnavailableError({ cause: err });
  }

  function logDeny(
    event: APIGatewayRequestAuthorizerEvent,
    sourceIp: string,
    reason: string,
    scope: string | undefined,
    key: KeyEntry | undefined,
  ): void {
    logger.warn('request denied', {
      reason,
      detail: key !== undefined && !key.valid ? key.detail : undefined,
      scope,
      keyId: key?.keyId,
      organizationId: key?.organizationId,
      projectId: key?.projectId,
      sourceIp,
      sourceIpFamily: ipFamily(sourceIp),
      requestId: event.requestContext?.requestId,
    });
  }

  return {
    handle,
    resetCache() {
      keys.clear();
      invalidKeys.clear();
      lists.clear();
      absentLists.clear();
    },
    cacheSizes: () => ({ keys: keys.size + invalidKeys.size, allowlists: lists.size, absentLists: absentLists.size }),
  };
}

function requireList(list: AllowlistSettings | undefined, what: string): AllowlistSettings {
  if (list === undefined) throw new Error(`the store did not return the requested ${what} allowlist`);
  return list;
}

function toKeyEntry(record: ApiKeyRecord | null | undefined, route: ApiKeyRoute): KeyEntry {
  const claimed = { keyId: undefined, organizationId: route.organizationId, projectId: route.projectId };
  if (record === undefined) throw new Error('the store did not return the requested key record');
  if (record === null) return { valid: false, detail: 'unknown', ...claimed };
  if (record.organizationId !== route.organizationId || record.projectId !== route.projectId) {
    // Only possible if a record was written under a key of another route: never trust the route over the record.
    return { valid: false, detail: 'route_mismatch', ...claimed, keyId: record.keyId };
  }
  if (record.status !== 'active') return { valid: false, detail: 'revoked', ...claimed, keyId: record.keyId };
  const keyList = record.allowlist?.enabled ? compileScopeList(record.allowlist) : undefined;
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

/**
 * The caller's address family as the matcher sees it (IPv4-mapped IPv6 is IPv4), for the log line of a refused
 * request: with a dual-stack API a client may arrive over IPv6 while only its IPv4 egress is allowlisted.
 */
export function ipFamily(ip: string): 'ipv4' | 'ipv6' | undefined {
  const family = isIP(ip);
  if (family === 4) return 'ipv4';
  if (family !== 6) return undefined;
  try {
    return normalizeIpAddress(ip).includes(':') ? 'ipv6' : 'ipv4';
  } catch {
    return 'ipv6';
  }
}

/** The key header was sent more than once with different values. */
const AMBIGUOUS: unique symbol = Symbol('ambiguous header');

/**
 * The header's value, case-insensitively (REST API events keep the client's spelling of header names), or
 * AMBIGUOUS when the request carries it more than once with different values. `headers` holds only one of those
 * values, and which one API Gateway also uses as the cache key is not something to bet an Allow on: such a request
 * is refused instead. `multiValueHeaders` has every value, so it is read first; `headers` serves events without it.
 */
function readHeader(event: APIGatewayRequestAuthorizerEvent, name: string): string | undefined | typeof AMBIGUOUS {
  let value: string | undefined;
  const multi = event.multiValueHeaders;
  if (multi) {
    for (const k in multi) {
      if (k.length !== name.length || k.toLowerCase() !== name) continue;
      for (const v of multi[k] ?? []) {
        if (value === undefined) value = v;
        else if (v !== value) return AMBIGUOUS;
      }
    }
    if (value !== undefined) return value;
  }
  const headers = event.headers;
  if (headers) {
    for (const k in headers) {
      if (k.length !== name.length || k.toLowerCase() !== name) continue;
      const v = headers[k];
      if (v === undefined || v === null) continue;
      if (value === undefined) value = v;
      else if (v !== value) return AMBIGUOUS;
    }
  }
  return value;
}

/**
 * `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*\/*` from a methodArn `...:API/STAGE/VERB/path`. A decision is
 * cached by API Gateway per key and IP and reused for every method and path of the stage, so it must cover the
 * stage, never the one method it was made for. The last stage is remembered: one API calls this per request.
 */
class StageResource {
  private prefix = '';
  private resource = '';

  of(methodArn: string): string {
    if (typeof methodArn !== 'string')
      throw new TypeError('the event has no methodArn: not an API Gateway REQUEST authorizer event');
    const first = methodArn.indexOf('/');
    const second = first < 0 ? -1 : methodArn.indexOf('/', first + 1);
    if (second < 0) throw new TypeError(`methodArn has no stage: ${methodArn}`);
    if (second !== this.prefix.length || !methodArn.startsWith(this.prefix)) {
      this.prefix = methodArn.slice(0, second);
      this.resource = `${this.prefix}/*/*`;
    }
    return this.resource;
  }
}

function policy(effect: 'Allow' | 'Deny', resource: string): APIGatewayAuthorizerResult['policyDocument'] {
  return { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] };
}

function allow(resource: string, key: ValidKey): APIGatewayAuthorizerResult {
  return deepFreeze({
    principalId: key.keyId,
    policyDocument: policy('Allow', resource),
    context: { organizationId: key.organizationId, projectId: key.projectId, apiKeyId: key.keyId },
  });
}

function deny(
  resource: string,
  principalId: string,
  error: ApiErrorSpec,
  key: KeyEntry | undefined,
): APIGatewayAuthorizerResult {
  const context: Record<string, string> = {
    errorMessage: error.message,
    errorType: error.type,
    errorCode: error.code,
  };
  // Ids go into the context only once the key record has vouched for them.
  if (key !== undefined && (key.valid || key.detail === 'revoked')) {
    if (key.keyId !== undefined) context.apiKeyId = key.keyId;
    if (key.organizationId !== undefined) context.organizationId = key.organizationId;
    if (key.projectId !== undefined) context.projectId = key.projectId;
  }
  return { principalId, policyDocument: policy('Deny', resource), context };
}

/** The Allow result is shared by every request of a key, so nothing downstream may change it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
